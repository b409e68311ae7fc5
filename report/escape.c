/* SPDX-License-Identifier: MIT */
/*
 * Escapers for each context the report writes data into (element text, attributes, SVG
 * <title> and <text>) beyond buf_html(), and the outcome glyphs.
 */
#include <math.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>

#include "rep.h"

void esc_html_n(struct buf *b, const char *s, size_t max)
{
	size_t n;

	if (!s)
		return;
	n = strlen(s);
	if (n <= max) {
		buf_html(b, s);
		return;
	}
	max = utf8_floor(s, max); /* the cut never splits a character */
	buf_html_n(b, s, max);
	buf_printf(b, "\xe2\x80\xa6 (%zu more bytes)", n - max);
}

void esc_html_short(struct buf *b, const char *s, size_t max)
{
	size_t n, head, tail;

	if (!s)
		return;
	n = strlen(s);
	if (n <= max || max < 8) {
		buf_html(b, s);
		return;
	}
	buf_puts(b, "<title>");
	buf_html(b, s);
	buf_puts(b, "</title>");
	head = utf8_floor(s, max / 3);
	tail = max - max / 3 - 1;
	while (tail > 0 && ((unsigned char)s[n - tail] & 0xc0) == 0x80)
		tail--;
	buf_html_n(b, s, head);
	buf_puts(b, "\xe2\x80\xa6");
	buf_html(b, s + n - tail);
}

const char *outcome_glyph(enum fh_outcome o)
{
	switch (o) {
	case FH_PASSED: return "\xe2\x9c\x93";  /* ✓ */
	case FH_FAILED: return "\xe2\x9c\x95";  /* ✕ */
	case FH_ERROR: return "!";
	default: return "\xe2\x80\x93";         /* – */
	}
}
