/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the CSV history: hostile strings survive a write/read round trip, formula
 * cells are neutralised on disk and restored on reading, file names are safe and distinct,
 * corrupt rows are skipped and counted, and three runs accumulate into trends without a row
 * ever being rewritten or appended twice.
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "escape.h"
#include "fh_check.h"
#include "fh_model.h"
#include "files.h"
#include "history.h"
#include "model.h"
#include "records.h"
#include "rundir.h"
#include "stages.h"

static const char *const hostile[] = {
	"plain", "a,b", "quote \"x\" inside", "line1\nline2", "=1+1", "+SUM(A1)", "-x", "@cmd",
	"-12.5", "'already", "'=x", "\ttab", "\rcr", "", "é漢字🙂", "trailing\r", "\"", ",",
	"</script><img src=x onerror=alert(1)>", "=HYPERLINK(\"http://evil\",\"x\")",
};

START_TEST(test_csv_round_trip)
{
	struct buf b = BUF_INIT(1 << 20);
	struct fh_csv c;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(hostile); i++) {
		if (i)
			buf_putc(&b, ',');
		buf_csv_cell(&b, hostile[i]);
	}
	buf_puts(&b, "\nsecond,row\n");
	/* Formula cells never start a cell on disk. */
	ck_assert_ptr_nonnull(strstr(buf_str(&b), "\"'=1+1\""));
	ck_assert_ptr_nonnull(strstr(buf_str(&b), "\"'+SUM(A1)\""));
	ck_assert_ptr_nonnull(strstr(buf_str(&b), "\"'@cmd\""));
	ck_assert_ptr_nonnull(strstr(buf_str(&b), "\"'-x\""));
	ck_assert_ptr_nonnull(strstr(buf_str(&b), ",-12.5,")); /* a number stays a number */
	csv_init(&c, buf_str(&b), buf_len(&b));
	ck_assert_int_eq(csv_row(&c), 1);
	ck_assert_uint_eq(c.ncells, ARRAY_SIZE(hostile));
	for (i = 0; i < ARRAY_SIZE(hostile); i++)
		ck_assert_str_eq(csv_cell(&c, (int)i), hostile[i]);
	ck_assert_int_eq(csv_row(&c), 1);
	ck_assert_uint_eq(c.line, 3); /* the first row spans two lines */
	ck_assert_str_eq(csv_cell(&c, 1), "row");
	ck_assert_int_eq(csv_row(&c), 0);
	csv_free(&c);
	/* CRLF rows and an unterminated quote. */
	csv_init(&c, "a,b\r\n\"open,x\n", 13);
	ck_assert_int_eq(csv_row(&c), 1);
	ck_assert_str_eq(csv_cell(&c, 1), "b");
	ck_assert_int_eq(csv_row(&c), -EBADMSG);
	ck_assert_int_eq(csv_row(&c), 0);
	csv_free(&c);
	buf_free(&b);
}
END_TEST

START_TEST(test_file_names)
{
	struct buf a = BUF_INIT(4096), b = BUF_INIT(4096);
	const char *p;
	char longid[600];

	history_file_name(&a, "tests/t.py::test[a/b]");
	history_file_name(&b, "tests/t.py::test[a_b]");
	ck_assert_str_ne(buf_str(&a), buf_str(&b));
	for (p = buf_str(&a); *p; p++)
		ck_assert(strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-", *p));
	buf_reset(&a);
	history_file_name(&a, "../../etc/passwd");
	ck_assert_ptr_null(strchr(buf_str(&a), '/'));
	memset(longid, 'x', sizeof(longid) - 1);
	longid[sizeof(longid) - 1] = '\0';
	buf_reset(&a);
	history_file_name(&a, longid);
	ck_assert_uint_le(buf_len(&a), 80 + 1 + 16 + 4);
	buf_free(&a);
	buf_free(&b);
}
END_TEST

#define REC(nodeid, attempt, outcome, extra) \
	"{\"v\":1,\"nodeid\":\"" nodeid "\",\"attempt\":" #attempt ",\"runs\":4,\"outcome\":\"" \
	outcome "\"" extra "}\n"
#define FAILED(n) REC("t.py::test_x[p1]", n, "failed", \
	",\"param_id\":\"p1\",\"function\":\"test_x\",\"file\":\"t.py\"," \
	"\"error\":{\"type\":\"E\",\"message\":\"=HYPERLINK(\\\"x\\\"), a \\\"quote\\\"\\nnewline\"}," \
	"\"frames\":[{\"path\":\"t.py\",\"line\":7,\"function\":\"test_x\",\"source\":\"boom()\"}]")
