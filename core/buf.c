/* SPDX-License-Identifier: MIT */
/*
 * struct buf: the bounded growable buffer everything built in memory goes through (buf.h).
 */
#include "buf.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- struct buf ---- */

void buf_init(struct buf *b, size_t max)
{
	b->data = NULL;
	b->len = b->cap = 0;
	b->max = max;
	b->failed = 0;
}

static int buf_reserve(struct buf *b, size_t extra)
{
	size_t need, ncap;

	if (b->failed)
		return -ENOBUFS;
	if (extra > b->max || b->len + extra > b->max) {
		b->failed = 1;
		return -ENOBUFS;
	}
	need = b->len + extra + 1;
	if (need <= b->cap)
		return 0;
	ncap = b->cap ? b->cap : 256;
	while (ncap < need)
		ncap *= 2;
	b->data = xrealloc(b->data, ncap);
	b->cap = ncap;
	return 0;
}

int buf_add(struct buf *b, const void *p, size_t n)
{
	if (buf_reserve(b, n))
		return -ENOBUFS;
	memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
	return 0;
}

int buf_puts(struct buf *b, const char *s)
{
	return buf_add(b, s, strlen(s));
}

int buf_putc(struct buf *b, char c)
{
	if (b->len + 1 < b->cap && !b->failed) {
		b->data[b->len++] = c;
		b->data[b->len] = '\0';
		return 0;
	}
	return buf_add(b, &c, 1);
}

int buf_vprintf(struct buf *b, const char *fmt, va_list ap)
{
	va_list ap2;
	int n;

	va_copy(ap2, ap);
	n = vsnprintf(b->data ? b->data + b->len : NULL, b->data ? b->cap - b->len : 0, fmt, ap2);
	va_end(ap2);
	if (n < 0) {
		b->failed = 1;
		return -EINVAL;
	}
	if (b->data && (size_t)n < b->cap - b->len && b->len + n <= b->max && !b->failed) {
		b->len += n;
		return 0;
	}
	if (buf_reserve(b, (size_t)n))
		return -ENOBUFS;
	vsnprintf(b->data + b->len, b->cap - b->len, fmt, ap);
	b->len += n;
	return 0;
}

int buf_printf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = buf_vprintf(b, fmt, ap);
	va_end(ap);
	return r;
}

void buf_reset(struct buf *b)
{
	b->len = 0;
	b->failed = 0;
	if (b->data)
		b->data[0] = '\0';
}

char *buf_detach(struct buf *b)
{
	char *p = b->data ? b->data : xstrdup("");

	b->data = NULL;
	b->len = b->cap = 0;
	b->failed = 0;
	return p;
}

void buf_free(struct buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
	b->failed = 0;
}

const char *buf_str(const struct buf *b)
{
	return b->data ? b->data : "";
}
