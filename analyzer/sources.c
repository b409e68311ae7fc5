/* SPDX-License-Identifier: MIT */
/*
 * Merged runs in the pipeline (sources.h): the per-source evidence join, renumbering attempts
 * across sources and the per-host counts of every test (loading MERGED/sources/<id>/ is the
 * core's: rundir.c).
 *
 * The per-source join reuses evidence_attach() unchanged: it is given a view of the run that
 * holds one source's directory, meta and attempts. Attempts are sorted by source first
 * (records.c), so a source's attempts of a test are one contiguous slice of the test's array and
 * the view points into the model itself: what the join writes lands in place. An attempt the
 * join adds (its process died before recording it) makes it allocate a new array for the view's
 * test; that array is spliced back into the real test afterwards.
 */
#include "sources.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "chaos_rec.h"
#include "quarantine.h"
#include "records.h"
#include "stages.h"

/* ---- quarantine ---- */

int sources_quarantine(struct fh_run *run)
{
	const char *dir = run->run_dir;
	int r = 0;

	if (!run->merged)
		return quarantine_load(run);
	/* The shards of one CI run hunt with one quarantine file: the first source (in id order)
	 * that used one gives the marks. */
	for (size_t i = 0; i < run->nsources; i++) {
		struct buf p = BUF_INIT(PATH_MAX);
		struct stat st;
		bool has;

		buf_printf(&p, "%s/quarantine.json", run->sources[i].dir);
		has = !buf_failed(&p) && stat(buf_str(&p), &st) == 0;
		buf_free(&p);
		if (!has)
			continue;
		run->run_dir = run->sources[i].dir;
		r = quarantine_load(run);
		run->run_dir = dir;
		break;
	}
	return r;
}

/* ---- the evidence, source by source ---- */

/* The slice [*lo, *hi) of t's attempts that came from source s (attempts are grouped by
 * source, in source order). */
static void slice_of(const struct fh_test *t, int s, size_t *lo, size_t *hi)
{
	size_t i = 0;

	while (i < t->nattempts && t->attempts[i].source < s)
		i++;
	*lo = i;
	while (i < t->nattempts && t->attempts[i].source == s)
		i++;
	*hi = i;
}

struct test_ref {
	const char *nodeid; /* the model's pointer: shared by the view's copy of the test */
	size_t index;
};

static int cmp_ref(const void *a, const void *b)
{
	const struct test_ref *x = a, *y = b;

	return x->nodeid < y->nodeid ? -1 : x->nodeid > y->nodeid;
}

/* Puts the view's attempts of test vt back into the model's test t (only when the join added
 * attempts: the view's array is then a new one). */
static void splice(struct fh_run *run, struct fh_test *t, const struct fh_test *vt, int s,
		   bool *grew)
{
	size_t lo, hi, n;
	struct fh_attempt *arr;

	slice_of(t, s, &lo, &hi);
	if (vt->attempts == t->attempts + lo && vt->nattempts == hi - lo)
		return;
	n = t->nattempts - (hi - lo) + vt->nattempts;
	arr = arena_alloc(&run->arena, (n ? n : 1) * sizeof(*arr));
	memcpy(arr, t->attempts, lo * sizeof(*arr));
	memcpy(arr + lo, vt->attempts, vt->nattempts * sizeof(*arr));
	memcpy(arr + lo + vt->nattempts, t->attempts + hi, (t->nattempts - hi) * sizeof(*arr));
	for (size_t k = lo; k < lo + vt->nattempts; k++) {
		arr[k].source = s;
		if (arr[k].source_attempt <= 0)
			arr[k].source_attempt = arr[k].attempt;
	}
	t->attempts = arr;
	t->nattempts = n;
	*grew = true;
}

