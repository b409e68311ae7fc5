/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the trace reader (analyzer/trace.c) on hand-built files: every record type
 * decoded, strings reassembled by owner (interleaved, truncated, orphaned), hostile headers
 * (bad magic, versions, sizes, counts beyond the file), random garbage records, trace_list()
 * and the strace-like trace_dump(). Each case runs in its own process (Check).
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fhtrace_format.h"
#include "trace.h"

struct img {
	struct fht_header h;
	char pad[FHT_HEADER_SIZE - sizeof(struct fht_header)];
	struct fht_rec r[64];
};

static int call_id(const char *name)
{
	for (unsigned i = 0; i < fht_ncalls; i++)
		if (!strcmp(fht_calls[i].name, name))
			return (int)i;
	return -1;
}

static void init(struct img *m, unsigned n)
{
	memset(m, 0, sizeof(*m));
	memcpy(m->h.magic, FHT_MAGIC, 8);
	m->h.version = FHT_VERSION;
	m->h.min_version = FHT_MIN_VERSION;
	m->h.header_size = FHT_HEADER_SIZE;
	m->h.rec_size = FHT_REC_SIZE;
	m->h.capacity = 64;
	m->h.allocated = 64;
	m->h.reserved = n;
	m->h.pid = 100;
	m->h.ppid = 1;
	m->h.tid = 101;
	m->h.mono_anchor_ns = 1000;
	m->h.proc_start_ns = 1000;
	strcpy(m->h.exe, "/usr/bin/python3.11");
}

static void str(struct img *m, unsigned slot, unsigned owner, const char *s, int last)
{
	struct fht_str *r = (struct fht_str *)&m->r[slot];
	r->type = FHT_REC_STR;
	r->owner = owner;
	r->len = (uint8_t)strlen(s);
	r->last = (uint8_t)last;
	memcpy(r->data, s, strlen(s));
	m->r[owner].flags |= FHT_F_STR;
}

static char *write_tmp(const void *p, size_t n)
{
	char *path = strdup("/tmp/fh-test-trace-XXXXXX");
	int fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, p, n), (ssize_t)n);
	close(fd);
	return path;
}

static void sample(struct img *m)
{
	init(m, 9);
	m->r[0] = (struct fht_rec){ .type = FHT_REC_PROC, .flags = FHT_F_DONE, .call = 0xffff,
				    .start_ns = 1000, .end_ns = 1000, .arg = 100, .arg2 = 1 };
	str(m, 1, 0, "/usr/bin/python3.11", 1);
	m->r[2] = (struct fht_rec){ .type = FHT_REC_CALL, .call = (uint16_t)call_id("connect"),
				    .flags = FHT_F_DONE | (FHT_FD_SOCKET << FHT_F_FDKIND_SHIFT),
				    .fd = 3, .start_ns = 2000, .end_ns = 5000, .result = -1,
				    .err = ECONNREFUSED, .timeout_ns = -1 };
	/* a signal nested between the connect record and its string chunks */
	m->r[3] = (struct fht_rec){ .type = FHT_REC_SIGNAL, .flags = FHT_F_DONE,
				    .call = (uint16_t)call_id("connect"), .fd = 14, .err = 128,
				    .arg = 7, .start_ns = 3000, .end_ns = 3100 };
	str(m, 4, 2, "127.0.0.1:", 0);
	str(m, 5, 2, "5432", 1);
	m->r[6] = (struct fht_rec){ .type = FHT_REC_CALL, .call = (uint16_t)call_id("read"),
				    .flags = FHT_FD_FILE << FHT_F_FDKIND_SHIFT, .fd = 4,
				    .start_ns = 6000, .timeout_ns = -1 };   /* in flight */
	m->r[7] = (struct fht_rec){ .type = FHT_REC_MARK, .flags = FHT_F_DONE, .call = FHT_MARK_ATTEMPT_BEGIN,
				    .start_ns = 7000, .arg = 3, .arg2 = -1, .timeout_ns = 2000000,
				    .fd = 12, .err = 2 };
	str(m, 8, 7, "tests/test_x.py::test_y", 1);
}

