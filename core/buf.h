/* SPDX-License-Identifier: MIT */
/*
 * struct buf: everything built in memory (HTML, JSON, CSV rows, prompts) goes through it.
 */
#ifndef FH_BUF_H
#define FH_BUF_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

#include "util.h"

/*
 * struct buf: a bounded growable byte buffer, always NUL-terminated. Past its `max` bytes every
 * append fails with -ENOBUFS and marks the buffer failed, so a caller can append freely and
 * check once at the end (buf_failed()).
 *
 * Only the functions below touch its fields (their names end in '_' so that a stray access
 * stands out): everything else goes through buf_str(), buf_len(), buf_failed() and the few
 * functions that change bytes in place.
 */
struct buf {
	char *data_;        /* NULL until the first append */
	size_t len_, cap_, max_;
	int failed_;
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

/* Bytes held (the NUL excluded), and whether an append failed since the last reset. */
static inline size_t buf_len(const struct buf *b)
{
	return b->len_;
}

static inline bool buf_failed(const struct buf *b)
{
	return b->failed_ != 0;
}

/* The last byte held; '\0' when empty. */
char buf_last(const struct buf *b);
/* The bytes for changing in place (len of them, NUL-terminated); NULL while nothing was ever
 * appended. Borrowed, valid until the next append. */
char *buf_data(struct buf *b);
/* Keeps the first len bytes (len <= buf_len(b)). */
void buf_truncate(struct buf *b, size_t len);
/* Keeps at most max bytes, cut before a UTF-8 sequence that would not fit whole. */
void buf_truncate_utf8(struct buf *b, size_t max);
/* Drops a multi-byte UTF-8 sequence (whole or cut) at the end, so that text cut by bytes and
 * then marked with "..." never ends in half a character. */
void buf_chop_utf8_tail(struct buf *b);
/* Overwrites every byte it ever held with zeros (secrets), then empties it. */
void buf_wipe(struct buf *b);

#endif
