/* SPDX-License-Identifier: MIT */
/*
 * struct buf: the bounded growable buffer everything built in memory goes through (buf.h).
 */
#include "buf.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "escape.h"

/* ---- struct buf ---- */

void buf_init(struct buf *b, size_t max)
{
	b->data_ = NULL;
	b->len_ = b->cap_ = 0;
	b->max_ = max;
	b->failed_ = 0;
}

static int buf_reserve(struct buf *b, size_t extra)
{
	size_t need, ncap;

	if (b->failed_)
		return -ENOBUFS;
	if (extra > b->max_ || b->len_ + extra > b->max_) {
		b->failed_ = 1;
		return -ENOBUFS;
	}
	need = b->len_ + extra + 1;
	if (need <= b->cap_)
		return 0;
	ncap = b->cap_ ? b->cap_ : 256;
	while (ncap < need)
		ncap *= 2;
	b->data_ = xrealloc(b->data_, ncap);
	b->cap_ = ncap;
	return 0;
}

int buf_add(struct buf *b, const void *p, size_t n)
{
	if (buf_reserve(b, n))
		return -ENOBUFS;
	memcpy(b->data_ + b->len_, p, n);
	b->len_ += n;
	b->data_[b->len_] = '\0';
	return 0;
}

int buf_puts(struct buf *b, const char *s)
{
	return buf_add(b, s, strlen(s));
}

int buf_putc(struct buf *b, char c)
{
	if (b->len_ + 1 < b->cap_ && !b->failed_) {
		b->data_[b->len_++] = c;
		b->data_[b->len_] = '\0';
		return 0;
	}
	return buf_add(b, &c, 1);
}

int buf_vprintf(struct buf *b, const char *fmt, va_list ap)
{
	va_list ap2;
	int n;

	va_copy(ap2, ap);
	n = vsnprintf(b->data_ ? b->data_ + b->len_ : NULL, b->data_ ? b->cap_ - b->len_ : 0, fmt, ap2);
	va_end(ap2);
	if (n < 0) {
		b->failed_ = 1;
		return -EINVAL;
	}
	if (b->data_ && (size_t)n < b->cap_ - b->len_ && b->len_ + n <= b->max_ && !b->failed_) {
		b->len_ += n;
		return 0;
	}
	if (buf_reserve(b, (size_t)n))
		return -ENOBUFS;
	vsnprintf(b->data_ + b->len_, b->cap_ - b->len_, fmt, ap);
	b->len_ += n;
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
	b->len_ = 0;
	b->failed_ = 0;
	if (b->data_)
		b->data_[0] = '\0';
}

char *buf_detach(struct buf *b)
{
	char *p = b->data_ ? b->data_ : xstrdup("");

	b->data_ = NULL;
	b->len_ = b->cap_ = 0;
	b->failed_ = 0;
	return p;
}

void buf_free(struct buf *b)
{
	free(b->data_);
	b->data_ = NULL;
	b->len_ = b->cap_ = 0;
	b->failed_ = 0;
}

const char *buf_str(const struct buf *b)
{
	return b->data_ ? b->data_ : "";
}

char buf_last(const struct buf *b)
{
	return b->len_ ? b->data_[b->len_ - 1] : '\0';
}

char *buf_data(struct buf *b)
{
	return b->data_;
}

void buf_truncate(struct buf *b, size_t len)
{
	if (len < b->len_) {
		b->len_ = len;
		b->data_[len] = '\0';
	}
}

void buf_truncate_utf8(struct buf *b, size_t max)
{
	if (b->len_ > max)
		buf_truncate(b, utf8_floor(b->data_, max));
}

void buf_chop_utf8_tail(struct buf *b)
{
	size_t n = b->len_;

	while (n && ((unsigned char)b->data_[n - 1] & 0xc0) == 0x80)
		n--;
	if (n && (unsigned char)b->data_[n - 1] >= 0xc0)
		n--;
	buf_truncate(b, n);
}

void buf_wipe(struct buf *b)
{
	if (b->data_)
		explicit_bzero(b->data_, b->cap_);
	buf_reset(b);
}
