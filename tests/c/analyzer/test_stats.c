/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the analyzer core: attempt records (valid, malformed, truncated, hostile),
 * meta.json defaults, statistics (Wilson interval values, verdicts, order, durations),
 * failure fingerprints (stable across checkouts and machines, sensitive to the exception type)
 * and clusters, and the JSON summary's fields. Each case runs in its own process (Check).
 */
#include <check.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "cluster.h"
#include "fh_check.h"
#include "fh_model.h"
#include "model.h"
#include "records.h"
#include "rundir.h"
#include "stages.h"
#include "summary.h"

#define REC(nodeid, attempt, outcome, extra) \
	"{\"v\":1,\"nodeid\":\"" nodeid "\",\"attempt\":" #attempt ",\"runs\":10,\"outcome\":\"" \
	outcome "\"" extra "}\n"

#define FAIL_EXTRA(type, path) \
	",\"duration_s\":0.5,\"error\":{\"type\":\"" type "\",\"message\":\"boom\"}," \
	"\"frames\":[{\"path\":\"tests/test_a.py\",\"line\":3,\"function\":\"test_a\"," \
	"\"source\":\"helper()\"},{\"path\":\"" path "\",\"line\":9,\"function\":\"helper\"," \
	"\"source\":\"raise X\"}]"

static void load_bytes(struct fh_run *run, const char *data, size_t len)
{
	struct fh_records *rec;

	memset(run, 0, sizeof(*run));
	run->meta.run_id = "test-run";
	rec = records_begin(run);
	records_add_buffer(rec, "attempts-1.jsonl", data, len);
	records_finish(rec);
}

static void load_buffer(struct fh_run *run, const char *data)
{
	load_bytes(run, data, strlen(data));
}

/* ---- records ---- */

START_TEST(test_records_valid)
{
	struct fh_run run;
	const struct fh_test *t;
	const char *data =
		REC("t.py::b[x-1]", 2, "failed", ",\"file\":\"t.py\",\"function\":\"b\",\"param_id\":\"x-1\","
		    "\"fixtures\":[\"tmp_path\",\"db\"],\"when\":\"call\",\"phases\":{\"setup\":0.1,"
		    "\"call\":0.2,\"teardown\":0.3},\"worker\":\"gw1\",\"pid\":77"
		    FAIL_EXTRA("ValueError", "src/x.py"))
		REC("t.py::b[x-1]", 1, "passed", ",\"duration_s\":0.25")
		REC("t.py::a", 1, "skipped", ",\"xfail\":true");

	load_buffer(&run, data);
	ck_assert_int_eq(run.malformed_records, 0);
	ck_assert_uint_eq(run.ntests, 2);
	ck_assert_int_eq(run.meta.runs_per_test, 10);
	t = fh_find_test(&run, "t.py::b[x-1]");
	ck_assert_ptr_nonnull(t);
	ck_assert_uint_eq(t->nattempts, 2);
	ck_assert_int_eq(t->attempts[0].attempt, 1); /* sorted by attempt number */
	ck_assert_int_eq(t->attempts[1].attempt, 2);
	ck_assert_str_eq(t->param_id, "x-1");
	ck_assert_uint_eq(t->nfixtures, 2);
	ck_assert_str_eq(t->fixtures[1], "db");
	ck_assert_str_eq(t->attempts[1].worker, "gw1");
	ck_assert_int_eq(t->attempts[1].pid, 77);
	ck_assert_str_eq(t->attempts[1].error_type, "ValueError");
	ck_assert_uint_eq(t->attempts[1].nframes, 2);
	ck_assert_str_eq(t->attempts[1].frames[1].function, "helper");
	ck_assert_str_eq(t->attempts[1].frames[1].source, "raise X");
	ck_assert(fabs(t->attempts[1].teardown_s - 0.3) < 1e-9);
	t = fh_find_test(&run, "t.py::a");
	ck_assert_ptr_nonnull(t);
	ck_assert(t->attempts[0].xfail);
	ck_assert_str_eq(t->function, "a"); /* derived from the nodeid when absent */
	ck_assert_str_eq(t->file, "t.py");
	ck_assert_ptr_null(t->param_id);
	run_free(&run);
}
END_TEST

