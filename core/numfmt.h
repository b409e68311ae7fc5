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

#endif
