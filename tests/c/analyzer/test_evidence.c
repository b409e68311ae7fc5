/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the join (analyzer/evidence.c) on synthetic events: attempt markers, threads,
 * child processes and grandchildren, xdist workers, fd targets from outside any attempt,
 * record-only intervals, a process killed mid-attempt, bounded spans, out-of-order events.
 */
#include <check.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fh_check.h"
#include "fh_evtest.h"
#include "fh_tracefile.h"
#include "ownership.h"


static const char *const NODE = "tests/test_db.py::test_fetch";

/* pytest pid 100: fd 7 connected to 127.0.0.1:5432 by a session fixture before any attempt;
 * attempt 1 (failed) polls it and times out, attempt 2 (passed) polls and gets an answer. */
START_TEST(test_markers_targets_last_block)
{
	struct fh_run *r = mkrun(1);
	struct fh_test *t = mktest(r, 0, NODE, "FP", 100);
	struct memfile f;
	struct fh_event *e;
	const struct fh_attempt_trace *tr;

	mf_init(&f, 100, 1, 100, "/usr/bin/python3");
	/* the session fixture connects fd 7 (the preload names the peer on connect only) */
	e = mf_call(&f, "connect", FH_CAT_NET, T0 - SEC, MS, 0, NULL);
	e->fd = 7;
	e->target = "127.0.0.1:5432";
	mf_attempt(&f, NODE, 1, T0, T0 + 400 * MS, 5 * MS, 25 * MS, 12);
	e = mf_call(&f, "send", FH_CAT_NET, T0 + 2 * MS, 10000, 5, NULL);
	e->fd = 7;
	/* Python's socket timeout: poll(1 fd) without a target of its own */
	e = mf_call(&f, "poll", FH_CAT_POLL, T0 + 10 * MS, 250 * MS, 0, NULL);
	e->arg = 1;
	e->timeout_ns = 250 * MS;
	e = mf_call(&f, "write", FH_CAT_FILE, T0 + 395 * MS, 10000, 5, NULL); /* teardown */
	e->fd = 1;
	mf_attempt(&f, NODE, 2, T0 + SEC, T0 + SEC + 100 * MS, 30 * MS, 32 * MS, 13);
	e = mf_call(&f, "poll", FH_CAT_POLL, T0 + SEC + 10 * MS, 2 * MS, 1, NULL);
	e->fd = 7;
	e->timeout_ns = 250 * MS;
	/* outside every attempt */
	mf_call(&f, "clock_nanosleep", FH_CAT_SLEEP, T0 + 3 * SEC, 5 * MS, 0, NULL);

	ck_assert_int_eq(join_files(r, &f, 1), 0);
	tr = t->attempts[0].trace;
	ck_assert_ptr_nonnull(tr);
	ck_assert_ptr_nonnull(tr->last_block);
	ck_assert_str_eq(tr->last_block->call, "poll");
	ck_assert_str_eq(tr->last_block->target, "127.0.0.1:5432");
	ck_assert_int_eq(tr->last_block->ended, FH_END_TIMEOUT);
	ck_assert(tr->last_block->waited_s > 0.249 && tr->last_block->waited_s < 0.251);
	/* a poll on the socket is a network wait */
	ck_assert(tr->time_s[FH_CAT_NET] > 0.249);
	ck_assert(tr->time_s[FH_CAT_OTHER] < 0.001);
	ck_assert(tr->cpu_s > 0.0199 && tr->cpu_s < 0.0201);
	ck_assert_int_eq(tr->fds, 12);
	ck_assert(tr->fail_at_s > 0.39 && tr->fail_at_s < 0.4);
	ck_assert_int_eq((int)tr->events, 3);
	ck_assert_int_eq((int)tr->nlanes, 1);
	ck_assert_str_eq(tr->calls[0].call, "poll");
	ck_assert_str_eq(tr->calls[0].target, "127.0.0.1:5432");
	ck_assert_int_eq(tr->calls[0].timeouts, 1);
	ck_assert_str_eq(tr->lanes[0].label, "pytest main");
	ck_assert(tr->nspans >= 1);
	ck_assert_int_eq(tr->nin_flight, 0);
	ck_assert(!tr->unfinished);
	ck_assert_ptr_nonnull(t->attempts[1].trace);
	ck_assert_int_eq(t->attempts[1].trace->last_block->ended, FH_END_RETURNED);
	ck_assert(t->attempts[1].trace->fail_at_s < 0);
	ck_assert_int_eq(t->attempts[1].trace->fds, 13);
	ck_assert_int_eq((int)r->trace_events, (int)f.tf.nevents);
	mf_free(&f);
	freerun(r);
}
END_TEST

/* What a wait on a set of fds was for comes from the record's fd kind, not from how its target
 * reads: a poll on a socket is net; a poll on a pipe right after a send on a socket (the target
 * it inherits names the socket) is other, and so is an epoll whose resolved target has a colon;
 * a poll of an older trace (no fd kind) that inherits the socket the thread used last is net. */
