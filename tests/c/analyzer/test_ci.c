/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the CI outputs: XML escaping and the JUnit report's structure, the Markdown
 * summary and GitHub annotations (escaping, bounds), the quarantine file of a run (hostile
 * input) and the TOML suggestions, and the plan fields of attempt records. Each case runs in
 * its own process (Check).
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "escape.h"
#include "fh_check.h"
#include "fh_model.h"
#include "junit.h"
#include "markdown.h"
#include "model.h"
#include "quarantine.h"
#include "records.h"
#include "rundir.h"
#include "stages.h"

#define REC(nodeid, attempt, outcome, extra) \
	"{\"v\":1,\"nodeid\":\"" nodeid "\",\"attempt\":" #attempt ",\"runs\":4,\"outcome\":\"" \
	outcome "\"" extra "}\n"

#define FAIL(when, type, msg) \
	",\"when\":\"" when "\",\"duration_s\":0.25,\"error\":{\"type\":\"" type "\",\"message\":\"" \
	msg "\"},\"frames\":[{\"path\":\"tests/test_a.py\",\"line\":7,\"function\":\"test_x\"," \
	"\"source\":\"assert go()\"},{\"path\":\"/usr/lib/python3.11/socket.py\",\"line\":9," \
	"\"function\":\"recv\",\"source\":\"raise X\"}]"

/* A run: flaky (2 failed + 1 setup error of 4), broken (4 failed), stable, skipped. */
static const char RUN[] =
	REC("tests/test_a.py::TestK::test_flaky[p-1]", 1, "failed",
	    FAIL("call", "ValueError", "bad <value> & \\\"q\\\"") ",\"output\":{\"stdout\":"
	    "\"out \\u0001\\u001b[0m x\",\"stderr\":\"err ]]> y\",\"log\":\"WARNING log\"}")
	REC("tests/test_a.py::TestK::test_flaky[p-1]", 2, "passed", ",\"duration_s\":0.5")
	REC("tests/test_a.py::TestK::test_flaky[p-1]", 3, "error", FAIL("setup", "OSError", "no"))
	REC("tests/test_a.py::TestK::test_flaky[p-1]", 4, "failed",
	    FAIL("call", "ValueError", "again") ",\"stop\":\"planned\"")
	REC("tests/test_b.py::test_broken", 1, "failed", FAIL("call", "KeyError", "k1"))
	REC("tests/test_b.py::test_broken", 2, "failed", FAIL("call", "KeyError", "k2"))
	REC("tests/test_b.py::test_broken", 3, "failed", FAIL("call", "KeyError", "k3"))
	REC("tests/test_b.py::test_broken", 4, "failed", FAIL("call", "KeyError", "k4"))
	"{\"v\":1,\"nodeid\":\"tests/test_b.py::test_stable\",\"attempt\":1,\"runs\":59,"
	"\"outcome\":\"passed\",\"stop\":\"stable\"}\n"
	REC("tests/test_b.py::test_skip", 1, "skipped", "");

static void load(struct fh_run *run, const char *data)
{
	struct fh_records *rec;

	memset(run, 0, sizeof(*run));
	run->meta.run_id = "R1";
	run->meta.host = "h";
	run->meta.runs_mode = "fixed";
	run->meta.fail_on = "any";
	rec = records_begin(run);
	records_add_buffer(rec, "attempts-1.jsonl", data, strlen(data));
	records_finish(rec);
	run_compute(run);
	run_cluster(run);
}

static int count(const char *hay, const char *needle)
{
	int n = 0;

	while ((hay = strstr(hay, needle))) {
		n++;
		hay++;
	}
	return n;
}

/* ---- XML ---- */

START_TEST(test_xml_escape)
{
	struct buf b = BUF_INIT(1 << 20);
	/* controls (NUL cannot be in a C string), entities, a lone continuation byte, an
	 * overlong '/', a UTF-16 surrogate, U+FFFE, a truncated 3-byte sequence, valid é and 😀 */
	const char in[] = "a\x01\x08\x0b\x0c\x1f\x7f<&>\"'\t\n\r z\x80 \xc0\xaf \xed\xa0\x80 "
			  "\xef\xbf\xbe \xc3\xa9\xf0\x9f\x98\x80 \xe2\x82";

	buf_xml(&b, in, false);
	ck_assert_str_eq(buf_str(&b), "a\\x01\\x08\\x0b\\x0c\\x1f\x7f&lt;&amp;&gt;\"'\t\n&#13; "
			 "z\xef\xbf\xbd \xef\xbf\xbd\xef\xbf\xbd \xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd "
			 "\\uFFFE \xc3\xa9\xf0\x9f\x98\x80 \xef\xbf\xbd\xef\xbf\xbd");
	buf_reset(&b);
	buf_xml(&b, "q\"\t\n<", true);
	ck_assert_str_eq(buf_str(&b), "q&quot;&#9;&#10;&lt;");
	buf_free(&b);
}
END_TEST

