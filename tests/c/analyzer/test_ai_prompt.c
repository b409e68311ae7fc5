/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the offline half of the AI stage: the prompt built from a model (analyzer/
 * prompt.c) carries every piece of evidence prompt.h lists (what a model needs to reason about
 * a flake it cannot run) and no source code, stays bounded whatever the run holds, is
 * redacted and valid UTF-8; the request body is the Messages API shape.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "fh_check.h"
#include "model.h"
#include "prompt.h"
#include "redact.h"

static struct fh_stack_frame frames_lb[] = {
	{ "python", NULL, "fetch_rows", "src/app/client.py", 88, 0 },
	{ "native", "libc.so.6", "__poll", NULL, 0, 0x1234 },
};
static struct fh_frame tb[] = {
	{ "tests/test_db.py", 12, "test_fetch", "SOURCE_MUST_NOT_APPEAR = client.fetch()" },
	{ "src/app/client.py", 88, "fetch_rows", "rows = self.sock.recv(4096)" },
};
static const char *evidence[] = {
	"3/3 failing attempts: poll on 127.0.0.1:5432 waited 0.25 s and timed out; "
	"0/7 passing attempts waited over 0.01 s",
};
static int cl_attempts[] = { 2, 4 };
static int slow[] = { 3 };

/* A flaky test with two failing attempts (one traced) and two passing ones. */
static void build(struct fh_run *run, struct fh_test *t)
{
	struct fh_attempt *a = arena_alloc(&run->arena, 4 * sizeof(*a));
	struct fh_attempt_trace *tr = arena_alloc(&run->arena, sizeof(*tr));
	struct fh_attempt_trace *tp = arena_alloc(&run->arena, sizeof(*tp));
	struct fh_block *lb = arena_alloc(&run->arena, sizeof(*lb));
	struct fh_signal_ev *sig = arena_alloc(&run->arena, sizeof(*sig));
	struct fh_err_count *err = arena_alloc(&run->arena, sizeof(*err));
	struct fh_inflight *inf = arena_alloc(&run->arena, sizeof(*inf));
	struct fh_child *ch = arena_alloc(&run->arena, sizeof(*ch));
	struct fh_diagnosis *d = arena_alloc(&run->arena, sizeof(*d));
	struct fh_perf *p = arena_alloc(&run->arena, sizeof(*p));
	struct fh_history *h = arena_alloc(&run->arena, sizeof(*h));
	struct fh_hist_run *hr = arena_alloc(&run->arena, 2 * sizeof(*hr));
	struct fh_hist_group *hg = arena_alloc(&run->arena, sizeof(*hg));
	struct fh_named_value *nv = arena_alloc(&run->arena, sizeof(*nv));
	int i;

	run->meta.runs_per_test = 4;
	run->meta.tracing = true;
	t->nodeid = "tests/test_db.py::test_fetch[pg]";
	t->verdict = FH_FLAKY;
	t->passed = 2;
	t->failed = 2;
	t->flake_rate = 0.5;
	t->ci_lo = 0.15;
	t->ci_hi = 0.85;
	t->mean_s = 0.13;
	t->median_s = 0.12;
	t->p95_s = 0.26;
	t->max_s = 0.27;
	t->attempts = a;
	t->nattempts = 4;
	for (i = 0; i < 4; i++) {
		a[i].attempt = i + 1;
		a[i].outcome = i % 2 ? FH_FAILED : FH_PASSED;
		a[i].duration_s = i % 2 ? 0.26 : 0.01;
		a[i].worker = "main";
	}
	a[1].when = "call";
	a[1].error_type = "TimeoutError";
	a[1].error_message = "timed out; password=hunter2";
	a[1].trace = tr;
	a[1].f.blocked_on = FH_ON_NET;   /* what features_run() says of its last wait */
	a[0].trace = tp;
	tp->time_s[FH_CAT_NET] = 0.004;
	tp->fds = 11;
	tp->threads = 1;
	tr->cpu_s = 0.002;
	tr->time_s[FH_CAT_NET] = 0.25;
	tr->fds = 12;
	tr->threads = 2;
	lb->call = "poll";
	lb->category = FH_CAT_NET;
	lb->target = "127.0.0.1:5432";
	lb->waited_s = 0.25;
	lb->ended = FH_END_TIMEOUT;
	lb->stack.frames = frames_lb;
	lb->stack.nframes = 2;
	tr->last_block = lb;
	sig->signal = "SIGALRM";
	sig->at_s = 0.2;
	sig->interrupted = "clock_nanosleep";
	tr->signals = sig;
	tr->nsignals = 1;
	err->call = "connect";
	err->errno_name = "ECONNREFUSED";
	err->target = "127.0.0.1:6379";
	err->count = 2;
	tr->errors = err;
	tr->nerrors = 1;
	inf->call = "wait4";
	inf->category = FH_CAT_PROC;
	inf->elapsed_s = 0.1;
	tr->in_flight = inf;
	tr->nin_flight = 1;
	ch->pid = 99;
	ch->exe = "/usr/bin/pg_ctl";
	ch->signal = "SIGKILL";
	ch->duration_s = 0.3;
	ch->exit_code = -1;
	tr->children = ch;
	tr->nchildren = 1;

	t->clusters = arena_alloc(&run->arena, sizeof(*t->clusters));
	t->nclusters = 1;
	t->clusters[0].count = 2;
	t->clusters[0].attempts = cl_attempts;
	t->clusters[0].error_type = "TimeoutError";
	t->clusters[0].message = a[1].error_message;
	t->clusters[0].frames = tb;
	t->clusters[0].nframes = 2;

	d->kind = FH_KIND_TIMEOUT;
	d->blocked_on = FH_ON_NET;
	d->summary = "failing attempts time out in poll on 127.0.0.1:5432";
	d->evidence = evidence;
	d->nevidence = 1;
	t->diag = d;

	p->unstable = true;
	p->slow_attempts = slow;
	p->nslow = 1;
	nv->name = "getaddrinfo";
	nv->value = 0.8;
	p->by_call = nv;
	p->nby_call = 1;
	p->summary = "slow attempts spent +0.8 s in getaddrinfo";
	t->perf = p;

	hr[0].timestamp = "2026-11-20T10:00:00Z";
	hr[0].attempts = 4;
	hr[1].timestamp = "2026-11-23T22:00:00Z";
	hr[1].attempts = 4;
	hr[1].failed = 2;
	h->runs = hr;
	h->nruns = 2;
	h->total_attempts = 8;
	h->total_failed = 2;
	h->trend = "rising";
	hg->key = "ci-runner-3";
	hg->runs = 2;
	hg->attempts = 8;
	hg->failed = 2;
	h->by_host = hg;
	h->nby_host = 1;
	t->hist = h;
}

