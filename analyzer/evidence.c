/* SPDX-License-Identifier: MIT */
/*
 * Evidence (issue 5): joins the events of every trace file with the attempts of the run and
 * derives, per attempt, the `trace` object of the JSON summary: where the time went by
 * category, on-CPU time, failed calls, signals, the last blocking call of the attempt's thread
 * and how it ended, calls in flight at the end, child processes, fd/thread counts, and a
 * bounded timeline. The attribution rules are in evidence.h; the work is two streaming passes
 * over the files with per-process attempt intervals looked up by a moving cursor (binary search
 * when events are out of order), so the join is O(n log n) at worst.
 */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "evidence.h"
#include "fhtrace_format.h"
#include "footprint.h"
#include "stages.h"
#include "stackfmt.h"
#include "symbolize.h"

#define NPHASE 3
#define NONE (-1)

/* memcpy that accepts (NULL, 0): empty arrays are NULL here. */
static void copy_bytes(void *dst, const void *src, size_t n)
{
	if (n)
		memcpy(dst, src, n);
}

/* ---- small hash maps ---- */

struct smap { /* string -> int; keys borrowed */
	const char **keys;
	int *vals;
	size_t cap, n;
};

static size_t shash(const char *s)
{
	return (size_t)fnv64(FNV64_INIT, s, strlen(s));
}

static void smap_put(struct smap *m, const char *key, int val);

static void smap_grow(struct smap *m)
{
	struct smap old = *m;

	m->cap = old.cap ? old.cap * 2 : 64;
	m->keys = xcalloc(m->cap, sizeof(*m->keys));
	m->vals = xcalloc(m->cap, sizeof(*m->vals));
	m->n = 0;
	for (size_t i = 0; i < old.cap; i++)
		if (old.keys[i])
			smap_put(m, old.keys[i], old.vals[i]);
	free(old.keys);
	free(old.vals);
}

static int *smap_slot(struct smap *m, const char *key, bool create)
{
	size_t i;

	if (!m->cap) {
		if (!create)
			return NULL;
		smap_grow(m);
	}
	for (i = shash(key) & (m->cap - 1); m->keys[i]; i = (i + 1) & (m->cap - 1))
		if (!strcmp(m->keys[i], key))
			return &m->vals[i];
	if (!create)
		return NULL;
	if (2 * (m->n + 1) > m->cap) {
		smap_grow(m);
		return smap_slot(m, key, true);
	}
	m->keys[i] = key;
	m->n++;
	return &m->vals[i];
}

static void smap_put(struct smap *m, const char *key, int val)
{
	*smap_slot(m, key, true) = val;
}

static void smap_free(struct smap *m)
{
	free(m->keys);
	free(m->vals);
	memset(m, 0, sizeof(*m));
}

struct imap { /* int -> int */
	int *keys, *vals;
	bool *used;
	size_t cap, n;
};

static void imap_put(struct imap *m, int key, int val);

static void imap_grow(struct imap *m)
{
	struct imap old = *m;

	m->cap = old.cap ? old.cap * 2 : 64;
	m->keys = xcalloc(m->cap, sizeof(int));
	m->vals = xcalloc(m->cap, sizeof(int));
	m->used = xcalloc(m->cap, sizeof(bool));
	m->n = 0;
	for (size_t i = 0; i < old.cap; i++)
		if (old.used[i])
			imap_put(m, old.keys[i], old.vals[i]);
	free(old.keys);
	free(old.vals);
	free(old.used);
}

static size_t ihash(int k)
{
	uint64_t x = (uint32_t)k * 0x9e3779b97f4a7c15ULL;

	return (size_t)(x >> 17);
}

static int imap_get(const struct imap *m, int key)
{
	if (!m->cap)
		return NONE;
	for (size_t i = ihash(key) & (m->cap - 1); m->used[i]; i = (i + 1) & (m->cap - 1))
		if (m->keys[i] == key)
			return m->vals[i];
	return NONE;
}

static void imap_put(struct imap *m, int key, int val)
{
	size_t i;

	if (2 * (m->n + 1) > m->cap)
		imap_grow(m);
	for (i = ihash(key) & (m->cap - 1); m->used[i]; i = (i + 1) & (m->cap - 1))
		if (m->keys[i] == key) {
			m->vals[i] = val;
			return;
		}
	m->used[i] = true;
	m->keys[i] = key;
	m->vals[i] = val;
	m->n++;
}

static void imap_free(struct imap *m)
{
	free(m->keys);
	free(m->vals);
	free(m->used);
	memset(m, 0, sizeof(*m));
}

/* ---- join state ---- */

struct interval {
	int64_t begin, end;
	int acc;
	int tid;
	bool ended;
	int64_t cpu_begin, cpu_end;
	int fds, threads;
	int64_t phase_begin[NPHASE], phase_end[NPHASE];
};

struct tgt { /* fd -> target from time t on; chained newest first per fd */
	int64_t t;
	const char *target; /* interned */
	int next;           /* older entry of the same fd, NONE */
};

struct proc {
	int pid, ppid;
	int64_t start, last;  /* first and last event time */
	const char *exe;      /* interned; may be NULL */
	struct interval *iv; size_t niv, civ;       /* from markers */
	struct interval *riv; size_t nriv, criv;    /* from attempt records */
	struct tgt *tg; size_t ntg, ctg;
	struct imap fd2tg;    /* fd -> newest tg entry */
	bool marks;           /* has attempt markers */
	int owner;            /* acc of a child process; NONE */
	int resolving;        /* 0 new, 1 in progress, 2 done */
	bool loaded;          /* a trace file of it was read */
	bool stopped;         /* a file of it stopped early (full, dropped events) */
	int exit_status;      /* raw wait status; -1 unknown */
	int64_t exit_ns;
};

struct span {
	int lane;
	int64_t start, dur;
	enum fh_category cat;
	const char *call, *target;
	int64_t result;
	const char *err_name;
	enum fh_block_end end;
};

struct errc {
	const char *call, *err_name, *target;
	int count;
	int call_id;
};

