/* SPDX-License-Identifier: MIT */
/*
 * Diagnosis (issue 5): names the kind of each test's flakiness from evidence that contrasts
 * its failing attempts with its passing ones, and flags performance flakes among passing
 * attempts. Deterministic and offline: the rules below run in a fixed order (documented in
 * ARCHITECTURE.md, "Diagnosis rules") and the first that separates failing from passing
 * attempts decides; each evidence line gives counts on both sides. Nothing separates: the kind
 * is `unexplained`, never a guess. Without traces only stable, broken, state and unexplained
 * can be decided.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stages.h"

/* A feature separates when at least half of the failing attempts show it, at most a fifth of
 * the passing ones do, and the rates differ by at least one half. */
static bool separates(int fc, int nf, int pc, int np)
{
	double rf, rp;

	if (nf <= 0 || fc <= 0)
		return false;
	rf = (double)fc / nf;
	rp = np > 0 ? (double)pc / np : 0;
	return rf >= 0.5 && rp <= 0.2 && rf - rp >= 0.5;
}

static bool is_fail(const struct fh_attempt *a)
{
	return (a->outcome == FH_FAILED || a->outcome == FH_ERROR) && !a->xfail;
}

static bool is_pass(const struct fh_attempt *a)
{
	return a->outcome == FH_PASSED;
}

/* Two significant digits: "0.25 s", "0.075 s", "1.5 s", "0.06 ms". */
static const char *fmt_s(struct arena *A, double s)
{
	if (s < 0)
		s = 0;
	if (s > 0 && s < 0.001)
		return arena_printf(A, "%.2g ms", s * 1000);
	if (s >= 100)
		return arena_printf(A, "%.0f s", s);
	return arena_printf(A, "%.2g s", s);
}

struct dctx {
	struct arena *A;
	struct fh_test *t;
	struct fh_diagnosis *d;
	int nf, np;              /* failing and passing attempts */
	int nf_traced, np_traced;
	int nf_all, np_all;
	const char *ev[16];
	size_t nev;
};

static void add_ev(struct dctx *c, const char *line)
{
	if (c->nev < ARRAY_SIZE(c->ev) && line)
		c->ev[c->nev++] = line;
}

static void decide(struct dctx *c, const char *kind, const char *blocked_on, const char *summary)
{
	c->d->kind = kind;
	c->d->blocked_on = blocked_on;
	c->d->summary = summary;
}

static const char *target_sfx(struct arena *A, const char *target)
{
	return target ? arena_printf(A, " on %s", target) : "";
}

static bool streq(const char *a, const char *b)
{
	return a == b || (a && b && !strcmp(a, b));
}

/* ---- crash ---- */

static bool crash_signal(const char *s)
{
	static const char *const sigs[] = { "SIGSEGV", "SIGABRT", "SIGBUS", "SIGFPE", "SIGILL",
		"SIGTRAP", "SIGSYS" };

	for (size_t i = 0; i < ARRAY_SIZE(sigs); i++)
		if (streq(s, sigs[i]))
			return true;
	return false;
}

/* The process that died in attempt a, described; NULL when none did. */
static const char *crash_of(struct arena *A, const struct fh_attempt *a)
{
	const struct fh_attempt_trace *tr = a->trace;

	if (!tr)
		return NULL;
	for (size_t i = 0; i < tr->nchildren; i++) {
		const struct fh_child *ch = &tr->children[i];
		if (!ch->signal)
			continue;
		if (crash_signal(ch->signal) || !tr->kills_sent)
			return arena_printf(A, "child %d (%s) died by %s", ch->pid,
					    ch->exe ? ch->exe : "?", ch->signal);
	}
	if (tr->unfinished && is_fail(a)) {
		const struct fh_block *b = tr->last_block;
		if (b && b->ended == FH_END_IN_FLIGHT)
			return arena_printf(A, "the pytest process died while blocked in %s%s",
					    b->call, target_sfx(A, b->target));
		return "the pytest process died during the attempt";
	}
	return NULL;
}

