/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of runs from several machines and of pytest-flakehunter's history: MD5 and the
 * seed's file names (checked against Python's hashlib and str slicing), the conversion of its
 * CSV rows (hostile rows skipped with file:line warnings), appends to a history file an older
 * version started, runs in time order, a merged run directory loaded source by source with
 * attempts renumbered and per-host counts, and the host-concentration feature and its
 * diagnosis note (and the cases where it must not fire).
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fh_check.h"
#include "files.h"
#include "history.h"
#include "history_seed.h"
#include "model.h"
#include "records.h"
#include "rundir.h"
#include "sources.h"
#include "stages.h"

static void write_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	fclose(f);
}

static char *make_tmpdir(void)
{
	char *d = strdup("/tmp/fh-merge-XXXXXX");

	ck_assert_ptr_nonnull(mkdtemp(d));
	return d;
}

static void rm_rf(const char *dir)
{
	char cmd[512];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	ck_assert_int_eq(system(cmd), 0);
}

/* ---- MD5 and the seed's file names ---- */

START_TEST(test_md5_vectors)
{
	static const struct { const char *in; const char *hex; } v[] = {
		{ "", "d41d8cd98f00b204e9800998ecf8427e" },
		{ "a", "0cc175b9c0f1b6a831c399e269772661" },
		{ "abc", "900150983cd24fb0d6963f7d28e17f72" },
		{ "message digest", "f96b697d7cb7938d525a2f31aaf161d0" },
		{ "abcdefghijklmnopqrstuvwxyz", "c3fcd3d76192e4007dfb496cca67e13b" },
		{ "12345678901234567890123456789012345678901234567890123456789012345678901234567890",
		  "57edf4a22be3c955ac49da2e2107b67a" },
	};
	char hex[33], x[65];

	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		seed_md5_hex(v[i].in, strlen(v[i].in), hex);
		ck_assert_str_eq(hex, v[i].hex);
	}
	/* the padding edges: 55, 56 and 64 bytes */
	memset(x, 'x', sizeof(x));
	seed_md5_hex(x, 55, hex);
	ck_assert_str_eq(hex, "04364420e25c512fd958a70738aa8f72");
	seed_md5_hex(x, 56, hex);
	ck_assert_str_eq(hex, "668a72d5ba17f08e62dabcafad6db14b");
	seed_md5_hex(x, 64, hex);
	ck_assert_str_eq(hex, "c1bb4f81d892b2d57947682aeb252456");
}
END_TEST

static void check_name(const char *nodeid, const char *want)
{
	struct buf b = BUF_INIT(1 << 16);

	seed_file_name(&b, nodeid);
	ck_assert_str_eq(buf_str(&b), want);
	buf_free(&b);
}

START_TEST(test_seed_file_names)
{
	char in[1024], want[1024];
	size_t n;

	check_name("tests/a.py::T::test_x[1-a]", "tests_a.py__T__test_x[1-a].csv");
	check_name("w\\x::y", "w_x__y.csv");
	check_name("a:::b", "a__:b.csv");
	/* 180 characters stay whole; 181 are cut to 120, "__" and 8 hex digits of the MD5 */
	n = (size_t)snprintf(in, sizeof(in), "tests/t.py::test_");
	memset(in + n, 'x', 163);
	in[n + 163] = '\0';
	snprintf(want, sizeof(want), "tests_t.py__test_%s.csv", in + n);
	check_name(in, want);
	memset(in + n, 'x', 200);
	in[n + 200] = '\0';
	snprintf(want, sizeof(want), "tests_t.py__test_%.103s__8c502ea0.csv", in + n);
	check_name(in, want);
	/* characters, not bytes: 200 two-byte letters are cut after 120 characters */
	for (size_t i = 0; i < 200; i++)
		memcpy(in + n + 2 * i, "\xc3\xa9", 2);
	in[n + 400] = '\0';
	memcpy(want, "tests_t.py__test_", 17);
	memcpy(want + 17, in + n, 2 * 103);
	snprintf(want + 17 + 206, sizeof(want) - 223, "__33a3f5fa.csv");
	check_name(in, want);
}
END_TEST