struct acc {
	struct fh_attempt *att;   /* NULL until synthesized */
	struct fh_test *test;
	int attempt_no;
	int end_outcome;          /* the end marker's outcome (enum fh_outcome); -1 none */
	int64_t begin, end, fail_ns;
	int pid, tid;
	bool have_iv, ended;
	bool failing;             /* the record says failed/error (or no record: the process died) */
	int when;                 /* phase that decided the failure */
	int64_t cpu_begin, cpu_end;
	int fds, threads;
	double time_ns[FH_CAT_COUNT];
	struct errc *errs; size_t nerrs, cerrs;
	struct fh_signal_ev *sigs; size_t nsigs, csigs;
	struct fh_inflight *infl; size_t ninfl, cinfl;
	int64_t *infl_start; size_t cinfl_start;
	bool *infl_open;          /* the call never completed: its time runs to the reference */
	size_t cinfl_open;
	struct fh_call_stat *stats; size_t nstats, cstats;
	struct span *spans; size_t nspans, cspans; /* min-heap by dur */
	struct fh_lane *lanes; size_t nlanes, clanes;
	const struct fh_event *lb_ev; /* candidate in the current file */
	const char *lb_target;
	bool lb_socket;
	const struct fh_event *lbx_ev; /* ... the last one that did not simply return */
	const char *lbx_target;
	bool lbx_socket;
	bool lb_pending;
	struct fh_block *lb;
	int kills;
	uint64_t events;
	int cache_pid, cache_tid, cache_lane; /* lane_of() of the last event */
	int64_t sleep_start, sleep_end;
	const char *sleep_call;
	int sleep_id;
	struct fh_inflight *busy; size_t nbusy, cbusy;
	struct fh_foot_raw *foot;  /* footprint events (footprint.c) */
	int fds_end, threads_end;  /* counts at the end marker; -1 unknown */
};

struct join {
	struct fh_run *run;
	struct arena *A;          /* run->arena */
	struct acc *acc; size_t nacc, cacc;
	struct proc *procs; size_t nprocs, cprocs;
	struct imap pid2proc;     /* pid -> latest proc index with that pid */
	struct smap tests;        /* nodeid -> test index */
	struct smap strings;      /* interned strings (values unused) */
	int *touched; size_t ntouched, ctouched;
	size_t *test_first;       /* first acc of each test (recorded attempts are contiguous) */
	int *orphans; size_t norphans, corphans; /* accs of markers without a record */
	bool synthesized;
};

static const char *intern(struct join *j, const char *s)
{
	size_t i;

	if (!s)
		return NULL;
	if (!j->strings.cap)
		smap_grow(&j->strings);
	for (i = shash(s) & (j->strings.cap - 1); j->strings.keys[i];
	     i = (i + 1) & (j->strings.cap - 1))
		if (!strcmp(j->strings.keys[i], s))
			return j->strings.keys[i];
	s = arena_strdup(j->A, s);
	smap_put(&j->strings, s, 0);
	return s;
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
	int *ti, a;
	struct fh_test *t;

	if (!nodeid || attempt_no <= 0)
		return NONE;
	ti = smap_slot(&j->tests, nodeid, false);
	if (!ti)
		return NONE;
	t = &j->run->tests[*ti];
	for (size_t k = 0; k < t->nattempts; k++)
		if (j->acc[j->test_first[*ti] + k].attempt_no == attempt_no)
			return (int)(j->test_first[*ti] + k);
	for (size_t i = 0; i < j->norphans; i++)
		if (j->acc[j->orphans[i]].test == t && j->acc[j->orphans[i]].attempt_no == attempt_no)
			return j->orphans[i];
	a = acc_new(j, t, NULL, attempt_no);
	GROW(j->orphans, j->corphans, j->norphans + 1);
	j->orphans[j->norphans++] = a;
	return a;
}

/* ---- classification helpers: what a call means comes from its flags (fhtrace_calls.h) ---- */

static bool streq(const char *s, const char *n)
{
	return s && !strcmp(s, n);
}

enum fh_block_end evidence_call_end(const struct fh_event *e)
{
	if (!e->done)
		return FH_END_IN_FLIGHT;
	if (e->err_name) {
		if (!strcmp(e->err_name, "EINTR"))
			return FH_END_SIGNAL;
		if (!strcmp(e->err_name, "ETIMEDOUT"))
			return FH_END_TIMEOUT;
		return FH_END_ERROR;
	}
	if ((e->cflags & FHF_POLL) && e->result == 0 && e->timeout_ns != 0)
		return FH_END_TIMEOUT;
	return FH_END_RETURNED;
}

/* Errors worth listing: not the normal results of non-blocking I/O. */
static bool is_listed_error(const struct fh_event *e)
{
	const char *n = e->err_name;

	if (!n)
		return false;
	if (!strcmp(n, "EINPROGRESS") || !strcmp(n, "EINTR"))
		return false;
	if ((!strcmp(n, "EAGAIN") || !strcmp(n, "EWOULDBLOCK")) &&
	    (e->category == FH_CAT_NET || e->category == FH_CAT_POLL || e->category == FH_CAT_FILE))
		return false;
	if (!strcmp(n, "ETIMEDOUT") && (e->cflags & FHF_LOCK))
		return false; /* a timed wait that ran out: counted as a timeout, not an error */
	/* a look at a path that is not there, a bind to a port that is taken: the footprint's
	 * reads (found or not), not failures of the attempt */
	if (fht_call_foot(e->cflags) == FHT_FOOT_STAT ||
	    (fht_call_foot(e->cflags) == FHT_FOOT_BIND && !strcmp(n, "EADDRINUSE")))
		return false;
	return true;
}

/* Calls that count as the thread waiting for something (last_block candidates). */
static bool is_blocking(const struct fh_event *e)
{
	int64_t dur = e->done ? e->end_ns - e->start_ns : INT64_MAX;

	if (e->timeout_ns == 0 && e->done)
		return false;
	switch (e->category) {
	case FH_CAT_NET: case FH_CAT_DNS: case FH_CAT_SLEEP: case FH_CAT_LOCK:
	case FH_CAT_POLL: case FH_CAT_PROC:
		return true;
	default:
		return dur >= 1000000;
	}
}

