/* SPDX-License-Identifier: MIT */
/*
 * The per-test CSV history (history_update() in stages.h drives it). One append-only file per
 * test under the history dir, named by history_file_name(); rows are never rewritten.
 *
 * Columns (header row first, in this order; readers find columns by header name, so columns
 * can be added later):
 *   run_id, timestamp_utc, flakehunter_version, hostname, os, python_version, pytest_version,
 *   cpu_count, ram_bytes, git_branch, git_commit, git_dirty, nodeid, file, function, param_id,
 *   fixtures (';'-joined), runs_requested, attempt, outcome, duration_s, setup_s, call_s,
 *   teardown_s, error_type, error_message, failure_function, failure_file, failure_line,
 *   fingerprint, failure_depth (frames in the traceback), worker
 * Cells are written with buf_csv_cell() (RFC 4180 quoting; a leading = + - @ tab CR or
 * apostrophe is neutralised by an apostrophe, which history_read_buffer() strips again).
 *
 * Trends (test->hist), all including the current run:
 *   runs        one entry per run id, in file order (oldest first), the current run last;
 *               attempts and failed count non-skipped attempts and failed+error ones.
 *   by_host, by_branch, by_week (ISO week of the run's first timestamp, "2026-W47"),
 *   by_params   the test's parameter sets: rows of every test of this run with the same file
 *               and function (the sibling parametrizations), keyed by param_id.
 *   locations   "file:line in function" of failing rows, most frequent first (top 10).
 *   trend       least-squares slope of the per-run flake rate over the last 10 runs that have
 *               attempts: "rising" when it climbs 5 points or more across that window,
 *               "falling" when it drops 5 points or more, "flat" otherwise, "n/a" under 3 runs.
 * A corrupt row (wrong cell count, unterminated quote, bad attempt number or outcome, another
 * test's nodeid) is skipped with a warning "FILE:LINE: ..." and counted in hist->skipped_rows.
 */
#ifndef FH_HISTORY_H
#define FH_HISTORY_H

#include <stdbool.h>

#include "model.h"

#define FH_HISTORY_MAX_FILE (256u << 20)

/* Safe, collision-proof file name for a nodeid: the nodeid reduced to [A-Za-z0-9._-] (others
 * become '_', at most 80 characters), '-', 16 hex digits of FNV-1a 64 of the whole nodeid,
 * ".csv". Appends to b. */
void history_file_name(struct buf *b, const char *nodeid);

/* Appends the CSV rows of test t in this run to b, with the header row first when header. */
void history_rows(const struct fh_run *run, const struct fh_test *t, struct buf *b, bool header);

/* An RFC 4180 reader over a buffer (hostile input: never reads past len). A quoted cell that
 * starts with an apostrophe loses it (the writer's neutralisation); "\r\n" ends a row too. */
struct fh_csv {
	const char *p, *end;
	unsigned line;          /* line number where the current row starts */
	unsigned next_line;
	struct buf cells;       /* unescaped cells, each NUL-terminated */
	size_t *off;            /* offsets of the cells in `cells` */
	size_t ncells, cap;
};
void csv_init(struct fh_csv *c, const char *data, size_t len);
/* Reads the next row: 1 with a row (c->ncells cells), 0 at the end, -1 for an unterminated
 * quote (the rest of the buffer is consumed). */
int csv_row(struct fh_csv *c);
/* Cell idx of the current row, "" when out of range; borrowed, valid until the next csv_row(). */
const char *csv_cell(const struct fh_csv *c, int idx);
void csv_free(struct fh_csv *c);

/* Accumulates trends of one test. */
struct fh_hist_acc;
struct fh_hist_acc *hist_acc_new(const char *nodeid);
/* Parses one history CSV (hostile input); rows of run id skip_run_id (may be NULL) are
 * ignored (they are added from the model instead). Returns the number of rows used. */
int hist_acc_add_buffer(struct fh_hist_acc *acc, const char *name, const char *data, size_t len,
			const char *skip_run_id);
/* Adds this run's attempts of t. */
void hist_acc_add_run(struct fh_hist_acc *acc, const struct fh_run *run, const struct fh_test *t);
/* Fills t->hist from acc (allocating from run->arena; by_params left empty) and frees acc. */
void hist_acc_finish(struct fh_hist_acc *acc, struct fh_run *run, struct fh_test *t);

#endif