START_TEST(test_utf8_next)
{
	uint32_t cp;

	ck_assert_uint_eq(utf8_next((const unsigned char *)"\xc3\xa9", 2, &cp), 2);
	ck_assert_uint_eq(cp, 0xe9);
	ck_assert_uint_eq(utf8_next((const unsigned char *)"\xc3\xa9", 1, &cp), 1);
	ck_assert_uint_eq(cp, 0xfffd);
	ck_assert_uint_eq(utf8_next((const unsigned char *)"\xe0\x80\xaf", 3, &cp), 1);
	ck_assert_uint_eq(cp, 0xfffd); /* overlong */
	ck_assert_uint_eq(utf8_next((const unsigned char *)"\xf4\x90\x80\x80", 4, &cp), 1);
	ck_assert_uint_eq(cp, 0xfffd); /* above U+10FFFF */
	ck_assert_uint_eq(utf8_next((const unsigned char *)"\xf0\x9f\x98\x80", 4, &cp), 4);
	ck_assert_uint_eq(cp, 0x1f600);
}
END_TEST

START_TEST(test_junit_structure)
{
	struct fh_run run;
	struct buf b = BUF_INIT(1 << 24);
	const char *x, *flaky, *broken, *end;

	load(&run, RUN);
	ck_assert_int_eq(junit_render(&run, &b), 0);
	x = buf_str(&b);
	ck_assert_ptr_nonnull(strstr(x, "<testsuite name=\"flakehunter\" tests=\"4\" failures=\"1\" "
				 "errors=\"0\" skipped=\"1\""));
	/* Every failing attempt, in its element: the flaky test passes with 2 flakyFailure and 1
	 * flakyError; the broken one has a failure and 3 reruns. */
	ck_assert_int_eq(count(x, "<flakyFailure "), 2);
	ck_assert_int_eq(count(x, "<flakyError "), 1);
	ck_assert_int_eq(count(x, "<failure "), 1);
	ck_assert_int_eq(count(x, "<rerunFailure "), 3);
	ck_assert_int_eq(count(x, "<skipped "), 1);
	flaky = strstr(x, "<testcase name=\"test_flaky[p-1]\" classname=\"tests.test_a.TestK\" "
			  "time=\"1.250\">");
	broken = strstr(x, "<testcase name=\"test_broken\" classname=\"tests.test_b\"");
	ck_assert_ptr_nonnull(flaky);
	ck_assert_ptr_nonnull(broken);
	/* schema order inside the flaky testcase: flakyFailure before flakyError, then system-out */
	end = strstr(flaky, "</testcase>");
	ck_assert(strstr(flaky, "<flakyFailure") < strstr(flaky, "<flakyError"));
	ck_assert(strstr(flaky, "<flakyError") < strstr(flaky, "<system-out>flakehunter: "));
	ck_assert(strstr(flaky, "<system-out>flakehunter: ") < end);
	ck_assert_ptr_nonnull(strstr(flaky, "message=\"bad &lt;value&gt; &amp; &quot;q&quot;\" "
				     "type=\"ValueError\""));
	ck_assert_ptr_nonnull(strstr(flaky, "<stackTrace>Traceback (most recent call last), attempt "
				     "1 of 4, call phase:\n  File \"tests/test_a.py\", line 7, in "
				     "test_x\n    assert go()\n"));
	ck_assert_ptr_nonnull(strstr(flaky, "<system-out>out \\x01\\x1b[0m x\n--- captured log ---\n"
				     "WARNING log</system-out>"));
	ck_assert_ptr_nonnull(strstr(flaky, "<system-err>err ]]&gt; y</system-err>"));
	ck_assert_ptr_nonnull(strstr(flaky, "flakehunter: flaky, 3/4 attempts failed"));
	/* the broken test's first attempt is the failure, the others reruns */
	ck_assert_ptr_nonnull(strstr(broken, "<failure message=\"k1\" type=\"KeyError\">"));
	ck_assert_ptr_nonnull(strstr(broken, "<rerunFailure message=\"k4\""));
	ck_assert_ptr_null(strstr(broken, "message=\"k1\" type=\"KeyError\">\n      <stackTrace>"));
	/* properties: per test, and the plan */
	ck_assert_ptr_nonnull(strstr(x, "<property name=\"flakehunter.verdict[tests/test_b.py::"
				 "test_broken]\" value=\"broken\"/>"));
	ck_assert_ptr_nonnull(strstr(x, "<property name=\"flakehunter.attempts[tests/test_b.py::"
				 "test_stable]\" value=\"1/59\"/>"));
	ck_assert_ptr_nonnull(strstr(x, "flake_rate_ci95[tests/test_a.py::TestK::test_flaky[p-1]]\""));
	buf_free(&b);
	run_free(&run);
}
END_TEST