static bool rule_crash(struct dctx *c)
{
	int fc = 0, pc = 0;
	const char *first = NULL;

	for (size_t i = 0; i < c->t->nattempts; i++) {
		const struct fh_attempt *a = &c->t->attempts[i];
		const char *what = crash_of(c->A, a);

		if (!what)
			continue;
		if (is_fail(a)) {
			fc++;
			if (!first)
				first = what;
		} else if (is_pass(a)) {
			pc++;
		}
	}
	if (!separates(fc, c->nf, pc, c->np))
		return false;
	add_ev(c, arena_printf(c->A, "%d/%d failing attempts: %s; %d/%d passing attempts had a "
			       "process die", fc, c->nf, first, pc, c->np));
	decide(c, "crash", NULL, arena_printf(c->A, "A process of the test died in the failing "
					      "attempts: %s.", first));
	return true;
}

/* ---- resource ---- */

static bool resource_error(const struct fh_err_count *e)
{
	static const char *const lim[] = { "EMFILE", "ENFILE", "ENOSPC", "ENOMEM", "EADDRINUSE",
		"EDQUOT", "ENOBUFS" };

	for (size_t i = 0; i < ARRAY_SIZE(lim); i++)
		if (streq(e->errno_name, lim[i]))
			return true;
	if (streq(e->errno_name, "EAGAIN") && e->call &&
	    (strstr(e->call, "fork") || strstr(e->call, "clone") || strstr(e->call, "spawn") ||
	     strstr(e->call, "pthread_create")))
		return true;
	return false;
}

/* Counts attempts with an error of the same call and errno as key (target ignored). */
static void count_error(struct dctx *c, const struct fh_err_count *key,
			bool (*pred)(const struct fh_err_count *), int *fc, int *pc)
{
	*fc = *pc = 0;
	for (size_t i = 0; i < c->t->nattempts; i++) {
		const struct fh_attempt *a = &c->t->attempts[i];
		bool has = false;

		if (!a->trace)
			continue;
		for (size_t k = 0; k < a->trace->nerrors && !has; k++) {
			const struct fh_err_count *e = &a->trace->errors[k];
			has = pred(e) && streq(e->call, key->call) && streq(e->errno_name, key->errno_name);
		}
		if (has && is_fail(a))
			(*fc)++;
		else if (has && is_pass(a))
			(*pc)++;
	}
}

/* The error key (among failing attempts' errors matching pred) that separates best. */
static const struct fh_err_count *best_error(struct dctx *c, bool (*pred)(const struct fh_err_count *),
					     int *bfc, int *bpc)
{
	const struct fh_err_count *best = NULL;
	double best_score = -1;

	for (size_t i = 0; i < c->t->nattempts; i++) {
		const struct fh_attempt *a = &c->t->attempts[i];

		if (!is_fail(a) || !a->trace)
			continue;
		for (size_t k = 0; k < a->trace->nerrors; k++) {
			const struct fh_err_count *e = &a->trace->errors[k];
			int fc, pc;
			double score;

			if (!pred(e))
				continue;
			count_error(c, e, pred, &fc, &pc);
			score = (double)fc / c->nf - (c->np ? (double)pc / c->np : 0);
			if (score > best_score) {
				best_score = score;
				best = e;
				*bfc = fc;
				*bpc = pc;
			}
		}
	}
	return best;
}

static void growth_line(struct dctx *c, const char *what, bool fds)
{
	int first = -1, last = -1, fa = 0, la = 0;

	for (size_t i = 0; i < c->t->nattempts; i++) {
		const struct fh_attempt *a = &c->t->attempts[i];
		int v;

		if (!a->trace)
			continue;
		v = fds ? a->trace->fds : a->trace->threads;
		if (v < 0)
			continue;
		if (first < 0) {
			first = v;
			fa = a->attempt;
		}
		last = v;
		la = a->attempt;
	}
	if (first >= 0 && last > first)
		add_ev(c, arena_printf(c->A, "%s at attempt start grew from %d (attempt %d) to %d "
				       "(attempt %d)", what, first, fa, last, la));
}

static bool rule_resource(struct dctx *c)
{
	int fc = 0, pc = 0;
	const struct fh_err_count *e = best_error(c, resource_error, &fc, &pc);

	if (!e || !separates(fc, c->nf, pc, c->np))
		return false;
	add_ev(c, arena_printf(c->A, "%d/%d failing attempts: %s failed with %s%s; %d/%d passing "
			       "attempts had that error", fc, c->nf, e->call, e->errno_name,
			       target_sfx(c->A, e->target), pc, c->np));
	growth_line(c, "open fds", true);
	growth_line(c, "threads", false);
	decide(c, "resource", NULL, arena_printf(c->A, "A resource limit was hit: %s failed with %s "
						 "in the failing attempts.", e->call, e->errno_name));
	return true;
}

