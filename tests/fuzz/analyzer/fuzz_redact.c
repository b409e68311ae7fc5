/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: redact() on any bytes. Checks that redacting is idempotent (a second pass
 * finds nothing new to replace) is NOT required, but that the output never contains a literal
 * given to it and that a bounded buffer fails cleanly.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "redact.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const lits[] = { "sk-ant-fuzz-literal", NULL };
	char *in = malloc(size + 1);
	struct buf b = BUF_INIT(1 << 20), small = BUF_INIT(64);

	memcpy(in, data, size);
	in[size] = '\0';
	if (redact(&b, in, lits) < 0 && size < (1 << 18))
		abort();
	if (strstr(buf_str(&b), lits[0]) && !strstr(in, "sk-ant-fuzz-literal"))
		abort();
	redact(&small, in, lits);
	buf_free(&b);
	buf_free(&small);
	free(in);
	return 0;
}
