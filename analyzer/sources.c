/* SPDX-License-Identifier: MIT */
/*
 * Merged runs in the model (sources.h): loading MERGED/sources/<id>/, the per-source evidence
 * join, renumbering attempts across sources and the per-host counts of every test.
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

#include <cjson/cJSON.h>

#include "quarantine.h"
#include "records.h"
#include "stages.h"

#define JOINED_MAX 240 /* bytes of a joined list of hosts or versions in run->meta */

bool sources_is_merged(const char *dir)
{
	struct buf p = BUF_INIT(PATH_MAX);
	struct stat st;
	bool yes;

	buf_printf(&p, "%s/sources", dir);
	yes = !p.failed && stat(buf_str(&p), &st) == 0 && S_ISDIR(st.st_mode);
	buf_free(&p);
	return yes;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The merged meta.json: its run id, and the source ids it lists (to name missing ones). */
static void merged_meta(struct fh_run *run, char ***ids, size_t *nids)
{
	struct buf path = BUF_INIT(PATH_MAX);
	const cJSON *v, *it;
	size_t len, cap = 0;
	char *data;
	cJSON *root;
	int r;

	*ids = NULL;
	*nids = 0;
	buf_printf(&path, "%s/meta.json", run->run_dir);
	r = read_file(buf_str(&path), 16 << 20, &data, &len);
	if (r) {
		if (r != -ENOENT)
			warning("%s: cannot read: %s", buf_str(&path), strerror(-r));
		buf_free(&path);
		return;
	}
	root = cJSON_ParseWithLength(data, len);
	free(data);
	if (!cJSON_IsObject(root)) {
		warning("%s:1: not a JSON object; run id from the directory name", buf_str(&path));
		cJSON_Delete(root);
		buf_free(&path);
		return;
	}
	v = cJSON_GetObjectItemCaseSensitive(root, "run_id");
	if (cJSON_IsString(v) && v->valuestring[0] && strlen(v->valuestring) < 256)
		run->meta.run_id = arena_strdup(&run->arena, v->valuestring);
	v = cJSON_GetObjectItemCaseSensitive(root, "sources");
	if (!cJSON_IsArray(v))
		v = NULL;
	cJSON_ArrayForEach(it, v) {
		const cJSON *id = cJSON_GetObjectItemCaseSensitive(it, "id");

		if (!cJSON_IsString(id) || *nids >= 100000)
			continue;
		GROW(*ids, cap, *nids + 1);
		(*ids)[(*nids)++] = xstrdup(id->valuestring);
	}
	cJSON_Delete(root);
	buf_free(&path);
}

/* Directory names under sources/ (sorted); names starting with '.' are copies in progress. */
static int list_sources(const char *dir, char ***names, size_t *n)
{
	struct buf path = BUF_INIT(PATH_MAX);
	struct dirent *de;
	size_t cap = 0;
	DIR *d;

	*names = NULL;
	*n = 0;
	buf_printf(&path, "%s/sources", dir);
	d = opendir(buf_str(&path));
	if (!d) {
		int e = errno;

		buf_free(&path);
		return -e;
	}
	while ((de = readdir(d))) {
		struct stat st;
		size_t base;

		if (de->d_name[0] == '.')
			continue;
		base = path.len;
		buf_printf(&path, "/%s", de->d_name);
		if (stat(buf_str(&path), &st) == 0 && S_ISDIR(st.st_mode)) {
			GROW(*names, cap, *n + 1);
			(*names)[(*n)++] = xstrdup(de->d_name);
		}
		path.len = base;
		path.data[base] = '\0';
	}
	closedir(d);
	buf_free(&path);
	if (*n)
		qsort(*names, *n, sizeof(**names), cmp_str);
	return 0;
}

/* The distinct non-empty values of one meta field over the sources, joined with ", " (capped),
 * or NULL when there is none. *count gets how many distinct values there are. */
static const char *joined(struct fh_run *run, size_t off, int *count)
{
	const char **vals = xcalloc(run->nsources + 1, sizeof(*vals));
	struct buf b = BUF_INIT(1 << 16);
	size_t n = 0, i, k, shown = 0;
	const char *out = NULL;

	for (i = 0; i < run->nsources; i++) {
		const char *v = *(const char *const *)((const char *)&run->sources[i].meta + off);

		if (!v || !*v)
			continue;
		for (k = 0; k < n && strcmp(vals[k], v); k++)
			;
		if (k == n)
			vals[n++] = v;
	}
	qsort(vals, n, sizeof(*vals), cmp_str);
	for (i = 0; i < n; i++) {
		if (b.len + strlen(vals[i]) > JOINED_MAX) {
			buf_printf(&b, " and %zu more", n - shown);
			break;
		}
		if (i)
			buf_puts(&b, ", ");
		buf_puts(&b, vals[i]);
		shown++;
	}
	if (n)
		out = arena_strdup(&run->arena, buf_str(&b));
	*count = (int)n;
	buf_free(&b);
	free(vals);
	return out;
}

#define META_OFF(field) offsetof(struct fh_run_meta, field)

/* run->meta of a merged run from its sources' metas (run_id is already set). */
static void aggregate_meta(struct fh_run *run)
{
	struct fh_run_meta *m = &run->meta;
	int n;

	m->started_utc = "";
	m->isolate = run->nsources > 0;
	m->runs_mode = "fixed";
	m->fail_on = NULL;
	m->order_mode = "back-to-back";
	m->order_seed = -1;
	for (size_t i = 0; i < run->nsources; i++) {
		const struct fh_run_meta *s = &run->sources[i].meta;

		if (s->started_utc && *s->started_utc &&
		    (!*m->started_utc || strcmp(s->started_utc, m->started_utc) < 0))
			m->started_utc = s->started_utc;
		if (s->runs_per_test > m->runs_per_test)
			m->runs_per_test = s->runs_per_test;
		m->isolate &= s->isolate;
		m->xdist |= s->xdist;
		m->tracing |= s->tracing;
		m->dirty |= s->dirty;
		if (!i || s->cpu_count < m->cpu_count)
			m->cpu_count = s->cpu_count; /* the smallest machine: what a CPU flake meets */
		if (!i || s->ram_bytes < m->ram_bytes)
			m->ram_bytes = s->ram_bytes;
		/* Options: adaptive when any shard was, the largest cap and budget, the one exit
		 * policy the shards shared (else the strictest, "any"). */
		if (s->runs_mode && !strcmp(s->runs_mode, "auto"))
			m->runs_mode = "auto";
		if (s->max_runs > m->max_runs)
			m->max_runs = s->max_runs;
		if (s->budget_s > m->budget_s)
			m->budget_s = s->budget_s;
		if (!i)
			m->fail_on = s->fail_on;
		else if (!m->fail_on || !s->fail_on || strcmp(m->fail_on, s->fail_on))
			m->fail_on = "any";
		/* rounds when any shard ran rounds; the seed only when they all shared one */
		if (s->order_mode && !strcmp(s->order_mode, "rounds")) {
			m->order_seed = !strcmp(m->order_mode ? m->order_mode : "", "rounds") &&
				m->order_seed != s->order_seed ? -1 : s->order_seed;
			m->order_mode = "rounds";
		}
	}
	if (!m->fail_on)
		m->fail_on = "any";
	m->host = joined(run, META_OFF(host), &n);
	m->os = joined(run, META_OFF(os), &n);
	m->python = joined(run, META_OFF(python), &n);
	m->pytest = joined(run, META_OFF(pytest), &n);
	m->plugin_version = joined(run, META_OFF(plugin_version), &n);
	/* A branch, commit or rootdir names the run only when every source agrees. */
	m->branch = joined(run, META_OFF(branch), &n);
	if (n != 1)
		m->branch = NULL;
	m->commit = joined(run, META_OFF(commit), &n);
	if (n != 1)
		m->commit = NULL;
	m->rootdir = joined(run, META_OFF(rootdir), &n);
	if (n != 1)
		m->rootdir = NULL;
	if (!m->host)
		m->host = "";
	if (!m->os)
		m->os = "";
	if (!m->python)
		m->python = "";
	if (!m->pytest)
		m->pytest = "";
	if (!m->plugin_version)
		m->plugin_version = "";
}

int sources_load(struct fh_run *run)
{
	struct fh_records *rec;
	char **names = NULL, **listed = NULL;
	size_t n = 0, nlisted = 0, i, k;
	struct buf dir = BUF_INIT(PATH_MAX);
	int r;

	run->merged = true;
	/* The merged meta.json reads as a run's (run id, or the directory name without one); the
	 * rest of run->meta is rebuilt from the sources below. */
	meta_load_dir(run, run->run_dir, &run->meta);
	merged_meta(run, &listed, &nlisted);
	r = list_sources(run->run_dir, &names, &n);
	if (r < 0) {
		for (k = 0; k < nlisted; k++)
			free(listed[k]);
		free(listed);
		return error("cannot list '%s/sources': %s", run->run_dir, strerror(-r));
	}
	for (k = 0; k < nlisted; k++) {
		if (!bsearch(&listed[k], names, n, sizeof(*names), cmp_str))
			warning("%s/meta.json: source '%s' is listed but %s/sources/%s is missing; "
				"its attempts are not in this report", run->run_dir, listed[k],
				run->run_dir, listed[k]);
		free(listed[k]);
	}
	free(listed);

	run->sources = arena_alloc(&run->arena, (n ? n : 1) * sizeof(*run->sources));
	rec = records_begin(run);
	for (i = 0; i < n; i++) {
		struct fh_source *s = &run->sources[run->nsources];
		int nfiles;

		buf_reset(&dir);
		buf_printf(&dir, "%s/sources/%s", run->run_dir, names[i]);
		s->id = arena_strdup(&run->arena, names[i]);
		s->dir = arena_strdup(&run->arena, buf_str(&dir));
		meta_load_dir(run, s->dir, &s->meta);
		nfiles = records_add_dir(rec, s->dir, (int)run->nsources);
		if (nfiles < 0)
			warning("%s: cannot read: %s; source skipped", s->dir, strerror(-nfiles));
		else if (!nfiles)
			warning("%s: no attempts-*.jsonl records", s->dir);
		run->nsources++;
		free(names[i]);
	}
	free(names);
	buf_free(&dir);
	records_finish(rec);
	for (i = 0; i < run->ntests; i++)
		for (k = 0; k < run->tests[i].nattempts; k++)
			run->sources[run->tests[i].attempts[k].source].attempts++;
	if (!run->nsources) {
		/* Still a run: an empty report says so rather than failing. */
		warning("%s: merged run directory without sources", run->run_dir);
		run->sources = arena_alloc(&run->arena, sizeof(*run->sources));
		run->sources[0].id = "";
		run->sources[0].dir = run->run_dir;
		run->sources[0].meta = run->meta;
		run->nsources = 1;
		return 0;
	}
	{
		const char *id = run->meta.run_id;

		aggregate_meta(run);
		run->meta.run_id = id;
	}
	return 0;
}

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
		has = !p.failed && stat(buf_str(&p), &st) == 0;
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

const char *attempt_host(const struct fh_run *run, const struct fh_attempt *a)
{
	const char *h;

	if (a->source < 0 || (size_t)a->source >= run->nsources)
		return "";
	h = run->sources[a->source].meta.host;
	return h ? h : "";
}

bool run_is_own_id(const struct fh_run *run, const char *run_id)
{
	if (!run_id)
		return false;
	if (run->meta.run_id && !strcmp(run->meta.run_id, run_id))
		return true;
	for (size_t i = 0; run->merged && i < run->nsources; i++)
		if (run->sources[i].meta.run_id && !strcmp(run->sources[i].meta.run_id, run_id))
			return true;
	return false;
}

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
		if (a->outcome == FH_SKIPPED)
			continue;
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
