/* SPDX-License-Identifier: MIT */
/*
 * The core of libfhtrace.so: process start (constructor, FH_TRACE_DIR created when missing /
 * FH_TRACE), resolution of the real functions (the symbol version from the call table), the
 * process's one memory-mapped trace file (created at its first traced event; each thread
 * claims chunks of it, fallocate'd within the limits of limits.c, never holding an fd; what
 * cannot be written is counted by reason and the thread tries again later; old pages leave the
 * resident set), the fork-child reset, lazy target resolution for slow or failed calls, string
 * records, and the exported fh_* attempt-marker API of docs/FORMATS.md.
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
#include <sys/uio.h>
#include <sys/stat.h>

#include "fhtrace_int.h"

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

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

static char fh_dir[PATH_MAX - 64];
static int fh_disabled;          /* FH_TRACE=0 or a secure-exec process */
static uint64_t fh_cap_recs;
static int fh_ppid;
static int64_t fh_proc_start;
static char fh_exe[256];

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

/* ---- the process file and the threads' chunks ----
 *
 * One file per process (fhtrace_format.h, version 2), created at the process's first traced
 * event. It is mapped in segments of FH_SEG_BYTES, each a MAP_SHARED mapping of that file range
 * made once and kept until the process exits or execs; a segment may reach past the end of the
 * file, which is fine as long as only fallocate'd bytes are touched. A thread claims a chunk
 * with an atomic add on the header's next_off, fallocates it (an fd opened by path for the two
 * calls: the library holds no fd) and writes into it through its segment. So a new thread costs
 * no file creation and a dying one no munmap (a TLB shootdown on every CPU the process runs on).
 *
 * Limits: before the file grows, RLIMIT_FSIZE and the disk floor are checked (fh_may_grow); a
 * claim that cannot be made stops the thread with a reason, its events are counted by reason
 * (fhtrace_format.h, enum fht_drop_reason) and it tries again now and then. Resident memory:
 * pages of the file more than FH_RESIDENT_BYTES behind its end are dropped from the process's
 * page tables (release_old); the data stays in the file.
 */

#define FH_SEG_BYTES (64ULL << 20)
#define FH_MAX_SEGS 256                     /* 16 GiB of trace per process */
#define FH_RESIDENT_BYTES (2ULL << 20)      /* file tail kept mapped in (see release_old) */
#define FH_RETRY_FIRST 256u                 /* drops before a stopped thread tries again ... */
#define FH_RETRY_MAX 65536u                 /* ... doubling up to this */

enum { PF_NONE, PF_CREATING, PF_READY, PF_FAILED };
static int fh_pf_state;                     /* for this fork generation */
static unsigned fh_pf_reason;               /* why the last creation failed */
static struct fht_proc_header *fh_ph;       /* page 0 of the file, in segment 0 */
static char *fh_seg[FH_MAX_SEGS];
static char fh_pf_path[PATH_MAX];
static uint64_t fh_released;                /* file pages below this offset were released */
static uint64_t fh_early_drops[FHT_DROP_NREASONS];   /* events dropped before the file existed */
static int fh_pf_errno;                     /* errno of the last failed creation */
static bool fh_setup_quiet;                 /* fh_start's eager setup: no event to count */
static bool fh_exiting;                     /* fh_fini: the fd headroom no longer matters */

/* Counts one lost event of the process by reason: in the mapped header (exact, survives
 * SIGKILL), or in memory until the file exists. */
static void count_drop(unsigned reason)
{
	struct fht_proc_header *h = __atomic_load_n(&fh_ph, __ATOMIC_ACQUIRE);
	if (reason >= FHT_DROP_NREASONS)
		reason = FHT_DROP_IO;
	if (h) {
		__atomic_fetch_add(&h->drops[reason], 1, __ATOMIC_RELAXED);
		return;
	}
	__atomic_fetch_add(&fh_early_drops[reason], 1, __ATOMIC_RELAXED);
	/* The file may have appeared meanwhile: whoever sees both moves the counts over. */
	if ((h = __atomic_load_n(&fh_ph, __ATOMIC_ACQUIRE))) {
		uint64_t v = __atomic_exchange_n(&fh_early_drops[reason], 0, __ATOMIC_RELAXED);
		__atomic_fetch_add(&h->drops[reason], v, __ATOMIC_RELAXED);
	}
}