#define PASSED(n) REC("t.py::test_x[p1]", n, "passed", ",\"param_id\":\"p1\",\"function\":\"test_x\",\"file\":\"t.py\"")
#define SIBLING(n, o) REC("t.py::test_x[p2]", n, o, ",\"param_id\":\"p2\",\"function\":\"test_x\",\"file\":\"t.py\"")

static void make_run(struct fh_run *run, const char *run_dir, const char *run_id,
		     const char *host, const char *started, const char *records)
{
	struct fh_records *rec;

	memset(run, 0, sizeof(*run));
	run->run_dir = run_dir;
	run->meta.run_id = run_id;
	run->meta.host = host;
	run->meta.branch = "main";
	run->meta.started_utc = started;
	run->meta.os = run->meta.python = run->meta.pytest = run->meta.plugin_version = "";
	run->meta.runs_per_test = 4;
	rec = records_begin(run);
	records_add_buffer(rec, "attempts-1.jsonl", records, strlen(records));
	records_finish(rec);
	run_compute(run);
	run_cluster(run);
}

/* Counts the data rows of a history file; checks every row has the header's cell count. */
static int count_rows(const char *path)
{
	struct fh_csv c;
	char *data;
	size_t len, ncols;
	int rows = 0;

	ck_assert_int_eq(read_file(path, 1 << 24, &data, &len), 0);
	csv_init(&c, data, len);
	ck_assert_int_eq(csv_row(&c), 1);
	ncols = c.ncells;
	ck_assert_str_eq(csv_cell(&c, 0), "run_id");
	while (csv_row(&c) == 1) {
		ck_assert_uint_eq(c.ncells, ncols);
		rows++;
	}
	csv_free(&c);
	free(data);
	return rows;
}

static void history_path(struct buf *b, const char *dir, const char *nodeid)
{
	buf_reset(b);
	buf_printf(b, "%s/", dir);
	history_file_name(b, nodeid);
}

