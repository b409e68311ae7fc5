/* SPDX-License-Identifier: MIT */
/*
 * Escapers: a string from a test, a trace or a history file, made safe for the context it is
 * written into. Each appends to a struct buf.
 */
#ifndef FH_ESCAPE_H
#define FH_ESCAPE_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

/* Escapers append to b. json: a quoted JSON string (NULL gives null). html: element text and
 * attribute values (& < > " ' escaped). csv: one cell, quoted when needed, with a leading
 * = + - @ (or tab/CR, or an apostrophe) neutralised by a leading apostrophe inside quotes; a
 * reader strips one apostrophe from a quoted cell that starts with one. */
int buf_json_str(struct buf *b, const char *s);
int buf_html(struct buf *b, const char *s);
int buf_csv_cell(struct buf *b, const char *s);
/* Decodes the UTF-8 character at s (n > 0 bytes available) into *cp and returns its length.
 * An invalid, overlong, surrogate or truncated sequence gives *cp = 0xFFFD and length 1, so a
 * caller that copies what it decoded always writes valid UTF-8. */
size_t utf8_next(const unsigned char *s, size_t n, uint32_t *cp);
/* Appends code point cp as UTF-8. */
int buf_utf8(struct buf *b, uint32_t cp);

/* Lower-case hex of n bytes into out (2n + 1 bytes, NUL-terminated). */
void hex_encode(const void *data, size_t n, char *out);
/* Base64 (RFC 4648, padded) of n bytes into out (4 * ceil(n / 3) + 1 bytes, NUL-terminated). */
void base64_encode(const void *data, size_t n, char *out);

#endif