/* ---- converting the seed's rows ---- */

#define SEED_HEADER "run_id,timestamp_utc,flakehunter_version,hostname,os_name,os_version," \
	"python_version,pytest_version,cpu_count,cpu_freq_mhz,ram_total_gb,ram_available_gb," \
	"git_branch,git_commit,git_dirty,nodeid,test_file,test_function,parametrize_id," \
	"fixture_names,fixture_values,total_runs_requested,attempt,outcome,total_duration_s," \
	"setup_duration_s,call_duration_s,teardown_duration_s,error_type,error_msg," \
	"failure_function,failure_file,failure_lineno,traceback_fingerprint,failure_depth\r\n"
#define SEED_ROW(run, att, outcome, nodeid) \
	run ",2026-01-05T10:20:30+00:00,1.0.1,h1,Linux,6.1,3.11.2,8.0.0,4,,16.00,9.5,main,abc," \
	"false," nodeid ",t.py,test_a,,\"tmp_path,db\",,5," att "," outcome ",0.0123,0.001,0.01," \
	"0.0013,AssertionError,\"=boom, token=abcdefgh\",test_a,t.py,4,deadbeef,1\r\n"

struct collect {
	struct buf rows;
	int n;
	char last_nodeid[256];
};

static bool collect_row(void *ctx, const char *nodeid, const char *run_id, const char *row,
			size_t len)
{
	struct collect *c = ctx;

	(void)run_id;
	buf_add(&c->rows, row, len);
	snprintf(c->last_nodeid, sizeof(c->last_nodeid), "%s", nodeid);
	c->n++;
	return true;
}

