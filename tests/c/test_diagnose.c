/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of analyzer/diagnose.c: each diagnosis kind from hand-built attempts (and the
 * near misses that must not be diagnosed as it), and performance flakes.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

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

	*s = (struct fh_call_stat){ call, cat, target, 1, timeouts, 0, total, total, total };
	a->trace->calls = s;
	a->trace->ncalls = 1;
	a->trace->time_s[cat] += total;
}

static void error1(struct fh_run *r, struct fh_attempt *a, const char *call, const char *err,
		   const char *target)
{
	struct fh_err_count *e = arena_alloc(&r->arena, sizeof(*e));

	*e = (struct fh_err_count){ call, err, target, 1 };
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

#define KIND(t, k) ck_assert_str_eq((t)->diag->kind, k)

START_TEST(test_stable_broken)
{
	struct fh_run *r = mkrun(2);
	struct fh_test *s = mktest(r, 0, "a", "PPPP", 1);
	struct fh_test *b = mktest(r, 1, "b", "FFFE", 1);

	diagnose_run(r);
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
	diagnose_run(r);
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

		block(r, a, f ? "poll" : "recv", f ? FH_CAT_POLL : FH_CAT_NET, "127.0.0.1:5432",
		      f ? 0.25 : 0.002, f ? FH_END_TIMEOUT : FH_END_RETURNED);
		stat1(r, a, "poll", FH_CAT_POLL, "127.0.0.1:5432", f ? 0.25 : 0.002, f);
	}
	diagnose_run(r);
	KIND(t, "timeout");
	ck_assert_str_eq(t->diag->blocked_on, "net");
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
	diagnose_run(r);
	KIND(l, "timeout");
	ck_assert_str_eq(l->diag->blocked_on, "lock");
	KIND(s, "timeout");
	ck_assert_str_eq(s->diag->blocked_on, "sleep");
	KIND(p, "timeout");
	ck_assert_str_eq(p->diag->blocked_on, "proc");
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
	diagnose_run(r);
	KIND(n, "network");
	ck_assert_str_eq(n->diag->blocked_on, "net");
	ck_assert(has_line(n->diag, "2/2 failing attempts: getsockopt (SO_ERROR) failed with "
			   "ECONNREFUSED on 127.0.0.1:6379; 0/3 passing"));
	KIND(d, "network");
	ck_assert_str_eq(d->diag->blocked_on, "dns");
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
	diagnose_run(r);
	KIND(t, "resource");
	ck_assert(has_line(t->diag, "3/3 failing attempts: socket failed with EMFILE"));
	ck_assert(has_line(t->diag, "open fds at attempt start grew from 20 (attempt 1) to 920"));
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
	block(r, &k->attempts[2], "poll", FH_CAT_POLL, "127.0.0.1:8080", 3, FH_END_IN_FLIGHT);
	diagnose_run(r);
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
			*f = (struct fh_inflight){ 1, 77, "clock_nanosleep", FH_CAT_SLEEP, NULL, 0.08,
				{ NULL, 0 } };
			a->trace->busy_after_sleep = f;
			a->trace->nbusy_after_sleep = 1;
		}
	}
	for (size_t i = 0; i < v->nattempts; i++) {
		struct fh_attempt *a = &v->attempts[i];

		block(r, a, "recv", FH_CAT_NET, NULL, 0.001, FH_END_RETURNED);
		if (a->outcome == FH_FAILED) {
			struct fh_inflight *f = arena_alloc(&r->arena, sizeof(*f));
			*f = (struct fh_inflight){ 9, 9, "write", FH_CAT_FILE, "/tmp/x", 0.05,
				{ NULL, 0 } };
			a->trace->in_flight = f;
			a->trace->nin_flight = 1;
		}
	}
	diagnose_run(r);
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
	diagnose_run(r);
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
	diagnose_run(r);
	KIND(t, "stable");
	ck_assert(t->perf->unstable);
	ck_assert_int_eq((int)t->perf->nslow, 2);
	ck_assert_int_eq(t->perf->slow_attempts[0], 3);
	ck_assert_int_eq(t->perf->slow_attempts[1], 6);
	ck_assert_str_eq(t->perf->by_call[0].name, "getaddrinfo");
	ck_assert(t->perf->by_call[0].value > 0.79 && t->perf->by_call[0].value < 0.81);
	ck_assert_ptr_nonnull(strstr(t->perf->summary, "slow attempts spent +0.8 s in getaddrinfo, "
				     "fast ones 0.001 s"));
	for (size_t k = 0; k < t->perf->nby_category; k++)
		if (!strcmp(t->perf->by_category[k].name, "dns"))
			ck_assert(t->perf->by_category[k].value > 0.79);
	ck_assert(!q->perf->unstable);
	freerun(r);
}
END_TEST

/* Deterministic: the same input gives the same diagnosis text. */
START_TEST(test_deterministic)
{
	char first[512] = "";

	for (int round = 0; round < 2; round++) {
		struct fh_run *r = mkrun(1);
		struct fh_test *t = mktest(r, 0, "t", "PFPPFPPFPP", 1);

		trace_all(r, t);
		for (size_t i = 0; i < t->nattempts; i++) {
			bool f = t->attempts[i].outcome == FH_FAILED;
			block(r, &t->attempts[i], "poll", FH_CAT_POLL, "127.0.0.1:1", f ? 0.3 : 0.01,
			      f ? FH_END_TIMEOUT : FH_END_RETURNED);
		}
		diagnose_run(r);
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
	tcase_add_test(tc, test_crash);
	tcase_add_test(tc, test_race);
	tcase_add_test(tc, test_cpu);
	tcase_add_test(tc, test_perf);
	tcase_add_test(tc, test_deterministic);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
