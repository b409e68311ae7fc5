/* SPDX-License-Identifier: MIT */
/*
 * Tests of the HTML report (report/): builds struct fh_run models by hand (flaky, stable,
 * broken and parametrized tests; with and without history, traces, diagnosis, AI answers;
 * hostile names and messages) and checks what report_write() produces.
 *
 * The binary also serves the Python tests and the benchmark:
 *   test_report --write DIR          writes DIR/full.html (traces, history, AI, hostile
 *                                    strings) and DIR/plain.html (no traces, no history)
 *   test_report --big T A PFAIL OUT  writes a T tests x A attempts run with failure
 *                                    probability PFAIL to OUT and prints render seconds and bytes
 * Without arguments it runs the Check suite.
 */
#include <check.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fhtrace_format.h"
#include "fh_check.h"
#include "files.h"
#include "model.h"
#include "rep.h"
#include "report.h"
#include "stages.h"

#define HOSTILE_NAME "tests/test_x.py::test_x[<script>alert(1)</script>]"
#define HOSTILE_MSG "</script><img src=x onerror=alert(1)>"
#define HOSTILE_ATTR "\" onmouseover=\"document.title='pwned'\" x=\""
#define HOSTILE_IMG "<img src=x onerror=\"document.body.setAttribute('data-pwned','1')\">"

enum { F_HISTORY = 1, F_TRACES = 2, F_AI = 4, F_HOSTILE = 8 };

static uint64_t rng = 0x9e3779b97f4a7c15ULL;

static double urand(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (double)(rng >> 11) / (double)(1ULL << 53);
}

static void wilson(int k, int n, double *lo, double *hi)
{
	double z = 1.959964, p, den, c, h;

	if (n <= 0) {
		*lo = 0;
		*hi = 1;
		return;
	}
	p = (double)k / n;
	den = 1 + z * z / n;
	c = (p + z * z / (2.0 * n)) / den;
	h = z * sqrt(p * (1 - p) / n + z * z / (4.0 * n * n)) / den;
	*lo = c - h < 0 ? 0 : c - h;
	*hi = c + h > 1 ? 1 : c + h;
}

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* Fills counts, rates, verdict and duration statistics the way stats.c would. */
static void finish_test(struct fh_test *t)
{
	double *d = xcalloc(t->nattempts ? t->nattempts : 1, sizeof(*d)), sum = 0;
	size_t i, n = 0;

	t->passed = t->failed = t->skipped = 0;
	for (i = 0; i < t->nattempts; i++) {
		const struct fh_attempt *a = &t->attempts[i];

		if (a->outcome == FH_PASSED)
			t->passed++;
		else if (a->outcome == FH_SKIPPED)
			t->skipped++;
		else
			t->failed++;
		d[n++] = a->duration_s;
		sum += a->duration_s;
	}
	n = t->passed + t->failed;
	t->flake_rate = n ? (double)t->failed / (double)n : 0;
	wilson(t->failed, (int)n, &t->ci_lo, &t->ci_hi);
	t->verdict = !t->failed ? FH_STABLE : !t->passed ? FH_BROKEN : FH_FLAKY;
	qsort(d, t->nattempts, sizeof(*d), cmp_d);
	if (t->nattempts) {
		t->mean_s = sum / (double)t->nattempts;
		t->median_s = d[t->nattempts / 2];
		t->p95_s = d[(size_t)((double)(t->nattempts - 1) * 0.95)];
		t->max_s = d[t->nattempts - 1];
	}
	free(d);
}

static struct fh_frame *frames(struct arena *ar, const char *msgfile, int line, size_t *n)
{
	struct fh_frame *f = arena_alloc(ar, 3 * sizeof(*f));

	f[0] = (struct fh_frame){ "tests/test_db.py", 40, "test_fetch", "rows = fetch_rows(db)" };
	f[1] = (struct fh_frame){ "app/client.py", 88, "fetch_rows", "return sock.recv(4096)" };
	f[2] = (struct fh_frame){ msgfile, line, "recv_exact", "raise TimeoutError(\"timed out\")" };
	*n = 3;
	return f;
}

