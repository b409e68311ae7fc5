/* SPDX-License-Identifier: MIT */
/*
 * Evidence: joins the events of every trace file with the attempts of the run and
 * derives, per attempt, the `trace` object of the JSON summary: where the time went by
 * category, on-CPU time, failed calls, signals, the last blocking call of the attempt's thread
 * and how it ended, calls in flight at the end, child processes, fd/thread counts, and a
 * bounded timeline. The attribution rules are in evidence.h; the work is two streaming passes
 * over the files with per-process attempt intervals looked up by a moving cursor (binary search
 * when events are out of order), so the join is O(n log n) at worst. This file reads the files
 * in order, tracks processes, markers and records, and owns the join's state (evidence_int.h);
 * evidence_events.c attributes events, evidence_result.c writes each attempt's trace.
 */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "evidence_int.h"
#include "fhtrace_format.h"
#include "footprint.h"
#include "perf_where.h"
#include "stages.h"
#include "symbolize.h"

const char *ev_intern(struct join *j, const char *s)
{
	struct hmap_slot *slot;
	bool added;

	if (!s)
		return NULL;
	slot = hmap_str(&j->strings, s, true, &added);
	if (added)
		slot->key = arena_strdup(j->A, s);
	return slot->key;
}

static int proc_get(struct join *j, int pid, int ppid)
{
	int i = imap_get(&j->pid2proc, pid);
	struct proc *p;

	if (i != NONE)
		return i;
	GROW(j->procs, j->cprocs, j->nprocs + 1);
	p = &j->procs[j->nprocs];
	memset(p, 0, sizeof(*p));
	p->pid = pid;
	p->ppid = ppid;
	p->start = INT64_MAX;
	p->last = INT64_MIN;
	p->owner = NONE;
	p->exit_status = -1;
	imap_put(&j->pid2proc, pid, (int)j->nprocs);
	return (int)j->nprocs++;
}

static int acc_new(struct join *j, struct fh_test *t, struct fh_attempt *a, int attempt_no)
{
	struct acc *c;

	GROW(j->acc, j->cacc, j->nacc + 1);
	c = &j->acc[j->nacc];
	memset(c, 0, sizeof(*c));
	c->att = a;
	c->test = t;
	c->attempt_no = attempt_no;
	c->end_outcome = -1;
	c->begin = INT64_MAX;
	c->end = INT64_MAX;
	c->fail_ns = INT64_MAX;
	c->teardown_ns = INT64_MAX;
	c->cpu_begin = c->cpu_end = -1;
	c->fds = c->threads = -1;
	c->fds_end = c->threads_end = -1;
	c->pid = a ? a->pid : 0;
	c->tid = a ? a->tid : 0;
	return (int)j->nacc++;
}

/* acc index of (nodeid, attempt); creates one without a record when the test exists. */
static int acc_find(struct join *j, const char *nodeid, int attempt_no)
{
	size_t ti;
	struct fh_test *t;
	int a;

	if (!nodeid || attempt_no <= 0)
		return NONE;
	if (!hmap_str_get(&j->tests, nodeid, &ti))
		return NONE;
	t = &j->run->tests[ti];
	for (size_t k = 0; k < t->nattempts; k++)
		if (j->acc[j->test_first[ti] + k].attempt_no == attempt_no)
			return (int)(j->test_first[ti] + k);
	for (size_t i = 0; i < j->norphans; i++)
		if (j->acc[j->orphans[i]].test == t && j->acc[j->orphans[i]].attempt_no == attempt_no)
			return j->orphans[i];
	a = acc_new(j, t, NULL, attempt_no);
	GROW(j->orphans, j->corphans, j->norphans + 1);
	j->orphans[j->norphans++] = a;
	return a;
}

/* ---- markers, processes, records ---- */

static int cmp_iv(const void *a, const void *b)
{
	const struct interval *x = a, *y = b;

	return (x->begin > y->begin) - (x->begin < y->begin);
}

