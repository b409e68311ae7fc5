/* SPDX-License-Identifier: MIT */
/*
 * Resource figures (FHT_REC_RES, fhtrace_format.h): what the kernel counted for the thread that
 * marks an attempt, for the whole process and for its reaped children, at the attempt's begin
 * and end, so the analyzer can say where an attempt's wall time went besides the blocking calls
 * the wrappers see: CPU (user and system), time runnable but not running (run-queue delay),
 * involuntary context switches, page faults, and the machine's CPU steal. The same figures are
 * written when a thread or a process ends, for the threads and children an attempt started.
 *
 * Cost (bench/bench_profile.py prints it): getrusage is ~0.5 us a call; the run-queue delay
 * needs /proc/self/task/TID/schedstat (an open, a read, a close: ~5-10 us on these VMs), and the
 * machine's steal /proc/stat (~20 us), which is read only while perf detail is on (the profiler
 * is on, or FH_PROFILE asked for it). Files are opened through fh_open_own (never one of the
 * program's last fds) and closed at once. Nothing here runs on a wrapper's hot path.
 */
#include <fcntl.h>
#include <pthread.h>
#include <string.h>
#include <sys/resource.h>

#include "fhtrace_int.h"

volatile int fh_perf_detail;

static pthread_key_t exit_key;
static int have_exit_key;
static int64_t user_hz = 100;   /* /proc/stat's tick (sysconf(_SC_CLK_TCK)), read at start */

static int64_t tv_ns(struct timeval tv)
{
	return (int64_t)tv.tv_sec * 1000000000 + (int64_t)tv.tv_usec * 1000;
}

/* Reads a small /proc file into buf (NUL-terminated); its length, or -1. */
static long read_small(const char *path, char *buf, size_t cap)
{
	unsigned reason;
	long fd = fh_open_own(path, O_RDONLY | O_CLOEXEC, 0, &reason);
	if (fd < 0)
		return -1;
	long n = syscall(SYS_read, fd, buf, cap - 1);
	syscall(SYS_close, fd);
	if (n < 0)
		return -1;
	buf[n] = 0;
	return n;
}

/* Parses up to max decimal numbers from s; how many it found. */
static int parse_nums(const char *s, int64_t *out, int max)
{
	int n = 0;
	while (*s && n < max) {
		while (*s && (*s < '0' || *s > '9'))
			s++;
		if (!*s)
			break;
		int64_t v = 0;
		while (*s >= '0' && *s <= '9') {
			if (v < INT64_MAX / 10)
				v = v * 10 + (*s - '0');
			s++;
		}
		out[n++] = v;
	}
	return n;
}

/* /proc/self/task/TID/schedstat: on-CPU ns, run-queue delay ns, timeslices; false when the
 * kernel does not keep them (no CONFIG_SCHED_INFO) or the file cannot be read. */
static bool schedstat(int tid, int64_t v[3])
{
	char path[64], buf[128];
	size_t o = fh_strlcpy(path, sizeof(path), "/proc/self/task/");
	o += fh_fmt_long(path + o, sizeof(path) - o, tid);
	fh_strlcpy(path + o, sizeof(path) - o, "/schedstat");
	return read_small(path, buf, sizeof(buf)) > 0 && parse_nums(buf, v, 3) == 3;
}

static void put_res(struct fh_thr *t, uint32_t owner, int kind, unsigned flags,
		    const int64_t *v, int n, int64_t at)
{
	uint64_t idx;
	/* A stream that is dropping events (full, capped, at a limit) gets none of the library's
	 * own figures: its drop counts stay the program's events. */
	if (t->full)
		return;
	struct fht_res *r = (struct fht_res *)fh_reserve(t, &idx);
	if (!r)
		return;
	r->flags = (uint8_t)(FHT_F_DONE | flags);
	r->kind = (uint8_t)kind;
	r->n = (uint8_t)n;
	r->owner = owner;
	r->start_ns = at;
	for (int i = 0; i < FHT_RES_NV; i++)
		r->v[i] = i < n ? v[i] : -1;
	__atomic_store_n(&r->type, FHT_REC_RES, __ATOMIC_RELEASE);
}

/* The calling thread's THREAD and THREAD_CTX figures. */
static void put_thread(struct fh_thr *t, uint32_t owner, unsigned flags)
{
	struct rusage ru;
	int64_t v[FHT_RES_NV], s[3];
	int64_t at = fh_now();
	bool ok = syscall(SYS_getrusage, RUSAGE_THREAD, &ru) == 0;
	bool ss = schedstat(t->tid, s);
	v[0] = ok ? tv_ns(ru.ru_utime) : -1;
	v[1] = ok ? tv_ns(ru.ru_stime) : -1;
	v[2] = ss ? s[0] : -1;
	v[3] = ss ? s[1] : -1;
	v[4] = ss ? s[2] : -1;
	v[5] = t->tid;
	put_res(t, owner, FHT_RES_THREAD, flags, v, 6, at);
	v[0] = ok ? ru.ru_nvcsw : -1;
	v[1] = ok ? ru.ru_nivcsw : -1;
	v[2] = ok ? ru.ru_minflt : -1;
	v[3] = ok ? ru.ru_majflt : -1;
	v[4] = t->tid;
	put_res(t, owner, FHT_RES_THREAD_CTX, flags, v, 5, at);
}

