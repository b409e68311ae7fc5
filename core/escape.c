/* SPDX-License-Identifier: MIT */
/*
 * Escapers for every output context (escape.h) and the UTF-8 decoding and encoding they share.
 */
#include "escape.h"

#include <stdio.h>
#include <string.h>

static const char HEX_UP[] = "0123456789ABCDEF";

bool utf8_is_bidi_control(uint32_t cp)
{
	return cp == 0x200e || cp == 0x200f || (cp >= 0x202a && cp <= 0x202e) ||
	       (cp >= 0x2066 && cp <= 0x2069);
}

/* JSON-escapes s; html also escapes what HTML's <script> content and old JavaScript parsers
 * need (& U+2028 U+2029). */
static int json_str(struct buf *b, const char *s, bool html)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *p, *run;

	if (!s)
		return buf_puts(b, "null");
	buf_putc(b, '"');
	for (p = run = (const unsigned char *)s; *p; p++) {
		const char *esc = NULL;
		char u[7];
		size_t skip = 0;

		switch (*p) {
		case '"': esc = "\\\""; break;
		case '\\': esc = "\\\\"; break;
		case '\n': esc = "\\n"; break;
		case '\r': esc = "\\r"; break;
		case '\t': esc = "\\t"; break;
		default:
			if (*p >= 0x80 && !(html && p[0] == 0xe2 && p[1] == 0x80 &&
					    (p[2] == 0xa8 || p[2] == 0xa9))) {
				uint32_t cp;
				/* 4 is safe: decoding stops at the first byte that is not a
				 * continuation byte, the terminating NUL at the latest */
				size_t k = utf8_next(p, 4, &cp);

				if (k > 1) {
					p += k - 1;
					continue;
				}
				/* not UTF-8 (the text policy): the text \xNN, escaped for JSON */
				u[0] = '\\'; u[1] = '\\'; u[2] = 'x';
				u[3] = HEX_UP[*p >> 4]; u[4] = HEX_UP[*p & 15]; u[5] = '\0';
				esc = u;
			} else if (*p < 0x20 || *p == 0x7f || *p == '<' || *p == '>' || (html && *p == '&')) {
				/* < and > keep "</script>" inert wherever the JSON ends up. */
				u[0] = '\\'; u[1] = 'u'; u[2] = '0'; u[3] = '0';
				u[4] = hex[*p >> 4]; u[5] = hex[*p & 15]; u[6] = '\0';
				esc = u;
			} else if (html && p[0] == 0xe2 && p[1] == 0x80 && (p[2] == 0xa8 || p[2] == 0xa9)) {
				esc = p[2] == 0xa8 ? "\\u2028" : "\\u2029";
				skip = 2;
			}
		}
		if (esc) {
			buf_add(b, run, (size_t)(p - run));
			buf_puts(b, esc);
			p += skip;
			run = p + 1;
		}
	}
	buf_add(b, run, (size_t)(p - run));
	return buf_putc(b, '"');
}

int buf_json_str(struct buf *b, const char *s)
{
	return json_str(b, s, false);
}

int buf_json_str_html(struct buf *b, const char *s)
{
	return json_str(b, s, true);
}

int buf_html_n(struct buf *b, const char *s, size_t n)
{
	const char *p, *run, *end = s + n;

	for (p = run = s; p < end; p++) {
		const char *esc;
		char u[8];
		size_t k = 1;

		switch (*p) {
		case '&': esc = "&amp;"; break;
		case '<': esc = "&lt;"; break;
		case '>': esc = "&gt;"; break;
		case '"': esc = "&quot;"; break;
		case '\'': esc = "&#39;"; break;
		default: {
			const unsigned char *q = (const unsigned char *)p;
			uint32_t cp;

			if (*q < 0x80)
				continue;
			k = utf8_next(q, (size_t)(end - p), &cp);
			if (k == 1) {
				/* not UTF-8 (the text policy): the text \xNN */
				u[0] = '\\'; u[1] = 'x'; u[2] = HEX_UP[*q >> 4]; u[3] = HEX_UP[*q & 15];
				u[4] = '\0';
			} else if (utf8_is_bidi_control(cp)) {
				/* shown, not obeyed: a name cannot reorder the text around it */
				u[0] = '\\'; u[1] = 'u';
				u[2] = HEX_UP[cp >> 12]; u[3] = HEX_UP[(cp >> 8) & 15];
				u[4] = HEX_UP[(cp >> 4) & 15]; u[5] = HEX_UP[cp & 15]; u[6] = '\0';
			} else {
				p += k - 1;
				continue;
			}
			esc = u;
		}
		}
		buf_add(b, run, (size_t)(p - run));
		buf_puts(b, esc);
		p += k - 1;
		run = p + 1;
	}
	return buf_add(b, run, (size_t)(p - run));
}

