/* SPDX-License-Identifier: MIT */
/*
 * history_update(): the per-test CSV history (format and trend definitions in history.h).
 * For each test: read its CSV (hostile: corrupt rows are skipped with a warning), add this
 * run's attempts from the model, compute the trends into test->hist, and append this run's rows
 * unless RUN_DIR/history-appended says they are already there. Appends are one write() per
 * test on an O_APPEND descriptor; existing bytes are never touched (a file whose last row was
 * cut short gets a newline first, so the cut row stays a single corrupt row).
 */
#include "history.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "stages.h"
#include "summary.h"

static const char *const columns[] = {
	"run_id", "timestamp_utc", "flakehunter_version", "hostname", "os", "python_version",
	"pytest_version", "cpu_count", "ram_bytes", "git_branch", "git_commit", "git_dirty",
	"nodeid", "file", "function", "param_id", "fixtures", "runs_requested", "attempt",
	"outcome", "duration_s", "setup_s", "call_s", "teardown_s", "error_type", "error_message",
	"failure_function", "failure_file", "failure_line", "fingerprint", "failure_depth", "worker",
};
#define NCOLS ARRAY_SIZE(columns)

/* Columns the reader needs. */
enum { C_RUN, C_TS, C_HOST, C_BRANCH, C_NODEID, C_PARAM, C_ATTEMPT, C_OUTCOME, C_FFUNC, C_FFILE,
	C_FLINE, C_NEED };
static const char *const needed[C_NEED] = {
	"run_id", "timestamp_utc", "hostname", "git_branch", "nodeid", "param_id", "attempt",
	"outcome", "failure_function", "failure_file", "failure_line",
};

#define MAX_LOCATIONS 10
#define TREND_WINDOW 10

/* ---- names and times ---- */

void history_file_name(struct buf *b, const char *nodeid)
{
	size_t i, n = 0;

	for (i = 0; nodeid[i] && n < 80; i++, n++) {
		char c = nodeid[i];

		buf_putc(b, (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			    (c >= '0' && c <= '9') || c == '.' || c == '-' ? c : '_');
	}
	buf_printf(b, "-%016llx.csv",
		   (unsigned long long)fnv64(FNV64_INIT, nodeid, strlen(nodeid)));
}

/* Days since 1970-01-01 to a civil date (Howard Hinnant's algorithm). */
static void civil(long long days, int *y, int *m, int *d)
{
	long long z = days + 719468, era = (z >= 0 ? z : z - 146096) / 146097;
	unsigned doe = (unsigned)(z - era * 146097);
	unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100), mp = (5 * doy + 2) / 153;

	*d = (int)(doy - (153 * mp + 2) / 5 + 1);
	*m = (int)(mp < 10 ? mp + 3 : mp - 9);
	*y = (int)(yoe + era * 400 + (*m <= 2));
}

static void put_utc(struct buf *b, double unix_s)
{
	long long s = (long long)floor(unix_s), days = s >= 0 ? s / 86400 : (s - 86399) / 86400;
	long long sod = s - days * 86400;
	int y, m, d;

	civil(days, &y, &m, &d);
	buf_printf(b, "%04d-%02d-%02dT%02d:%02d:%02dZ", y, m, d, (int)(sod / 3600),
		   (int)(sod / 60 % 60), (int)(sod % 60));
}

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

/* ---- writing ---- */

static void cell(struct buf *b, const char *s)
{
	buf_csv_cell(b, s ? s : "");
	buf_putc(b, ',');
}

static void cell_int(struct buf *b, long long v)
{
	buf_printf(b, "%lld,", v);
}

static void cell_num(struct buf *b, double v)
{
	buf_num6(b, v);
	buf_putc(b, ',');
}

