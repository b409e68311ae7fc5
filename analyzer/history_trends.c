/* SPDX-License-Identifier: MIT */
/*
 * Reading the history into trends (definitions in history.h): a test's CSV rows (hostile:
 * corrupt rows are skipped with a warning) and this run's attempts accumulate per run, host,
 * branch, week and failure location; hist_acc_finish() turns them into test->hist.
 */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "history_int.h"
#include "hmap.h"
#include "stages.h"
#include "numfmt.h"
#include "history_seed.h"

/* Columns the reader needs. */
enum { C_RUN, C_TS, C_HOST, C_BRANCH, C_NODEID, C_PARAM, C_ATTEMPT, C_OUTCOME, C_FFUNC, C_FFILE,
	C_FLINE, C_ISOLATE, C_DUR, C_COMMIT, C_NEED };
static const char *const needed[C_NEED] = {
	"run_id", "timestamp_utc", "hostname", "git_branch", "nodeid", "param_id", "attempt",
	"outcome", "failure_function", "failure_file", "failure_line", "isolate", "duration_s",
	"git_commit",
};

#define MAX_LOCATIONS 10
#define TREND_WINDOW 10

/* "2026-11-23T..." -> "2026-W48"; "" when the timestamp is not ISO 8601. */
static void iso_week(const char *ts, char out[16])
{
	struct tm tm = { 0 };
	time_t t;

	out[0] = '\0';
	if (!ts || sscanf(ts, "%4d-%2d-%2d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday) != 3)
		return;
	if (tm.tm_year < 1970 || tm.tm_year > 9999 || tm.tm_mon < 1 || tm.tm_mon > 12 ||
	    tm.tm_mday < 1 || tm.tm_mday > 31)
		return;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	tm.tm_hour = 12;
	t = timegm(&tm);
	if (t == (time_t)-1 || !gmtime_r(&t, &tm))
		return;
	strftime(out, 16, "%G-W%V", &tm);
}

/* ---- accumulating trends ---- */

struct fh_hist_acc;

struct acc_group {
	char *key;
	char *last_run;   /* for counting distinct runs */
	int runs, attempts, failed;
};

struct group_list {
	struct acc_group *g;
	size_t n, cap;
	struct hmap idx;        /* key -> index into g */
};

struct acc_run {
	char *run_id, *timestamp, *host, *branch;
	char week[16];
	int attempts, failed;
	bool isolate;           /* any row of the run says --fh-isolate */
	char *commit;           /* its first row's git commit ("" unknown) */
	double *dur;            /* durations of passing attempts (the regression), bounded */
	size_t ndur, cdur;
};
#define MAX_RUN_DURATIONS 1000

struct fh_hist_acc {
	char *nodeid;
	struct buf *warn;       /* collects warnings (one per line) instead of printing them */
	struct acc_run *runs;
	size_t nruns, cap;
	struct hmap run_idx;    /* run id -> index into runs */
	struct group_list host, branch, week, loc;
	int total_attempts, total_failed, skipped_rows;
	long long left_out_rows;
};

struct fh_hist_acc *hist_acc_new(const char *nodeid)
{
	struct fh_hist_acc *acc = xcalloc(1, sizeof(*acc));

	acc->nodeid = xstrdup(nodeid);
	return acc;
}

void hist_acc_set_warn(struct fh_hist_acc *acc, struct buf *warn)
{
	acc->warn = warn;
}

void hist_acc_set_left_out(struct fh_hist_acc *acc, long long rows)
{
	acc->left_out_rows = rows;
}

void hist_acc_warn(struct fh_hist_acc *acc, const char *fmt, ...)
{
	va_list ap;
	char line[1024];

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (acc->warn)
		buf_printf(acc->warn, "%s\n", line);
	else
		warning("%s", line);
}

static struct acc_group *group(struct group_list *l, const char *key)
{
	struct hmap_slot *slot;
	bool added;

	if (l->n && !strcmp(l->g[l->n - 1].key, key))
		return &l->g[l->n - 1];
	slot = hmap_str(&l->idx, key, true, &added);
	if (!added)
		return &l->g[slot->val];
	GROW(l->g, l->cap, l->n + 1);
	memset(&l->g[l->n], 0, sizeof(l->g[l->n]));
	l->g[l->n].key = xstrdup(key);
	slot->key = l->g[l->n].key;
	slot->val = l->n;
	return &l->g[l->n++];
}

static void group_count(struct group_list *l, const char *key, const char *run_id, bool failed)
{
	struct acc_group *g = group(l, key);

	if (!g->last_run || strcmp(g->last_run, run_id)) {
		free(g->last_run);
		g->last_run = xstrdup(run_id);
		g->runs++;
	}
	g->attempts++;
	g->failed += failed;
}

static void acc_row(struct fh_hist_acc *acc, const char *run_id, const char *ts, const char *host,
		    const char *branch, bool isolate, enum fh_outcome outcome, const char *ffile,
		    int fline, const char *ffunc, double dur, const char *commit)
{
	struct acc_run *r = acc->nruns ? &acc->runs[acc->nruns - 1] : NULL;
	bool failed = outcome == FH_FAILED || outcome == FH_ERROR;

	if (!r || strcmp(r->run_id, run_id)) {
		bool added;
		struct hmap_slot *slot = hmap_str(&acc->run_idx, run_id, true, &added);

		r = added ? NULL : &acc->runs[slot->val];
		if (!r) {
			GROW(acc->runs, acc->cap, acc->nruns + 1);
			slot->val = acc->nruns;
			r = &acc->runs[acc->nruns++];
			memset(r, 0, sizeof(*r));
			r->run_id = xstrdup(run_id);
			slot->key = r->run_id;
			r->timestamp = xstrdup(ts);
			r->host = xstrdup(host);
			r->branch = xstrdup(branch);
			r->commit = xstrdup(commit ? commit : "");
			iso_week(ts, r->week);
		}
	}
	r->isolate |= isolate;
	if (outcome == FH_SKIPPED)
		return;
	if (outcome == FH_PASSED && dur >= 0 && dur < 1e7 && r->ndur < MAX_RUN_DURATIONS) {
		GROW(r->dur, r->cdur, r->ndur + 1);
		r->dur[r->ndur++] = dur;
	}
	r->attempts++;
	r->failed += failed;
	acc->total_attempts++;
	acc->total_failed += failed;
	group_count(&acc->host, *host ? host : "unknown", run_id, failed);
	group_count(&acc->branch, *branch ? branch : "unknown", run_id, failed);
	group_count(&acc->week, *r->week ? r->week : "unknown", run_id, failed);
	if (failed && (*ffile || *ffunc)) {
		struct buf loc = BUF_INIT(4096);

		buf_printf(&loc, "%s:%d in %s", ffile, fline, ffunc);
		group_count(&acc->loc, buf_str(&loc), run_id, true);
		buf_free(&loc);
	}
}

/* Rows to leave out while reading: the run's own (its run id, or a source's) are added from
 * the model instead; found[i] records that source i's rows are already in the file (then they
 * are not appended again). */
static bool skip_row(const struct skip_set *sk, const char *run_id)
{
	if (sk->one)
		return !strcmp(sk->one, run_id);
	if (!sk->run)
		return false;
	for (size_t i = 0; i < sk->run->nsources; i++) {
		const char *id = sk->run->sources[i].meta.run_id;

		if (id && !strcmp(id, run_id)) {
			if (sk->found)
				sk->found[i] = true;
			return true;
		}
	}
	return run_is_own_id(sk->run, run_id);
}


int hist_acc_add_buffer(struct fh_hist_acc *acc, const char *name, const char *data, size_t len,
			const char *skip_run_id)
{
	struct skip_set sk = { skip_run_id, NULL, NULL };

	return hist_add_buffer(acc, name, data, len, &sk);
}

int hist_add_buffer(struct fh_hist_acc *acc, const char *name, const char *data, size_t len,
		    const struct skip_set *sk)
{
	struct fh_csv c;
	int idx[C_NEED], used = 0, r;
	size_t ncols, i, k;

	/* Header row: find the columns by name. */
	csv_init(&c, data, len);
	r = csv_row(&c);
	if (r <= 0) {
		if (r < 0) {
			hist_acc_warn(acc, "%s:1: unterminated quote in the header; file skipped", name);
			acc->skipped_rows++;
		}
		goto out;
	}
	ncols = c.ncells;
	for (k = 0; k < C_NEED; k++) {
		idx[k] = -1;
		for (i = 0; i < c.ncells; i++)
			if (!strcmp(csv_cell(&c, (int)i), needed[k]))
				idx[k] = (int)i;
	}
	if (idx[C_RUN] < 0 || idx[C_OUTCOME] < 0 || idx[C_ATTEMPT] < 0) {
		hist_acc_warn(acc, "%s:1: not a flakehunter history header; file skipped", name);
		acc->skipped_rows++;
		goto out;
	}
	while ((r = csv_row(&c)) != 0) {
		const char *why, *nodeid;
		bool blank;
		enum fh_outcome outcome = FH_PASSED;
		long num;
		int fline = 0;

		why = csv_row_problem(&c, r, ncols, &blank);
		if (blank)
			continue;
		if (!why) {
			if (!*csv_cell(&c, idx[C_RUN]))
				why = "empty run_id";
			else if (!parse_uint(csv_cell(&c, idx[C_ATTEMPT]), &num) || num < 1)
				why = "bad attempt number";
			else if (!fh_outcome_parse(csv_cell(&c, idx[C_OUTCOME]), &outcome))
				why = "unknown outcome";
			else if (idx[C_NODEID] >= 0 && (nodeid = csv_cell(&c, idx[C_NODEID]), *nodeid) &&
				 strcmp(nodeid, acc->nodeid))
				why = "row of another test";
		}
		if (why) {
			hist_acc_warn(acc, "%s:%u: corrupt history row (%s); skipped", name, c.line, why);
			acc->skipped_rows++;
			if (r < 0 || c.ncells != ncols)
				csv_resync(&c);
			continue;
		}
		if (skip_row(sk, csv_cell(&c, idx[C_RUN])))
			continue;
		if (parse_uint(csv_cell(&c, idx[C_FLINE]), &num))
			fline = (int)num;
		{
			const char *ds = csv_cell(&c, idx[C_DUR]);
			char *end = NULL;
			double dur = -1;

			if (*ds && !parse_decimal_fast(ds, &dur)) {
				dur = strtod(ds, &end);
				if (!end || *end || !(dur >= 0)) /* not a number: no duration */
					dur = -1;
			}
			acc_row(acc, csv_cell(&c, idx[C_RUN]), csv_cell(&c, idx[C_TS]),
				csv_cell(&c, idx[C_HOST]), csv_cell(&c, idx[C_BRANCH]),
				!strcmp(csv_cell(&c, idx[C_ISOLATE]), "true"), outcome,
				csv_cell(&c, idx[C_FFILE]), fline, csv_cell(&c, idx[C_FFUNC]), dur,
				csv_cell(&c, idx[C_COMMIT]));
		}
		used++;
	}
out:
	csv_free(&c);
	return used;
}

void hist_acc_add_run(struct fh_hist_acc *acc, const struct fh_run *run, const struct fh_test *t)
{
	const struct fh_run_meta *m = &run->meta;
	size_t i;

	for (i = 0; i < t->nattempts; i++) {
		const struct fh_attempt *a = &t->attempts[i];
		const struct fh_frame *f = a->nframes ? &a->frames[a->nframes - 1] : NULL;

		m = hist_meta_of(run, a);
		acc_row(acc, m->run_id, m->started_utc ? m->started_utc : "", m->host ? m->host : "",
			m->branch ? m->branch : "", m->isolate, a->outcome, f ? f->path : "", f ? f->line : 0,
			f ? f->function : "", a->xfail ? -1 : a->duration_s, m->commit);
	}
	if (!t->nattempts)
		acc_row(acc, m->run_id, m->started_utc ? m->started_utc : "", m->host ? m->host : "",
			m->branch ? m->branch : "", m->isolate, FH_SKIPPED, "", 0, "", -1, m->commit);
}

static int cmp_loc(const void *a, const void *b)
{
	const struct fh_hist_group *x = a, *y = b;

	if (x->failed != y->failed)
		return x->failed > y->failed ? -1 : 1;
	return strcmp(x->key, y->key);
}

static void to_groups(struct arena *ar, struct group_list *l, struct fh_hist_group **out,
		      size_t *nout)
{
	size_t i;

	*out = arena_alloc(ar, (l->n ? l->n : 1) * sizeof(**out));
	*nout = l->n;
	for (i = 0; i < l->n; i++) {
		(*out)[i].key = arena_strdup(ar, l->g[i].key);
		(*out)[i].runs = l->g[i].runs;
		(*out)[i].attempts = l->g[i].attempts;
		(*out)[i].failed = l->g[i].failed;
		free(l->g[i].key);
		free(l->g[i].last_run);
	}
	free(l->g);
	hmap_free(&l->idx);
}

static const char *trend(const struct fh_history *h)
{
	double xs = 0, ys = 0, xx = 0, xy = 0, slope;
	size_t i, n = 0;
	double rate[TREND_WINDOW];

	for (i = h->nruns; i-- > 0 && n < TREND_WINDOW;)
		if (h->runs[i].attempts)
			rate[n++] = (double)h->runs[i].failed / h->runs[i].attempts;
	if (n < 3)
		return "n/a";
	/* rate[] is newest first; x runs oldest (0) to newest (n-1). */
	for (i = 0; i < n; i++) {
		double x = (double)(n - 1 - i), y = rate[i];

		xs += x;
		ys += y;
		xx += x * x;
		xy += x * y;
	}
	slope = (n * xy - xs * ys) / (n * xx - xs * xs);
	if (slope * (double)(n - 1) >= 0.05)
		return "rising";
	if (slope * (double)(n - 1) <= -0.05)
		return "falling";
	return "flat";
}

/* Runs in time order: by the timestamp of each run (ISO 8601 UTC sorts as text), a run without
 * a usable one taking its predecessor's, ties in file order. Rows imported from
 * pytest-flakehunter, or a merged run's sources, may be appended after newer runs. */
struct run_order {
	const char *key;
	size_t pos;
};

static int cmp_run_order(const void *a, const void *b)
{
	const struct run_order *x = a, *y = b;
	int c = strcmp(x->key, y->key);

	if (c)
		return c;
	return x->pos < y->pos ? -1 : x->pos > y->pos;
}

static bool iso_like(const char *ts)
{
	for (int i = 0; i < 10; i++)
		if (i == 4 || i == 7 ? ts[i] != '-' : !(ts[i] >= '0' && ts[i] <= '9'))
			return false;
	return true;
}

static void time_order(struct fh_hist_acc *acc)
{
	struct run_order *o;
	struct acc_run *sorted;
	const char *prev = "";
	size_t i;

	if (acc->nruns < 2)
		return;
	o = xmalloc(acc->nruns * sizeof(*o));
	for (i = 0; i < acc->nruns; i++) {
		if (iso_like(acc->runs[i].timestamp))
			prev = acc->runs[i].timestamp;
		o[i].key = prev;
		o[i].pos = i;
	}
	qsort(o, acc->nruns, sizeof(*o), cmp_run_order);
	sorted = xmalloc(acc->nruns * sizeof(*sorted));
	for (i = 0; i < acc->nruns; i++)
		sorted[i] = acc->runs[o[i].pos];
	free(acc->runs);
	acc->runs = sorted;
	acc->cap = acc->nruns;
	free(o);
}

void hist_acc_finish(struct fh_hist_acc *acc, struct fh_run *run, struct fh_test *t)
{
	struct arena *ar = &run->arena;
	struct fh_history *h = arena_alloc(ar, sizeof(*h));
	size_t i, first;

	time_order(acc); /* the run index is not used after this */
	first = acc->nruns > FH_HISTORY_MAX_RUNS ? acc->nruns - FH_HISTORY_MAX_RUNS : 0;
	h->nruns = acc->nruns - first;
	h->runs = arena_alloc(ar, (h->nruns ? h->nruns : 1) * sizeof(*h->runs));
	for (i = 0; i < acc->nruns; i++) {
		struct acc_run *r = &acc->runs[i];

		if (i < first) {
			free(r->run_id);
			free(r->timestamp);
			free(r->host);
			free(r->branch);
			free(r->commit);
			free(r->dur);
			continue;
		}
		{
			struct fh_hist_run *hr = &h->runs[i - first];
			double *d = arena_alloc(ar, sizeof(double) * (r->ndur + 1));

			if (r->ndur)
				memcpy(d, r->dur, sizeof(double) * r->ndur);
			hr->durations = d;
			hr->ndurations = r->ndur;
			hr->median_s = r->ndur ? fh_median(r->dur, r->ndur) : -1;
			hr->commit = *r->commit ? arena_strdup(ar, r->commit) : NULL;
			free(r->commit);
			free(r->dur);
		}

		h->runs[i - first].run_id = arena_strdup(ar, r->run_id);
		h->runs[i - first].timestamp = arena_strdup(ar, r->timestamp);
		h->runs[i - first].host = arena_strdup(ar, r->host);
		h->runs[i - first].branch = arena_strdup(ar, r->branch);
		h->runs[i - first].week = arena_strdup(ar, r->week);
		h->runs[i - first].attempts = r->attempts;
		h->runs[i - first].failed = r->failed;
		h->runs[i - first].isolate = r->isolate;
		free(r->run_id);
		free(r->timestamp);
		free(r->host);
		free(r->branch);
	}
	free(acc->runs);
	hmap_free(&acc->run_idx);
	to_groups(ar, &acc->host, &h->by_host, &h->nby_host);
	to_groups(ar, &acc->branch, &h->by_branch, &h->nby_branch);
	to_groups(ar, &acc->week, &h->by_week, &h->nby_week);
	to_groups(ar, &acc->loc, &h->locations, &h->nlocations);
	qsort(h->locations, h->nlocations, sizeof(*h->locations), cmp_loc);
	if (h->nlocations > MAX_LOCATIONS)
		h->nlocations = MAX_LOCATIONS;
	h->total_attempts = acc->total_attempts;
	h->total_failed = acc->total_failed;
	h->skipped_rows = acc->skipped_rows;
	h->left_out_rows = acc->left_out_rows;
	h->trend = trend(h);
	t->hist = h;
	free(acc->nodeid);
	free(acc);
}

/* ---- the parameter sets of sibling tests ---- */

static int cmp_by_func(const void *a, const void *b)
{
	const struct fh_test *x = *(struct fh_test *const *)a, *y = *(struct fh_test *const *)b;
	int c = strcmp(x->file, y->file);

	return c ? c : strcmp(x->function, y->function);
}

static int cmp_params(const void *a, const void *b)
{
	const struct fh_hist_group *x = a, *y = b;
	double rx = x->attempts ? (double)x->failed / x->attempts : 0;
	double ry = y->attempts ? (double)y->failed / y->attempts : 0;

	if (rx != ry)
		return rx > ry ? -1 : 1;
	return strcmp(x->key, y->key);
}

void hist_fill_params(struct fh_run *run)
{
	struct fh_test **order = xmalloc((run->ntests ? run->ntests : 1) * sizeof(*order));
	size_t i, j, k;

	for (i = 0; i < run->ntests; i++)
		order[i] = &run->tests[i];
	qsort(order, run->ntests, sizeof(*order), cmp_by_func);
	for (i = 0; i < run->ntests; i = j) {
		struct fh_hist_group *g;
		size_t n;

		for (j = i + 1; j < run->ntests && !cmp_by_func(&order[i], &order[j]); j++)
			;
		n = j - i;
		if (n == 1 && !order[i]->param_id)
			continue;
		g = arena_alloc(&run->arena, n * sizeof(*g));
		for (k = 0; k < n; k++) {
			const struct fh_test *t = order[i + k];

			g[k].key = t->param_id ? t->param_id : "";
			g[k].runs = t->hist ? (int)t->hist->nruns : 0;
			g[k].attempts = t->hist ? t->hist->total_attempts : 0;
			g[k].failed = t->hist ? t->hist->total_failed : 0;
		}
		qsort(g, n, sizeof(*g), cmp_params);
		for (k = 0; k < n; k++) {
			if (order[i + k]->hist) {
				order[i + k]->hist->by_params = g;
				order[i + k]->hist->nby_params = n;
			}
		}
	}
	free(order);
}