START_TEST(test_three_runs)
{
	char tmp[] = "/tmp/fh-hist-XXXXXX";
	struct buf hist = BUF_INIT(4096), rdir[3] = { BUF_INIT(4096), BUF_INIT(4096), BUF_INIT(4096) };
	struct buf path = BUF_INIT(4096);
	static const char *const records[3] = {
		PASSED(1) PASSED(2) PASSED(3) PASSED(4) SIBLING(1, "passed"),
		FAILED(1) PASSED(2) FAILED(3) PASSED(4) SIBLING(1, "passed"),
		FAILED(1) FAILED(2) FAILED(3) PASSED(4) SIBLING(1, "failed"),
	};
	static const char *const hosts[3] = { "ci-1", "laptop", "ci-1" };
	static const char *const started[3] = { "2026-11-02T10:00:00Z", "2026-11-09T10:00:00Z",
						 "2026-11-10T10:00:00Z" };
	struct fh_run run;
	const struct fh_test *t;
	const struct fh_history *h;
	char *data;
	size_t len;
	int i;

	ck_assert_ptr_nonnull(mkdtemp(tmp));
	buf_printf(&hist, "%s/history", tmp);
	for (i = 0; i < 3; i++) {
		char id[16];

		buf_printf(&rdir[i], "%s/run%d", tmp, i);
		ck_assert_int_eq(mkdir_p(buf_str(&rdir[i]), 0755), 0);
		snprintf(id, sizeof(id), "R%d", i);
		make_run(&run, buf_str(&rdir[i]), id, hosts[i], started[i], records[i]);
		ck_assert_int_eq(history_update(&run, buf_str(&hist)), 0);
		run_free(&run);
	}
	history_path(&path, buf_str(&hist), "t.py::test_x[p1]");
	ck_assert_int_eq(count_rows(buf_str(&path)), 12);
	/* The message with a formula, quotes and a newline is stored neutralised and quoted. */
	ck_assert_int_eq(read_file(buf_str(&path), 1 << 24, &data, &len), 0);
	ck_assert_ptr_nonnull(strstr(data, "\"'=HYPERLINK(\"\"x\"\"), a \"\"quote\"\"\nnewline\""));
	free(data);

	/* Re-rendering run 3: trends are the same, nothing is appended twice. */
	make_run(&run, buf_str(&rdir[2]), "R2", hosts[2], started[2], records[2]);
	ck_assert_int_eq(history_update(&run, buf_str(&hist)), 0);
	ck_assert_int_eq(count_rows(buf_str(&path)), 12);
	t = fh_find_test(&run, "t.py::test_x[p1]");
	h = t->hist;
	ck_assert_ptr_nonnull(h);
	ck_assert_uint_eq(h->nruns, 3);
	ck_assert_str_eq(h->runs[0].run_id, "R0");
	ck_assert_str_eq(h->runs[2].run_id, "R2");
	ck_assert_int_eq(h->runs[0].failed, 0);
	ck_assert_int_eq(h->runs[1].failed, 2);
	ck_assert_int_eq(h->runs[2].failed, 3);
	ck_assert_int_eq(h->total_attempts, 12);
	ck_assert_int_eq(h->total_failed, 5);
	ck_assert_str_eq(h->trend, "rising");
	ck_assert_uint_eq(h->nby_host, 2);
	ck_assert_str_eq(h->by_host[0].key, "ci-1");
	ck_assert_int_eq(h->by_host[0].runs, 2);
	ck_assert_int_eq(h->by_host[0].failed, 3);
	ck_assert_uint_eq(h->nby_branch, 1);
	ck_assert_int_eq(h->by_branch[0].runs, 3);
	ck_assert_uint_eq(h->nby_week, 2);
	ck_assert_str_eq(h->by_week[0].key, "2026-W45");
	ck_assert_str_eq(h->by_week[1].key, "2026-W46");
	ck_assert_int_eq(h->by_week[1].runs, 2);
	ck_assert_uint_eq(h->nlocations, 1);
	ck_assert_str_eq(h->locations[0].key, "t.py:7 in test_x");
	ck_assert_int_eq(h->locations[0].failed, 5);
	ck_assert_uint_eq(h->nby_params, 2);
	ck_assert_str_eq(h->by_params[0].key, "p1"); /* fails most */
	ck_assert_int_eq(h->by_params[0].failed, 5);
	ck_assert_str_eq(h->by_params[1].key, "p2");
	ck_assert_int_eq(h->by_params[1].failed, 1);
	ck_assert_int_eq(h->skipped_rows, 0);
	run_free(&run);

	/* A crash cut the last row short: the next run's rows start on a line of their own. */
	{
		FILE *f = fopen(buf_str(&path), "a");

		ck_assert_ptr_nonnull(f);
		fputs("R9,2026-11-11T00:00:00Z,0.1.0,host,os,3.11", f);
		fclose(f);
	}
	buf_reset(&rdir[0]);
	buf_printf(&rdir[0], "%s/run3", tmp);
	ck_assert_int_eq(mkdir_p(buf_str(&rdir[0]), 0755), 0);
	make_run(&run, buf_str(&rdir[0]), "R3", "ci-1", "2026-11-11T10:00:00Z", records[0]);
	ck_assert_int_eq(history_update(&run, buf_str(&hist)), 0);
	h = fh_find_test(&run, "t.py::test_x[p1]")->hist;
	ck_assert_int_eq(h->skipped_rows, 1);
	ck_assert_uint_eq(h->nruns, 4);
	ck_assert_int_eq(h->runs[3].attempts, 4);
	run_free(&run);

	buf_reset(&path);
	buf_printf(&path, "rm -rf '%s'", tmp);
	ck_assert_int_eq(system(buf_str(&path)), 0);
	for (i = 0; i < 3; i++)
		buf_free(&rdir[i]);
	buf_free(&hist);
	buf_free(&path);
}
END_TEST

