/* SPDX-License-Identifier: MIT */
/*
 * Hang analysis: attempt->trace->hang for each hung (or interrupted) attempt, from the hang
 * snapshot the preload wrote when the attempt passed its limit (preload/hang.c, the
 * FHT_REC_SNAP records of preload/fhtrace_format.h).
 *
 * A snapshot says, per thread, which system call and which wrapped call the thread was in, its
 * stacks, and for a lock wait who held the lock; the calls themselves (their start, hence how
 * long they had waited, their target, their timeout) are in each thread's own stream, written
 * at entry and still in flight at the snapshot. So the process's files are read twice, and only
 * for processes that had a hung attempt: once for the snapshots (their time, threads, holders,
 * children), once for each thread's call in flight at that time and the fd -> target map of the
 * process (connect/accept/open before it). A child's own file gives its call in flight, with
 * the stack captured at the call's entry (calls that only wait); a child that traced nothing
 * is named by the system call the snapshot saw.
 *
 * Waiters whose locks' holders wait in turn form a wait-for graph over the snapshot's threads;
 * a cycle is a deadlock, told in one sentence ("Thread worker-one holds lock A (test_x.py:31)
 * and waits for lock B, held by worker-two, which waits for A: a deadlock."). A thread that
 * "holds" the lock it waits for while inside threading's Condition.wait is not deadlocked: the
 * waiter lock of a condition is taken by the waiter itself and released by notify().
 *
 * Runs after evidence_attach (attempt->trace exists) and before features_run; reads trace files
 * through trace.h only (hostile input: a snapshot cut short keeps what it has).
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fhtrace_format.h"
#include "hang.h"
#include "symbolize.h"
#include "trace.h"

#define MAX_SNAP_THREADS 256
#define MAX_SNAP_CHILDREN 64

static const char *const reason_names[] = { NULL, "fh-timeout", "pytest-timeout",
	"faulthandler", "SIGINT", "SIGTERM" };

/* One snapshot as read from its HEAD and the records after it. */
struct snap {
	int pid;                      /* the process it describes */
	int64_t at_ns;
	int reason;
	int64_t limit_ns;
	struct fh_hang *hang;         /* filled in the arena; threads and children as read */
	struct fh_attempt *attempt;   /* the attempt it belongs to; NULL: none */
	int child_pid[MAX_SNAP_CHILDREN]; /* pids named by CHILD records (for their files) */
	size_t nchild_pids;
};

struct hctx {
	struct fh_run *run;
	struct arena *A;
	struct snap *snaps; size_t nsnaps, csnaps;
	/* hung attempts, by pid */
	struct fh_attempt **att; size_t natt, catt;
	char **paths; size_t npaths;
	struct run_syms *syms;     /* symbolization of stacks, for this run directory only */
};

static int file_pid(const char *path)
{
	const char *b = strrchr(path, '/');
	b = b ? b + 1 : path;
	char *end;
	long v = strtol(b, &end, 10);
	return (end != b && v > 0 && v < INT32_MAX) ? (int)v : -1;
}

static enum fh_category cat_of(const struct fh_event *e)
{
	return e->category;
}

static struct fh_stack stack_of(struct hctx *h, const struct fh_event *e)
{
	struct fh_stack st = { NULL, 0 };
	if (e->nstack > 0 || e->npystack > 0)
		symbolize_event_stack(h->syms, NULL, e, &st);
	return st;
}

static const char *dup(struct hctx *h, const char *s)
{
	return s ? arena_strdup(h->A, s) : NULL;
}

/* The attempt of pid whose [start, stop] holds t; NULL when none. */
static struct fh_attempt *attempt_at(struct hctx *h, int pid, int64_t t)
{
	for (size_t i = 0; i < h->natt; i++) {
		struct fh_attempt *a = h->att[i];
		if (a->pid == pid && t >= a->start_ns && (t <= a->stop_ns || a->stop_ns <= a->start_ns))
			return a;
	}
	return NULL;
}

/* ---- pass 1: the snapshots of one thread's stream ---- */

