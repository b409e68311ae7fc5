/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of analyzer/diagnose.c: each diagnosis kind from hand-built attempts (and the
 * near misses that must not be diagnosed as it), and performance flakes.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fh_check.h"
#include "fh_evtest.h"

static struct fh_attempt_trace *tr_new(struct fh_run *r, struct fh_attempt *a)
{
	struct fh_attempt_trace *t = arena_alloc(&r->arena, sizeof(*t));

	t->fds = t->threads = -1;
	t->fail_at_s = -1;
	a->trace = t;
	return t;
}

static void trace_all(struct fh_run *r, struct fh_test *t)
{
	for (size_t i = 0; i < t->nattempts; i++)
		tr_new(r, &t->attempts[i]);
}

static struct fh_block *block(struct fh_run *r, struct fh_attempt *a, const char *call,
			      enum fh_category cat, const char *target, double waited,
			      enum fh_block_end ended)
{
	struct fh_block *b = arena_alloc(&r->arena, sizeof(*b));

	b->call = call;
	b->call_id = call_id(call);
	b->category = cat;
	b->target = target;
	b->waited_s = waited;
	b->ended = ended;
	b->pid = a->pid;
	b->tid = a->tid;
	a->trace->last_block = b;
	return b;
}

static void stat1(struct fh_run *r, struct fh_attempt *a, const char *call, enum fh_category cat,
		  const char *target, double total, int timeouts)
{
	struct fh_call_stat *s = arena_alloc(&r->arena, sizeof(*s));

	*s = (struct fh_call_stat){ .call = call, .call_id = call_id(call), .category = cat,
		.target = target, .count = 1, .timeouts = timeouts, .total_s = total, .max_s = total,
		.main_s = total };
	a->trace->calls = s;
	a->trace->ncalls = 1;
	a->trace->time_s[cat] += total;
}

static void error1(struct fh_run *r, struct fh_attempt *a, const char *call, const char *err,
		   const char *target)
{
	struct fh_err_count *e = arena_alloc(&r->arena, sizeof(*e));

	*e = (struct fh_err_count){ .call = call, .errno_name = err, .target = target, .count = 1,
		.call_id = call_id(call) };
	a->trace->errors = e;
	a->trace->nerrors = 1;
}

static bool has_line(const struct fh_diagnosis *d, const char *needle)
{
	for (size_t i = 0; i < d->nevidence; i++)
		if (strstr(d->evidence[i], needle))
			return true;
	return false;
}

#define KIND(t, k) ck_assert_str_eq(fh_kind_names[(t)->diag->kind], k)
#define BLOCKED_ON(t, k) ck_assert_str_eq(fh_blocked_on_names[(t)->diag->blocked_on], k)

/* The pipeline from the features on, as `fh-analyze report` runs it. */
static void analyze(struct fh_run *r)
{
	features_run(r);
	diagnose_run(r);
}

START_TEST(test_stable_broken)
{
	struct fh_run *r = mkrun(2);
	struct fh_test *s = mktest(r, 0, "a", "PPPP", 1);
	struct fh_test *b = mktest(r, 1, "b", "FFFE", 1);

	analyze(r);
	KIND(s, "stable");
	KIND(b, "broken");
	ck_assert(has_line(b->diag, "4/4 attempts failed"));
	ck_assert(!s->perf->unstable);
	freerun(r);
}
END_TEST

START_TEST(test_state_and_unexplained_without_traces)
{
	struct fh_run *r = mkrun(3);
	struct fh_test *s = mktest(r, 0, "s", "PPPFFFFFFF", 1);
	struct fh_test *u = mktest(r, 1, "u", "PFPPFPPPFP", 1);
	struct fh_test *one = mktest(r, 2, "one", "PPPPPPPPPF", 1); /* one late failure: not state */

	r->meta.tracing = false;
	analyze(r);
	KIND(s, "state");
	ck_assert(has_line(s->diag, "3/3 attempts before attempt 4 passed"));
	KIND(u, "unexplained");
	ck_assert(has_line(u->diag, "tracing was off"));
	KIND(one, "unexplained");
	freerun(r);
}
END_TEST