START_TEST(test_poll_socket_by_fd_kind)
{
	static const int kinds[4] = { FHT_FD_SOCKET, FHT_FD_OTHER, FHT_FD_UNKNOWN, FHT_FD_OTHER };
	static const enum fh_blocked_on want[4] = { FH_ON_NET, FH_ON_OTHER, FH_ON_NET, FH_ON_OTHER };
	struct fh_run *r = mkrun(1);
	struct fh_test *t = mktest(r, 0, NODE, "FFFF", 100);
	struct memfile f;
	struct fh_event *e;

	mf_init(&f, 100, 1, 100, "/usr/bin/python3");
	for (int i = 0; i < 4; i++) {
		int64_t t0 = T0 + i * SEC;

		mf_attempt(&f, NODE, i + 1, t0, t0 + 400 * MS, 0, MS, 10);
		if (i) { /* the thread's last socket: what a poll without a target inherits */
			e = mf_call(&f, "send", FH_CAT_NET, t0 + 2 * MS, 1000, 5, NULL);
			e->fd = 7;
			e->target = "127.0.0.1:5432";
		}
		e = mf_call(&f, i == 3 ? "epoll_wait" : "poll", FH_CAT_POLL, t0 + 10 * MS, 200 * MS, 0,
			    NULL);
		e->arg = i == 3 ? 0 : 1;
		e->fd = i == 3 ? 9 : -1;
		e->target = i == 3 ? "anon_inode:[eventpoll]" : NULL;
		e->fdkind = kinds[i];
		e->timeout_ns = 200 * MS;
	}
	ck_assert_int_eq(join_files(r, &f, 1), 0);
	features_run(r);
	for (int i = 0; i < 4; i++) {
		const struct fh_attempt *a = &t->attempts[i];

		ck_assert_ptr_nonnull(a->trace->last_block);
		ck_assert_int_eq(a->trace->last_block->ended, FH_END_TIMEOUT);
		ck_assert_msg(a->f.blocked_on == want[i], "attempt %d: %s", i + 1,
			      fh_blocked_on_names[a->f.blocked_on]);
		ck_assert_int_eq(a->f.ran_out, want[i]);
	}
	ck_assert_str_eq(t->attempts[1].trace->last_block->target, "127.0.0.1:5432");
	mf_free(&f);
	freerun(r);
}
END_TEST

/* A wait on a set of fds is named by what it waited for (the record's fd names the set): a
 * pipe created just before the process started a child is a wait for that child (proc); a set
 * of sockets is net on the first one's peer, "+N" for the others; a timerfd is a timer (sleep);
 * an eventfd is other, named by the thread that created it. The same in time_s, the calls and
 * the last wait. */
START_TEST(test_wait_named_by_what_it_waited_for)
{
	static const char *const want_target[4] = { "child 4242 /usr/bin/sleep", "10.0.0.1:80 +2",
		"timerfd created by thread 100", "eventfd created by thread 100" };
	static const enum fh_category want_cat[4] = { FH_CAT_PROC, FH_CAT_NET, FH_CAT_SLEEP,
		FH_CAT_OTHER };
	static const enum fh_blocked_on want_on[4] = { FH_ON_PROC, FH_ON_NET, FH_ON_SLEEP,
		FH_ON_OTHER };
	struct fh_run *r = mkrun(1);
	struct fh_test *t = mktest(r, 0, NODE, "FFFF", 100);
	struct memfile f;
	struct fh_event *e;

	mf_init(&f, 100, 1, 100, "/usr/bin/python3");
	for (int i = 0; i < 4; i++) {
		int64_t t0 = T0 + i * SEC;
		int fd = 20 + i;

		mf_attempt(&f, NODE, i + 1, t0, t0 + 400 * MS, 0, MS, 10);
		if (i == 0) {
			e = mf_call(&f, "pipe2", FH_CAT_FILE, t0 + MS, 1000, 0, NULL);
			e->arg = fd;
			e->arg2 = fd + 1;
			e = mf_call(&f, "posix_spawn", FH_CAT_PROC, t0 + 2 * MS, 1000, 0, NULL);
			e->arg = 4242;
			e->target = "/usr/bin/sleep";
		} else if (i == 1) {
			e = mf_call(&f, "connect", FH_CAT_NET, t0 + MS, 1000, 0, NULL);
			e->fd = fd;
			e->target = "10.0.0.1:80";
		} else {
			e = mf_call(&f, i == 2 ? "timerfd_create" : "eventfd", FH_CAT_FILE, t0 + MS,
				    1000, fd, NULL);
		}
		e = mf_call(&f, "poll", FH_CAT_POLL, t0 + 10 * MS, 200 * MS, 0, NULL);
		e->arg = i == 1 ? 3 : 1;
		e->fd = fd;
		e->fdkind = i == 1 ? FHT_FD_SOCKET : FHT_FD_OTHER;
		e->timeout_ns = 200 * MS;
	}
	ck_assert_int_eq(join_files(r, &f, 1), 0);
	features_run(r);
	for (int i = 0; i < 4; i++) {
		const struct fh_attempt *a = &t->attempts[i];
		const struct fh_attempt_trace *tr = a->trace;

		ck_assert_ptr_nonnull(tr->last_block);
		ck_assert_str_eq(tr->last_block->target, want_target[i]);
		ck_assert_int_eq(tr->last_block->category, want_cat[i]);
		ck_assert_msg(a->f.blocked_on == want_on[i], "attempt %d: %s", i + 1,
			      fh_blocked_on_names[a->f.blocked_on]);
		ck_assert(tr->time_s[want_cat[i]] > 0.199);
		ck_assert_int_eq(tr->calls[0].category, want_cat[i]);
		ck_assert_str_eq(tr->calls[0].target, want_target[i]);
	}
	mf_free(&f);
	freerun(r);
}
END_TEST

/* An fd number reused after an unrecorded close(): socket() returning it forgets the file it
 * named, so a later accept on it is not reported as "accept4 on /path/to/file". */
