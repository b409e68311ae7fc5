/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the trace reader (core/trace.c, core/trace_index.c) and the dump (analyzer/dump.c) on hand-built files: every record type
 * decoded, strings reassembled by owner (interleaved, truncated, orphaned), hostile headers
 * (bad magic, versions, sizes, counts beyond the file), random garbage records, trace_list()
 * and the strace-like trace_dump(). Each case runs in its own process (Check).
 */
#include <check.h>
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fh_check.h"
#include "fh_tracefile.h"
#include "fhtrace_format.h"
#include "dump.h"
#include "trace.h"

/* The version 1 file most cases start from: thread 101 of python3.11. */
static void init(struct v1img *m, unsigned n)
{
	v1_init(m, n, 101);
	memcpy(m->h.exe, "/usr/bin/python3.11", sizeof("/usr/bin/python3.11"));
}

static void str(struct v1img *m, unsigned slot, unsigned owner, const char *s, int last)
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

static void sample(struct v1img *m)
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
	struct v1img m;
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
	struct v1img m;
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

/* How each call's own arguments print comes from the table's printer column. */
START_TEST(test_dump_printers)
{
	static const struct { const char *name; int64_t result, arg, arg2; const char *want; } c[] = {
		{ "kill", 0, SIGTERM, 42, "kill(SIGTERM, pid=42) = 0" },
		{ "tgkill", 0, SIGUSR1, 77, "tgkill(SIGUSR1, tid=77) = 0" },
		{ "pidfd_send_signal", 0, SIGKILL, 0, "pidfd_send_signal(SIGKILL) = 0" },
		{ "waitpid", 43, 3 << 8, 43, "waitpid(pid=43) = 43 {exited 3}" },
		{ "wait", 44, SIGKILL, 0, "wait() = 44 {killed SIGKILL}" },
		{ "fork", 45, 45, 0, "fork() = 45 {child 45}" },
		{ "clone", 46, 46, 0, "clone() = 46 {child 46}" },
		{ "execve", 0, 47, 0, "execve() = 0 {child 47}" },
		{ "execv", 0, 0, 0, "execv() = 0 <" },
		{ "pthread_create", 0, 0, 0, "pthread_create() = 0 <" },
	};
	struct v1img m;
	char *buf = NULL, *p;
	size_t len = 0;
	FILE *f;

	init(&m, ARRAY_SIZE(c) + 1);
	for (size_t i = 0; i < ARRAY_SIZE(c); i++) {
		ck_assert_int_ge(call_id(c[i].name), 0);
		m.r[i] = (struct fht_rec){ .type = FHT_REC_CALL, .call = (uint16_t)call_id(c[i].name),
					   .flags = FHT_F_DONE, .fd = -1, .start_ns = 2000, .end_ns = 2000,
					   .result = c[i].result, .arg = c[i].arg, .arg2 = c[i].arg2 };
	}
	m.r[ARRAY_SIZE(c)] = (struct fht_rec){ .type = FHT_REC_CALL, .call = 999, .flags = FHT_F_DONE,
					       .fd = -1, .start_ns = 2000, .end_ns = 2000, .arg = 5 };
	p = write_tmp(&m, sizeof(m));
	f = open_memstream(&buf, &len);
	ck_assert_int_eq(trace_dump(p, f), 0);
	fclose(f);
	for (size_t i = 0; i < ARRAY_SIZE(c); i++)
		ck_assert_msg(strstr(buf, c[i].want) != NULL, "no '%s' in:\n%s", c[i].want, buf);
	ck_assert_ptr_nonnull(strstr(buf, "unknown() = 0 <"));
	ck_assert_ptr_null(strstr(buf, "execv() = 0 {child"));
	free(buf);
	unlink(p);
	free(p);
}
END_TEST