/* ---- state (needs no traces) ---- */

static bool rule_state(struct dctx *c)
{
	int k = 0, m = 0, first_fail = 0, last = 0;
	bool failing = false;

	for (size_t i = 0; i < c->t->nattempts; i++) {
		const struct fh_attempt *a = &c->t->attempts[i];

		if (!is_fail(a) && !is_pass(a))
			continue;
		if (is_pass(a)) {
			if (failing)
				return false;
			k++;
		} else {
			if (!failing)
				first_fail = a->attempt;
			failing = true;
			m++;
		}
		last = a->attempt;
	}
	if (k < 1 || m < 2)
		return false;
	add_ev(c, arena_printf(c->A, "%d/%d attempts before attempt %d passed; %d/%d attempts from "
			       "attempt %d to %d failed", k, k, first_fail, m, m, first_fail, last));
	add_ev(c, "failures start after earlier runs of the test in the same process and never "
	       "recover: something the test (or its fixtures) leaves behind accumulates");
	decide(c, "state", NULL, arena_printf(c->A, "The outcome depends on what ran before: the "
					      "first %d attempt%s passed, every later one failed.",
					      k, k == 1 ? "" : "s"));
	return true;
}

/* ---- timeout ---- */

static bool looks_like_socket(const char *t)
{
	return t && (strchr(t, ':') || !strncmp(t, "unix", 4) || t[0] == '[');
}

static const char *blocked_class(enum fh_category cat, const char *target)
{
	switch (cat) {
	case FH_CAT_NET: return "net";
	case FH_CAT_DNS: return "dns";
	case FH_CAT_SLEEP: return "sleep";
	case FH_CAT_LOCK: return "lock";
	case FH_CAT_PROC: return "proc";
	case FH_CAT_FILE: return "file";
	case FH_CAT_POLL: return looks_like_socket(target) ? "net" : "other";
	default: return "other";
	}
}

/* A wait that ran out in attempt a: its last block ended by timeout or signal, or a child it
 * killed itself after waiting. Fills the blocked_on class and a description. */
static bool ran_out(struct arena *A, const struct fh_attempt *a, const char **cls, const char **what,
		    const struct fh_block **blk)
{
	const struct fh_attempt_trace *tr = a->trace;
	const struct fh_block *b;

	if (!tr)
		return false;
	b = tr->last_block;
	*blk = NULL;
	if (b && (b->ended == FH_END_TIMEOUT || b->ended == FH_END_SIGNAL)) {
		*cls = blocked_class(b->category, b->target);
		*what = arena_printf(A, "%s%s waited %s and %s", b->call, target_sfx(A, b->target),
				     fmt_s(A, b->waited_s),
				     b->ended == FH_END_TIMEOUT ? "timed out" : "was cut by a signal");
		*blk = b;
		return true;
	}
	if (tr->kills_sent) {
		for (size_t i = 0; i < tr->nchildren; i++) {
			const struct fh_child *ch = &tr->children[i];
			if (ch->signal && !crash_signal(ch->signal)) {
				*cls = "proc";
				*what = arena_printf(A, "child %s was killed by %s after %s",
						     ch->exe ? ch->exe : "?", ch->signal,
						     fmt_s(A, ch->duration_s));
				return true;
			}
		}
	}
	return false;
}

static double max_wait(const struct fh_attempt *a, const char *call, const char *target)
{
	double m = 0;

	if (!a->trace)
		return 0;
	for (size_t i = 0; i < a->trace->ncalls; i++) {
		const struct fh_call_stat *s = &a->trace->calls[i];
		if (streq(s->call, call) && (!target || !s->target || streq(s->target, target)) &&
		    s->max_s > m)
			m = s->max_s;
	}
	return m;
}