START_TEST(test_fd_reuse_forgets_target)
{
	struct fh_run *r = mkrun(1);
	struct fh_test *t = mktest(r, 0, NODE, "F", 100);
	struct memfile f;
	struct fh_event *e;
	const struct fh_attempt_trace *tr;

	mf_init(&f, 100, 1, 100, "/usr/bin/python3");
	e = mf_call(&f, "openat", FH_CAT_FILE, T0 - 2 * SEC, MS, 9, NULL);
	e->target = "/src/test_state.py";
	mf_call(&f, "socket", FH_CAT_NET, T0 - SEC, MS, 9, NULL);
	mf_attempt(&f, NODE, 1, T0, -1, 5 * MS, -1, 12);
	e = mf_call(&f, "accept4", FH_CAT_NET, T0 + 10 * MS, -1, 0, NULL);
	e->fd = 9;

	ck_assert_int_eq(join_files(r, &f, 1), 0);
	tr = t->attempts[0].trace;
	ck_assert_ptr_nonnull(tr);
	ck_assert_int_eq((int)tr->nin_flight, 1);
	ck_assert_str_eq(tr->in_flight[0].call, "accept4");
	ck_assert_ptr_null(tr->in_flight[0].target);
	mf_free(&f);
	freerun(r);
}
END_TEST

/* A child started during attempt 2 and its grandchild belong to attempt 2; the child's exit
 * status comes from the parent's wait; a thread of pytest lands in the attempt by time. */
START_TEST(test_children_and_threads)
{
	struct fh_run *r = mkrun(1);
	struct fh_test *t = mktest(r, 0, NODE, "PF", 100);
	struct memfile f[4];
	struct fh_event *e;
	const struct fh_attempt_trace *tr;

	mf_init(&f[0], 100, 1, 100, "/usr/bin/python3");
	mf_attempt(&f[0], NODE, 1, T0, T0 + 100 * MS, 0, MS, 10);
	mf_attempt(&f[0], NODE, 2, T0 + SEC, T0 + SEC + 300 * MS, 0, MS, 10);
	e = mf_call(&f[0], "waitpid", FH_CAT_PROC, T0 + SEC + 20 * MS, 100 * MS, 200, NULL);
	e->arg = SIGSEGV; /* raw wait status: killed by SIGSEGV */
	mf_init(&f[1], 200, 100, 200, "/usr/bin/crashy");
	mf_call(&f[1], "nanosleep", FH_CAT_SLEEP, T0 + SEC + 21 * MS, 50 * MS, 0, NULL);
	mf_init(&f[2], 300, 200, 300, "/bin/true");
	mf_call(&f[2], "write", FH_CAT_FILE, T0 + SEC + 30 * MS, 1000, 1, NULL);
	mf_init(&f[3], 100, 1, 101, NULL); /* a thread of pytest */
	mf_call(&f[3], "clock_nanosleep", FH_CAT_SLEEP, T0 + SEC + 200 * MS, 500 * MS, 0, NULL);

	ck_assert_int_eq(join_files(r, f, 4), 0);
	ck_assert_int_eq(t->attempts[0].trace->nchildren, 0);
	tr = t->attempts[1].trace;
	ck_assert_int_eq((int)tr->nchildren, 2);
	ck_assert_int_eq(tr->children[0].pid, 200);
	ck_assert_str_eq(tr->children[0].exe, "/usr/bin/crashy");
	ck_assert_str_eq(tr->children[0].signal, "SIGSEGV");
	ck_assert_int_eq(tr->children[1].pid, 300);
	ck_assert(tr->time_s[FH_CAT_SLEEP] > 0.05); /* child sleep counted */
	ck_assert_int_eq((int)tr->events, 4);
	/* the pytest thread still sleeping when the test failed */
	ck_assert_int_eq((int)tr->nin_flight, 1);
	ck_assert_int_eq(tr->in_flight[0].tid, 101);
	ck_assert_str_eq(tr->in_flight[0].call, "clock_nanosleep");
	ck_assert(tr->nlanes == 4);
	for (size_t i = 0; i < 4; mf_free(&f[i++]))
		;
	freerun(r);
}
END_TEST

/* xdist: two workers with their own markers; events go to their own attempts. */
START_TEST(test_xdist_workers)
{
	struct fh_run *r = mkrun(2);
	struct fh_test *a = mktest(r, 0, "t.py::a", "PF", 101);
	struct fh_test *b = mktest(r, 1, "t.py::b", "FP", 102);
	struct memfile f[2];

	mf_init(&f[0], 101, 100, 101, NULL);
	mf_init(&f[1], 102, 100, 102, NULL);
	/* both workers run at the same time */
	mf_attempt(&f[0], "t.py::a", 1, T0, T0 + 100 * MS, 0, 0, 5);
	mf_call(&f[0], "connect", FH_CAT_NET, T0 + 10 * MS, MS, -1, "ECONNREFUSED")->target = "127.0.0.1:1";
	mf_attempt(&f[0], "t.py::a", 2, T0 + 200 * MS, T0 + 300 * MS, 0, 0, 5);
	mf_attempt(&f[1], "t.py::b", 1, T0, T0 + 150 * MS, 0, 0, 6);
	mf_call(&f[1], "clock_nanosleep", FH_CAT_SLEEP, T0 + 10 * MS, 100 * MS, 0, NULL);
	mf_attempt(&f[1], "t.py::b", 2, T0 + 200 * MS, T0 + 300 * MS, 0, 0, 6);

	ck_assert_int_eq(join_files(r, f, 2), 0);
	ck_assert_int_eq((int)a->attempts[0].trace->nerrors, 1);
	ck_assert_str_eq(a->attempts[0].trace->errors[0].errno_name, "ECONNREFUSED");
	ck_assert_str_eq(a->attempts[0].trace->errors[0].target, "127.0.0.1:1");
	ck_assert_int_eq((int)b->attempts[0].trace->nerrors, 0);
	ck_assert(b->attempts[0].trace->time_s[FH_CAT_SLEEP] > 0.09);
	ck_assert(a->attempts[0].trace->time_s[FH_CAT_SLEEP] == 0);
	ck_assert_int_eq(b->attempts[0].trace->fds, 6);
	mf_free(&f[0]);
	mf_free(&f[1]);
	freerun(r);
}
END_TEST