void history_rows(const struct fh_run *run, const struct fh_test *t, struct buf *b, bool header)
{
	const struct fh_run_meta *m = &run->meta;
	struct buf fixtures = BUF_INIT(1 << 16), ts = BUF_INIT(64);
	size_t i;

	if (header) {
		for (i = 0; i < NCOLS; i++) {
			buf_puts(b, columns[i]);
			buf_putc(b, i + 1 < NCOLS ? ',' : '\n');
		}
	}
	for (i = 0; i < t->nfixtures; i++) {
		if (i)
			buf_putc(&fixtures, ';');
		buf_puts(&fixtures, t->fixtures[i]);
	}
	for (i = 0; i < t->nattempts; i++) {
		const struct fh_attempt *a = &t->attempts[i];
		const struct fh_frame *f = a->nframes ? &a->frames[a->nframes - 1] : NULL;
		bool failed = a->outcome == FH_FAILED || a->outcome == FH_ERROR;

		buf_reset(&ts);
		if (a->wall_start > 0 && a->wall_start < 253402300800.0)
			put_utc(&ts, a->wall_start);
		else
			buf_puts(&ts, m->started_utc ? m->started_utc : "");
		cell(b, m->run_id);
		cell(b, buf_str(&ts));
		cell(b, m->plugin_version && *m->plugin_version ? m->plugin_version : FH_VERSION);
		cell(b, m->host);
		cell(b, m->os);
		cell(b, m->python);
		cell(b, m->pytest);
		cell_int(b, m->cpu_count);
		cell_int(b, (long long)m->ram_bytes);
		cell(b, m->branch);
		cell(b, m->commit);
		cell(b, m->branch || m->commit ? (m->dirty ? "true" : "false") : "");
		cell(b, t->nodeid);
		cell(b, t->file);
		cell(b, t->function);
		cell(b, t->param_id);
		cell(b, buf_str(&fixtures));
		cell_int(b, m->runs_per_test);
		cell_int(b, a->attempt);
		cell(b, (unsigned)a->outcome < FH_OUTCOME_COUNT ? fh_outcome_names[a->outcome] : "");
		cell_num(b, a->duration_s);
		cell_num(b, a->setup_s);
		cell_num(b, a->call_s);
		cell_num(b, a->teardown_s);
		cell(b, a->error_type);
		cell(b, a->error_message);
		cell(b, failed && f ? f->function : NULL);
		cell(b, failed && f ? f->path : NULL);
		if (failed && f)
			cell_int(b, f->line);
		else
			buf_putc(b, ',');
		cell(b, a->fingerprint);
		cell_int(b, failed ? (long long)a->nframes : 0);
		buf_csv_cell(b, a->worker);
		buf_putc(b, '\n');
	}
	buf_free(&fixtures);
	buf_free(&ts);
}

/* ---- reading: an RFC 4180 row splitter over a buffer ---- */

void csv_init(struct fh_csv *c, const char *data, size_t len)
{
	memset(c, 0, sizeof(*c));
	c->p = data;
	c->end = data + len;
	c->line = c->next_line = 1;
	buf_init(&c->cells, FH_HISTORY_MAX_FILE);
}

void csv_free(struct fh_csv *c)
{
	buf_free(&c->cells);
	free(c->off);
	c->off = NULL;
}

/* Reads one row; returns 1 with a row, 0 at the end, -1 for an unterminated quote (the rest of
 * the buffer is consumed). */
int csv_row(struct fh_csv *c)
{
	const char *p = c->p;

	if (p >= c->end)
		return 0;
	c->line = c->next_line;
	buf_reset(&c->cells);
	c->ncells = 0;
	for (;;) {
		int quoted = 0;
		size_t start = c->cells.len;

		GROW(c->off, c->cap, c->ncells + 1);
		c->off[c->ncells++] = start;
		if (p < c->end && *p == '"') {
			quoted = 1;
			p++;
			for (;;) {
				const char *q = memchr(p, '"', (size_t)(c->end - p));
				const char *nl;

				if (!q) {
					c->p = c->end;
					return -1;
				}
				for (nl = p; (nl = memchr(nl, '\n', (size_t)(q - nl))); nl++)
					c->next_line++;
				buf_add(&c->cells, p, (size_t)(q - p));
				p = q + 1;
				if (p < c->end && *p == '"') {
					buf_putc(&c->cells, '"');
					p++;
					continue;
				}
				break;
			}
			/* Anything between the closing quote and the separator is kept verbatim. */
		}
		{
			const char *s = p;

			while (p < c->end && *p != ',' && *p != '\n')
				p++;
			buf_add(&c->cells, s, (size_t)(p - s));
		}
		if (quoted && c->cells.len > start && c->cells.data[start] == '\'') {
			memmove(c->cells.data + start, c->cells.data + start + 1,
				c->cells.len - start - 1);
			c->cells.len--;
		}
		if (c->cells.len > start && c->cells.data[c->cells.len - 1] == '\r' &&
		    (p >= c->end || *p == '\n'))
			c->cells.len--;
		buf_putc(&c->cells, '\0');
		if (p >= c->end || *p == '\n') {
			if (p < c->end)
				p++;
			c->next_line++;
			c->p = p;
			return 1;
		}
		p++; /* ',' */
	}
}

const char *csv_cell(const struct fh_csv *c, int idx)
{
	return idx >= 0 && (size_t)idx < c->ncells ? c->cells.data + c->off[idx] : "";
}

/* ---- accumulating trends ---- */

struct acc_group {
	char *key;
	char *last_run;   /* for counting distinct runs */
	int runs, attempts, failed;
};

struct group_list {
	struct acc_group *g;
	size_t n, cap;
};

struct acc_run {
	char *run_id, *timestamp, *host, *branch;
	char week[16];
	int attempts, failed;
};