START_TEST(test_seed_convert)
{
	const char *data = "\xef\xbb\xbf" SEED_HEADER
		SEED_ROW("r1", "1", "passed", "t.py::test_a")
		SEED_ROW("r1", "2", "failed", "t.py::test_a")
		SEED_ROW("r1", "0", "failed", "t.py::test_a")          /* bad attempt */
		SEED_ROW("r1", "3", "weird", "t.py::test_a")           /* unknown outcome */
		SEED_ROW("", "4", "passed", "t.py::test_a")            /* empty run id */
		SEED_ROW("r1", "5", "passed", "t.py::other")           /* another test: filtered */
		"r1,short,row\r\n"                                     /* wrong cell count */
		SEED_ROW("r2", "1", "passed", "t.py::test_a")
		"r3,\"never closed\r\n";
	struct collect c = { BUF_INIT(1 << 20), 0, "" };
	struct buf warn = BUF_INIT(1 << 16), hist = BUF_INIT(1 << 20);
	struct fh_hist_acc *acc;
	struct fh_csv csv;
	struct fh_run run;
	struct fh_test t;
	int n;

	n = seed_convert("seed.csv", data, strlen(data), "t.py::test_a", collect_row, &c, &warn);
	ck_assert_int_eq(n, 3);
	ck_assert_ptr_nonnull(strstr(buf_str(&warn), "seed.csv:4: corrupt pytest-flakehunter "
					 "history row (bad attempt number)"));
	ck_assert_ptr_nonnull(strstr(buf_str(&warn), "seed.csv:5: corrupt pytest-flakehunter "
					 "history row (unknown outcome)"));
	ck_assert_ptr_nonnull(strstr(buf_str(&warn), "seed.csv:6: corrupt pytest-flakehunter "
					 "history row (empty run_id)"));
	ck_assert_ptr_nonnull(strstr(buf_str(&warn), "seed.csv:8: corrupt pytest-flakehunter "
					 "history row (wrong number of cells)"));
	ck_assert_ptr_nonnull(strstr(buf_str(&warn), "seed.csv:10: corrupt pytest-flakehunter "
					 "history row (unterminated quote)"));
	ck_assert_ptr_null(strstr(buf_str(&warn), ":7:"));      /* the other test: silent */
	/* Our columns, readable by our reader; values converted. */
	history_header(&hist);
	buf_add(&hist, buf_str(&c.rows), buf_len(&c.rows));
	csv_init(&csv, buf_str(&hist), buf_len(&hist));
	ck_assert_int_eq(csv_row(&csv), 1);
	ck_assert_int_eq(csv_row(&csv), 1);
	ck_assert_str_eq(csv_cell(&csv, 1), "2026-01-05T10:20:30Z");
	ck_assert_str_eq(csv_cell(&csv, 2), "pytest-flakehunter/1.0.1");
	ck_assert_str_eq(csv_cell(&csv, 4), "Linux-6.1");
	ck_assert_str_eq(csv_cell(&csv, 8), "16000000000");
	ck_assert_str_eq(csv_cell(&csv, 16), "tmp_path;db");
	ck_assert_int_eq(csv_row(&csv), 1);
	ck_assert_str_eq(csv_cell(&csv, 25), "=boom, token=[REDACTED]");
	ck_assert_str_eq(csv_cell(&csv, 28), "4");
	csv_free(&csv);
	acc = hist_acc_new("t.py::test_a");
	ck_assert_int_eq(hist_acc_add_buffer(acc, "conv", buf_str(&hist), buf_len(&hist), NULL), 3);
	memset(&run, 0, sizeof(run));
	memset(&t, 0, sizeof(t));
	hist_acc_finish(acc, &run, &t);
	ck_assert_uint_eq(t.hist->nruns, 2);
	ck_assert_int_eq(t.hist->total_failed, 1);
	ck_assert_int_eq(t.hist->skipped_rows, 0);
	run_free(&run);
	/* Not the seed's header: not converted. */
	ck_assert_int_eq(seed_convert("x.csv", "a,b\n1,2\n", 8, NULL, collect_row, &c, &warn), -EINVAL);
	ck_assert_int_eq(seed_convert("x.csv", "", 0, NULL, collect_row, &c, &warn), -EINVAL);
	buf_free(&c.rows);
	buf_free(&warn);
	buf_free(&hist);
}
END_TEST

START_TEST(test_append_to_older_file)
{
	char *dir = make_tmpdir(), path[256];
	struct buf rows = BUF_INIT(1 << 16);
	char *data;
	size_t len;

	snprintf(path, sizeof(path), "%s/old.csv", dir);
	/* A file started by an older version: fewer columns, no newline at the end. */
	write_text(path, "run_id,timestamp_utc,flakehunter_version\nR0,2026-01-01T00:00:00Z,0.0.9");
	history_header(&rows);
	buf_reset(&rows); /* only to size the buffer; the rows follow */
	buf_puts(&rows, "R1,2026-02-01T00:00:00Z,0.1.0,host,\"a\nb\",x,y\nR2,t,v,h\n");
	ck_assert_int_eq(history_append_csv(path, buf_str(&rows), buf_len(&rows)), 0);
	ck_assert_int_eq(read_file(path, 1 << 20, &data, &len), 0);
	ck_assert_str_eq(data, "run_id,timestamp_utc,flakehunter_version\nR0,2026-01-01T00:00:00Z,"
			       "0.0.9\nR1,2026-02-01T00:00:00Z,0.1.0\nR2,t,v\n");
	free(data);
	/* A new file gets this version's header first. */
	snprintf(path, sizeof(path), "%s/new.csv", dir);
	ck_assert_int_eq(history_append_csv(path, "R1,x\n", 5), 0);
	ck_assert_int_eq(read_file(path, 1 << 20, &data, &len), 0);
	ck_assert(!strncmp(data, "run_id,timestamp_utc,", 21));
	ck_assert_ptr_nonnull(strstr(data, "\nR1,x\n"));
	free(data);
	buf_free(&rows);
	rm_rf(dir);
	free(dir);
}
END_TEST

