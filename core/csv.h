/* SPDX-License-Identifier: MIT */
/*
 * Reading CSV (history files, pytest-flakehunter's history): RFC 4180 over a buffer, hostile
 * input (never reads past len).
 */
#ifndef FH_CSV_H
#define FH_CSV_H

#include <stdbool.h>
#include <stddef.h>

#include "util.h"

/* A quoted cell that starts with an apostrophe loses it (the writer's neutralisation);
 * "\r\n" ends a row too. */
struct fh_csv_span {
	const char *s;          /* the raw cell in the input, quotes included */
	size_t n;
	size_t copy;            /* 1 + offset of the unescaped cell in scratch; 0 not yet */
	int quoted;
};
struct fh_csv {
	const char *p, *end;
	const char *row_start;  /* where the current row began */
	unsigned line;          /* line number where the current row starts */
	unsigned next_line;
	struct fh_csv_span *span; /* cells of the current row */
	size_t ncells, cap;
	char *scratch;          /* unescaped cells of the current row */
	size_t scratch_cap, used;
};
void csv_init(struct fh_csv *c, const char *data, size_t len);
/* Reads the next row: 1 with a row (c->ncells cells), 0 at the end, -EBADMSG for an
 * unterminated quote (the rest of the buffer is consumed; nothing printed). */
int csv_row(struct fh_csv *c);
/* Cell idx of the current row, "" when out of range; borrowed, valid until the next csv_row(). */
const char *csv_cell(const struct fh_csv *c, int idx);
/* After a damaged row: continue at the physical line after the one the row began on, so a
 * stray quote swallows at most that line, never the rows after it. */
void csv_resync(struct fh_csv *c);
void csv_free(struct fh_csv *c);
/* What is wrong with the row csv_row() just gave (its result r) for a table of ncols columns:
 * "unterminated quote", "wrong number of cells", or NULL; *blank when it is an empty line. */
const char *csv_row_problem(const struct fh_csv *c, int r, size_t ncols, bool *blank);

#endif
