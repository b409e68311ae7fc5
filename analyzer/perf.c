/* SPDX-License-Identifier: MIT */
/*
 * Performance flakes (test->perf; the rule: ARCHITECTURE.md, "Performance flakes"): passing
 * attempts whose durations vary, which are slow, and where the extra time went (by category
 * and by call, the test thread's own call named in the summary).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "diagnose_int.h"
#include "stages.h"

/* ---- performance flakes ---- */

/* A call's time in slow and fast attempts; cat[] its slow time by the category of what it
 * waited for (one poll may wait on a socket, another on a child). */
struct named { int id; const char *name; double slow, fast, extra; double cat[FH_CAT_COUNT]; };

/* The category a call's extra time is shown under (users see categories, the call in
 * parentheses): where most of its slow time went. */
static const char *named_what(struct arena *A, const struct named *n)
{
	int best = FH_CAT_OTHER;

	for (int k = 0; k < FH_CAT_COUNT; k++)
		if (n->cat[k] > n->cat[best])
			best = k;
	return arena_printf(A, "%s (%s)", fh_category_names[best], n->name);
}

/* Adds val to call id's slow or fast total. */
static void add_named(struct named **v, size_t *n, size_t *cap, int id, const char *name,
		      enum fh_category cat, double val, bool slow)
{
	size_t i;

	for (i = 0; i < *n && (*v)[i].id != id; i++)
		;
	if (i == *n) {
		GROW(*v, *cap, *n + 1);
		(*v)[i] = (struct named){ id, name, 0, 0, 0, { 0 } };
		(*n)++;
	}
	(*v)[i].cat[(unsigned)cat < FH_CAT_COUNT ? cat : FH_CAT_OTHER] += val;
	if (slow)
		(*v)[i].slow += val;
	else
		(*v)[i].fast += val;
}

/* Biggest extra time first (extra = mean slow - mean fast); a tie in call table order. */
static int cmp_named_extra(const void *a, const void *b)
{
	const struct named *x = a, *y = b;

	if (x->extra != y->extra)
		return (y->extra > x->extra) - (y->extra < x->extra);
	return (x->id > y->id) - (x->id < y->id);
}

