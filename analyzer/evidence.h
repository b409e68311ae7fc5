/* SPDX-License-Identifier: MIT */
/*
 * The join of trace events with attempts and the evidence derived from it: what each attempt
 * did that a failure message cannot say (where it waited, what failed, what died).
 * evidence_attach() (stages.h) reads RUN_DIR/trace through trace.h and calls evidence_join();
 * the unit tests call evidence_join() with in-memory files of synthetic events.
 *
 * The join streams: one pass, one file at a time (the threads that ran tests first, then the
 * other files by pid; a child whose parent is not read yet waits for the end), so memory stays
 * bounded by the largest file plus the per-attempt summaries.
 *
 * Attribution rules (ARCHITECTURE.md "Evidence: the join"):
 *  - a process with attempt markers: each event goes to the attempt whose [begin, end)
 *    interval holds its start time (every thread of the process); a begin without an end
 *    (the process died) runs to the next begin or to the process's last event;
 *  - a process without markers whose pid has attempt records: intervals from the records;
 *  - any other process: to the attempt its parent (header ppid, earlier start) was in when it
 *    started it (the parent's record of starting that pid, else the child's own start),
 *    recursively; events after that attempt ended are not attributed;
 *  - events outside every attempt are not attributed but still feed state: fd -> target of a
 *    process (inherited by its children) used to name the targets of later calls;
 *  - ownership (ownership.h): the events of a thread of the attempt's process that does not
 *    belong to the attempt (a fixture's or an earlier test's, and the attempt did not talk to
 *    it) are background: shown in the timeline and summed in trace->background, but not
 *    counted in the attempt's time by category, calls, errors, in-flight calls, kills,
 *    resource figures or CPU samples;
 *  - a process without markers whose owner attempt has ended goes to a later attempt whose
 *    own thread waited for it (ownership.h), for that attempt's interval.
 */
#ifndef FH_EVIDENCE_H
#define FH_EVIDENCE_H

#include "model.h"
#include "trace.h"

/* Bounds per attempt. */
#define FH_EV_MAX_SPANS    64
#define FH_EV_MAX_LANES    32
#define FH_EV_MAX_ERRORS   32
#define FH_EV_MAX_SIGNALS  32
#define FH_EV_MAX_INFLIGHT 32
#define FH_EV_MAX_CHILDREN 32
#define FH_EV_MAX_CALLS    48

/* A set of trace files, loaded on demand (evidence_attach: one unit per thread of each file, a
 * version 2 process file holding many). load() fills *out (0 or -errno; a failing file is
 * skipped); release() frees what load() filled. Both are called once per file per pass. */
struct fh_trace_source {
	size_t nfiles;
	int (*load)(void *ctx, size_t i, struct fh_trace_file *out);
	void (*release)(void *ctx, size_t i, struct fh_trace_file *tf);
	void *ctx;
	/* Optional (may be NULL): file i's pid and tid without loading it (0 or -errno), used
	 * only to choose the reading order. */
	int (*peek)(void *ctx, size_t i, int *pid, int *tid);
	/* Optional (may be NULL): file i's thread's creator and creation time (0, 0 unknown)
	 * without loading it, so that every thread's origin is known before any is read
	 * (ownership.h); without it, origins come from the loaded files as they are read. */
	void (*origin)(void *ctx, size_t i, int *creator, int64_t *born_ns);
};

/* Joins the files with the run's attempts and fills attempt->trace (allocated from
 * run->arena) for every attempt that has an interval; adds totals to run->trace_events and
 * run->trace_dropped. An attempt that has markers but no record (its process was killed before
 * writing it) is added to its test as an "error" attempt. Returns 0 or -errno. */
int evidence_join(struct fh_run *run, const struct fh_trace_source *src);

/* How a finished or unfinished call ended (for last_block and spans). */
enum fh_block_end evidence_call_end(const struct fh_event *e);

#endif