START_TEST(test_corrupt_rows)
{
	struct fh_run run;
	struct fh_hist_acc *acc;
	struct buf csv = BUF_INIT(1 << 20);
	const struct fh_history *h;

	make_run(&run, NULL, "R1", "h", "2026-11-02T10:00:00Z",
		 FAILED(1) PASSED(2) PASSED(3) PASSED(4));
	history_rows(&run, &run.tests[0], &csv, true);
	buf_puts(&csv, "R1,too,few,cells\n");
	buf_puts(&csv, "\n");
	history_rows(&run, &run.tests[0], &csv, false);
	/* Damage: a bad attempt number, an unknown outcome, another test's row. */
	buf_puts(&csv, "garbage without enough cells\n");
	run.meta.run_id = "R0";
	history_rows(&run, &run.tests[0], &csv, false);
	run.meta.run_id = "R1";
	{
		char *p = strstr(buf_str(&csv) + buf_len(&csv) - 400, ",passed,");

		ck_assert_ptr_nonnull(p);
		memcpy(p, ",pissed,", 8);
	}
	buf_puts(&csv, "\"unterminated,");
	acc = hist_acc_new(run.tests[0].nodeid);
	ck_assert_int_eq(hist_acc_add_buffer(acc, "h.csv", buf_str(&csv), buf_len(&csv), "R1"), 3);
	hist_acc_add_run(acc, &run, &run.tests[0]);
	hist_acc_finish(acc, &run, &run.tests[0]);
	h = run.tests[0].hist;
	ck_assert_int_eq(h->skipped_rows, 4);
	ck_assert_uint_eq(h->nruns, 2);
	ck_assert_str_eq(h->runs[0].run_id, "R0");
	ck_assert_int_eq(h->runs[0].attempts, 3);
	ck_assert_int_eq(h->runs[1].attempts, 4);
	ck_assert_str_eq(h->trend, "n/a");
	/* Another test's rows are refused. */
	acc = hist_acc_new("other::test");
	ck_assert_int_eq(hist_acc_add_buffer(acc, "h.csv", buf_str(&csv), buf_len(&csv), NULL), 0);
	hist_acc_finish(acc, &run, &run.tests[0]);
	ck_assert_int_eq(run.tests[0].hist->skipped_rows, 15);
	buf_free(&csv);
	run_free(&run);
}
END_TEST

START_TEST(test_many_runs)
{
	struct fh_run run;
	struct fh_hist_acc *acc;
	struct buf csv = BUF_INIT(1 << 24);
	const struct fh_history *h;
	char id[16], host[16];
	int i;

	make_run(&run, NULL, "R-now", "h", "2026-11-02T10:00:00Z",
		 FAILED(1) PASSED(2) PASSED(3) PASSED(4));
	for (i = 0; i < 250; i++) {
		snprintf(id, sizeof(id), "R%03d", i);
		snprintf(host, sizeof(host), "host%d", i % 3);
		run.meta.run_id = id;
		run.meta.host = host;
		history_rows(&run, &run.tests[0], &csv, i == 0);
	}
	run.meta.run_id = "R-now";
	run.meta.host = "h";
	acc = hist_acc_new(run.tests[0].nodeid);
	ck_assert_int_eq(hist_acc_add_buffer(acc, "h.csv", buf_str(&csv), buf_len(&csv), "R-now"), 1000);
	hist_acc_add_run(acc, &run, &run.tests[0]);
	hist_acc_finish(acc, &run, &run.tests[0]);
	h = run.tests[0].hist;
	ck_assert_uint_eq(h->nruns, FH_HISTORY_MAX_RUNS);
	ck_assert_str_eq(h->runs[0].run_id, "R051");
	ck_assert_str_eq(h->runs[FH_HISTORY_MAX_RUNS - 1].run_id, "R-now");
	ck_assert_int_eq(h->total_attempts, 1004);
	ck_assert_int_eq(h->total_failed, 251);
	ck_assert_uint_eq(h->nby_host, 4);
	ck_assert_int_eq(h->by_host[0].runs, 84);
	ck_assert_str_eq(h->trend, "flat");
	buf_free(&csv);
	run_free(&run);
}
END_TEST

/* The isolate column: written per run, read back into hist->runs[].isolate; a file written
 * before the column existed keeps its shape when appended to, and reads as not isolated. */