static int when_phase(const char *when)
{
	if (ev_streq(when, "setup"))
		return 0;
	if (ev_streq(when, "teardown"))
		return 2;
	return 1;
}

/* The failure point when the failing phase's end marker is missing: from the record's phase
 * durations, else the attempt's end. */
static void fail_fallback(struct acc *c)
{
	if (!c->failing || c->fail_ns < INT64_MAX)
		return;
	if (c->att && c->end < INT64_MAX) {
		double s = c->att->setup_s;
		int64_t f;

		if (c->when >= 1)
			s += c->att->call_s;
		if (c->when >= 2)
			s += c->att->teardown_s;
		f = s > 0 && s < 1e6 ? c->begin + (int64_t)(s * 1e9) : INT64_MAX;
		if (f <= c->end) {
			c->fail_ns = f;
			return;
		}
	}
	c->fail_ns = c->end;
}

void ev_mark_event(struct join *j, struct proc *p, const struct fh_event *e)
{
	struct interval *iv = p->niv ? &p->iv[p->niv - 1] : NULL;
	struct acc *c = iv ? &j->acc[iv->acc] : NULL;
	int ph = e->phase;

	switch (e->mark) {
	case FH_MARK_ATTEMPT_BEGIN: {
		int a = acc_find(j, e->nodeid, e->attempt);

		if (a == NONE)
			return;
		if (iv && !iv->ended && iv->end > e->start_ns)
			iv->end = e->start_ns; /* the previous attempt never ended */
		GROW(p->iv, p->civ, p->niv + 1);
		iv = &p->iv[p->niv++];
		memset(iv, 0, sizeof(*iv));
		iv->begin = e->start_ns;
		iv->end = INT64_MAX;
		iv->acc = a;
		iv->tid = e->tid;
		for (int k = 0; k < NPHASE; k++)
			iv->phase_begin[k] = iv->phase_end[k] = -1;
		iv->phase_cpu0 = -1;
		p->marks = true;
		c = &j->acc[a];
		if (!c->have_iv) { /* the first interval of an attempt defines it */
			c->have_iv = true;
			c->begin = e->start_ns;
			c->end = INT64_MAX;
			c->ended = false;
			c->fail_ns = INT64_MAX;
			c->teardown_ns = INT64_MAX;
			c->pid = p->pid;
			c->tid = e->tid;
			c->cpu_begin = e->cpu_ns;
			c->fds = e->fds;
			c->threads = e->threads;
		}
		break;
	}
	case FH_MARK_ATTEMPT_END:
		if (iv && !iv->ended) {
			iv->end = e->start_ns;
			iv->ended = true;
			if (c->pid == p->pid && c->begin == iv->begin) {
				c->end = e->start_ns;
				c->ended = true;
				c->end_outcome = e->outcome;
				c->cpu_end = e->cpu_ns;
				c->fds_end = e->fds;
				c->threads_end = e->threads;
				fail_fallback(c);
			}
		}
		break;
	case FH_MARK_PHASE_BEGIN:
		if (iv && !iv->ended && ph >= 0 && ph < NPHASE) {
			iv->phase_begin[ph] = e->start_ns;
			iv->phase_cpu0 = e->tid == iv->tid ? e->cpu_ns : -1;
			if (ph == NPHASE - 1 && c->pid == p->pid && c->begin == iv->begin &&
			    e->start_ns < c->teardown_ns)
				c->teardown_ns = e->start_ns;
		}
		break;
	case FH_MARK_PHASE_END:
		if (iv && !iv->ended && ph >= 0 && ph < NPHASE) {
			iv->phase_end[ph] = e->start_ns;
			if (iv->phase_cpu0 >= 0 && e->tid == iv->tid && e->cpu_ns >= iv->phase_cpu0 &&
			    c->pid == p->pid && c->begin == iv->begin) {
				c->cpu_phases += e->cpu_ns - iv->phase_cpu0;
				c->have_phase_cpu = true;
			}
			iv->phase_cpu0 = -1;
			if (c->failing && ph == c->when && c->fail_ns == INT64_MAX &&
			    c->pid == p->pid && c->begin == iv->begin)
				c->fail_ns = e->start_ns;
		}
		break;
	default:
		break;
	}
}

