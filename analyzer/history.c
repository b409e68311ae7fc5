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
#include <pthread.h>
#include <stdarg.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "history_seed.h"
#include "sources.h"
#include "stages.h"
#include "summary.h"

static const char *const columns[] = {
	"run_id", "timestamp_utc", "flakehunter_version", "hostname", "os", "python_version",
	"pytest_version", "cpu_count", "ram_bytes", "git_branch", "git_commit", "git_dirty",
	"nodeid", "file", "function", "param_id", "fixtures", "runs_requested", "attempt",
	"outcome", "duration_s", "setup_s", "call_s", "teardown_s", "error_type", "error_message",
	"failure_function", "failure_file", "failure_line", "fingerprint", "failure_depth", "worker",
	"isolate",
};
#define NCOLS ARRAY_SIZE(columns)

/* Columns the reader needs. */
enum { C_RUN, C_TS, C_HOST, C_BRANCH, C_NODEID, C_PARAM, C_ATTEMPT, C_OUTCOME, C_FFUNC, C_FFILE,
	C_FLINE, C_ISOLATE, C_NEED };
static const char *const needed[C_NEED] = {
	"run_id", "timestamp_utc", "hostname", "git_branch", "nodeid", "param_id", "attempt",
	"outcome", "failure_function", "failure_file", "failure_line", "isolate",
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

static void digits(char *p, long long v, int width)
{
	while (width-- > 0) {
		p[width] = (char)('0' + v % 10);
		v /= 10;
	}
}

/* unix_s must be in [0, 253402300800): years 1970 to 9999. */
static void put_utc(struct buf *b, double unix_s)
{
	long long s = (long long)floor(unix_s), days = s / 86400, sod = s - days * 86400;
	char out[21] = "0000-00-00T00:00:00Z";
	int y, m, d;

	civil(days, &y, &m, &d);
	digits(out, y, 4);
	digits(out + 5, m, 2);
	digits(out + 8, d, 2);
	digits(out + 11, sod / 3600, 2);
	digits(out + 14, sod / 60 % 60, 2);
	digits(out + 17, sod % 60, 2);
	buf_add(b, out, 20);
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
	buf_int(b, v);
	buf_putc(b, ',');
}

static void cell_num(struct buf *b, double v)
{
	buf_num6(b, v);
	buf_putc(b, ',');
}

/* Cuts the row that starts at b->data + start (ending with '\n') to its first ncols cells. */
static void cut_row(struct buf *b, size_t start, size_t ncols)
{
	struct fh_csv c;

	if (b->failed || b->len <= start)
		return;
	csv_init(&c, b->data + start, b->len - start);
	if (csv_row(&c) == 1 && c.ncells > ncols) {
		const struct fh_csv_span *sp = &c.span[ncols - 1];

		b->len = (size_t)(sp->s + sp->n - b->data);
		buf_putc(b, '\n');
	}
	csv_free(&c);
}

static void rows_of(const struct fh_run *run, const struct fh_test *t, struct buf *b, bool header,
		    size_t ncols, const bool *skip_source);

void history_rows(const struct fh_run *run, const struct fh_test *t, struct buf *b, bool header)
{
	rows_of(run, t, b, header, 0, NULL);
}

size_t history_header_prefix(const char *data, size_t len)
{
	struct fh_csv c;
	size_t i, n = 0;

	csv_init(&c, data, len);
	if (csv_row(&c) == 1 && c.ncells < NCOLS) {
		for (i = 0; i < c.ncells && !strcmp(csv_cell(&c, (int)i), columns[i]); i++)
			;
		if (i == c.ncells)
			n = i;
	}
	csv_free(&c);
	return n;
}

void history_rows_cols(const struct fh_run *run, const struct fh_test *t, struct buf *b,
		       bool header, size_t ncols)
{
	rows_of(run, t, b, header, ncols, NULL);
}

/* The meta a row of attempt a is written with: its source's (a merged run keeps each source's
 * run id, host and versions, so the history reads as if every shard had reported alone). */
static const struct fh_run_meta *meta_of(const struct fh_run *run, const struct fh_attempt *a)
{
	if (a->source >= 0 && (size_t)a->source < run->nsources && run->sources)
		return &run->sources[a->source].meta;
	return &run->meta;
}

/* The rows of t, leaving out attempts whose source is marked in skip_source (may be NULL). */
static void rows_of(const struct fh_run *run, const struct fh_test *t, struct buf *b, bool header,
		    size_t ncols, const bool *skip_source)
{
	struct buf fixtures = BUF_INIT(1 << 16), ts = BUF_INIT(64);
	size_t i;

	if (header) {
		size_t n = ncols && ncols < NCOLS ? ncols : NCOLS;

		for (i = 0; i < n; i++) {
			buf_puts(b, columns[i]);
			buf_putc(b, i + 1 < n ? ',' : '\n');
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
		const struct fh_run_meta *m = meta_of(run, a);
		size_t start = b->len;

		if (skip_source && a->source >= 0 && (size_t)a->source < run->nsources &&
		    skip_source[a->source])
			continue;
		buf_reset(&ts);
		if (a->wall_start >= 0 && a->wall_start < 253402300800.0 && a->wall_start != 0)
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
		cell_int(b, a->source_attempt > 0 ? a->source_attempt : a->attempt);
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
		cell(b, a->worker);
		buf_puts(b, m->isolate ? "true" : "false");
		buf_putc(b, '\n');
		if (ncols && ncols < NCOLS)
			cut_row(b, start, ncols);
	}
	buf_free(&fixtures);
	buf_free(&ts);
}

/* ---- reading: an RFC 4180 row splitter over a buffer ----
 * csv_row() only finds the cells (spans into the input); csv_cell() unescapes a cell into the
 * row's scratch space the first time it is asked for, so unused columns cost a scan only. */

void csv_init(struct fh_csv *c, const char *data, size_t len)
{
	memset(c, 0, sizeof(*c));
	c->p = data;
	c->end = data + len;
	c->line = c->next_line = 1;
}

void csv_free(struct fh_csv *c)
{
	free(c->span);
	free(c->scratch);
	c->span = NULL;
	c->scratch = NULL;
}

int csv_row(struct fh_csv *c)
{
	const char *p = c->p;

	if (p >= c->end)
		return 0;
	c->row_start = p;
	c->line = c->next_line;
	c->ncells = 0;
	c->used = 0;
	for (;;) {
		struct fh_csv_span *sp;

		if (c->ncells >= c->cap)
			GROW(c->span, c->cap, c->ncells + 1);
		sp = &c->span[c->ncells++];
		sp->s = p;
		sp->quoted = p < c->end && *p == '"';
		sp->copy = 0;
		if (sp->quoted) {
			p++;
			for (;;) {
				const char *q = memchr(p, '"', (size_t)(c->end - p));
				const char *nl;

				if (!q) {
					c->p = c->end;
					c->ncells = 0;
					return -1;
				}
				for (nl = p; (nl = memchr(nl, '\n', (size_t)(q - nl))); nl++)
					c->next_line++;
				p = q + 1;
				if (p < c->end && *p == '"') {
					p++;
					continue;
				}
				break;
			}
		}
		while (p < c->end && *p != ',' && *p != '\n')
			p++;
		sp->n = (size_t)(p - sp->s);
		if (p >= c->end || *p == '\n') {
			if (p < c->end)
				p++;
			c->next_line++;
			c->p = p;
			break;
		}
		p++; /* ',' */
	}
	/* Unescaped cells are never longer than the row: one allocation per row at most. */
	if ((size_t)(c->p - c->row_start) + c->ncells + 1 > c->scratch_cap) {
		c->scratch_cap = (size_t)(c->p - c->row_start) + c->ncells + 1024;
		free(c->scratch);
		c->scratch = xmalloc(c->scratch_cap);
	}
	return 1;
}

void csv_resync(struct fh_csv *c)
{
	const char *nl;

	if (!c->row_start)
		return;
	nl = memchr(c->row_start, '\n', (size_t)(c->end - c->row_start));
	c->p = nl ? nl + 1 : c->end;
	c->next_line = c->line + 1;
	c->row_start = NULL;
}

const char *csv_cell(const struct fh_csv *cc, int idx)
{
	struct fh_csv *c = (struct fh_csv *)cc;
	struct fh_csv_span *sp;
	const char *p, *e;
	char *out, *start;

	if (idx < 0 || (size_t)idx >= c->ncells)
		return "";
	sp = &c->span[idx];
	if (sp->copy)
		return c->scratch + sp->copy - 1;
	start = out = c->scratch + c->used;
	p = sp->s;
	e = sp->s + sp->n;
	if (sp->quoted) {
		p++;
		while (p < e) {
			if (*p == '"') {
				if (p + 1 < e && p[1] == '"') {
					*out++ = '"';
					p += 2;
					continue;
				}
				p++;
				break;
			}
			*out++ = *p++;
		}
		/* Anything between the closing quote and the separator is kept verbatim. */
	}
	while (p < e)
		*out++ = *p++;
	if (sp->quoted && out > start && *start == '\'') {
		memmove(start, start + 1, (size_t)(out - start - 1));
		out--;
	}
	if ((size_t)idx + 1 == c->ncells && out > start && out[-1] == '\r')
		out--;
	*out++ = '\0';
	sp->copy = (size_t)(start - c->scratch) + 1;
	c->used = (size_t)(out - c->scratch);
	return start;
}

/* ---- accumulating trends ---- */

struct fh_hist_acc;
static void acc_warn(struct fh_hist_acc *acc, const char *fmt, ...) FH_PRINTF(2, 3);

/* A string -> index map (open addressing on FNV-1a), so hostile files with millions of
 * distinct run ids, hosts or locations stay linear. */
struct str_index {
	size_t *slots;          /* index + 1; 0 = empty */
	uint64_t *hashes;
	size_t nslots, n;
};

static uint64_t str_hash(const char *s)
{
	return fnv64(FNV64_INIT, s, strlen(s));
}

/* Returns the index stored for key (key_of(ctx, i) gives the key of entry i), or (size_t)-1. */
static size_t index_find(const struct str_index *x, const char *key, uint64_t h,
			 const char *(*key_of)(const void *, size_t), const void *ctx)
{
	size_t s;

	if (!x->nslots)
		return (size_t)-1;
	for (s = h & (x->nslots - 1); x->slots[s]; s = (s + 1) & (x->nslots - 1))
		if (x->hashes[s] == h && !strcmp(key_of(ctx, x->slots[s] - 1), key))
			return x->slots[s] - 1;
	return (size_t)-1;
}

static void index_put(struct str_index *x, uint64_t h, size_t idx)
{
	size_t s;

	if ((x->n + 1) * 2 > x->nslots) {
		size_t i, nslots = x->nslots ? x->nslots * 2 : 16;
		size_t *slots = xcalloc(nslots, sizeof(*slots));
		uint64_t *hashes = xcalloc(nslots, sizeof(*hashes));

		for (i = 0; i < x->nslots; i++) {
			if (!x->slots[i])
				continue;
			for (s = x->hashes[i] & (nslots - 1); slots[s]; s = (s + 1) & (nslots - 1))
				;
			slots[s] = x->slots[i];
			hashes[s] = x->hashes[i];
		}
		free(x->slots);
		free(x->hashes);
		x->slots = slots;
		x->hashes = hashes;
		x->nslots = nslots;
	}
	for (s = h & (x->nslots - 1); x->slots[s]; s = (s + 1) & (x->nslots - 1))
		;
	x->slots[s] = idx + 1;
	x->hashes[s] = h;
	x->n++;
}

static void index_free(struct str_index *x)
{
	free(x->slots);
	free(x->hashes);
	memset(x, 0, sizeof(*x));
}

struct acc_group {
	char *key;
	char *last_run;   /* for counting distinct runs */
	int runs, attempts, failed;
};

struct group_list {
	struct acc_group *g;
	size_t n, cap;
	struct str_index idx;
};

static const char *group_key(const void *ctx, size_t i)
{
	return ((const struct group_list *)ctx)->g[i].key;
}

struct acc_run {
	char *run_id, *timestamp, *host, *branch;
	char week[16];
	int attempts, failed;
	bool isolate;           /* any row of the run says --fh-isolate */
};

struct fh_hist_acc {
	char *nodeid;
	struct buf *warn;       /* collects warnings (one per line) instead of printing them */
	struct acc_run *runs;
	size_t nruns, cap;
	struct str_index run_idx;
	struct group_list host, branch, week, loc;
	int total_attempts, total_failed, skipped_rows;
};

struct fh_hist_acc *hist_acc_new(const char *nodeid)
{
	struct fh_hist_acc *acc = xcalloc(1, sizeof(*acc));

	acc->nodeid = xstrdup(nodeid);
	return acc;
}

static void acc_warn(struct fh_hist_acc *acc, const char *fmt, ...)
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
	uint64_t h;
	size_t i;

	if (l->n && !strcmp(l->g[l->n - 1].key, key))
		return &l->g[l->n - 1];
	h = str_hash(key);
	i = index_find(&l->idx, key, h, group_key, l);
	if (i != (size_t)-1)
		return &l->g[i];
	GROW(l->g, l->cap, l->n + 1);
	memset(&l->g[l->n], 0, sizeof(l->g[l->n]));
	l->g[l->n].key = xstrdup(key);
	index_put(&l->idx, h, l->n);
	return &l->g[l->n++];
}

static const char *run_key(const void *ctx, size_t i)
{
	return ((const struct fh_hist_acc *)ctx)->runs[i].run_id;
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
		    int fline, const char *ffunc)
{
	struct acc_run *r = acc->nruns ? &acc->runs[acc->nruns - 1] : NULL;
	bool failed = outcome == FH_FAILED || outcome == FH_ERROR;

	if (!r || strcmp(r->run_id, run_id)) {
		uint64_t h = str_hash(run_id);
		size_t i = index_find(&acc->run_idx, run_id, h, run_key, acc);

		r = i != (size_t)-1 ? &acc->runs[i] : NULL;
		if (!r) {
			index_put(&acc->run_idx, h, acc->nruns);
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
	r->isolate |= isolate;
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

/* Rows to leave out while reading: the run's own (its run id, or a source's) are added from
 * the model instead; found[i] records that source i's rows are already in the file (then they
 * are not appended again). */
struct skip_set {
	const char *one;             /* a single run id (hist_acc_add_buffer) */
	const struct fh_run *run;    /* or the run's own ids */
	bool *found;                 /* per source; may be NULL */
};

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

static int add_buffer(struct fh_hist_acc *acc, const char *name, const char *data, size_t len,
		      const struct skip_set *sk);

int hist_acc_add_buffer(struct fh_hist_acc *acc, const char *name, const char *data, size_t len,
			const char *skip_run_id)
{
	struct skip_set sk = { skip_run_id, NULL, NULL };

	return add_buffer(acc, name, data, len, &sk);
}

static int add_buffer(struct fh_hist_acc *acc, const char *name, const char *data, size_t len,
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
			acc_warn(acc, "%s:1: unterminated quote in the header; file skipped", name);
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
		acc_warn(acc, "%s:1: not a flakehunter history header; file skipped", name);
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
			acc_warn(acc, "%s:%u: corrupt history row (%s); skipped", name, c.line, why);
			acc->skipped_rows++;
			if (r < 0 || c.ncells != ncols)
				csv_resync(&c);
			continue;
		}
		if (skip_row(sk, csv_cell(&c, idx[C_RUN])))
			continue;
		if (parse_uint(csv_cell(&c, idx[C_FLINE]), &fline))
			fline = 0;
		acc_row(acc, csv_cell(&c, idx[C_RUN]), csv_cell(&c, idx[C_TS]),
			csv_cell(&c, idx[C_HOST]), csv_cell(&c, idx[C_BRANCH]),
			!strcmp(csv_cell(&c, idx[C_ISOLATE]), "true"), (enum fh_outcome)outcome, csv_cell(&c, idx[C_FFILE]), fline,
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

		m = meta_of(run, a);
		acc_row(acc, m->run_id, m->started_utc ? m->started_utc : "", m->host ? m->host : "",
			m->branch ? m->branch : "", m->isolate, a->outcome, f ? f->path : "", f ? f->line : 0,
			f ? f->function : "");
	}
	if (!t->nattempts)
		acc_row(acc, m->run_id, m->started_utc ? m->started_utc : "", m->host ? m->host : "",
			m->branch ? m->branch : "", m->isolate, FH_SKIPPED, "", 0, "");
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
	index_free(&l->idx);
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
			continue;
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
	index_free(&acc->run_idx);
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
		       struct buf *rows, size_t ncols, const bool *skip_source)
{
	struct stat st;
	char last = '\n';
	const char *p;
	size_t n, body;
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
	body = rows->len;
	rows_of(run, t, rows, st.st_size == 0, st.st_size == 0 ? 0 : ncols, skip_source);
	if (rows->len == body)
		goto out; /* every source's rows are in the file already */
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

void history_header(struct buf *b)
{
	for (size_t i = 0; i < NCOLS; i++) {
		buf_puts(b, columns[i]);
		buf_putc(b, i + 1 < NCOLS ? ',' : '\n');
	}
}

int history_append_csv(const char *path, const char *rows, size_t len)
{
	struct buf out = BUF_INIT(FH_HISTORY_MAX_FILE);
	struct stat st;
	const char *p, *end = rows + len;
	size_t ncols = 0, n;
	int fd, ret = 0;

	fd = open(path, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0) {
		ret = -errno;
		goto out;
	}
	if (st.st_size == 0) {
		history_header(&out);
	} else {
		char head[65536], last = '\n';
		ssize_t got = pread(fd, head, sizeof(head), 0);

		if (got > 0)
			ncols = history_header_prefix(head, (size_t)got);
		if (pread(fd, &last, 1, st.st_size - 1) == 1 && last != '\n')
			buf_putc(&out, '\n');
	}
	/* Row by row, so each can be cut to an older file's columns (a quoted cell may hold a
	 * newline: rows are found with the CSV reader, not by lines). */
	for (p = rows; p < end;) {
		struct fh_csv c;
		size_t start = out.len, rlen;

		csv_init(&c, p, (size_t)(end - p));
		if (csv_row(&c) != 1) {
			csv_free(&c);
			break;
		}
		rlen = (size_t)(c.p - p);
		csv_free(&c);
		buf_add(&out, p, rlen);
		if (rlen && p[rlen - 1] != '\n')
			buf_putc(&out, '\n');
		if (ncols)
			cut_row(&out, start, ncols);
		p += rlen;
	}
	if (out.failed) {
		ret = -ENOBUFS;
		goto out;
	}
	for (p = out.data, n = out.len; n;) {
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
	buf_free(&out);
	return ret;
}

/* Tests are read (and appended) on several threads: each test's file is independent. A worker
 * fills job->acc and job->warn; the calling thread then prints the warnings and builds the
 * trends in test order, so the output does not depend on scheduling. */
struct hist_job {
	struct fh_hist_acc *acc;
	struct buf warn;
	int append_err;
};

struct hist_ctx {
	struct fh_run *run;
	const char *dir;
	struct hist_job *jobs;
	bool append;
	bool read;              /* the history dir is usable */
	size_t next;            /* next test to take (atomic) */
	int write_failed;       /* atomic: stop appending after the first failure */
};

#define HIST_THREADS_MIN_TESTS 64
#define HIST_MAX_THREADS 8

static void hist_one(struct hist_ctx *ctx, size_t i, struct buf *path, struct buf *rows)
{
	struct fh_run *run = ctx->run;
	struct fh_test *t = &run->tests[i];
	struct hist_job *job = &ctx->jobs[i];
	bool *found = xcalloc(run->nsources + 1, sizeof(*found));
	struct skip_set sk = { NULL, run, found };
	struct buf seed = BUF_INIT(FH_HISTORY_MAX_FILE), seed_name = BUF_INIT(PATH_MAX);
	char *data = NULL;
	size_t len = 0, ncols = 0;
	int r;

	job->acc = hist_acc_new(t->nodeid);
	buf_init(&job->warn, 1u << 24);
	job->acc->warn = &job->warn;
	if (!ctx->read) {
		hist_acc_add_run(job->acc, run, t);
		goto out;
	}
	buf_reset(path);
	buf_printf(path, "%s/", ctx->dir);
	history_file_name(path, t->nodeid);
	r = read_file(buf_str(path), FH_HISTORY_MAX_FILE, &data, &len);
	if (r != 0 && r != -ENOENT)
		acc_warn(job->acc, "%s: cannot read history: %s", buf_str(path), strerror(-r));
	/* pytest-flakehunter's file of the test first: its rows are older than ours (runs stay in
	 * time order); runs already imported into ours are left out of it. */
	if (history_seed_read(ctx->dir, t->nodeid, data, len, &seed, &seed_name, &job->warn) > 0)
		add_buffer(job->acc, buf_str(&seed_name), seed.data, seed.len, &sk);
	if (data) {
		add_buffer(job->acc, buf_str(path), data, len, &sk);
		ncols = history_header_prefix(data, len);
		free(data);
	}
	hist_acc_add_run(job->acc, run, t);
	if (ctx->append && !__atomic_load_n(&ctx->write_failed, __ATOMIC_RELAXED)) {
		r = append_rows(run, t, buf_str(path), rows, ncols, found);
		if (r) {
			acc_warn(job->acc, "%s: cannot append history: %s", buf_str(path),
				 strerror(-r));
			job->append_err = r;
			__atomic_store_n(&ctx->write_failed, 1, __ATOMIC_RELAXED);
		}
	}
out:
	buf_free(&seed);
	buf_free(&seed_name);
	free(found);
}

static void *hist_worker(void *arg)
{
	struct hist_ctx *ctx = arg;
	struct buf path = BUF_INIT(PATH_MAX), rows = BUF_INIT(FH_HISTORY_MAX_FILE);
	size_t i;

	while ((i = __atomic_fetch_add(&ctx->next, 1, __ATOMIC_RELAXED)) < ctx->run->ntests)
		hist_one(ctx, i, &path, &rows);
	buf_free(&path);
	buf_free(&rows);
	return NULL;
}

static int hist_threads(size_t ntests)
{
	return fh_thread_count(ntests < HIST_THREADS_MIN_TESTS, HIST_MAX_THREADS);
}

int history_update(struct fh_run *run, const char *dir)
{
	struct buf marker = BUF_INIT(PATH_MAX);
	struct hist_ctx ctx = { run, dir, NULL, false, true, 0, 0 };
	struct stat st;
	pthread_t threads[HIST_MAX_THREADS];
	bool started[HIST_MAX_THREADS] = { false };
	int nthreads = hist_threads(run->ntests), k, r, ret = 0;
	size_t i;

	buf_printf(&marker, "%s/history-appended", run->run_dir ? run->run_dir : ".");
	ctx.append = access(buf_str(&marker), F_OK) != 0;
	r = mkdir_p(dir, 0755);
	if (!r && (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode)))
		r = -ENOTDIR;
	if (r) {
		warning("cannot use history dir '%s': %s; history not kept", dir, strerror(-r));
		ctx.append = false;
		ctx.read = false;
	}
	ctx.jobs = xcalloc(run->ntests ? run->ntests : 1, sizeof(*ctx.jobs));
	for (k = 1; k < nthreads; k++)
		started[k] = !pthread_create(&threads[k], NULL, hist_worker, &ctx);
	hist_worker(&ctx);
	for (k = 1; k < nthreads; k++)
		if (started[k])
			pthread_join(threads[k], NULL);
	for (i = 0; i < run->ntests; i++) {
		struct hist_job *job = &ctx.jobs[i];
		const char *w = buf_str(&job->warn), *nl;

		for (; (nl = strchr(w, '\n')); w = nl + 1)
			warning("%.*s", (int)(nl - w), w);
		buf_free(&job->warn);
		job->acc->warn = NULL;
		hist_acc_finish(job->acc, run, &run->tests[i]);
		if (job->append_err && !ret)
			ret = job->append_err;
	}
	free(ctx.jobs);
	fill_params(run);
	if (ctx.append && !ctx.write_failed && run->run_dir) {
		int fd = open(buf_str(&marker), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);

		if (fd < 0)
			warning("%s: cannot create marker: %s (history may be appended again)",
				buf_str(&marker), strerror(errno));
		else
			close(fd);
	}
	buf_free(&marker);
	return ret;
}
