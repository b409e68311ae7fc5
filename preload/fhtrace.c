/* SPDX-License-Identifier: MIT */
/*
 * The core of libfhtrace.so: process start (constructor, FH_TRACE_DIR created when missing /
 * FH_TRACE), the clock (TSC calibrated against CLOCK_MONOTONIC), resolution of the real
 * functions (the symbol version from the call table), and the exported fh_* attempt-marker API
 * of docs/FORMATS.md. The process's memory-mapped trace file, the threads' chunks and the
 * fork-child reset are procfile.c's; the async-signal-safe string helpers fmt.c's.
 *
 * Everything reachable from a wrapper is async-signal-safe and goes through syscall(); the
 * constructor and fh_start() may use libc freely (they run outside signal context).
 */
#include <dlfcn.h>
#include <fcntl.h>
#include <linux/limits.h>
#include <pthread.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <sys/un.h>
#include <sys/uio.h>
#include <sys/stat.h>

#include "fhtrace_int.h"

#define FH_API_VERSION 1
#define FH_DEFAULT_MAX_BYTES (64ULL << 20)  /* per thread */

__thread struct fh_thr fh_thr __attribute__((tls_model("initial-exec")));
volatile int fh_on;
unsigned fh_fork_gen = 1;
int fh_pid;
int64_t fh_slow_ns = 1000000;
unsigned char fh_fdkind[65536];
void *fh_real[FH_NCALLS];

uint64_t fh_tsc_mult;
uint64_t fh_reanchor_ticks = UINT64_MAX;
static uint64_t fh_cal_tsc;      /* process calibration anchor */
static int64_t fh_cal_ns;

char fh_dir[PATH_MAX - 64];
static int fh_disabled;          /* FH_TRACE=0 or a secure-exec process */
uint64_t fh_cap_recs;
int fh_ppid;
int64_t fh_proc_start;
char fh_exe[256];

#if defined(__x86_64__)
static void calibrate_start(void)
{
	fh_cal_ns = fh_clock_ns();
	fh_cal_tsc = __rdtsc();
}

/* Takes a fresh (TSC, CLOCK_MONOTONIC) pair for t; refines the process-wide rate from the
 * process anchor once at least 10 ms have passed (longer baselines give a better rate). */
int64_t fh_reanchor(struct fh_thr *t)
{
	int64_t ns = fh_clock_ns();
	uint64_t tsc = __rdtsc();
	int n = !t->ai;
	t->anchor[n].tsc = tsc;
	t->anchor[n].ns = ns;
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	t->ai = n;
	int64_t dns = ns - fh_cal_ns;
	uint64_t dt = tsc - fh_cal_tsc;
	if (fh_cal_tsc && dns >= 10000000 && dt > 0 && (!fh_tsc_mult || dns < 100000000000LL)) {
		uint64_t mult = (uint64_t)(((unsigned __int128)dns << 32) / dt);
		if (mult) {
			fh_reanchor_ticks = (uint64_t)(((unsigned __int128)20000000 << 32) / mult);
			__atomic_store_n(&fh_tsc_mult, mult, __ATOMIC_RELAXED);
		}
	}
	return ns;
}
#else
static void calibrate_start(void)
{
}

int64_t fh_reanchor(struct fh_thr *t)
{
	(void)t;
	return fh_clock_ns();
}
#endif

int fh_raw_getpid(void)
{
	return (int)syscall(SYS_getpid);
}

/* ---- resolution of the real functions ---- */

void *fh_resolve(unsigned id)
{
	void *p = NULL;
	const char *ver = fht_call_symver(id);

	if (id >= FH_NCALLS)
		return NULL;
	if (ver)
		p = dlvsym(RTLD_NEXT, fht_calls[id].name, ver);
	if (!p)
		p = dlsym(RTLD_NEXT, fht_calls[id].name);
	if (p)
		__atomic_store_n(&fh_real[id], p, __ATOMIC_RELEASE);
	return p;
}

/* ---- process start ---- */

/* mkdir -p path with mode 0700 for what it creates; 0 or -errno. path is absolute. */
static int make_dirs(char *path)
{
	struct stat st;
	if (syscall(SYS_newfstatat, AT_FDCWD, path, &st, 0) == 0)
		return S_ISDIR(st.st_mode) ? 0 : -ENOTDIR;
	for (char *p = path + 1;; p++) {
		if (*p != '/' && *p)
			continue;
		char c = *p;
		*p = 0;
		long r = p[-1] == '/' ? 0 : syscall(SYS_mkdirat, AT_FDCWD, path, 0700);
		int e = errno;
		*p = c;
		if (r < 0 && e != EEXIST)
			return -e;
		if (!c)
			break;
	}
	if (syscall(SYS_newfstatat, AT_FDCWD, path, &st, 0) != 0)
		return -errno;
	return S_ISDIR(st.st_mode) ? 0 : -ENOTDIR;
}

/*
 * One line on stderr when FH_TRACE_DIR cannot be used, once per process tree: the environment
 * is the only thing children inherit, so the first process that warns leaves FH_TRACE_WARNED
 * set to the directory, and a descendant that fails on the same one stays silent. It is
 * written from the constructor, before the program runs: a pytest process has not redirected
 * fd 2 into its capture yet, so the line goes to the terminal or CI log that started it.
 */
