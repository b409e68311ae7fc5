/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the bootstrap in analyzer/perf_cause.c (compiled in): a draw table, made once
 * for a pair of pool sizes and a seed, gives every resample the median that drawing it afresh
 * gives (odd and even sizes, ties, one value, an empty second pool); a table is reused for the
 * same sizes and seed, and a bootstrap too large for one is left to the direct draws.
 */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>

#include "../../../analyzer/perf_cause.c"
#include "fh_check.h"

/* Values with ties (ties != 0: a value out of five levels) or without. */
static void fill(double *v, size_t n, uint64_t *g, int ties)
{
	for (size_t i = 0; i < n; i++) {
		*g = xorshift(*g);
		v[i] = ties ? (double)(*g % 5) * 0.25 : (double)(*g % 100000) / 7.0;
	}
}

START_TEST(test_table_medians_match_draws)
{
	uint64_t g = 0x5eed;
	struct draw_cache dc = { 0 };
	double a[80], b[80];
	int checked = 0;

	for (size_t n0 = 1; n0 <= 80; n0 += 7)
		for (size_t n1 = 0; n1 <= 80; n1 += 9)
			for (int ties = 0; ties < 2; ties++) {
				struct resampler ra, rb;
				const uint64_t seed = 0x2545f4914f6cdd1dULL ^ (n0 * 131 + n1);
				uint64_t x = seed;
				fill(a, n0, &g, ties);
				fill(b, n1, &g, ties);
				rs_init(&ra, a, n0);
				rs_init(&rb, b, n1);
				const uint16_t *tab = draw_table(&dc, seed, n0, n1, 40);
				ck_assert_ptr_nonnull(tab);
				for (int it = 0; it < 40; it++) {
					const uint16_t *row = tab + (size_t)it * (n0 + n1);
					double ma = rs_median(&ra, &x), mb = rs_median(&rb, &x);
					ck_assert(table_median(&ra, row) == ma);
					ck_assert(table_median(&rb, row + n0) == mb);
					checked++;
				}
				rs_free(&ra);
				rs_free(&rb);
			}
	ck_assert_int_eq(checked, 12 * 9 * 2 * 40);
	draw_cache_free(&dc);
}
END_TEST

START_TEST(test_table_reused_and_bounded)
{
	struct draw_cache dc = { 0 };
	const uint16_t *t1 = draw_table(&dc, 7, 10, 0, BOOT);
	ck_assert_ptr_nonnull(t1);
	ck_assert_ptr_eq(draw_table(&dc, 7, 10, 0, BOOT), t1);
	ck_assert_ptr_ne(draw_table(&dc, 8, 10, 0, BOOT), t1);
	/* every resample draws n0 + n1 times */
	const uint16_t *t2 = draw_table(&dc, 9, 3, 4, 5);
	for (int b = 0; b < 5; b++) {
		unsigned s0 = 0, s1 = 0;
		for (int i = 0; i < 3; i++)
			s0 += t2[b * 7 + i];
		for (int i = 3; i < 7; i++)
			s1 += t2[b * 7 + i];
		ck_assert_uint_eq(s0, 3);
		ck_assert_uint_eq(s1, 4);
	}
	/* too large for a table, or nothing to draw: NULL, the caller draws directly */
	ck_assert_ptr_null(draw_table(&dc, 7, TABLE_MAX / BOOT + 1, 0, BOOT));
	ck_assert_ptr_null(draw_table(&dc, 7, (size_t)UINT16_MAX + 1, 0, 1));
	ck_assert_ptr_null(draw_table(&dc, 7, 0, 0, BOOT));
	draw_cache_free(&dc);
}
END_TEST

static Suite *bootstrap_suite(void)
{
	Suite *s = suite_create("bootstrap");
	TCase *tc = tcase_create("bootstrap");

	tcase_add_test(tc, test_table_medians_match_draws);
	tcase_add_test(tc, test_table_reused_and_bounded);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return fh_check_run(bootstrap_suite());
}