static struct fh_stack mkstack(struct arena *ar)
{
	struct fh_stack s;

	s.nframes = 4;
	s.frames = arena_alloc(ar, s.nframes * sizeof(*s.frames));
	s.frames[0] = (struct fh_stack_frame){ "python", NULL, "fetch_rows", "app/client.py", 88, 0 };
	s.frames[1] = (struct fh_stack_frame){ "python", NULL, "test_fetch", "tests/test_db.py", 40, 0 };
	s.frames[2] = (struct fh_stack_frame){ "native", "libc.so.6", "__poll", NULL, 0, 0x10f2a1 };
	s.frames[3] = (struct fh_stack_frame){ "native", "python3.11", "sock_recv_guts", NULL, 0, 0x2a7b10 };
	return s;
}

static struct fh_attempt_trace *mktrace(struct arena *ar, const struct fh_attempt *a, bool failed,
					bool hostile)
{
	struct fh_attempt_trace *tr = arena_alloc(ar, sizeof(*tr));
	size_t i;

	tr->cpu_s = 0.004;
	tr->time_s[FH_CAT_NET] = failed ? a->duration_s * 0.9 : a->duration_s * 0.2;
	tr->time_s[FH_CAT_FILE] = 0.002;
	tr->time_s[FH_CAT_LOCK] = failed ? 0 : 0.01;
	tr->fds = 12 + a->attempt;
	tr->threads = 2;
	tr->events = 120;
	tr->nlanes = 3;
	tr->lanes = arena_alloc(ar, 3 * sizeof(*tr->lanes));
	tr->lanes[0] = (struct fh_lane){ 100, 100, "pytest main" };
	tr->lanes[1] = (struct fh_lane){ 100, 101, "thread 101" };
	tr->lanes[2] = (struct fh_lane){ 150, 150, hostile ? "child 150 <b>bold</b>" : "child 150 /usr/bin/sleep" };
	tr->nspans = 6;
	tr->spans = arena_alloc(ar, tr->nspans * sizeof(*tr->spans));
	for (i = 0; i < tr->nspans; i++) {
		double st = a->duration_s * (double)i / 7.0;

		tr->spans[i] = (struct fh_span){ (int)(i % 3), st, a->duration_s / 9.0,
			(enum fh_category)(i % FH_CAT_COUNT), i % 2 ? "poll" : "connect",
			hostile ? "<svg onload=alert(1)>" : "127.0.0.1:5432", i == 5 && failed ? "timeout" : "0" };
	}
	tr->fail_at_s = failed ? a->duration_s * 0.95 : -1;
	tr->last_block = arena_alloc(ar, sizeof(*tr->last_block));
	*tr->last_block = (struct fh_block){ .call = "poll", .call_id = FH_ID_poll,
		.category = FH_CAT_NET, .on_socket = true, .target = "127.0.0.1:5432",
		.start_s = a->duration_s * 0.1, .waited_s = failed ? 0.25 : 0.002,
		.ended = failed ? FH_END_TIMEOUT : FH_END_RETURNED, .pid = 100, .tid = 100,
		.stack = mkstack(ar) };
	if (failed) {
		tr->nerrors = 1;
		tr->errors = arena_alloc(ar, sizeof(*tr->errors));
		tr->errors[0] = (struct fh_err_count){ .call = "connect", .errno_name = "ECONNREFUSED",
			.target = "127.0.0.1:5432", .count = 2, .call_id = FH_ID_connect };
		tr->nsignals = 1;
		tr->signals = arena_alloc(ar, sizeof(*tr->signals));
		tr->signals[0] = (struct fh_signal_ev){ "SIGALRM", a->duration_s * 0.9, 100, "poll", mkstack(ar),
			"pid 100", false };
		tr->nin_flight = 1;
		tr->in_flight = arena_alloc(ar, sizeof(*tr->in_flight));
		tr->in_flight[0] = (struct fh_inflight){ .pid = 100, .tid = 101, .call = "clock_nanosleep",
			.call_id = FH_ID_clock_nanosleep, .category = FH_CAT_SLEEP, .elapsed_s = 0.1,
			.stack = mkstack(ar) };
		tr->unfinished = a->attempt == 9;
		tr->kills_sent = 1;
		tr->ncalls = 2;
		tr->calls = arena_alloc(ar, 2 * sizeof(*tr->calls));
		tr->calls[0] = (struct fh_call_stat){ .call = "poll", .call_id = FH_ID_poll,
			.category = FH_CAT_NET, .target = hostile ? "<u>t</u>" : "127.0.0.1:5432",
			.count = 3, .timeouts = 1, .total_s = 0.25, .max_s = 0.25, .main_s = 0.25 };
		tr->calls[1] = (struct fh_call_stat){ .call = "connect", .call_id = FH_ID_connect,
			.category = FH_CAT_NET, .count = 2, .errors = 2, .total_s = 0.001, .max_s = 0.0006,
			.main_s = 0.001 };
		tr->last_sleep = arena_alloc(ar, sizeof(*tr->last_sleep));
		*tr->last_sleep = (struct fh_block){ .call = "clock_nanosleep",
			.call_id = FH_ID_clock_nanosleep, .category = FH_CAT_SLEEP, .start_s = 0.01,
			.waited_s = 0.08, .ended = FH_END_RETURNED, .pid = 100, .tid = 100 };
		tr->nbusy_after_sleep = 1;
		tr->busy_after_sleep = arena_alloc(ar, sizeof(*tr->busy_after_sleep));
		tr->busy_after_sleep[0] = (struct fh_inflight){ .pid = 100, .tid = 101, .call = "read",
			.call_id = FH_ID_read, .category = FH_CAT_FILE, .elapsed_s = 0.02 };
		tr->nchildren = 1;
		tr->children = arena_alloc(ar, sizeof(*tr->children));
		tr->children[0] = (struct fh_child){ 150, "/usr/bin/sleep", -1, "SIGKILL", 0.01, 0.3 };
	}
	return tr;
}

