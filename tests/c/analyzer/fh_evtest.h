/* SPDX-License-Identifier: MIT */
/*
 * Helpers of the evidence and diagnosis unit tests: a hand-built run (tests and attempts in
 * the model) and synthetic trace files served from memory through struct fh_trace_source.
 * Header-only (static functions) so each test program stays one file plus this.
 */
#ifndef FH_EVTEST_H
#define FH_EVTEST_H

#include <stdlib.h>
#include <string.h>

#include "evidence.h"
#include "fh_tracefile.h"
#include "fhtrace_format.h"
#include "stages.h"

#define MS 1000000LL
#define SEC 1000000000LL
#define T0 (1000 * SEC)

static inline struct fh_run *mkrun(size_t ntests)
{
	struct fh_run *r = xcalloc(1, sizeof(*r));

	r->tests = arena_alloc(&r->arena, sizeof(*r->tests) * (ntests ? ntests : 1));
	r->ntests = ntests;
	r->meta.tracing = true;
	r->run_dir = "/nonexistent";
	return r;
}

static inline void freerun(struct fh_run *r)
{
	arena_free(&r->arena);
	free(r);
}

/* outcomes: one letter per attempt, P passed, F failed, E error, S skipped. Attempt i runs
 * from T0 + i s for 0.5 s in pid/tid `pid`. */
static inline struct fh_test *mktest(struct fh_run *r, size_t idx, const char *nodeid,
				     const char *outcomes, int pid)
{
	struct fh_test *t = &r->tests[idx];
	size_t n = strlen(outcomes);

	t->nodeid = nodeid;
	t->attempts = arena_alloc(&r->arena, sizeof(*t->attempts) * n);
	t->nattempts = n;
	for (size_t i = 0; i < n; i++) {
		struct fh_attempt *a = &t->attempts[i];

		a->attempt = (int)i + 1;
		a->outcome = outcomes[i] == 'P' ? FH_PASSED : outcomes[i] == 'F' ? FH_FAILED :
			     outcomes[i] == 'E' ? FH_ERROR : FH_SKIPPED;
		a->when = a->outcome == FH_PASSED ? NULL : "call";
		a->start_ns = T0 + (int64_t)i * SEC;
		a->stop_ns = a->start_ns + SEC / 2;
		a->duration_s = 0.5;
		a->call_s = 0.5;
		a->pid = a->tid = pid;
		a->worker = "main";
		if (a->outcome == FH_PASSED)
			t->passed++;
		else if (a->outcome != FH_SKIPPED)
			t->failed++;
	}
	return t;
}

/* ---- synthetic trace files ---- */

struct memfile {
	struct fh_trace_file tf;
	size_t cap;
	bool keep_order;   /* join as written (default: sorted by time, as the preload writes) */
};

static inline void mf_init(struct memfile *m, int pid, int ppid, int tid, const char *exe)
{
	memset(m, 0, sizeof(*m));
	m->tf.pid = pid;
	m->tf.ppid = ppid;
	m->tf.tid = tid;
	m->tf.exe = exe;
	m->tf.path = "mem";
}

static inline struct fh_event *mf_add(struct memfile *m, enum fh_ev_type type, int64_t start)
{
	struct fh_event *e;

	GROW(m->tf.events, m->cap, m->tf.nevents + 1);
	e = &m->tf.events[m->tf.nevents++];
	memset(e, 0, sizeof(*e));
	e->type = type;
	e->pid = m->tf.pid;
	e->tid = m->tf.tid;
	e->start_ns = start;
	e->fd = -1;
	e->timeout_ns = -1;
	e->interrupted_call = -1;
	e->cpu_ns = -1;
	e->fds = e->threads = -1;
	return e;
}

/* A call of the table by name (its id and flags as the reader decodes them); cat is the
 * category as decoded (FDIO calls: net or file by the fd's kind). */
static inline struct fh_event *mf_call(struct memfile *m, const char *name,
				       enum fh_category cat, int64_t start, int64_t dur,
				       int64_t result, const char *err)
{
	struct fh_event *e = mf_add(m, FH_EV_CALL, start);

	e->call = call_id(name);
	e->cflags = e->call >= 0 ? fht_calls[e->call].flags : 0;
	e->call_name = name;
	e->category = cat;
	e->done = dur >= 0;
	e->end_ns = dur >= 0 ? start + dur : 0;
	e->result = result;
	e->err_name = err;
	e->err = err ? 1 : 0;
	return e;
}

static inline void mf_attempt(struct memfile *m, const char *nodeid, int attempt, int64_t begin,
			      int64_t end, int64_t cpu_begin, int64_t cpu_end, int fds)
{
	struct fh_event *e = mf_add(m, FH_EV_MARK, begin);

	e->mark = FH_MARK_ATTEMPT_BEGIN;
	e->nodeid = nodeid;
	e->attempt = attempt;
	e->cpu_ns = cpu_begin;
	e->fds = fds;
	e->threads = 1;
	e = mf_add(m, FH_EV_MARK, begin + MS);
	e->mark = FH_MARK_PHASE_BEGIN;
	e->phase = 1;
	if (end < 0)
		return;
	e = mf_add(m, FH_EV_MARK, end - MS);
	e->mark = FH_MARK_PHASE_END;
	e->phase = 1;
	e = mf_add(m, FH_EV_MARK, end);
	e->mark = FH_MARK_ATTEMPT_END;
	e->nodeid = nodeid;
	e->attempt = attempt;
	e->cpu_ns = cpu_end;
}

static inline void mf_target(struct memfile *m, int fd, const char *target, int64_t t)
{
	struct fh_event *e = mf_add(m, FH_EV_TARGET, t);

	e->fd = fd;
	e->target = target;
}

static inline int mf_load(void *ctx, size_t i, struct fh_trace_file *out)
{
	struct memfile *files = ctx;

	*out = files[i].tf;
	return 0;
}

static inline void mf_release(void *ctx, size_t i, struct fh_trace_file *tf)
{
	(void)ctx;
	(void)i;
	(void)tf;
}

static inline int mf_peek(void *ctx, size_t i, int *pid, int *tid)
{
	struct memfile *files = ctx;

	*pid = files[i].tf.pid;
	*tid = files[i].tf.tid;
	return 0;
}

/* Every thread's origin before any file is read, as evidence_attach gives it. */
static inline void mf_origin(void *ctx, size_t i, int *creator, int64_t *born_ns)
{
	struct memfile *files = ctx;

	*creator = files[i].tf.creator_tid;
	*born_ns = files[i].tf.born_ns;
}

static inline void mf_sort(struct memfile *m)
{
	struct fh_event *ev = m->tf.events;

	for (size_t i = 1; i < m->tf.nevents; i++) { /* stable insertion sort by start */
		struct fh_event x = ev[i];
		size_t k = i;

		while (k > 0 && ev[k - 1].start_ns > x.start_ns) {
			ev[k] = ev[k - 1];
			k--;
		}
		ev[k] = x;
	}
}

static inline int join_files(struct fh_run *r, struct memfile *files, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!files[i].keep_order)
			mf_sort(&files[i]);
	struct fh_trace_source src = { n, mf_load, mf_release, files, mf_peek, mf_origin };

	return evidence_join(r, &src);
}

static inline void mf_free(struct memfile *m)
{
	free(m->tf.events);
}

#endif