/* SO_ERROR reported through getsockopt: the preload records the socket error as err. */
static const char *error_call(const struct fh_event *e)
{
	return e->call_name ? e->call_name : "?";
}

static const char *signame(struct join *j, int sig)
{
	const char *n = sig > 0 ? sigabbrev_np(sig) : NULL;
	char tmp[32];

	if (n) {
		snprintf(tmp, sizeof(tmp), "SIG%s", n);
		return intern(j, tmp);
	}
	snprintf(tmp, sizeof(tmp), "SIG%d", sig);
	return intern(j, tmp);
}

/* Resolves the target of fd in process p at time t (inherited from ancestors). */
static const char *fd_target(struct join *j, int pi, int fd, int64_t t)
{
	for (int depth = 0; pi != NONE && depth < 8 && fd >= 0; depth++) {
		struct proc *p = &j->procs[pi];
		int k = imap_get(&p->fd2tg, fd);

		for (; k != NONE; k = p->tg[k].next)
			if (p->tg[k].t <= t)
				return p->tg[k].target[0] ? p->tg[k].target : NULL;
		t = p->start;
		pi = p->ppid > 0 ? imap_get(&j->pid2proc, p->ppid) : NONE;
		if (pi != NONE && j->procs[pi].start > t)
			pi = NONE;
	}
	return NULL;
}

static void add_target(struct join *j, struct proc *p, int fd, int64_t t, const char *target)
{
	int head = imap_get(&p->fd2tg, fd), k, prev = NONE;

	if (head != NONE && !strcmp(p->tg[head].target, target) && p->tg[head].t <= t)
		return;
	GROW(p->tg, p->ctg, p->ntg + 1);
	p->tg[p->ntg] = (struct tgt){ t, intern(j, target), NONE };
	/* keep the chain newest first (threads are read one file at a time) */
	for (k = head; k != NONE && p->tg[k].t > t; k = p->tg[k].next)
		prev = k;
	p->tg[p->ntg].next = k;
	if (prev == NONE)
		imap_put(&p->fd2tg, fd, (int)p->ntg);
	else
		p->tg[prev].next = (int)p->ntg;
	p->ntg++;
}

static const char *ev_target(struct join *j, int pi, const struct fh_event *e)
{
	if (e->target && e->target[0])
		return intern(j, e->target);
	return fd_target(j, pi, e->fd, e->start_ns);
}

/* The name of call id (an interrupted call), NULL for an id the table does not have. */
static const char *call_name_of(int id)
{
	return id >= 0 && fht_call((unsigned)id) ? fht_calls[id].name : NULL;
}

/* ---- markers, processes, records ---- */

struct waitrec {
	int parent, child, status;
	int64_t t0, t;
};

/* An exec a vfork child made on its parent's thread (the exec record's arg is its pid). */
struct execrec {
	int parent, child;
	const char *exe;      /* interned */
	int64_t t;
};

struct pass1 {
	struct waitrec *w; size_t nw, cw;
	struct execrec *x; size_t nx, cx;
};

static int cmp_iv(const void *a, const void *b)
{
	const struct interval *x = a, *y = b;

	return (x->begin > y->begin) - (x->begin < y->begin);
}