static void put_rusage(struct fh_thr *t, uint32_t owner, int who, int kind, unsigned flags)
{
	struct rusage ru;
	int64_t v[6];
	int64_t at = fh_now();
	if (syscall(SYS_getrusage, who, &ru) != 0)
		return;
	v[0] = tv_ns(ru.ru_utime);
	v[1] = tv_ns(ru.ru_stime);
	v[2] = ru.ru_minflt;
	v[3] = ru.ru_majflt;
	v[4] = ru.ru_nvcsw;
	v[5] = ru.ru_nivcsw;
	put_res(t, owner, kind, flags, v, 6, at);
}

/* /proc/stat's first line: "cpu  user nice system idle iowait irq softirq steal guest gn". */
static void put_machine(struct fh_thr *t, uint32_t owner)
{
	char buf[4096];
	int64_t f[10], v[6];
	int64_t at = fh_now();
	long n = read_small("/proc/stat", buf, sizeof(buf));
	if (n <= 0 || strncmp(buf, "cpu ", 4))
		return;
	char *eol = strchr(buf, '\n');
	if (!eol)
		return;
	*eol = 0;
	int k = parse_nums(buf, f, 10);
	if (k < 8)
		return;
	int64_t hz = user_hz, tick = 1000000000 / hz, total = 0;
	for (int i = 0; i < 8; i++)
		total += f[i];
	v[0] = f[7] * tick;
	v[1] = total * tick;
	v[2] = (f[3] + f[4]) * tick;
	v[3] = -1;
	v[5] = 0;
	for (char *p = eol + 1; *p;) {
		char *e = strchr(p, '\n');
		if (!strncmp(p, "cpu", 3) && p[3] >= '0' && p[3] <= '9')
			v[5]++;
		else if (!strncmp(p, "procs_running ", 14))
			parse_nums(p + 14, &v[3], 1);
		if (!e)
			break;
		p = e + 1;
	}
	if (!v[5])
		v[5] = -1;
	v[4] = hz;
	put_res(t, owner, FHT_RES_MACHINE, 0, v, 6, at);
}

void fh_res_mark(struct fh_thr *t, uint64_t mark_idx)
{
	uint32_t owner = (uint32_t)mark_idx;
	put_thread(t, owner, 0);
	put_rusage(t, owner, RUSAGE_SELF, FHT_RES_PROC, 0);
	put_rusage(t, owner, RUSAGE_CHILDREN, FHT_RES_CHILDREN, 0);
	if (fh_perf_detail)
		put_machine(t, owner);
}

/* A traced thread ends (pthread key destructor): everything it used, and its profiler timer
 * goes (timers belong to the process, not to the thread). */
static void thread_exit(void *v)
{
	(void)v;
	int saved = errno;
	struct fh_thr *t = &fh_thr;
	fh_profile_thread_exit();
	if (fh_on && t->state == THR_ON && t->gen == fh_fork_gen && !t->busy &&
	    fh_raw_getpid() == fh_pid)
		put_thread(t, 0, FHT_RES_F_EXIT);
	errno = saved;
}

void fh_res_init(void)
{
	long hz = sysconf(_SC_CLK_TCK);
	if (hz > 0 && hz <= 1000000)
		user_hz = hz;
	if (!have_exit_key && pthread_key_create(&exit_key, thread_exit) == 0)
		have_exit_key = 1;
}

void fh_res_thread_setup(struct fh_thr *t)
{
	(void)t;
	/* Keys below the first level (32 in glibc) are set without allocating: safe wherever a
	 * thread is set up, a signal handler included. A higher key would allocate: left unset
	 * (no exit figures for threads then). */
	if (have_exit_key && exit_key < 32 && fh_raw_getpid() == fh_pid)
		pthread_setspecific(exit_key, (void *)1);
}

void fh_res_process_exit(void)
{
	struct fh_thr *t = fh_thread();
	int64_t v[3] = { 0, 0, 0 }, s[3];
	char buf[4096];
	if (!t)
		return;
	put_rusage(t, 0, RUSAGE_SELF, FHT_RES_PROC, FHT_RES_F_EXIT);
	/* Every live thread's schedstat: the process's threads as one. */
	unsigned reason;
	long fd = fh_open_own("/proc/self/task", O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0, &reason);
	if (fd < 0)
		return;
	int64_t at = fh_now();
	for (int guard = 0; guard < 64; guard++) {
		long k = syscall(SYS_getdents64, fd, buf, sizeof(buf));
		if (k <= 0)
			break;
		for (long o = 0; o < k;) {
			struct { uint64_t ino; int64_t off; unsigned short reclen; unsigned char type;
				 char name[]; } *d = (void *)(buf + o);
			int64_t tid;
			if (d->name[0] != '.' && parse_nums(d->name, &tid, 1) == 1 &&
			    v[2] < 4096 && schedstat((int)tid, s)) {
				v[0] += s[0];
				v[1] += s[1];
				v[2]++;
			}
			o += d->reclen;
		}
	}
	syscall(SYS_close, fd);
	if (v[2])
		put_res(t, 0, FHT_RES_PROC_SCHED, FHT_RES_F_EXIT, v, 3, at);
}
