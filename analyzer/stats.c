/* SPDX-License-Identifier: MIT */
/*
 * run_compute(): per-test counts, flake rate with its 95% Wilson score interval, verdict and
 * duration statistics, the run totals, and the report order of the tests.
 *
 * Definitions: failed = outcome failed or error; skipped = outcome skipped (xfail included);
 * the flake rate is failed / (passed + failed), skipped attempts excluded, and under chaos
 * mode perturbed attempts too (the rate is the natural one: analyzer/chaos.c gives the
 * perturbed side apart). Verdict, over every attempt: no non-skipped attempt -> skipped; no
 * failure -> stable; no pass -> broken; else flaky.
 * Durations (mean, median, 95th percentile by nearest rank, max) are over the non-skipped
 * attempts, or over all attempts when every one was skipped. Order: flaky and broken tests
 * first, worst first (rate, then failures, then nodeid), then stable tests by nodeid, then
 * skipped ones by nodeid. avg_flake_rate is the mean rate over tests with a natural rate.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "chaos_rec.h"
#include "stages.h"

void wilson_interval(int failed, int n, double *lo, double *hi)
{
	const double z = 1.959963984540054;
	double p, z2, denom, centre, half;

	if (n <= 0) {
		*lo = 0;
		*hi = 1;
		return;
	}
	if (failed < 0)
		failed = 0;
	if (failed > n)
		failed = n;
	p = (double)failed / n;
	z2 = z * z;
	denom = 1 + z2 / n;
	centre = (p + z2 / (2.0 * n)) / denom;
	half = z * sqrt(p * (1 - p) / n + z2 / (4.0 * n * n)) / denom;
	*lo = centre - half < 0 ? 0 : centre - half;
	*hi = centre + half > 1 ? 1 : centre + half;
	if (failed == 0)
		*lo = 0;
	if (failed == n)
		*hi = 1;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

double fh_median(double *v, size_t n)
{
	if (!n)
		return 0;
	qsort(v, n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

bool fh_separates(int fc, int nf, int pc, int np)
{
	double rf, rp;

	if (nf <= 0 || fc <= 0)
		return false;
	rf = (double)fc / nf;
	rp = np > 0 ? (double)pc / np : 0;
	return rf >= 0.5 && rp <= 0.2 && rf - rp >= 0.5;
}

static void durations(struct fh_test *t, double *scratch)
{
	size_t i, n = 0;
	bool all = t->passed + t->failed == 0;
	double sum = 0;

	for (i = 0; i < t->nattempts; i++) {
		const struct fh_attempt *a = &t->attempts[i];

		if (!all && a->outcome == FH_SKIPPED)
			continue;
		scratch[n++] = a->duration_s;
		sum += a->duration_s;
	}
	if (!n) {
		t->mean_s = t->median_s = t->p95_s = t->max_s = 0;
		return;
	}
	t->median_s = fh_median(scratch, n);   /* sorts scratch */
	t->mean_s = sum / n;
	t->p95_s = scratch[(size_t)ceil(0.95 * n) - 1];
	t->max_s = scratch[n - 1];
}

static int rank(const struct fh_test *t)
{
	switch (t->verdict) {
	case FH_FLAKY:
	case FH_BROKEN:
		return 0;
	case FH_STABLE:
		return 1;
	default:
		return 2;
	}
}

static int cmp_test(const void *a, const void *b)
{
	const struct fh_test *x = a, *y = b;
	int rx = rank(x), ry = rank(y);

	if (rx != ry)
		return rx - ry;
	if (rx == 0) {
		if (x->flake_rate != y->flake_rate)
			return x->flake_rate > y->flake_rate ? -1 : 1;
		if (x->failed != y->failed)
			return x->failed > y->failed ? -1 : 1;
	}
	return strcmp(x->nodeid, y->nodeid);
}

void run_compute(struct fh_run *run)
{
	size_t i, j, maxn = 1;
	double *scratch, rates = 0;
	int counted = 0;

	for (i = 0; i < run->ntests; i++)
		if (run->tests[i].nattempts > maxn)
			maxn = run->tests[i].nattempts;
	scratch = xmalloc(maxn * sizeof(*scratch));
	run->nflaky = run->nstable = run->nbroken = run->nskipped = 0;
	for (i = 0; i < run->ntests; i++) {
		struct fh_test *t = &run->tests[i];
		int n;

		t->passed = t->failed = t->skipped = 0;
		t->rate_failed = t->rate_n = 0;
		for (j = 0; j < t->nattempts; j++) {
			const struct fh_attempt *a = &t->attempts[j];
			/* a perturbed attempt (chaos mode) counts in the verdict, not in the rate */
			bool natural = !a->chaos || !a->chaos->perturbed;

			switch (a->outcome) {
			case FH_PASSED:
				t->passed++;
				t->rate_n += natural;
				break;
			case FH_FAILED:
			case FH_ERROR:
				t->failed++;
				t->rate_n += natural;
				t->rate_failed += natural;
				break;
			default: t->skipped++; break;
			}
		}
		n = t->passed + t->failed;
		t->flake_rate = t->rate_n ? (double)t->rate_failed / t->rate_n : 0;
		wilson_interval(t->rate_failed, t->rate_n, &t->ci_lo, &t->ci_hi);
		if (!n) {
			t->verdict = FH_SKIPPED_ALL;
			run->nskipped++;
		} else if (!t->failed) {
			t->verdict = FH_STABLE;
			run->nstable++;
		} else if (!t->passed) {
			t->verdict = FH_BROKEN;
			run->nbroken++;
		} else {
			t->verdict = FH_FLAKY;
			run->nflaky++;
		}
		if (t->rate_n) {
			rates += t->flake_rate;
			counted++;
		}
		durations(t, scratch);
	}
	free(scratch);
	run->avg_flake_rate = counted ? rates / counted : 0;
	if (run->ntests > 1)
		qsort(run->tests, run->ntests, sizeof(*run->tests), cmp_test);
}
