/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: HTTP response header lines through ai_retry_after() (retry-after as
 * seconds or an HTTP date, retry-after-ms), as the AI client's header callback gets them. The
 * first input byte picks a header name prefix, so that most inputs reach the value parsers.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ai.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const names[] = { "retry-after: ", "Retry-After-Ms:", "retry-after:",
					     "HTTP/1.1 ", "" };
	const char *name;
	char *line;
	size_t n;
	long r, cur;

	if (!size)
		return 0;
	name = names[data[0] % 5];
	n = strlen(name);
	line = malloc(n + size);
	memcpy(line, name, n);
	memcpy(line + n, data + 1, size - 1);
	cur = (long)(data[0] >> 3) * 100 - 1;
	r = ai_retry_after(line, n + size - 1, cur, (time_t)1767225600);
	if (r < -1 || r > AI_RETRY_AFTER_MAX_MS)
		abort();
	free(line);
	return 0;
}
