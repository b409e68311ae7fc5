/* SPDX-License-Identifier: MIT */
/*
 * The escapers: every string that comes from a test, a trace, a history file or an LLM is
 * written through the one for the context it lands in (JSON, HTML, CSV, XML, TOML, Markdown,
 * GitHub workflow commands), here, once. Each appends to a struct buf and reads NUL-terminated
 * bytes of any content. Then the UTF-8 helpers they share, and hex and base64.
 *
 * The text policy (docs/FORMATS.md, "Text"): JSON, HTML and CSV write valid UTF-8 whatever
 * they are given: a byte that is not part of a valid UTF-8 sequence is written as the four
 * characters \xNN (upper-case hex); HTML also shows the bidirectional controls (U+200E,
 * U+200F, U+202A-U+202E, U+2066-U+2069) as the text \uNNNN instead of letting them reorder
 * the page.
 */
#ifndef FH_ESCAPE_H
#define FH_ESCAPE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"

/* A quoted JSON string (NULL gives null): " \ and control characters escaped, and < > as
 * \u003c \u003e, so that a JSON file pasted into a page cannot close its element. */
int buf_json_str(struct buf *b, const char *s);
/* The same for JSON inside an HTML <script> element: also & as \u0026 and U+2028, U+2029 as
 * \u2028, \u2029 (line terminators to older JavaScript). */
int buf_json_str_html(struct buf *b, const char *s);
/* HTML element text and attribute values: & < > " ' as entities (NULL writes nothing). */
int buf_html(struct buf *b, const char *s);
/* The same for the first n bytes of s. */
int buf_html_n(struct buf *b, const char *s, size_t n);
/* One CSV cell, quoted when needed, with a leading = + - @ (or tab/CR, or an apostrophe)
 * neutralised by a leading apostrophe inside quotes; a reader strips one apostrophe from a
 * quoted cell that starts with one. */
int buf_csv_cell(struct buf *b, const char *s);
/* Decodes the UTF-8 character at s (n > 0 bytes available) into *cp and returns its length.
 * An invalid, overlong, surrogate or truncated sequence gives *cp = 0xFFFD and length 1, so a
 * caller that copies what it decoded always writes valid UTF-8. */
size_t utf8_next(const unsigned char *s, size_t n, uint32_t *cp);
/* The longest cut of s at most n bytes long that does not split a UTF-8 sequence (s has more
 * than n bytes: s[n] is the first byte cut off). */
size_t utf8_floor(const char *s, size_t n);
/* Appends code point cp as UTF-8. */
int buf_utf8(struct buf *b, uint32_t cp);
/* Appends n bytes of s with every byte that is not part of valid UTF-8, and NUL, as \xNN. */
int buf_text(struct buf *b, const char *s, size_t n);
/* True when the n bytes at s are valid UTF-8 without NUL. */
bool utf8_valid(const char *s, size_t n);
/* U+200E, U+200F, U+202A-U+202E, U+2066-U+2069: the controls that reorder text. */
bool utf8_is_bidi_control(uint32_t cp);

/* XML 1.0 text content (attr false) or a double-quoted attribute value: & < > (and quotes,
 * tabs and line ends in attributes) as entities; characters XML 1.0 forbids (controls other
 * than tab, line feed and carriage return; U+FFFE, U+FFFF) as the visible text \xNN or
 * \uFFFE; invalid UTF-8 as U+FFFD. */
void buf_xml(struct buf *b, const char *s, bool attr);
/* A TOML basic string ("..."), escaping quotes, backslashes and control characters; invalid
 * UTF-8 becomes U+FFFD. */
void buf_toml_str(struct buf *b, const char *s);
/* s for a Markdown table cell (never at the start of a line): the punctuation that marks up
 * text there (\ ` * _ [ ] | ~) is backslashed, < > & become entities, control characters
 * (line ends included) a space; at most max bytes of s are used ("..." marks a cut). */
void buf_md_text(struct buf *b, const char *s, size_t max);
/* A GitHub workflow command's data (% CR LF escaped) or property (also : and ,). */
void buf_gh_escape(struct buf *b, const char *s, bool property);

/* Lower-case hex of n bytes into out (2n + 1 bytes, NUL-terminated). */
void hex_encode(const void *data, size_t n, char *out);
/* Base64 (RFC 4648, padded) of n bytes into out (4 * ceil(n / 3) + 1 bytes, NUL-terminated). */
void base64_encode(const void *data, size_t n, char *out);

#endif
