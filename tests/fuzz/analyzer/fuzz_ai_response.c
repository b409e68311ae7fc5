/* SPDX-License-Identifier: MIT */
/* libFuzzer target: Messages API response bodies through ai_parse_response(). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ai.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ai_answer a;
	char why[256];

	if (!ai_parse_response((const char *)data, size, &a, why, sizeof(why))) {
		if (!a.text[0])
			abort();
		free(a.text);
		free(a.model);
	} else if (!why[0] || strchr(why, '\n')) {
		abort();
	}
	return 0;
}