/* Record intervals for every process (used while it has no markers). */
static void prepare_records(struct join *j)
{
	for (size_t a = 0; a < j->nacc; a++) {
		struct acc *c = &j->acc[a];
		struct interval *iv;
		struct proc *p;
		int pi;

		c->failing = !c->att || ((c->att->outcome == FH_FAILED || c->att->outcome == FH_ERROR) &&
					 !c->att->xfail);
		c->when = when_phase(c->att ? c->att->when : NULL);
		if (!c->att || c->att->start_ns <= 0 || c->att->stop_ns < c->att->start_ns)
			continue;
		pi = proc_get(j, c->att->pid, 0);
		p = &j->procs[pi];
		GROW(p->riv, p->criv, p->nriv + 1);
		iv = &p->riv[p->nriv++];
		memset(iv, 0, sizeof(*iv));
		iv->begin = c->att->start_ns;
		iv->end = c->att->stop_ns;
		iv->ended = true;
		iv->acc = (int)a;
		iv->tid = c->att->tid;
		c->begin = iv->begin;
		c->end = iv->end;
		c->ended = true;
		c->pid = c->att->pid;
		c->tid = c->att->tid;
		fail_fallback(c);
	}
	for (size_t i = 0; i < j->nprocs; i++)
		qsort(j->procs[i].riv, j->procs[i].nriv, sizeof(struct interval), cmp_iv);
}

/* When process p was started, as its parent q recorded it (the fork, clone, posix_spawn or
 * the exec of a vfork child naming p's pid, the last one at or before p's own first record),
 * else p's own start. A child slow to come up (an interpreter on a busy machine) writes its
 * first record well after its parent started it: by then the attempt that started it may
 * have ended and the next one begun, which the child's own start would wrongly give it. */
static int64_t started_at(const struct proc *q, const struct proc *p)
{
	for (size_t k = q->nsp; k-- > 0;)
		if (q->sp[k].pid == p->pid && q->sp[k].t <= p->start)
			return q->sp[k].t;
	return p->start;
}

/* Owner attempt of a process without intervals: its parent's attempt when it was started. */
static int resolve_owner(struct join *j, int pi)
{
	struct proc *p = &j->procs[pi];
	int qi, owner = NONE;

	if (p->resolving == 2)
		return p->owner;
	if (p->resolving == 1)
		return NONE; /* a cycle in hostile input */
	p->resolving = 1;
	qi = p->ppid > 0 ? imap_get(&j->pid2proc, p->ppid) : NONE;
	if (qi != NONE && qi != pi) {
		struct proc *q = &j->procs[qi];
		const struct interval *ivs = q->marks ? q->iv : q->riv;
		size_t n = q->marks ? q->niv : q->nriv;
		int64_t start = started_at(q, p);

		if (n) {
			for (size_t k = 0; k < n; k++)
				if (ivs[k].begin <= start && start < ivs[k].end)
					owner = ivs[k].acc;
		} else {
			owner = resolve_owner(j, qi);
			if (owner != NONE && start >= j->acc[owner].end)
				owner = NONE;
		}
	}
	p = &j->procs[pi];
	p->owner = owner;
	p->resolving = 2;
	return owner;
}

