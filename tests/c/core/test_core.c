/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the core's small modules: the hash map (string, integer and caller-compared
 * keys, growth, many keys), SHA-256 (FIPS 180-4 vectors, streaming, base64), the escapers,
 * number formatting and the CSV reader. A core test: it links libfhcore.a only (no curl, no
 * libdw; tests/py/test_layers.py checks that).
 */
#include <check.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "escape.h"
#include "fh_check.h"
#include "hmap.h"
#include "numfmt.h"
#include "sha256.h"
#include "util.h"

/* ---- the hash map ---- */

START_TEST(test_hmap_strings)
{
	struct hmap m = HMAP_INIT;
	char keys[5000][16];
	bool added;
	size_t v;

	ck_assert(!hmap_str_get(&m, "absent", &v));
	ck_assert_ptr_null(hmap_str(&m, "absent", false, &added));
	ck_assert(!added);
	for (size_t i = 0; i < 5000; i++) {
		snprintf(keys[i], sizeof(keys[i]), "key-%zu", i);
		hmap_str(&m, keys[i], true, &added)->val = i * 3;
		ck_assert(added);
	}
	ck_assert_uint_eq(m.n, 5000);
	ck_assert_uint_le(m.n * 2, m.cap); /* at most half full */
	for (size_t i = 0; i < 5000; i++) {
		char copy[16];

		memcpy(copy, keys[i], sizeof(copy)); /* compared by content, not by pointer */
		ck_assert(hmap_str_get(&m, copy, &v));
		ck_assert_uint_eq(v, i * 3);
	}
	/* An existing key gives its slot back, not a new one. */
	ck_assert_uint_eq(hmap_str(&m, "key-7", true, &added)->val, 21);
	ck_assert(!added);
	ck_assert_uint_eq(m.n, 5000);
	ck_assert(!hmap_str_get(&m, "key-5000", &v));
	ck_assert(!hmap_str_get(&m, "", &v));
	hmap_free(&m);
	ck_assert_uint_eq(m.cap, 0);
	ck_assert(!hmap_str_get(&m, "key-1", &v));
}
END_TEST

START_TEST(test_hmap_ints)
{
	struct hmap m = HMAP_INIT;
	const uint64_t odd[] = { 0, 1, UINT64_MAX, (uint64_t)(int64_t)-1 - 1, 1ULL << 63, 4096 };
	size_t v;

	for (size_t i = 0; i < ARRAY_SIZE(odd); i++)
		hmap_int(&m, odd[i], true, NULL)->val = i;
	for (size_t i = 0; i < ARRAY_SIZE(odd); i++) {
		ck_assert(hmap_int_get(&m, odd[i], &v));
		ck_assert_uint_eq(v, i);
	}
	/* Keys that share their low bits (pids, fds, tids) still spread. */
	for (uint64_t k = 0; k < 100000; k++)
		hmap_int(&m, k << 20, true, NULL)->val = (size_t)k;
	for (uint64_t k = 0; k < 100000; k += 997) {
		ck_assert(hmap_int_get(&m, k << 20, &v));
		ck_assert_uint_eq(v, k);
	}
	ck_assert(!hmap_int_get(&m, 3, &v));
	/* Replacing a value keeps one slot. */
	hmap_int(&m, 1, true, NULL)->val = 99;
	ck_assert(hmap_int_get(&m, 1, &v) && v == 99);
	hmap_free(&m);
}
END_TEST