/* The worker died in attempt 3: a begin marker, a poll in flight, no end, no record. */
START_TEST(test_killed_mid_attempt)
{
	struct fh_run *r = mkrun(1);
	struct fh_test *t = mktest(r, 0, NODE, "PP", 100);
	struct memfile f;
	struct fh_event *e;
	const struct fh_attempt *a;

	mf_init(&f, 100, 1, 100, NULL);
	mf_target(&f, 9, "127.0.0.1:8080", T0 - SEC);
	mf_attempt(&f, NODE, 1, T0, T0 + 100 * MS, 0, 0, 5);
	mf_attempt(&f, NODE, 2, T0 + SEC, T0 + SEC + 100 * MS, 0, 0, 5);
	mf_attempt(&f, NODE, 3, T0 + 2 * SEC, -1, 0, 0, 5);
	e = mf_call(&f, "poll", FH_CAT_POLL, T0 + 2 * SEC + 5 * MS, -1, 0, NULL);
	e->fd = 9;
	e->timeout_ns = -1;

	ck_assert_int_eq(join_files(r, &f, 1), 0);
	ck_assert_int_eq((int)t->nattempts, 3);
	a = &t->attempts[2];
	ck_assert_int_eq(a->attempt, 3);
	ck_assert_int_eq(a->outcome, FH_ERROR);
	ck_assert_int_eq(t->failed, 1);
	ck_assert_ptr_nonnull(a->trace);
	ck_assert(a->trace->unfinished);
	ck_assert_str_eq(a->trace->last_block->call, "poll");
	ck_assert_int_eq(a->trace->last_block->ended, FH_END_IN_FLIGHT);
	ck_assert_str_eq(a->trace->last_block->target, "127.0.0.1:8080");
	ck_assert_int_eq((int)a->trace->nin_flight, 1);
	ck_assert_str_eq(a->trace->in_flight[0].call, "poll");
	/* earlier attempts keep their traces after the array moved */
	ck_assert_ptr_nonnull(t->attempts[0].trace);
	ck_assert_ptr_nonnull(t->attempts[1].trace);
	mf_free(&f);
	freerun(r);
}
END_TEST

/* No markers (e.g. an older plugin): intervals come from the attempt records. */
START_TEST(test_record_intervals)
{
	struct fh_run *r = mkrun(1);
	struct fh_test *t = mktest(r, 0, NODE, "PF", 100);
	struct memfile f;

	mf_init(&f, 100, 1, 100, NULL);
	mf_call(&f, "connect", FH_CAT_NET, T0 + SEC + 10 * MS, MS, -1, "ECONNREFUSED");
	mf_call(&f, "connect", FH_CAT_NET, T0 + SEC + 20 * MS, MS, -1, "ECONNREFUSED");
	mf_call(&f, "connect", FH_CAT_NET, T0 + SEC + 30 * MS, MS, -1, "EINPROGRESS");
	ck_assert_int_eq(join_files(r, &f, 1), 0);
	ck_assert_int_eq((int)t->attempts[1].trace->nerrors, 1);
	ck_assert_int_eq(t->attempts[1].trace->errors[0].count, 2);
	ck_assert_int_eq((int)t->attempts[0].trace->nerrors, 0);
	mf_free(&f);
	freerun(r);
}
END_TEST

/* Signals: name, sender, interrupted call (named from the call table seen in the files). */
/* A thread belongs to an attempt when it is its test thread or was created during it by one
 * that belongs; one created before (a fixture's) or by a background thread does not; one of
 * unknown origin does (traces without creators). */
START_TEST(test_ownership_rules)
{
	struct own_table t = { 0 };

	own_put(&t, 11, 1, 500);     /* created by the test thread 1 at 500 */
	own_put(&t, 12, 11, 600);    /* ... by 11 at 600 */
	own_put(&t, 13, 1, 50);      /* created at 50: before the attempt */
	own_put(&t, 14, 13, 700);    /* created during it, by the background thread 13 */
	own_put(&t, 15, 0, 700);     /* no creator: ignored, unknown */
	ck_assert(own_belongs(&t, 1, 1, 100, 1000));
	ck_assert(own_belongs(&t, 11, 1, 100, 1000));
	ck_assert(own_belongs(&t, 12, 1, 100, 1000));
	ck_assert(!own_belongs(&t, 13, 1, 100, 1000));
	ck_assert(!own_belongs(&t, 14, 1, 100, 1000));
	ck_assert(own_belongs(&t, 15, 1, 100, 1000));
	ck_assert(!own_belongs(&t, 11, 1, 600, 1000));   /* a later attempt: 11 is background */
	ck_assert_int_eq(own_born(&t, 13), 50);
	ck_assert_int_eq(own_born(&t, 99), 0);
	for (int k = 0; k < 200; k++)                     /* growth keeps every entry */
		own_put(&t, 1000 + k, 1, 10 + k);
	ck_assert_int_eq(own_born(&t, 13), 50);
	ck_assert_int_eq(own_born(&t, 1199), 209);
	own_free(&t);
}
END_TEST

/* Ownership by interaction in the join: two fixture threads created before the attempt; the
 * test thread wakes one (sem_post of a semaphore it holds) and sends on a socketpair the other
 * receives from (the pair's identity, which names no target), then sleeps a fixed time. Both are then the attempt's (busy after the sleep),
 * each only from the interaction on; a third, never talked to, stays background; a talked-to
 * thread back in a lock wait is idle, not busy. */