/* 3 failing attempts time out polling the database; 7 passing ones get answers quickly. */
START_TEST(test_timeout_net)
{
	struct fh_run *r = mkrun(1);
	struct fh_test *t = mktest(r, 0, "t", "PFPPFPPFPP", 1);

	trace_all(r, t);
	for (size_t i = 0; i < t->nattempts; i++) {
		struct fh_attempt *a = &t->attempts[i];
		bool f = a->outcome == FH_FAILED;

		block(r, a, f ? "poll" : "recv", f ? FH_CAT_NET : FH_CAT_NET, "127.0.0.1:5432",
		      f ? 0.25 : 0.002, f ? FH_END_TIMEOUT : FH_END_RETURNED)->on_socket = true;
		stat1(r, a, "poll", FH_CAT_NET, "127.0.0.1:5432", f ? 0.25 : 0.002, f);
	}
	analyze(r);
	KIND(t, "timeout");
	BLOCKED_ON(t, "net");
	ck_assert(has_line(t->diag, "3/3 failing attempts: poll on 127.0.0.1:5432 waited 0.25 s and "
			   "timed out; 0/7 passing attempts waited over 0.12 s"));
	freerun(r);
}
END_TEST

/* Variants: a lock wait that ran out, a sleep cut by SIGALRM, a child killed after a wait. */
START_TEST(test_timeout_variants)
{
	struct fh_run *r = mkrun(3);
	struct fh_test *l = mktest(r, 0, "l", "PFPF", 1);
	struct fh_test *s = mktest(r, 1, "s", "FPPP", 1);
	struct fh_test *p = mktest(r, 2, "p", "PPFP", 1);

	trace_all(r, l);
	trace_all(r, s);
	trace_all(r, p);
	for (size_t i = 0; i < 4; i++) {
		bool f = l->attempts[i].outcome == FH_FAILED;
		block(r, &l->attempts[i], "sem_clockwait", FH_CAT_LOCK, NULL, f ? 1.0 : 0.01,
		      f ? FH_END_TIMEOUT : FH_END_RETURNED);
		f = s->attempts[i].outcome == FH_FAILED;
		block(r, &s->attempts[i], "clock_nanosleep", FH_CAT_SLEEP, NULL, f ? 2.0 : 0.1,
		      f ? FH_END_SIGNAL : FH_END_RETURNED);
	}
	{
		struct fh_attempt_trace *tr = p->attempts[2].trace;
		struct fh_child *ch = arena_alloc(&r->arena, sizeof(*ch));

		*ch = (struct fh_child){ 99, "/usr/bin/sleep", -1, "SIGKILL", 0, 0.5 };
		tr->children = ch;
		tr->nchildren = 1;
		tr->kills_sent = 1;
		block(r, &p->attempts[2], "waitpid", FH_CAT_PROC, NULL, 0.001, FH_END_RETURNED);
	}
	analyze(r);
	KIND(l, "timeout");
	BLOCKED_ON(l, "lock");
	KIND(s, "timeout");
	BLOCKED_ON(s, "sleep");
	KIND(p, "timeout");
	BLOCKED_ON(p, "proc");
	freerun(r);
}
END_TEST

START_TEST(test_network_and_dns)
{
	struct fh_run *r = mkrun(3);
	struct fh_test *n = mktest(r, 0, "n", "PFPPF", 1);
	struct fh_test *d = mktest(r, 1, "d", "FPPP", 1);
	struct fh_test *both = mktest(r, 2, "both", "PFPF", 1); /* refused on both sides */

	trace_all(r, n);
	trace_all(r, d);
	trace_all(r, both);
	error1(r, &n->attempts[1], "getsockopt", "ECONNREFUSED", "127.0.0.1:6379");
	error1(r, &n->attempts[4], "getsockopt", "ECONNREFUSED", "127.0.0.1:6379");
	error1(r, &d->attempts[0], "getaddrinfo", "EAI_AGAIN", "db.internal:5432");
	for (size_t i = 0; i < 4; i++)
		error1(r, &both->attempts[i], "connect", "ECONNREFUSED", "127.0.0.1:1");
	analyze(r);
	KIND(n, "network");
	BLOCKED_ON(n, "net");
	ck_assert(has_line(n->diag, "2/2 failing attempts: getsockopt (SO_ERROR) failed with "
			   "ECONNREFUSED on 127.0.0.1:6379; 0/3 passing"));
	KIND(d, "network");
	BLOCKED_ON(d, "dns");
	KIND(both, "unexplained");
	freerun(r);
}
END_TEST