START_TEST(test_hmap_caller_keys)
{
	struct hmap m = HMAP_INIT;
	size_t pos, v, seen = 0;

	ck_assert_uint_eq(hmap_first(&m, 42, &pos), HMAP_NONE);
	/* Three values under one hash (a collision the caller resolves), others around them. */
	for (size_t i = 0; i < 100; i++)
		hmap_add(&m, i == 10 || i == 50 || i == 90 ? 42 : 1000 + i, i);
	for (v = hmap_first(&m, 42, &pos); v != HMAP_NONE; v = hmap_next(&m, 42, &pos))
		seen |= (size_t)1 << (v / 10);
	ck_assert_uint_eq(seen, (1u << 1) | (1u << 5) | (1u << 9));
	ck_assert_uint_eq(hmap_first(&m, 43, &pos), HMAP_NONE);
	ck_assert_uint_eq(hmap_int_hash(5), hmap_int_hash(5));
	ck_assert_uint_ne(hmap_int_hash(5), hmap_int_hash(6));
	ck_assert_uint_eq(hmap_str_hash("a"), fnv64(FNV64_INIT, "a", 1));
	hmap_free(&m);
}
END_TEST

/* ---- SHA-256 ---- */

START_TEST(test_sha256_vectors)
{
	char hex[65], *million = malloc(1000000);
	struct sha256 s;
	unsigned char d[32];

	sha256_hex("", 0, hex);
	ck_assert_str_eq(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	sha256_hex("abc", 3, hex);
	ck_assert_str_eq(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", 56, hex);
	ck_assert_str_eq(hex, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
	memset(million, 'a', 1000000);
	sha256_init(&s);
	sha256_update(&s, million, 333333);
	sha256_update(&s, million + 333333, 1000000 - 333333);
	sha256_final(&s, d);
	ck_assert_uint_eq(d[0], 0xcd);
	ck_assert_uint_eq(d[1], 0xc7);
	ck_assert_uint_eq(d[31], 0xd0);
	free(million);
}
END_TEST

START_TEST(test_sha256_encodings)
{
	char hex[65], b64[45], small[9];
	struct sha256 s;

	sha256_init(&s);
	sha256_update(&s, "ab", 2);
	sha256_update(&s, "c", 1);
	sha256_final_hex(&s, hex);
	ck_assert_str_eq(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	sha256_b64("abc", 3, b64);
	ck_assert_str_eq(b64, "ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0=");
	sha256_b64("", 0, b64);
	ck_assert_str_eq(b64, "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=");
	/* 56 bytes: padding spills into a second block. */
	sha256_b64("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", 56, b64);
	ck_assert_str_eq(b64, "JI1qYdIGOLjlwCaTDD5gOaM85Flk/yFn9uzt1BnbBsE=");
	base64_encode("", 0, small);
	ck_assert_str_eq(small, "");
	base64_encode("f", 1, small);
	ck_assert_str_eq(small, "Zg==");
	base64_encode("fo", 2, small);
	ck_assert_str_eq(small, "Zm8=");
	base64_encode("foob", 4, small);
	ck_assert_str_eq(small, "Zm9vYg==");
	hex_encode("\x00\xff\x10", 3, small);
	ck_assert_str_eq(small, "00ff10");
}
END_TEST

/* ---- escapers ---- */

static const char *esc(int (*f)(struct buf *, const char *), const char *in, struct buf *b)
{
	buf_reset(b);
	f(b, in);
	return buf_str(b);
}

START_TEST(test_escape_json)
{
	struct buf b = BUF_INIT(4096);
	const char *in = "q\"b\\ n\n r\r t\t \x01 \x7f </script> & \xe2\x80\xa8 \xe2\x80\xa9 \xc3\xa9";

	ck_assert_str_eq(esc(buf_json_str, in, &b),
			 "\"q\\\"b\\\\ n\\n r\\r t\\t \\u0001 \\u007f \\u003c/script\\u003e & "
			 "\xe2\x80\xa8 \xe2\x80\xa9 \xc3\xa9\"");
	ck_assert_str_eq(esc(buf_json_str_html, in, &b),
			 "\"q\\\"b\\\\ n\\n r\\r t\\t \\u0001 \\u007f \\u003c/script\\u003e \\u0026 "
			 "\\u2028 \\u2029 \xc3\xa9\"");
	/* A cut sequence at the end is never read past, and is not UTF-8: its bytes as \xNN. */
	ck_assert_str_eq(esc(buf_json_str_html, "a\xe2\x80", &b), "\"a\\\\xE2\\\\x80\"");
	ck_assert_str_eq(esc(buf_json_str, NULL, &b), "null");
	buf_free(&b);
}
END_TEST

START_TEST(test_escape_html_csv)
{
	struct buf b = BUF_INIT(4096);

	ck_assert_str_eq(esc(buf_html, "<a href='x'>&\"</a>", &b),
			 "&lt;a href=&#39;x&#39;&gt;&amp;&quot;&lt;/a&gt;");
	ck_assert_str_eq(esc(buf_csv_cell, "plain", &b), "plain");
	ck_assert_str_eq(esc(buf_csv_cell, "a,b\"c", &b), "\"a,b\"\"c\"");
	ck_assert_str_eq(esc(buf_csv_cell, "=cmd()", &b), "\"'=cmd()\"");
	ck_assert_str_eq(esc(buf_csv_cell, "-1.5", &b), "-1.5");
	ck_assert_str_eq(esc(buf_csv_cell, "'quoted", &b), "\"''quoted\"");
	buf_free(&b);
}
END_TEST

/* The text policy: whatever bytes they get, the escapers write valid UTF-8 (a byte that is not
 * part of a valid sequence as \xNN), and HTML shows bidi controls as \uNNNN. */
START_TEST(test_text_policy_escapers)
{
	struct buf b = BUF_INIT(1024);

	buf_json_str(&b, "caf\xe9 ok\xc3\xa9 cut\xe2\x80 \xff end\xe2");
	ck_assert_str_eq(buf_str(&b), "\"caf\\\\xE9 ok\xc3\xa9 cut\\\\xE2\\\\x80 \\\\xFF end\\\\xE2\"");
	buf_reset(&b);
	buf_html(&b, "<a\xe9>\xe2\x80\xae" "evil\xe2\x81\xa6" "x\xe2\x81\xa9 \xe2\x80\x8f \xf0\x9f\x98\x80");
	ck_assert_str_eq(buf_str(&b), "&lt;a\\xE9&gt;\\u202Eevil\\u2066x\\u2069 \\u200F \xf0\x9f\x98\x80");
	buf_reset(&b);
	/* a cut at n bytes: the sequence cut in half is not read past n */
	buf_html_n(&b, "ab\xc3\xa9", 3);
	ck_assert_str_eq(buf_str(&b), "ab\\xC3");
	buf_reset(&b);
	buf_csv_cell(&b, "x,\xe9");
	ck_assert_str_eq(buf_str(&b), "\"x,\\xE9\"");
	buf_reset(&b);
	buf_text(&b, "a\0b\xc0\xaf", 5);
	ck_assert_str_eq(buf_str(&b), "a\\x00b\\xC0\\xAF");
	ck_assert(utf8_valid("caf\xc3\xa9", 5));
	ck_assert(!utf8_valid("caf\xe9", 4));
	ck_assert(!utf8_valid("\xed\xb3\xa9", 3)); /* an encoded surrogate */
	buf_free(&b);
}
END_TEST

/* ---- numbers ---- */

START_TEST(test_numbers)
{
	struct buf b = BUF_INIT(256);

	buf_num6(&b, 0.1234567);
	buf_putc(&b, ' ');
	buf_num6(&b, 2.5);
	buf_putc(&b, ' ');
	buf_num6(&b, -0.000001);
	buf_putc(&b, ' ');
	buf_num6(&b, 0);
	buf_putc(&b, ' ');
	buf_num6(&b, 1e15);
	buf_putc(&b, ' ');
	buf_num6(&b, NAN);
	ck_assert_str_eq(buf_str(&b), "0.123457 2.5 -0.000001 0 1e+15 null");
	buf_reset(&b);
	buf_int(&b, INT64_MIN);
	buf_putc(&b, ' ');
	buf_int(&b, 0);
	buf_putc(&b, ' ');
	buf_json_num(&b, 3);
	buf_putc(&b, ' ');
	buf_json_num(&b, 0.25);
	buf_putc(&b, ' ');
	buf_json_num(&b, INFINITY);
	ck_assert_str_eq(buf_str(&b), "-9223372036854775808 0 3 0.25 null");
	buf_reset(&b);
	buf_secs(&b, 0.251);
	buf_putc(&b, '|');
	buf_secs(&b, 1.25);
	buf_putc(&b, '|');
	buf_secs(&b, 0.0004);
	buf_putc(&b, '|');
	buf_secs(&b, 0.0000001);
	buf_putc(&b, '|');
	buf_secs(&b, -1);
	buf_putc(&b, '|');
	buf_secs2(&b, 0.075);
	buf_putc(&b, '|');
	buf_secs2(&b, 0.00006);
	buf_putc(&b, '|');
	buf_secs2(&b, 250);
	buf_putc(&b, '|');
	buf_pct(&b, 0.2);
	buf_putc(&b, '|');
	buf_pct(&b, 0.057);
	buf_putc(&b, '|');
	buf_pct(&b, 0);
	ck_assert_str_eq(buf_str(&b), "251 ms|1.25 s|0.40 ms|0 s|?|0.075 s|0.06 ms|250 s|20%|5.7%|0%");
	buf_free(&b);
}
END_TEST

/* The fast decimal reader gives strtod()'s double, bit for bit, wherever it answers, and leaves
 * every other form to strtod. */
START_TEST(test_decimal_fast_is_strtod)
{
	static const char *yes[] = { "0", "0.0", "3.", ".5", "00012", "0.000527", "1764719483.12345",
				     "999999999999999", "0.0000000000000000000001", "0.1", "0.3" };
	static const char *no[] = { "", ".", "9999999999999999", "1764719483.123456", "0.00000000000000000000001", "1e5",
				    "-1", "+1", " 1", "1 ", "1..2", "0x10", "inf", "nan", "1,5" };
	uint64_t x = 88172645463325252ULL;
	char s[40];
	double v;
	long answered = 0;

	for (size_t i = 0; i < sizeof(yes) / sizeof(*yes); i++) {
		ck_assert_msg(parse_decimal_fast(yes[i], &v), "%s", yes[i]);
		ck_assert_msg(v == strtod(yes[i], NULL), "%s", yes[i]);
	}
	for (size_t i = 0; i < sizeof(no) / sizeof(*no); i++) {
		v = -7;
		ck_assert_msg(!parse_decimal_fast(no[i], &v) && v == -7, "%s", no[i]);
	}
	for (int t = 0; t < 200000; t++) {
		int nd, pt, p = 0;
		uint64_t y;
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		nd = 1 + (int)(x % 17);
		pt = (int)((x >> 8) % (uint64_t)(nd + 2)) - 1;
		y = x >> 16;
		for (int i = 0; i < nd; i++) {
			if (i == pt)
				s[p++] = '.';
			s[p++] = (char)('0' + y % 10);
			y = y / 10 ? y / 10 : x * 2654435761u + (uint64_t)t;
		}
		s[p] = 0;
		if (parse_decimal_fast(s, &v)) {
			char *end;
			double w = strtod(s, &end);
			answered++;
			ck_assert_msg(!*end && memcmp(&v, &w, sizeof(v)) == 0, "%s: %.17g, strtod %.17g",
				      s, v, w);
		}
	}
	ck_assert_int_gt(answered, 100000);
}
END_TEST

static Suite *core_suite(void)
{
	Suite *s = suite_create("core");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_hmap_strings);
	tcase_add_test(tc, test_hmap_ints);
	tcase_add_test(tc, test_hmap_caller_keys);
	tcase_add_test(tc, test_sha256_vectors);
	tcase_add_test(tc, test_sha256_encodings);
	tcase_add_test(tc, test_escape_json);
	tcase_add_test(tc, test_escape_html_csv);
	tcase_add_test(tc, test_text_policy_escapers);
	tcase_add_test(tc, test_numbers);
	tcase_add_test(tc, test_decimal_fast_is_strtod);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	fh_quiet = 1;
	return fh_check_run(core_suite());
}