static struct snap *new_snap(struct hctx *h, const struct fh_event *e)
{
	GROW(h->snaps, h->csnaps, h->nsnaps + 1);
	struct snap *s = &h->snaps[h->nsnaps++];
	memset(s, 0, sizeof(*s));
	s->pid = e->pid;
	s->at_ns = e->start_ns;
	s->reason = (int)e->arg;
	s->limit_ns = e->arg2;
	s->hang = arena_alloc(h->A, sizeof(*s->hang));
	s->hang->threads = arena_alloc(h->A, sizeof(struct fh_hang_thread) * MAX_SNAP_THREADS);
	s->hang->children = arena_alloc(h->A, sizeof(struct fh_hang_child) * MAX_SNAP_CHILDREN);
	s->hang->by = s->reason > 0 && s->reason < (int)ARRAY_SIZE(reason_names) ?
		reason_names[s->reason] : "api";
	s->hang->limit_s = s->limit_ns > 0 ? s->limit_ns / 1e9 : 0;
	return s;
}

/* What a thread in no wrapped call waits for, from the system call it sits in (C code calling
 * the kernel itself, or glibc's own internal calls: a mutex is a futex). */
static enum fh_category sys_category(const char *sys)
{
	static const struct { const char *sys; enum fh_category cat; } t[] = {
		{ "futex", FH_CAT_LOCK }, { "flock", FH_CAT_LOCK }, { "nanosleep", FH_CAT_SLEEP },
		{ "clock_nanosleep", FH_CAT_SLEEP }, { "wait4", FH_CAT_PROC }, { "waitid", FH_CAT_PROC },
		{ "recvfrom", FH_CAT_NET }, { "recvmsg", FH_CAT_NET }, { "accept", FH_CAT_NET },
		{ "accept4", FH_CAT_NET }, { "connect", FH_CAT_NET }, { "sendto", FH_CAT_NET },
		{ "sendmsg", FH_CAT_NET },
	};
	for (size_t i = 0; sys && i < ARRAY_SIZE(t); i++)
		if (!strcmp(sys, t[i].sys))
			return t[i].cat;
	return FH_CAT_OTHER;
}

static void snap_thread(struct hctx *h, struct snap *s, const struct fh_event *e)
{
	struct fh_hang *g = s->hang;
	if (g->nthreads >= MAX_SNAP_THREADS)
		return;
	struct fh_hang_thread *t = &g->threads[g->nthreads++];
	memset(t, 0, sizeof(*t));
	t->pid = (int)e->arg;
	t->tid = e->fd;
	t->name = dup(h, e->target);
	t->call_id = e->err >= 0 ? e->err : -1;
	const struct fht_call_info *ci = t->call_id >= 0 ? fht_call((unsigned)t->call_id) : NULL;
	t->call = ci ? ci->name : NULL;
	t->category = FH_CAT_OTHER;
	t->waited_s = -1;
	t->timeout_ns = -1;
	t->syscall = e->result == FHT_SNAP_RUNNING ? "running" : e->result == FHT_SNAP_NOSYS ?
		"blocked" : e->result < 0 ? NULL : dup(h, trace_syscall_name((int)e->result));
	t->category = sys_category(t->syscall);   /* until its wrapped call is found (pass 2) */
	t->stack = stack_of(h, e);
	t->holder_idx = -1;
}

static void snap_lock(struct hctx *h, struct snap *s, const struct fh_event *e)
{
	struct fh_hang *g = s->hang;
	int waiter = (int)e->result;
	for (size_t i = g->nthreads; i-- > 0;) {
		struct fh_hang_thread *t = &g->threads[i];
		if (t->tid != waiter)
			continue;
		struct fh_hang_holder *ho = arena_alloc(h->A, sizeof(*ho));
		memset(ho, 0, sizeof(*ho));
		ho->pid = s->pid;
		ho->tid = e->fd;
		ho->since_s = e->timeout_ns > 0 && e->timeout_ns <= s->at_ns ?
			(s->at_ns - e->timeout_ns) / 1e9 : -1;
		ho->source = e->err == FHT_HOLDER_MUTEX ? "mutex owner" : "acquired, not released";
		ho->lock = (uint64_t)e->arg;
		struct fh_stack site = stack_of(h, e);
		if (site.nframes)
			ho->site = &site.frames[0];
		t->holder = ho;
		return;
	}
}