START_TEST(test_records_plan_and_output)
{
	struct fh_run run;
	const struct fh_test *t;

	load(&run, RUN);
	t = fh_find_test(&run, "tests/test_b.py::test_stable");
	ck_assert_int_eq(t->planned, 59);
	ck_assert_str_eq(t->stop, "stable");
	t = fh_find_test(&run, "tests/test_a.py::TestK::test_flaky[p-1]");
	ck_assert_int_eq(t->planned, 4);
	ck_assert_str_eq(t->stop, "planned");
	ck_assert_str_eq(t->attempts[0].out_stdout, "out \x01\x1b[0m x");
	ck_assert_str_eq(t->attempts[0].out_log, "WARNING log");
	ck_assert_ptr_null(t->attempts[1].out_stdout);
	/* no "runs" and no "stop": planned is the attempts present */
	t = fh_find_test(&run, "tests/test_b.py::test_skip");
	ck_assert_int_eq(t->planned, 4);
	ck_assert_ptr_null(t->stop);
	run_free(&run);
}
END_TEST

/* ---- Markdown and annotations ---- */

START_TEST(test_markdown)
{
	struct fh_run run;
	struct buf b = BUF_INIT(1 << 24);
	struct markdown_opts o = { "/w/out/report.html", "/w/ci/sub/summary.md", NULL };
	const char *x;

	load(&run, REC("t.py::test_x[a|b<script>*_`]", 1, "failed", FAIL("call", "E", "m"))
		   REC("t.py::test_x[a|b<script>*_`]", 2, "passed", ""));
	ck_assert_int_eq(markdown_render(&run, &o, &b), 0);
	x = buf_str(&b);
	ck_assert_ptr_nonnull(strstr(x, "### flakehunter: 1 flaky, 0 broken of 1 tests\n"));
	ck_assert_ptr_nonnull(strstr(x, "| t.py::test\\_x\\[a\\|b&lt;script&gt;\\*\\_\\`\\] | flaky | "
				 "1/2 | 50% (9-91%) |"));
	ck_assert_ptr_null(strstr(x, "<script>"));
	ck_assert_ptr_nonnull(strstr(x, "Report: [report.html](<../../out/report.html>)\n"));
	buf_reset(&b);
	o.report_link = "https://ci.example/run/7";
	ck_assert_int_eq(markdown_render(&run, &o, &b), 0);
	ck_assert_ptr_nonnull(strstr(buf_str(&b), "report.html in the artifacts of [the CI run]"
				     "(<https://ci.example/run/7>)"));
	buf_free(&b);
	run_free(&run);
}
END_TEST

START_TEST(test_annotations)
{
	struct fh_run run;
	struct buf data = BUF_INIT(1 << 24);
	char *out = NULL;
	size_t len = 0;
	FILE *f;
	int i, n;

	/* 13 flaky and 12 broken tests: 10 of each are annotated, then one notice. */
	for (i = 0; i < 25; i++) {
		buf_printf(&data, REC("t.py::t%d[100%%,x:y]", 1, "failed", FAIL("call", "E", "m%%\\nx"))
			   , i);
		if (i < 13)
			buf_printf(&data, REC("t.py::t%d[100%%,x:y]", 2, "passed", ""), i);
	}
	load(&run, buf_str(&data));
	f = open_memstream(&out, &len);
	n = annotations_print(&run, "sub/dir", f);
	fclose(f);
	ck_assert_int_eq(n, 20);
	ck_assert_int_eq(count(out, "::error file=sub/dir/tests/test_a.py,line=7,title=broken test "
			       "(100% of 1 attempts failed)::t.py::t"), 10);
	ck_assert_int_eq(count(out, "::warning file=sub/dir/tests/test_a.py,line=7,title=flaky test "
			       "(50% of 2 attempts failed)::"), 10);
	ck_assert_int_eq(count(out, "::notice title=flakehunter::5 more flaky or broken tests"), 1);
	/* data escaped: % and the message's line end cannot end the command early */
	ck_assert_ptr_nonnull(strstr(out, "[100%25,x:y] failed 1/1 attempts"));
	ck_assert_ptr_nonnull(strstr(out, "; E: m%25"));
	ck_assert_ptr_null(strstr(out, "m%\n"));
	ck_assert_int_eq(count(out, "\n"), 21);
	free(out);
	buf_free(&data);
	run_free(&run);
}
END_TEST

/* ---- quarantine ---- */

static char dir[64];

static void write_text(const char *name, const char *text)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	fclose(f);
}

static void load_dir(struct fh_run *run)
{
	ck_assert_int_eq(run_load(dir, run), 0);
	run_compute(run);
}

