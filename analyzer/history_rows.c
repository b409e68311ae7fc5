/* SPDX-License-Identifier: MIT */
/*
 * Writing the history (format in history.h): file names, this run's rows in this version's
 * columns (cut to an older file's), and appends: one write() of a test's rows on an O_APPEND
 * descriptor, the header first into an empty file, a newline first after a cut-short row.
 */
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

#include "chaos_rec.h"
#include "escape.h"
#include "files.h"
#include "histfile.h"
#include "history_int.h"
#include "numfmt.h"

static const char *const columns[] = {
	"run_id", "timestamp_utc", "flakehunter_version", "hostname", "os", "python_version",
	"pytest_version", "cpu_count", "ram_bytes", "git_branch", "git_commit", "git_dirty",
	"nodeid", "file", "function", "param_id", "fixtures", "runs_requested", "attempt",
	"outcome", "duration_s", "setup_s", "call_s", "teardown_s", "error_type", "error_message",
	"failure_function", "failure_file", "failure_line", "fingerprint", "failure_depth", "worker",
	"isolate",
};
#define NCOLS ARRAY_SIZE(columns)

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

/* Cuts the row that starts at byte start of b (ending with '\n') to its first ncols cells. */
static void cut_row(struct buf *b, size_t start, size_t ncols)
{
	struct fh_csv c;

	if (buf_failed(b) || buf_len(b) <= start)
		return;
	csv_init(&c, buf_str(b) + start, buf_len(b) - start);
	if (csv_row(&c) == 1 && c.ncells > ncols) {
		const struct fh_csv_span *sp = &c.span[ncols - 1];

		buf_truncate(b, (size_t)(sp->s + sp->n - buf_str(b)));
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
const struct fh_run_meta *hist_meta_of(const struct fh_run *run, const struct fh_attempt *a)
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
		const struct fh_run_meta *m = hist_meta_of(run, a);
		size_t start = buf_len(b);

		if (skip_source && a->source >= 0 && (size_t)a->source < run->nsources &&
		    skip_source[a->source])
			continue;
		if (a->chaos && a->chaos->perturbed)
			continue;   /* history keeps the natural rate: no perturbed attempt */
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

/* ---- the stage ---- */

/* Appends rows to path, writing the header into a new or empty file (histfile.h: created
 * whole, appends under a lock). */
struct rows_ctx {
	const struct fh_run *run;
	const struct fh_test *t;
	size_t ncols;
	const bool *skip_source;
};

static int fill_rows(void *arg, struct buf *rows, int fd, off_t size)
{
	const struct rows_ctx *c = arg;
	size_t body;
	char last = '\n';

	if (size > 0 && pread(fd, &last, 1, size - 1) == 1 && last != '\n')
		buf_putc(rows, '\n');
	body = buf_len(rows);
	rows_of(c->run, c->t, rows, size == 0, size == 0 ? 0 : c->ncols, c->skip_source);
	if (buf_len(rows) == body)
		buf_reset(rows); /* every source's rows are in the file already */
	return 0;
}

int hist_append_rows(const struct fh_run *run, const struct fh_test *t, const char *path,
		     struct buf *rows, size_t ncols, const bool *skip_source)
{
	struct rows_ctx c = { run, t, ncols, skip_source };

	return histfile_append(path, fill_rows, &c, rows);
}

void history_header(struct buf *b)
{
	for (size_t i = 0; i < NCOLS; i++) {
		buf_puts(b, columns[i]);
		buf_putc(b, i + 1 < NCOLS ? ',' : '\n');
	}
}

struct csv_ctx {
	const char *rows;
	size_t len;
};

static int fill_csv(void *arg, struct buf *out, int fd, off_t size)
{
	const struct csv_ctx *c = arg;
	const char *p, *end = c->rows + c->len;
	size_t ncols = 0;

	if (size == 0) {
		history_header(out);
	} else {
		char head[65536], last = '\n';
		ssize_t got = pread(fd, head, sizeof(head), 0);

		if (got > 0)
			ncols = history_header_prefix(head, (size_t)got);
		if (pread(fd, &last, 1, size - 1) == 1 && last != '\n')
			buf_putc(out, '\n');
	}
	/* Row by row, so each can be cut to an older file's columns (a quoted cell may hold a
	 * newline: rows are found with the CSV reader, not by lines). */
	for (p = c->rows; p < end;) {
		struct fh_csv csv;
		size_t start = buf_len(out), rlen;

		csv_init(&csv, p, (size_t)(end - p));
		if (csv_row(&csv) != 1) {
			csv_free(&csv);
			break;
		}
		rlen = (size_t)(csv.p - p);
		csv_free(&csv);
		buf_add(out, p, rlen);
		if (rlen && p[rlen - 1] != '\n')
			buf_putc(out, '\n');
		if (ncols)
			cut_row(out, start, ncols);
		p += rlen;
	}
	return 0;
}

int history_append_csv(const char *path, const char *rows, size_t len)
{
	struct buf out = BUF_INIT(FH_HISTORY_MAX_FILE);
	struct csv_ctx c = { rows, len };
	int ret = histfile_append(path, fill_csv, &c, &out);

	buf_free(&out);
	return ret;
}

/* Tests are read (and appended) on several threads: each test's file is independent. A worker
 * fills job->acc and job->warn; the calling thread then prints the warnings and builds the
 * trends in test order, so the output does not depend on scheduling. */
