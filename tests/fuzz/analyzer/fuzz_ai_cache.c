/* SPDX-License-Identifier: MIT */
/* libFuzzer target: cached AI answers (RUN_DIR's AI cache files) through ai_cache_parse(). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ai.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text, *model;

	if (ai_cache_parse((const char *)data, size, &text, &model) == 0) {
		if (!text || !text[0] || !model || !model[0])
			abort();
		free(text);
		free(model);
	} else if (text || model) {
		abort();
	}
	return 0;
}