START_TEST(test_ownership_by_interaction)
{
	struct fh_run *r = mkrun(1);
	struct fh_test *t = mktest(r, 0, NODE, "F", 100);
	struct memfile f[4];
	struct fh_event *e;
	const struct fh_attempt_trace *tr;
	bool saw[4] = { false };

	mf_init(&f[0], 100, 1, 100, NULL);   /* the test thread */
	e = mf_call(&f[0], "socketpair", FH_CAT_NET, T0 - 5 * SEC, 0, 0, NULL);   /* a fixture's */
	e->arg = 7;
	e->arg2 = 8;
	e->target = "socketpair:[42]";
	mf_attempt(&f[0], NODE, 1, T0, T0 + 400 * MS, 0, 0, 5);
	e = mf_call(&f[0], "sem_post", FH_CAT_LOCK, T0 + 10 * MS, 0, 0, NULL);
	e->arg = 0x1000;
	e->arg2 = 200;                        /* woke thread 200 */
	e->timeout_ns = 0;
	e = mf_call(&f[0], "send", FH_CAT_NET, T0 + 11 * MS, 0, 1, NULL);
	e->fd = 8;
	e->timeout_ns = -1;
	mf_call(&f[0], "clock_nanosleep", FH_CAT_SLEEP, T0 + 12 * MS, 100 * MS, 0, NULL);
	for (int k = 1; k < 4; k++) {
		mf_init(&f[k], 100, 1, 100 * (k + 1), NULL);
		f[k].tf.creator_tid = 100;
		f[k].tf.born_ns = T0 - 10 * SEC;   /* a session fixture's thread */
	}
	/* 200: busy before the wake (its own business), then woken into a long sleep */
	mf_call(&f[1], "clock_nanosleep", FH_CAT_SLEEP, T0 + 2 * MS, 5 * MS, 0, NULL);
	mf_call(&f[1], "clock_nanosleep", FH_CAT_SLEEP, T0 + 20 * MS, 250 * MS, 0, NULL);
	/* 300: blocked on the socketpair since before the attempt; the test's send woke it */
	e = mf_call(&f[2], "recv", FH_CAT_NET, T0 - SEC, SEC + 11 * MS, 1, NULL);
	e->fd = 7;
	mf_call(&f[2], "clock_nanosleep", FH_CAT_SLEEP, T0 + 13 * MS, 250 * MS, 0, NULL);
	/* 400: a lock wait then a sleep past the test's: never talked to, background */
	mf_call(&f[3], "clock_nanosleep", FH_CAT_SLEEP, T0 + 14 * MS, 250 * MS, 0, NULL);
	/* 200 again, after its work: waiting for more (idle) */
	mf_call(&f[1], "sem_wait", FH_CAT_LOCK, T0 + 271 * MS, -1, 0, NULL);
	ck_assert_int_eq(join_files(r, f, 4), 0);
	tr = t->attempts[0].trace;
	ck_assert_ptr_nonnull(tr->last_sleep);
	for (size_t k = 0; k < tr->nbusy_after_sleep; k++) {
		int tid = tr->busy_after_sleep[k].tid;

		ck_assert_msg(tid == 200 || tid == 300, "busy after sleep: %d", tid);
		saw[tid / 100 - 1] = true;
		ck_assert_str_eq(tr->busy_after_sleep[k].call, "clock_nanosleep");
	}
	ck_assert_msg(saw[1] && saw[2], "busy: 200 %d, 300 %d", saw[1], saw[2]);
	for (size_t k = 0; k < tr->nin_flight; k++)   /* 200's wait for more work is idle */
		ck_assert_int_ne(tr->in_flight[k].tid, 200);
	/* 400, and 200 before the wake */
	ck_assert_int_eq(tr->background.threads, 2);
	/* 200's sleep before the wake is not the attempt's: 0.1 + 0.25 + 0.25 s of sleep */
	ck_assert(tr->time_s[FH_CAT_SLEEP] > 0.59 && tr->time_s[FH_CAT_SLEEP] < 0.61);
	for (int k = 0; k < 4; k++)
		mf_free(&f[k]);
	freerun(r);
}
END_TEST

START_TEST(test_signals)
{
	struct fh_run *r = mkrun(1);
	struct fh_test *t = mktest(r, 0, NODE, "F", 100);
	struct memfile f;
	struct fh_event *e;
	const struct fh_attempt_trace *tr;

	mf_init(&f, 100, 1, 100, NULL);
	mf_attempt(&f, NODE, 1, T0, T0 + 300 * MS, 0, 0, 5);
	mf_call(&f, "clock_nanosleep", FH_CAT_SLEEP, T0 + 10 * MS, 200 * MS, 4, "EINTR");
	e = mf_add(&f, FH_EV_SIGNAL, T0 + 210 * MS);
	e->signo = SIGALRM;
	e->sender_pid = 100;
	e->interrupted_call = FH_ID_clock_nanosleep;
	ck_assert_int_eq(join_files(r, &f, 1), 0);
	tr = t->attempts[0].trace;
	ck_assert_int_eq((int)tr->nsignals, 1);
	ck_assert_str_eq(tr->signals[0].signal, "SIGALRM");
	ck_assert_str_eq(tr->signals[0].interrupted, "clock_nanosleep");
	ck_assert_int_eq(tr->signals[0].sender_pid, 100);
	ck_assert(tr->signals[0].at_s > 0.2 && tr->signals[0].at_s < 0.22);
	ck_assert_int_eq(tr->last_block->ended, FH_END_SIGNAL);
	ck_assert_int_eq((int)tr->nerrors, 0); /* EINTR is not an error */
	ck_assert_str_eq(tr->signals[0].from, "this process");
	ck_assert(!tr->signals[0].session);
	mf_free(&f);
	freerun(r);
}
END_TEST