/* A test with n attempts; fail[i] says which fail. */
static void mktest(struct fh_run *run, struct fh_test *t, const char *nodeid, const char *param,
		   int n, const bool *fail, unsigned flags)
{
	struct arena *ar = &run->arena;
	int i;

	t->nodeid = arena_strdup(ar, nodeid);
	t->file = "tests/test_db.py";
	t->function = "test_fetch";
	t->param_id = param ? arena_strdup(ar, param) : NULL;
	t->nattempts = (size_t)n;
	t->attempts = arena_alloc(ar, (size_t)n * sizeof(*t->attempts));
	for (i = 0; i < n; i++) {
		struct fh_attempt *a = &t->attempts[i];

		a->attempt = i + 1;
		a->outcome = fail[i] ? FH_FAILED : FH_PASSED;
		a->duration_s = fail[i] ? 0.25 + 0.05 * urand() : 0.01 + 0.02 * urand();
		a->setup_s = 0.001;
		a->teardown_s = 0.0005;
		a->call_s = a->duration_s - a->setup_s - a->teardown_s;
		a->worker = "main";
		if (fail[i]) {
			a->when = "call";
			a->error_type = (flags & F_HOSTILE) ? HOSTILE_IMG : "TimeoutError";
			a->error_message = (flags & F_HOSTILE) ? HOSTILE_MSG : "timed out after 0.25 s";
			a->frames = frames(ar, (flags & F_HOSTILE) ? "app/<i>net</i>.py" : "app/net.py",
					   10 + (i % 2), &a->nframes);
			a->fingerprint = i % 2 ? "a1b2c3d4e5f6" : "0f9e8d7c6b5a";
		}
		if (flags & F_TRACES)
			a->trace = mktrace(ar, a, fail[i], flags & F_HOSTILE);
	}
	finish_test(t);
	if (t->failed) {
		size_t k, c;

		t->nclusters = t->failed > 1 ? 2 : 1;
		t->clusters = arena_alloc(ar, t->nclusters * sizeof(*t->clusters));
		for (c = 0; c < t->nclusters; c++) {
			struct fh_cluster *cl = &t->clusters[c];

			cl->attempts = arena_alloc(ar, (size_t)n * sizeof(int));
			for (k = 0; k < (size_t)n; k++) {
				const struct fh_attempt *a = &t->attempts[k];

				if (a->fingerprint && (t->nclusters == 1 || (size_t)(a->attempt % 2) == 1 - c)) {
					if (!cl->count) {
						cl->fingerprint = a->fingerprint;
						cl->error_type = a->error_type;
						cl->message = a->error_message;
						cl->frames = a->frames;
						cl->nframes = a->nframes;
					}
					cl->attempts[cl->count++] = a->attempt;
				}
			}
			cl->stack_fingerprint = (flags & F_TRACES) ? "5eed5eed5eed" : NULL;
		}
	}
	t->diag = arena_alloc(ar, sizeof(*t->diag));
	t->diag->kind = t->verdict == FH_STABLE ? FH_KIND_STABLE : t->verdict == FH_BROKEN ?
			FH_KIND_BROKEN : (flags & F_TRACES) ? FH_KIND_TIMEOUT : FH_KIND_UNEXPLAINED;
	t->diag->blocked_on = (flags & F_TRACES) && t->verdict == FH_FLAKY ? FH_ON_NET : FH_ON_NONE;
	t->diag->summary = (flags & F_HOSTILE) ? "summary with <b>markup</b> & an ampersand" :
			   "Failing attempts end in a poll on 127.0.0.1:5432 that timed out.";
	t->diag->nevidence = 2;
	t->diag->evidence = arena_alloc(ar, 2 * sizeof(char *));
	t->diag->evidence[0] = "3/3 failing attempts: poll on 127.0.0.1:5432 waited 0.25 s and timed out";
	t->diag->evidence[1] = (flags & F_HOSTILE) ? "evidence <script>document.title='pwned'</script>" :
			       "0/7 passing attempts waited over 0.01 s";
	if ((flags & F_AI) && t->verdict != FH_STABLE) {
		t->ai = arena_alloc(ar, sizeof(*t->ai));
		t->ai->model = "claude-sonnet-4-5";
		t->ai->redacted = true;
		if (t->verdict == FH_FLAKY) {
			t->ai->ok = true;
			t->ai->text = (flags & F_HOSTILE) ? "Hypothesis: " HOSTILE_MSG " the server answers late." :
				      "The database server sometimes answers after the 0.25 s client timeout.";
		} else {
			t->ai->reason = (flags & F_HOSTILE) ? "HTTP 529 <overloaded>" : "HTTP 529 overloaded";
		}
	}
	if (flags & F_HISTORY) {
		struct fh_history *h = arena_alloc(ar, sizeof(*h));
		static const char *hosts[] = { "ci-1", "ci-2", "laptop" };

		h->nruns = 12;
		h->runs = arena_alloc(ar, h->nruns * sizeof(*h->runs));
		for (i = 0; i < (int)h->nruns; i++) {
			struct fh_hist_run *hr = &h->runs[i];

			hr->run_id = arena_printf(ar, "202611%02dT120000Z-%06x", 1 + i, 0xabc000 + i);
			hr->timestamp = arena_printf(ar, "2026-11-%02dT12:00:00Z", 1 + i);
			hr->host = (flags & F_HOSTILE) && i == 3 ? "<img src=x onerror=alert(2)>" : hosts[i % 3];
			hr->branch = i % 4 ? "main" : "feature/retry";
			hr->week = i < 7 ? "2026-W45" : "2026-W46";
			hr->attempts = n;
			hr->failed = (int)((double)t->failed * (double)i / (double)h->nruns);
			h->total_attempts += hr->attempts;
			h->total_failed += hr->failed;
		}
		h->nby_host = 3;
		h->by_host = arena_alloc(ar, 3 * sizeof(*h->by_host));
		for (i = 0; i < 3; i++)
			h->by_host[i] = (struct fh_hist_group){ hosts[i], 4, 4 * n, i * 2 };
		h->nby_branch = 2;
		h->by_branch = arena_alloc(ar, 2 * sizeof(*h->by_branch));
		h->by_branch[0] = (struct fh_hist_group){ "main", 9, 9 * n, 5 };
		h->by_branch[1] = (struct fh_hist_group){ "feature/retry", 3, 3 * n, 4 };
		h->nby_params = 2;
		h->by_params = arena_alloc(ar, 2 * sizeof(*h->by_params));
		h->by_params[0] = (struct fh_hist_group){ "a-1", 6, 60, 2 };
		h->by_params[1] = (struct fh_hist_group){ "b-2", 6, 60, 9 };
		h->nlocations = 1;
		h->locations = arena_alloc(ar, sizeof(*h->locations));
		h->locations[0] = (struct fh_hist_group){ "app/net.py:10 in recv_exact", 5, 0, 7 };
		h->trend = (flags & F_HOSTILE) ? HOSTILE_ATTR : "rising";
		t->hist = h;
	}
}