static bool rule_timeout(struct dctx *c)
{
	const char *classes[64];
	int counts[64];
	size_t ncls = 0, best = 0;
	int fc, pc = 0, waited_over = 0;
	const char *first_what = NULL;
	const struct fh_block *first_blk = NULL;
	double minw = INFINITY, maxw = 0, longest_pass = 0, thr;

	for (size_t i = 0; i < c->t->nattempts; i++) {
		const struct fh_attempt *a = &c->t->attempts[i];
		const char *cls, *what;
		const struct fh_block *b;
		size_t k;

		if (!is_fail(a) || !ran_out(c->A, a, &cls, &what, &b))
			continue;
		for (k = 0; k < ncls && strcmp(classes[k], cls); k++)
			;
		if (k == ncls) {
			if (ncls == ARRAY_SIZE(classes))
				continue;
			classes[ncls] = cls;
			counts[ncls++] = 0;
		}
		counts[k]++;
	}
	if (!ncls)
		return false;
	for (size_t k = 1; k < ncls; k++)
		if (counts[k] > counts[best])
			best = k;
	fc = counts[best];
	for (size_t i = 0; i < c->t->nattempts; i++) {
		const struct fh_attempt *a = &c->t->attempts[i];
		const char *cls, *what;
		const struct fh_block *b;

		if (!ran_out(c->A, a, &cls, &what, &b) || strcmp(cls, classes[best]))
			continue;
		if (is_pass(a)) {
			pc++;
		} else if (is_fail(a)) {
			if (!first_what) {
				first_what = what;
				first_blk = b;
			}
			if (b) {
				minw = fmin(minw, b->waited_s);
				maxw = fmax(maxw, b->waited_s);
			}
		}
	}
	if (!separates(fc, c->nf, pc, c->np))
		return false;
	if (first_blk) {
		const char *range = minw < maxw * 0.95 ? arena_printf(c->A, "%s-%s",
			fmt_s(c->A, minw), fmt_s(c->A, maxw)) : fmt_s(c->A, maxw);

		thr = minw / 2;
		for (size_t i = 0; i < c->t->nattempts; i++) {
			const struct fh_attempt *a = &c->t->attempts[i];
			double w;

			if (!is_pass(a))
				continue;
			w = max_wait(a, first_blk->call, first_blk->target);
			longest_pass = fmax(longest_pass, w);
			if (w > thr)
				waited_over++;
		}
		add_ev(c, arena_printf(c->A, "%d/%d failing attempts: %s%s waited %s and %s; %d/%d "
				       "passing attempts waited over %s there (longest %s)", fc, c->nf,
				       first_blk->call, target_sfx(c->A, first_blk->target), range,
				       first_blk->ended == FH_END_TIMEOUT ? "timed out" :
				       "was cut by a signal", waited_over, c->np, fmt_s(c->A, thr),
				       fmt_s(c->A, longest_pass)));
	} else {
		add_ev(c, arena_printf(c->A, "%d/%d failing attempts: %s; %d/%d passing attempts "
				       "ended a wait that way", fc, c->nf, first_what, pc, c->np));
	}
	/* Signals that cut the waits. */
	if (first_blk && first_blk->ended == FH_END_SIGNAL) {
		for (size_t i = 0; i < c->t->nattempts; i++) {
			const struct fh_attempt *a = &c->t->attempts[i];
			if (is_fail(a) && a->trace && a->trace->nsignals) {
				const struct fh_signal_ev *s = &a->trace->signals[a->trace->nsignals - 1];
				add_ev(c, arena_printf(c->A, "attempt %d: %s from pid %d interrupted %s "
						       "at %s", a->attempt, s->signal, s->sender_pid,
						       s->interrupted ? s->interrupted : "?",
						       fmt_s(c->A, s->at_s)));
				break;
			}
		}
	}
	decide(c, "timeout", classes[best], arena_printf(c->A, "Failing attempts ran out of time "
		"waiting (%s): %s.", classes[best], first_what ? first_what : "a wait ran out"));
	return true;
}

/* ---- network ---- */

static bool network_error(const struct fh_err_count *e)
{
	static const char *const net[] = { "ECONNREFUSED", "ECONNRESET", "ECONNABORTED",
		"ENETUNREACH", "EHOSTUNREACH", "ENETDOWN", "EHOSTDOWN", "EPIPE", "ENOTCONN",
		"ENETRESET" };

	if (!e->errno_name)
		return false;
	if (!strncmp(e->errno_name, "EAI_", 4))
		return true;
	if (e->call && !strcmp(e->call, "getaddrinfo"))
		return true;
	for (size_t i = 0; i < ARRAY_SIZE(net); i++)
		if (!strcmp(e->errno_name, net[i]))
			return true;
	if (!strcmp(e->errno_name, "ETIMEDOUT") && e->call &&
	    (strstr(e->call, "connect") || strstr(e->call, "sockopt") || strstr(e->call, "recv") ||
	     strstr(e->call, "send")))
		return true;
	return false;
}