START_TEST(test_resource)
{
	struct fh_run *r = mkrun(1);
	struct fh_test *t = mktest(r, 0, "t", "PPPPPPFPFF", 1); /* leaks until the limit */

	trace_all(r, t);
	for (size_t i = 0; i < t->nattempts; i++) {
		t->attempts[i].trace->fds = 20 + 100 * (int)i;
		if (t->attempts[i].outcome == FH_FAILED)
			error1(r, &t->attempts[i], "socket", "EMFILE", NULL);
	}
	analyze(r);
	KIND(t, "resource");
	ck_assert(has_line(t->diag, "3/3 failing attempts: socket failed with EMFILE"));
	ck_assert(has_line(t->diag, "open fds at attempt start grew from 20 (attempt 1) to 920"));
	freerun(r);
}
END_TEST

/* What an error means comes from its call's flags: EAGAIN from creating a thread or a process
 * is a limit, from another call it is not; ETIMEDOUT from send is a network error, from
 * sendfile (whose fds may be files) it is not; a resolver's not-found is a dns failure. */
START_TEST(test_error_meaning_from_call_flags)
{
	static const struct { const char *call, *err, *kind, *on; } cases[] = {
		{ "pthread_create", "EAGAIN", "resource", NULL },
		{ "clone", "EAGAIN", "resource", NULL },
		{ "fork", "EAGAIN", "resource", NULL },
		{ "sigtimedwait", "EAGAIN", "unexplained", NULL },
		{ "send", "ETIMEDOUT", "network", "net" },
		{ "getsockopt", "ETIMEDOUT", "network", "net" },
		{ "sendfile", "ETIMEDOUT", "unexplained", NULL },
		{ "gethostbyname_r", "ENOENT", "network", "dns" },
		{ "gethostbyname_r", "ERANGE", "unexplained", NULL },
	};
	struct fh_run *r = mkrun(ARRAY_SIZE(cases));

	for (size_t k = 0; k < ARRAY_SIZE(cases); k++) {
		struct fh_test *t = mktest(r, k, cases[k].call, "PFPPF", 1);

		trace_all(r, t);
		for (size_t i = 0; i < t->nattempts; i++)
			if (t->attempts[i].outcome == FH_FAILED)
				error1(r, &t->attempts[i], cases[k].call, cases[k].err, NULL);
	}
	analyze(r);
	for (size_t k = 0; k < ARRAY_SIZE(cases); k++) {
		const struct fh_test *t = &r->tests[k];

		ck_assert_msg(!strcmp(fh_kind_names[t->diag->kind], cases[k].kind), "%s %s: %s",
			      cases[k].call, cases[k].err, fh_kind_names[t->diag->kind]);
		if (cases[k].on)
			BLOCKED_ON(t, cases[k].on);
		else
			ck_assert_int_eq(t->diag->blocked_on, FH_ON_NONE);
	}
	freerun(r);
}
END_TEST

/* blocked_on of a poll comes from the fd kind its block carries, whatever its target says
 * (an epoll's resolved "anon_inode:[eventpoll]" has a colon too). */
START_TEST(test_timeout_poll_not_on_socket)
{
	struct fh_run *r = mkrun(1);
	struct fh_test *t = mktest(r, 0, "t", "PFPPFPPFPP", 1);

	trace_all(r, t);
	for (size_t i = 0; i < t->nattempts; i++) {
		bool f = t->attempts[i].outcome == FH_FAILED;

		block(r, &t->attempts[i], "epoll_wait", FH_CAT_OTHER, "anon_inode:[eventpoll]",
		      f ? 0.25 : 0.002, f ? FH_END_TIMEOUT : FH_END_RETURNED);
	}
	analyze(r);
	KIND(t, "timeout");
	BLOCKED_ON(t, "other");
	for (size_t i = 0; i < t->nattempts; i++)
		ck_assert_int_eq(t->attempts[i].f.blocked_on, FH_ON_OTHER);
	freerun(r);
}
END_TEST