static int when_phase(const char *when)
{
	if (streq(when, "setup"))
		return 0;
	if (streq(when, "teardown"))
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

static void mark_event(struct join *j, struct proc *p, const struct fh_event *e)
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
		p->marks = true;
		c = &j->acc[a];
		if (!c->have_iv) { /* the first interval of an attempt defines it */
			c->have_iv = true;
			c->begin = e->start_ns;
			c->end = INT64_MAX;
			c->ended = false;
			c->fail_ns = INT64_MAX;
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
		if (iv && !iv->ended && ph >= 0 && ph < NPHASE)
			iv->phase_begin[ph] = e->start_ns;
		break;
	case FH_MARK_PHASE_END:
		if (iv && !iv->ended && ph >= 0 && ph < NPHASE) {
			iv->phase_end[ph] = e->start_ns;
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

/* Owner attempt of a process without intervals: its parent's attempt at its start. */
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

		if (n) {
			for (size_t k = 0; k < n; k++)
				if (ivs[k].begin <= p->start && p->start < ivs[k].end)
					owner = ivs[k].acc;
		} else {
			owner = resolve_owner(j, qi);
			if (owner != NONE && p->start >= j->acc[owner].end)
				owner = NONE;
		}
	}
	p = &j->procs[pi];
	p->owner = owner;
	p->resolving = 2;
	return owner;
}

/* ---- pass 2: attribution ---- */

struct cursor {
	int pi;
	size_t k;
};

/* The interval of ivs[0..n) (sorted by begin) holding t; cur->k is the last hit. */
static int interval_at(const struct interval *ivs, size_t n, struct cursor *cur, int64_t t)
{
	size_t k = cur->k < n ? cur->k : 0;

	if (!n)
		return NONE;
	if (t < ivs[k].begin || (k + 1 < n && t >= ivs[k + 1].begin)) {
		if (k + 1 < n && t >= ivs[k + 1].begin && (k + 2 >= n || t < ivs[k + 2].begin)) {
			k++;
		} else {
			size_t lo = 0, hi = n;

			while (lo < hi) {
				size_t mid = (lo + hi) / 2;
				if (ivs[mid].begin <= t)
					lo = mid + 1;
				else
					hi = mid;
			}
			if (!lo)
				return NONE;
			k = lo - 1;
		}
		cur->k = k;
	}
	return t >= ivs[k].begin && t < ivs[k].end ? ivs[k].acc : NONE;
}

static int attempt_of(struct join *j, struct cursor *cur, const struct fh_event *e)
{
	int pi = cur->pi;
	struct proc *p;

	if (pi == NONE || j->procs[pi].pid != e->pid) {
		pi = imap_get(&j->pid2proc, e->pid);
		cur->pi = pi;
		cur->k = 0;
		if (pi == NONE)
			return NONE;
	}
	p = &j->procs[pi];
	if (p->marks)
		return interval_at(p->iv, p->niv, cur, e->start_ns);
	if (p->nriv)
		return interval_at(p->riv, p->nriv, cur, e->start_ns);
	if (p->owner != NONE && e->start_ns < j->acc[p->owner].end)
		return p->owner;
	return NONE;
}

static int lane_of(struct join *j, struct acc *c, int pid, int tid)
{
	struct fh_lane *l;
	const char *exe;

	if (c->nlanes && c->cache_pid == pid && c->cache_tid == tid)
		return c->cache_lane;
	for (size_t i = 0; i < c->nlanes; i++)
		if (c->lanes[i].pid == pid && c->lanes[i].tid == tid) {
			c->cache_pid = pid;
			c->cache_tid = tid;
			c->cache_lane = (int)i;
			return (int)i;
		}
	if (c->nlanes >= FH_EV_MAX_LANES)
		return NONE;
	GROW(c->lanes, c->clanes, c->nlanes + 1);
	l = &c->lanes[c->nlanes];
	l->pid = pid;
	l->tid = tid;
	if (pid == c->pid && tid == c->tid) {
		l->label = "pytest main";
	} else if (pid == c->pid) {
		l->label = arena_printf(j->A, "thread %d", tid);
	} else {
		int pi = imap_get(&j->pid2proc, pid);
		exe = pi != NONE ? j->procs[pi].exe : NULL;
		if (tid == pid || !tid)
			l->label = arena_printf(j->A, "child %d %s", pid, exe ? exe : "");
		else
			l->label = arena_printf(j->A, "child %d thread %d", pid, tid);
	}
	return (int)c->nlanes++;
}

static void add_error(struct acc *c, int call_id, const char *call, const char *err,
		      const char *target)
{
	for (size_t i = 0; i < c->nerrs; i++) {
		struct errc *x = &c->errs[i];
		if (x->call == call && x->err_name == err && x->target == target) {
			x->count++;
			return;
		}
	}
	if (c->nerrs >= FH_EV_MAX_ERRORS) {
		/* fold into the same call and errno without target */
		for (size_t i = 0; i < c->nerrs; i++)
			if (c->errs[i].call == call && c->errs[i].err_name == err) {
				c->errs[i].count++;
				return;
			}
		return;
	}
	GROW(c->errs, c->cerrs, c->nerrs + 1);
	c->errs[c->nerrs++] = (struct errc){ call, err, target, 1, call_id };
}

static void add_stat(struct acc *c, int call_id, const char *call, enum fh_category cat,
		     const char *target, int64_t dur, enum fh_block_end end, bool main_thread)
{
	struct fh_call_stat *s = NULL;

	for (size_t i = 0; i < c->nstats; i++)
		if (c->stats[i].call == call && c->stats[i].target == target) {
			s = &c->stats[i];
			break;
		}
	if (!s && c->nstats >= FH_EV_MAX_CALLS) {
		for (size_t i = 0; i < c->nstats; i++)
			if (c->stats[i].call == call && !c->stats[i].target) {
				s = &c->stats[i];
				break;
			}
		if (!s)
			return;
	}
	if (!s) {
		GROW(c->stats, c->cstats, c->nstats + 1);
		s = &c->stats[c->nstats++];
		memset(s, 0, sizeof(*s));
		s->call = call;
		s->call_id = call_id;
		s->category = cat;
		s->target = c->nstats > FH_EV_MAX_CALLS - 1 ? NULL : target;
	}
	s->count++;
	if (end == FH_END_TIMEOUT)
		s->timeouts++;
	else if (end == FH_END_ERROR)
		s->errors++;
	s->total_s += (double)dur / 1e9;
	if (main_thread)
		s->main_s += (double)dur / 1e9;
	if ((double)dur / 1e9 > s->max_s)
		s->max_s = (double)dur / 1e9;
}

static void heap_sift_down(struct span *h, size_t n, size_t i)
{
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;
		struct span t;

		if (l < n && h[l].dur < h[m].dur)
			m = l;
		if (r < n && h[r].dur < h[m].dur)
			m = r;
		if (m == i)
			return;
		t = h[i];
		h[i] = h[m];
		h[m] = t;
		i = m;
	}
}

static void add_span(struct acc *c, const struct span *s)
{
	if (c->nspans < FH_EV_MAX_SPANS) {
		size_t i;

		GROW(c->spans, c->cspans, c->nspans + 1);
		i = c->nspans++;
		c->spans[i] = *s;
		while (i > 0) {
			size_t up = (i - 1) / 2;
			struct span t;

			if (c->spans[up].dur <= c->spans[i].dur)
				break;
			t = c->spans[up];
			c->spans[up] = c->spans[i];
			c->spans[i] = t;
			i = up;
		}
	} else if (s->dur > c->spans[0].dur) {
		c->spans[0] = *s;
		heap_sift_down(c->spans, c->nspans, 0);
	}
}

/* Python frames, then native frames symbolized with the process's module map (issue 6). */
static struct fh_stack copy_stack(struct join *j, const struct fh_event *e)
{
	struct fh_stack st = { NULL, 0 };

	symbolize_event_stack(j->run, NULL, e, &st);
	return st;
}