static bool rule_network(struct dctx *c)
{
	int fc = 0, pc = 0;
	const struct fh_err_count *e = best_error(c, network_error, &fc, &pc);
	bool dns;

	if (!e || !separates(fc, c->nf, pc, c->np))
		return false;
	dns = !strncmp(e->errno_name, "EAI_", 4) || streq(e->call, "getaddrinfo");
	add_ev(c, arena_printf(c->A, "%d/%d failing attempts: %s%s failed with %s%s; %d/%d passing "
			       "attempts had that error", fc, c->nf, e->call,
			       streq(e->call, "getsockopt") ? " (SO_ERROR)" : "", e->errno_name,
			       target_sfx(c->A, e->target), pc, c->np));
	decide(c, "network", dns ? "dns" : "net",
	       arena_printf(c->A, "Failing attempts hit a %s error: %s%s returned %s.",
			    dns ? "name resolution" : "network", e->call,
			    target_sfx(c->A, e->target), e->errno_name));
	return true;
}

/* ---- race ---- */

/* Another thread or process of attempt a still busy at its failure (or end). */
static const struct fh_inflight *other_in_flight(const struct fh_attempt *a)
{
	const struct fh_attempt_trace *tr = a->trace;

	if (!tr)
		return NULL;
	for (size_t i = 0; i < tr->nin_flight; i++) {
		const struct fh_inflight *f = &tr->in_flight[i];
		if (f->pid != a->pid || f->tid != a->tid)
			return f;
	}
	return NULL;
}

/* A sleep of the test thread that ended while another thread or process was still busy. */
static const struct fh_inflight *busy_after_sleep(const struct fh_attempt *a)
{
	const struct fh_attempt_trace *tr = a->trace;

	if (!tr || !tr->last_sleep || !tr->nbusy_after_sleep)
		return NULL;
	return &tr->busy_after_sleep[0];
}

static bool rule_race(struct dctx *c)
{
	int fc = 0, pc = 0, sleeps = 0;
	const struct fh_inflight *first = NULL;
	const struct fh_attempt *fa = NULL, *sa = NULL;

	for (size_t i = 0; i < c->t->nattempts; i++) {
		const struct fh_attempt *a = &c->t->attempts[i];
		const struct fh_inflight *s = busy_after_sleep(a);
		const struct fh_inflight *f = s ? s : other_in_flight(a);

		if (!f)
			continue;
		if (is_fail(a)) {
			fc++;
			if (!first) {
				first = f;
				fa = a;
			}
			if (s) {
				sleeps++;
				if (!sa)
					sa = a;
			}
		} else if (is_pass(a)) {
			pc++;
		}
	}
	if (!separates(fc, c->nf, pc, c->np))
		return false;
	if (sa) {
		const struct fh_inflight *b = busy_after_sleep(sa);
		const struct fh_block *sl = sa->trace->last_sleep;

		add_ev(c, arena_printf(c->A, "%d/%d failing attempts: the test thread slept a fixed "
				       "%s (%s) and went on while %s %d/%d was still in %s%s; %d/%d "
				       "passing attempts had anything still running after their sleep "
				       "or at their end", sleeps, c->nf, fmt_s(c->A, sl->waited_s),
				       sl->call, b->pid == sa->pid ? "thread" : "process", b->pid,
				       b->tid, b->call, target_sfx(c->A, b->target), pc, c->np));
		decide(c, "race", NULL, arena_printf(c->A, "A fixed sleep is used as synchronization: "
			"the failing attempts went on after %s while another %s was still in %s.",
			sl->call, b->pid == sa->pid ? "thread" : "process", b->call));
		return true;
	}
	add_ev(c, arena_printf(c->A, "%d/%d failing attempts: %s %d/%d was still in %s%s when the "
			       "test failed (%s in); %d/%d passing attempts had another thread or "
			       "process still busy at their end", fc, c->nf,
			       first->pid == fa->pid ? "thread" : "process", first->pid, first->tid,
			       first->call, target_sfx(c->A, first->target),
			       fmt_s(c->A, first->elapsed_s), pc, c->np));
	decide(c, "race", NULL, arena_printf(c->A, "The test failed while another %s of the attempt "
					     "had not finished (%s).",
					     first->pid == fa->pid ? "thread" : "process", first->call));
	return true;
}