static const char *const expected[] = {
	"Test: tests/test_db.py::test_fetch[pg]",
	"Flake rate: 50.0% (95% Wilson interval 15.0%-85.0%)",
	"Duration (s): mean 0.130, median 0.120, p95 0.260, max 0.270",
	"exception: TimeoutError",
	"message: timed out; password=[REDACTED]",
	"tests/test_db.py:12 in test_fetch",
	"src/app/client.py:88 in fetch_rows",
	"Diagnosis (deterministic, from the evidence): kind timeout, blocked on net",
	"evidence: 3/3 failing attempts: poll on 127.0.0.1:5432 waited 0.25 s and timed out; "
	"0/7 passing attempts waited over 0.01 s",
	"last blocking call of the test's thread: poll on 127.0.0.1:5432, blocked on net",
	"waited 0.250 s, ended: timeout",
	"py fetch_rows at src/app/client.py:88",
	"c  libc.so.6 __poll",
	"signal SIGALRM at 0.200 s, interrupted clock_nanosleep",
	"failed call: connect -> ECONNREFUSED x2 on 127.0.0.1:6379",
	"still in flight at the end: wait4 (proc)",
	"child pid 99 /usr/bin/pg_ctl ran 0.300 s, killed by SIGKILL",
	"Failing attempt 2: failed in call",
	"Passing attempt 1: passed",
	"at start: 11 fds, 1 threads",
	"at start: 12 fds, 2 threads",
	"slow attempts spent +0.8 s in getaddrinfo",
	"extra time in call getaddrinfo: 0.800 s",
	"History: 2 runs, 2/8 attempts failed overall, trend rising",
	"ci-runner-3 2/8 failed in 2 runs",
	"system-call tracing on",
	"Failing attempts: 2, 1 with a trace",
	"last blocking call, how it ended: poll (net) timeout in 1/1",
	"signals: SIGALRM in 1/1",
	"failed calls: connect ECONNREFUSED in 1/1",
	"Passing attempts: 2, 1 with a trace",
	"signals: none",
};

START_TEST(test_prompt_has_the_evidence)
{
	struct fh_run run = { 0 };
	struct fh_test t = { 0 };
	const char *lits[] = { "sk-ant-literal-key-xyz", NULL };
	int nred = -1;
	char *p;
	size_t k;

	build(&run, &t);
	p = prompt_make(&run, &t, lits, &nred);
	ck_assert_ptr_nonnull(p);
	for (k = 0; k < ARRAY_SIZE(expected); k++)
		ck_assert_msg(strstr(p, expected[k]), "missing '%s' in:\n%s", expected[k], p);
	ck_assert_ptr_null(strstr(p, "SOURCE_MUST_NOT_APPEAR"));
	ck_assert_ptr_null(strstr(p, "self.sock.recv"));
	ck_assert_ptr_null(strstr(p, "hunter2"));
	ck_assert_int_ge(nred, 1);
	free(p);
	arena_free(&run.arena);
}
END_TEST