START_TEST(test_crash)
{
	struct fh_run *r = mkrun(2);
	struct fh_test *t = mktest(r, 0, "t", "PPFPF", 1);
	struct fh_test *k = mktest(r, 1, "k", "PPE", 1); /* the worker died mid-attempt */

	trace_all(r, t);
	trace_all(r, k);
	for (size_t i = 0; i < t->nattempts; i++) {
		struct fh_child *ch = arena_alloc(&r->arena, sizeof(*ch));
		bool f = t->attempts[i].outcome == FH_FAILED;

		*ch = (struct fh_child){ 50 + (int)i, "/usr/bin/python3", f ? -1 : 0,
			f ? "SIGSEGV" : NULL, 0, 0.1 };
		t->attempts[i].trace->children = ch;
		t->attempts[i].trace->nchildren = 1;
	}
	k->attempts[2].trace->unfinished = true;
	block(r, &k->attempts[2], "poll", FH_CAT_NET, "127.0.0.1:8080", 3, FH_END_IN_FLIGHT);
	analyze(r);
	KIND(t, "crash");
	ck_assert(has_line(t->diag, "2/2 failing attempts: child 52 (/usr/bin/python3) died by SIGSEGV"));
	KIND(k, "crash");
	ck_assert(has_line(k->diag, "died while blocked in poll on 127.0.0.1:8080"));
	freerun(r);
}
END_TEST

/* A fixed sleep as synchronization: the worker was still sleeping when the test went on
 * (the test joins it afterwards, so nothing is in flight at the failure itself). */
START_TEST(test_race)
{
	struct fh_run *r = mkrun(2);
	struct fh_test *t = mktest(r, 0, "t", "PPFPPF", 1);
	struct fh_test *v = mktest(r, 1, "v", "PFPF", 1); /* variant: still in flight at failure */

	trace_all(r, t);
	trace_all(r, v);
	for (size_t i = 0; i < t->nattempts; i++) {
		struct fh_attempt *a = &t->attempts[i];

		block(r, a, "sem_wait", FH_CAT_LOCK, NULL, 0.2, FH_END_RETURNED); /* the join */
		a->trace->last_sleep = arena_alloc(&r->arena, sizeof(struct fh_block));
		*a->trace->last_sleep = *a->trace->last_block;
		a->trace->last_sleep->call = "clock_nanosleep";
		a->trace->last_sleep->waited_s = 0.08;
		if (a->outcome == FH_FAILED) {
			struct fh_inflight *f = arena_alloc(&r->arena, sizeof(*f));
			*f = (struct fh_inflight){ .pid = 1, .tid = 77, .call = "clock_nanosleep",
				.call_id = call_id("clock_nanosleep"), .category = FH_CAT_SLEEP,
				.elapsed_s = 0.08 };
			a->trace->busy_after_sleep = f;
			a->trace->nbusy_after_sleep = 1;
		}
	}
	for (size_t i = 0; i < v->nattempts; i++) {
		struct fh_attempt *a = &v->attempts[i];

		block(r, a, "recv", FH_CAT_NET, NULL, 0.001, FH_END_RETURNED);
		if (a->outcome == FH_FAILED) {
			struct fh_inflight *f = arena_alloc(&r->arena, sizeof(*f));
			*f = (struct fh_inflight){ .pid = 9, .tid = 9, .call = "write",
				.call_id = call_id("write"), .category = FH_CAT_FILE, .target = "/tmp/x",
				.elapsed_s = 0.05 };
			a->trace->in_flight = f;
			a->trace->nin_flight = 1;
		}
	}
	analyze(r);
	KIND(t, "race");
	ck_assert(has_line(t->diag, "2/2 failing attempts: the test thread slept a fixed 0.08 s "
			   "(clock_nanosleep) and went on while thread 1/77 was still in clock_nanosleep; "
			   "0/4 passing"));
	KIND(v, "race");
	ck_assert(has_line(v->diag, "2/2 failing attempts: process 9/9 was still in write on /tmp/x"));
	freerun(r);
}
END_TEST