static void build_fixture(struct fh_run *run, unsigned flags)
{
	static const bool flaky[10] = { 0, 0, 1, 0, 0, 1, 0, 0, 1, 0 };
	static const bool none[10] = { 0 };
	static const bool all[10] = { 1, 1, 1, 1, 1, 1, 1, 1, 1, 1 };
	static const bool one[10] = { 0, 0, 0, 0, 1, 0, 0, 0, 0, 0 };
	size_t i;

	memset(run, 0, sizeof(*run));
	run->run_dir = "/tmp/run";
	run->meta.run_id = "20261123T222031Z-abc123";
	run->meta.started_utc = "2026-11-23T22:20:31Z";
	run->meta.host = (flags & F_HOSTILE) ? "host<script>alert(3)</script>" : "ci-host-1";
	run->meta.os = "Linux-6.1.0-x86_64";
	run->meta.python = "3.11.2";
	run->meta.pytest = "7.2.1";
	run->meta.plugin_version = FH_VERSION;
	run->meta.branch = "main";
	run->meta.commit = "0123456789abcdef0123";
	run->meta.cpu_count = 2;
	run->meta.runs_per_test = 10;
	run->meta.tracing = flags & F_TRACES;
	run->history_enabled = true;
	run->ai_requested = flags & F_AI;
	run->trace_events = (flags & F_TRACES) ? 4321 : 0;
	run->ntests = 6;
	run->tests = arena_alloc(&run->arena, run->ntests * sizeof(*run->tests));
	mktest(run, &run->tests[0], "tests/test_db.py::test_fetch", NULL, 10, flaky, flags & ~F_HOSTILE);
	mktest(run, &run->tests[1], (flags & F_HOSTILE) ? HOSTILE_NAME : "tests/test_x.py::test_x[1]", "1",
	       10, one, flags);
	mktest(run, &run->tests[2], "tests/test_p.py::test_p[a-1]", "a-1", 10, flaky, flags & ~F_HOSTILE);
	mktest(run, &run->tests[3], "tests/test_broken.py::test_always", NULL, 10, all, flags & ~F_HOSTILE);
	mktest(run, &run->tests[4], "tests/test_p.py::test_p[b-2]", "b-2", 10, none, flags & ~F_HOSTILE);
	mktest(run, &run->tests[5], "tests/test_ok.py::test_slow_sometimes", NULL, 10, none, flags & ~F_HOSTILE);
	run->tests[5].perf = arena_alloc(&run->arena, sizeof(struct fh_perf));
	run->tests[5].perf->unstable = true;
	run->tests[5].perf->summary = "slow attempts spent +0.8 s in getaddrinfo; fast ones 0.001 s";
	run->tests[5].perf->nslow = 2;
	run->tests[5].perf->slow_attempts = arena_alloc(&run->arena, 2 * sizeof(int));
	run->tests[5].perf->slow_attempts[0] = 3;
	run->tests[5].perf->slow_attempts[1] = 7;
	run->tests[5].perf->nby_call = 1;
	run->tests[5].perf->by_call = arena_alloc(&run->arena, sizeof(struct fh_named_value));
	run->tests[5].perf->by_call[0] = (struct fh_named_value){ "getaddrinfo", 0.8 };
	features_run(run);
	run->tests[5].attempts[2].f.slow = run->tests[5].attempts[6].f.slow = true; /* as perf says */
	/* Report order: flaky/broken first, worst first (what stats.c does). */
	{
		struct fh_test tmp = run->tests[3];

		memmove(&run->tests[1], &run->tests[0], 3 * sizeof(tmp));
		run->tests[0] = tmp;
	}
	for (i = 0; i < run->ntests; i++) {
		run->nflaky += run->tests[i].verdict == FH_FLAKY;
		run->nstable += run->tests[i].verdict == FH_STABLE;
		run->nbroken += run->tests[i].verdict == FH_BROKEN;
		run->avg_flake_rate += run->tests[i].flake_rate / (double)run->ntests;
	}
}