void diag_perf(struct fh_run *run, struct fh_test *t)
{
	struct arena *A = &run->arena;
	struct fh_perf *p = arena_alloc(A, sizeof(*p));
	size_t nslow = 0, nfast = 0, ncalls = 0, ccalls = 0;
	double med = t->feat.pass_median_s, mx = t->feat.pass_max_s;
	double cat_slow[FH_CAT_COUNT + 1] = { 0 }, cat_fast[FH_CAT_COUNT + 1] = { 0 };
	struct named *calls = NULL, *mains = NULL;
	size_t nmains = 0, cmains = 0;
	bool any_trace = false;

	t->perf = p;
	p->by_category = arena_alloc(A, sizeof(*p->by_category) * (FH_CAT_COUNT + 1));
	p->slow_attempts = arena_alloc(A, sizeof(int) * (t->nattempts + 1));
	if (!t->feat.unstable)
		goto out;
	p->unstable = true;
	for (size_t i = 0; i < t->nattempts; i++) {
		const struct fh_attempt *a = &t->attempts[i];
		bool slow = a->f.slow;

		if (!attempt_passed(a))
			continue;
		if (slow)
			p->slow_attempts[p->nslow++] = a->attempt;
		if (!a->trace)
			continue;
		any_trace = true;
		slow ? nslow++ : nfast++;
		for (int k = 0; k < FH_CAT_COUNT; k++)
			(slow ? cat_slow : cat_fast)[k] += a->trace->time_s[k];
		(slow ? cat_slow : cat_fast)[FH_CAT_COUNT] += a->trace->cpu_s;
		for (size_t k = 0; k < a->trace->ncalls; k++) {
			const struct fh_call_stat *cs = &a->trace->calls[k];

			add_named(&calls, &ncalls, &ccalls, cs->call_id, cs->call, cs->category,
				  cs->total_s, slow);
			add_named(&mains, &nmains, &cmains, cs->call_id, cs->call, cs->category,
				  cs->main_s, slow);
		}
	}
	if (any_trace && nslow && nfast) {
		for (int k = 0; k <= FH_CAT_COUNT; k++)
			p->by_category[p->nby_category++] = (struct fh_named_value){
				k < FH_CAT_COUNT ? fh_category_names[k] : "cpu",
				cat_slow[k] / (double)nslow - cat_fast[k] / (double)nfast };
		for (size_t k = 0; k < ncalls; k++)
			calls[k].extra = calls[k].slow / (double)nslow - calls[k].fast / (double)nfast;
		if (ncalls)
			qsort(calls, ncalls, sizeof(*calls), cmp_named_extra);
		p->by_call = arena_alloc(A, sizeof(*p->by_call) * (ncalls + 1));
		for (size_t k = 0; k < ncalls && p->nby_call < 8; k++)
			p->by_call[p->nby_call++] = (struct fh_named_value){ calls[k].name,
									     calls[k].extra };
	}
	{
		struct buf b = BUF_INIT(4096);

		buf_printf(&b, "Passing attempts vary in duration: slowest %s vs median %s",
			   diag_secs(A, mx), diag_secs(A, med));
		/* Name the call the test thread itself spent the extra time in when there is one
		 * (what the user waited on), else the biggest over all threads and processes. */
		const struct named *best = NULL;
		double best_extra = 0.005;

		for (size_t k = 0; nslow && nfast && k < nmains; k++) {
			double x = mains[k].slow / (double)nslow - mains[k].fast / (double)nfast;
			if (x > best_extra || (x == best_extra && best && mains[k].id < best->id)) {
				best_extra = x;
				best = &mains[k];
			}
		}
		double cpu_x = any_trace && nslow && nfast ?
			cat_slow[FH_CAT_COUNT] / (double)nslow - cat_fast[FH_CAT_COUNT] / (double)nfast : 0;
		double call_x = best ? best_extra : p->nby_call && p->by_call[0].value > 0 ?
			p->by_call[0].value : 0;

		if (cpu_x > 0.005 && cpu_x > call_x) {
			/* the extra time was CPU: a call's smaller extra is named after it */
			buf_printf(&b, "; slow attempts spent +%s on CPU", diag_secs(A, cpu_x));
			if (call_x > 0)
				buf_printf(&b, " (+%s in %s)", diag_secs(A, call_x),
					   named_what(A, best ? best : &calls[0]));
		} else if (best) {
			buf_printf(&b, "; slow attempts spent +%s in %s, fast ones %s",
				   diag_secs(A, best_extra), named_what(A, best),
				   diag_secs(A, best->fast / (double)nfast));
		} else if (p->nby_call && p->by_call[0].value > 0) {
			/* calls[0] is by_call[0] (sorted above) */
			buf_printf(&b, "; slow attempts spent +%s in %s, fast ones %s",
				   diag_secs(A, p->by_call[0].value), named_what(A, &calls[0]),
				   diag_secs(A, calls[0].fast / (double)nfast));
		} else if (any_trace && nslow && nfast) {
			double cpu = cat_slow[FH_CAT_COUNT] / (double)nslow -
				     cat_fast[FH_CAT_COUNT] / (double)nfast;
			buf_printf(&b, "; slow attempts spent +%s on CPU", diag_secs(A, cpu));
		}
		buf_puts(&b, ".");
		p->summary = arena_strdup(A, buf_str(&b));
		buf_free(&b);
	}
out:
	if (!p->nby_category)
		for (int k = 0; k < FH_CAT_COUNT; k++)
			p->by_category[p->nby_category++] = (struct fh_named_value){ fh_category_names[k], 0 };
	if (!p->by_call)
		p->by_call = arena_alloc(A, sizeof(*p->by_call));
	free(calls);
	free(mains);
}