START_TEST(test_records_malformed)
{
	struct fh_run run;
	const char *data =
		REC("t.py::a", 1, "passed", "")
		"garbage\n"
		"[1,2,3]\n"
		"{\"v\":1,\"attempt\":2,\"outcome\":\"passed\"}\n"            /* no nodeid */
		"{\"v\":1,\"nodeid\":\"t.py::a\",\"outcome\":\"exploded\"}\n" /* unknown outcome */
		"{\"v\":1,\"nodeid\":\"t.py::a\",\"outcome\":\"passed\"} trailing\n"
		"{\"v\":2,\"nodeid\":\"t.py::a\",\"outcome\":\"passed\"}\n"   /* future version */
		"\n   \n"
		REC("t.py::a", 2, "failed", "")
		"{\"v\":1,\"nodeid\":\"t.py::a\",\"attempt\":3,\"outcome\":\"pas"; /* truncated */

	load_buffer(&run, data);
	ck_assert_int_eq(run.malformed_records, 7);
	ck_assert_uint_eq(run.ntests, 1);
	ck_assert_uint_eq(run.tests[0].nattempts, 2);
	run_free(&run);
}
END_TEST

START_TEST(test_records_hostile_values)
{
	struct fh_run run;
	struct buf b = BUF_INIT(1 << 24);
	const struct fh_test *t;
	int i;

	/* Wrong types, huge numbers, a huge message, many frames, a NUL byte. */
	buf_puts(&b, "{\"v\":1,\"nodeid\":\"h::x\",\"attempt\":\"three\",\"outcome\":\"failed\","
		     "\"duration_s\":-5,\"pid\":1e300,\"phases\":[1],\"fixtures\":\"db\","
		     "\"frames\":{\"a\":1},\"error\":{\"type\":42,\"message\":\"");
	for (i = 0; i < 100000; i++)
		buf_putc(&b, 'm');
	buf_puts(&b, "\"}}\n");
	buf_puts(&b, "{\"v\":1,\"nodeid\":\"h::x\",\"attempt\":2,\"outcome\":\"failed\",\"frames\":[");
	for (i = 0; i < 500; i++)
		buf_printf(&b, "%s{\"path\":\"p%d.py\",\"line\":%d,\"function\":null}", i ? "," : "",
			   i, i);
	buf_puts(&b, "]}\n");
	buf_add(&b, "{\"v\":1,\"nodeid\":\"h::\0x\",\"outcome\":\"passed\"}\n", 44);
	/* Two attempts of one very long nodeid stay one test. */
	for (int k = 1; k <= 2; k++) {
		buf_puts(&b, "{\"v\":1,\"outcome\":\"passed\",\"nodeid\":\"long::");
		for (i = 0; i < 10000; i++)
			buf_putc(&b, 'n');
		buf_puts(&b, "\"}\n");
	}
	for (i = 0; i < 5000; i++)
		buf_putc(&b, '[');
	buf_putc(&b, '\n');
	load_bytes(&run, buf_str(&b), buf_len(&b));
	buf_free(&b);
	ck_assert_int_eq(run.malformed_records, 2);
	ck_assert_uint_eq(run.ntests, 2);
	t = fh_find_test(&run, "h::x");
	ck_assert_ptr_nonnull(t);
	ck_assert_uint_eq(t->nattempts, 2);
	ck_assert_int_eq(t->attempts[0].attempt, 1); /* "three" -> its position */
	ck_assert(t->attempts[0].duration_s == 0);
	ck_assert_int_eq(t->attempts[0].pid, 2147483647);
	ck_assert_ptr_null(t->attempts[0].error_type);
	ck_assert_uint_eq(strlen(t->attempts[0].error_message), FH_MAX_MESSAGE);
	ck_assert_uint_eq(t->attempts[0].nframes, 0);
	ck_assert_uint_eq(t->attempts[1].nframes, FH_MAX_FRAMES);
	ck_assert_str_eq(t->attempts[1].frames[FH_MAX_FRAMES - 1].path, "p499.py"); /* innermost kept */
	ck_assert_str_eq(t->attempts[1].frames[0].function, "?");
	run_compute(&run);
	run_cluster(&run);
	run_free(&run);
}
END_TEST

static void write_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	fclose(f);
}