void fh_note_map(unsigned reason)
{
	struct fht_proc_header *h = __atomic_load_n(&fh_ph, __ATOMIC_ACQUIRE);
	if (!h)
		return;
	if (reason)
		__atomic_fetch_add(&h->map_failures, 1, __ATOMIC_RELAXED);
	__atomic_store_n(&h->map_reason, reason, __ATOMIC_RELAXED);
}

static long open_pf(unsigned *reason)
{
	return fh_open_own(fh_pf_path, O_RDWR | O_CLOEXEC | O_NOFOLLOW, 0, reason);
}

/* Maps segment k of the open file fd if nobody has; false when it cannot. */
static bool map_segment(long fd, unsigned k)
{
	if (k >= FH_MAX_SEGS)
		return false;
	if (__atomic_load_n(&fh_seg[k], __ATOMIC_ACQUIRE))
		return true;
	void *m = (void *)syscall(SYS_mmap, NULL, (size_t)FH_SEG_BYTES, PROT_READ | PROT_WRITE,
				  MAP_SHARED, fd, (long)(k * FH_SEG_BYTES));
	if (m == MAP_FAILED || (uintptr_t)m > (uintptr_t)-4096)
		return false;
	/* No readahead: a fault must not read (allocate) file pages around the one it needs. */
	syscall(SYS_madvise, m, (size_t)FH_SEG_BYTES, MADV_RANDOM);
	char *expect = NULL;
	if (!__atomic_compare_exchange_n(&fh_seg[k], &expect, (char *)m, false, __ATOMIC_ACQ_REL,
					 __ATOMIC_ACQUIRE))
		syscall(SYS_munmap, m, (size_t)FH_SEG_BYTES);   /* another thread was first */
	return true;
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

/* Creates and maps the process file; 0 or the enum fht_drop_reason why not. */
static unsigned create_process_file(void)
{
	char num[24];
	long fd = -1;
	unsigned reason = FHT_DROP_IO;
	/* Neither a file below the disk floor nor one RLIMIT_FSIZE cannot hold. */
	if ((reason = fh_may_grow(-1, fh_dir, FHT_HEADER_SIZE, FHT_HEADER_SIZE)))
		return reason;
	for (int n = 0; n < 1000 && fd < 0; n++) {
		size_t o = fh_strlcpy(fh_pf_path, sizeof(fh_pf_path) - 64, fh_dir);
		o = put(fh_pf_path, sizeof(fh_pf_path), o, "/");
		fh_fmt_long(num, sizeof(num), fh_pid);
		o = put(fh_pf_path, sizeof(fh_pf_path), o, num);
		if (n) {
			o = put(fh_pf_path, sizeof(fh_pf_path), o, "-");
			fh_fmt_long(num, sizeof(num), n);
			o = put(fh_pf_path, sizeof(fh_pf_path), o, num);
		}
		put(fh_pf_path, sizeof(fh_pf_path), o, ".fht");
		fd = syscall(SYS_openat, AT_FDCWD, fh_pf_path,
			     O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
		if (fd < 0 && errno != EEXIST) {
			fh_pf_errno = errno;
			return fh_reason_of(errno);
		}
	}
	if (fd < 0) {
		fh_pf_errno = EEXIST;
		return FHT_DROP_IO;
	}
	/* fh_open_own's fd check, after the fact: O_EXCL must see the file created by us. */
	reason = 0;
	if (!fh_exiting && fh_fd_crowded(fd))
		reason = FHT_DROP_NO_FD;
	else if (syscall(SYS_fallocate, fd, 0, 0L, (long)FHT_HEADER_SIZE))
		reason = fh_reason_of(fh_pf_errno = errno);
	else if (!map_segment(fd, 0))
		reason = FHT_DROP_NO_MEMORY;
	syscall(SYS_close, fd);
	if (reason) {
		syscall(SYS_unlinkat, AT_FDCWD, fh_pf_path, 0);
		return reason;
	}
	struct fht_proc_header *h = (struct fht_proc_header *)fh_seg[0];
	h->version = FHT_VERSION;
	h->min_version = FHT_MIN_VERSION;
	h->header_size = FHT_HEADER_SIZE;
	h->rec_size = FHT_REC_SIZE;
	h->next_off = FHT_HEADER_SIZE;
	h->thread_cap = fh_cap_recs;
	h->pid = fh_pid;
	h->ppid = fh_ppid;
	h->ncalls = FH_NCALLS;
	h->flags = FHT_H_DROPS;
	h->proc_start_ns = fh_proc_start;
	fh_strlcpy(h->exe, sizeof(h->exe), fh_exe);
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	h->mono_anchor_ns = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
	clock_gettime(CLOCK_REALTIME, &ts);
	h->real_anchor_ns = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
	h->min_free = fh_disk_floor_of(fh_dir);
	memcpy(h->magic, FHT_MAGIC2, 8);
	fh_released = FHT_HEADER_SIZE;
	__atomic_store_n(&fh_ph, h, __ATOMIC_RELEASE);
	for (unsigned r = 0; r < FHT_DROP_NREASONS; r++) {
		uint64_t v = __atomic_exchange_n(&fh_early_drops[r], 0, __ATOMIC_RELAXED);
		if (v)
			__atomic_fetch_add(&h->drops[r], v, __ATOMIC_RELAXED);
	}
	return 0;
}

/* The process file, created by the first thread that needs it: 0 when it is ready, else the
 * reason it is not. After a failure only `retry` callers (threads whose back-off ran out) try
 * to create it again, so a thread storm on a full disk does not try once per thread. */
static unsigned process_file(bool *created, bool retry)
{
	int st = __atomic_load_n(&fh_pf_state, __ATOMIC_ACQUIRE);
	if (FH_LIKELY(st == PF_READY))
		return 0;
	if (st == PF_FAILED && !retry)
		return __atomic_load_n(&fh_pf_reason, __ATOMIC_RELAXED);
	if ((st == PF_NONE || st == PF_FAILED) &&
	    __atomic_compare_exchange_n(&fh_pf_state, &st, PF_CREATING, false, __ATOMIC_ACQ_REL,
					__ATOMIC_ACQUIRE)) {
		unsigned reason = create_process_file();
		__atomic_store_n(&fh_pf_reason, reason, __ATOMIC_RELAXED);
		__atomic_store_n(&fh_pf_state, reason ? PF_FAILED : PF_READY, __ATOMIC_RELEASE);
		*created = !reason;
		return reason;
	}
	/* Another thread is creating it (a few syscalls): wait a little, never for ever. */
	for (int i = 0; i < 20000 && st == PF_CREATING; i++) {
		syscall(SYS_sched_yield);
		st = __atomic_load_n(&fh_pf_state, __ATOMIC_ACQUIRE);
	}
	if (st == PF_READY)
		return 0;
	return st == PF_FAILED ? __atomic_load_n(&fh_pf_reason, __ATOMIC_RELAXED) : FHT_DROP_BUSY;
}

/*
 * Writes zeros over a fresh chunk before it is mapped. Measured on ext4 here (64 MiB in 1 MiB
 * chunks, thread CPU per 4 KiB page): fallocate + fault the pages in through the mapping
 * 3.1 us; fallocate + pwritev of zeros + fault in 0.7 us, because the write path fills the page
 * cache in large folios and the faults then only map pages that are there. That is ~40 ns less
 * per 64-byte record. fallocate stays: it reports a full disk before anything is touched.
 */
static bool zero_fill(long fd, uint64_t off, uint64_t len)
{
	static char zeros[64 << 10];      /* .bss: never written, no bytes in the file */
	struct iovec iov[16];
	while (len) {
		int n = 0;
		uint64_t want = 0;
		for (; n < 16 && want < len; n++) {
			iov[n].iov_base = (void *)zeros;
			iov[n].iov_len = len - want < sizeof(zeros) ? (size_t)(len - want) : sizeof(zeros);
			want += iov[n].iov_len;
		}
		long k = syscall(SYS_pwritev, fd, iov, n, (unsigned long)off, 0UL);
		if (k <= 0)
			return false;
		off += (uint64_t)k;
		len -= (uint64_t)k;
	}
	return true;
}

/*
 * Resident memory. Every page of the file a thread wrote stays mapped into the process, so it
 * counts in its RSS (and in what an OOM killer weighs) although the data is safe in the file
 * (the page cache) already. Once the file has grown FH_RESIDENT_BYTES past the last release,
 * the claiming thread drops the mappings of everything but the last FH_RESIDENT_BYTES with
 * MADV_DONTNEED: on a MAP_SHARED file mapping that only unmaps (dirty pages stay dirty in the
 * page cache and are written back as usual; SIGKILL loses nothing), and a page touched again
 * (a long-lived thread's older chunk, a record completed late) simply faults back in; the
 * kernel writes the dirty pages back as it does for any file (unmapped, they are subject to
 * the usual and the cgroup's dirty throttling and, once clean, to reclaim). Measured here
 * (1,000,000 writes, 61 MiB of trace): peak RSS 64 MB without this, 9.4 MB with a 4 MiB tail,
 * 5.4 MB with 2 MiB, at ~1 ns per record (one madvise per 2 MiB, i.e. per 32768 records).
 * Starting the write-back here too (sync_file_range) left the pages clean but cost ~10 ns per
 * record, in bursts of ~0.3 ms inside a traced call: on ext4 the blocks are allocated at
 * write-back, and that work would run in the program's thread instead of the kernel's
 * flusher. MADV_COLD left the RSS at 64 MB (pages stay mapped until memory is short);
 * MADV_PAGEOUT gave 5.4 MB but cost more per release and left the pages dirty all the same.
 */
static void release_old(void)
{
	uint64_t next = __atomic_load_n(&fh_ph->next_off, __ATOMIC_RELAXED);
	uint64_t rel = __atomic_load_n(&fh_released, __ATOMIC_RELAXED);
	if (next < rel + 2 * FH_RESIDENT_BYTES)
		return;
	uint64_t upto = (next - FH_RESIDENT_BYTES) & ~(uint64_t)(FHT_CHUNK_ALIGN - 1);
	if (!__atomic_compare_exchange_n(&fh_released, &rel, upto, false, __ATOMIC_RELAXED,
					 __ATOMIC_RELAXED))
		return;   /* another thread is doing it */
	for (uint64_t off = rel; off < upto;) {
		unsigned k = (unsigned)(off / FH_SEG_BYTES);
		uint64_t end = (uint64_t)(k + 1) * FH_SEG_BYTES;
		char *seg = k < FH_MAX_SEGS ? __atomic_load_n(&fh_seg[k], __ATOMIC_ACQUIRE) : NULL;
		if (end > upto)
			end = upto;
		if (seg)
			syscall(SYS_madvise, seg + off % FH_SEG_BYTES, (size_t)(end - off), MADV_DONTNEED);
		off = end;
	}
}

/* Claims a chunk of nslots records for stream indices from `first` and makes it the thread's
 * newest; 0, or the enum fht_drop_reason why not. Runs with t->growing set (nested handlers
 * drop instead of recursing). */
static unsigned claim_chunk(struct fh_thr *t, uint64_t first, uint64_t nslots)
{
	if (t->used >= fh_cap_recs)
		return FHT_DROP_THREAD_CAP;
	if (nslots > fh_cap_recs - t->used) {  /* the last chunk under the bound: whole pages */
		nslots = ((fh_cap_recs - t->used + 1) / (FHT_CHUNK_ALIGN / FHT_REC_SIZE)) *
			(FHT_CHUNK_ALIGN / FHT_REC_SIZE);
		if (nslots < FHT_CHUNK_ALIGN / FHT_REC_SIZE)
			return FHT_DROP_THREAD_CAP;
		nslots--;
	}
	uint64_t len = (nslots + 1) * FHT_REC_SIZE, off, want, before;
	unsigned reason = 0;
	/* A chunk never straddles two segments: skip to the next one (a hole readers step over). */
	off = __atomic_load_n(&fh_ph->next_off, __ATOMIC_RELAXED);
	do {
		want = off;
		if (want / FH_SEG_BYTES != (want + len - 1) / FH_SEG_BYTES)
			want = (want / FH_SEG_BYTES + 1) * FH_SEG_BYTES;
		if (want / FH_SEG_BYTES >= FH_MAX_SEGS)
			return FHT_DROP_FILE_CAP;
	} while (!__atomic_compare_exchange_n(&fh_ph->next_off, &off, want + len, true,
					      __ATOMIC_RELAXED, __ATOMIC_RELAXED));
	before = off;
	off = want;
	/* A thread's first chunk is left to fault in page by page: most threads are short and
	 * touch one of its four pages. Later chunks are for threads that write a lot. */
	bool bulk = first > 0;
	long fd = open_pf(&reason);
	if (fd >= 0) {
		/* RLIMIT_FSIZE and the disk floor, on the range really claimed */
		if (!(reason = fh_may_grow(fd, NULL, off + len, len))) {
			if (syscall(SYS_fallocate, fd, 0, (long)off, (long)len) ||
			    (bulk && !zero_fill(fd, off, len)))
				reason = fh_reason_of(errno);
			else if (!map_segment(fd, (unsigned)(off / FH_SEG_BYTES)))
				reason = FHT_DROP_NO_MEMORY;
		}
		if (!reason)
			release_old();
		syscall(SYS_close, fd);
	}
	if (reason) {
		/* Give the range back unless another thread claimed after it, so that a process
		 * stopped at a limit does not push next_off further at every try. */
		uint64_t mine = off + len;
		__atomic_compare_exchange_n(&fh_ph->next_off, &mine, before, false, __ATOMIC_RELAXED,
					    __ATOMIC_RELAXED);
		return reason;
	}
	char *p = fh_seg[off / FH_SEG_BYTES] + off % FH_SEG_BYTES;
	/* Fault the chunk in now rather than one page at a time on the hot path. */
	if (bulk)
		syscall(SYS_madvise, p, (size_t)len, MADV_POPULATE_WRITE);
	struct fht_chunk *c = (struct fht_chunk *)p;
	c->magic = FHT_CHUNK_MAGIC;
	c->self_off = off;
	c->tid = t->tid;
	c->seq = t->nchunks;
	c->first = first;
	c->nslots = nslots;
	__atomic_store_n(&c->type, FHT_REC_CHUNK, __ATOMIC_RELEASE);
	struct fh_chunkref *d = &t->chunks[t->nchunks++ % FH_CHUNK_RING];
	d->base = (uintptr_t)(p + FHT_REC_SIZE) - first * FHT_REC_SIZE;
	d->first = first;
	d->end = first + nslots;
	d->hdr = c;
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	t->cur = d;
	t->used += nslots;
	return 0;
}

/* The thread stops recording (reason): its events are dropped and counted until a retry. */
static void thread_stop(struct fh_thr *t, unsigned reason)
{
	t->full = 1;
	t->stop_reason = reason;
	if (t->retry_gap < FH_RETRY_FIRST)
		t->retry_gap = FH_RETRY_FIRST;
	t->retry_in = t->retry_gap;
	if (t->cur) {
		__atomic_store_n(&t->cur->hdr->reason, reason, __ATOMIC_RELAXED);
		__atomic_or_fetch(&t->cur->hdr->flags, FHT_C_FULL, __ATOMIC_RELAXED);
	}
	struct fht_proc_header *h = __atomic_load_n(&fh_ph, __ATOMIC_ACQUIRE);
	if (h && !(h->flags & FHT_H_FULL))
		__atomic_or_fetch(&h->flags, FHT_H_FULL, __ATOMIC_RELAXED);
}

/* A stopped thread's countdown to its next try; false while it runs. Caps are for good. */
static bool retry_due(struct fh_thr *t)
{
	if (t->stop_reason == FHT_DROP_THREAD_CAP || t->stop_reason == FHT_DROP_FILE_CAP)
		return false;
	if (t->retry_in > 1) {
		t->retry_in--;
		return false;
	}
	t->retry_gap = t->retry_gap >= FH_RETRY_MAX / 2 ? FH_RETRY_MAX : 2 * t->retry_gap;
	t->retry_in = t->retry_gap;
	return true;
}

/* One event of t not written (reason): counted in its chunk and in the process header. */
static void thread_drop(struct fh_thr *t, unsigned reason)
{
	if (t->cur) {
		struct fht_chunk *c = t->cur->hdr;
		__atomic_fetch_add(&c->dropped, 1, __ATOMIC_RELAXED);
		if (__atomic_load_n(&c->reason, __ATOMIC_RELAXED) != reason)
			__atomic_store_n(&c->reason, reason, __ATOMIC_RELAXED);
	}
	count_drop(reason);
}

void fh_busy_drop(struct fh_thr *t)
{
	thread_drop(t, FHT_DROP_BUSY);
}

bool fh_thr_setup(struct fh_thr *t)
{
	int saved = errno;
	bool ok = false, created = false, retry = false;
	unsigned reason;
	if (t->gen == fh_fork_gen && t->state == THR_QUIET)
		return false;
	if (t->gen == fh_fork_gen && t->state != THR_NEW) {
		if (t->state == THR_ON)
			return true;
		/* THR_OFF: this event is lost; now and then the setup is tried again. */
		if (!retry_due(t)) {
			count_drop(t->stop_reason);
			return false;
		}
		retry = true;
	}
	/* A vfork child runs on its parent's memory: it must not create or claim anything. */
	if (fh_raw_getpid() != fh_pid)
		return false;
	if (!retry) {
		t->retry_gap = 0;
		t->stop_reason = 0;
	}
	t->busy_base = t->in_handler;
	t->busy = 1;
	t->state = THR_NEW;
	t->cur = NULL;
	t->reserved = 0;
	t->used = 0;
	t->nchunks = 0;
	t->full = 0;
	t->growing = 0;
	t->gen = fh_fork_gen;
	t->tid = (int)syscall(SYS_gettid);
	t->cur_call = FH_NO_CALL;
	fh_thread_register(t);
	if ((reason = process_file(&created, retry)))
		goto out;
	t->growing = 1;
	reason = claim_chunk(t, 0, FHT_FIRST_SLOTS);
	t->growing = 0;
	if (reason)
		goto out;
	ok = true;
	fh_reanchor(t);
	if (created)
		write_proc_record(t);
out:
	if (!ok) {
		thread_stop(t, reason);
		if (!fh_setup_quiet)
			count_drop(reason);     /* the event that asked for the setup */
	} else {
		t->retry_gap = 0;
	}
	t->state = ok ? THR_ON : THR_OFF;
	t->busy = 0;
	errno = saved;
	return ok;
}

struct fht_rec *fh_reserve_slow(struct fh_thr *t, uint64_t idx, uint64_t *idxp)
{
	const struct fh_chunkref *d = t->cur;
	unsigned reason = FHT_DROP_BUSY;
	if (idx >= d->first && idx < d->end)     /* a nested handler moved to a new chunk */
		goto got;
	if (idx < d->first || t->growing)
		goto drop;
	if (t->full) {
		reason = t->stop_reason;
		if (!retry_due(t))
			goto drop;
	}
	int saved = errno;
	t->growing = 1;
	uint64_t last = d->end - d->first;
	uint64_t n = last >= FHT_CHUNK_MAX_SLOTS ? FHT_CHUNK_MAX_SLOTS : 2 * last + 1;
	reason = claim_chunk(t, idx, n);
	if (reason) {
		thread_stop(t, reason);
	} else {
		t->full = 0;        /* resumed: the new chunk follows the dropped events */
		t->retry_gap = 0;
	}
	t->growing = 0;
	errno = saved;
	if (reason)
		goto drop;
	d = t->cur;
got:
	*idxp = idx;
	return (struct fht_rec *)(d->base + idx * FHT_REC_SIZE);
drop:
	thread_drop(t, reason);
	/* Give the index back when nothing was reserved after it (a nested handler that ran
	 * meanwhile gave its own back first), so a stopped thread leaves no gap in its stream. */
	uint64_t expect = idx + 1;
	__atomic_compare_exchange_n(&t->reserved, &expect, idx, false, __ATOMIC_RELAXED,
				    __ATOMIC_RELAXED);
	return NULL;
}

struct fht_rec *fh_rec_at(struct fh_thr *t, uint64_t idx)
{
	if (!t->cur || idx >= __atomic_load_n(&t->reserved, __ATOMIC_RELAXED))
		return NULL;
	unsigned n = t->nchunks < FH_CHUNK_RING ? t->nchunks : FH_CHUNK_RING;
	for (unsigned k = 0; k < n; k++) {
		const struct fh_chunkref *d = &t->chunks[(t->nchunks - 1 - k) % FH_CHUNK_RING];
		if (idx >= d->first && idx < d->end)
			return (struct fht_rec *)(d->base + idx * FHT_REC_SIZE);
		if (idx >= d->end)
			return NULL;   /* a gap between chunks (dropped indices) */
	}
	return NULL;
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
	/* Stale pointers into the parent's file (a wrapper the fork interrupted) now hit private
	 * zero pages; the child gets its own file at its first event. */
	for (unsigned k = 0; k < FH_MAX_SEGS; k++) {
		if (!fh_seg[k])
			continue;
		syscall(SYS_mmap, fh_seg[k], (size_t)FH_SEG_BYTES, PROT_READ | PROT_WRITE,
			MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | MAP_NORESERVE, -1L, 0L);
		fh_seg[k] = NULL;
	}
	fh_ph = NULL;
	fh_pf_state = PF_NONE;
	fh_pf_reason = 0;
	fh_released = 0;
	memset(fh_early_drops, 0, sizeof(fh_early_drops));   /* the parent's, counted there */
	fh_hang_after_fork();
	t->state = THR_NEW;
	t->cur = NULL;
	__atomic_add_fetch(&fh_fork_gen, 1, __ATOMIC_RELAXED);
	__atomic_add_fetch(&fh_attempt_gen, 1, __ATOMIC_RELAXED);   /* its own first reads */
}

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
	size_t o = put(line, sizeof(line), 0, err == EACCES || err == EROFS || err == EPERM ?
		       "libfhtrace: cannot create or write to trace dir '" :
		       "libfhtrace: cannot create trace dir '");
	o = put(line, sizeof(line), o, dir);
	o = put(line, sizeof(line), o, "': ");
	o = put(line, sizeof(line), o, strerror(err));
	o = put(line, sizeof(line), o, "; tracing off\n");
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
		fh_setup_quiet = true;
		bool ok = fh_thr_setup(t);
		fh_setup_quiet = false;
		/* A limit or a full disk may pass: tracing goes on and the events lost meanwhile
		 * are counted. Anything else (the directory is gone, not writable) is for good. */
		if (!ok && t->stop_reason == FHT_DROP_IO) {
			fh_on = 0;
			t->state = THR_NEW;
			fh_pf_state = PF_NONE;
			return fh_pf_errno ? -fh_pf_errno : -EIO;
		}
	}
	/* The library's own calls (FH_STACK_MS is read with getenv) are not the program's. */
	int busy = t->busy, base = t->busy_base;
	t->busy_base = t->in_handler;
	t->busy = 1;
	fh_signals_init();
	fh_stacks_start(fh_dir);
	t->busy = busy;
	t->busy_base = base;
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

/* A process that lost events before it could create its file (the fd table was full, a limit
 * or the disk floor was in the way all along) tries once more at exit, so that the loss is on
 * record; the fd headroom no longer matters then. Not reached on _exit or a fatal signal. */
__attribute__((destructor)) static void fh_fini(void)
{
	bool created = false, any = false;
	if (!fh_on || __atomic_load_n(&fh_pf_state, __ATOMIC_ACQUIRE) == PF_READY ||
	    fh_raw_getpid() != fh_pid)
		return;
	for (unsigned r = 0; r < FHT_DROP_NREASONS; r++)
		any |= __atomic_load_n(&fh_early_drops[r], __ATOMIC_RELAXED) != 0;
	if (!any)
		return;
	int saved = errno;
	fh_exiting = true;
	process_file(&created, true);
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
