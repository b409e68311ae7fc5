/* SPDX-License-Identifier: MIT */
/*
 * Where an attempt's wall time went (struct fh_where, model.h), built during the evidence join:
 *   - the preload's resource figures (FHT_REC_RES) written right after the attempt's begin and
 *     end markers, in the test thread's stream: the difference of the two readings is what
 *     the attempt used (test thread CPU and run-queue delay, the process's CPU, faults and
 *     context switches, reaped children's CPU, the machine's steal);
 *   - figures of threads that ended during the attempt (their whole life's run-queue delay);
 *   - the profiler's CPU samples (FHT_REC_SAMPLE) attributed to the attempt, grouped by the
 *     innermost Python frame (path, line, function) and its caller;
 *   - at the end, the attempt's traced waits (the test thread's share of its blocking calls)
 *     and the record's garbage-collection figures.
 * The join owns the raw state (perf_raw_free); perf_where_finish turns it into the attempt's
 * struct fh_where in the run's arena.
 */
#ifndef FH_PERF_WHERE_H
#define FH_PERF_WHERE_H

#include <stdbool.h>

#include "model.h"
#include "trace.h"

struct fh_perf_raw;

/* A FH_EV_RES event that follows the attempt's begin (begin = true) or end marker in the test
 * thread's stream; *r is created on first use. */
void perf_raw_mark_res(struct fh_perf_raw **r, const struct fh_event *e, bool begin);
/* A thread's exit figures (FHT_RES_F_EXIT) read during the attempt, from a thread other than
 * the test thread. */
void perf_raw_thread_exit(struct fh_perf_raw **r, const struct fh_event *e);
/* A FH_EV_SAMPLE event of the attempt (any kind: ON says the profiler was on); Python paths
 * under rootdir (may be NULL) are kept relative to it, like the attempt records. */
void perf_raw_sample(struct fh_perf_raw **r, struct arena *A, const struct fh_event *e,
		     const char *rootdir);
void perf_raw_free(struct fh_perf_raw *r);

/* a->where from the raw state (may be NULL: no figures) and a->trace (set). */
void perf_where_finish(struct fh_attempt *a, struct arena *A, const struct fh_perf_raw *r);

#endif