START_TEST(test_run_load_dir)
{
	char dir[] = "/tmp/fh-core-XXXXXX";
	char path[256];
	struct fh_run run;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/attempts-2.jsonl", dir);
	write_text(path, REC("a::b", 1, "passed", ""));
	snprintf(path, sizeof(path), "%s/attempts-1.jsonl", dir);
	write_text(path, REC("a::b", 2, "failed", ""));
	snprintf(path, sizeof(path), "%s/not-attempts.txt", dir);
	write_text(path, "ignored\n");
	/* No meta.json: defaults, run id from the directory name. */
	ck_assert_int_eq(run_load(dir, &run), 0);
	ck_assert_str_eq(run.meta.run_id, strrchr(dir, '/') + 1);
	ck_assert_int_eq(run.meta.runs_per_test, 10);
	ck_assert_uint_eq(run.ntests, 1);
	ck_assert_uint_eq(run.tests[0].nattempts, 2);
	ck_assert_ptr_nonnull(strstr(run.tests[0].attempts[0].record_file, "attempts-2.jsonl"));
	run_free(&run);
	/* A broken meta.json is tolerated too. */
	snprintf(path, sizeof(path), "%s/meta.json", dir);
	write_text(path, "{\"run_id\": ");
	ck_assert_int_eq(run_load(dir, &run), 0);
	ck_assert_str_eq(run.meta.run_id, strrchr(dir, '/') + 1);
	run_free(&run);
	write_text(path, "{\"run_id\":\"R1\",\"runs_per_test\":4,\"host\":\"h\",\"tracing\":true,"
			 "\"git\":{\"branch\":\"dev\",\"commit\":\"abc\",\"dirty\":true}}");
	ck_assert_int_eq(run_load(dir, &run), 0);
	ck_assert_str_eq(run.meta.run_id, "R1");
	ck_assert_int_eq(run.meta.runs_per_test, 4);
	ck_assert_str_eq(run.meta.branch, "dev");
	ck_assert(run.meta.dirty && run.meta.tracing);
	run_free(&run);
	ck_assert_int_lt(run_load("/nonexistent/fh-run", &run), 0);
	run_free(&run);
	snprintf(path, sizeof(path), "rm -rf '%s'", dir);
	ck_assert_int_eq(system(path), 0);
}
END_TEST

/* ---- statistics ---- */

START_TEST(test_wilson_values)
{
	double lo, hi;

	/* Reference values of the Wilson score interval, z = 1.96. */
	wilson_interval(2, 10, &lo, &hi);
	ck_assert_double_eq_tol(lo, 0.0567, 1e-4);
	ck_assert_double_eq_tol(hi, 0.5098, 1e-4);
	wilson_interval(5, 10, &lo, &hi);
	ck_assert_double_eq_tol(lo, 0.2366, 1e-4);
	ck_assert_double_eq_tol(hi, 0.7634, 1e-4);
	wilson_interval(0, 10, &lo, &hi);
	ck_assert_double_eq(lo, 0);
	ck_assert_double_eq_tol(hi, 0.2775, 1e-4);
	wilson_interval(10, 10, &lo, &hi);
	ck_assert_double_eq_tol(lo, 0.7225, 1e-4);
	ck_assert_double_eq(hi, 1);
	wilson_interval(1, 100, &lo, &hi);
	ck_assert_double_eq_tol(lo, 0.0018, 1e-4);
	ck_assert_double_eq_tol(hi, 0.0545, 1e-4);
	wilson_interval(0, 0, &lo, &hi);
	ck_assert_double_eq(lo, 0);
	ck_assert_double_eq(hi, 1);
}
END_TEST