static void build_big(struct fh_run *run, int ntests, int nattempts, double pfail)
{
	bool *fail = xcalloc((size_t)nattempts, sizeof(bool));
	int i, j;

	memset(run, 0, sizeof(*run));
	run->meta.run_id = "20261123T222031Z-b16b16";
	run->meta.started_utc = "2026-11-23T22:20:31Z";
	run->meta.host = "bench";
	run->meta.runs_per_test = nattempts;
	run->ntests = (size_t)ntests;
	run->tests = arena_alloc(&run->arena, run->ntests * sizeof(*run->tests));
	for (i = 0; i < ntests; i++) {
		char name[128];

		for (j = 0; j < nattempts; j++)
			fail[j] = urand() < pfail;
		snprintf(name, sizeof(name), "tests/test_mod%03d.py::test_case[%d]", i / 10, i);
		mktest(run, &run->tests[i], name, NULL, nattempts, fail, 0);
		run->nflaky += run->tests[i].verdict == FH_FLAKY;
		run->nstable += run->tests[i].verdict == FH_STABLE;
		run->nbroken += run->tests[i].verdict == FH_BROKEN;
	}
	features_run(run);
	free(fail);
}

static char *render(struct fh_run *run)
{
	char path[] = "/tmp/fh-report-XXXXXX";
	char *html = NULL;
	int fd = mkstemp(path);

	ck_assert_int_ge(fd, 0);
	close(fd);
	ck_assert_int_eq(report_write(run, path), 0);
	ck_assert_int_eq(read_file(path, 1 << 28, &html, NULL), 0);
	unlink(path);
	return html;
}