START_TEST(test_runs_in_time_order)
{
	const char *rows =
		"run_id,timestamp_utc,hostname,attempt,outcome\n"
		"NEW,2026-03-01T00:00:00Z,a,1,failed\n"
		"OLD,2026-01-01T00:00:00Z,b,1,passed\n"
		"NOTS,,c,1,passed\n"                  /* no time: stays after its predecessor, OLD */
		"MID,2026-02-01T00:00:00Z,d,1,passed\n";
	struct fh_hist_acc *acc = hist_acc_new("t::x");
	struct fh_run run;
	struct fh_test t;

	ck_assert_int_eq(hist_acc_add_buffer(acc, "h.csv", rows, strlen(rows), NULL), 4);
	memset(&run, 0, sizeof(run));
	memset(&t, 0, sizeof(t));
	hist_acc_finish(acc, &run, &t);
	ck_assert_uint_eq(t.hist->nruns, 4);
	ck_assert_str_eq(t.hist->runs[0].run_id, "OLD");
	ck_assert_str_eq(t.hist->runs[1].run_id, "NOTS");
	ck_assert_str_eq(t.hist->runs[2].run_id, "MID");
	ck_assert_str_eq(t.hist->runs[3].run_id, "NEW");
	run_free(&run);
}
END_TEST

/* ---- a merged run directory ---- */

#define REC(nodeid, attempt, outcome) \
	"{\"v\":1,\"nodeid\":\"" nodeid "\",\"attempt\":" #attempt ",\"runs\":3,\"outcome\":\"" \
	outcome "\",\"pid\":7,\"tid\":7}\n"

static void make_source(const char *dir, const char *id, const char *host, const char *commit,
			const char *records)
{
	char path[512], meta[512];

	snprintf(path, sizeof(path), "%s/sources/%s", dir, id);
	ck_assert_int_eq(mkdir_p(path, 0755), 0);
	snprintf(meta, sizeof(meta), "{\"schema\":\"flakehunter-run/1\",\"run_id\":\"%s\","
		 "\"host\":\"%s\",\"runs_per_test\":3,\"started_utc\":\"2026-01-0%cT00:00:00Z\","
		 "\"git\":{\"branch\":\"main\",\"commit\":\"%s\",\"dirty\":false}}", id, host,
		 id[1], commit);
	snprintf(path, sizeof(path), "%s/sources/%s/meta.json", dir, id);
	write_text(path, meta);
	snprintf(path, sizeof(path), "%s/sources/%s/attempts-7.jsonl", dir, id);
	write_text(path, records);
}

