/* SPDX-License-Identifier: MIT */
/*
 * struct buf: everything built in memory (HTML, JSON, CSV rows, prompts) goes through it.
 */
#ifndef FH_BUF_H
#define FH_BUF_H

#include <stdarg.h>
#include <stddef.h>

#include "util.h"

/*
 * struct buf: a bounded growable byte buffer, always NUL-terminated (data may be NULL while
 * empty). Past `max` bytes every append fails with -ENOBUFS and sets `failed`, so a caller can
 * append freely and check once at the end.
 */
struct buf {
	char *data;
	size_t len, cap, max;
	int failed;
};
#define BUF_INIT(maxbytes) { NULL, 0, 0, (maxbytes), 0 }
void buf_init(struct buf *b, size_t max);
int buf_add(struct buf *b, const void *p, size_t n);
int buf_puts(struct buf *b, const char *s);
int buf_putc(struct buf *b, char c);
int buf_printf(struct buf *b, const char *fmt, ...) FH_PRINTF(2, 3);
int buf_vprintf(struct buf *b, const char *fmt, va_list ap) FH_PRINTF(2, 0);
void buf_reset(struct buf *b);
/* Returns the data (caller frees) and leaves b empty. Never NULL. */
char *buf_detach(struct buf *b);
void buf_free(struct buf *b);
const char *buf_str(const struct buf *b); /* "" when empty; borrowed, valid until next append */

#endif