static int count(const char *hay, const char *needle)
{
	int n = 0;

	for (; (hay = strstr(hay, needle)); hay += strlen(needle))
		n++;
	return n;
}

START_TEST(test_full_report_escapes_hostile_strings)
{
	struct fh_run run;
	char *html;

	build_fixture(&run, F_HISTORY | F_TRACES | F_AI | F_HOSTILE);
	html = render(&run);
	ck_assert_ptr_nonnull(strstr(html, "test_x[&lt;script&gt;alert(1)&lt;/script&gt;]"));
	ck_assert_ptr_nonnull(strstr(html, "&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;"));
	ck_assert_ptr_null(strstr(html, "<script>alert"));
	ck_assert_ptr_null(strstr(html, "<img"));
	ck_assert_ptr_null(strstr(html, "<svg onload"));
	ck_assert_ptr_null(strstr(html, "<b>bold"));
	ck_assert_ptr_null(strstr(html, "<u>t"));
	ck_assert_ptr_null(strstr(html, "<b>markup"));
	/* Only the page script and the JSON blocks are <script> elements. */
	ck_assert_int_eq(count(html, "<script"), 1 + count(html, "<script type=\"application/json\""));
	ck_assert_ptr_nonnull(strstr(html, "Content-Security-Policy"));
	ck_assert_ptr_null(strstr(html, "http://"));
	ck_assert_ptr_null(strstr(html, "https://"));
	free(html);
	arena_free(&run.arena);
}
END_TEST