static int join_source(struct fh_run *run, int s, struct test_ref *refs, bool *grew)
{
	struct fh_source *src = &run->sources[s];
	struct fh_run view;
	int r;

	memset(&view, 0, sizeof(view));
	view.run_dir = src->dir;
	view.meta = src->meta;
	view.history_enabled = run->history_enabled;
	view.ai_requested = run->ai_requested;
	view.ntests = run->ntests;
	view.tests = xcalloc(run->ntests ? run->ntests : 1, sizeof(*view.tests));
	for (size_t i = 0; i < run->ntests; i++) {
		size_t lo, hi;

		view.tests[i] = run->tests[i];
		slice_of(&run->tests[i], s, &lo, &hi);
		view.tests[i].attempts = run->tests[i].attempts + lo;
		view.tests[i].nattempts = hi - lo;
	}
	r = evidence_attach(&view);
	src->meta.tracing = view.meta.tracing;
	/* The run-level totals the join fills: every source's add up. */
	run->trace_events += view.trace_events;
	run->trace_dropped += view.trace_dropped;
	run->trace_drop_procs += view.trace_drop_procs;
	run->trace_maps_incomplete += view.trace_maps_incomplete;
	for (unsigned k = 0; k < FH_DROP_REASONS; k++) {
		run->trace_drops[k] += view.trace_drops[k];
		run->trace_map_reasons[k] += view.trace_map_reasons[k];
	}
	/* The join may have reordered the view's tests (it recomputes them after adding an
	 * attempt): find each one's model test by its nodeid pointer. */
	for (size_t i = 0; i < view.ntests; i++) {
		struct test_ref key = { view.tests[i].nodeid, 0 }, *ref;

		ref = bsearch(&key, refs, run->ntests, sizeof(*refs), cmp_ref);
		if (ref)
			splice(run, &run->tests[ref->index], &view.tests[i], s, grew);
	}
	arena_adopt(&run->arena, &view.arena);
	free(view.tests);
	return r;
}

int sources_evidence(struct fh_run *run)
{
	struct test_ref *refs;
	bool grew = false, tracing = false;
	int ret = 0;

	if (!run->merged) {
		ret = evidence_attach(run);
		if (run->nsources == 1)
			run->sources[0].meta.tracing = run->meta.tracing;
		return ret;
	}
	refs = xcalloc(run->ntests ? run->ntests : 1, sizeof(*refs));
	for (size_t i = 0; i < run->ntests; i++)
		refs[i] = (struct test_ref){ run->tests[i].nodeid, i };
	qsort(refs, run->ntests, sizeof(*refs), cmp_ref);
	for (size_t s = 0; s < run->nsources; s++) {
		int r = join_source(run, (int)s, refs, &grew);

		if (r && !ret)
			ret = r;
		tracing |= run->sources[s].meta.tracing;
	}
	free(refs);
	run->meta.tracing = tracing;
	if (grew) /* counts, verdicts and order include the added attempts */
		run_compute(run);
	return ret;
}

/* ---- numbering and hosts ---- */

static int cmp_host(const void *a, const void *b)
{
	const struct fh_host_stat *x = a, *y = b;

	return strcmp(x->host, y->host);
}

static void test_hosts(struct fh_run *run, struct fh_test *t)
{
	struct fh_host_stat *h = arena_alloc(&run->arena, (run->nsources + 1) * sizeof(*h));
	size_t n = 0, i, k;

	for (i = 0; i < t->nattempts; i++) {
		const struct fh_attempt *a = &t->attempts[i];
		const char *host = attempt_host(run, a);

		if (!*host)
			host = "unknown";
		for (k = 0; k < n && strcmp(h[k].host, host); k++)
			;
		if (k == n) /* hosts come from sources: at most nsources of them */
			h[n++].host = host;
		if (a->outcome == FH_SKIPPED || (a->chaos && a->chaos->perturbed))
			continue;   /* per host too, the natural rate */
		h[k].attempts++;
		h[k].failed += a->outcome == FH_FAILED || a->outcome == FH_ERROR;
	}
	for (k = 0; k < n; k++) {
		h[k].flake_rate = h[k].attempts ? (double)h[k].failed / h[k].attempts : 0;
		wilson_interval(h[k].failed, h[k].attempts, &h[k].ci_lo, &h[k].ci_hi);
	}
	qsort(h, n, sizeof(*h), cmp_host);
	t->hosts = h;
	t->nhosts = n;
}

void sources_finish(struct fh_run *run)
{
	for (size_t i = 0; i < run->ntests; i++) {
		struct fh_test *t = &run->tests[i];

		if (run->merged)
			for (size_t k = 0; k < t->nattempts; k++)
				t->attempts[k].attempt = (int)k + 1;
		test_hosts(run, t);
	}
}