/* Who sent a signal: the kernel (si_pid 0), the plugin's time limit (SIGRTMAX-3 from this
 * process), xdist's controller (SIGINT from the parent of a worker): the last two are the
 * session's, and a wait they cut did not run out. */
START_TEST(test_signal_senders)
{
	struct fh_run *r = mkrun(1);
	struct fh_test *t = mktest(r, 0, NODE, "FFF", 100);
	struct memfile f;
	struct fh_event *e;
	static const int signo[3] = { SIGALRM, 0, SIGINT };
	static const int sender[3] = { 0, 100, 7 };

	for (int k = 0; k < 3; k++)
		t->attempts[k].worker = "gw0";
	mf_init(&f, 100, 7, 100, NULL);
	for (int k = 0; k < 3; k++) {
		int64_t t0 = T0 + k * SEC;

		mf_attempt(&f, NODE, k + 1, t0, t0 + 300 * MS, 0, 0, 5);
		mf_call(&f, "clock_nanosleep", FH_CAT_SLEEP, t0 + 10 * MS, 200 * MS, 4, "EINTR");
		e = mf_add(&f, FH_EV_SIGNAL, t0 + 210 * MS);
		e->signo = signo[k] ? signo[k] : SIGRTMAX - 3;
		e->sender_pid = sender[k];
		e->si_code = k == 0 ? 0x80 : -6;
		e->interrupted_call = FH_ID_clock_nanosleep;
	}
	ck_assert_int_eq(join_files(r, &f, 1), 0);
	features_run(r);
	ck_assert_str_eq(t->attempts[0].trace->signals[0].from, "the kernel");
	ck_assert(!t->attempts[0].trace->signals[0].session);
	ck_assert_int_eq(t->attempts[0].f.ran_out, FH_ON_SLEEP);
	ck_assert(t->attempts[1].trace->signals[0].session);
	ck_assert_ptr_nonnull(strstr(t->attempts[1].trace->signals[0].from, "time limit"));
	ck_assert_int_eq(t->attempts[1].f.ran_out, FH_ON_NONE);
	ck_assert(t->attempts[2].trace->signals[0].session);
	ck_assert_ptr_nonnull(strstr(t->attempts[2].trace->signals[0].from, "xdist"));
	ck_assert_int_eq(t->attempts[2].f.ran_out, FH_ON_NONE);
	mf_free(&f);
	freerun(r);
}
END_TEST

/* Spans stay bounded and keep the longest calls; events out of time order still join. */
START_TEST(test_spans_bounded_and_unordered)
{
	struct fh_run *r = mkrun(1);
	struct fh_test *t = mktest(r, 0, NODE, "PP", 100);
	struct memfile f;
	const struct fh_attempt_trace *tr;

	mf_init(&f, 100, 1, 100, NULL);
	f.keep_order = true;
	mf_attempt(&f, NODE, 1, T0, T0 + 900 * MS, 0, 0, 5);
	mf_attempt(&f, NODE, 2, T0 + SEC, T0 + SEC + 900 * MS, 0, 0, 5);
	for (int i = 0; i < 200; i++) /* attempt 2 first, then attempt 1: out of order */
		mf_call(&f, "nanosleep", FH_CAT_SLEEP, T0 + SEC + 2 * MS + i * 4 * MS,
			(i % 50) * 10000 + 1000, 0, NULL);
	for (int i = 0; i < 200; i++)
		mf_call(&f, "nanosleep", FH_CAT_SLEEP, T0 + 2 * MS + i * 4 * MS, 1000, 0, NULL);
	ck_assert_int_eq(join_files(r, &f, 1), 0);
	tr = t->attempts[1].trace;
	ck_assert_int_eq((int)tr->nspans, FH_EV_MAX_SPANS);
	for (size_t i = 0; i < tr->nspans; i++)
		ck_assert(tr->spans[i].dur_s >= 0.00034);
	for (size_t i = 1; i < tr->nspans; i++)
		ck_assert(tr->spans[i].start_s >= tr->spans[i - 1].start_s);
	ck_assert_int_eq((int)tr->events, 200);
	ck_assert_int_eq((int)t->attempts[0].trace->events, 200);
	mf_free(&f);
	freerun(r);
}
END_TEST

/* Hostile input: a process that claims to be its own parent, unknown nodeids, a marker
 * end without begin; nothing crashes and nothing is attributed wrongly. */
START_TEST(test_hostile)
{
	struct fh_run *r = mkrun(1);
	struct fh_test *t = mktest(r, 0, NODE, "P", 100);
	struct memfile f[3];
	struct fh_event *e;

	mf_init(&f[0], 100, 100, 100, NULL);
	e = mf_add(&f[0], FH_EV_MARK, T0 - SEC);
	e->mark = FH_MARK_ATTEMPT_END;
	mf_attempt(&f[0], "nope::x", 1, T0 - SEC / 2, T0 - SEC / 4, 0, 0, 1);
	mf_attempt(&f[0], NODE, 1, T0, T0 + 100 * MS, 0, 0, 1);
	mf_init(&f[1], 500, 600, 500, NULL);
	mf_init(&f[2], 600, 500, 600, NULL);
	mf_call(&f[1], "nanosleep", FH_CAT_SLEEP, T0 + 10 * MS, MS, 0, NULL);
	mf_call(&f[2], "nanosleep", FH_CAT_SLEEP, T0 + 10 * MS, MS, 0, NULL);
	/* extreme times in the pytest process itself */
	mf_call(&f[0], "nanosleep", FH_CAT_SLEEP, INT64_MIN, 5, 0, NULL);
	mf_call(&f[0], "nanosleep", FH_CAT_SLEEP, T0 + MS, INT64_MAX / 2 - T0, 0, NULL);
	mf_call(&f[0], "nanosleep", FH_CAT_SLEEP, INT64_MAX - 1, -1, 0, NULL);
	e = mf_call(&f[0], "nanosleep", FH_CAT_SLEEP, T0 + 2 * MS, 0, 0, NULL);
	e->end_ns = T0;
	ck_assert_int_eq(join_files(r, f, 3), 0);
	ck_assert_int_eq((int)t->attempts[0].trace->events, 0);
	ck_assert(t->attempts[0].trace->time_s[FH_CAT_SLEEP] == 0);
	ck_assert_int_eq((int)t->nattempts, 1);
	for (size_t i = 0; i < 3; mf_free(&f[i++]))
		;
	freerun(r);
}
END_TEST


