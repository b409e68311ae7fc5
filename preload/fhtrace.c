/* SPDX-License-Identifier: MIT */
/*
 * The core of libfhtrace.so: process start (constructor, FH_TRACE_DIR / FH_TRACE), resolution
 * of the real functions, per-thread memory-mapped trace files (created lazily on a thread's
 * first wrapped call, grown by fallocate'd chunks up to a bound, never holding an fd), the
 * fork-child reset, lazy target resolution for slow or failed calls, string records, and the
 * exported fh_* attempt-marker API of docs/FORMATS.md.
 *
 * Everything reachable from a wrapper is async-signal-safe and goes through syscall(); the
 * constructor and fh_start() may use libc freely (they run outside signal context).
 */
#include <dirent.h>
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

#include "fhtrace_int.h"

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

#define FH_API_VERSION 1
#define FH_DEFAULT_MAX_BYTES (64ULL << 20)  /* per thread file */
#define FH_FIRST_RECS 256ULL                /* 16 KiB at thread start ... */
#define FH_CHUNK_RECS 16384ULL              /* ... doubling up to 1 MiB per fallocate */

__thread struct fh_thr fh_thr __attribute__((tls_model("initial-exec")));
__thread char fh_thr_path[PATH_MAX] __attribute__((tls_model("initial-exec")));
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

static char fh_dir[PATH_MAX - 64];
static int fh_disabled;          /* FH_TRACE=0 or a secure-exec process */
static uint64_t fh_cap_recs;
static int fh_ppid;
static int64_t fh_proc_start;
static char fh_exe[256];
static int fh_main_done;         /* the process's first file (PROC record) is written */
static pthread_key_t fh_key;
static int fh_key_ok;

static const char *const fh_names[FH_NCALLS] = {
#define FH_CALL(name, ...) #name,
#define FH_CUSTOM(name, ...) #name,
#include "calls.def"
#undef FH_CALL
#undef FH_CUSTOM
};

/* ---- small async-signal-safe helpers ---- */

size_t fh_strnlen(const char *s, size_t max)
{
	size_t n = 0;
	while (n < max && s[n])
		n++;
	return n;
}

size_t fh_strlcpy(char *out, size_t cap, const char *s)
{
	size_t n = fh_strnlen(s, cap - 1);
	memcpy(out, s, n);
	out[n] = 0;
	return n;
}

size_t fh_fmt_long(char *out, size_t cap, long v)
{
	char tmp[24];
	size_t n = 0, o = 0;
	unsigned long u = v < 0 ? -(unsigned long)v : (unsigned long)v;
	do {
		tmp[n++] = (char)('0' + u % 10);
		u /= 10;
	} while (u);
	if (v < 0 && o + 1 < cap)
		out[o++] = '-';
	while (n && o + 1 < cap)
		out[o++] = tmp[--n];
	out[o] = 0;
	return o;
}

static size_t put(char *out, size_t cap, size_t o, const char *s)
{
	while (*s && o + 1 < cap)
		out[o++] = *s++;
	out[o] = 0;
	return o;
}

static size_t put_hex16(char *out, size_t cap, size_t o, unsigned v)
{
	static const char hx[] = "0123456789abcdef";
	char tmp[5];
	int n = 0;
	do {
		tmp[n++] = hx[v & 15];
		v >>= 4;
	} while (v);
	while (n && o + 1 < cap)
		out[o++] = tmp[--n];
	out[o] = 0;
	return o;
}

static size_t fmt_in6(char *out, size_t cap, size_t o, const unsigned char *a)
{
	unsigned g[8];
	int best = -1, bestlen = 0;
	for (int i = 0; i < 8; i++)
		g[i] = (unsigned)a[2 * i] << 8 | a[2 * i + 1];
	for (int i = 0; i < 8;) {
		int j = i;
		while (j < 8 && !g[j])
			j++;
		if (j - i > bestlen && j - i > 1) {
			best = i;
			bestlen = j - i;
		}
		i = j > i ? j : i + 1;
	}
	if (best == 0 && bestlen == 5 && g[5] == 0xffff) { /* v4-mapped */
		char n[8];
		o = put(out, cap, o, "::ffff:");
		for (int i = 12; i < 16; i++) {
			fh_fmt_long(n, sizeof(n), a[i]);
			o = put(out, cap, o, n);
			if (i < 15)
				o = put(out, cap, o, ".");
		}
		return o;
	}
	for (int i = 0; i < 8; i++) {
		if (i == best) {
			o = put(out, cap, o, "::");
			i += bestlen - 1;
			continue;
		}
		if (i && i != best + bestlen)
			o = put(out, cap, o, ":");
		o = put_hex16(out, cap, o, g[i]);
	}
	return o;
}