START_TEST(test_decode_all_types)
{
	struct img m;
	struct fh_trace_file tf;
	sample(&m);
	char *p = write_tmp(&m, sizeof(m));
	ck_assert_int_eq(trace_load(p, &tf), 0);
	ck_assert_int_eq(tf.nevents, 5);
	ck_assert_int_eq(tf.pid, 100);
	ck_assert_int_eq(tf.tid, 101);
	ck_assert_str_eq(tf.exe, "/usr/bin/python3.11");
	ck_assert(!tf.truncated);
	ck_assert(tf.main_file == false);
	const struct fh_event *e = tf.events;
	ck_assert_int_eq(e[0].type, FH_EV_PROC);
	ck_assert_str_eq(e[0].target, "/usr/bin/python3.11");
	ck_assert_int_eq(e[1].type, FH_EV_CALL);
	ck_assert_str_eq(e[1].call_name, "connect");
	ck_assert_str_eq(e[1].target, "127.0.0.1:5432");
	ck_assert_str_eq(e[1].err_name, "ECONNREFUSED");
	ck_assert_int_eq(e[1].category, FH_CAT_NET);
	ck_assert(e[1].done);
	ck_assert_int_eq(e[1].end_ns - e[1].start_ns, 3000);
	ck_assert_int_eq(e[2].type, FH_EV_SIGNAL);
	ck_assert_int_eq(e[2].signo, 14);
	ck_assert_int_eq(e[2].sender_pid, 7);
	ck_assert_int_eq(e[2].interrupted_call, call_id("connect"));
	ck_assert_int_eq(e[3].type, FH_EV_CALL);
	ck_assert_str_eq(e[3].call_name, "read");
	ck_assert_int_eq(e[3].category, FH_CAT_FILE);
	ck_assert(!e[3].done);
	ck_assert_int_eq(e[3].end_ns, 0);
	ck_assert_int_eq(e[4].type, FH_EV_MARK);
	ck_assert_int_eq(e[4].mark, FH_MARK_ATTEMPT_BEGIN);
	ck_assert_int_eq(e[4].attempt, 3);
	ck_assert_int_eq(e[4].cpu_ns, 2000000);
	ck_assert_int_eq(e[4].fds, 12);
	ck_assert_int_eq(e[4].threads, 2);
	ck_assert_str_eq(e[4].nodeid, "tests/test_x.py::test_y");
	trace_free(&tf);
	unlink(p);
	free(p);
}
END_TEST

START_TEST(test_dump_is_strace_like)
{
	struct img m;
	char *buf = NULL;
	size_t len = 0;
	sample(&m);
	char *p = write_tmp(&m, sizeof(m));
	FILE *f = open_memstream(&buf, &len);
	ck_assert_int_eq(trace_dump(p, f), 0);
	fclose(f);
	ck_assert_ptr_nonnull(strstr(buf, "connect(3, \"127.0.0.1:5432\") = -1 ECONNREFUSED"));
	ck_assert_ptr_nonnull(strstr(buf, "<0.000003>"));
	ck_assert_ptr_nonnull(strstr(buf, "read(4) <unfinished ...>"));
	ck_assert_ptr_nonnull(strstr(buf, "--- SIGALRM {si_code=128, si_pid=7} interrupted connect ---"));
	ck_assert_ptr_nonnull(strstr(buf, "=== attempt_begin \"tests/test_x.py::test_y\" attempt=3"));
	ck_assert_ptr_nonnull(strstr(buf, "+++ process 100 parent 1 exe \"/usr/bin/python3.11\" +++"));
	free(buf);
	unlink(p);
	free(p);
}
END_TEST

START_TEST(test_hostile_headers)
{
	struct img m;
	struct fh_trace_file tf;
	char *p;

	sample(&m);
	memcpy(m.h.magic, "XXXXXXXX", 8);
	p = write_tmp(&m, sizeof(m));
	ck_assert_int_eq(trace_load(p, &tf), -EINVAL);
	unlink(p); free(p);

	sample(&m);
	m.h.min_version = FHT_VERSION + 1;
	p = write_tmp(&m, sizeof(m));
	ck_assert_int_eq(trace_load(p, &tf), -EPROTO);
	unlink(p); free(p);

	sample(&m);
	m.h.header_size = 1u << 30;
	p = write_tmp(&m, sizeof(m));
	ck_assert_int_eq(trace_load(p, &tf), -EINVAL);
	unlink(p); free(p);

	sample(&m);
	m.h.rec_size = 8;
	p = write_tmp(&m, sizeof(m));
	ck_assert_int_eq(trace_load(p, &tf), -EINVAL);
	unlink(p); free(p);

	p = write_tmp(&m, 100);   /* shorter than a header */
	ck_assert_int_eq(trace_load(p, &tf), -EINVAL);
	unlink(p); free(p);

	ck_assert_int_lt(trace_load("/nonexistent/fh.fht", &tf), 0);
}
END_TEST

