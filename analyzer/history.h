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
 *   runs        one entry per run id, oldest first: by the run's first timestamp (ISO 8601
 *               sorts as text; a run without one keeps its place after its predecessor),
 *               ties in file order (the current run, started last, normally ends it);
 *               attempts and failed count non-skipped attempts and failed+error ones. Only
 *               the newest FH_HISTORY_MAX_RUNS runs are kept here; totals and groups count all.
 *   by_host, by_branch, by_week (ISO week of the run's first timestamp, "2026-W47"),
 *   by_params   the test's parameter sets: rows of every test of this run with the same file
 *               and function (the sibling parametrizations), keyed by param_id.
 *   locations   "file:line in function" of failing rows, most frequent first (top 10).
 *   trend       least-squares slope of the per-run flake rate over the last 10 runs that have
 *               attempts: "rising" when it climbs 5 points or more across that window,
 *               "falling" when it drops 5 points or more, "flat" otherwise, "n/a" under 3 runs.
 * A corrupt row (wrong cell count, unterminated quote, bad attempt number or outcome, another
 * test's nodeid) is skipped with a warning "FILE:LINE: ..." and counted in hist->skipped_rows;
 * after a row with the wrong shape reading resumes at the next physical line, so a stray quote
 * never swallows the rows after it.
 *
 * Appending: one write() of all of a test's rows on an O_APPEND descriptor under a flock (header
 * first into an empty file; a newline first when the file does not end with one); a new file
 * is created whole, and a write the disk cut short is cut off again (histfile.h). A file whose header is a
 * strict prefix of the columns above (written before later columns were added) gets rows cut
 * to its own columns, so it stays readable; the cut columns read as missing.
 * RUN_DIR/history-appended is created after a complete append, and while it exists the run's
 * rows are not appended again; without it, a source whose run id the file already holds is not
 * appended either (a shard reported alone and then merged adds its rows once). Rows of the
 * run's own run ids (its own, or each source's) found in a file are ignored when reading: the
 * model supplies them. pytest-flakehunter 1.0.1's file of the test is read first
 * (history_seed.h). With 64 tests or more, files are processed on several threads
 * (FH_THREADS); warnings and trends are assembled in test order, identical to one thread.
 */
#ifndef FH_HISTORY_H
#define FH_HISTORY_H

#include <stdbool.h>

#include "csv.h"
#include "model.h"

#define FH_HISTORY_MAX_FILE (256u << 20)
#define FH_HISTORY_MAX_RUNS 200

/* Safe, collision-proof file name for a nodeid: the nodeid reduced to [A-Za-z0-9._-] (others
 * become '_', at most 80 characters), '-', 16 hex digits of FNV-1a 64 of the whole nodeid,
 * ".csv". Appends to b. */
void history_file_name(struct buf *b, const char *nodeid);

/* This version's header row (ending in '\n') appended to b. */
void history_header(struct buf *b);
/* Appends rows in this version's columns (no header; each a complete CSV row) to the history
 * file at path: the header first into a new or empty file, a newline first when the file does
 * not end with one, each row cut to the columns of a file an older version started. One
 * write(); 0 or -errno. (history import.) */
int history_append_csv(const char *path, const char *rows, size_t len);

/* Appends the CSV rows of test t in this run to b, with the header row first when header.
 * A row carries its source's run id, host and versions (a merged run writes each source's rows
 * as that session would have) and the attempt number the source recorded. */
void history_rows(const struct fh_run *run, const struct fh_test *t, struct buf *b, bool header);
/* The same with only the first ncols cells of each row and of the header (0: all of them), for
 * appending to a file an older version wrote: its header has fewer columns and its rows must
 * keep its shape. */
void history_rows_cols(const struct fh_run *run, const struct fh_test *t, struct buf *b,
		       bool header, size_t ncols);
/* When the first row of data (a history file) is a strict prefix of this version's header (a
 * file written before columns were added), the number of its cells; else 0. */
size_t history_header_prefix(const char *data, size_t len);


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