/* A fixed sleep in the call phase while a worker thread still sleeps: race evidence. The
 * worker's file comes first in the list; the marker thread is still read first. */
START_TEST(test_sleep_sync_and_order)
{
	struct fh_run *r = mkrun(1);
	struct fh_test *t = mktest(r, 0, NODE, "PF", 100);
	struct memfile f[2];
	const struct fh_attempt_trace *tr;

	mf_init(&f[0], 100, 1, 101, NULL); /* the worker thread */
	mf_call(&f[0], "clock_nanosleep", FH_CAT_SLEEP, T0 + 5 * MS, 10 * MS, 0, NULL);
	mf_call(&f[0], "clock_nanosleep", FH_CAT_SLEEP, T0 + SEC + 5 * MS, 300 * MS, 0, NULL);
	mf_init(&f[1], 100, 1, 100, NULL);
	mf_attempt(&f[1], NODE, 1, T0, T0 + 200 * MS, 0, 0, 5);
	mf_call(&f[1], "clock_nanosleep", FH_CAT_SLEEP, T0 + 4 * MS, 80 * MS, 0, NULL);
	mf_attempt(&f[1], NODE, 2, T0 + SEC, T0 + SEC + 400 * MS, 0, 0, 5);
	mf_call(&f[1], "clock_nanosleep", FH_CAT_SLEEP, T0 + SEC + 4 * MS, 80 * MS, 0, NULL);
	mf_call(&f[1], "sem_wait", FH_CAT_LOCK, T0 + SEC + 90 * MS, 220 * MS, 0, NULL);
	ck_assert_int_eq(join_files(r, f, 2), 0);
	tr = t->attempts[0].trace;
	ck_assert_ptr_nonnull(tr->last_sleep);
	ck_assert_int_eq((int)tr->nbusy_after_sleep, 0);
	tr = t->attempts[1].trace;
	ck_assert_ptr_nonnull(tr->last_sleep);
	ck_assert(tr->last_sleep->waited_s > 0.079 && tr->last_sleep->waited_s < 0.081);
	ck_assert_int_eq((int)tr->nbusy_after_sleep, 1);
	ck_assert_int_eq(tr->busy_after_sleep[0].tid, 101);
	/* the failing thread's last block: the join, which returned */
	ck_assert_str_eq(tr->last_block->call, "sem_wait");
	ck_assert_int_eq((int)tr->events, 3);
	mf_free(&f[0]);
	mf_free(&f[1]);
	freerun(r);
}
END_TEST

/* A child started at the very end of attempt 1 whose first record comes only in attempt 2 (an
 * interpreter slow to start): it is attempt 1's, by its parent's record of starting it, so its
 * read blocked since then is not in flight in attempt 2 (a fixture's pool of children waiting
 * for work made a passing attempt look like it left a call running). */
START_TEST(test_slow_child_belongs_to_the_attempt_that_started_it)
{
	struct fh_run *r = mkrun(1);
	struct fh_test *t = mktest(r, 0, NODE, "PP", 100);
	struct memfile f[2];
	struct fh_event *e;

	mf_init(&f[0], 100, 1, 100, "/usr/bin/python3");
	mf_attempt(&f[0], NODE, 1, T0, T0 + 100 * MS, 0, MS, 10);
	e = mf_call(&f[0], "posix_spawn", FH_CAT_PROC, T0 + 98 * MS, 1000, 0, NULL);
	e->arg = 200;
	e->target = "/usr/bin/python3";
	mf_attempt(&f[0], NODE, 2, T0 + 101 * MS, T0 + 300 * MS, 0, MS, 10);
	mf_init(&f[1], 200, 100, 200, "/usr/bin/python3");
	mf_call(&f[1], "read", FH_CAT_FILE, T0 + 150 * MS, -1, 0, NULL)->fd = 0;

	ck_assert_int_eq(join_files(r, f, 2), 0);
	ck_assert_int_eq((int)t->attempts[1].trace->nin_flight, 0);
	ck_assert_int_eq((int)t->attempts[1].trace->nchildren, 0);
	mf_free(&f[0]);
	mf_free(&f[1]);
	freerun(r);
}
END_TEST

/* A child never traced (static binary) known only from the parent's wait; a grandchild whose
 * file comes before its parent's (pids wrapped) still joins the attempt. */
