/* SPDX-License-Identifier: MIT */
/* libFuzzer target: .env contents through ai_dotenv_parse(); a key must be visible ASCII. */
#include <stdint.h>
#include <stdlib.h>

#include "ai.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *why = NULL;
	char *key = ai_dotenv_parse((const char *)data, size, &why);
	const unsigned char *p;

	for (p = (const unsigned char *)key; key && *p; p++)
		if (*p <= 0x20 || *p >= 0x7f)
			abort();
	if (!key && !why)
		abort();
	free(key);
	return 0;
}