size_t fh_fmt_sockaddr(char *out, size_t cap, const struct sockaddr *sa, socklen_t len)
{
	char n[24];
	size_t o = 0;
	out[0] = 0;
	if (!sa || len < sizeof(sa_family_t))
		return 0;
	if (sa->sa_family == AF_INET && len >= sizeof(struct sockaddr_in)) {
		const struct sockaddr_in *s = (const void *)sa;
		const unsigned char *a = (const void *)&s->sin_addr;
		for (int i = 0; i < 4; i++) {
			fh_fmt_long(n, sizeof(n), a[i]);
			o = put(out, cap, o, n);
			o = put(out, cap, o, i < 3 ? "." : ":");
		}
		fh_fmt_long(n, sizeof(n), ntohs(s->sin_port));
		return put(out, cap, o, n);
	}
	if (sa->sa_family == AF_INET6 && len >= sizeof(struct sockaddr_in6)) {
		const struct sockaddr_in6 *s = (const void *)sa;
		o = put(out, cap, o, "[");
		o = fmt_in6(out, cap, o, (const unsigned char *)&s->sin6_addr);
		o = put(out, cap, o, "]:");
		fh_fmt_long(n, sizeof(n), ntohs(s->sin6_port));
		return put(out, cap, o, n);
	}
	if (sa->sa_family == AF_UNIX) {
		const struct sockaddr_un *s = (const void *)sa;
		size_t plen = len > offsetof(struct sockaddr_un, sun_path) ?
			len - offsetof(struct sockaddr_un, sun_path) : 0;
		if (plen > sizeof(s->sun_path))
			plen = sizeof(s->sun_path);
		o = put(out, cap, o, "unix:");
		if (plen && s->sun_path[0] == 0) {
			o = put(out, cap, o, "@");
			for (size_t i = 1; i < plen && o + 1 < cap; i++)
				out[o++] = s->sun_path[i] ? s->sun_path[i] : '@';
			out[o] = 0;
			return o;
		}
		for (size_t i = 0; i < plen && s->sun_path[i] && o + 1 < cap; i++)
			out[o++] = s->sun_path[i];
		out[o] = 0;
		return o;
	}
	o = put(out, cap, o, "family ");
	fh_fmt_long(n, sizeof(n), sa->sa_family);
	return put(out, cap, o, n);
}

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
	if (id >= FH_NCALLS)
		return NULL;
	if (!strncmp(fh_names[id], "pthread_cond_", 13) && strcmp(fh_names[id], "pthread_cond_clockwait"))
		p = dlvsym(RTLD_NEXT, fh_names[id], "GLIBC_2.3.2");
	if (!p)
		p = dlsym(RTLD_NEXT, fh_names[id]);
	if (p)
		__atomic_store_n(&fh_real[id], p, __ATOMIC_RELEASE);
	return p;
}

/* ---- per-thread files ---- */

static void thr_release(struct fh_thr *t)
{
	t->state = THR_DEAD;
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	if (t->hdr)
		syscall(SYS_munmap, t->hdr, t->map_len);
	t->hdr = NULL;
	t->recs = NULL;
}

static void thr_destructor(void *p)
{
	(void)p;
	thr_release(&fh_thr);
}