static void warn_dir(const char *dir, int err)
{
	char line[PATH_MAX + 128];
	const char *w = getenv("FH_TRACE_WARNED");
	if (w && !strcmp(w, dir))
		return;
	size_t o = fh_cat(line, sizeof(line), 0, err == EACCES || err == EROFS || err == EPERM ?
		       "libfhtrace: cannot create or write to trace dir '" :
		       "libfhtrace: cannot create trace dir '");
	o = fh_cat(line, sizeof(line), o, dir);
	o = fh_cat(line, sizeof(line), o, "': ");
	o = fh_cat(line, sizeof(line), o, strerror(err));
	o = fh_cat(line, sizeof(line), o, "; tracing off\n");
	if (syscall(SYS_fcntl, 2, F_GETFD) >= 0)
		syscall(SYS_write, 2, line, o);
	setenv("FH_TRACE_WARNED", dir, 1);
}

/* eager: set up the calling thread (and so the process file) now, to report failure (fh_start);
 * otherwise that waits for the first event, and a process that records nothing writes nothing. */
static int start_tracing(const char *dir, bool eager)
{
	static int once;
	struct fh_thr *t = &fh_thr;
	if (fh_disabled)
		return -ECANCELED;
	if (!dir || !*dir)
		return -EINVAL;
	if (fh_on)
		return 0;
	/* Absolute, so that chunks are found again after the program changes directory. */
	size_t o = 0;
	if (dir[0] != '/') {
		if (!getcwd(fh_dir, sizeof(fh_dir) - 2))
			return -errno;
		o = strlen(fh_dir);
		fh_dir[o++] = '/';
	}
	if (strlen(dir) >= sizeof(fh_dir) - o)
		return -ENAMETOOLONG;
	fh_strlcpy(fh_dir + o, sizeof(fh_dir) - o, dir);
	int e = make_dirs(fh_dir);
	if (!e && syscall(SYS_faccessat, AT_FDCWD, fh_dir, W_OK | X_OK) != 0)
		e = -errno;
	if (e) {
		fh_dir[0] = 0;
		return e;
	}
	fh_pid = fh_raw_getpid();
	fh_ppid = (int)syscall(SYS_getppid);
	if (!fh_proc_start)
		fh_proc_start = fh_now();
	long k = syscall(SYS_readlinkat, AT_FDCWD, "/proc/self/exe", fh_exe, sizeof(fh_exe) - 1);
	fh_exe[k > 0 ? k : 0] = 0;
	if (!once) {
		once = 1;
		pthread_atfork(NULL, NULL, fh_after_fork_child);
	}
	fh_on = 1;
	t->state = THR_NEW;
	if (eager) {
		int e2 = fh_pf_setup_eager(t);
		if (e2)
			return e2;
	}
	/* The library's own calls (FH_STACK_MS is read with getenv) are not the program's. */
	int busy = t->busy, base = t->busy_base;
	t->busy_base = t->in_handler;
	t->busy = 1;
	fh_signals_init();
	fh_stacks_start(fh_dir);
	const char *prof = getenv("FH_PROFILE");
	t->busy = busy;
	t->busy_base = base;
	/* After busy is restored: switching the profiler on writes its ON record in this thread. */
	fh_res_init();
	fh_profile_from_env(prof);
	return 0;
}

__attribute__((constructor(101))) static void fh_init(void)
{
	struct fh_thr *t = &fh_thr;
	int saved = errno;
	t->busy = 1;
	fh_proc_start = fh_now();
	calibrate_start();
	for (unsigned i = 0; i < FH_NCALLS; i++)
		if (!fh_real[i])
			fh_resolve(i);
	const char *v = getenv("FH_TRACE");
	if ((v && !strcmp(v, "0")) || getauxval(AT_SECURE))
		fh_disabled = 1;
	fh_cap_recs = FH_DEFAULT_MAX_BYTES / FHT_REC_SIZE;
	v = getenv("FH_TRACE_MAX_BYTES");
	if (v) {
		char *end;
		unsigned long long b = strtoull(v, &end, 10);
		if (end != v && b >= FHT_REC_SIZE)
			fh_cap_recs = b / FHT_REC_SIZE;
	}
	v = getenv("FH_SLOW_US");
	if (v) {
		char *end;
		long us = strtol(v, &end, 10);
		if (end != v && us >= 0)
			fh_slow_ns = us * 1000;
	}
	v = getenv("FH_TRACE_MIN_FREE");
	if (v)
		fh_parse_min_free(v);
	t->busy = 0;
	v = getenv("FH_TRACE_DIR");
	if (v && *v) {
		int e = start_tracing(v, false);
		if (e && e != -ECANCELED)
			warn_dir(v, -e);
	}
	errno = saved;
}

/* ---- the exported API (docs/FORMATS.md) ---- */

