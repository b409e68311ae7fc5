/* SPDX-License-Identifier: MIT */
/*
 * The evidence join's second pass (evidence_int.h): each event of a file is attributed to an
 * attempt and added to its accumulator (time by category, errors, signals, calls in flight,
 * the longest calls, lanes, the last blocking call). What a call means comes from its flags
 * in the call table, never from its name.
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
#include "symbolize.h"

/* ---- classification helpers: what a call means comes from its flags (fhtrace_calls.h) ---- */

bool ev_streq(const char *s, const char *n)
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

const char *ev_signame(struct join *j, int sig)
{
	const char *n = sig > 0 ? sigabbrev_np(sig) : NULL;
	char tmp[32];

	if (n) {
		snprintf(tmp, sizeof(tmp), "SIG%s", n);
		return ev_intern(j, tmp);
	}
	snprintf(tmp, sizeof(tmp), "SIG%d", sig);
	return ev_intern(j, tmp);
}

/* The entry naming fd in process pi at time t (inherited from ancestors), NULL none; *opi
 * (when not NULL): the process whose entry it is. */
static const struct tgt *fd_entry(struct join *j, int pi, int fd, int64_t t, int *opi)
{
	for (int depth = 0; pi != NONE && depth < 8 && fd >= 0; depth++) {
		struct proc *p = &j->procs[pi];
		int k = imap_get(&p->fd2tg, fd);

		for (; k != NONE; k = p->tg[k].next)
			if (p->tg[k].t <= t) {
				if (opi)
					*opi = pi;
				return &p->tg[k];
			}
		t = p->start;
		pi = p->ppid > 0 ? imap_get(&j->pid2proc, p->ppid) : NONE;
		if (pi != NONE && j->procs[pi].start > t)
			pi = NONE;
	}
	return NULL;
}

/* The target of fd in process pi at time t, NULL none. */
static const char *fd_target(struct join *j, int pi, int fd, int64_t t)
{
	const struct tgt *g = fd_entry(j, pi, fd, t, NULL);

	return g && g->target[0] ? g->target : NULL;
}