static void snap_child(struct hctx *h, struct snap *s, const struct fh_event *e)
{
	struct fh_hang *g = s->hang;
	if (g->nchildren >= MAX_SNAP_CHILDREN)
		return;
	struct fh_hang_child *c = &g->children[g->nchildren++];
	memset(c, 0, sizeof(*c));
	c->pid = (int)e->arg;
	c->tid = e->fd;
	c->call_id = -1;
	c->category = FH_CAT_OTHER;
	c->waited_s = -1;
	c->timeout_ns = -1;
	c->syscall = e->result == FHT_SNAP_RUNNING ? "running" : e->result == FHT_SNAP_NOSYS ?
		"blocked" : e->result < 0 ? NULL : dup(h, trace_syscall_name((int)e->result));
	c->category = sys_category(c->syscall);
	if (e->target) {
		const char *nl = strchr(e->target, '\n');
		if (c->pid == c->tid || nl) {
			c->exe = nl ? arena_strndup(h->A, e->target, (size_t)(nl - e->target)) :
				dup(h, e->target);
			c->argv0 = nl ? dup(h, nl + 1) : NULL;
		}
	}
	size_t k;
	for (k = 0; k < s->nchild_pids && s->child_pid[k] != c->pid; k++)
		;
	if (k == s->nchild_pids && k < MAX_SNAP_CHILDREN)
		s->child_pid[s->nchild_pids++] = c->pid;
}

static void read_snaps(struct hctx *h, const struct fh_trace_file *tf)
{
	struct snap *s = NULL;
	for (size_t i = 0; i < tf->nevents; i++) {
		const struct fh_event *e = &tf->events[i];
		if (e->type != FH_EV_SNAP)
			continue;
		if (e->snap == FHT_SNAP_HEAD) {
			s = new_snap(h, e);
			continue;
		}
		if (!s)
			continue;
		if (e->snap == FHT_SNAP_THREAD)
			snap_thread(h, s, e);
		else if (e->snap == FHT_SNAP_LOCK)
			snap_lock(h, s, e);
		else if (e->snap == FHT_SNAP_CHILD)
			snap_child(h, s, e);
	}
}

/* ---- pass 2: the calls in flight at each snapshot ---- */

struct fdmap { int fd; int64_t at; const char *target; };

/* Targets of fds in one process, from the calls that name them (connect, accept, open). */
static void collect_targets(struct fdmap **m, size_t *n, size_t *cap, const struct fh_trace_file *tf)
{
	for (size_t i = 0; i < tf->nevents; i++) {
		const struct fh_event *e = &tf->events[i];
		if (e->type != FH_EV_CALL || !e->target || !e->target[0])
			continue;
		/* a pipe or socketpair: both fds are new, a pipe named by its identity (as the
		 * evidence join names it), a socketpair by nothing */
		if ((e->cflags & FHF_PAIR) && e->done && e->result == 0) {
			const char *shown = !strncmp(e->target, "pipe:[", 6) ? e->target : NULL;
			for (int k = 0; k < 2; k++) {
				int64_t pfd = k ? e->arg2 : e->arg;
				if (pfd < 0 || pfd > INT_MAX)
					continue;
				GROW(*m, *cap, *n + 1);
				(*m)[(*n)++] = (struct fdmap){ (int)pfd, e->start_ns, shown };
			}
			continue;
		}
		int fd = (e->cflags & FHF_RETFD) ? (e->done ? (int)e->result : -1) : e->fd;
		if (fd < 0)
			continue;
		GROW(*m, *cap, *n + 1);
		(*m)[(*n)++] = (struct fdmap){ fd, e->start_ns, e->target };
	}
}

static const char *target_at(struct fdmap *m, size_t n, int fd, int64_t t)
{
	const char *best = NULL;
	int64_t when = INT64_MIN;
	for (size_t i = 0; i < n; i++)
		if (m[i].fd == fd && m[i].at <= t && m[i].at >= when) {
			best = m[i].target;
			when = m[i].at;
		}
	return best;
}

/* The innermost call of this stream in flight at t (started before, not completed by then). */
static const struct fh_event *in_flight_at(const struct fh_trace_file *tf, int64_t t)
{
	const struct fh_event *best = NULL;
	for (size_t i = 0; i < tf->nevents; i++) {
		const struct fh_event *e = &tf->events[i];
		if (e->type != FH_EV_CALL || e->start_ns > t)
			continue;
		if (e->done && e->end_ns <= t)
			continue;
		if (!best || e->start_ns >= best->start_ns)
			best = e;
	}
	return best;
}