int buf_html(struct buf *b, const char *s)
{
	return s ? buf_html_n(b, s, strlen(s)) : 0;
}

size_t utf8_floor(const char *s, size_t n)
{
	while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
		n--;
	return n;
}

int buf_csv_cell(struct buf *b, const char *s)
{
	int quote, lead;
	const char *p;

	if (!s)
		return 0;
	if (!utf8_valid(s, strlen(s))) {
		struct buf t = BUF_INIT((size_t)1 << 30);
		int r;

		buf_text(&t, s, strlen(s));
		r = buf_csv_cell(b, buf_str(&t));
		buf_free(&t);
		return r;
	}
	/* A leading apostrophe is escaped the same way, so a reader can strip exactly one
	 * apostrophe from every quoted cell that starts with one and get the value back. */
	lead = s[0] == '=' || s[0] == '+' || s[0] == '-' || s[0] == '@' || s[0] == '\t' ||
	       s[0] == '\r' || s[0] == '\'';
	/* A plain negative number is data, not a formula. */
	if (s[0] == '-' && s[1] && strspn(s + 1, "0123456789.eE") == strlen(s + 1))
		lead = 0;
	quote = lead || strpbrk(s, ",\"\n\r") != NULL;
	if (!quote)
		return buf_puts(b, s);
	buf_putc(b, '"');
	if (lead)
		buf_putc(b, '\'');
	for (p = s; *p; p++) {
		if (*p == '"')
			buf_putc(b, '"');
		buf_putc(b, *p);
	}
	return buf_putc(b, '"');
}

size_t utf8_next(const unsigned char *s, size_t n, uint32_t *cp)
{
	uint32_t c = s[0], min;
	size_t len, i;

	if (c < 0x80) {
		*cp = c;
		return 1;
	}
	if ((c & 0xe0) == 0xc0) {
		len = 2, min = 0x80, c &= 0x1f;
	} else if ((c & 0xf0) == 0xe0) {
		len = 3, min = 0x800, c &= 0x0f;
	} else if ((c & 0xf8) == 0xf0) {
		len = 4, min = 0x10000, c &= 0x07;
	} else {
		goto bad;
	}
	if (n < len)
		goto bad;
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			goto bad;
		c = (c << 6) | (s[i] & 0x3f);
	}
	if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		goto bad;
	*cp = c;
	return len;
bad:
	*cp = 0xfffd;
	return 1;
}

bool utf8_valid(const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s, *end = p + n;

	while (p < end) {
		uint32_t cp;
		size_t k;

		if (*p < 0x80) {
			if (!*p)
				return false;
			p++;
			continue;
		}
		k = utf8_next(p, (size_t)(end - p), &cp);
		if (k == 1)
			return false;
		p += k;
	}
	return true;
}

int buf_text(struct buf *b, const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s, *end = p + n, *run = p;

	while (p < end) {
		uint32_t cp;
		size_t k = 1;

		if (*p && (*p < 0x80 || (k = utf8_next(p, (size_t)(end - p), &cp)) > 1)) {
			p += k;
			continue;
		}
		buf_add(b, run, (size_t)(p - run));
		buf_putc(b, '\\');
		buf_putc(b, 'x');
		buf_putc(b, HEX_UP[*p >> 4]);
		buf_putc(b, HEX_UP[*p & 15]);
		run = ++p;
	}
	return buf_add(b, run, (size_t)(p - run));
}

