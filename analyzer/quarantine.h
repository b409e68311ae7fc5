/* SPDX-License-Identifier: MIT */
/*
 * Quarantine: which tests of a run were quarantined, and suggestions for the quarantine file.
 *
 * The pytest plugin reads the user's TOML quarantine file (--fh-quarantine), matches it
 * against the session's node ids and writes the result into the run directory as
 * RUN_DIR/quarantine.json (docs/FORMATS.md); the analyzer only reads that, so a later
 * `fh-analyze report RUN_DIR` shows the marks the run had:
 *
 *   {"schema": "flakehunter-quarantine/1", "file": "/abs/quarantine.toml", "today": "...",
 *    "entries": [{"pattern", "owner", "reason", "expires": "YYYY-MM-DD", "line", "expired",
 *                 "matched"}],
 *    "tests": {"<nodeid>": <entry index>, ...}}
 *
 * The file is hostile input: entries with a missing pattern or owner are skipped, strings are
 * capped, indexes are checked; any problem is one warning naming the file, and the report is
 * written without the marks it could not read.
 */
#ifndef FH_QUARANTINE_H
#define FH_QUARANTINE_H

#include <stdio.h>

#include "model.h"

/* Reads RUN_DIR/quarantine.json into run->quarantine and each test's ->quarantine. Returns 0
 * (also when there is no such file), or -errno after one warning (the report goes on without
 * the marks). */
int quarantine_load(struct fh_run *run);

/* True when t is quarantined by an entry that had not expired on the day of the run. */
bool quarantine_active(const struct fh_test *t);

struct quarantine_suggest_opts {
	double min_rate;             /* only flaky tests with flake_rate >= min_rate */
	const char *owner;           /* owner written into each entry */
	int days;                    /* expiry: the day of the suggestion + days */
	long long today;             /* Unix time of "today"; 0: now */
};

/* Prints [[quarantine]] TOML entries for the flaky tests of a computed run (worst first), with
 * a comment header. Returns the number of entries printed. */
int quarantine_suggest(const struct fh_run *run, const struct quarantine_suggest_opts *o,
		       FILE *out);

#endif