static void join_free(struct join *j)
{
	for (size_t i = 0; i < j->nacc; i++) {
		struct acc *c = &j->acc[i];
		free(c->errs);
		free(c->sigs);
		free(c->infl);
		free(c->stats);
		free(c->spans);
		free(c->lanes);
		free(c->busy);
		free(c->infl_start);
		free(c->infl_open);
		foot_raw_free(c->foot);
		chaos_raw_free(c->chaos);
		perf_raw_free(c->praw);
	}
	for (size_t i = 0; i < j->nprocs; i++) {
		free(j->procs[i].iv);
		free(j->procs[i].riv);
		free(j->procs[i].tg);
		free(j->procs[i].sp);
		free(j->procs[i].fx);
		hmap_free(&j->procs[i].fd2tg);
		own_free(&j->procs[i].own);
	}
	free(j->acc);
	free(j->procs);
	free(j->touched);
	free(j->test_first);
	free(j->orphans);
	hmap_free(&j->pid2proc);
	hmap_free(&j->waited);
	hmap_free(&j->tests);
	hmap_free(&j->strings);
}

/* After the last file: attempts whose process died get an end, children known only from
 * their parent's wait get an entry, every process without intervals gets an owner. */
static void finish_join(struct join *j, struct pass1 *p1)
{
	for (size_t i = 0; i < j->nprocs; i++) {
		struct proc *p = &j->procs[i];

		for (size_t k = 0; k < p->niv; k++) {
			struct interval *iv = &p->iv[k];
			struct acc *c = &j->acc[iv->acc];

			if (iv->ended || iv->end < INT64_MAX)
				goto fix_acc;
			iv->end = p->last + 1 > iv->begin ? p->last + 1 : iv->begin;
			if (c->att && c->att->stop_ns > iv->begin && c->att->stop_ns < iv->end)
				iv->end = c->att->stop_ns;
fix_acc:
			if (!iv->ended && c->pid == p->pid && c->begin == iv->begin && c->end == INT64_MAX) {
				c->end = iv->end;
				fail_fallback(c);
			}
		}
	}
	for (size_t k = 0; k < p1->nw; k++) {
		int ci = imap_get(&j->pid2proc, p1->w[k].child);

		if (ci == NONE && imap_get(&j->pid2proc, p1->w[k].parent) != NONE) {
			ci = proc_get(j, p1->w[k].child, p1->w[k].parent);
			j->procs[ci].start = j->procs[ci].last = p1->w[k].t0;
		}
		if (ci != NONE && j->procs[ci].ppid == p1->w[k].parent) {
			j->procs[ci].exit_status = p1->w[k].status;
			j->procs[ci].exit_ns = p1->w[k].t;
			if (j->procs[ci].last < p1->w[k].t0)
				j->procs[ci].last = p1->w[k].t0;
		}
	}
	/* What a vfork child exec'd, for children whose own trace does not say (no file). */
	for (size_t k = 0; k < p1->nx; k++) {
		int ci = imap_get(&j->pid2proc, p1->x[k].child);

		if (ci == NONE && imap_get(&j->pid2proc, p1->x[k].parent) != NONE) {
			ci = proc_get(j, p1->x[k].child, p1->x[k].parent);
			j->procs[ci].start = j->procs[ci].last = p1->x[k].t;
		}
		if (ci != NONE && j->procs[ci].ppid == p1->x[k].parent && !j->procs[ci].exe)
			j->procs[ci].exe = p1->x[k].exe;
	}
	for (size_t i = 0; i < j->nprocs; i++)
		if (!j->procs[i].marks && !j->procs[i].nriv)
			resolve_owner(j, (int)i);
}

struct order {
	size_t i;
	int group, pid, tid;
};

static int cmp_order(const void *a, const void *b)
{
	const struct order *x = a, *y = b;

	if (x->group != y->group)
		return x->group - y->group;
	if (x->pid != y->pid)
		return (x->pid > y->pid) - (x->pid < y->pid);
	if (x->tid != y->tid)
		return (x->tid > y->tid) - (x->tid < y->tid);
	return (x->i > y->i) - (x->i < y->i);
}