START_TEST(test_truncated_and_huge_counts)
{
	struct img m;
	struct fh_trace_file tf;
	sample(&m);
	m.h.reserved = m.h.allocated = m.h.capacity = UINT64_MAX;
	/* the file ends inside record 6: records 0..5 are present */
	char *p = write_tmp(&m, FHT_HEADER_SIZE + 6 * FHT_REC_SIZE + 10);
	ck_assert_int_eq(trace_load(p, &tf), 0);
	ck_assert(tf.truncated);
	ck_assert_int_eq(tf.nevents, 3);
	ck_assert_str_eq(tf.events[1].target, "127.0.0.1:5432");
	trace_free(&tf);
	unlink(p);
	free(p);
}
END_TEST

START_TEST(test_hostile_strings)
{
	struct img m;
	struct fh_trace_file tf;
	init(&m, 8);
	m.r[0] = (struct fht_rec){ .type = FHT_REC_CALL, .call = 60000, .flags = FHT_F_DONE, .fd = -1 };
	str(&m, 1, 0, "ok", 0);
	str(&m, 2, 5, "forward owner", 1);           /* owner after the chunk: ignored */
	str(&m, 3, 3, "self", 1);                    /* owner is itself: ignored */
	str(&m, 4, 1, "owner is a string", 1);       /* owner is not an event: ignored */
	((struct fht_str *)&m.r[5])->type = FHT_REC_STR;
	((struct fht_str *)&m.r[5])->owner = 0;
	((struct fht_str *)&m.r[5])->len = 255;      /* longer than a chunk: capped */
	memset(((struct fht_str *)&m.r[5])->data, 'A', FHT_STR_CHUNK);
	m.r[6].type = 200;                           /* unknown type: skipped */
	m.r[7] = (struct fht_rec){ .type = FHT_REC_MARK, .call = 999, .flags = FHT_F_DONE };
	char *p = write_tmp(&m, sizeof(m));
	ck_assert_int_eq(trace_load(p, &tf), 0);
	ck_assert_int_eq(tf.nevents, 2);
	ck_assert_str_eq(tf.events[0].call_name, "unknown");
	ck_assert_int_eq(strlen(tf.events[0].target), 2 + FHT_STR_CHUNK);
	ck_assert_int_lt(tf.events[1].mark, FH_MARK_KIND_COUNT);
	trace_free(&tf);
	unlink(p);
	free(p);
}
END_TEST

START_TEST(test_random_garbage_never_crashes)
{
	struct img m;
	srand(42);
	for (int round = 0; round < 200; round++) {
		struct fh_trace_file tf;
		init(&m, 64);
		unsigned char *b = (unsigned char *)m.r;
		for (size_t i = 0; i < sizeof(m.r); i++)
			b[i] = (unsigned char)(rand() % 7 == 0 ? rand() : (i % 64 == 0 ? rand() % 7 : 0));
		char *p = write_tmp(&m, sizeof(m));
		FILE *f = fopen("/dev/null", "w");
		if (trace_load(p, &tf) == 0)
			trace_free(&tf);
		trace_dump(p, f);
		fclose(f);
		unlink(p);
		free(p);
	}
}
END_TEST

START_TEST(test_list_sorted_fht_only)
{
	char dir[] = "/tmp/fh-test-list-XXXXXX";
	ck_assert_ptr_nonnull(mkdtemp(dir));
	const char *names[] = { "20-20.fht", "10-11.fht", "10-10.fht", "x.maps", ".hidden.fht" };
	char path[256];
	for (size_t i = 0; i < 5; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		FILE *f = fopen(path, "w");
		fclose(f);
	}
	char **paths;
	size_t n;
	ck_assert_int_eq(trace_list(dir, &paths, &n), 0);
	ck_assert_int_eq(n, 3);
	ck_assert_ptr_nonnull(strstr(paths[0], "/10-10.fht"));
	ck_assert_ptr_nonnull(strstr(paths[1], "/10-11.fht"));
	ck_assert_ptr_nonnull(strstr(paths[2], "/20-20.fht"));
	for (size_t i = 0; i < n; i++)
		free(paths[i]);
	free(paths);
	for (size_t i = 0; i < 5; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		unlink(path);
	}
	rmdir(dir);
	ck_assert_int_eq(trace_list("/nonexistent/fh", &paths, &n), 0);
	ck_assert_int_eq(n, 0);
}
END_TEST

static Suite *trace_suite(void)
{
	Suite *s = suite_create("trace");
	TCase *tc = tcase_create("reader");
	tcase_set_timeout(tc, 20);
	tcase_add_test(tc, test_decode_all_types);
	tcase_add_test(tc, test_dump_is_strace_like);
	tcase_add_test(tc, test_hostile_headers);
	tcase_add_test(tc, test_truncated_and_huge_counts);
	tcase_add_test(tc, test_hostile_strings);
	tcase_add_test(tc, test_random_garbage_never_crashes);
	tcase_add_test(tc, test_list_sorted_fht_only);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(trace_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