static void call_event(struct join *j, int pi, int a, const struct fh_event *e,
		       const char **last_net)
{
	struct acc *c = &j->acc[a];
	/* A call that never completed: its time is added at the end, up to the reference. */
	int64_t end = e->done ? e->end_ns : e->start_ns;
	int64_t clip = end < c->end ? end : c->end;
	int64_t ref = c->fail_ns < c->end ? c->fail_ns : c->end;
	int64_t dur = clip > e->start_ns ? clip - e->start_ns : 0;
	enum fh_block_end how = evidence_call_end(e);
	const char *call = e->call_name ? e->call_name : "?";
	const char *target = NULL;
	bool resolved = false, via_net = false;
	int lane;
	int cat = e->category >= 0 && e->category < FH_CAT_COUNT ? (int)e->category : FH_CAT_OTHER;

#define TARGET() (resolved ? target : (resolved = true, target = ev_target(j, pi, e)))
	if (cat == FH_CAT_NET && e->fd >= 0 && TARGET())
		*last_net = target;
	/* A wait on one fd without a target (poll after send/connect): the socket the thread
	 * just used, as Python's socket timeouts do. */
	if (cat == FH_CAT_POLL && e->arg <= 1 && !TARGET())
		via_net = (target = *last_net) != NULL;
	c->time_ns[cat] += (double)dur;
	/* In flight at the failure (failing attempts) or at the end (the others). */
	if (e->start_ns < ref && (!e->done || e->end_ns > ref) && c->ninfl < FH_EV_MAX_INFLIGHT) {
		struct fh_inflight *f;

		GROW(c->infl, c->cinfl, c->ninfl + 1);
		GROW(c->infl_start, c->cinfl_start, c->ninfl + 1);
		GROW(c->infl_open, c->cinfl_open, c->ninfl + 1);
		c->infl_start[c->ninfl] = e->start_ns;
		c->infl_open[c->ninfl] = !e->done;
		f = &c->infl[c->ninfl++];
		f->pid = e->pid;
		f->tid = e->tid;
		f->call = call;
		f->call_id = e->call;
		f->category = (enum fh_category)cat;
		f->target = TARGET();
		f->stack = copy_stack(j, e);
	}
	if (c->sleep_end && (e->pid != c->pid || e->tid != c->tid) && e->start_ns < c->sleep_end &&
	    (!e->done || e->end_ns > c->sleep_end) && c->nbusy < 8) {
		struct fh_inflight *f;

		GROW(c->busy, c->cbusy, c->nbusy + 1);
		f = &c->busy[c->nbusy++];
		f->pid = e->pid;
		f->tid = e->tid;
		f->call = call;
		f->call_id = e->call;
		f->category = (enum fh_category)cat;
		f->target = TARGET();
		f->elapsed_s = (double)(c->sleep_end - e->start_ns) / 1e9;
		f->stack.frames = NULL;
		f->stack.nframes = 0;
	}
	if (e->done && is_listed_error(e))
		add_error(c, e->call, error_call(e), e->err_name, TARGET());
	lane = lane_of(j, c, e->pid, e->tid);
	if (is_blocking(e) || dur >= 1000000) {
		struct span s = { 0 };

		add_stat(c, e->call, call, (enum fh_category)cat, TARGET(), dur, how,
			 e->pid == c->pid && e->tid == c->tid);
		s.lane = lane;
		if (s.lane != NONE) {
			s.start = e->start_ns;
			s.dur = dur;
			s.cat = (enum fh_category)cat;
			s.call = call;
			s.target = TARGET();
			s.result = e->result;
			s.err_name = e->err_name;
			s.end = how;
			add_span(c, &s);
		}
	}
	if (e->pid == c->pid && e->tid == c->tid && e->start_ns < c->fail_ns && is_blocking(e) &&
	    (!c->lb_ev || c->lb_ev->start_ns <= e->start_ns)) {
		c->lb_ev = e;
		c->lb_target = TARGET();
		/* Sockets by the record's fd kind; a wait without one (a trace written before poll
		 * records carried it) whose target is the socket the thread used last. */
		c->lb_socket = e->fdkind == FHT_FD_SOCKET || (e->fdkind == FHT_FD_UNKNOWN && via_net);
		if (how != FH_END_RETURNED) {
			c->lbx_ev = e;
			c->lbx_target = c->lb_target;
			c->lbx_socket = c->lb_socket;
		}
		if (!c->lb_pending) {
			c->lb_pending = true;
			GROW(j->touched, j->ctouched, j->ntouched + 1);
			j->touched[j->ntouched++] = a;
		}
	}
	if ((e->cflags & FHF_KILL) &&
	    (e->arg == SIGKILL || e->arg == SIGTERM || e->arg == SIGINT || e->arg == SIGQUIT))
		c->kills++;
#undef TARGET
}

static void signal_event(struct join *j, int a, const struct fh_event *e)
{
	struct acc *c = &j->acc[a];
	struct fh_signal_ev *s;

	if (c->nsigs >= FH_EV_MAX_SIGNALS)
		return;
	GROW(c->sigs, c->csigs, c->nsigs + 1);
	s = &c->sigs[c->nsigs++];
	memset(s, 0, sizeof(*s));
	s->signal = signame(j, e->signo);
	s->at_s = (double)(e->start_ns - c->begin) / 1e9;
	s->sender_pid = e->sender_pid;
	s->interrupted = call_name_of(e->interrupted_call);
	s->stack = copy_stack(j, e);
}

/* Materializes the last-block candidates found in the file that is about to be released. */
static void commit_last_blocks(struct join *j)
{
	for (size_t k = 0; k < j->ntouched; k++) {
		struct acc *c = &j->acc[j->touched[k]];
		const struct fh_event *e = c->lb_ev;
		const char *target = c->lb_target;
		bool sock = c->lb_socket;
		struct fh_block *b;
		int64_t end;

		/* A failing attempt: the last wait that ran out (or failed) is what it failed on,
		 * even when cleanup (a join in `finally`) blocked again before the phase ended. */
		if (c->fail_ns < INT64_MAX && c->lbx_ev) {
			e = c->lbx_ev;
			target = c->lbx_target;
			sock = c->lbx_socket;
		}
		c->lb_pending = false;
		c->lb_ev = NULL;
		c->lbx_ev = NULL;
		if (!e || (c->lb && c->lb->start_s > (double)(e->start_ns - c->begin) / 1e9))
			continue;
		b = c->lb ? c->lb : arena_alloc(j->A, sizeof(*b));
		end = e->done ? e->end_ns : (c->fail_ns < INT64_MAX ? c->fail_ns : c->end);
		b->call = e->call_name ? e->call_name : "?";
		b->call_id = e->call;
		b->category = e->category < FH_CAT_COUNT ? e->category : FH_CAT_OTHER;
		b->on_socket = sock;
		b->target = target;
		b->start_s = (double)(e->start_ns - c->begin) / 1e9;
		b->waited_s = end > e->start_ns ? (double)(end - e->start_ns) / 1e9 : 0;
		b->ended = evidence_call_end(e);
		b->errno_name = e->err_name;
		b->pid = e->pid;
		b->tid = e->tid;
		b->stack = copy_stack(j, e);
		c->lb = b;
	}
	j->ntouched = 0;
}