START_TEST(test_isolate_column)
{
	char tmp[] = "/tmp/fh-hist-XXXXXX";
	struct buf hist = BUF_INIT(4096), rdir = BUF_INIT(4096), path = BUF_INIT(4096);
	struct buf old = BUF_INIT(1 << 20);
	struct fh_run run;
	const struct fh_history *h;
	const char *rec = FAILED(1) PASSED(2) PASSED(3) PASSED(4);
	size_t full;
	FILE *f;
	int i;

	ck_assert_ptr_nonnull(mkdtemp(tmp));
	buf_printf(&hist, "%s/history", tmp);
	ck_assert_int_eq(mkdir_p(buf_str(&hist), 0755), 0);
	/* The header of this version, and one cut before its last column (an older file). */
	make_run(&run, NULL, "R0", "h", "2026-11-02T10:00:00Z", rec);
	run.meta.isolate = true;
	history_rows(&run, &run.tests[0], &old, true);
	ck_assert_ptr_nonnull(strstr(buf_str(&old), ",worker,isolate\n"));
	ck_assert_ptr_nonnull(strstr(buf_str(&old), ",main,true\n"));
	full = history_header_prefix(buf_str(&old), buf_len(&old));
	ck_assert_uint_eq(full, 0); /* complete: nothing to cut */
	ck_assert_uint_eq(history_header_prefix("run_id,timestamp_utc\n", 21), 2);
	ck_assert_uint_eq(history_header_prefix("run_id,bogus\n", 13), 0);
	ck_assert_uint_eq(history_header_prefix("", 0), 0);
	buf_reset(&old);
	history_rows_cols(&run, &run.tests[0], &old, true, 32);
	ck_assert_ptr_nonnull(strstr(buf_str(&old), ",worker\n"));
	ck_assert_ptr_null(strstr(buf_str(&old), "isolate"));
	ck_assert_ptr_null(strstr(buf_str(&old), "true\n"));
	ck_assert_uint_eq(history_header_prefix(buf_str(&old), buf_len(&old)), 32);
	history_path(&path, buf_str(&hist), run.tests[0].nodeid);
	f = fopen(buf_str(&path), "w");
	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(fwrite(buf_str(&old), 1, buf_len(&old), f), buf_len(&old));
	fclose(f);
	run_free(&run);

	/* Two more runs, isolated then not: the old file keeps 32 cells per row. */
	for (i = 1; i <= 2; i++) {
		char id[16];

		snprintf(id, sizeof(id), "R%d", i);
		buf_reset(&rdir);
		buf_printf(&rdir, "%s/run%d", tmp, i);
		ck_assert_int_eq(mkdir_p(buf_str(&rdir), 0755), 0);
		make_run(&run, buf_str(&rdir), id, "h", "2026-11-03T10:00:00Z", rec);
		run.meta.isolate = i == 1;
		ck_assert_int_eq(history_update(&run, buf_str(&hist)), 0);
		h = run.tests[0].hist;
		ck_assert_int_eq(h->skipped_rows, 0);
		ck_assert_uint_eq(h->nruns, (size_t)i + 1);
		ck_assert(!h->runs[0].isolate); /* the old file cannot say */
		ck_assert(h->runs[i].isolate == (i == 1));
		if (i == 2)
			ck_assert(!h->runs[1].isolate); /* cut from the old file's rows */
		run_free(&run);
	}
	ck_assert_int_eq(count_rows(buf_str(&path)), 12);

	/* A file of this version keeps the column. */
	buf_reset(&hist);
	buf_printf(&hist, "%s/history2", tmp);
	for (i = 1; i <= 3; i++) {
		char id[16];

		snprintf(id, sizeof(id), "S%d", i);
		buf_reset(&rdir);
		buf_printf(&rdir, "%s/srun%d", tmp, i);
		ck_assert_int_eq(mkdir_p(buf_str(&rdir), 0755), 0);
		make_run(&run, buf_str(&rdir), id, "h", "2026-11-03T10:00:00Z", rec);
		run.meta.isolate = i != 2;
		ck_assert_int_eq(history_update(&run, buf_str(&hist)), 0);
		h = run.tests[0].hist;
		if (i == 3) {
			ck_assert_uint_eq(h->nruns, 3);
			ck_assert(h->runs[0].isolate && !h->runs[1].isolate && h->runs[2].isolate);
			ck_assert_int_eq(h->skipped_rows, 0);
		}
		run_free(&run);
	}

	buf_reset(&path);
	buf_printf(&path, "rm -rf '%s'", tmp);
	ck_assert_int_eq(system(buf_str(&path)), 0);
	buf_free(&hist);
	buf_free(&rdir);
	buf_free(&path);
	buf_free(&old);
}
END_TEST

static Suite *history_suite(void)
{
	Suite *s = suite_create("history");
	TCase *tc = tcase_create("history");

	tcase_set_timeout(tc, 20);
	tcase_add_test(tc, test_csv_round_trip);
	tcase_add_test(tc, test_file_names);
	tcase_add_test(tc, test_three_runs);
	tcase_add_test(tc, test_corrupt_rows);
	tcase_add_test(tc, test_many_runs);
	tcase_add_test(tc, test_isolate_column);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	fh_quiet = 1;
	return fh_check_run(history_suite());
}