START_TEST(test_sections_present)
{
	struct fh_run run;
	char *html;

	build_fixture(&run, F_HISTORY | F_TRACES | F_AI);
	html = render(&run);
	ck_assert_int_eq(count(html, "<details class=\"card "), 6);
	ck_assert_ptr_nonnull(strstr(html, "class=\"box diag"));
	ck_assert_ptr_nonnull(strstr(html, "class=\"box ai\""));
	ck_assert_ptr_nonnull(strstr(html, "class=\"box perf\""));
	ck_assert_ptr_nonnull(strstr(html, "class=\"sc\""));
	ck_assert_ptr_nonnull(strstr(html, "class=\"bars\""));
	ck_assert_ptr_nonnull(strstr(html, "class=\"tl\""));
	ck_assert_ptr_nonnull(strstr(html, "class=\"heat\""));
	ck_assert_ptr_nonnull(strstr(html, "Past runs"));
	ck_assert_ptr_nonnull(strstr(html, "Historical trends"));
	ck_assert_ptr_nonnull(strstr(html, "class=\"spark\""));
	ck_assert_ptr_nonnull(strstr(html, "__poll"));
	ck_assert_ptr_nonnull(strstr(html, "HTTP 529 overloaded"));
	ck_assert_ptr_nonnull(strstr(html, "The process died during this attempt"));
	ck_assert_ptr_nonnull(strstr(html, "call (process died)"));
	ck_assert_ptr_nonnull(strstr(html, "where its waiting time went"));
	ck_assert_ptr_nonnull(strstr(html, "Last sleep of the test thread"));
	ck_assert_ptr_null(strstr(html, "id=\"tracing-off\""));
	/* Broken first (the model's order), and the first card is the broken test. */
	ck_assert_ptr_nonnull(strstr(html, "<details class=\"card v-broken\" id=\"t0\""));
	free(html);
	arena_free(&run.arena);
}
END_TEST

START_TEST(test_plain_run_says_tracing_off)
{
	struct fh_run run;
	char *html;

	build_fixture(&run, 0);
	html = render(&run);
	ck_assert_ptr_nonnull(strstr(html, "id=\"tracing-off\""));
	ck_assert_ptr_null(strstr(html, "class=\"tl\""));
	ck_assert_ptr_null(strstr(html, "class=\"bars\""));
	ck_assert_ptr_null(strstr(html, "class=\"box ai\""));
	ck_assert_ptr_null(strstr(html, "Historical trends"));
	ck_assert_ptr_nonnull(strstr(html, "No earlier runs"));
	free(html);
	arena_free(&run.arena);
}
END_TEST

/* A big run: every view drawn here (no data for a script to draw from), the attempt logs list
 * the failed attempts, and the page stays compact. */
START_TEST(test_big_run_is_compact)
{
	struct fh_run run;
	char *html;
	int failed = 0;

	build_big(&run, 100, 100, 0.05);
	for (size_t i = 0; i < run.ntests; i++)
		failed += run.tests[i].failed;
	html = render(&run);
	ck_assert_int_eq(count(html, "application/json"), 0);
	ck_assert_int_eq(count(html, "<svg class=\"sc\""), 100);
	ck_assert_int_eq(count(html, "<table class=\"alog sortable\">"), 100);
	ck_assert_int_eq(count(html, "<tr class=\"o-passed\""), 0);
	ck_assert_int_eq(count(html, "<tr class=\"o-failed\""), failed);
	ck_assert_int_eq(count(html, "every attempt is in the JSON summary"), 100);
	ck_assert_int_lt(strlen(html), 100 * 12000);
	free(html);
	arena_free(&run.arena);
}
END_TEST

/* Absurd numbers (NaN, infinities, negatives) never reach SVG geometry. */
START_TEST(test_absurd_numbers)
{
	struct fh_run run;
	struct fh_test *t;
	char *html, *p;

	build_fixture(&run, F_HISTORY | F_TRACES);
	t = &run.tests[1];
	t->attempts[0].duration_s = INFINITY;
	t->attempts[1].duration_s = NAN;
	t->attempts[2].duration_s = -5;
	t->attempts[2].trace->time_s[FH_CAT_NET] = INFINITY;
	t->attempts[3].trace->time_s[FH_CAT_DNS] = NAN;
	t->attempts[2].trace->spans[0].start_s = NAN;
	t->attempts[2].trace->spans[1].dur_s = INFINITY;
	t->attempts[2].trace->fail_at_s = NAN;
	t->p95_s = NAN;
	t->mean_s = INFINITY;
	t->flake_rate = NAN;
	html = render(&run);
	for (p = html; (p = strstr(p, " d=\"")); p += 4) {
		const char *end = strchr(p + 4, '"');
		size_t n = end ? (size_t)(end - p) : strlen(p);
		char *d = strndup(p, n);

		ck_assert_msg(!strstr(d, "nan") && !strstr(d, "inf"), "bad path %s", d);
		free(d);
	}
	for (p = html; (p = strstr(p, "nan\"")) || (p = strstr(html, "inf\"")); ) {
		ck_assert_msg(0, "non-finite number near: %.120s", p > html + 100 ? p - 100 : html);
		break;
	}
	free(html);
	arena_free(&run.arena);
}
END_TEST