START_TEST(test_verdicts_and_order)
{
	struct fh_run run;
	const struct fh_test *t;
	const char *data =
		REC("s::stable_b", 1, "passed", ",\"duration_s\":1") REC("s::stable_b", 2, "passed", ",\"duration_s\":3")
		REC("s::stable_a", 1, "passed", ",\"duration_s\":2")
		REC("s::flaky_low", 1, "failed", "") REC("s::flaky_low", 2, "passed", "")
		REC("s::flaky_low", 3, "passed", "") REC("s::flaky_low", 4, "passed", "")
		REC("s::flaky_high", 1, "error", "") REC("s::flaky_high", 2, "failed", "")
		REC("s::flaky_high", 3, "passed", "") REC("s::flaky_high", 4, "skipped", "")
		REC("s::broken", 1, "failed", "") REC("s::broken", 2, "error", "")
		REC("s::skip", 1, "skipped", "") REC("s::skip", 2, "skipped", "");

	load_buffer(&run, data);
	run_compute(&run);
	ck_assert_uint_eq(run.ntests, 6);
	ck_assert_str_eq(run.tests[0].nodeid, "s::broken");
	ck_assert_str_eq(run.tests[1].nodeid, "s::flaky_high");
	ck_assert_str_eq(run.tests[2].nodeid, "s::flaky_low");
	ck_assert_str_eq(run.tests[3].nodeid, "s::stable_a");
	ck_assert_str_eq(run.tests[4].nodeid, "s::stable_b");
	ck_assert_str_eq(run.tests[5].nodeid, "s::skip");
	ck_assert_int_eq(run.nflaky, 2);
	ck_assert_int_eq(run.nbroken, 1);
	ck_assert_int_eq(run.nstable, 2);
	ck_assert_int_eq(run.nskipped, 1);
	t = fh_find_test(&run, "s::flaky_high");
	ck_assert_int_eq(t->verdict, FH_FLAKY);
	ck_assert_int_eq(t->failed, 2);
	ck_assert_int_eq(t->passed, 1);
	ck_assert_int_eq(t->skipped, 1);
	ck_assert_double_eq_tol(t->flake_rate, 2.0 / 3, 1e-9);
	ck_assert_int_eq(fh_find_test(&run, "s::broken")->verdict, FH_BROKEN);
	ck_assert_int_eq(fh_find_test(&run, "s::skip")->verdict, FH_SKIPPED_ALL);
	t = fh_find_test(&run, "s::stable_b");
	ck_assert_int_eq(t->verdict, FH_STABLE);
	ck_assert_double_eq_tol(t->mean_s, 2, 1e-9);
	ck_assert_double_eq_tol(t->median_s, 2, 1e-9);
	ck_assert_double_eq_tol(t->p95_s, 3, 1e-9);
	ck_assert_double_eq_tol(t->max_s, 3, 1e-9);
	/* (1 + 2/3 + 1/4 + 0 + 0) / 5 tests that ran */
	ck_assert_double_eq_tol(run.avg_flake_rate, (1 + 2.0 / 3 + 0.25) / 5, 1e-9);
	run_free(&run);
}
END_TEST

/* ---- fingerprints and clusters ---- */

static void fp(char out[13], const char *type, const char *p1, const char *p2, int line,
	       const char *src, const char *rootdir)
{
	struct fh_frame f[2] = {
		{ p1, 10, "test_it", "do_it()" },
		{ p2, line, "helper", src },
	};

	fingerprint_make(out, type, f, 2, rootdir);
}

START_TEST(test_fingerprint_stable)
{
	char a[13], b[13], c[13], d[13], e[13];

	fp(a, "TimeoutError", "/home/alice/src/proj/tests/test_x.py",
	   "/home/alice/venv/lib/python3.11/site-packages/lib/x.py", 5, "raise TimeoutError()",
	   "/home/alice/src/proj");
	fp(b, "TimeoutError", "/ci/build/42/checkout/tests/test_x.py",
	   "/usr/local/lib/python3.11/dist-packages/lib/x.py", 5, "raise TimeoutError()",
	   "/ci/build/42/checkout");
	fp(c, "TimeoutError", "tests/test_x.py", "C:\\py\\Lib\\site-packages\\lib\\x.py", 5,
	   "raise TimeoutError()", NULL);
	ck_assert_uint_eq(strlen(a), 12);
	ck_assert_str_eq(a, b);
	ck_assert_str_eq(a, c);
	/* Line numbers shift with edits above; the source line is what counts. */
	fp(d, "TimeoutError", "tests/test_x.py", "/opt/venv/lib/python3.12/site-packages/lib/x.py",
	   99, "   raise   TimeoutError()", NULL);
	ck_assert_str_eq(a, d);
	/* Memory addresses do not count. */
	fp(d, "E", "tests/t.py", "lib/x.py", 1, "obj = <Foo at 0x7f3a2b>", NULL);
	fp(e, "E", "tests/t.py", "lib/x.py", 1, "obj = <Foo at 0x55aa01>", NULL);
	ck_assert_str_eq(d, e);
	/* A different exception type, path or source line is a different failure. */
	fp(d, "ValueError", "tests/test_x.py", "lib/x.py", 5, "raise TimeoutError()", NULL);
	ck_assert_str_ne(a, d);
	fp(d, "TimeoutError", "tests/test_y.py", "lib/x.py", 5, "raise TimeoutError()", NULL);
	ck_assert_str_ne(a, d);
	fp(d, "TimeoutError", "tests/test_x.py", "lib/x.py", 5, "raise OtherError()", NULL);
	ck_assert_str_ne(a, d);
	/* Without a source line the line number is used. */
	fp(d, "E", "t.py", "x.py", 5, NULL, NULL);
	fp(e, "E", "t.py", "x.py", 6, NULL, NULL);
	ck_assert_str_ne(d, e);
}
END_TEST