static void fill_call(struct hctx *h, const struct fh_event *e, int64_t t, struct fdmap *m,
		      size_t nm, const char **call, int *call_id, enum fh_category *cat,
		      bool *on_socket, const char **target, double *waited, int64_t *tmo)
{
	*call = e->call_name;
	*call_id = e->call;
	*on_socket = e->fdkind == FHT_FD_SOCKET;
	*cat = fh_wait_category(cat_of(e), *on_socket);
	*target = dup(h, e->target && e->target[0] ? e->target :
		      e->fd >= 0 ? target_at(m, nm, e->fd, t) : NULL);
	*waited = (t - e->start_ns) / 1e9;
	*tmo = e->timeout_ns;
}

/* Loads every thread of path; calls fn for each. */
static void each_thread(const char *path, void (*fn)(struct hctx *, const struct fh_trace_file *,
							void *), struct hctx *h, void *arg)
{
	struct trace_index *ix;
	if (trace_index_open(path, &ix))
		return;
	size_t nt = trace_index_nthreads(ix);
	for (size_t k = 0; k < nt; k++) {
		struct fh_trace_file tf;
		if (trace_index_load(ix, k, &tf))
			continue;
		fn(h, &tf, arg);
		trace_free(&tf);
	}
	trace_index_close(ix);
}

static void pass1(struct hctx *h, const struct fh_trace_file *tf, void *arg)
{
	(void)arg;
	read_snaps(h, tf);
}

struct p2 { int pid; struct fdmap *m; size_t nm, cm; bool targets_only; };

static void pass2(struct hctx *h, const struct fh_trace_file *tf, void *arg)
{
	struct p2 *p = arg;
	if (p->targets_only) {
		collect_targets(&p->m, &p->nm, &p->cm, tf);
		return;
	}
	for (size_t i = 0; i < h->nsnaps; i++) {
		struct snap *s = &h->snaps[i];
		if (!s->attempt)
			continue;
		struct fh_hang *g = s->hang;
		if (s->pid == tf->pid) {
			for (size_t k = 0; k < g->nthreads; k++) {
				struct fh_hang_thread *t = &g->threads[k];
				if (t->tid != tf->tid)
					continue;
				const struct fh_event *e = in_flight_at(tf, s->at_ns);
				if (!e)
					continue;
				fill_call(h, e, s->at_ns, p->m, p->nm, &t->call, &t->call_id,
					  &t->category, &t->on_socket, &t->target, &t->waited_s,
					  &t->timeout_ns);
			}
		}
		for (size_t k = 0; k < g->nchildren; k++) {
			struct fh_hang_child *c = &g->children[k];
			if (c->pid != tf->pid || c->tid != tf->tid)
				continue;
			const struct fh_event *e = in_flight_at(tf, s->at_ns);
			if (!e)
				continue;
			fill_call(h, e, s->at_ns, p->m, p->nm, &c->call, &c->call_id, &c->category,
				  &c->on_socket, &c->target, &c->waited_s, &c->timeout_ns);
			c->stack = stack_of(h, e);
		}
	}
}

/* Reads the files of process pid: targets first, then the calls in flight. */
static void read_process(struct hctx *h, int pid)
{
	struct p2 p = { pid, NULL, 0, 0, true };
	for (int round = 0; round < 2; round++) {
		p.targets_only = round == 0;
		for (size_t i = 0; i < h->npaths; i++)
			if (file_pid(h->paths[i]) == pid)
				each_thread(h->paths[i], pass2, h, &p);
	}
	free(p.m);
}

/* ---- the wait-for graph ---- */

static bool in_condition_wait(const struct fh_hang_thread *t)
{
	for (size_t i = 0; i < t->stack.nframes; i++) {
		const struct fh_stack_frame *f = &t->stack.frames[i];
		if (!f->kind || strcmp(f->kind, "python"))
			continue;
		/* the innermost Python frame */
		return f->function && strstr(f->function, "Condition.wait") && f->path &&
			strstr(f->path, "threading.py");
	}
	return false;
}

static const char *who(struct arena *A, const struct fh_hang_thread *t)
{
	if (t->name && t->name[0])
		return t->name;
	return arena_printf(A, "thread %d", t->tid);
}