/* ---- cpu ---- */

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double median(double *v, size_t n)
{
	if (!n)
		return 0;
	qsort(v, n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static double wait_total(const struct fh_attempt_trace *tr)
{
	double s = 0;

	for (int k = 0; k < FH_CAT_COUNT; k++)
		s += tr->time_s[k];
	return s;
}

static bool rule_cpu(struct dctx *c)
{
	size_t n = c->t->nattempts, nfv = 0, npv = 0;
	double *fv = xcalloc(n + 1, sizeof(double)), *pv = xcalloc(n + 1, sizeof(double));
	double *fw = xcalloc(n + 1, sizeof(double)), *pw = xcalloc(n + 1, sizeof(double));
	double mf, mp, thr, mfw, mpw;
	int fc = 0, pc = 0;
	bool ok = false;

	for (size_t i = 0; i < n; i++) {
		const struct fh_attempt *a = &c->t->attempts[i];

		if (!a->trace)
			continue;
		if (is_fail(a)) {
			fw[nfv] = wait_total(a->trace);
			fv[nfv++] = a->trace->cpu_s;
		} else if (is_pass(a)) {
			pw[npv] = wait_total(a->trace);
			pv[npv++] = a->trace->cpu_s;
		}
	}
	mfw = median(fw, nfv);
	mpw = median(pw, npv);
	mf = median(fv, nfv);
	mp = median(pv, npv);
	if (!nfv || !npv || mf < 2 * mp || mf - mp < 0.02 || mfw - mpw > (mf - mp) / 2)
		goto out;
	thr = (mf + mp) / 2;
	for (size_t i = 0; i < n; i++) {
		const struct fh_attempt *a = &c->t->attempts[i];
		if (!a->trace || a->trace->cpu_s <= thr)
			continue;
		if (is_fail(a))
			fc++;
		else if (is_pass(a))
			pc++;
	}
	if (!separates(fc, c->nf, pc, c->np))
		goto out;
	add_ev(c, arena_printf(c->A, "%d/%d failing attempts used over %s of CPU (median %s); %d/%d "
			       "passing attempts did (median %s)", fc, c->nf, fmt_s(c->A, thr),
			       fmt_s(c->A, mf), pc, c->np, fmt_s(c->A, mp)));
	add_ev(c, arena_printf(c->A, "time in blocking calls: failing median %s, passing median %s: "
			       "the extra time was spent computing, not waiting",
			       fmt_s(c->A, mfw), fmt_s(c->A, mpw)));
	decide(c, "cpu", NULL, arena_printf(c->A, "Failing attempts were slow on CPU (median %s vs "
					    "%s), not waiting.", fmt_s(c->A, mf), fmt_s(c->A, mp)));
	ok = true;
out:
	free(fv);
	free(pv);
	free(fw);
	free(pw);
	return ok;
}

/* ---- the decision ---- */

static void finish_evidence(struct dctx *c)
{
	c->d->evidence = arena_alloc(c->A, sizeof(*c->d->evidence) * (c->nev + 1));
	memcpy(c->d->evidence, c->ev, sizeof(*c->ev) * c->nev);
	c->d->nevidence = c->nev;
}

static void diagnose_test(struct fh_run *run, struct fh_test *t)
{
	struct dctx c;
	bool traced;

	memset(&c, 0, sizeof(c));
	c.A = &run->arena;
	c.t = t;
	c.d = arena_alloc(c.A, sizeof(*c.d));
	for (size_t i = 0; i < t->nattempts; i++) {
		const struct fh_attempt *a = &t->attempts[i];
		if (is_fail(a)) {
			c.nf++;
			c.nf_traced += a->trace != NULL;
		} else if (is_pass(a)) {
			c.np++;
			c.np_traced += a->trace != NULL;
		}
	}
	/* Trace rules compare traced attempts only: an attempt without a trace (tracing stopped,
	 * e.g. at the fd limit) neither has nor lacks a feature. */
	c.nf_all = c.nf;
	c.np_all = c.np;
	traced = c.nf_traced > 0 && c.np_traced > 0;
	if (!c.nf) {
		decide(&c, "stable", NULL, c.np ? arena_printf(c.A, "No attempt failed (%d/%d passed).",
							       c.np, c.np) :
		       "No attempt ran to an outcome (all skipped).");
	} else if (!c.np) {
		const struct fh_cluster *cl = t->nclusters ? &t->clusters[0] : NULL;

		add_ev(&c, arena_printf(c.A, "%d/%d attempts failed", c.nf, c.nf));
		if (cl)
			add_ev(&c, arena_printf(c.A, "%d/%d failing attempts: %s%s%s", cl->count, c.nf,
						cl->error_type ? cl->error_type : "failure",
						cl->message ? ": " : "", cl->message ? cl->message : ""));
		decide(&c, "broken", NULL, "Every attempt failed: this is a real failure, not a flake.");
	} else if ((c.nf = c.nf_traced, c.np = c.np_traced, false)) {
		/* from here on, counts over traced attempts (rule_state counts outcomes itself) */
	} else if ((traced && rule_crash(&c)) || (traced && rule_resource(&c)) || rule_state(&c) ||
		   (traced && rule_timeout(&c)) || (traced && rule_network(&c)) ||
		   (traced && rule_race(&c)) || (traced && rule_cpu(&c))) {
		/* decided */
	} else {
		if (traced) {
			add_ev(&c, arena_printf(c.A, "no trace feature (errors, waits that ran out, "
				"signals, processes that died, calls in flight, CPU time) is in at least "
				"half of the %d failing attempts and at most a fifth of the %d passing ones",
				c.nf, c.np));
			decide(&c, "unexplained", NULL, "Nothing the process did separates failing from "
			       "passing attempts; the failure looks random (e.g. randomness in the test "
			       "or the code under test).");
		} else {
			add_ev(&c, "tracing was off: run pytest with LD_PRELOAD=/path/to/libfhtrace.so "
			       "to record what each attempt waited for");
			decide(&c, "unexplained", NULL, "Outcomes alone do not explain the failures, and "
			       "tracing was off.");
		}
	}
	if (run->meta.tracing && (c.nf_traced < c.nf_all || c.np_traced < c.np_all) && c.nf && c.np)
		add_ev(&c, arena_printf(c.A, "%d of %d attempts have no trace (tracing stopped or was "
					"off for them); trace counts above are over traced attempts",
					c.nf_all + c.np_all - c.nf_traced - c.np_traced,
					c.nf_all + c.np_all));
	finish_evidence(&c);
	t->diag = c.d;
}

/* ---- performance flakes ---- */

struct named { const char *name; double slow, fast; };

static void add_named(struct named **v, size_t *n, size_t *cap, const char *name, double val,
		      bool slow)
{
	size_t i;

	for (i = 0; i < *n && strcmp((*v)[i].name, name); i++)
		;
	if (i == *n) {
		GROW(*v, *cap, *n + 1);
		(*v)[i] = (struct named){ name, 0, 0 };
		(*n)++;
	}
	if (slow)
		(*v)[i].slow += val;
	else
		(*v)[i].fast += val;
}

static int cmp_named_extra(const void *a, const void *b)
{
	const struct fh_named_value *x = a, *y = b;

	if (x->value != y->value)
		return (y->value > x->value) - (y->value < x->value);
	return strcmp(x->name, y->name);
}

static void perf_test(struct fh_run *run, struct fh_test *t)
{
	struct arena *A = &run->arena;
	struct fh_perf *p = arena_alloc(A, sizeof(*p));
	size_t np = 0, nslow = 0, nfast = 0, ncalls = 0, ccalls = 0;
	double *d = xcalloc(t->nattempts + 1, sizeof(double));
	double med, mx, cut = INFINITY;
	double cat_slow[FH_CAT_COUNT + 1] = { 0 }, cat_fast[FH_CAT_COUNT + 1] = { 0 };
	struct named *calls = NULL, *mains = NULL;
	size_t nmains = 0, cmains = 0;
	bool any_trace = false;

	t->perf = p;
	for (size_t i = 0; i < t->nattempts; i++)
		if (is_pass(&t->attempts[i]))
			d[np++] = t->attempts[i].duration_s;
	p->by_category = arena_alloc(A, sizeof(*p->by_category) * (FH_CAT_COUNT + 1));
	p->slow_attempts = arena_alloc(A, sizeof(int) * (t->nattempts + 1));
	if (np < 3)
		goto out;
	med = median(d, np); /* sorts d */
	mx = d[np - 1];
	if (mx >= 3 * med && mx - med >= 0.05) {
		cut = fmax(2 * med, med + 0.05);
	}
	for (size_t i = 2; i + 1 < np; i++) { /* bimodal: >= 2 on each side of a 2x gap */
		if (d[i] >= 2 * d[i - 1] && d[i] - d[i - 1] >= 0.05) {
			cut = fmin(cut, d[i]);
			break;
		}
	}
	if (!isfinite(cut))
		goto out;
	p->unstable = true;
	for (size_t i = 0; i < t->nattempts; i++) {
		const struct fh_attempt *a = &t->attempts[i];
		bool slow;

		if (!is_pass(a))
			continue;
		slow = a->duration_s >= cut;
		if (slow)
			p->slow_attempts[p->nslow++] = a->attempt;
		if (!a->trace)
			continue;
		any_trace = true;
		slow ? nslow++ : nfast++;
		for (int k = 0; k < FH_CAT_COUNT; k++)
			(slow ? cat_slow : cat_fast)[k] += a->trace->time_s[k];
		(slow ? cat_slow : cat_fast)[FH_CAT_COUNT] += a->trace->cpu_s;
		for (size_t k = 0; k < a->trace->ncalls; k++) {
			add_named(&calls, &ncalls, &ccalls, a->trace->calls[k].call,
				  a->trace->calls[k].total_s, slow);
			add_named(&mains, &nmains, &cmains, a->trace->calls[k].call,
				  a->trace->calls[k].main_s, slow);
		}
	}
	if (any_trace && nslow && nfast) {
		for (int k = 0; k <= FH_CAT_COUNT; k++)
			p->by_category[p->nby_category++] = (struct fh_named_value){
				k < FH_CAT_COUNT ? fh_category_names[k] : "cpu",
				cat_slow[k] / (double)nslow - cat_fast[k] / (double)nfast };
		p->by_call = arena_alloc(A, sizeof(*p->by_call) * (ncalls + 1));
		for (size_t k = 0; k < ncalls; k++)
			p->by_call[p->nby_call++] = (struct fh_named_value){ calls[k].name,
				calls[k].slow / (double)nslow - calls[k].fast / (double)nfast };
		qsort(p->by_call, p->nby_call, sizeof(*p->by_call), cmp_named_extra);
		if (p->nby_call > 8)
			p->nby_call = 8;
	}
	{
		struct buf b = BUF_INIT(4096);

		buf_printf(&b, "Passing attempts vary in duration: slowest %s vs median %s",
			   fmt_s(A, mx), fmt_s(A, med));
		/* Name the call the test thread itself spent the extra time in when there is one
		 * (what the user waited on), else the biggest over all threads and processes. */
		const struct named *best = NULL;
		double best_extra = 0.005;

		for (size_t k = 0; nslow && nfast && k < nmains; k++) {
			double x = mains[k].slow / (double)nslow - mains[k].fast / (double)nfast;
			if (x > best_extra || (x == best_extra && best && strcmp(mains[k].name, best->name) < 0)) {
				best_extra = x;
				best = &mains[k];
			}
		}
		if (best) {
			buf_printf(&b, "; slow attempts spent +%s in %s, fast ones %s",
				   fmt_s(A, best_extra), best->name, fmt_s(A, best->fast / (double)nfast));
		} else if (p->nby_call && p->by_call[0].value > 0) {
			double fast = 0;
			for (size_t k = 0; k < ncalls; k++)
				if (!strcmp(calls[k].name, p->by_call[0].name))
					fast = calls[k].fast / (double)nfast;
			buf_printf(&b, "; slow attempts spent +%s in %s, fast ones %s",
				   fmt_s(A, p->by_call[0].value), p->by_call[0].name, fmt_s(A, fast));
		} else if (any_trace && nslow && nfast) {
			double cpu = cat_slow[FH_CAT_COUNT] / (double)nslow -
				     cat_fast[FH_CAT_COUNT] / (double)nfast;
			buf_printf(&b, "; slow attempts spent +%s on CPU", fmt_s(A, cpu));
		}
		buf_puts(&b, ".");
		p->summary = arena_strdup(A, buf_str(&b));
		buf_free(&b);
	}
out:
	if (!p->nby_category)
		for (int k = 0; k < FH_CAT_COUNT; k++)
			p->by_category[p->nby_category++] = (struct fh_named_value){ fh_category_names[k], 0 };
	if (!p->by_call)
		p->by_call = arena_alloc(A, sizeof(*p->by_call));
	free(calls);
	free(mains);
	free(d);
}

void diagnose_run(struct fh_run *run)
{
	for (size_t i = 0; i < run->ntests; i++) {
		diagnose_test(run, &run->tests[i]);
		perf_test(run, &run->tests[i]);
	}
}