START_TEST(test_fingerprint_path)
{
	struct buf b = BUF_INIT(4096);

	fingerprint_path(&b, "/usr/lib/python3.11/socket.py", NULL);
	ck_assert_str_eq(buf_str(&b), "python/socket.py");
	buf_reset(&b);
	fingerprint_path(&b, "/abs/elsewhere/pkg/mod.py", "/root/proj");
	ck_assert_str_eq(buf_str(&b), "pkg/mod.py");
	buf_reset(&b);
	fingerprint_path(&b, "./tests/a.py", NULL);
	ck_assert_str_eq(buf_str(&b), "tests/a.py");
	buf_reset(&b);
	fingerprint_path(&b, "/root/proj/tests/a.py", "/root/proj/");
	ck_assert_str_eq(buf_str(&b), "tests/a.py");
	buf_free(&b);
}
END_TEST

START_TEST(test_clusters)
{
	struct fh_run run;
	const struct fh_test *t;
	const char *data =
		REC("c::t", 1, "failed", FAIL_EXTRA("KeyError", "src/a.py"))
		REC("c::t", 2, "failed", FAIL_EXTRA("TimeoutError", "src/a.py"))
		REC("c::t", 3, "passed", "")
		REC("c::t", 4, "error", FAIL_EXTRA("TimeoutError", "src/a.py"))
		REC("c::t", 5, "failed", FAIL_EXTRA("TimeoutError", "src/a.py"));

	load_buffer(&run, data);
	run_compute(&run);
	run_cluster(&run);
	t = &run.tests[0];
	ck_assert_uint_eq(t->nclusters, 2);
	ck_assert_int_eq(t->clusters[0].count, 3);
	ck_assert_int_eq(t->clusters[0].attempts[0], 2);
	ck_assert_int_eq(t->clusters[0].attempts[1], 4);
	ck_assert_int_eq(t->clusters[0].attempts[2], 5);
	ck_assert_str_eq(t->clusters[0].error_type, "TimeoutError");
	ck_assert_uint_eq(t->clusters[0].nframes, 2);
	ck_assert_str_eq(t->clusters[0].frames[1].function, "helper");
	ck_assert_int_eq(t->clusters[1].count, 1);
	ck_assert_str_eq(t->clusters[1].error_type, "KeyError");
	ck_assert_ptr_null(t->attempts[2].fingerprint);
	ck_assert_str_eq(t->attempts[1].fingerprint, t->clusters[0].fingerprint);
	run_free(&run);
}
END_TEST

/* Same traceback, different place it hung: the stack fingerprint of the last blocking call
 * (set by the evidence stage) splits the cluster. */
START_TEST(test_clusters_split_by_stack)
{
	struct fh_run run;
	struct fh_test *t;
	const char *data =
		REC("c::t", 1, "failed", FAIL_EXTRA("TimeoutError", "src/a.py"))
		REC("c::t", 2, "failed", FAIL_EXTRA("TimeoutError", "src/a.py"))
		REC("c::t", 3, "failed", FAIL_EXTRA("TimeoutError", "src/a.py"));

	load_buffer(&run, data);
	run_compute(&run);
	t = &run.tests[0];
	t->attempts[0].stack_fingerprint = "aaaaaaaaaaaa";
	t->attempts[1].stack_fingerprint = "bbbbbbbbbbbb";
	t->attempts[2].stack_fingerprint = "aaaaaaaaaaaa";
	run_cluster(&run);
	ck_assert_uint_eq(t->nclusters, 2);
	ck_assert_int_eq(t->clusters[0].count, 2);
	ck_assert_str_eq(t->clusters[0].stack_fingerprint, "aaaaaaaaaaaa");
	ck_assert_int_eq(t->clusters[0].attempts[1], 3);
	ck_assert_str_eq(t->clusters[1].stack_fingerprint, "bbbbbbbbbbbb");
	/* one traceback fingerprint for both */
	ck_assert_str_eq(t->clusters[0].fingerprint, t->clusters[1].fingerprint);
	run_free(&run);
}
END_TEST

/* ---- JSON summary ---- */