START_TEST(test_prompt_without_traces_or_diag)
{
	struct fh_run run = { 0 };
	struct fh_test t = { 0 };
	int nred = -1;
	char *p;

	build(&run, &t);
	t.diag = NULL;
	t.perf = NULL;
	t.hist = NULL;
	t.attempts[0].trace = t.attempts[1].trace = NULL;
	run.meta.tracing = false;
	p = prompt_make(&run, &t, NULL, &nred);
	ck_assert_ptr_nonnull(p);
	ck_assert_ptr_nonnull(strstr(p, "(no trace for this attempt)"));
	ck_assert_ptr_nonnull(strstr(p, "system-call tracing off"));
	ck_assert_ptr_null(strstr(p, "Diagnosis"));
	free(p);
	arena_free(&run.arena);
}
END_TEST

/* The request body parses back to the Messages API shape, with the prompt intact. */
START_TEST(test_request_body)
{
	const char *prompt = "Test: a\n\"quoted\" <tag> \xc3\xa9";
	char *body = prompt_request_body("claude-x", PROMPT_MAX_TOKENS, prompt);
	cJSON *root = cJSON_Parse(body), *msgs, *m;

	ck_assert_ptr_nonnull(root);
	ck_assert_str_eq(cJSON_GetObjectItem(root, "model")->valuestring, "claude-x");
	ck_assert_int_eq(cJSON_GetObjectItem(root, "max_tokens")->valueint, PROMPT_MAX_TOKENS);
	ck_assert(cJSON_IsString(cJSON_GetObjectItem(root, "system")));
	msgs = cJSON_GetObjectItem(root, "messages");
	ck_assert_int_eq(cJSON_GetArraySize(msgs), 1);
	m = cJSON_GetArrayItem(msgs, 0);
	ck_assert_str_eq(cJSON_GetObjectItem(m, "role")->valuestring, "user");
	ck_assert_str_eq(cJSON_GetObjectItem(m, "content")->valuestring, prompt);
	cJSON_Delete(root);
	free(body);
}
END_TEST

/* Whatever the run holds, the prompt stays bounded and valid UTF-8. */
START_TEST(test_prompt_bounded)
{
	struct fh_run run = { 0 };
	struct fh_test t = { 0 };
	size_t n = 1 << 20, k;
	char *huge = arena_alloc(&run.arena, n + 1);
	struct fh_cluster *cl;
	int nred;
	char *p;

	build(&run, &t);
	for (k = 0; k < n; k++)
		huge[k] = (char)(k % 7 == 0 ? 0xc3 : k % 13 == 0 ? '\n' : 'a' + k % 26);
	t.nodeid = huge;
	cl = arena_alloc(&run.arena, 1000 * sizeof(*cl));
	for (k = 0; k < 1000; k++) {
		cl[k] = t.clusters[0];
		cl[k].message = huge;
		cl[k].error_type = huge;
	}
	t.clusters = cl;
	t.nclusters = 1000;
	t.attempts[1].trace->last_block->target = huge;
	p = prompt_make(&run, &t, NULL, &nred);
	ck_assert_ptr_nonnull(p);
	ck_assert_uint_lt(strlen(p), PROMPT_MAX_BYTES);
	ck_assert_ptr_nonnull(strstr(p, "smaller clusters not shown"));
	for (k = 0; p[k]; k++) {
		unsigned char c = (unsigned char)p[k];

		if (c >= 0x80) {
			/* 0xc3 followed by ASCII is invalid: it must have become '?'. */
			ck_assert(c != 0xc3 || ((unsigned char)p[k + 1] & 0xc0) == 0x80);
		}
	}
	free(p);
	arena_free(&run.arena);
}
END_TEST

START_TEST(test_utf8_sanitize)
{
	char s[] = "ok \xc3\xa9 \xc3( \xe2\x82\xac \xed\xa0\x80 \xf0\x9f\x99\x82 \xff \xc0\xaf end";

	utf8_sanitize(s);
	ck_assert_str_eq(s, "ok \xc3\xa9 ?( \xe2\x82\xac ??? \xf0\x9f\x99\x82 ? ?? end");
}
END_TEST

static Suite *ai_prompt_suite(void)
{
	Suite *s = suite_create("ai_prompt");
	TCase *tc = tcase_create("prompt");

	tcase_add_test(tc, test_prompt_has_the_evidence);
	tcase_add_test(tc, test_prompt_without_traces_or_diag);
	tcase_add_test(tc, test_request_body);
	tcase_add_test(tc, test_prompt_bounded);
	tcase_add_test(tc, test_utf8_sanitize);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return fh_check_run(ai_prompt_suite());
}