/* Loads file i and reads it; returns false when it must wait for its parent's file. */
static bool read_file_at(struct join *j, struct pass1 *p1, const struct fh_trace_source *src,
			 size_t i, bool may_defer)
{
	struct fh_trace_file tf;
	struct proc *p;
	int pi;

	memset(&tf, 0, sizeof(tf));
	if (src->load(src->ctx, i, &tf) < 0)
		return true;
	pi = proc_get(j, tf.pid, tf.ppid);
	p = &j->procs[pi];
	if (!p->ppid)
		p->ppid = tf.ppid;
	if (tf.proc_start_ns > 0 && tf.proc_start_ns < p->start)
		p->start = tf.proc_start_ns;
	if (tf.mono_anchor_ns > 0 && tf.mono_anchor_ns < p->start)
		p->start = tf.mono_anchor_ns;
	if (tf.nevents && tf.events[0].start_ns < p->start)
		p->start = tf.events[0].start_ns;
	if (!p->marks && !p->nriv && p->resolving != 2) {
		int qi = p->ppid > 0 ? imap_get(&j->pid2proc, p->ppid) : NONE;

		if (may_defer && (qi == NONE || (!j->procs[qi].loaded && !j->procs[qi].nriv))) {
			src->release(src->ctx, i, &tf);
			return false;
		}
	}
	own_put(&p->own, tf.tid, tf.creator_tid, tf.born_ns);
	if (tf.exe && tf.exe[0] && (!p->exe || tf.main_file))
		p->exe = ev_intern(j, tf.exe);
	p->loaded = true;
	if (tf.dropped || tf.full)
		p->stopped = true;
	j->run->trace_events += tf.nevents;
	j->run->trace_dropped += tf.file_dropped;   /* set on a file's first thread only */
	if (tf.file_dropped)
		j->run->trace_drop_procs++;
	for (unsigned r = 0; r < FH_DROP_REASONS; r++)
		j->run->trace_drops[r] += tf.file_drops[r];
	if (tf.map_reason && tf.map_reason < FH_DROP_REASONS) {
		j->run->trace_maps_incomplete++;
		j->run->trace_map_reasons[tf.map_reason]++;
	}
	if (!p->marks && !p->nriv && p->resolving != 2)
		resolve_owner(j, pi);
	ev_process_file(j, p1, &tf, pi);
	src->release(src->ctx, i, &tf);
	return true;
}

int evidence_join(struct fh_run *run, const struct fh_trace_source *src)
{
	struct join j;
	struct pass1 p1 = { NULL, 0, 0, NULL, 0, 0 };
	struct order *ord = xcalloc(src->nfiles + 1, sizeof(*ord));
	size_t *deferred = xcalloc(src->nfiles + 1, sizeof(*deferred)), ndef = 0;
	struct hmap test_tid = HMAP_INIT;

	memset(&j, 0, sizeof(j));
	j.run = run;
	j.A = &run->arena;
	j.test_first = xcalloc(run->ntests + 1, sizeof(*j.test_first));
	j.syms = run_syms_new(run);
	for (size_t t = 0; t < run->ntests; t++) {
		struct fh_test *test = &run->tests[t];

		j.test_first[t] = j.nacc;
		hmap_str(&j.tests, test->nodeid, true, NULL)->val = t;
		for (size_t k = 0; k < test->nattempts; k++) {
			acc_new(&j, test, &test->attempts[k], test->attempts[k].attempt);
			imap_put(&test_tid, test->attempts[k].pid, test->attempts[k].tid);
		}
	}
	prepare_records(&j);
	/* The threads that ran tests (and wrote the markers) first, then every other file by
	 * pid (parents usually before children); a child read before its parent waits. */
	for (size_t i = 0; i < src->nfiles; i++) {
		int pid = 0, tid = 0;

		ord[i].i = i;
		ord[i].group = 2;
		if (src->peek && src->peek(src->ctx, i, &pid, &tid) == 0) {
			int creator = 0;
			int64_t born = 0;

			ord[i].pid = pid;
			ord[i].tid = tid;
			ord[i].group = imap_get(&test_tid, pid) == tid ? 0 : 1;
			if (src->origin)
				src->origin(src->ctx, i, &creator, &born);
			if (creator > 0 && born > 0)
				own_put(&j.procs[proc_get(&j, pid, 0)].own, tid, creator, born);
		}
	}
	qsort(ord, src->nfiles, sizeof(*ord), cmp_order);
	for (size_t k = 0; k < src->nfiles; k++)
		if (!read_file_at(&j, &p1, src, ord[k].i, true))
			deferred[ndef++] = ord[k].i;
	for (size_t k = 0; k < ndef; k++)
		read_file_at(&j, &p1, src, deferred[k], false);
	finish_join(&j, &p1);
	for (size_t i = 0; i < j.nacc; i++)
		ev_finish_attempt(&j, i);
	free(p1.w);
	free(p1.x);
	free(ord);
	free(deferred);
	hmap_free(&test_tid);
	join_free(&j);
	run_syms_free(j.syms);
	if (j.synthesized) /* counts, verdicts and order include the new attempts */
		run_compute(run);
	return 0;
}