START_TEST(test_summary_fields)
{
	static const char *const test_fields[] = {
		"nodeid", "attempts", "passed", "failed", "skipped", "flake_rate",
		"flake_rate_ci95", "verdict", "attempt_log", "clusters", "diagnosis", "perf",
		"ai_hypothesis",
	};
	static const char *const attempt_fields[] = {
		"attempt", "outcome", "duration_s", "phases", "failed_at", "fingerprint",
	};
	struct fh_run run;
	struct fh_attempt_trace tr;
	struct buf b = BUF_INIT(1 << 24);
	cJSON *root, *tests, *t, *log, *a0, *a1, *cl;
	size_t i;
	const char *data =
		REC("j::t[<script>]", 1, "failed", FAIL_EXTRA("E\\\"rr", "src/a.py"))
		REC("j::t[<script>]", 2, "passed", "");

	load_buffer(&run, data);
	run_compute(&run);
	run_cluster(&run);
	memset(&tr, 0, sizeof(tr));
	tr.fds = 3;
	tr.threads = -1;
	tr.time_s[FH_CAT_NET] = 0.25;
	run.tests[0].attempts[0].trace = &tr;
	ck_assert_int_eq(summary_render(&run, &b), 0);
	ck_assert_ptr_null(strstr(buf_str(&b), "<script>"));
	root = cJSON_Parse(buf_str(&b));
	ck_assert_ptr_nonnull(root);
	ck_assert_str_eq(cJSON_GetObjectItem(root, "schema")->valuestring, "flakehunter-summary/1");
	ck_assert(cJSON_IsString(cJSON_GetObjectItem(root, "run_id")));
	ck_assert(cJSON_IsNumber(cJSON_GetObjectItem(root, "runs_per_test")));
	ck_assert(cJSON_IsBool(cJSON_GetObjectItem(root, "tracing")));
	tests = cJSON_GetObjectItem(root, "tests");
	ck_assert_int_eq(cJSON_GetArraySize(tests), 1);
	t = cJSON_GetArrayItem(tests, 0);
	for (i = 0; i < ARRAY_SIZE(test_fields); i++)
		ck_assert_msg(cJSON_GetObjectItem(t, test_fields[i]), "missing %s", test_fields[i]);
	ck_assert_str_eq(cJSON_GetObjectItem(t, "nodeid")->valuestring, "j::t[<script>]");
	ck_assert(cJSON_IsNull(cJSON_GetObjectItem(t, "diagnosis")));
	ck_assert(cJSON_IsNull(cJSON_GetObjectItem(t, "ai_hypothesis")));
	ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItem(t, "flake_rate_ci95")), 2);
	log = cJSON_GetObjectItem(t, "attempt_log");
	a0 = cJSON_GetArrayItem(log, 0);
	a1 = cJSON_GetArrayItem(log, 1);
	for (i = 0; i < ARRAY_SIZE(attempt_fields); i++) {
		ck_assert(cJSON_GetObjectItem(a0, attempt_fields[i]) != NULL);
		ck_assert(cJSON_GetObjectItem(a1, attempt_fields[i]) != NULL);
	}
	ck_assert_str_eq(cJSON_GetObjectItem(cJSON_GetObjectItem(a0, "failed_at"), "function")->valuestring,
			 "helper");
	ck_assert(cJSON_IsNull(cJSON_GetObjectItem(a1, "failed_at")));
	ck_assert(cJSON_IsObject(cJSON_GetObjectItem(a0, "trace")));
	ck_assert_ptr_null(cJSON_GetObjectItem(a1, "trace"));
	ck_assert_double_eq_tol(cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetObjectItem(a0, "trace"),
				"time_s"), "net")->valuedouble, 0.25, 1e-9);
	ck_assert(cJSON_IsNull(cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetObjectItem(a0, "trace"),
			       "resources"), "threads")));
	cl = cJSON_GetArrayItem(cJSON_GetObjectItem(t, "clusters"), 0);
	ck_assert_str_eq(cJSON_GetObjectItem(cl, "error_type")->valuestring, "E\"rr");
	ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItem(cl, "frames")), 2);
	cJSON_Delete(root);
	buf_free(&b);
	run_free(&run);
}
END_TEST

static Suite *stats_suite(void)
{
	Suite *s = suite_create("core");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 20);
	tcase_add_test(tc, test_records_valid);
	tcase_add_test(tc, test_records_malformed);
	tcase_add_test(tc, test_records_hostile_values);
	tcase_add_test(tc, test_run_load_dir);
	tcase_add_test(tc, test_wilson_values);
	tcase_add_test(tc, test_verdicts_and_order);
	tcase_add_test(tc, test_fingerprint_stable);
	tcase_add_test(tc, test_fingerprint_path);
	tcase_add_test(tc, test_clusters);
	tcase_add_test(tc, test_clusters_split_by_stack);
	tcase_add_test(tc, test_summary_fields);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	fh_quiet = 1;
	return fh_check_run(stats_suite());
}