START_TEST(test_hostile_headers)
{
	struct v1img m;
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
	struct v1img m;
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
	struct v1img m;
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
	struct v1img m;
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

/* ---- version 2: hand-built process files (fh_tracefile.h) ---- */

static void sstr(struct fht_rec *s, unsigned slot, unsigned owner, const char *text, int last)
{
	struct fht_str *r = (struct fht_str *)&s[slot];
	memset(r, 0, sizeof(*r));
	r->type = FHT_REC_STR;
	r->owner = owner;
	r->len = (uint8_t)strlen(text);
	r->last = (uint8_t)last;
	memcpy(r->data, text, strlen(text));
	s[owner].flags |= FHT_F_STR;
}

static void sstack(struct fht_rec *s, unsigned slot, unsigned owner, uint64_t pc0, int n, int last)
{
	struct fht_stack *k = (struct fht_stack *)&s[slot];
	memset(k, 0, sizeof(*k));
	k->type = FHT_REC_STACK;
	k->kind = FHT_STK_NATIVE;
	k->owner = owner;
	k->n = (uint8_t)n;
	k->flags = last ? FHT_STK_F_LAST : 0;
	for (int i = 0; i < n; i++)
		k->u.pcs[i] = pc0 + (uint64_t)i;
}

/* Thread A (tid 301): PROC + exe, a connect whose target and stack continue in later chunks,
 * a marker. Thread B (tid 302): three calls, dropped 5 + 7, its last chunk FHT_C_FULL. */
static struct fht_rec sa[9], sb[6];

static void streams(void)
{
	memset(sa, 0, sizeof(sa));
	memset(sb, 0, sizeof(sb));
	sa[0] = (struct fht_rec){ .type = FHT_REC_PROC, .flags = FHT_F_DONE, .call = 0xffff,
				  .start_ns = 1000, .arg = 300, .arg2 = 299 };
	sstr(sa, 1, 0, "/usr/bin/python3.11", 1);
	sa[2] = (struct fht_rec){ .type = FHT_REC_CALL, .call = (uint16_t)call_id("connect"),
				  .flags = FHT_F_DONE | (FHT_FD_SOCKET << FHT_F_FDKIND_SHIFT), .fd = 3,
				  .start_ns = 2000, .end_ns = 5000, .result = -1, .err = ECONNREFUSED,
				  .timeout_ns = -1, .stack_ref = 5 };
	sstr(sa, 3, 2, "127.0.0.1:", 0);     /* chunk 1, owner in chunk 0 */
	sstr(sa, 4, 2, "5432", 1);
	sstack(sa, 5, 2, 0x1000, FHT_STK_PCS, 0);
	sstack(sa, 6, 2, 0x2000, 2, 1);        /* chunk 2 */
	sa[7] = (struct fht_rec){ .type = FHT_REC_MARK, .flags = FHT_F_DONE, .call = FHT_MARK_ATTEMPT_BEGIN,
				  .start_ns = 7000, .arg = 1, .arg2 = -1, .fd = 5, .err = 2 };
	sstr(sa, 8, 7, "tests/test_x.py::test_y", 1);
	for (int i = 0; i < 6; i += 2)
		sb[i] = (struct fht_rec){ .type = FHT_REC_CALL, .call = (uint16_t)call_id("read"),
					  .flags = FHT_F_DONE | (FHT_FD_FILE << FHT_F_FDKIND_SHIFT),
					  .fd = 4 + i, .start_ns = 3000 + i, .end_ns = 3500 + i,
					  .timeout_ns = -1 };
}

/* A0 B0 A1 [garbage] B1 A2 */
static char *two_threads(bool garbage, size_t *cut_len, uint32_t hflags)
{
	struct v2 f;
	streams();
	v2_init(&f, 300, 299, hflags);
	v2_chunk(&f, 301, 0, 0, 3, 0, 0, sa, 9);
	v2_chunk(&f, 302, 0, 0, 3, 5, 0, sb, 6);
	v2_chunk(&f, 301, 1, 3, 3, 0, 0, sa, 9);
	if (garbage)
		v2_garbage(&f);
	v2_chunk(&f, 302, 1, 3, 3, 7, FHT_C_FULL, sb, 6);
	v2_chunk(&f, 301, 2, 6, 3, 0, 0, sa, 9);
	char *p = write_tmp(f.b, cut_len && *cut_len ? *cut_len : f.len);
	if (cut_len)
		*cut_len = f.len;
	free(f.b);
	return p;
}

static void check_thread_a(const struct fh_trace_file *tf)
{
	ck_assert_int_eq(tf->version, 2);
	ck_assert_int_eq(tf->pid, 300);
	ck_assert_int_eq(tf->ppid, 299);
	ck_assert_int_eq(tf->tid, 301);
	ck_assert_str_eq(tf->exe, "/usr/bin/python3.11");
	ck_assert_int_eq(tf->mono_anchor_ns, 1000);
	ck_assert_int_eq(tf->real_anchor_ns, 5000);
	ck_assert_int_eq(tf->proc_start_ns, 900);
	ck_assert(tf->main_file);
	ck_assert_int_eq(tf->nevents, 3);
	ck_assert_int_eq(tf->events[0].type, FH_EV_PROC);
	ck_assert_str_eq(tf->events[0].target, "/usr/bin/python3.11");
	ck_assert_str_eq(tf->events[1].call_name, "connect");
	ck_assert_str_eq(tf->events[1].target, "127.0.0.1:5432");
	ck_assert_int_eq(tf->events[1].tid, 301);
	ck_assert_int_eq(tf->events[1].nstack, FHT_STK_PCS + 2);
	ck_assert_int_eq(tf->events[1].stack[0], 0x1000);
	ck_assert_int_eq(tf->events[1].stack[FHT_STK_PCS], 0x2000);
	ck_assert_int_eq(tf->events[2].type, FH_EV_MARK);
	ck_assert_str_eq(tf->events[2].nodeid, "tests/test_x.py::test_y");
}

START_TEST(test_v2_two_threads)
{
	struct trace_index *ix;
	struct fh_trace_file tf;
	int pid, tid;
	char *p = two_threads(false, NULL, 0);

	ck_assert_int_eq(trace_index_open(p, &ix), 0);
	ck_assert_int_eq(trace_index_nthreads(ix), 2);
	trace_index_thread(ix, 0, &pid, &tid);
	ck_assert_int_eq(pid, 300);
	ck_assert_int_eq(tid, 301);
	trace_index_thread(ix, 1, &pid, &tid);
	ck_assert_int_eq(tid, 302);

	ck_assert_int_eq(trace_index_load(ix, 0, &tf), 0);
	check_thread_a(&tf);
	ck_assert(!tf.truncated);
	ck_assert(!tf.full);
	ck_assert_int_eq(tf.dropped, 0);
	trace_free(&tf);

	ck_assert_int_eq(trace_index_load(ix, 1, &tf), 0);
	ck_assert_int_eq(tf.tid, 302);
	ck_assert(!tf.main_file);
	ck_assert(!tf.truncated);
	ck_assert(tf.full);
	ck_assert_int_eq(tf.dropped, 12);
	ck_assert_int_eq(tf.nevents, 3);    /* the zero slots between are gaps */
	ck_assert_int_eq(tf.events[2].fd, 8);
	ck_assert_int_eq(tf.events[2].pid, 300);
	trace_free(&tf);
	ck_assert_int_eq(trace_index_load(ix, 2, &tf), -EINVAL);
	trace_index_close(ix);

	/* trace_load() of a version 2 file: its first thread */
	ck_assert_int_eq(trace_load(p, &tf), 0);
	check_thread_a(&tf);
	ck_assert_str_eq(tf.path, p);
	trace_free(&tf);
	unlink(p);
	free(p);
}
END_TEST

/* Empty chunks, each a thread whose stream starts far ahead: the gaps of all threads together
 * stay within one bound for the file (the reader once gave each thread 60,000 zero records). */
START_TEST(test_v2_gaps_bounded_per_file)
{
	struct trace_index *ix;
	struct fh_trace_file tf;
	struct fht_rec rec[2];
	struct v2 f;
	uint64_t total = 0;

	memset(rec, 0, sizeof(rec));
	rec[1].type = FHT_REC_CALL;
	rec[1].flags = FHT_F_DONE;
	rec[1].fd = 7;
	v2_init(&f, 500, 1, 0);
	for (int t = 0; t < 200; t++)
		v2_chunk(&f, 1000 + t, 0, 60000, 0, 0, 0, NULL, 0);
	/* A real thread after them keeps its records (a small gap before its chunk's start). */
	v2_chunk(&f, 2000, 0, 0, 2, 0, 0, rec, 2);
	char *p = write_tmp(f.b, f.len);
	free(f.b);
	ck_assert_int_eq(trace_index_open(p, &ix), 0);
	ck_assert_int_eq(trace_index_nthreads(ix), 201);
	for (size_t t = 0; t < 201; t++) {
		ck_assert_int_eq(trace_index_load(ix, t, &tf), 0);
		total += tf.nslots;
		if (t == 200) {
			ck_assert_int_eq(tf.nevents, 1);
			ck_assert_int_eq(tf.events[0].fd, 7);
		}
		trace_free(&tf);
	}
	trace_index_close(ix);
	/* 4 MiB of 64-byte records for the file, plus one per record present */
	ck_assert_uint_le(total, 65536 + 2);
	unlink(p);
	free(p);
}
END_TEST

START_TEST(test_v2_header_full)
{
	struct fh_trace_file tf;
	char *p = two_threads(false, NULL, FHT_H_FULL);

	ck_assert_int_eq(trace_load(p, &tf), 0);
	ck_assert(tf.full);
	ck_assert_int_eq(tf.dropped, 0);
	trace_free(&tf);
	unlink(p);
	free(p);
}
END_TEST

START_TEST(test_v2_garbage_resync)
{
	struct trace_index *ix;
	struct fh_trace_file tf;
	char *p = two_threads(true, NULL, 0);

	ck_assert_int_eq(trace_index_open(p, &ix), 0);
	ck_assert_int_eq(trace_index_nthreads(ix), 2);
	ck_assert_int_eq(trace_index_load(ix, 0, &tf), 0);
	check_thread_a(&tf);              /* A2, after the garbage, still read */
	ck_assert(tf.truncated);
	trace_free(&tf);
	ck_assert_int_eq(trace_index_load(ix, 1, &tf), 0);
	ck_assert_int_eq(tf.nevents, 3);  /* B1, after the garbage */
	ck_assert_int_eq(tf.dropped, 12);
	ck_assert(tf.truncated);
	trace_free(&tf);
	trace_index_close(ix);
	unlink(p);
	free(p);
}
END_TEST

START_TEST(test_v2_unclaimed_tail_is_not_damage)
{
	struct v2 f;
	struct fh_trace_file tf;
	streams();
	v2_init(&f, 300, 299, 0);
	v2_chunk(&f, 302, 0, 0, 6, 0, 0, sb, 6);
	v2_grow(&f, 2 * FHT_CHUNK_ALIGN);  /* zero pages past next_off */
	char *p = write_tmp(f.b, f.len);
	ck_assert_int_eq(trace_load(p, &tf), 0);
	ck_assert(!tf.truncated);
	ck_assert_int_eq(tf.nevents, 3);
	trace_free(&tf);
	/* the same zero pages before next_off, then another chunk of the thread: a hole (a
	 * segment tail the writer skipped, a failed claim), not damage; the chunk after it is read */
	struct fht_rec s2[12];
	memset(s2, 0, sizeof(s2));
	memcpy(s2 + 6, sb, sizeof(sb));
	v2_chunk(&f, 302, 1, 6, 6, 0, 0, s2, 12);
	unlink(p);
	free(p);
	p = write_tmp(f.b, f.len);
	ck_assert_int_eq(trace_load(p, &tf), 0);
	ck_assert(!tf.truncated);
	ck_assert_int_eq(tf.nevents, 6);
	trace_free(&tf);
	unlink(p);
	free(p);
	free(f.b);
}
END_TEST

START_TEST(test_v2_last_chunk_cut)
{
	struct trace_index *ix;
	struct fh_trace_file tf;
	size_t len = 0;
	char *p = two_threads(false, &len, 0);
	unlink(p);
	free(p);
	/* cut inside A2, after its first record (slot 6, the stack's end) */
	len = len - FHT_CHUNK_ALIGN + 2 * FHT_REC_SIZE + 10;
	p = two_threads(false, &len, 0);

	ck_assert_int_eq(trace_index_open(p, &ix), 0);
	ck_assert_int_eq(trace_index_nthreads(ix), 2);
	ck_assert_int_eq(trace_index_load(ix, 0, &tf), 0);
	ck_assert(tf.truncated);
	ck_assert_int_eq(tf.nevents, 2);   /* the marker was in the cut part */
	ck_assert_int_eq(tf.events[1].nstack, FHT_STK_PCS + 2);
	trace_free(&tf);
	ck_assert_int_eq(trace_index_load(ix, 1, &tf), 0);
	ck_assert(!tf.truncated);          /* B is whole */
	ck_assert_int_eq(tf.nevents, 3);
	trace_free(&tf);
	trace_index_close(ix);
	unlink(p);
	free(p);
}
END_TEST

START_TEST(test_v2_hostile_chunks)
{
	struct v2 f;
	struct trace_index *ix;
	struct fh_trace_file tf;
	size_t off;

	streams();
	v2_init(&f, 300, 299, 0);
	v2_chunk(&f, 302, 0, 0, 6, 0, 0, sb, 6);
	v2_chunk(&f, 302, 1, UINT64_MAX - 2, 3, 0, 0, sb, 6);       /* first far beyond */
	v2_chunk(&f, 302, 2, (1u << 31) - 2, 3, 0, 0, sb, 6);       /* first near INT32_MAX */
	v2_chunk(&f, 302, 3, 0, 6, UINT64_MAX, 0, sb, 6);           /* duplicate, dropped max */
	v2_chunk(&f, 302, 4, 4, 6, 1, 0, sb, 6);                    /* overlapping */
	off = v2_chunk(&f, 302, 5, 0, 3, 0, 0, sb, 6);
	((struct fht_chunk *)(f.b + off))->nslots = UINT64_MAX;      /* invalid: skipped */
	off = v2_chunk(&f, 302, 6, 0, 3, 0, 0, sb, 6);
	((struct fht_chunk *)(f.b + off))->self_off = 0;            /* invalid: skipped */
	off = v2_chunk(&f, 303, 0, 0, 3, 0, 0, sb, 6);
	((struct fht_chunk *)(f.b + off))->nslots = FHT_CHUNK_MAX_SLOTS; /* runs past the end */
	off = f.len;
	v2_chunk(&f, -5, 0, 0, 3, 0, 0, sb, 6);                     /* bad tid: skipped */
	char *p = write_tmp(f.b, f.len);
	ck_assert_int_eq(trace_index_open(p, &ix), 0);
	ck_assert_int_eq(trace_index_nthreads(ix), 2);
	ck_assert_int_eq(trace_index_load(ix, 0, &tf), 0);
	ck_assert_int_eq(tf.tid, 302);
	ck_assert(tf.truncated);
	ck_assert_int_eq(tf.dropped, UINT64_MAX);
	ck_assert_int_ge(tf.nevents, 3);
	trace_free(&tf);
	ck_assert_int_eq(trace_index_load(ix, 1, &tf), 0);
	ck_assert_int_eq(tf.tid, 303);
	ck_assert(tf.truncated);
	trace_free(&tf);
	trace_index_close(ix);
	unlink(p);
	free(p);

	/* random bytes after a valid header never crash */
	srand(7);
	for (int round = 0; round < 100; round++) {
		for (size_t i = FHT_HEADER_SIZE; i < f.len; i++)
			f.b[i] = (unsigned char)(rand() % 5 ? 0 : rand());
		for (size_t o = FHT_HEADER_SIZE; o + FHT_REC_SIZE <= f.len; o += FHT_CHUNK_ALIGN)
			if (rand() % 2) {
				struct fht_chunk *c = (void *)(f.b + o);
				c->type = FHT_REC_CHUNK;
				c->magic = FHT_CHUNK_MAGIC;
				c->self_off = o;
				c->tid = 1 + rand() % 3;
				c->first = rand() % 3 ? (uint64_t)(rand() % 100) : (uint64_t)rand() << 20;
				c->nslots = rand() % 3 ? (uint64_t)(rand() % 300) : (uint64_t)rand();
			}
		p = write_tmp(f.b, f.len);
		FILE *null = fopen("/dev/null", "w");
		trace_dump(p, null);
		fclose(null);
		unlink(p);
		free(p);
	}
	free(f.b);
}
END_TEST

/* A process ended while it set its file up: the header without its magic, or nothing yet.
 * Nothing recorded can be in it (no chunk): reported as such (-ENODATA), not as damage; a file
 * without a magic that holds more than a header is still a bad file. */
START_TEST(test_v2_setup_cut_short)
{
	struct v2 f;
	struct fh_trace_file tf;
	char *p;

	v2_init(&f, 300, 299, 0);
	memset(((struct fht_proc_header *)f.b)->magic, 0, 8);
	p = write_tmp(f.b, f.len);
	ck_assert_int_eq(trace_load(p, &tf), -ENODATA);
	unlink(p); free(p);
	p = write_tmp(f.b, 0);
	ck_assert_int_eq(trace_load(p, &tf), -ENODATA);
	unlink(p); free(p);
	p = write_tmp(f.b, 100);
	ck_assert_int_eq(trace_load(p, &tf), -ENODATA);
	unlink(p); free(p);
	v2_grow(&f, FHT_CHUNK_ALIGN);
	p = write_tmp(f.b, f.len);
	ck_assert_int_eq(trace_load(p, &tf), -EINVAL);
	unlink(p); free(p);
	free(f.b);
}
END_TEST

START_TEST(test_v2_hostile_header)
{
	struct v2 f;
	struct fh_trace_file tf;
	char *p;

	v2_init(&f, 300, 299, 0);
	((struct fht_proc_header *)f.b)->min_version = FHT_VERSION + 1;
	p = write_tmp(f.b, f.len);
	ck_assert_int_eq(trace_load(p, &tf), -EPROTO);
	unlink(p); free(p);
	free(f.b);
	v2_init(&f, 300, 299, 0);
	((struct fht_proc_header *)f.b)->header_size = 100;
	p = write_tmp(f.b, f.len);
	ck_assert_int_eq(trace_load(p, &tf), -EINVAL);
	unlink(p); free(p);
	free(f.b);
	v2_init(&f, 300, 299, 0);
	p = write_tmp(f.b, 200);
	ck_assert_int_eq(trace_load(p, &tf), -EINVAL);
	unlink(p); free(p);
	free(f.b);
	/* header only: loads as one thread-less file */
	v2_init(&f, 300, 299, 0);
	p = write_tmp(f.b, f.len);
	ck_assert_int_eq(trace_load(p, &tf), 0);
	ck_assert_int_eq(tf.nevents, 0);
	ck_assert_int_eq(tf.pid, 300);
	trace_free(&tf);
	unlink(p); free(p);
	free(f.b);
}
END_TEST

START_TEST(test_v2_dump_one_section_per_thread)
{
	char *buf = NULL;
	size_t len = 0;
	char *p = two_threads(false, NULL, 0);
	FILE *f = open_memstream(&buf, &len);
	ck_assert_int_eq(trace_dump(p, f), 0);
	fclose(f);
	char head[512];
	snprintf(head, sizeof(head), "# %s: pid 300 ppid 299 tid 301 exe \"/usr/bin/python3.11\" "
		 "events 3 dropped 0\n", p);
	ck_assert_ptr_eq(strstr(buf, head), buf);
	char *b = strstr(buf, "\n# ");
	ck_assert_ptr_nonnull(b);
	snprintf(head, sizeof(head), "\n# %s: pid 300 ppid 299 tid 302 exe \"/usr/bin/python3.11\" "
		 "events 3 dropped 12 full\n", p);
	ck_assert_ptr_eq(strstr(buf, head), b);
	/* then the process's losses: the chunks' 12, no reason recorded (no FHT_H_DROPS) */
	char *c = strstr(b + 1, "\n# ");
	snprintf(head, sizeof(head), "\n# %s: process dropped 12 (unknown 12)\n", p);
	ck_assert_ptr_eq(strstr(buf, head), c);
	ck_assert_ptr_null(strstr(c + 1, "\n# "));
	ck_assert_ptr_nonnull(strstr(buf, "300/301 connect(3, \"127.0.0.1:5432\") = -1 ECONNREFUSED"));
	ck_assert_ptr_nonnull(strstr(b, "300/302 read(8) = 0"));
	ck_assert_ptr_null(strstr(buf, "300/302 connect"));
	free(buf);
	unlink(p);
	free(p);
}
END_TEST

/* The process header's drop counters (FHT_H_DROPS), a chunk's reason, the module map's state:
 * what the whole file lost is on its first thread only; hostile reason numbers are clamped. */
START_TEST(test_v2_drop_reasons)
{
	struct trace_index *ix;
	struct fh_trace_file tf;
	struct v2 f;
	char *buf = NULL;
	size_t len = 0;

	streams();
	v2_init(&f, 300, 299, FHT_H_DROPS | FHT_H_FULL);
	struct fht_proc_header *h = (void *)f.b;
	h->drops[FHT_DROP_DISK_FLOOR] = 20;
	h->drops[FHT_DROP_BUSY] = 3;
	h->drops[FHT_DROP_NO_FD] = 100;        /* threads that never got a chunk */
	h->map_reason = FHT_DROP_RLIMIT;
	v2_chunk(&f, 301, 0, 0, 9, 0, 0, sa, 9);
	size_t off = v2_chunk(&f, 302, 0, 0, 6, 23, FHT_C_FULL, sb, 6);
	((struct fht_chunk *)(f.b + off))->reason = FHT_DROP_DISK_FLOOR;
	char *p = write_tmp(f.b, f.len);

	ck_assert_int_eq(trace_index_open(p, &ix), 0);
	ck_assert_int_eq(trace_index_load(ix, 0, &tf), 0);
	ck_assert_uint_eq(tf.file_dropped, 123);
	ck_assert_uint_eq(tf.file_drops[FHT_DROP_DISK_FLOOR], 20);
	ck_assert_uint_eq(tf.file_drops[FHT_DROP_BUSY], 3);
	ck_assert_uint_eq(tf.file_drops[FHT_DROP_NO_FD], 100);
	ck_assert_uint_eq(tf.file_drops[FHT_DROP_UNKNOWN], 0);
	ck_assert_uint_eq(tf.map_reason, FHT_DROP_RLIMIT);
	ck_assert_uint_eq(tf.dropped, 0);
	trace_free(&tf);
	ck_assert_int_eq(trace_index_load(ix, 1, &tf), 0);
	ck_assert_uint_eq(tf.dropped, 23);
	ck_assert_uint_eq(tf.drop_reason, FHT_DROP_DISK_FLOOR);
	ck_assert_uint_eq(tf.file_dropped, 0);      /* counted once, with the first thread */
	ck_assert_uint_eq(tf.map_reason, 0);
	trace_free(&tf);
	trace_index_close(ix);

	FILE *o = open_memstream(&buf, &len);
	ck_assert_int_eq(trace_dump(p, o), 0);
	fclose(o);
	ck_assert_ptr_nonnull(strstr(buf, "events 3 dropped 23 full reason disk_floor\n"));
	char line[512];
	snprintf(line, sizeof(line), "\n# %s: process dropped 123 (disk_floor 20, no_fd 100, busy 3) "
		 "module map incomplete (rlimit_fsize)\n", p);
	ck_assert_ptr_nonnull(strstr(buf, line));
	free(buf);
	unlink(p);
	free(p);

	/* chunks counting more than the header (a writer without reasons): the rest is unknown;
	 * reason numbers this reader does not know are clamped to "other" */
	h = (void *)f.b;
	h->drops[FHT_DROP_NO_FD] = 0;
	h->map_reason = 999;
	((struct fht_chunk *)(f.b + off))->reason = 12345;
	p = write_tmp(f.b, f.len);
	ck_assert_int_eq(trace_index_open(p, &ix), 0);
	ck_assert_int_eq(trace_index_load(ix, 0, &tf), 0);
	ck_assert_uint_eq(tf.file_dropped, 23);
	ck_assert_uint_eq(tf.file_drops[FHT_DROP_UNKNOWN], 0);
	trace_free(&tf);
	trace_index_close(ix);
	unlink(p);
	free(p);
	h = (void *)f.b;
	h->drops[FHT_DROP_DISK_FLOOR] = 2;
	h->drops[FHT_DROP_BUSY] = 1;
	p = write_tmp(f.b, f.len);
	ck_assert_int_eq(trace_index_open(p, &ix), 0);
	ck_assert_int_eq(trace_index_load(ix, 0, &tf), 0);
	ck_assert_uint_eq(tf.file_dropped, 23);
	ck_assert_uint_eq(tf.file_drops[FHT_DROP_UNKNOWN], 20);
	ck_assert_str_eq(trace_drop_reason_name(tf.map_reason), "other");
	trace_free(&tf);
	ck_assert_int_eq(trace_index_load(ix, 1, &tf), 0);
	ck_assert_str_eq(trace_drop_reason_name(tf.drop_reason), "other");
	trace_free(&tf);
	trace_index_close(ix);
	ck_assert_str_eq(trace_drop_reason_name(FHT_DROP_RLIMIT), "rlimit_fsize");
	ck_assert_str_eq(trace_drop_reason_name(99), "other");
	unlink(p);
	free(p);
	free(f.b);
}
END_TEST

static Suite *trace_suite(void)
{
	Suite *s = suite_create("trace");
	TCase *tc = tcase_create("reader");
	tcase_set_timeout(tc, 20);
	tcase_add_test(tc, test_decode_all_types);
	tcase_add_test(tc, test_dump_is_strace_like);
	tcase_add_test(tc, test_dump_printers);
	tcase_add_test(tc, test_hostile_headers);
	tcase_add_test(tc, test_truncated_and_huge_counts);
	tcase_add_test(tc, test_hostile_strings);
	tcase_add_test(tc, test_random_garbage_never_crashes);
	tcase_add_test(tc, test_list_sorted_fht_only);
	tcase_add_test(tc, test_v2_two_threads);
	tcase_add_test(tc, test_v2_header_full);
	tcase_add_test(tc, test_v2_garbage_resync);
	tcase_add_test(tc, test_v2_unclaimed_tail_is_not_damage);
	tcase_add_test(tc, test_v2_last_chunk_cut);
	tcase_add_test(tc, test_v2_hostile_chunks);
	tcase_add_test(tc, test_v2_hostile_header);
	tcase_add_test(tc, test_v2_setup_cut_short);
	tcase_add_test(tc, test_v2_dump_one_section_per_thread);
	tcase_add_test(tc, test_v2_drop_reasons);
	tcase_add_test(tc, test_v2_gaps_bounded_per_file);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return fh_check_run(trace_suite());
}