START_TEST(test_empty_run)
{
	struct fh_run run;
	char *html;

	memset(&run, 0, sizeof(run));
	html = render(&run);
	ck_assert_ptr_nonnull(strstr(html, "No test attempts"));
	free(html);
}
END_TEST

START_TEST(test_unwritable_path_fails_cleanly)
{
	struct fh_run run;

	memset(&run, 0, sizeof(run));
	ck_assert_int_lt(report_write(&run, "/nonexistent-dir/x/report.html"), 0);
}
END_TEST

START_TEST(test_truncation_keeps_utf8)
{
	struct buf b = BUF_INIT(1024);

	esc_html_n(&b, "ab\xc3\xa9\xc3\xa9", 3);
	ck_assert_ptr_nonnull(strstr(buf_str(&b), "ab\xe2\x80\xa6"));
	buf_free(&b);
}
END_TEST

static int write_fixtures(const char *dir)
{
	static const struct { const char *name; unsigned flags; } fx[] = {
		{ "full.html", F_HISTORY | F_TRACES | F_AI | F_HOSTILE },
		{ "plain.html", 0 },
		{ "history.html", F_HISTORY },
		{ "traced.html", F_TRACES | F_AI },
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(fx); i++) {
		struct fh_run run;
		struct buf p = BUF_INIT(4096);
		int r;

		build_fixture(&run, fx[i].flags);
		buf_printf(&p, "%s/%s", dir, fx[i].name);
		r = report_write(&run, buf_str(&p));
		buf_free(&p);
		arena_free(&run.arena);
		if (r)
			return 1;
	}
	return 0;
}

static int write_big(int argc, char **argv)
{
	struct fh_run run;
	int64_t t0, t1;
	FILE *f;
	long size;
	int r;

	if (argc < 6)
		return 2;
	build_big(&run, (int)strtol(argv[2], NULL, 10), (int)strtol(argv[3], NULL, 10),
		  strtod(argv[4], NULL));
	t0 = now_ns();
	r = report_write(&run, argv[5]);
	t1 = now_ns();
	arena_free(&run.arena);
	if (r)
		return 1;
	f = fopen(argv[5], "rb");
	if (!f)
		return 1;
	fseek(f, 0, SEEK_END);
	size = ftell(f);
	fclose(f);
	printf("render_s=%.3f bytes=%ld\n", (double)(t1 - t0) / 1e9, size);
	return 0;
}

static Suite *report_suite(void)
{
	Suite *s = suite_create("report");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 20);
	tcase_add_test(tc, test_full_report_escapes_hostile_strings);
	tcase_add_test(tc, test_sections_present);
	tcase_add_test(tc, test_plain_run_says_tracing_off);
	tcase_add_test(tc, test_big_run_is_compact);
	tcase_add_test(tc, test_absurd_numbers);
	tcase_add_test(tc, test_empty_run);
	tcase_add_test(tc, test_unwritable_path_fails_cleanly);
	tcase_add_test(tc, test_truncation_keeps_utf8);
	suite_add_tcase(s, tc);
	return s;
}

int main(int argc, char **argv)
{
	if (argc >= 3 && !strcmp(argv[1], "--write"))
		return write_fixtures(argv[2]);
	if (argc >= 2 && !strcmp(argv[1], "--big"))
		return write_big(argc, argv);
	return fh_check_run(report_suite());
}