START_TEST(test_merged_dir_loaded)
{
	char *dir = make_tmpdir(), path[512];
	struct fh_run run;
	const struct fh_test *t;

	/* ids sort S1 < S2 < S3; the same pid in all of them */
	make_source(dir, "S2", "beta", "abc", REC("t::a", 1, "failed") REC("t::a", 2, "passed")
		    REC("t::a", 3, "failed"));
	make_source(dir, "S1", "alpha", "abc", REC("t::a", 2, "passed") REC("t::a", 1, "passed")
		    REC("t::b", 1, "passed"));
	make_source(dir, "S3", "alpha", "def", REC("t::a", 1, "passed"));
	snprintf(path, sizeof(path), "%s/sources/.incoming-S4-1", dir); /* a copy in progress */
	ck_assert_int_eq(mkdir_p(path, 0755), 0);
	snprintf(path, sizeof(path), "%s/meta.json", dir);
	write_text(path, "{\"schema\":\"flakehunter-merged/1\",\"run_id\":\"merged-x\","
			 "\"sources\":[{\"id\":\"S1\"},{\"id\":\"S2\"},{\"id\":\"S3\"},{\"id\":\"GONE\"}]}");
	ck_assert(sources_is_merged(dir));
	ck_assert_int_eq(run_load(dir, &run), 0);
	ck_assert(run.merged);
	ck_assert_uint_eq(run.nsources, 3);
	ck_assert_str_eq(run.meta.run_id, "merged-x");
	ck_assert_str_eq(run.sources[0].id, "S1");
	ck_assert_str_eq(run.sources[1].meta.host, "beta");
	ck_assert_str_eq(run.meta.host, "alpha, beta");
	ck_assert_ptr_null(run.meta.commit);            /* the sources disagree */
	ck_assert_str_eq(run.meta.branch, "main");
	ck_assert_str_eq(run.meta.started_utc, "2026-01-01T00:00:00Z");
	ck_assert_int_eq(run.sources[0].attempts, 3);
	run_compute(&run);
	ck_assert_int_eq(sources_evidence(&run), 0);    /* no traces anywhere */
	ck_assert(!run.meta.tracing);
	sources_finish(&run);
	t = &run.tests[0];
	ck_assert_str_eq(t->nodeid, "t::a");
	ck_assert_uint_eq(t->nattempts, 6);
	/* by source, then the number it recorded; renumbered 1..6 */
	{
		static const int src[] = { 0, 0, 1, 1, 1, 2 }, own[] = { 1, 2, 1, 2, 3, 1 };

		for (int i = 0; i < 6; i++) {
			ck_assert_int_eq(t->attempts[i].attempt, i + 1);
			ck_assert_int_eq(t->attempts[i].source, src[i]);
			ck_assert_int_eq(t->attempts[i].source_attempt, own[i]);
		}
	}
	ck_assert_uint_eq(t->nhosts, 2);
	ck_assert_str_eq(t->hosts[0].host, "alpha");
	ck_assert_int_eq(t->hosts[0].attempts, 3);
	ck_assert_int_eq(t->hosts[0].failed, 0);
	ck_assert_str_eq(t->hosts[1].host, "beta");
	ck_assert_int_eq(t->hosts[1].failed, 2);
	ck_assert(run_is_own_id(&run, "S2") && run_is_own_id(&run, "merged-x"));
	ck_assert(!run_is_own_id(&run, "S4"));
	run_free(&run);
	rm_rf(dir);
	free(dir);
}
END_TEST

/* ---- where failures concentrate ---- */

/* A run of one test on hosts[i] with the outcomes in outs[i] ('p' passed, 'f' failed). */
static void host_run(struct fh_run *run, const char *const *hosts, const char *const *outs,
		     size_t n)
{
	struct fh_records *rec;
	struct buf b = BUF_INIT(1 << 20);

	memset(run, 0, sizeof(*run));
	run->merged = true;
	run->sources = arena_alloc(&run->arena, n * sizeof(*run->sources));
	run->nsources = n;
	rec = records_begin(run);
	for (size_t s = 0; s < n; s++) {
		run->sources[s].id = hosts[s];
		run->sources[s].meta.host = hosts[s];
		run->sources[s].meta.run_id = hosts[s];
		buf_reset(&b);
		for (size_t k = 0; outs[s][k]; k++)
			buf_printf(&b, "{\"nodeid\":\"t::x\",\"attempt\":%zu,\"outcome\":\"%s\"}\n", k + 1,
				   outs[s][k] == 'f' ? "failed" : "passed");
		records_set_source(rec, (int)s);
		records_add_buffer(rec, hosts[s], buf_str(&b), buf_len(&b));
	}
	records_finish(rec);
	buf_free(&b);
	run_compute(run);
	sources_finish(run);
	features_run(run);
	run_cluster(run);
	diagnose_run(run);
}

