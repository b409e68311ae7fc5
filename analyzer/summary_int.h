/* SPDX-License-Identifier: MIT */
/*
 * What the JSON summary's files share (summary.h and stages.h are its interface): a compact
 * JSON writer over struct buf, where each k*() appends `"key":value,` and close_with() turns
 * the trailing comma into the closing bracket, and the attempt's trace object
 * (summary_trace.c) that summary.c puts into each attempt.
 */
#ifndef FH_SUMMARY_INT_H
#define FH_SUMMARY_INT_H

#include <stdbool.h>

#include "escape.h"
#include "model.h"
#include "numfmt.h"

static inline void num(struct buf *b, double v)
{
	buf_num6(b, v);
}

static inline void key(struct buf *b, const char *k)
{
	buf_putc(b, '"');
	buf_puts(b, k);
	buf_puts(b, "\":");
}

static inline void kstr(struct buf *b, const char *k, const char *v)
{
	key(b, k);
	buf_json_str(b, v);
	buf_putc(b, ',');
}

static inline void knum(struct buf *b, const char *k, double v)
{
	key(b, k);
	num(b, v);
	buf_putc(b, ',');
}

static inline void kint(struct buf *b, const char *k, long long v)
{
	key(b, k);
	buf_int(b, v);
	buf_putc(b, ',');
}

static inline void kbool(struct buf *b, const char *k, bool v)
{
	key(b, k);
	buf_puts(b, v ? "true," : "false,");
}

/* Replaces a trailing ',' by c (or appends c). */
static inline void close_with(struct buf *b, char c)
{
	if (buf_last(b) == ',')
		buf_truncate(b, buf_len(b) - 1);
	buf_putc(b, c);
}

/* summary_trace.c: the "trace" object of an attempt (its features in f, its footprint in foot,
 * which may be NULL). */
void summary_trace_obj(struct buf *b, const struct fh_attempt_trace *tr,
		       const struct fh_features *f, const struct fh_footprint *foot);

#endif
