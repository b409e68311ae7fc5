/* SPDX-License-Identifier: MIT */
/*
 * Escapers for each context the report writes data into (element text, attributes, SVG
 * <title> and <text>), number formatting, and the SHA-256 that the Content-Security-Policy
 * uses to allow exactly the report's own inline script.
 */
#include <math.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>

#include "escape.h"
#include "rep.h"

void esc_html(struct buf *b, const char *s)
{
	buf_html(b, s);
}

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
		esc_html(b, s);
		return;
	}
	buf_puts(b, "<title>");
	esc_html(b, s);
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
	esc_html(b, tmp);
	free(tmp);
	buf_puts(b, "\xe2\x80\xa6");
	esc_html(b, s + n - tail);
}

void fmt_secs(struct buf *b, double s)
{
	if (!isfinite(s) || s < 0)
		buf_puts(b, "?");
	else if (s < 5e-6)
		buf_puts(b, "0 s");
	else if (s < 0.001)
		buf_printf(b, "%.2f ms", s * 1e3);
	else if (s < 0.01)
		buf_printf(b, "%.1f ms", s * 1e3);
	else if (s < 1)
		buf_printf(b, "%.0f ms", s * 1e3);
	else if (s < 100)
		buf_printf(b, "%.2f s", s);
	else
		buf_printf(b, "%.0f s", s);
}

void fmt_pct(struct buf *b, double r)
{
	double p = r * 100;

	if (!isfinite(p))
		buf_puts(b, "?");
	else if (p == 0 || p >= 10 || p == floor(p))
		buf_printf(b, "%.0f%%", p);
	else
		buf_printf(b, "%.1f%%", p);
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

/* ---- SHA-256 (FIPS 180-4), only for the CSP hash of the page script ---- */

static const uint32_t K[64] = {
	0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4,
	0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe,
	0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f,
	0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7,
	0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc,
	0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
	0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116,
	0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
	0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
	0xc67178f2,
};

#define ROR(x, n) (((x) >> (n)) | ((x) << (32 - (n))))

static void sha256_block(uint32_t h[8], const unsigned char *p)
{
	uint32_t w[64], a, bb, c, d, e, f, g, hh;
	int i;

	for (i = 0; i < 16; i++)
		w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 |
		       (uint32_t)p[4 * i + 2] << 8 | p[4 * i + 3];
	for (i = 16; i < 64; i++) {
		uint32_t s0 = ROR(w[i - 15], 7) ^ ROR(w[i - 15], 18) ^ (w[i - 15] >> 3);
		uint32_t s1 = ROR(w[i - 2], 17) ^ ROR(w[i - 2], 19) ^ (w[i - 2] >> 10);

		w[i] = w[i - 16] + s0 + w[i - 7] + s1;
	}
	a = h[0]; bb = h[1]; c = h[2]; d = h[3]; e = h[4]; f = h[5]; g = h[6]; hh = h[7];
	for (i = 0; i < 64; i++) {
		uint32_t t1 = hh + (ROR(e, 6) ^ ROR(e, 11) ^ ROR(e, 25)) + ((e & f) ^ (~e & g)) +
			      K[i] + w[i];
		uint32_t t2 = (ROR(a, 2) ^ ROR(a, 13) ^ ROR(a, 22)) + ((a & bb) ^ (a & c) ^ (bb & c));

		hh = g; g = f; f = e; e = d + t1; d = c; c = bb; bb = a; a = t1 + t2;
	}
	h[0] += a; h[1] += bb; h[2] += c; h[3] += d; h[4] += e; h[5] += f; h[6] += g; h[7] += hh;
}

void sha256_b64(const void *data, size_t len, char out[45])
{
	static const char b64[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	uint32_t h[8] = { 0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f,
			  0x9b05688c, 0x1f83d9ab, 0x5be0cd19 };
	const unsigned char *p = data;
	unsigned char tail[128], dig[33];
	size_t i, rest, tl;
	uint64_t bits = (uint64_t)len * 8;
	int j, o = 0;

	for (i = 0; i + 64 <= len; i += 64)
		sha256_block(h, p + i);
	rest = len - i;
	memset(tail, 0, sizeof(tail));
	memcpy(tail, p + i, rest);
	tail[rest] = 0x80;
	tl = rest + 1 + 8 <= 64 ? 64 : 128;
	for (j = 0; j < 8; j++)
		tail[tl - 1 - j] = (unsigned char)(bits >> (8 * j));
	sha256_block(h, tail);
	if (tl == 128)
		sha256_block(h, tail + 64);
	for (j = 0; j < 32; j++)
		dig[j] = (unsigned char)(h[j / 4] >> (24 - 8 * (j % 4)));
	dig[32] = 0;
	for (j = 0; j < 33; j += 3) {
		uint32_t v = (uint32_t)dig[j] << 16 | (j + 1 < 33 ? (uint32_t)dig[j + 1] << 8 : 0) |
			     (j + 2 < 33 ? dig[j + 2] : 0);

		out[o++] = b64[v >> 18 & 63];
		out[o++] = b64[v >> 12 & 63];
		out[o++] = j + 1 < 32 ? b64[v >> 6 & 63] : '=';
		out[o++] = j + 2 < 32 ? b64[v & 63] : '=';
	}
	out[44] = '\0';
}