START_TEST(test_cpu)
{
	struct fh_run *r = mkrun(2);
	struct fh_test *t = mktest(r, 0, "t", "PPFPPFPP", 1);
	struct fh_test *w = mktest(r, 1, "w", "PPFPPFPP", 1); /* slow, but waiting: not cpu */

	trace_all(r, t);
	trace_all(r, w);
	for (size_t i = 0; i < t->nattempts; i++) {
		bool f = t->attempts[i].outcome == FH_FAILED;
		t->attempts[i].trace->cpu_s = f ? 0.4 : 0.05;
		w->attempts[i].trace->cpu_s = f ? 0.4 : 0.05;
		w->attempts[i].trace->time_s[FH_CAT_NET] = f ? 2.0 : 0.01;
	}
	analyze(r);
	KIND(t, "cpu");
	ck_assert(has_line(t->diag, "2/2 failing attempts used over 0.23 s of CPU"));
	KIND(w, "unexplained");
	freerun(r);
}
END_TEST

START_TEST(test_perf)
{
	struct fh_run *r = mkrun(2);
	struct fh_test *t = mktest(r, 0, "t", "PPPPPPPP", 1);
	struct fh_test *q = mktest(r, 1, "q", "PPPPPPPP", 1);

	trace_all(r, t);
	for (size_t i = 0; i < t->nattempts; i++) {
		bool slow = i == 2 || i == 5;

		t->attempts[i].duration_s = slow ? 0.9 : 0.1;
		q->attempts[i].duration_s = 0.1 + 0.001 * (double)i;
		stat1(r, &t->attempts[i], "getaddrinfo", FH_CAT_DNS, "db:5432", slow ? 0.801 : 0.001, 0);
	}
	analyze(r);
	KIND(t, "stable");
	ck_assert(t->perf->unstable);
	ck_assert_int_eq((int)t->perf->nslow, 2);
	ck_assert_int_eq(t->perf->slow_attempts[0], 3);
	ck_assert_int_eq(t->perf->slow_attempts[1], 6);
	ck_assert_str_eq(t->perf->by_call[0].name, "getaddrinfo");
	ck_assert(t->perf->by_call[0].value > 0.79 && t->perf->by_call[0].value < 0.81);
	ck_assert_ptr_nonnull(strstr(t->perf->summary, "slow attempts spent +0.8 s in dns (getaddrinfo), "
				     "fast ones 0.001 s"));
	for (size_t k = 0; k < t->perf->nby_category; k++)
		if (!strcmp(t->perf->by_category[k].name, "dns"))
			ck_assert(t->perf->by_category[k].value > 0.79);
	ck_assert(!q->perf->unstable);
	freerun(r);
}
END_TEST

/* Every passing attempt received a SIGCHLD, the failing ones none: an evidence line beside the
 * kind; one passing attempt without it and the line is gone. */
START_TEST(test_missing_sigchld)
{
	struct fh_run *r = mkrun(2);
	struct fh_test *t = mktest(r, 0, "t", "PPFPPFPP", 1);
	struct fh_test *u = mktest(r, 1, "u", "PPFPPFPP", 1);

	trace_all(r, t);
	trace_all(r, u);
	for (size_t i = 0; i < t->nattempts; i++) {
		struct fh_signal_ev *s = arena_alloc(&r->arena, sizeof(*s));

		s->signal = "SIGCHLD";
		if (t->attempts[i].outcome == FH_PASSED) {
			t->attempts[i].trace->signals = s;
			t->attempts[i].trace->nsignals = 1;
			if (i != 0) {
				u->attempts[i].trace->signals = s;
				u->attempts[i].trace->nsignals = 1;
			}
		}
	}
	analyze(r);
	ck_assert(has_line(t->diag, "2/2 failing attempts received no SIGCHLD; 6/6 passing "
			   "attempts did"));
	ck_assert(!has_line(u->diag, "SIGCHLD"));
	freerun(r);
}
END_TEST

/* Slow attempts whose extra time was CPU are attributed to CPU, not to the trivial call that
 * also took a little longer. */