FH_EXPORT int fh_version(void);
FH_EXPORT int fh_start(const char *trace_dir);
FH_EXPORT int fh_active(void);
FH_EXPORT void fh_attempt_begin(const char *nodeid, int attempt);
FH_EXPORT void fh_attempt_end(const char *nodeid, int attempt, int outcome);
FH_EXPORT void fh_phase_begin(int phase);
FH_EXPORT void fh_phase_end(int phase, int failed);

int fh_version(void)
{
	return FH_API_VERSION;
}

int fh_start(const char *trace_dir)
{
	int saved = errno;
	int r = start_tracing(trace_dir, true);
	errno = saved;
	return r;
}

int fh_active(void)
{
	return fh_on && !fh_disabled;
}

static void count_entry(const char *name, int dfd, void *arg)
{
	(void)name;
	(void)dfd;
	++*(int *)arg;
}

static int count_dir(const char *path)
{
	int n = 0;
	if (fh_each_dirent(path, count_entry, &n) < 0)
		return -1;
	return n - 1;   /* the directory fd itself (only /proc/self/fd is counted this way) */
}

/* Open fds and threads of the process, one stat each: Linux >= 6.2 reports the number of open
 * fds as the size of /proc/self/fd, and every kernel counts a process's threads in the link
 * count of /proc/self/task (2 + threads). Listing /proc/self/fd instead costs ~10 us more per
 * attempt with a few fds, and grows with them. */
static void count_fds_threads(int32_t *fds, int32_t *threads)
{
	struct stat st;
	*fds = -1;
	*threads = -1;
	if (syscall(SYS_newfstatat, AT_FDCWD, "/proc/self/fd", &st, 0) == 0)
		*fds = st.st_size > 0 ? (int32_t)st.st_size : count_dir("/proc/self/fd");
	if (syscall(SYS_newfstatat, AT_FDCWD, "/proc/self/task", &st, 0) == 0 && st.st_nlink > 2)
		*threads = (int32_t)(st.st_nlink - 2);
}

static void mark(int kind, const char *nodeid, int attempt, int phase, int result)
{
	int saved = errno;
	struct fh_thr *t = fh_thread();
	uint64_t idx;
	struct fht_rec *r;
	if (!t || !(r = fh_reserve(t, &idx)))
		goto out;
	struct timespec ts;
	r->call = (uint16_t)kind;
	r->start_ns = fh_now();
	r->timeout_ns = clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) ? -1 :
		(int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
	if (kind == FHT_MARK_ATTEMPT_BEGIN || kind == FHT_MARK_ATTEMPT_END) {
		/* Only where the analyzer uses them: counts at the attempt's start, and what it
		 * left open at its end (the footprint). */
		count_fds_threads(&r->fd, &r->err);
	} else {
		r->fd = -1;
		r->err = -1;
	}
	r->arg = attempt;
	r->arg2 = phase;
	r->result = result;
	r->end_ns = r->start_ns;
	r->flags = FHT_F_DONE;
	__atomic_store_n(&r->type, FHT_REC_MARK, __ATOMIC_RELEASE);
	if (nodeid)
		fh_put_str(t, r, idx, nodeid, fh_strnlen(nodeid, FHT_STR_MAX + 1));
	if (kind == FHT_MARK_ATTEMPT_BEGIN || kind == FHT_MARK_ATTEMPT_END)
		fh_res_mark(t, idx);
	if (kind == FHT_MARK_ATTEMPT_BEGIN)
		__atomic_add_fetch(&fh_attempt_gen, 1, __ATOMIC_RELAXED);
	else if (kind == FHT_MARK_ATTEMPT_END)
		fh_foot_attempt_end(t, attempt);
out:
	errno = saved;
}

void fh_attempt_begin(const char *nodeid, int attempt)
{
	mark(FHT_MARK_ATTEMPT_BEGIN, nodeid, attempt, -1, 0);
}

void fh_attempt_end(const char *nodeid, int attempt, int outcome)
{
	mark(FHT_MARK_ATTEMPT_END, nodeid, attempt, -1, outcome);
}

void fh_phase_begin(int phase)
{
	mark(FHT_MARK_PHASE_BEGIN, NULL, -1, phase, 0);
}

void fh_phase_end(int phase, int failed)
{
	mark(FHT_MARK_PHASE_END, NULL, -1, phase, failed);
}

/* The CPU profiler (profile.c): on (1) with a sample every interval_us of each thread's CPU
 * (<= 0: the default, 10 ms), or off (0). The threads armed, or -errno (-ENOTCONN when this
 * process is not tracing, FH_TRACE=0 included; -ENOTSUP where it cannot run safely, -EAGAIN
 * without a free signal). fh_profile_status(): one line saying which. */
FH_EXPORT int fh_profile(int on, int interval_us);
FH_EXPORT const char *fh_profile_status(void);

int fh_profile(int on, int interval_us)
{
	int saved = errno, r;
	if (!fh_on || fh_disabled)
		r = -ENOTCONN;
	else if (on)
		r = fh_profile_start(interval_us > 0 ? (int64_t)interval_us * 1000 : 10000000);
	else
		r = fh_profile_stop();
	errno = saved;
	return r;
}

const char *fh_profile_status(void)
{
	return fh_profile_status_text();
}