START_TEST(test_host_concentration)
{
	static const char *const hosts[] = { "runner-1", "runner-2", "runner-3", "runner-4",
					     "runner-5" };
	static const char *const conc[] = { "pppppppppp", "pppppppppp", "fffpffffff",
					    "pppppppppp", "pppppppppp" };
	static const char *const spread[] = { "ppfppppppp", "pppppfpppp", "ppppppppfp" };
	static const char *const few[] = { "ff", "pp" };
	static const char *const both[] = { "ppffppfpff", "pfpppffpff" };
	struct fh_run run;
	const struct fh_test *t;

	host_run(&run, hosts, conc, 5);
	t = &run.tests[0];
	ck_assert_int_eq(t->feat.hot_host, 2);
	ck_assert_int_eq(t->feat.hot_fail, 9);
	ck_assert_int_eq(t->feat.hot_n, 10);
	ck_assert_int_eq(t->feat.else_fail, 0);
	ck_assert_int_eq(t->feat.else_n, 40);
	ck_assert(t->feat.hot_chance < 1e-6);
	ck_assert_ptr_eq(t->diag->host, &t->hosts[2]);
	ck_assert_int_eq(t->diag->kind, FH_KIND_UNEXPLAINED);
	ck_assert_ptr_nonnull(strstr(t->diag->summary, "concentrate on host runner-3"));
	ck_assert_str_eq(t->diag->evidence[t->diag->nevidence - 1],
			 "9/9 failures on runner-3 (9/10 attempts there failed); 0/40 attempts "
			 "elsewhere failed (4e-07% chance if failures fell on hosts at random)");
	for (size_t i = 0; i < t->nattempts; i++)
		ck_assert_str_eq(t->hosts[t->attempts[i].f.host].host,
				 run.sources[t->attempts[i].source].meta.host);
	run_free(&run);
	/* one failure per host: nothing concentrates */
	host_run(&run, hosts, spread, 3);
	ck_assert_int_eq(run.tests[0].feat.hot_host, -1);
	ck_assert_ptr_null(run.tests[0].diag->host);
	run_free(&run);
	/* 2/2 against 0/2 could be luck (chance 1/6) */
	host_run(&run, hosts, few, 2);
	ck_assert_int_eq(run.tests[0].feat.hot_host, -1);
	run_free(&run);
	/* both hosts fail about as often */
	host_run(&run, hosts, both, 2);
	ck_assert_int_eq(run.tests[0].feat.hot_host, -1);
	run_free(&run);
}
END_TEST

START_TEST(test_state_per_source)
{
	static const char *const hosts[] = { "a", "b" };
	/* each host: passes, then failures -> state; across hosts the order is not a sequence */
	static const char *const st[] = { "pppff", "ppfff" };
	/* one host all failing, the other all passing: not state (a host, not an order) */
	static const char *const split[] = { "ppppp", "fffff" };
	struct fh_run run;

	host_run(&run, hosts, st, 2);
	ck_assert_int_eq(run.tests[0].diag->kind, FH_KIND_STATE);
	run_free(&run);
	host_run(&run, hosts, split, 2);
	ck_assert_int_ne(run.tests[0].diag->kind, FH_KIND_STATE);
	ck_assert_ptr_nonnull(run.tests[0].diag->host);
	ck_assert_str_eq(run.tests[0].diag->host->host, "b");
	run_free(&run);
}
END_TEST

static Suite *merge_suite(void)
{
	Suite *s = suite_create("merge");
	TCase *tc = tcase_create("merge");

	tcase_set_timeout(tc, 20);
	tcase_add_test(tc, test_md5_vectors);
	tcase_add_test(tc, test_seed_file_names);
	tcase_add_test(tc, test_seed_convert);
	tcase_add_test(tc, test_append_to_older_file);
	tcase_add_test(tc, test_runs_in_time_order);
	tcase_add_test(tc, test_merged_dir_loaded);
	tcase_add_test(tc, test_host_concentration);
	tcase_add_test(tc, test_state_per_source);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	fh_quiet = 1;
	return fh_check_run(merge_suite());
}
