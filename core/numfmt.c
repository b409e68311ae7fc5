/* SPDX-License-Identifier: MIT */
/*
 * Numbers as text (numfmt.h): no locale, the same digits in every output.
 */
#include "numfmt.h"

#include <float.h>
#include <math.h>
#include <stdint.h>
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

void buf_num6(struct buf *b, double v)
{
	char tmp[48], *p = tmp + sizeof(tmp);
	long long m, ip, fp;
	int neg, i, trim;

	if (!isfinite(v) || fabs(v) >= 1e12) {
		buf_json_num(b, v);
		return;
	}
	m = llround(v * 1e6);
	neg = m < 0;
	if (neg)
		m = -m;
	ip = m / 1000000;
	fp = m % 1000000;
	if (fp) {
		trim = 0;
		while (fp % 10 == 0) {
			fp /= 10;
			trim++;
		}
		for (i = 0; i < 6 - trim; i++) {
			*--p = (char)('0' + fp % 10);
			fp /= 10;
		}
		*--p = '.';
	}
	do {
		*--p = (char)('0' + ip % 10);
		ip /= 10;
	} while (ip);
	if (neg && (m != 0))
		*--p = '-';
	buf_add(b, p, (size_t)(tmp + sizeof(tmp) - p));
}

void buf_secs(struct buf *b, double s)
{
	if (!isfinite(s) || s < 0)
		buf_puts(b, "?");
	else if (s < 5e-6)
		buf_puts(b, "0 s");
	else if (s < 0.001)
		buf_printf(b, "%.2f ms", s * 1e3);
	else if (s < 0.01)
		buf_printf(b, "%.1f ms", s * 1e3);
	else if (s < 1)
		buf_printf(b, "%.0f ms", s * 1e3);
	else if (s < 100)
		buf_printf(b, "%.2f s", s);
	else
		buf_printf(b, "%.0f s", s);
}

void buf_pct(struct buf *b, double r)
{
	double p = r * 100;

	if (!isfinite(p))
		buf_puts(b, "?");
	else if (p == 0 || p >= 10 || p == floor(p))
		buf_printf(b, "%.0f%%", p);
	else
		buf_printf(b, "%.1f%%", p);
}

int buf_secs2(struct buf *b, double s)
{
	if (s < 0)
		s = 0;
	if (s > 0 && s < 0.001)
		return buf_printf(b, "%.2g ms", s * 1000);
	if (s >= 100)
		return buf_printf(b, "%.0f s", s);
	return buf_printf(b, "%.2g s", s);
}

bool parse_uint(const char *s, long *out)
{
	long v = 0;

	if (!*s)
		return false;
	for (; *s; s++) {
		if (*s < '0' || *s > '9' || v > 100000000)
			return false;
		v = v * 10 + (*s - '0');
	}
	*out = v;
	return true;
}

/* Clinger's fast path: the digits as an integer m < 2^53 and 10^k with k <= 22 are both exact
 * doubles, so m / 10^k, one correctly rounded division, is the correctly rounded value of the
 * decimal, which is what glibc's strtod() returns (round to nearest). The history holds a
 * duration per row, and strtod() costs about twenty times as much. */
bool parse_decimal_fast(const char *s, double *out)
{
#if FLT_EVAL_METHOD == 0
	static const double pow10[] = { 1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10,
					1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19,
					1e20, 1e21, 1e22 };
	uint64_t m = 0;
	int digits = 0, k = -1;   /* k: digits after the point, -1 before one */

	for (; *s; s++) {
		if (*s == '.') {
			if (k >= 0)
				return false;
			k = 0;
			continue;
		}
		if (*s < '0' || *s > '9' || m >= 100000000000000ULL || k >= 22)
			return false;   /* more than 15 digits would need more care: strtod's job */
		m = m * 10 + (uint64_t)(*s - '0');
		digits++;
		if (k >= 0)
			k++;
	}
	if (!digits)
		return false;
	*out = k > 0 ? (double)m / pow10[k] : (double)m;
	return true;
#else
	(void)s;
	(void)out;
	return false;
#endif
}