static const char *site_text(struct arena *A, const struct fh_stack_frame *f)
{
	if (!f || !f->path)
		return NULL;
	const char *p = strrchr(f->path, '/');
	return arena_printf(A, "%s:%d", p ? p + 1 : f->path, f->line);
}

/* A cycle the test thread waits on (directly, or through the holders of what it waits for):
 * what hung the attempt. Cycles that do not touch it (threads deadlocked in an earlier attempt
 * and left behind) are not this attempt's deadlock. */
static void find_cycle(struct arena *A, struct fh_hang *g)
{
	int n = (int)g->nthreads;
	for (int i = 0; i < n; i++) {
		struct fh_hang_thread *t = &g->threads[i];
		if (!t->holder)
			continue;
		if (t->holder->tid == t->tid && in_condition_wait(t)) {
			t->holder = NULL;   /* a condition's waiter lock: released by notify() */
			continue;
		}
		for (int j = 0; j < n; j++)
			if (g->threads[j].tid == t->holder->tid) {
				t->holder_idx = j;
				t->holder->name = g->threads[j].name;
				t->holder->stack = g->threads[j].stack;
			}
	}
	/* the threads the test thread's wait leads to (itself first) */
	int reach[MAX_SNAP_THREADS], nreach = 0;
	for (int k = g->nthreads && g->threads[0].main ? 0 : -1; k >= 0 && nreach < n;
	     k = g->threads[k].holder_idx) {
		bool seen = false;
		for (int q = 0; q < nreach; q++)
			seen |= reach[q] == k;
		if (seen)
			break;
		reach[nreach++] = k;
	}
	for (int r = 0; r < nreach && !g->deadlock; r++) {
		int start = reach[r], k = start, steps = 0;
		while (k >= 0 && steps <= n) {
			k = g->threads[k].holder_idx;
			steps++;
			if (k == start)
				break;
		}
		if (k != start)
			continue;
		g->deadlock = true;
		g->cycle = arena_alloc(A, sizeof(int) * (size_t)steps);
		g->ncycle = (size_t)steps;
		for (int i = 0, x = start; i < steps; i++, x = g->threads[x].holder_idx)
			g->cycle[i] = x;
	}
	if (!g->deadlock)
		return;
	/* Thread t0 holds lock A (site) and waits for lock B, held by t1, which waits for
	 * lock C, held by t2, ..., which waits for A: a deadlock. t_i waits for L_i, held by
	 * t_{i+1}; t0 holds L_{k-1}, named A; L_0 is B, L_1 C, ... */
	struct buf b = BUF_INIT(1 << 12);
	size_t k = g->ncycle;
	const struct fh_hang_thread *t0 = &g->threads[g->cycle[0]];
	const struct fh_hang_thread *last = &g->threads[g->cycle[k - 1]];
	const char *siteA = site_text(A, last->holder->site);
	if (k == 1) {
		buf_printf(&b, "Thread %s waits for a lock it holds itself", who(A, t0));
		if (siteA)
			buf_printf(&b, " (taken at %s)", siteA);
		buf_puts(&b, ": a deadlock.");
	} else {
		buf_printf(&b, "Thread %s holds lock A", who(A, t0));
		if (siteA)
			buf_printf(&b, " (%s)", siteA);
		for (size_t i = 0; i + 1 < k; i++) {
			const struct fh_hang_thread *ti = &g->threads[g->cycle[i]];
			const struct fh_hang_thread *tn = &g->threads[g->cycle[i + 1]];
			const char *site = site_text(A, ti->holder->site);
			buf_printf(&b, "%s lock %c", i ? ", which waits for" : " and waits for",
				   (char)('B' + (i < 24 ? i : 24)));
			if (site && i)
				buf_printf(&b, " (%s)", site);
			buf_printf(&b, ", held by %s", who(A, tn));
			if (site && !i)
				buf_printf(&b, " (taken at %s)", site);
		}
		buf_puts(&b, ", which waits for A: a deadlock.");
	}
	g->sentence = arena_strdup(A, buf_str(&b));
	buf_free(&b);
}

/* The test thread first, then the others in the snapshot's order. */
static void main_first(struct fh_hang *g, int tid)
{
	for (size_t i = 0; i < g->nthreads; i++)
		if (g->threads[i].tid == tid) {
			g->threads[i].main = true;
			if (i) {
				struct fh_hang_thread m = g->threads[i];
				memmove(&g->threads[1], &g->threads[0], i * sizeof(m));
				g->threads[0] = m;
			}
			return;
		}
}