int buf_utf8(struct buf *b, uint32_t cp)
{
	char t[4];
	size_t n;

	if (cp < 0x80) {
		t[0] = (char)cp;
		n = 1;
	} else if (cp < 0x800) {
		t[0] = (char)(0xc0 | (cp >> 6));
		t[1] = (char)(0x80 | (cp & 0x3f));
		n = 2;
	} else if (cp < 0x10000) {
		t[0] = (char)(0xe0 | (cp >> 12));
		t[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		t[2] = (char)(0x80 | (cp & 0x3f));
		n = 3;
	} else {
		t[0] = (char)(0xf0 | (cp >> 18));
		t[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
		t[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
		t[3] = (char)(0x80 | (cp & 0x3f));
		n = 4;
	}
	return buf_add(b, t, n);
}

void hex_encode(const void *data, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";
	const unsigned char *p = data;

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[p[i] >> 4];
		out[2 * i + 1] = digits[p[i] & 15];
	}
	out[2 * n] = '\0';
}

void base64_encode(const void *data, size_t n, char *out)
{
	static const char b64[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	const unsigned char *p = data;
	size_t i, o = 0;

	for (i = 0; i < n; i += 3) {
		uint32_t v = (uint32_t)p[i] << 16 | (i + 1 < n ? (uint32_t)p[i + 1] << 8 : 0) |
			     (i + 2 < n ? p[i + 2] : 0);

		out[o++] = b64[v >> 18 & 63];
		out[o++] = b64[v >> 12 & 63];
		out[o++] = i + 1 < n ? b64[v >> 6 & 63] : '=';
		out[o++] = i + 2 < n ? b64[v & 63] : '=';
	}
	out[o] = '\0';
}

void buf_xml(struct buf *b, const char *s, bool attr)
{
	const unsigned char *p = (const unsigned char *)(s ? s : "");
	size_t n = strlen((const char *)p);

	while (n) {
		uint32_t cp;
		size_t k = utf8_next(p, n, &cp);

		switch (cp) {
		case '&':
			buf_puts(b, "&amp;");
			break;
		case '<':
			buf_puts(b, "&lt;");
			break;
		case '>':
			buf_puts(b, "&gt;");
			break;
		case '"':
			buf_puts(b, attr ? "&quot;" : "\"");
			break;
		case '\n':
			buf_puts(b, attr ? "&#10;" : "\n");
			break;
		case '\t':
			buf_puts(b, attr ? "&#9;" : "\t");
			break;
		case '\r':
			buf_puts(b, "&#13;");
			break;
		default:
			if (cp < 0x20)
				buf_printf(b, "\\x%02x", (unsigned)cp);
			else if (cp == 0xfffe || cp == 0xffff)
				buf_printf(b, "\\u%04X", (unsigned)cp);
			else if (cp < 0x80)
				buf_putc(b, (char)cp);
			else
				buf_utf8(b, cp);
		}
		p += k;
		n -= k;
	}
}

void buf_toml_str(struct buf *b, const char *s)
{
	const unsigned char *p = (const unsigned char *)(s ? s : "");
	size_t n = strlen((const char *)p);

	buf_putc(b, '"');
	while (n) {
		uint32_t cp;
		size_t k = utf8_next(p, n, &cp);

		if (cp == '"' || cp == '\\') {
			buf_putc(b, '\\');
			buf_putc(b, (char)cp);
		} else if (cp == '\n') {
			buf_puts(b, "\\n");
		} else if (cp == '\t') {
			buf_puts(b, "\\t");
		} else if (cp < 0x20 || cp == 0x7f) {
			buf_printf(b, "\\u%04X", (unsigned)cp);
		} else {
			buf_utf8(b, cp);
		}
		p += k;
		n -= k;
	}
	buf_putc(b, '"');
}

void buf_md_text(struct buf *b, const char *s, size_t max)
{
	const unsigned char *p = (const unsigned char *)(s ? s : "");
	size_t n = strlen((const char *)p), used = 0;

	while (n) {
		uint32_t cp;
		size_t k = utf8_next(p, n, &cp);

		if (used + k > max) {
			buf_puts(b, "...");
			return;
		}
		used += k;
		if (cp == '<')
			buf_puts(b, "&lt;");
		else if (cp == '>')
			buf_puts(b, "&gt;");
		else if (cp == '&')
			buf_puts(b, "&amp;");
		else if (cp < 0x20 || cp == 0x7f)
			buf_putc(b, ' ');
		else if (cp < 0x80 && strchr("\\`*_[]|~", (int)cp)) {
			buf_putc(b, '\\');
			buf_putc(b, (char)cp);
		} else {
			buf_utf8(b, cp);
		}
		p += k;
		n -= k;
	}
}

void buf_gh_escape(struct buf *b, const char *s, bool property)
{
	for (; s && *s; s++) {
		if (*s == '%')
			buf_puts(b, "%25");
		else if (*s == '\r')
			buf_puts(b, "%0D");
		else if (*s == '\n')
			buf_puts(b, "%0A");
		else if (property && *s == ':')
			buf_puts(b, "%3A");
		else if (property && *s == ',')
			buf_puts(b, "%2C");
		else
			buf_putc(b, *s);
	}
}