START_TEST(test_quarantine_load)
{
	struct fh_run run;
	const struct fh_test *t;
	char cmd[128];

	strcpy(dir, "/tmp/fh-ci-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	write_text("attempts-1.jsonl", REC("a::x", 1, "failed", "") REC("a::x", 2, "passed", "")
		   REC("a::y", 1, "failed", "") REC("a::z", 1, "passed", ""));
	/* no file: nothing marked, no error */
	load_dir(&run);
	ck_assert_int_eq(quarantine_load(&run), 0);
	ck_assert_uint_eq(run.nquarantine, 0);
	run_free(&run);
	write_text("quarantine.json",
		   "{\"file\":\"/r/q.toml\",\"entries\":[{\"pattern\":\"a::x\",\"owner\":\"al\","
		   "\"reason\":\"r\",\"expires\":\"2099-01-02\",\"line\":3,\"expired\":false},"
		   "{\"pattern\":\"a::y\",\"owner\":\"bo\",\"expires\":\"2000-01-01\",\"expired\":true},"
		   "{\"pattern\":\"a::z\"},7,{\"pattern\":\"q\",\"owner\":\"c\",\"expires\":\"soon\"}],"
		   "\"tests\":{\"a::x\":0,\"a::y\":1,\"a::z\":2,\"a::w\":0,\"a::v\":99,\"a::u\":-1,"
		   "\"a::t\":\"0\",\"a::s\":0.5}}");
	load_dir(&run);
	ck_assert_int_eq(quarantine_load(&run), 0);
	ck_assert_uint_eq(run.nquarantine, 5);
	ck_assert_str_eq(run.quarantine_file, "/r/q.toml");
	ck_assert_str_eq(run.quarantine[4].expires, "unknown");
	t = fh_find_test(&run, "a::x");
	ck_assert_ptr_nonnull(t->quarantine);
	ck_assert_str_eq(t->quarantine->owner, "al");
	ck_assert_int_eq(t->quarantine->line, 3);
	ck_assert(quarantine_active(t));
	t = fh_find_test(&run, "a::y");
	ck_assert(t->quarantine && !quarantine_active(t));
	t = fh_find_test(&run, "a::z"); /* its entry has no owner: not trusted */
	ck_assert_ptr_null(t->quarantine);
	run_free(&run);
	/* hostile files: one warning, nothing marked, the report goes on */
	write_text("quarantine.json", "{\"entries\": 5}");
	load_dir(&run);
	ck_assert_int_lt(quarantine_load(&run), 0);
	ck_assert_ptr_null(fh_find_test(&run, "a::x")->quarantine);
	run_free(&run);
	write_text("quarantine.json", "[1,2");
	load_dir(&run);
	ck_assert_int_lt(quarantine_load(&run), 0);
	run_free(&run);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	ck_assert_int_eq(system(cmd), 0);
}
END_TEST

START_TEST(test_quarantine_suggest)
{
	struct fh_run run;
	struct quarantine_suggest_opts o = { 0.3, "team \"q\"\n", 10, 86400 * 365 };
	char *out = NULL;
	size_t len = 0;
	FILE *f;

	load(&run, REC("a::low", 1, "failed", "") REC("a::low", 2, "passed", "")
		   REC("a::low", 3, "passed", "") REC("a::low", 4, "passed", "")
		   REC("a::hi\\u0001\\\\", 1, "failed", "") REC("a::hi\\u0001\\\\", 2, "passed", "")
		   REC("a::br", 1, "failed", ""));
	f = open_memstream(&out, &len);
	ck_assert_int_eq(quarantine_suggest(&run, &o, f), 1);
	fclose(f);
	ck_assert_ptr_nonnull(strstr(out, "\n[[quarantine]]\nnodeid = \"a::hi\\u0001\\\\\"\n"
				     "owner = \"team \\\"q\\\"\\n\"\nreason = \"flaky: 1/2 attempts "
				     "failed (50%, 95% CI 9-91%) in run R1\"\nexpires = 1971-01-11\n"));
	ck_assert_ptr_null(strstr(out, "a::low"));
	ck_assert_ptr_null(strstr(out, "a::br"));
	free(out);
	run_free(&run);
}
END_TEST

static Suite *ci_suite(void)
{
	Suite *s = suite_create("ci");
	TCase *tc = tcase_create("ci");

	tcase_set_timeout(tc, 20);
	tcase_add_test(tc, test_xml_escape);
	tcase_add_test(tc, test_utf8_next);
	tcase_add_test(tc, test_junit_structure);
	tcase_add_test(tc, test_records_plan_and_output);
	tcase_add_test(tc, test_markdown);
	tcase_add_test(tc, test_annotations);
	tcase_add_test(tc, test_quarantine_load);
	tcase_add_test(tc, test_quarantine_suggest);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	fh_quiet = 1;
	return fh_check_run(ci_suite());
}