/* The hung attempts of one run directory: source `source` of a merged run (its own trace/ and
 * module maps; pids and clocks are per machine), or the whole run (source < 0). */
static int attach_dir(struct fh_run *run, const char *run_dir, int source)
{
	struct hctx h;
	memset(&h, 0, sizeof(h));
	h.run = run;
	h.A = &run->arena;
	for (size_t i = 0; i < run->ntests; i++)
		for (size_t k = 0; k < run->tests[i].nattempts; k++) {
			struct fh_attempt *a = &run->tests[i].attempts[k];
			if ((a->hung || a->interrupted) && a->trace && a->pid > 0 &&
			    (source < 0 || a->source == source)) {
				GROW(h.att, h.catt, h.natt + 1);
				h.att[h.natt++] = a;
			}
		}
	if (!h.natt)
		return 0;
	/* Stacks are symbolized with the module maps of RUN_DIR/trace (symbolize.h): this one's. */
	const char *saved_dir = run->run_dir;
	run->run_dir = run_dir;
	h.syms = run_syms_new(run);
	struct buf dir = BUF_INIT(1 << 16);
	buf_printf(&dir, "%s/trace", run_dir);
	int r = trace_list(buf_str(&dir), &h.paths, &h.npaths);
	buf_free(&dir);
	if (r)
		goto out;
	/* Pass 1: snapshots in the files of the processes that had a hung attempt. */
	for (size_t i = 0; i < h.npaths; i++) {
		int pid = file_pid(h.paths[i]);
		bool want = false;
		for (size_t k = 0; k < h.natt && !want; k++)
			want = h.att[k]->pid == pid;
		if (want)
			each_thread(h.paths[i], pass1, &h, NULL);
	}
	for (size_t i = 0; i < h.nsnaps; i++) {
		struct snap *s = &h.snaps[i];
		s->attempt = attempt_at(&h, s->pid, s->at_ns);
		if (!s->attempt)
			continue;
		/* The attempt's first snapshot, unless a later one is of the limit that stopped it
		 * (faulthandler_timeout, then --fh-timeout). */
		struct fh_hang *had = s->attempt->trace->hang;
		const char *want = s->attempt->hang_by;
		if (had && (!want || !strcmp(had->by, want) || strcmp(s->hang->by, want))) {
			s->attempt = NULL;
			continue;
		}
		s->attempt->trace->hang = s->hang;
	}
	/* Pass 2: the calls in flight, per process (the hung ones and their children). */
	int *done = NULL;
	size_t ndone = 0, cdone = 0;
	for (size_t i = 0; i < h.nsnaps; i++) {
		struct snap *s = &h.snaps[i];
		if (!s->attempt)
			continue;
		for (size_t c = 0; c <= s->nchild_pids; c++) {
			int pid = c == 0 ? s->pid : s->child_pid[c - 1];
			size_t k;
			for (k = 0; k < ndone && done[k] != pid; k++)
				;
			if (k < ndone)
				continue;
			GROW(done, cdone, ndone + 1);
			done[ndone++] = pid;
			read_process(&h, pid);
		}
	}
	free(done);
	for (size_t i = 0; i < h.nsnaps; i++) {
		struct snap *s = &h.snaps[i];
		if (!s->attempt)
			continue;
		struct fh_hang *g = s->hang;
		g->after_s = (s->at_ns - s->attempt->start_ns) / 1e9;
		main_first(g, s->attempt->tid);
		find_cycle(h.A, g);
	}
out:
	for (size_t i = 0; i < h.npaths; i++)
		free(h.paths[i]);
	free(h.paths);
	free(h.att);
	free(h.snaps);
	run_syms_free(h.syms);
	run->run_dir = saved_dir;
	return r;
}

int hang_attach(struct fh_run *run)
{
	if (!run->merged)
		return attach_dir(run, run->run_dir, -1);
	int ret = 0;
	for (size_t s = 0; s < run->nsources; s++) {
		int r = attach_dir(run, run->sources[s].dir, (int)s);
		if (r && !ret)
			ret = r;
	}
	return ret;
}