/* ---- evidence_attach: the run directory's trace files ---- */

/* Units are (file, thread) pairs of the files' indexes, built before the join. */
struct dir_unit {
	size_t file, thread;
	int pid, tid;
};

struct dir_source {
	struct trace_index **ix;
	size_t nix;
	struct dir_unit *u;
};

static int dir_load(void *ctx, size_t i, struct fh_trace_file *out)
{
	struct dir_source *d = ctx;

	return trace_index_load(d->ix[d->u[i].file], d->u[i].thread, out);
}

/* The unit's pid and tid from its file's index (a hint for the reading order only). */
static int dir_peek(void *ctx, size_t i, int *pid, int *tid)
{
	struct dir_source *d = ctx;

	if (d->u[i].pid <= 0 || d->u[i].tid <= 0)
		return -EINVAL;
	*pid = d->u[i].pid;
	*tid = d->u[i].tid;
	return 0;
}

static void dir_origin(void *ctx, size_t i, int *creator, int64_t *born_ns)
{
	struct dir_source *d = ctx;

	trace_index_origin(d->ix[d->u[i].file], d->u[i].thread, creator, born_ns);
}

static void dir_release(void *ctx, size_t i, struct fh_trace_file *tf)
{
	(void)ctx;
	(void)i;
	trace_free(tf);
}

int evidence_attach(struct fh_run *run)
{
	char *dir = arena_printf(&run->arena, "%s/trace", run->run_dir);
	struct dir_source d = { NULL, 0, NULL };
	struct fh_trace_source src = { 0, dir_load, dir_release, &d, dir_peek, dir_origin };
	char **paths = NULL;
	size_t npaths = 0, cap = 0;
	int ret;

	ret = trace_list(dir, &paths, &npaths);
	if (ret < 0 || !npaths) {
		run->meta.tracing = false;
		free(paths);
		return 0;
	}
	/* All indexes first (a file that cannot be read is skipped, its error printed). */
	d.ix = xcalloc(npaths, sizeof(*d.ix));
	for (size_t f = 0; f < npaths; f++) {
		if (trace_index_open(paths[f], &d.ix[f]) < 0)
			continue;
		/* A file without a thread (a header that counts a process's lost events) is one
		 * unit too, so that its losses are counted. */
		size_t nt = trace_index_nthreads(d.ix[f]);
		for (size_t t = 0; t < (nt ? nt : 1); t++) {
			GROW(d.u, cap, src.nfiles + 1);
			d.u[src.nfiles] = (struct dir_unit){ f, t, 0, 0 };
			trace_index_thread(d.ix[f], t, &d.u[src.nfiles].pid, &d.u[src.nfiles].tid);
			src.nfiles++;
		}
	}
	d.nix = npaths;
	ret = evidence_join(run, &src);
	for (size_t f = 0; f < npaths; f++) {
		trace_index_close(d.ix[f]);
		free(paths[f]);
	}
	free(d.ix);
	free(d.u);
	free(paths);
	return ret;
}