static uint64_t fsize_limit_recs(uint64_t want)
{
	struct rlimit rl;
	if (syscall(SYS_prlimit64, 0, RLIMIT_FSIZE, NULL, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY) {
		if (rl.rlim_cur <= FHT_HEADER_SIZE + FHT_REC_SIZE)
			return 0;
		uint64_t n = (rl.rlim_cur - FHT_HEADER_SIZE) / FHT_REC_SIZE;
		if (n < want)
			return n;
	}
	return want;
}

static int open_thread_file(struct fh_thr *t)
{
	char num[24];
	for (int n = 0; n < 1000; n++) {
		size_t o = fh_strlcpy(fh_thr_path, sizeof(fh_thr_path) - 64, fh_dir);
		o = put(fh_thr_path, sizeof(fh_thr_path), o, "/");
		fh_fmt_long(num, sizeof(num), fh_raw_getpid());
		o = put(fh_thr_path, sizeof(fh_thr_path), o, num);
		o = put(fh_thr_path, sizeof(fh_thr_path), o, "-");
		fh_fmt_long(num, sizeof(num), t->tid);
		o = put(fh_thr_path, sizeof(fh_thr_path), o, num);
		if (n) {
			o = put(fh_thr_path, sizeof(fh_thr_path), o, "-");
			fh_fmt_long(num, sizeof(num), n);
			o = put(fh_thr_path, sizeof(fh_thr_path), o, num);
		}
		put(fh_thr_path, sizeof(fh_thr_path), o, ".fht");
		long fd = syscall(SYS_openat, AT_FDCWD, fh_thr_path,
				  O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
		if (fd >= 0 || errno != EEXIST)
			return (int)fd;
	}
	return -1;
}

static void write_proc_record(struct fh_thr *t)
{
	uint64_t idx;
	struct fht_rec *r = fh_reserve(t, &idx);
	if (!r)
		return;
	r->call = FH_NO_CALL;
	r->fd = -1;
	r->start_ns = fh_proc_start;
	r->end_ns = fh_proc_start;
	r->arg = fh_pid;
	r->arg2 = fh_ppid;
	r->flags = FHT_F_DONE;
	__atomic_store_n(&r->type, FHT_REC_PROC, __ATOMIC_RELEASE);
	fh_put_str(t, r, idx, fh_exe, fh_strnlen(fh_exe, sizeof(fh_exe)));
}

bool fh_thr_setup(struct fh_thr *t)
{
	int saved = errno;
	bool ok = false;
	long fd = -1;
	if (t->state == THR_DEAD && t->gen == fh_fork_gen)
		return false;
	if (t->state == THR_OFF && t->gen == fh_fork_gen)
		return false;
	if (t->state == THR_ON && t->gen == fh_fork_gen)
		return true;
	t->busy = 1;
	t->state = THR_NEW;
	t->hdr = NULL;
	t->gen = fh_fork_gen;
	t->tid = (int)syscall(SYS_gettid);
	t->cur_call = FH_NO_CALL;
	uint64_t cap = fsize_limit_recs(fh_cap_recs);
	uint64_t alloc = cap < FH_FIRST_RECS ? cap : FH_FIRST_RECS;
	if (cap == 0)
		goto out;
	fd = open_thread_file(t);
	if (fd < 0)
		goto out;
	if (syscall(SYS_fallocate, fd, 0, 0L, (long)(FHT_HEADER_SIZE + alloc * FHT_REC_SIZE))) {
		syscall(SYS_unlinkat, AT_FDCWD, fh_thr_path, 0);
		goto out;
	}
	size_t len = FHT_HEADER_SIZE + cap * FHT_REC_SIZE;
	void *m = (void *)syscall(SYS_mmap, NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0L);
	if (m == MAP_FAILED || (uintptr_t)m > (uintptr_t)-4096) {
		syscall(SYS_unlinkat, AT_FDCWD, fh_thr_path, 0);
		goto out;
	}
	/* Fault the first chunk in now rather than one page at a time on the hot path. */
	syscall(SYS_madvise, m, (size_t)(FHT_HEADER_SIZE + alloc * FHT_REC_SIZE), MADV_POPULATE_WRITE);
	struct fht_header *h = m;
	memcpy(h->magic, FHT_MAGIC, 8);
	h->version = FHT_VERSION;
	h->min_version = FHT_MIN_VERSION;
	h->header_size = FHT_HEADER_SIZE;
	h->rec_size = FHT_REC_SIZE;
	h->capacity = cap;
	h->allocated = alloc;
	h->pid = fh_raw_getpid();
	h->ppid = fh_ppid;
	h->tid = t->tid;
	h->proc_start_ns = fh_proc_start;
	h->ncalls = FH_NCALLS;
	fh_strlcpy(h->exe, sizeof(h->exe), fh_exe);
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	h->mono_anchor_ns = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
	clock_gettime(CLOCK_REALTIME, &ts);
	h->real_anchor_ns = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
	fh_reanchor(t);
	t->hdr = h;
	t->recs = (struct fht_rec *)((char *)m + FHT_HEADER_SIZE);
	t->alloc = alloc;
	t->cap = cap;
	t->map_len = len;
	if (!__atomic_exchange_n(&fh_main_done, 1, __ATOMIC_ACQ_REL)) {
		h->flags |= FHT_H_MAIN;
		write_proc_record(t);
	}
	if (fh_key_ok)
		pthread_setspecific(fh_key, t);
	ok = true;
out:
	if (fd >= 0)
		syscall(SYS_close, fd);
	t->state = ok ? THR_ON : THR_OFF;
	t->busy = 0;
	errno = saved;
	return ok;
}

bool fh_thr_grow(struct fh_thr *t, uint64_t idx)
{
	int saved = errno;
	bool ok = false;
	if (t->growing)
		return false;
	if (idx >= t->cap) {
		if (!(t->hdr->flags & FHT_H_FULL))
			__atomic_or_fetch(&t->hdr->flags, FHT_H_FULL, __ATOMIC_RELAXED);
		return false;
	}
	t->growing = 1;
	uint64_t step = t->alloc < FH_CHUNK_RECS ? (t->alloc ? t->alloc : FH_FIRST_RECS) : FH_CHUNK_RECS;
	uint64_t want = t->alloc + step;
	if (want <= idx)
		want = (idx / step + 1) * step;
	if (want > t->cap)
		want = t->cap;
	/* The program may have lowered RLIMIT_FSIZE since: growing past it would raise SIGXFSZ. */
	uint64_t lim = fsize_limit_recs(want);
	if (lim < want)
		want = lim > t->alloc ? lim : t->alloc;
	long fd = want > t->alloc ? syscall(SYS_openat, AT_FDCWD, fh_thr_path, O_RDWR | O_CLOEXEC | O_NOFOLLOW) : -1;
	if (fd >= 0) {
		if (!syscall(SYS_fallocate, fd, 0, (long)(FHT_HEADER_SIZE + t->alloc * FHT_REC_SIZE),
			     (long)((want - t->alloc) * FHT_REC_SIZE))) {
			syscall(SYS_madvise, (char *)t->recs + t->alloc * FHT_REC_SIZE,
				(size_t)((want - t->alloc) * FHT_REC_SIZE), MADV_POPULATE_WRITE);
			t->alloc = want;
			t->hdr->allocated = want;
			ok = idx < want;
		}
		syscall(SYS_close, fd);
	}
	if (!ok) {
		t->cap = t->alloc;   /* stop trying: full disk, removed file, size limit */
		__atomic_or_fetch(&t->hdr->flags, FHT_H_FULL, __ATOMIC_RELAXED);
	}
	t->growing = 0;
	errno = saved;
	return ok;
}

void fh_put_str(struct fh_thr *t, struct fht_rec *owner, uint64_t owner_idx, const char *s, size_t n)
{
	if (!s)
		return;
	if (n > FHT_STR_MAX) {
		n = FHT_STR_MAX;
		__atomic_or_fetch(&owner->flags, FHT_F_TRUNC, __ATOMIC_RELAXED);
	}
	__atomic_or_fetch(&owner->flags, FHT_F_STR, __ATOMIC_RELAXED);
	size_t off = 0;
	do {
		uint64_t idx;
		struct fht_str *r = (struct fht_str *)fh_reserve(t, &idx);
		if (!r)
			return;
		size_t k = n - off > FHT_STR_CHUNK ? FHT_STR_CHUNK : n - off;
		memcpy(r->data, s + off, k);
		r->len = (uint8_t)k;
		r->owner = (uint32_t)owner_idx;
		off += k;
		r->last = off >= n;
		__atomic_store_n(&r->type, FHT_REC_STR, __ATOMIC_RELEASE);
	} while (off < n);
}

/* Target of an fd, resolved at exit of a slow or failed call (the fd may be gone by then). */
void fh_end_slow(struct fh_call *c)
{
	struct fht_rec *r = c->rec;
	char buf[256];
	size_t n = 0;
	int kind = FHT_FD_UNKNOWN;
	if (r->flags & FHT_F_STR)
		return;
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	if (syscall(SYS_getpeername, r->fd, &ss, &sl) == 0) {
		kind = FHT_FD_SOCKET;
		n = fh_fmt_sockaddr(buf, sizeof(buf), (struct sockaddr *)&ss, sl);
	} else if (errno == ENOTCONN) {
		kind = FHT_FD_SOCKET;
		sl = sizeof(ss);
		if (syscall(SYS_getsockname, r->fd, &ss, &sl) == 0) {
			size_t o = put(buf, sizeof(buf), 0, "local ");
			n = o + fh_fmt_sockaddr(buf + o, sizeof(buf) - o, (struct sockaddr *)&ss, sl);
		}
	} else if (errno == ENOTSOCK) {
		char p[40];
		size_t o = put(p, sizeof(p), 0, "/proc/self/fd/");
		fh_fmt_long(p + o, sizeof(p) - o, r->fd);
		long k = syscall(SYS_readlinkat, AT_FDCWD, p, buf, sizeof(buf) - 1);
		if (k > 0) {
			n = (size_t)k;
			buf[n] = 0;
			kind = buf[0] == '/' ? FHT_FD_FILE : FHT_FD_OTHER;
		}
	}
	if (kind != FHT_FD_UNKNOWN) {
		uint8_t f = r->flags & ~FHT_F_FDKIND_MASK;
		f |= (uint8_t)(kind << FHT_F_FDKIND_SHIFT) | FHT_F_RESOLVED;
		__atomic_store_n(&r->flags, f, __ATOMIC_RELAXED);
		if (r->fd < 65536)
			fh_fdkind[r->fd] = (unsigned char)kind;
	}
	if (n)
		fh_call_str(c, buf, n);
}

/* ---- process start and fork ---- */

void fh_after_fork_child(void)
{
	struct fh_thr *t = &fh_thr;
	fh_pid = fh_raw_getpid();
	fh_ppid = (int)syscall(SYS_getppid);
	fh_proc_start = fh_now();
	fh_main_done = 0;
	if (t->hdr) {
		/* Stale pointers into the parent's file now hit private zero pages. */
		syscall(SYS_mmap, t->hdr, t->map_len, PROT_READ | PROT_WRITE,
			MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1L, 0L);
		t->hdr = NULL;
	}
	t->state = THR_NEW;
	__atomic_add_fetch(&fh_fork_gen, 1, __ATOMIC_RELAXED);
	if (fh_on) {
		fh_thr_setup(t);
	}
}

static int start_tracing(const char *dir)
{
	static int once;
	struct fh_thr *t = &fh_thr;
	if (fh_disabled)
		return -ECANCELED;
	if (!dir || !*dir)
		return -EINVAL;
	if (fh_on)
		return 0;
	if (strlen(dir) >= sizeof(fh_dir))
		return -ENAMETOOLONG;
	fh_strlcpy(fh_dir, sizeof(fh_dir), dir);
	fh_pid = fh_raw_getpid();
	fh_ppid = (int)syscall(SYS_getppid);
	if (!fh_proc_start)
		fh_proc_start = fh_now();
	long k = syscall(SYS_readlinkat, AT_FDCWD, "/proc/self/exe", fh_exe, sizeof(fh_exe) - 1);
	fh_exe[k > 0 ? k : 0] = 0;
	if (!once) {
		once = 1;
		pthread_atfork(NULL, NULL, fh_after_fork_child);
		fh_key_ok = pthread_key_create(&fh_key, thr_destructor) == 0;
	}
	fh_on = 1;
	t->state = THR_NEW;
	if (!fh_thr_setup(t)) {
		int e = errno ? errno : EIO;
		fh_on = 0;
		t->state = THR_NEW;
		return -e;
	}
	fh_signals_init();
	fh_stacks_start(dir);
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
	t->busy = 0;
	v = getenv("FH_TRACE_DIR");
	if (v && *v)
		start_tracing(v);
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
	int r = start_tracing(trace_dir);
	errno = saved;
	return r;
}

int fh_active(void)
{
	return fh_on && !fh_disabled;
}

static int count_dir(const char *path)
{
	char buf[4096];
	int n = 0;
	long fd = syscall(SYS_openat, AT_FDCWD, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	for (;;) {
		long k = syscall(SYS_getdents64, fd, buf, sizeof(buf));
		if (k <= 0)
			break;
		for (long o = 0; o < k;) {
			struct dirent64 *d = (struct dirent64 *)(buf + o);
			if (d->d_name[0] != '.')
				n++;
			o += d->d_reclen;
		}
	}
	syscall(SYS_close, fd);
	return n;
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
	if (kind == FHT_MARK_ATTEMPT_BEGIN) {
		/* ~10 us of /proc reading: only where the analyzer uses it (counts at attempt start). */
		r->fd = count_dir("/proc/self/fd");
		if (r->fd > 0)
			r->fd--;   /* the directory fd count_dir itself held */
		r->err = count_dir("/proc/self/task");
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
