/* SPDX-License-Identifier: MIT */
/*
 * Numbers as text (numfmt.h): no locale, the same digits in every output.
 */
#include "numfmt.h"

#include <math.h>
#include <stdio.h>

int buf_int(struct buf *b, long long v)
{
	char tmp[24], *p = tmp + sizeof(tmp);
	unsigned long long u = v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v;

	do {
		*--p = (char)('0' + u % 10);
		u /= 10;
	} while (u);
	if (v < 0)
		*--p = '-';
	return buf_add(b, p, (size_t)(tmp + sizeof(tmp) - p));
}

int buf_json_num(struct buf *b, double v)
{
	if (!isfinite(v))
		return buf_puts(b, "null");
	if (v == (double)(long long)v && fabs(v) < 1e15)
		return buf_printf(b, "%lld", (long long)v);
	return buf_printf(b, "%.6g", v);
}
