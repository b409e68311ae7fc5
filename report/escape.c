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
	char *cut;

	if (!s)
		return;
	n = strlen(s);
	if (n <= max) {
		buf_html(b, s);
		return;
	}
	/* Back up to the start of a UTF-8 sequence so the cut never splits a character. */
	while (max > 0 && ((unsigned char)s[max] & 0xc0) == 0x80)
		max--;
	cut = xmalloc(max + 1);
	memcpy(cut, s, max);
	cut[max] = '\0';
	buf_html(b, cut);
	free(cut);
	buf_printf(b, "\xe2\x80\xa6 (%zu more bytes)", n - max);
}

void esc_html_short(struct buf *b, const char *s, size_t max)
{
	size_t n, head, tail;
	char *tmp;

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
	head = max / 3;
	tail = max - head - 1;
	while (head > 0 && ((unsigned char)s[head] & 0xc0) == 0x80)
		head--;
	while (tail > 0 && ((unsigned char)s[n - tail] & 0xc0) == 0x80)
		tail--;
	tmp = xmalloc(head + 1);
	memcpy(tmp, s, head);
	tmp[head] = '\0';
	buf_html(b, tmp);
	free(tmp);
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