/* Reads one file's events in order: markers define intervals as they come (the marker
 * thread's file is read before the other files of its process), targets and child exits feed
 * state, calls and signals are attributed. */
static void process_file(struct join *j, struct pass1 *p1, const struct fh_trace_file *tf, int pi)
{
	struct cursor cur = { NONE, 0 };
	const char *last_net = NULL;
	struct proc *p = &j->procs[pi];

	for (size_t i = 0; i < tf->nevents; i++) {
		const struct fh_event *e = &tf->events[i];
		unsigned cf;
		int a;

		/* hostile times: nothing before the clock's start, nothing ending before it began,
		 * nothing near the end of int64 (differences stay in range) */
		if (e->start_ns <= 0 || e->start_ns > INT64_MAX / 4 ||
		    (e->done && (e->end_ns < e->start_ns || e->end_ns > INT64_MAX / 4)))
			continue;
		if (e->start_ns > p->last)
			p->last = e->start_ns;
		if (e->done && e->end_ns > p->last)
			p->last = e->end_ns;
		switch (e->type) {
		case FH_EV_MARK:
			if (e->pid == p->pid)
				mark_event(j, p, e);
			continue;
		case FH_EV_TARGET:
			if (e->fd >= 0 && e->target && e->pid == p->pid)
				add_target(j, p, e->fd, e->start_ns, e->target);
			continue;
		case FH_EV_PROC:
			if (e->target && e->pid == p->pid)
				p->exe = intern(j, e->target);
			continue;
		case FH_EV_FOOT:
			/* written right after the end marker of the attempt it describes */
			if (e->pid == p->pid && p->niv && e->foot == FHT_FOOTM_LISTENING) {
				struct acc *fc = &j->acc[p->iv[p->niv - 1].acc];
				if (fc->attempt_no == e->arg)
					foot_raw_listening(&fc->foot, j->A, e->target);
			}
			continue;
		case FH_EV_CALL:
			cf = e->cflags;
			if (e->target && e->target[0] && e->done && e->pid == p->pid) {
				int fd = (cf & FHF_RETFD) ? (int)e->result : e->fd;

				if (fd >= 0 && (e->result >= 0 || e->fd >= 0))
					add_target(j, p, fd, e->start_ns, e->target);
			} else if ((cf & FHF_RETFD) && e->done && e->pid == p->pid &&
				   e->result >= 0 && e->result <= INT_MAX) {
				/* A new fd without a target (socket() before bind/listen): the
				 * number may be reused, so forget what it named before. */
				add_target(j, p, (int)e->result, e->start_ns, "");
			}
			if ((cf & FHF_EXEC) && e->arg > 0 && e->arg <= INT_MAX && e->arg != e->pid &&
			    e->target && e->target[0]) {
				GROW(p1->x, p1->cx, p1->nx + 1);
				p1->x[p1->nx++] = (struct execrec){ e->pid, (int)e->arg,
					intern(j, e->target), e->start_ns };
			}
			if (e->done && e->result > 0 && e->result <= INT_MAX &&
			    (cf & FHF_WAIT) && e->arg >= 0 && e->arg <= INT_MAX) {
				GROW(p1->w, p1->cw, p1->nw + 1);
				p1->w[p1->nw++] = (struct waitrec){ e->pid, (int)e->result, (int)e->arg,
					e->start_ns, e->end_ns };
			}
			break;
		case FH_EV_SIGNAL:
			break;
		default:
			continue;
		}
		a = attempt_of(j, &cur, e);
		if (a == NONE)
			continue;
		j->acc[a].events++;
		if (e->type == FH_EV_CALL) {
			struct acc *c = &j->acc[a];

			if ((e->cflags & FHF_FOOT_MASK) || e->call == FH_ID_connect)
				foot_raw_add(&c->foot, j->A, e, e->pid == c->pid);

			/* the test thread's last sleep that ran its course in the call phase */
			if (e->category == FH_CAT_SLEEP && e->done && !e->err_name && e->pid == c->pid &&
			    e->tid == c->tid && p->marks && p->niv &&
			    p->iv[p->niv - 1].acc == a && p->iv[p->niv - 1].phase_begin[1] >= 0 &&
			    p->iv[p->niv - 1].phase_end[1] < 0) {
				c->sleep_start = e->start_ns;
				c->sleep_end = e->end_ns;
				c->sleep_call = e->call_name;
				c->sleep_id = e->call;
			}
			call_event(j, cur.pi, a, e, &last_net);
		} else {
			signal_event(j, a, e);
		}
	}
	commit_last_blocks(j);
}

/* ---- results ---- */

static int cmp_err(const void *a, const void *b)
{
	const struct fh_err_count *x = a, *y = b;

	return (y->count > x->count) - (y->count < x->count);
}

static int cmp_stat(const void *a, const void *b)
{
	const struct fh_call_stat *x = a, *y = b;

	return (y->total_s > x->total_s) - (y->total_s < x->total_s);
}

static int cmp_span(const void *a, const void *b)
{
	const struct fh_span *x = a, *y = b;

	return (x->start_s > y->start_s) - (x->start_s < y->start_s);
}