START_TEST(test_perf_cpu_dominates)
{
	struct fh_run *r = mkrun(1);
	struct fh_test *t = mktest(r, 0, "t", "PPPPPPPP", 1);

	trace_all(r, t);
	for (size_t i = 0; i < t->nattempts; i++) {
		bool slow = i == 2 || i == 5;

		t->attempts[i].duration_s = slow ? 0.2 : 0.02;
		t->attempts[i].trace->cpu_s = slow ? 0.17 : 0.01;
		stat1(r, &t->attempts[i], "sem_wait", FH_CAT_LOCK, NULL, slow ? 0.0102 : 0.0101, 0);
	}
	analyze(r);
	ck_assert(t->perf->unstable);
	ck_assert_msg(strstr(t->perf->summary, "slow attempts spent +0.16 s on CPU"), "%s",
		      t->perf->summary);
	ck_assert_ptr_null(strstr(t->perf->summary, "in sem_wait, fast ones"));
	freerun(r);
}
END_TEST

/* A history for t: "I10/0" is a past run with --fh-isolate, 10 attempts, 0 failed; "N10/3" one
 * without; the current run (run id "now", as r->meta) comes last. */
static void mkhist(struct fh_run *r, struct fh_test *t, const char *const *past, size_t npast)
{
	struct fh_history *h = arena_alloc(&r->arena, sizeof(*h));

	h->runs = arena_alloc(&r->arena, sizeof(*h->runs) * (npast + 1));
	for (size_t i = 0; i < npast; i++) {
		struct fh_hist_run *hr = &h->runs[h->nruns++];

		hr->run_id = arena_printf(&r->arena, "past%zu", i);
		hr->isolate = past[i][0] == 'I';
		ck_assert_int_eq(sscanf(past[i] + 1, "%d/%d", &hr->attempts, &hr->failed), 2);
	}
	h->runs[h->nruns].run_id = "now";
	h->runs[h->nruns].isolate = r->meta.isolate;
	h->runs[h->nruns].attempts = t->passed + t->failed;
	h->runs[h->nruns].failed = t->failed;
	h->nruns++;
	t->hist = h;
}

/* `state` from the history: the failures of this run (without --fh-isolate, interleaved, so
 * not the pass-then-fail pattern) never happened in earlier isolated runs. */
START_TEST(test_state_isolate_history)
{
	static const char *const two_clean[] = { "N10/4", "I10/0", "I10/0" };
	static const char *const few[] = { "I5/0" };
	static const char *const dirty[] = { "I10/0", "I10/1" };
	struct fh_run *r = mkrun(6);
	struct fh_test *imp = mktest(r, 0, "imp", "PPFPPFPFPP", 1);
	struct fh_test *prob = mktest(r, 1, "prob", "PPFPPFPFPP", 1);
	struct fh_test *none = mktest(r, 2, "none", "PPFPPFPFPP", 1);
	struct fh_test *dirt = mktest(r, 3, "dirt", "PPFPPFPFPP", 1);
	struct fh_test *trend = mktest(r, 4, "trend", "PPFFFFFFFF", 1); /* pattern + isolate */
	struct fh_test *edge = mktest(r, 5, "edge", "PPFPPFPFPP", 1);
	static const char *const edge9[] = { "I9/0" }; /* 0.7^9 = 0.040 */
	static const char *const edge8[] = { "I8/0" }; /* 0.7^8 = 0.058 */

	r->meta.tracing = false;
	r->meta.run_id = "now";
	mkhist(r, imp, two_clean, 3);
	mkhist(r, prob, few, 1);
	mkhist(r, dirt, dirty, 2);
	mkhist(r, trend, two_clean, 3);
	mkhist(r, edge, edge9, 1);
	analyze(r);
	KIND(imp, "state");
	ck_assert(has_line(imp->diag, "with --fh-isolate: 0/20 attempts failed (2 runs); without it "
			   "in this run: 3/10 failed"));
	ck_assert_ptr_nonnull(strstr(imp->diag->summary, "torn down between attempts"));
	KIND(prob, "unexplained");
	ck_assert(!has_line(prob->diag, "--fh-isolate"));
	KIND(none, "unexplained");
	KIND(dirt, "unexplained");
	KIND(trend, "state");
	ck_assert(has_line(trend->diag, "2/2 attempts before attempt 3 passed"));
	ck_assert(has_line(trend->diag, "with --fh-isolate: 0/20 attempts failed (2 runs); without "
			   "it in this run: 8/10 failed"));
	KIND(edge, "state");
	freerun(r);

	r = mkrun(1);
	edge = mktest(r, 0, "edge", "PPFPPFPFPP", 1);
	r->meta.tracing = false;
	r->meta.run_id = "now";
	mkhist(r, edge, edge8, 1);
	analyze(r);
	KIND(edge, "unexplained");
	freerun(r);

	/* This run is itself isolated: the rule is for runs without isolation. */
	r = mkrun(1);
	imp = mktest(r, 0, "imp", "PPFPPFPFPP", 1);
	r->meta.tracing = false;
	r->meta.run_id = "now";
	r->meta.isolate = true;
	mkhist(r, imp, two_clean, 3);
	analyze(r);
	KIND(imp, "unexplained");
	freerun(r);
}
END_TEST

