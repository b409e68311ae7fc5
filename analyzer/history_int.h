/* SPDX-License-Identifier: MIT */
/*
 * What the history's files share (history.h is the stage's interface): history_rows.c writes
 * rows and appends them, history_trends.c reads files into trends, history.c runs the stage.
 */
#ifndef FH_HISTORY_INT_H
#define FH_HISTORY_INT_H

#include <stdbool.h>

#include "history.h"

/* Which rows a reader leaves out: those of its own run (the model adds them). */
struct skip_set {
	const char *one;             /* a single run id (hist_acc_add_buffer) */
	const struct fh_run *run;    /* or the run's own ids */
	bool *found;                 /* per source; may be NULL */
};

/* history_rows.c: the meta of an attempt's source; this run's rows appended to a file. */
const struct fh_run_meta *hist_meta_of(const struct fh_run *run, const struct fh_attempt *a);
int hist_append_rows(const struct fh_run *run, const struct fh_test *t, const char *path,
		     struct buf *rows, size_t ncols, const bool *skip_source);
/* history_trends.c: reading a file into a test's accumulator, the parameter sets of
 * sibling tests. */
void hist_acc_warn(struct fh_hist_acc *acc, const char *fmt, ...) FH_PRINTF(2, 3);
int hist_add_buffer(struct fh_hist_acc *acc, const char *name, const char *data, size_t len,
		    const struct skip_set *sk);
void hist_fill_params(struct fh_run *run);
/* Where acc's warnings go: lines appended to warn, or printed when warn is NULL. */
void hist_acc_set_warn(struct fh_hist_acc *acc, struct buf *warn);
/* Older rows of the test's file not read (a file over the in-memory cap): the trends say so. */
void hist_acc_set_left_out(struct fh_hist_acc *acc, long long rows);

#endif