static const char *span_result(struct join *j, const struct span *s)
{
	switch (s->end) {
	case FH_END_IN_FLIGHT: return "in flight";
	case FH_END_TIMEOUT: return "timeout";
	case FH_END_SIGNAL: return "interrupted by a signal (EINTR)";
	default: break;
	}
	if (s->err_name)
		return arena_printf(j->A, "%lld %s", (long long)s->result, s->err_name);
	return arena_printf(j->A, "%lld", (long long)s->result);
}

/* Adds an attempt that has markers but no record to its test: its process died during it, or
 * (an end marker says how it ended) its record was lost, e.g. a records file cut short on its
 * way from a CI shard; the end marker's outcome is then the attempt's. */
static struct fh_attempt *synthesize(struct join *j, struct acc *c)
{
	struct fh_test *t = c->test;
	struct fh_attempt *arr = arena_alloc(j->A, sizeof(*arr) * (t->nattempts + 1));
	size_t pos = 0;

	while (pos < t->nattempts && t->attempts[pos].attempt < c->attempt_no)
		pos++;
	copy_bytes(arr, t->attempts, sizeof(*arr) * pos);
	copy_bytes(arr + pos + 1, t->attempts + pos, sizeof(*arr) * (t->nattempts - pos));
	{
		struct fh_attempt *a = &arr[pos];

		bool lost = c->ended && c->end_outcome >= 0 && c->end_outcome < FH_OUTCOME_COUNT;

		memset(a, 0, sizeof(*a));
		a->attempt = c->attempt_no;
		a->source_attempt = c->attempt_no;
		a->outcome = lost ? (enum fh_outcome)c->end_outcome : FH_ERROR;
		a->when = a->outcome == FH_FAILED || a->outcome == FH_ERROR ? "call" : NULL;
		a->start_ns = c->begin;
		a->stop_ns = c->end;
		a->duration_s = (double)(c->end - c->begin) / 1e9;
		a->call_s = a->duration_s;
		a->pid = c->pid;
		a->tid = c->tid;
		a->worker = "?";
		if (!lost) {
			a->error_type = "ProcessDied";
			a->error_message = "the pytest process ended during this attempt without "
					   "recording it";
		} else if (a->when) {
			a->error_type = "RecordLost";
			a->error_message = "the attempt's record is missing (its records file was cut "
					   "short); the outcome is the trace's end marker's";
		}
		a->record_file = "trace";
	}
	/* Re-point the other accs of this test at the moved attempts. */
	for (size_t i = 0; i < j->nacc; i++) {
		struct acc *o = &j->acc[i];
		if (o->test == t && o->att && o->att >= t->attempts && o->att < t->attempts + t->nattempts)
			o->att = arr + (o->att - t->attempts) + ((size_t)(o->att - t->attempts) >= pos);
	}
	t->attempts = arr;
	t->nattempts++;
	j->synthesized = true;
	return &arr[pos];
}