/* The converse: this run is isolated and stable, earlier runs without isolation failed. */
START_TEST(test_stable_isolated_note)
{
	static const char *const past[] = { "N10/3", "I10/0", "N10/2" };
	static const char *const clean[] = { "N10/0" };
	struct fh_run *r = mkrun(3);
	struct fh_test *s = mktest(r, 0, "s", "PPPPPPPPPP", 1);
	struct fh_test *c = mktest(r, 1, "c", "PPPPPPPPPP", 1);
	struct fh_test *n = mktest(r, 2, "n", "PPPPPPPPPP", 1);

	r->meta.run_id = "now";
	r->meta.isolate = true;
	mkhist(r, s, past, 3);
	mkhist(r, c, clean, 1);
	analyze(r);
	KIND(s, "stable");
	ck_assert_uint_eq(s->diag->nevidence, 1);
	ck_assert(has_line(s->diag, "with --fh-isolate in this run: 0/10 attempts failed; without it "
			   "in earlier runs: 5/20 failed (2 runs)"));
	KIND(c, "stable");
	ck_assert_uint_eq(c->diag->nevidence, 0);
	KIND(n, "stable");
	ck_assert_uint_eq(n->diag->nevidence, 0);
	freerun(r);
}
END_TEST

/* Deterministic: the same input gives the same diagnosis text. */
/* A hang snapshot whose test thread is in `call` on target for waited seconds. */
static struct fh_hang *hang1(struct fh_run *r, struct fh_attempt *a, const char *call,
			     enum fh_category cat, const char *target, double waited)
{
	struct fh_hang *g = arena_alloc(&r->arena, sizeof(*g));
	struct fh_hang_thread *m = arena_alloc(&r->arena, sizeof(*m) * 3);

	*m = (struct fh_hang_thread){ .pid = a->pid, .tid = a->tid, .name = "MainThread",
		.main = true, .call = call, .call_id = call_id(call), .category = cat,
		.on_socket = true, .target = target, .waited_s = waited, .timeout_ns = -1,
		.holder_idx = -1 };
	g->threads = m;
	g->nthreads = 1;
	g->after_s = waited;
	g->by = "fh-timeout";
	g->limit_s = 2;
	a->trace->hang = g;
	a->hung = a->hang_stopped = true;
	a->hang_by = "fh-timeout";
	a->hang_limit_s = 2;
	return g;
}

/* 2 of 6 attempts hang in recv on a silent peer and are stopped at 2 s; the 4 others get their
 * answer within a millisecond. */
START_TEST(test_hang_net)
{
	struct fh_run *r = mkrun(1);
	struct fh_test *t = mktest(r, 0, "t", "PFPPFP", 1);

	trace_all(r, t);
	for (size_t i = 0; i < t->nattempts; i++) {
		struct fh_attempt *a = &t->attempts[i];
		if (a->outcome == FH_FAILED)
			hang1(r, a, "recv", FH_CAT_NET, "127.0.0.1:5432", 2.0);
		else
			stat1(r, a, "recv", FH_CAT_NET, "127.0.0.1:5432", 0.0004, 0);
	}
	analyze(r);
	KIND(t, "hang");
	BLOCKED_ON(t, "net");
	ck_assert(!t->diag->deadlock);
	ck_assert(has_line(t->diag, "2/2 hung attempts: recv on 127.0.0.1:5432 waited 2 s with no "
			   "reply (peer connected, sent nothing); 0/4 finished attempts waited over "
			   "1 ms there"));
	freerun(r);
}
END_TEST