struct fh_hist_acc {
	char *nodeid;
	struct acc_run *runs;
	size_t nruns, cap;
	struct group_list host, branch, week, loc;
	int total_attempts, total_failed, skipped_rows;
};

struct fh_hist_acc *hist_acc_new(const char *nodeid)
{
	struct fh_hist_acc *acc = xcalloc(1, sizeof(*acc));

	acc->nodeid = xstrdup(nodeid);
	return acc;
}

static struct acc_group *group(struct group_list *l, const char *key)
{
	size_t i;

	for (i = l->n; i-- > 0;)
		if (!strcmp(l->g[i].key, key))
			return &l->g[i];
	GROW(l->g, l->cap, l->n + 1);
	memset(&l->g[l->n], 0, sizeof(l->g[l->n]));
	l->g[l->n].key = xstrdup(key);
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
		    const char *branch, enum fh_outcome outcome, const char *ffile, int fline,
		    const char *ffunc)
{
	struct acc_run *r = acc->nruns ? &acc->runs[acc->nruns - 1] : NULL;
	bool failed = outcome == FH_FAILED || outcome == FH_ERROR;

	if (!r || strcmp(r->run_id, run_id)) {
		size_t i;

		r = NULL;
		for (i = 0; i < acc->nruns; i++)
			if (!strcmp(acc->runs[i].run_id, run_id))
				r = &acc->runs[i];
		if (!r) {
			GROW(acc->runs, acc->cap, acc->nruns + 1);
			r = &acc->runs[acc->nruns++];
			memset(r, 0, sizeof(*r));
			r->run_id = xstrdup(run_id);
			r->timestamp = xstrdup(ts);
			r->host = xstrdup(host);
			r->branch = xstrdup(branch);
			iso_week(ts, r->week);
		}
	}
	if (outcome == FH_SKIPPED)
		return;
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

static int parse_outcome(const char *s)
{
	int i;

	for (i = 0; i < FH_OUTCOME_COUNT; i++)
		if (!strcmp(s, fh_outcome_names[i]))
			return i;
	return -1;
}

static int parse_uint(const char *s, int *out)
{
	long v = 0;

	if (!*s)
		return -1;
	for (; *s; s++) {
		if (*s < '0' || *s > '9' || v > 100000000)
			return -1;
		v = v * 10 + (*s - '0');
	}
	*out = (int)v;
	return 0;
}

int hist_acc_add_buffer(struct fh_hist_acc *acc, const char *name, const char *data, size_t len,
			const char *skip_run_id)
{
	struct fh_csv c;
	int idx[C_NEED], used = 0, r;
	size_t ncols, i, k;

	/* Header row: find the columns by name. */
	csv_init(&c, data, len);
	r = csv_row(&c);
	if (r <= 0) {
		if (r < 0) {
			warning("%s:1: unterminated quote in the header; file skipped", name);
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
		warning("%s:1: not a flakehunter history header; file skipped", name);
		acc->skipped_rows++;
		goto out;
	}
	while ((r = csv_row(&c)) != 0) {
		const char *why = NULL, *nodeid;
		int outcome = -1, attempt, fline = 0;

		if (r < 0)
			why = "unterminated quote";
		else if (c.ncells == 1 && !*csv_cell(&c, 0))
			continue; /* blank line */
		else if (c.ncells != ncols)
			why = "wrong number of cells";
		else if (!*csv_cell(&c, idx[C_RUN]))
			why = "empty run_id";
		else if (parse_uint(csv_cell(&c, idx[C_ATTEMPT]), &attempt) || attempt < 1)
			why = "bad attempt number";
		else if ((outcome = parse_outcome(csv_cell(&c, idx[C_OUTCOME]))) < 0)
			why = "unknown outcome";
		else if (idx[C_NODEID] >= 0 && (nodeid = csv_cell(&c, idx[C_NODEID]), *nodeid) &&
			 strcmp(nodeid, acc->nodeid))
			why = "row of another test";
		if (why) {
			warning("%s:%u: corrupt history row (%s); skipped", name, c.line, why);
			acc->skipped_rows++;
			continue;
		}
		if (skip_run_id && !strcmp(csv_cell(&c, idx[C_RUN]), skip_run_id))
			continue;
		if (parse_uint(csv_cell(&c, idx[C_FLINE]), &fline))
			fline = 0;
		acc_row(acc, csv_cell(&c, idx[C_RUN]), csv_cell(&c, idx[C_TS]),
			csv_cell(&c, idx[C_HOST]), csv_cell(&c, idx[C_BRANCH]),
			(enum fh_outcome)outcome, csv_cell(&c, idx[C_FFILE]), fline,
			csv_cell(&c, idx[C_FFUNC]));
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

		acc_row(acc, m->run_id, m->started_utc ? m->started_utc : "", m->host ? m->host : "",
			m->branch ? m->branch : "", a->outcome, f ? f->path : "", f ? f->line : 0,
			f ? f->function : "");
	}
	if (!t->nattempts)
		acc_row(acc, m->run_id, m->started_utc ? m->started_utc : "", m->host ? m->host : "",
			m->branch ? m->branch : "", FH_SKIPPED, "", 0, "");
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

void hist_acc_finish(struct fh_hist_acc *acc, struct fh_run *run, struct fh_test *t)
{
	struct arena *ar = &run->arena;
	struct fh_history *h = arena_alloc(ar, sizeof(*h));
	size_t i;

	h->nruns = acc->nruns;
	h->runs = arena_alloc(ar, (acc->nruns ? acc->nruns : 1) * sizeof(*h->runs));
	for (i = 0; i < acc->nruns; i++) {
		struct acc_run *r = &acc->runs[i];

		h->runs[i].run_id = arena_strdup(ar, r->run_id);
		h->runs[i].timestamp = arena_strdup(ar, r->timestamp);
		h->runs[i].host = arena_strdup(ar, r->host);
		h->runs[i].branch = arena_strdup(ar, r->branch);
		h->runs[i].week = arena_strdup(ar, r->week);
		h->runs[i].attempts = r->attempts;
		h->runs[i].failed = r->failed;
		free(r->run_id);
		free(r->timestamp);
		free(r->host);
		free(r->branch);
	}
	free(acc->runs);
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

static void fill_params(struct fh_run *run)
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

/* ---- the stage ---- */

/* Appends rows to path, writing the header into a new or empty file. */
static int append_rows(const struct fh_run *run, const struct fh_test *t, const char *path,
		       struct buf *rows)
{
	struct stat st;
	char last = '\n';
	const char *p;
	size_t n;
	int fd, ret = 0;

	fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0) {
		ret = -errno;
		goto out;
	}
	buf_reset(rows);
	if (st.st_size > 0) {
		int rfd = open(path, O_RDONLY | O_CLOEXEC);

		if (rfd >= 0) {
			if (pread(rfd, &last, 1, st.st_size - 1) != 1)
				last = '\n';
			close(rfd);
		}
		if (last != '\n')
			buf_putc(rows, '\n');
	}
	history_rows(run, t, rows, st.st_size == 0);
	if (rows->failed) {
		ret = -ENOBUFS;
		goto out;
	}
	for (p = rows->data, n = rows->len; n;) {
		ssize_t w = write(fd, p, n);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			ret = -errno;
			goto out;
		}
		p += w;
		n -= (size_t)w;
	}
out:
	if (close(fd) < 0 && !ret)
		ret = -errno;
	return ret;
}

int history_update(struct fh_run *run, const char *dir)
{
	struct buf path = BUF_INIT(PATH_MAX), marker = BUF_INIT(PATH_MAX);
	struct buf rows = BUF_INIT(FH_HISTORY_MAX_FILE);
	bool append, write_failed = false;
	size_t i;
	int r, ret = 0;

	buf_printf(&marker, "%s/history-appended", run->run_dir ? run->run_dir : ".");
	append = access(buf_str(&marker), F_OK) != 0;
	r = mkdir_p(dir, 0755);
	if (r) {
		warning("cannot create history dir '%s': %s; history not kept", dir, strerror(-r));
		append = false;
	}
	for (i = 0; i < run->ntests; i++) {
		struct fh_test *t = &run->tests[i];
		struct fh_hist_acc *acc = hist_acc_new(t->nodeid);
		char *data = NULL;
		size_t len;

		buf_reset(&path);
		buf_printf(&path, "%s/", dir);
		history_file_name(&path, t->nodeid);
		r = read_file(buf_str(&path), FH_HISTORY_MAX_FILE, &data, &len);
		if (r == 0) {
			hist_acc_add_buffer(acc, buf_str(&path), data, len, run->meta.run_id);
			free(data);
		} else if (r != -ENOENT) {
			warning("%s: cannot read history: %s", buf_str(&path), strerror(-r));
		}
		hist_acc_add_run(acc, run, t);
		hist_acc_finish(acc, run, t);
		if (append && !write_failed) {
			r = append_rows(run, t, buf_str(&path), &rows);
			if (r) {
				warning("%s: cannot append history: %s", buf_str(&path), strerror(-r));
				write_failed = true;
				ret = r;
			}
		}
	}
	fill_params(run);
	if (append && !write_failed && run->run_dir) {
		int fd = open(buf_str(&marker), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);

		if (fd < 0)
			warning("%s: cannot create marker: %s (history may be appended again)",
				buf_str(&marker), strerror(errno));
		else
			close(fd);
	}
	buf_free(&path);
	buf_free(&marker);
	buf_free(&rows);
	return ret;
}
