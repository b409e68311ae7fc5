/* SPDX-License-Identifier: MIT */
/*
 * History written by pytest-flakehunter 1.0.1 (the project this tool started from), read so
 * that teams switching keep their trends, and converted once by `fh-analyze history import`.
 *
 * Its format (docs/FORMATS.md "History from pytest-flakehunter 1.0.1" has the column mapping):
 * one CSV per test in the same history directory (.flakehunter/history by default), named
 * after the nodeid with "::" -> "__" and "/" and "\" -> "_", plus ".csv"; a name longer than
 * 180 characters is cut to 120 and gets "__" and the first 8 hex digits of the MD5 of the
 * nodeid. Rows are written by Python's csv module (RFC 4180, "\r\n"), one per attempt, header
 * first; columns are found by name: run_id, timestamp_utc (ISO 8601 with "+00:00"),
 * flakehunter_version, hostname, os_name, os_version, python_version, pytest_version,
 * cpu_count, cpu_freq_mhz, ram_total_gb, ram_available_gb, git_branch, git_commit, git_dirty,
 * nodeid, test_file, test_function, parametrize_id, fixture_names (comma-separated),
 * fixture_values, total_runs_requested, attempt, outcome, total_duration_s,
 * setup_duration_s, call_duration_s, teardown_duration_s, error_type, error_msg (also read as
 * error_message), failure_function, failure_file, failure_lineno, traceback_fingerprint,
 * failure_depth.
 *
 * A file is the seed's when its header has run_id, attempt, outcome and total_duration_s and
 * no duration_s (ours). Rows are hostile input: a row with the wrong number of cells, an
 * unterminated quote, an empty run_id or nodeid, a bad attempt number or an unknown outcome is
 * skipped with a warning "FILE:LINE: ..."; an optional number that does not parse becomes an
 * empty cell. Error types and messages are redacted (redact.h) like our own records.
 * Writing stays in this tool's format: rows are converted, never written in the seed's.
 */
#ifndef FH_HISTORY_SEED_H
#define FH_HISTORY_SEED_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"

/* The seed's file name of nodeid ("...csv"), appended to b. */
void seed_file_name(struct buf *b, const char *nodeid);

/* MD5 of data as 32 lower-case hex digits (the seed names long files with it). */
void seed_md5_hex(const void *data, size_t n, char hex[33]);

/* Called per converted row: its nodeid and run id, and the row in this tool's columns
 * (ending in '\n'). Returns false to leave the row out. */
typedef bool (*seed_row_fn)(void *ctx, const char *nodeid, const char *run_id, const char *row,
			    size_t len);

/* Converts the rows of one seed CSV (data, len: hostile) into rows of this tool's columns.
 * only_nodeid: rows of other tests are skipped silently (two nodeids can share a seed file
 * name); NULL keeps every row. Warnings go to warn as lines (NULL: printed). Returns the rows
 * given to fn, or -EINVAL when data is not a seed history file (nothing printed). */
int seed_convert(const char *name, const char *data, size_t len, const char *only_nodeid,
		 seed_row_fn fn, void *ctx, struct buf *warn);

/* For the trends of one test: reads DIR/<seed name of nodeid> when it exists and appends to out
 * this tool's header and the converted rows of runs that are not in ours (the test's own
 * history file, data ours/ours_len, may be NULL: already imported runs are not counted twice).
 * name gets the seed file's path. Returns the rows added (0 when there is no such file). */
int history_seed_read(const char *dir, const char *nodeid, const char *ours, size_t ours_len,
		      struct buf *out, struct buf *name, struct buf *warn);

/* `fh-analyze history import DIR`: converts every seed file in DIR into this tool's history
 * files in DIR (appending; runs a file already holds are not imported again), keeping the
 * originals. Prints a summary line on stdout; returns the exit status (0, or 1 when a file
 * could not be written or DIR not read). */
int history_import(const char *dir);

#endif