/* fd names target (and the channel chan, or NULL; made by origin) from time t on. */
static void add_origin(struct join *j, struct proc *p, int fd, int64_t t, const char *target,
		       const char *chan, enum fd_origin origin)
{
	int head = imap_get(&p->fd2tg, fd), k, prev = NONE;

	if (head != NONE && !strcmp(p->tg[head].target, target) && p->tg[head].chan == chan &&
	    p->tg[head].t <= t && p->tg[head].origin == origin)
		return;
	GROW(p->tg, p->ctg, p->ntg + 1);
	p->tg[p->ntg] = (struct tgt){ t, ev_intern(j, target), chan, NONE, origin };
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

/* fd names target (and the channel chan, or NULL) from time t on. */
static void add_target(struct join *j, struct proc *p, int fd, int64_t t, const char *target,
		       const char *chan)
{
	add_origin(j, p, fd, t, target, chan, FDO_PLAIN);
}

/* The first process p started after t0 and by t1 (a pipe created at t0 and waited on at t1
 * leads to it); NULL none. */
static const struct spawn *spawn_after(const struct proc *p, int64_t t0, int64_t t1)
{
	const struct spawn *best = NULL;

	for (size_t k = 0; k < p->nsp; k++)
		if (p->sp[k].t >= t0 && p->sp[k].t <= t1 && (!best || p->sp[k].t < best->t))
			best = &p->sp[k];
	return best;
}

/*
 * A wait is named by what it waited for. A wait on a set of fds (poll, select, epoll; the
 * record's fd is the one that names the set, its arg how many it held) is net on sockets,
 * with the peer as target; proc on a pipe created just before this process started a child,
 * the child as target; sleep on a timerfd; other on an eventfd or anything else, named by what
 * created it. A set of several fds reads "TARGET +N". A wait on one fd without a target (a
 * trace written before poll records carried their fd) whose target is the socket the thread
 * used last is net on it, as Python's socket timeouts poll before each recv.
 */
static int wait_of(struct join *j, int pi, const struct fh_event *e, const char *last_net,
		   const char **target, const char **bare, bool *sock)
{
	int opi = NONE;
	const struct tgt *g = e->fd >= 0 ? fd_entry(j, pi, e->fd, e->start_ns, &opi) : NULL;
	const char *t = e->target && e->target[0] ? ev_intern(j, e->target) :
		g && g->target[0] ? g->target : NULL;
	int cat = FH_CAT_OTHER;

	*sock = e->fdkind == FHT_FD_SOCKET;
	if (*sock) {
		cat = FH_CAT_NET;
	} else if (g && g->origin == FDO_PIPE && e->fdkind != FHT_FD_FILE) {
		const struct spawn *s = spawn_after(&j->procs[opi], g->t, e->start_ns);

		if (s) {
			int ci = imap_get(&j->pid2proc, s->pid);
			const char *exe = ci != NONE && j->procs[ci].exe ? j->procs[ci].exe : s->exe;

			cat = FH_CAT_PROC;
			t = exe ? arena_printf(j->A, "child %d %s", s->pid, exe) :
				arena_printf(j->A, "child %d", s->pid);
		}
	} else if (g && g->origin == FDO_TIMERFD) {
		cat = FH_CAT_SLEEP;
	}
	if (!t && !g && e->arg <= 1 && last_net) {
		t = last_net;
		if (e->fdkind == FHT_FD_SOCKET || e->fdkind == FHT_FD_UNKNOWN) {
			cat = FH_CAT_NET;
			*sock = true;
		}
	}
	*bare = t ? ev_intern(j, t) : NULL;   /* what two threads could share (channel_of) */
	if (t && e->fd >= 0 && e->arg > 1 && e->arg <= INT_MAX)
		t = arena_printf(j->A, "%s +%d", t, (int)e->arg - 1);
	*target = t ? ev_intern(j, t) : NULL;
	return cat;
}

static const char *ev_target(struct join *j, int pi, const struct fh_event *e)
{
	if (e->target && e->target[0])
		return ev_intern(j, e->target);
	return fd_target(j, pi, e->fd, e->start_ns);
}

/* The name of call id (an interrupted call), NULL for an id the table does not have. */
static const char *call_name_of(int id)
{
	return id >= 0 && fht_call((unsigned)id) ? fht_calls[id].name : NULL;
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
	/* a child of an earlier attempt (a fixture's) that this one waited for */
	pi = imap_get(&j->waited, p->pid);
	if (pi != NONE && j->acc[pi].pid == p->ppid && e->start_ns >= j->acc[pi].begin &&
	    e->start_ns < j->acc[pi].end)
		return pi;
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

/* Python frames, then native frames symbolized with the process's module map, so a stack
 * reads as the program's own functions whatever machine the report is made on. */
static struct fh_stack copy_stack(struct join *j, const struct fh_event *e)
{
	struct fh_stack st = { NULL, 0 };

	symbolize_event_stack(j->syms, NULL, e, &st);
	return st;
}

/* A call still running at a reference point: who, what, on what. */
static void set_inflight(struct fh_inflight *f, const struct fh_event *e, const char *call, int cat,
			 const char *target)
{
	f->pid = e->pid;
	f->tid = e->tid;
	f->call = call;
	f->call_id = e->call;
	f->category = (enum fh_category)cat;
	f->target = target;
}

/* How a thread stands to attempt c (ownership.h). */
enum { TH_BACKGROUND, TH_OWN, TH_TALKED };

/* Whether the attempt talked to thread tid by time t (its calls from the interaction on are
 * the attempt's; what it did before was its own business). */
static bool talked(const struct acc *c, int tid, int64_t t)
{
	for (int k = 0; k < c->ntalk; k++)
		if (c->talk[k] == tid)
			return t >= c->talk_t[k];
	return false;
}

static void talk_add(struct acc *c, int tid, int64_t t)
{
	/* pytest finalizes session and module fixtures in the teardown of the last test that
	 * used them: a fixture joining or stopping its own thread there is not the test talking
	 * to it */
	if (t >= c->teardown_ns)
		return;
	for (int k = 0; k < c->ntalk; k++)
		if (c->talk[k] == tid) {
			if (t < c->talk_t[k])
				c->talk_t[k] = t;
			return;
		}
	if (c->ntalk < (int)(sizeof(c->talk) / sizeof(c->talk[0]))) {
		c->talk_t[c->ntalk] = t;
		c->talk[c->ntalk++] = tid;
	}
}

/* Whether thread tid of c's process belongs to attempt c (ownership.h). */
static bool tid_own(struct join *j, int pi, const struct acc *c, int tid)
{
	return tid == c->tid || own_belongs(&j->procs[pi].own, tid, c->tid, c->begin, c->end);
}

static int thread_rel(struct join *j, int pi, const struct acc *c, const struct fh_event *e)
{
	if (e->pid != c->pid || tid_own(j, pi, c, e->tid))
		return TH_OWN;
	return talked(c, e->tid, e->start_ns) ? TH_TALKED : TH_BACKGROUND;
}

/* Whether the thread of e belongs to attempt c, or the attempt talked to it. */
static bool thread_mine(struct join *j, int pi, const struct acc *c, const struct fh_event *e)
{
	return thread_rel(j, pi, c, e) != TH_BACKGROUND;
}

/* What call e talked through, NULL nothing two threads share only by talking: the pipe or
 * socketpair of its fd (their identity, FHF_PAIR; a slow call's lazy target on a pipe spells
 * it the same way), else the network address of a net or poll call. Not a file: two threads
 * reading one file (an import, a log) have not talked. */
static const char *channel_of(struct join *j, int pi, const struct fh_event *e,
			      const char *target, int cat)
{
	const struct tgt *g = e->fd >= 0 ? fd_entry(j, pi, e->fd, e->start_ns, NULL) : NULL;

	if (g && g->chan)
		return g->chan;
	if (!target || !target[0])
		return NULL;
	if (cat == FH_CAT_NET || (e->cflags & FHF_POLL) || !strncmp(target, "pipe:[", 6))
		return target;
	return NULL;
}

static bool mine_target(const struct acc *c, const char *chan)
{
	for (int k = 0; chan && k < c->nmine_tg; k++)
		if (!strcmp(c->mine_tg[k], chan))
			return true;
	return false;
}

/* The thread another one woke (sem_post of a lock it held, FHF_WAKE) or waited for (the lock's
 * holder when its wait began, FHF_HOLDER); 0 none. */
static int other_party(const struct fh_event *e)
{
	if (!(e->cflags & (FHF_WAKE | FHF_HOLDER)) || e->arg2 <= 0 || e->arg2 > INT_MAX ||
	    e->arg2 == e->tid)
		return 0;
	return (int)e->arg2;
}

/* Whether background call e shows its thread talking to attempt c: on a channel one of the
 * attempt's threads used, or waking or waiting for one of them. */
static bool talks_to(struct join *j, int pi, const struct acc *c, const struct fh_event *e,
		     const char *target, int cat)
{
	int other = other_party(e);

	if (other && (tid_own(j, pi, c, other) || talked(c, other, e->start_ns)))
		return true;
	return mine_target(c, channel_of(j, pi, e, target, cat));
}

/* A call of a thread that is not c's that began before c and ended in it (a read blocked on
 * a pipe since before the test, which the test's write woke): the thread talked to c. */
static void spanning_call(struct join *j, int pi, struct acc *c, const struct fh_event *e)
{
	const char *target;
	int cat = e->category >= 0 && e->category < FH_CAT_COUNT ? (int)e->category : FH_CAT_OTHER;

	if (thread_mine(j, pi, c, e))
		return;
	target = e->target && e->target[0] ? e->target : fd_target(j, pi, e->fd, e->start_ns);
	if (mine_target(c, channel_of(j, pi, e, target, cat)))
		talk_add(c, e->tid, e->end_ns);
}

/* A background thread's call: whether the attempt talked to it (talks_to: it becomes the
 * attempt's from then on), else summed apart. */
static bool background_call(struct join *j, int pi, struct acc *c, const struct fh_event *e,
			    const char *target, int cat, int64_t dur)
{
	bool seen = false;

	if (talks_to(j, pi, c, e, target, cat)) {
		talk_add(c, e->tid, e->start_ns);
		return true;
	}
	for (int k = 0; k < c->nbg; k++)
		seen |= c->bg[k] == e->tid;
	if (!seen && c->nbg < (int)(sizeof(c->bg) / sizeof(c->bg[0]))) {
		int64_t born = own_born(&j->procs[pi].own, e->tid);

		c->bg[c->nbg++] = e->tid;
		if (born && (!c->bg_born || born < c->bg_born))
			c->bg_born = born;
	}
	if (is_blocking(e)) {
		for (int k = 0; k < c->nbg; k++)
			if (c->bg[k] == e->tid)
				c->bg_tns[k] += dur;
		c->bg_ns += dur;
		if (dur > c->bg_long_ns) {
			c->bg_long_ns = dur;
			c->bg_call = e->call_name ? e->call_name : "?";
			c->bg_target = target;
			c->bg_cat = cat;
		}
	}
	return false;
}

/* The child started by process p with that pid, between t0 and t1; NULL when none. */
static const struct spawn *spawn_of(const struct proc *p, int pid, int64_t t0, int64_t t1)
{
	for (size_t k = p->nsp; k-- > 0;)
		if (p->sp[k].pid == pid && p->sp[k].t >= t0 && p->sp[k].t <= t1)
			return &p->sp[k];
	return NULL;
}

/*
 * A read of a child's /proc entry that gave nothing, soon after the attempt started the
 * child. The kernel lets a vfork parent go on at the exec before the new program's arguments
 * are in place, so /proc/PID/cmdline of a child just started can read empty; so does the
 * entry of a child that has ended. The open names the child (its /proc path), the first read
 * of that fd by the same thread says whether it was empty.
 */
static void proc_read(struct join *j, int pi, struct acc *c, const struct fh_event *e)
{
	const struct fht_call_info *ci = e->call >= 0 ? fht_call((unsigned)e->call) : NULL;
	const char *t = e->target;

	if (!ci || !e->done)
		return;
	if ((ci->flags & FHF_RETFD) && e->result >= 0 && e->result <= INT_MAX && t &&
	    !strncmp(t, "/proc/", 6) && t[6] >= '1' && t[6] <= '9') {
		char *end;
		long pid = strtol(t + 6, &end, 10);
		const struct spawn *s = *end == '/' && pid <= INT_MAX ?
			spawn_of(&j->procs[pi], (int)pid, c->begin, e->start_ns) : NULL;

		if (s) {
			c->pr_path = ev_intern(j, t);
			c->pr_fd = (int)e->result;
			c->pr_tid = e->tid;
			c->pr_pid = (int)pid;
			c->pr_after = e->start_ns - s->t;
		}
		return;
	}
	if (!c->pr_path || e->fd != c->pr_fd || e->tid != c->pr_tid ||
	    (e->call != FH_ID_read && e->call != FH_ID___read_chk))
		return;
	if (e->result == 0 && !c->ep_path) {
		c->ep_path = c->pr_path;
		c->ep_pid = c->pr_pid;
		c->ep_after = c->pr_after;
	}
	c->pr_path = NULL;
}

static void call_event(struct join *j, int pi, int a, const struct fh_event *e,
		       const char **last_net, int rel)
{
	struct acc *c = &j->acc[a];
	/* A call that never completed: its time is added at the end, up to the reference. */
	int64_t end = e->done ? e->end_ns : e->start_ns;
	int64_t clip = end < c->end ? end : c->end;
	int64_t ref = c->fail_ns < c->end ? c->fail_ns : c->end;
	int64_t dur = clip > e->start_ns ? clip - e->start_ns : 0;
	enum fh_block_end how = evidence_call_end(e);
	const char *call = e->call_name ? e->call_name : "?";
	const char *target = NULL, *bare = NULL;
	bool resolved = false, sock = e->fdkind == FHT_FD_SOCKET;
	int lane;
	int cat = e->category >= 0 && e->category < FH_CAT_COUNT ? (int)e->category : FH_CAT_OTHER;

#define TARGET() (resolved ? target : (resolved = true, target = ev_target(j, pi, e)))
	if (cat == FH_CAT_NET && e->fd >= 0 && TARGET())
		*last_net = target;
	/* time, calls, in-flight calls, spans and the last wait all see what it waited for */
	if (e->cflags & FHF_POLL) {
		cat = wait_of(j, pi, e, *last_net, &target, &bare, &sock);
		resolved = true;
	}
	if (rel == TH_BACKGROUND && background_call(j, pi, c, e, bare ? bare : TARGET(), cat, dur))
		rel = TH_TALKED;
	if (rel == TH_BACKGROUND) {
		/* background: in the timeline only */
		lane = lane_of(j, c, e->pid, e->tid);
		if (lane != NONE && (is_blocking(e) || dur >= 1000000)) {
			struct span s = { 0 };

			s.lane = lane;
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
		return;
	}
	const char *chan = channel_of(j, pi, e, bare ? bare : TARGET(), cat);

	if (rel == TH_OWN && e->pid == c->pid)
		proc_read(j, pi, c, e);

	if (rel == TH_OWN && chan && !mine_target(c, chan) &&
	    c->nmine_tg < (int)(sizeof(c->mine_tg) / sizeof(c->mine_tg[0])))
		c->mine_tg[c->nmine_tg++] = ev_intern(j, chan);
	/* The attempt's own thread woke another or waited for it: that thread talked to it. */
	if (rel == TH_OWN && e->pid == c->pid && other_party(e) &&
	    !tid_own(j, pi, c, other_party(e)))
		talk_add(c, other_party(e), e->start_ns);
	/* A thread the attempt talked to but does not own, waiting for work again (a lock or
	 * condition, a poll, the channel it talks on): idle, not still busy with the attempt's. */
	bool idle = rel == TH_TALKED &&
		(cat == FH_CAT_LOCK || (e->cflags & FHF_POLL) || mine_target(c, chan));
	c->time_ns[cat] += (double)dur;
	/* In flight at the failure (failing attempts) or at the end (the others). */
	if (!idle && e->start_ns < ref && (!e->done || e->end_ns > ref) &&
	    c->ninfl < FH_EV_MAX_INFLIGHT) {
		struct fh_inflight *f;

		GROW(c->infl, c->cinfl, c->ninfl + 1);
		GROW(c->infl_start, c->cinfl_start, c->ninfl + 1);
		GROW(c->infl_open, c->cinfl_open, c->ninfl + 1);
		c->infl_start[c->ninfl] = e->start_ns;
		c->infl_open[c->ninfl] = !e->done;
		f = &c->infl[c->ninfl++];
		set_inflight(f, e, call, cat, TARGET());
		f->stack = copy_stack(j, e);
	}
	if (!idle && c->sleep_end && (e->pid != c->pid || e->tid != c->tid) &&
	    e->start_ns < c->sleep_end &&
	    (!e->done || e->end_ns > c->sleep_end) && c->nbusy < 8) {
		struct fh_inflight *f;

		GROW(c->busy, c->cbusy, c->nbusy + 1);
		f = &c->busy[c->nbusy++];
		set_inflight(f, e, call, cat, TARGET());
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
		c->lb_socket = sock;
		c->lb_cat = cat;
		if (how != FH_END_RETURNED) {
			c->lbx_ev = e;
			c->lbx_target = c->lb_target;
			c->lbx_socket = c->lb_socket;
			c->lbx_cat = cat;
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

/* Who sent a signal (fh_signal_ev.from, .session). The plugin's time limit interrupts the
 * test thread with SIGRTMAX-3 from its own watchdog thread (plugin/hang.py); an xdist worker is
 * stopped by its controller, its parent, with SIGINT or SIGTERM. */
static void signal_sender(struct join *j, const struct acc *c, const struct fh_event *e,
			  struct fh_signal_ev *s)
{
	int pi = imap_get(&j->pid2proc, e->pid);
	int ppid = pi != NONE ? j->procs[pi].ppid : 0;
	bool worker = c->att && c->att->worker && strcmp(c->att->worker, "main") != 0;

	if (e->sender_pid <= 0 || (e->si_code > 0 && e->signo != SIGCHLD)) {
		s->from = "the kernel";
	} else if (e->sender_pid == e->pid) {
		s->from = "this process";
		s->session = e->signo == SIGRTMAX - 3;
		if (s->session)
			s->from = "flakehunter's time limit (this process)";
	} else if (ppid > 0 && e->sender_pid == ppid) {
		s->session = worker && (e->signo == SIGINT || e->signo == SIGTERM);
		s->from = s->session ? "xdist's controller (the parent process)" : "the parent process";
	} else {
		s->from = arena_printf(j->A, "pid %d", e->sender_pid);
	}
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
	s->signal = ev_signame(j, e->signo);
	s->at_s = (double)(e->start_ns - c->begin) / 1e9;
	s->sender_pid = e->sender_pid;
	signal_sender(j, c, e, s);
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
		int cat = c->lb_cat;
		struct fh_block *b;
		int64_t end;

		/* A failing attempt: the last wait that ran out (or failed) is what it failed on,
		 * even when cleanup (a join in `finally`) blocked again before the phase ended. */
		if (c->fail_ns < INT64_MAX && c->lbx_ev) {
			e = c->lbx_ev;
			target = c->lbx_target;
			sock = c->lbx_socket;
			cat = c->lbx_cat;
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
		b->category = cat >= 0 && cat < FH_CAT_COUNT ? (enum fh_category)cat : FH_CAT_OTHER;
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

/* What a call says about fds and children for later waits (wait_of): the two ends of a pipe
 * without its identity (the FHF_PAIR records with one are read in ev_process_file), the fd an
 * eventfd or timerfd call returned (named by the thread that created it), a process started. */
static void note_fds(struct join *j, struct proc *p, const struct fh_event *e)
{
	const struct fht_call_info *ci = e->call >= 0 ? fht_call((unsigned)e->call) : NULL;
	int64_t child = 0;

	if ((e->call == FH_ID_pipe || e->call == FH_ID_pipe2) && e->result == 0 &&
	    !(e->target && e->target[0])) {
		if (e->arg >= 0 && e->arg <= INT_MAX && e->arg2 >= 0 && e->arg2 <= INT_MAX &&
		    e->arg != e->arg2) {
			add_origin(j, p, (int)e->arg, e->start_ns, "", NULL, FDO_PIPE);
			add_origin(j, p, (int)e->arg2, e->start_ns, "", NULL, FDO_PIPE);
		}
	} else if ((e->call == FH_ID_eventfd || e->call == FH_ID_timerfd_create) &&
		   e->result >= 0 && e->result <= INT_MAX) {
		bool timer = e->call == FH_ID_timerfd_create;
		char buf[64];

		snprintf(buf, sizeof(buf), "%s created by thread %d", timer ? "timerfd" : "eventfd",
			 e->tid);
		add_origin(j, p, (int)e->result, e->start_ns, buf, NULL,
			   timer ? FDO_TIMERFD : FDO_EVENTFD);
	}
	if (ci && ci->printer == FHT_PR_CHILD && e->arg > 0 && e->arg <= INT_MAX)
		child = e->arg;           /* fork, clone, posix_spawn: the child's pid */
	else if ((e->cflags & FHF_EXEC) && e->arg > 0 && e->arg <= INT_MAX && e->arg != e->pid)
		child = e->arg;           /* the exec of a vfork child, on its parent's thread */
	if (child) {
		GROW(p->sp, p->csp, p->nsp + 1);
		p->sp[p->nsp++] = (struct spawn){ e->start_ns, (int)child,
			e->target && e->target[0] ? ev_intern(j, e->target) : NULL };
	}
}

/* Reads one file's events in order: markers define intervals as they come (the marker
 * thread's file is read before the other files of its process), targets and child exits feed
 * state, calls and signals are attributed. */
void ev_process_file(struct join *j, struct pass1 *p1, const struct fh_trace_file *tf, int pi)
{
	struct cursor cur = { NONE, 0 }, cur_end = { NONE, 0 };
	const char *last_net = NULL;
	struct proc *p = &j->procs[pi];
	/* The attempt marker just read in this stream: resource figures that follow it name its
	 * slot (FHT_REC_RES owner). */
	int mark_acc = NONE;
	uint32_t mark_slot = 0;
	bool mark_begin = false;

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
			if (e->pid == p->pid) {
				ev_mark_event(j, p, e);
				if ((e->mark == FH_MARK_ATTEMPT_BEGIN || e->mark == FH_MARK_ATTEMPT_END) &&
				    p->niv) {
					mark_acc = p->iv[p->niv - 1].acc;
					mark_slot = e->slot;
					mark_begin = e->mark == FH_MARK_ATTEMPT_BEGIN;
				}
			}
			continue;
		case FH_EV_RES:
			if (e->pid != p->pid)
				continue;
			if (!e->res_exit && e->owner && e->owner == mark_slot && mark_acc != NONE) {
				perf_raw_mark_res(&j->acc[mark_acc].praw, e, mark_begin);
			} else if (e->res_exit) {
				a = attempt_of(j, &cur, e);
				/* a background thread's (ownership.h) is never in the perf figures */
				if (a != NONE && e->tid != j->acc[a].tid && thread_mine(j, pi, &j->acc[a], e))
					perf_raw_thread_exit(&j->acc[a].praw, e);
			}
			continue;
		case FH_EV_SAMPLE:
			a = attempt_of(j, &cur, e);
			if (a != NONE && thread_mine(j, pi, &j->acc[a], e))
				perf_raw_sample(&j->acc[a].praw, j->A, e, j->run->meta.rootdir);
			continue;
		case FH_EV_TARGET:
			if (e->fd >= 0 && e->target && e->pid == p->pid)
				add_target(j, p, e->fd, e->start_ns, e->target, NULL);
			continue;
		case FH_EV_PROC:
			if (e->target && e->pid == p->pid)
				p->exe = ev_intern(j, e->target);
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
					add_target(j, p, fd, e->start_ns, e->target, NULL);
			} else if ((cf & FHF_RETFD) && e->done && e->pid == p->pid &&
				   e->result >= 0 && e->result <= INT_MAX) {
				/* A new fd without a target (socket() before bind/listen): the
				 * number may be reused, so forget what it named before. */
				add_target(j, p, (int)e->result, e->start_ns, "", NULL);
			}
			/* a pipe or socketpair: both fds are the channel; a pipe is named by it
			 * (as a slow call's lazy target is), a socketpair by nothing (a slow
			 * call's names its unnamed peer) */
			if ((cf & FHF_PAIR) && e->done && e->result == 0 && e->target &&
			    e->target[0] && e->pid == p->pid) {
				const char *chan = ev_intern(j, e->target);
				bool pipe = !strncmp(chan, "pipe:[", 6);

				for (int k = 0; k < 2; k++) {
					int64_t fd = k ? e->arg2 : e->arg;

					if (fd >= 0 && fd <= INT_MAX)
						add_origin(j, p, (int)fd, e->start_ns, pipe ? chan : "", chan,
							   pipe ? FDO_PIPE : FDO_PLAIN);
				}
			}
			if (e->done && e->pid == p->pid)
				note_fds(j, p, e);
			if ((cf & FHF_EXEC) && e->arg > 0 && e->arg <= INT_MAX && e->arg != e->pid &&
			    e->target && e->target[0]) {
				GROW(p1->x, p1->cx, p1->nx + 1);
				p1->x[p1->nx++] = (struct execrec){ e->pid, (int)e->arg,
					ev_intern(j, e->target), e->start_ns };
			}
			if (e->done && e->result > 0 && e->result <= INT_MAX &&
			    (cf & FHF_WAIT) && e->arg >= 0 && e->arg <= INT_MAX) {
				GROW(p1->w, p1->cw, p1->nw + 1);
				p1->w[p1->nw++] = (struct waitrec){ e->pid, (int)e->result, (int)e->arg,
					e->start_ns, e->end_ns };
			}
			break;
		case FH_EV_SIGNAL:
		case FH_EV_CHAOS:
			break;
		default:
			continue;
		}
		a = attempt_of(j, &cur, e);
		if (e->type == FH_EV_CALL && e->done && e->pid == p->pid && p->marks &&
		    (a == NONE || e->end_ns >= j->acc[a].end)) {
			int a2 = interval_at(p->iv, p->niv, &cur_end, e->end_ns);

			if (a2 != NONE && a2 != a)
				spanning_call(j, pi, &j->acc[a2], e);
		}
		if (a == NONE)
			continue;
		if (e->type == FH_EV_CHAOS) {
			/* never a call: injected time stays out of every call's and category's */
			struct acc *c = &j->acc[a];
			chaos_trace_add(&c->chaos, e, c->begin, e->pid != c->pid ? FH_CHAOS_IN_PROCESS :
					e->tid == c->tid ? FH_CHAOS_IN_TEST : FH_CHAOS_IN_THREAD);
			continue;
		}
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
			int rel = thread_rel(j, pi, c, e);

			/* a child the attempt's own thread waits for (its pid, or the one reaped) */
			if ((e->cflags & FHF_WAIT) && rel == TH_OWN && e->pid == c->pid &&
			    e->start_ns < c->teardown_ns) {
				int64_t child = e->done && e->result > 0 ? e->result : e->arg2;

				if (child > 0 && child <= INT_MAX)
					imap_put(&j->waited, (int)child, a);
			}
			call_event(j, cur.pi, a, e, &last_net, rel);
		} else {
			signal_event(j, a, e);
		}
	}
	commit_last_blocks(j);
}