static void finish_attempt(struct join *j, size_t ai)
{
	struct acc *c = &j->acc[ai];
	struct fh_attempt_trace *tr;
	double span0 = (double)c->begin;
	bool died = false;

	if (!c->have_iv) {
		int pi = c->att ? imap_get(&j->pid2proc, c->pid) : NONE;

		/* record intervals only count for a traced process without markers */
		if (pi == NONE || j->procs[pi].marks || !j->procs[pi].loaded)
			return;
	}
	if (!c->att) {
		if (!c->test)
			return;
		c->att = synthesize(j, c);
		c->failing = c->att->outcome == FH_FAILED || c->att->outcome == FH_ERROR;
		c->fail_ns = c->end;
		died = !c->ended;
	} else if (!c->ended && c->have_iv) {
		int pi = imap_get(&j->pid2proc, c->pid);

		died = pi == NONE || !j->procs[pi].stopped;
	}
	{
		int64_t ref = c->fail_ns < c->end ? c->fail_ns : c->end;

		for (size_t i = 0; i < c->ninfl; i++) {
			int64_t el = ref > c->infl_start[i] ? ref - c->infl_start[i] : 0;

			c->infl[i].elapsed_s = (double)el / 1e9;
			if (c->infl_open[i])
				c->time_ns[c->infl[i].category] += (double)el;
		}
		if (c->sleep_end > ref)
			c->sleep_end = 0;
	}
	tr = arena_alloc(j->A, sizeof(*tr));
	tr->cpu_s = (c->cpu_begin >= 0 && c->cpu_end >= c->cpu_begin) ?
		(double)(c->cpu_end - c->cpu_begin) / 1e9 : 0;
	for (int k = 0; k < FH_CAT_COUNT; k++)
		tr->time_s[k] = c->time_ns[k] / 1e9;
	tr->errors = arena_alloc(j->A, sizeof(*tr->errors) * (c->nerrs + 1));
	for (size_t i = 0; i < c->nerrs; i++)
		tr->errors[i] = (struct fh_err_count){ c->errs[i].call, c->errs[i].err_name,
			c->errs[i].target, c->errs[i].count, c->errs[i].call_id, FH_ERRC_OTHER, false };
	tr->nerrors = c->nerrs;
	qsort(tr->errors, tr->nerrors, sizeof(*tr->errors), cmp_err);
	tr->signals = arena_alloc(j->A, sizeof(*tr->signals) * (c->nsigs + 1));
	copy_bytes(tr->signals, c->sigs, sizeof(*tr->signals) * c->nsigs);
	tr->nsignals = c->nsigs;
	tr->last_block = c->lb;
	tr->in_flight = arena_alloc(j->A, sizeof(*tr->in_flight) * (c->ninfl + 1));
	copy_bytes(tr->in_flight, c->infl, sizeof(*tr->in_flight) * c->ninfl);
	tr->nin_flight = c->ninfl;
	tr->children = arena_alloc(j->A, sizeof(*tr->children) * FH_EV_MAX_CHILDREN);
	for (size_t i = 0; i < j->nprocs && tr->nchildren < FH_EV_MAX_CHILDREN; i++) {
		struct proc *p = &j->procs[i];
		struct fh_child *ch;

		if (p->owner != (int)ai || p->marks || p->nriv)
			continue;
		ch = &tr->children[tr->nchildren++];
		ch->pid = p->pid;
		ch->exe = p->exe;
		ch->exit_code = -1;
		ch->start_s = (double)(p->start - c->begin) / 1e9;
		if (p->exit_status >= 0) {
			if (WIFEXITED(p->exit_status))
				ch->exit_code = WEXITSTATUS(p->exit_status);
			else if (WIFSIGNALED(p->exit_status))
				ch->signal = signame(j, WTERMSIG(p->exit_status));
			ch->duration_s = (double)(p->exit_ns - p->start) / 1e9;
		} else if (p->last >= c->end) {
			ch->duration_s = -1;
		} else {
			ch->duration_s = (double)(p->last - p->start) / 1e9;
		}
	}
	tr->fds = c->fds;
	tr->threads = c->threads;
	tr->lanes = arena_alloc(j->A, sizeof(*tr->lanes) * (c->nlanes + 1));
	copy_bytes(tr->lanes, c->lanes, sizeof(*tr->lanes) * c->nlanes);
	tr->nlanes = c->nlanes;
	tr->spans = arena_alloc(j->A, sizeof(*tr->spans) * (c->nspans + 1));
	for (size_t i = 0; i < c->nspans; i++) {
		const struct span *s = &c->spans[i];
		tr->spans[i] = (struct fh_span){ s->lane, ((double)s->start - span0) / 1e9,
			(double)s->dur / 1e9, s->cat, s->call, s->target, span_result(j, s) };
	}
	tr->nspans = c->nspans;
	qsort(tr->spans, tr->nspans, sizeof(*tr->spans), cmp_span);
	tr->fail_at_s = c->fail_ns < INT64_MAX ? (double)(c->fail_ns - c->begin) / 1e9 : -1;
	tr->events = c->events;
	tr->calls = arena_alloc(j->A, sizeof(*tr->calls) * (c->nstats + 1));
	copy_bytes(tr->calls, c->stats, sizeof(*tr->calls) * c->nstats);
	tr->ncalls = c->nstats;
	qsort(tr->calls, tr->ncalls, sizeof(*tr->calls), cmp_stat);
	/* No end marker: the process died during the attempt, unless its trace stopped early
	 * (the file could not grow, e.g. at the fd limit) while it lived on. */
	tr->unfinished = died;
	if (c->lb && c->lb->ended == FH_END_IN_FLIGHT) {
		int64_t ref = c->fail_ns < c->end ? c->fail_ns : c->end;
		int64_t st = c->begin + (int64_t)(c->lb->start_s * 1e9);

		c->lb->waited_s = ref > st ? (double)(ref - st) / 1e9 : 0;
	}
	if (c->sleep_end) {
		struct fh_block *b = arena_alloc(j->A, sizeof(*b));

		b->call = c->sleep_call ? c->sleep_call : "?";
		b->call_id = c->sleep_id;
		b->category = FH_CAT_SLEEP;
		b->start_s = (double)(c->sleep_start - c->begin) / 1e9;
		b->waited_s = (double)(c->sleep_end - c->sleep_start) / 1e9;
		b->ended = FH_END_RETURNED;
		b->pid = c->pid;
		b->tid = c->tid;
		tr->last_sleep = b;
		tr->busy_after_sleep = arena_alloc(j->A, sizeof(*tr->busy_after_sleep) * (c->nbusy + 1));
		copy_bytes(tr->busy_after_sleep, c->busy, sizeof(*c->busy) * c->nbusy);
		tr->nbusy_after_sleep = c->nbusy;
	}
	tr->kills_sent = c->kills;
	c->att->trace = tr;
	c->att->fds_end = c->fds_end;
	c->att->threads_end = c->threads_end;
	footprint_finish(c->att, j->A, c->foot, c->fds, c->threads, c->fds_end, c->threads_end);
	c->foot = NULL;
	if (tr->last_block && tr->last_block->stack.nframes && !c->att->stack_fingerprint)
		c->att->stack_fingerprint = stack_fingerprint(&tr->last_block->stack, j->A);
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
	}
	for (size_t i = 0; i < j->nprocs; i++) {
		free(j->procs[i].iv);
		free(j->procs[i].riv);
		free(j->procs[i].tg);
		imap_free(&j->procs[i].fd2tg);
	}
	free(j->acc);
	free(j->procs);
	free(j->touched);
	free(j->test_first);
	free(j->orphans);
	imap_free(&j->pid2proc);
	smap_free(&j->tests);
	smap_free(&j->strings);
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
	if (tf.exe && tf.exe[0] && (!p->exe || tf.main_file))
		p->exe = intern(j, tf.exe);
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
	process_file(j, p1, &tf, pi);
	src->release(src->ctx, i, &tf);
	return true;
}

int evidence_join(struct fh_run *run, const struct fh_trace_source *src)
{
	struct join j;
	struct pass1 p1 = { NULL, 0, 0, NULL, 0, 0 };
	struct order *ord = xcalloc(src->nfiles + 1, sizeof(*ord));
	size_t *deferred = xcalloc(src->nfiles + 1, sizeof(*deferred)), ndef = 0;
	struct imap test_tid = { 0 };

	memset(&j, 0, sizeof(j));
	j.run = run;
	j.A = &run->arena;
	j.test_first = xcalloc(run->ntests + 1, sizeof(*j.test_first));
	for (size_t t = 0; t < run->ntests; t++) {
		struct fh_test *test = &run->tests[t];

		j.test_first[t] = j.nacc;
		smap_put(&j.tests, test->nodeid, (int)t);
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
			ord[i].pid = pid;
			ord[i].tid = tid;
			ord[i].group = imap_get(&test_tid, pid) == tid ? 0 : 1;
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
		finish_attempt(&j, i);
	free(p1.w);
	free(p1.x);
	free(ord);
	free(deferred);
	imap_free(&test_tid);
	join_free(&j);
	symbolize_run_done(run);
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
	struct fh_trace_source src = { 0, dir_load, dir_release, &d, dir_peek };
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
