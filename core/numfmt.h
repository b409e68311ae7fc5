/* SPDX-License-Identifier: MIT */
/*
 * Numbers as text, the same digits in every output (no locale).
 */
#ifndef FH_NUMFMT_H
#define FH_NUMFMT_H

#include "buf.h"

/* Appends a decimal integer (no locale, no printf). */
int buf_int(struct buf *b, long long v);
/* Appends a number as JSON (non-finite gives null); %.6g precision. */
int buf_json_num(struct buf *b, double v);
/* A plain decimal with up to 6 fractional digits, trailing zeros trimmed (seconds and rates
 * of the JSON summary and the history); null when not finite. Much cheaper than printf("%g")
 * for the ~10 numbers of each of 100,000 attempts. */
void buf_num6(struct buf *b, double v);

/* Durations and rates for people. buf_secs: three digits, the unit chosen ("251 ms",
 * "1.25 s", "0.40 ms", "0 s"; "?" for a negative or non-finite value), in the report.
 * buf_secs2: two significant digits ("0.25 s", "0.075 s", "0.06 ms"; negative as 0), in the
 * diagnosis's sentences. buf_pct: a rate in [0, 1] as a percentage ("20%", "5.7%"). */
void buf_secs(struct buf *b, double s);
int buf_secs2(struct buf *b, double s);
void buf_pct(struct buf *b, double r);

/* A whole number written with decimal digits only (no sign, no space), at most about 1e9, as
 * hostile files give it; false for anything else (*out untouched). */
bool parse_uint(const char *s, long *out);
/* A plain decimal ("0.000527", "12", "3.", ".5": digits and at most one point, nothing else)
 * with at most 15 significant digits and 22 after the point, read to the double strtod() gives,
 * for a fraction of its cost; false for anything else (*out untouched: ask strtod). */
bool parse_decimal_fast(const char *s, double *out);

#endif