START_TEST(test_untraced_child_and_deferred_grandchild)
{
	struct fh_run *r = mkrun(1);
	struct fh_test *t = mktest(r, 0, NODE, "F", 100);
	struct memfile f[3];
	struct fh_event *e;
	const struct fh_attempt_trace *tr;

	mf_init(&f[0], 100, 1, 100, NULL);
	mf_attempt(&f[0], NODE, 1, T0, T0 + 500 * MS, 0, 0, 5);
	e = mf_call(&f[0], "waitpid", FH_CAT_PROC, T0 + 10 * MS, 50 * MS, 4242, NULL);
	e->arg = 6; /* SIGABRT */
	mf_init(&f[1], 50, 900, 50, "/bin/grandchild"); /* pid 50 < 900: read before its parent */
	mf_call(&f[1], "nanosleep", FH_CAT_SLEEP, T0 + 100 * MS, 10 * MS, 0, NULL);
	mf_init(&f[2], 900, 100, 900, "/bin/child");
	mf_call(&f[2], "nanosleep", FH_CAT_SLEEP, T0 + 90 * MS, 30 * MS, 0, NULL);
	ck_assert_int_eq(join_files(r, f, 3), 0);
	tr = t->attempts[0].trace;
	ck_assert_int_eq((int)tr->events, 3);
	ck_assert_int_eq((int)tr->nchildren, 3);
	for (size_t i = 0; i < tr->nchildren; i++)
		if (tr->children[i].pid == 4242)
			ck_assert_str_eq(tr->children[i].signal, "SIGABRT");
	for (size_t i = 0; i < 3; mf_free(&f[i++]))
		;
	freerun(r);
}
END_TEST

/* evidence_attach() over a run directory holding one version 2 process file: the marker thread
 * and a second thread (its own chunks, interleaved) are joined as (file, thread) units, so the
 * other thread's poll lands in the attempt; an unreadable file beside it is skipped. */
START_TEST(test_attach_v2_process_file)
{
	struct fh_run *r = mkrun(1);
	struct fh_test *t = mktest(r, 0, NODE, "F", 300);
	struct fht_rec m[6], w[2];
	struct v2 f;
	char dir[] = "/tmp/fh-test-ev-v2-XXXXXX", path[256];

	memset(m, 0, sizeof(m));
	memset(w, 0, sizeof(w));
	m[0] = (struct fht_rec){ .type = FHT_REC_PROC, .flags = FHT_F_DONE, .call = 0xffff,
				 .start_ns = T0 - SEC, .arg = 300, .arg2 = 1 };
	m[1] = (struct fht_rec){ .type = FHT_REC_MARK, .flags = FHT_F_DONE | FHT_F_STR,
				 .call = FHT_MARK_ATTEMPT_BEGIN, .start_ns = T0, .arg = 1, .arg2 = -1,
				 .fd = 5, .err = 2 };
	m[4] = (struct fht_rec){ .type = FHT_REC_MARK, .flags = FHT_F_DONE | FHT_F_STR,
				 .call = FHT_MARK_ATTEMPT_END, .start_ns = T0 + 400 * MS, .arg = 1,
				 .arg2 = -1, .result = 1, .fd = 5, .err = 2 };
	struct fht_str *s = (struct fht_str *)&m[2];   /* in the marker thread's second chunk */
	s->type = FHT_REC_STR;
	s->owner = 1;
	s->last = 1;
	s->len = (uint8_t)strlen(NODE);
	memcpy(s->data, NODE, s->len);
	m[5] = m[2];
	((struct fht_str *)&m[5])->owner = 4;
	w[0] = (struct fht_rec){ .type = FHT_REC_CALL, .call = FH_ID_poll,
				 .flags = FHT_F_DONE, .fd = -1, .start_ns = T0 + 10 * MS,
				 .end_ns = T0 + 210 * MS, .timeout_ns = 200 * MS };
	v2_init(&f, 300, 1, 0);
	v2_chunk(&f, 300, 0, 0, 2, 0, 0, m, 6);
	v2_chunk(&f, 302, 0, 0, 2, 0, 0, w, 2);
	v2_chunk(&f, 300, 1, 2, 4, 0, 0, m, 6);

	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/trace", dir);
	ck_assert_int_eq(mkdir(path, 0700), 0);
	snprintf(path, sizeof(path), "%s/trace/300.fht", dir);
	FILE *out = fopen(path, "w");
	ck_assert_uint_eq(fwrite(f.b, 1, f.len, out), f.len);
	fclose(out);
	snprintf(path, sizeof(path), "%s/trace/301.fht", dir);
	out = fopen(path, "w");
	fputs("not a trace", out);
	fclose(out);
	r->run_dir = dir;

	ck_assert_int_eq(evidence_attach(r), 0);
	ck_assert_int_eq((int)r->trace_events, 4);
	const struct fh_attempt_trace *tr = t->attempts[0].trace;
	ck_assert_ptr_nonnull(tr);
	ck_assert_int_eq((int)tr->events, 1);
	ck_assert_str_eq(tr->calls[0].call, "poll");

	unlink(path);
	snprintf(path, sizeof(path), "%s/trace/300.fht", dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/trace", dir);
	rmdir(path);
	rmdir(dir);
	free(f.b);
	freerun(r);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("evidence");
	TCase *tc = tcase_create("join");

	tcase_add_test(tc, test_markers_targets_last_block);
	tcase_add_test(tc, test_poll_socket_by_fd_kind);
	tcase_add_test(tc, test_wait_named_by_what_it_waited_for);
	tcase_add_test(tc, test_fd_reuse_forgets_target);
	tcase_add_test(tc, test_children_and_threads);
	tcase_add_test(tc, test_xdist_workers);
	tcase_add_test(tc, test_killed_mid_attempt);
	tcase_add_test(tc, test_record_intervals);
	tcase_add_test(tc, test_signals);
	tcase_add_test(tc, test_ownership_rules);
	tcase_add_test(tc, test_ownership_by_interaction);
	tcase_add_test(tc, test_signal_senders);
	tcase_add_test(tc, test_spans_bounded_and_unordered);
	tcase_add_test(tc, test_hostile);
	tcase_add_test(tc, test_sleep_sync_and_order);
	tcase_add_test(tc, test_untraced_child_and_deferred_grandchild);
	tcase_add_test(tc, test_slow_child_belongs_to_the_attempt_that_started_it);
	tcase_add_test(tc, test_attach_v2_process_file);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return fh_check_run(suite());
}