/* Hung attempts without a snapshot (no preload); a deadlock; an attempt whose hang was only
 * snapshotted (faulthandler_timeout) and finished on its own is not a hang. */
START_TEST(test_hang_variants)
{
	struct fh_run *r = mkrun(3);
	struct fh_test *bare = mktest(r, 0, "bare", "FFF", 1);
	struct fh_test *dl = mktest(r, 1, "dl", "PPF", 1);
	struct fh_test *fh = mktest(r, 2, "fh", "PPF", 1);

	for (size_t i = 0; i < bare->nattempts; i++) {
		bare->attempts[i].hung = bare->attempts[i].hang_stopped = true;
		bare->attempts[i].hang_by = "pytest-timeout";
		bare->attempts[i].hang_limit_s = 5;
	}
	trace_all(r, dl);
	struct fh_hang *g = hang1(r, &dl->attempts[2], "sem_wait", FH_CAT_LOCK, NULL, 2.0);
	g->deadlock = true;
	g->sentence = "Thread a holds lock A (x.py:1) and waits for lock B, held by b, which waits "
		"for A: a deadlock.";
	trace_all(r, fh);
	hang1(r, &fh->attempts[2], "sem_wait", FH_CAT_LOCK, NULL, 2.0);
	fh->attempts[2].hang_stopped = false;   /* snapshot only: it ended on its own */
	fh->attempts[2].hang_by = "faulthandler";
	analyze(r);
	KIND(bare, "hang");
	ck_assert_int_eq(bare->diag->blocked_on, FH_ON_NONE);
	ck_assert(has_line(bare->diag, "3/3 failing attempts hung (stopped after 5 s, "
			   "pytest-timeout); no hang snapshot"));
	KIND(dl, "hang");
	BLOCKED_ON(dl, "lock");
	ck_assert(dl->diag->deadlock);
	ck_assert_str_eq(dl->diag->evidence[0], g->sentence);
	ck_assert(strstr(dl->diag->summary, "deadlock"));
	ck_assert(strcmp(fh_kind_names[fh->diag->kind], "hang"));
	freerun(r);
}
END_TEST

START_TEST(test_deterministic)
{
	char first[512] = "";

	for (int round = 0; round < 2; round++) {
		struct fh_run *r = mkrun(1);
		struct fh_test *t = mktest(r, 0, "t", "PFPPFPPFPP", 1);

		trace_all(r, t);
		for (size_t i = 0; i < t->nattempts; i++) {
			bool f = t->attempts[i].outcome == FH_FAILED;
			block(r, &t->attempts[i], "poll", FH_CAT_NET, "127.0.0.1:1", f ? 0.3 : 0.01,
			      f ? FH_END_TIMEOUT : FH_END_RETURNED)->on_socket = true;
		}
		analyze(r);
		if (!round)
			snprintf(first, sizeof(first), "%s|%s", t->diag->summary, t->diag->evidence[0]);
		else
			ck_assert_str_eq(first, arena_printf(&r->arena, "%s|%s", t->diag->summary,
							     t->diag->evidence[0]));
		freerun(r);
	}
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("diagnose");
	TCase *tc = tcase_create("kinds");

	tcase_add_test(tc, test_stable_broken);
	tcase_add_test(tc, test_state_and_unexplained_without_traces);
	tcase_add_test(tc, test_timeout_net);
	tcase_add_test(tc, test_timeout_variants);
	tcase_add_test(tc, test_network_and_dns);
	tcase_add_test(tc, test_resource);
	tcase_add_test(tc, test_error_meaning_from_call_flags);
	tcase_add_test(tc, test_timeout_poll_not_on_socket);
	tcase_add_test(tc, test_crash);
	tcase_add_test(tc, test_race);
	tcase_add_test(tc, test_cpu);
	tcase_add_test(tc, test_perf);
	tcase_add_test(tc, test_perf_cpu_dominates);
	tcase_add_test(tc, test_missing_sigchld);
	tcase_add_test(tc, test_deterministic);
	tcase_add_test(tc, test_hang_net);
	tcase_add_test(tc, test_hang_variants);
	tcase_add_test(tc, test_state_isolate_history);
	tcase_add_test(tc, test_stable_isolated_note);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return fh_check_run(suite());
}
