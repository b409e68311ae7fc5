/* SPDX-License-Identifier: MIT */
/*
 * The process's trace file and the threads' chunks in it, and the records written there
 * beyond a wrapper's fixed slot (strings, lazily resolved targets).
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
 *
 * After a fork the child drops the parent's mappings and makes its own file at its first event
 * (fh_after_fork_child); at exit a process that could never create its file tries once more to
 * put its losses on record (fh_fini).
 */
#include <dirent.h>
#include <fcntl.h>
#include <linux/limits.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>

#include "fhtrace_int.h"

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

#define FH_SEG_BYTES (64ULL << 20)
#define FH_MAX_SEGS 256                     /* 16 GiB of trace per process */
#define FH_RESIDENT_BYTES (2ULL << 20)      /* file tail kept mapped in (see release_old) */
#define FH_RETRY_FIRST 256u                 /* drops before a stopped thread tries again ... */
#define FH_RETRY_MAX 65536u                 /* ... doubling up to this */
#define FH_RESERVE_BYTES (64ULL << 10)      /* the fd-free reserve chunk (see claim_reserve) */

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
/* Offset of a claimed, fallocated and mapped range of FH_RESERVE_BYTES no chunk uses yet; 0
 * when there is none, 1 while a thread is making one. */
static uint64_t fh_spare_off;

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
		o = fh_cat(fh_pf_path, sizeof(fh_pf_path), o, "/");
		fh_fmt_long(num, sizeof(num), fh_pid);
		o = fh_cat(fh_pf_path, sizeof(fh_pf_path), o, num);
		if (n) {
			o = fh_cat(fh_pf_path, sizeof(fh_pf_path), o, "-");
			fh_fmt_long(num, sizeof(num), n);
			o = fh_cat(fh_pf_path, sizeof(fh_pf_path), o, num);
		}
		fh_cat(fh_pf_path, sizeof(fh_pf_path), o, ".fht");
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
	/* What takes a system call comes before the header is filled: a process killed in between
	 * leaves a file without its magic, which the reader reports as set up and empty. */
	uint64_t min_free = fh_disk_floor_of(fh_dir);
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
	h->min_free = min_free;
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

/*
 * The fd-free reserve. A claim needs an fd for fallocate (the library holds none), and none is
 * opened while the program is within FH_FD_HEADROOM fds of its limit. That is the moment a
 * program leaking sockets or files fails, and the moment its trace matters most: without a
 * reserve the thread whose chunk filled up then lost every event up to the end of the attempt
 * (the EMFILE included). So a claim that has its fd open also prepares, once, a range of
 * FH_RESERVE_BYTES (claimed from next_off, fallocated and mapped); a claim that cannot open an
 * fd for want of fds takes that range as its chunk instead. It is made by threads claiming
 * their second or later chunk only (threads that write a lot), so that the many short-lived
 * processes and threads of a suite do not each cost 64 KiB of disk. Until a chunk takes it the
 * range is a hole of zeros, which readers step over as they do the holes at segment ends.
 */
static void refill_reserve(long fd)
{
	uint64_t zero = 0;
	if (!__atomic_compare_exchange_n(&fh_spare_off, &zero, 1, false, __ATOMIC_ACQ_REL,
					 __ATOMIC_RELAXED))
		return;    /* there is one, or another thread is making it */
	uint64_t len = FH_RESERVE_BYTES, off, want;
	off = __atomic_load_n(&fh_ph->next_off, __ATOMIC_RELAXED);
	do {
		want = off;
		if (want / FH_SEG_BYTES != (want + len - 1) / FH_SEG_BYTES)
			want = (want / FH_SEG_BYTES + 1) * FH_SEG_BYTES;
		if (want / FH_SEG_BYTES >= FH_MAX_SEGS) {
			__atomic_store_n(&fh_spare_off, 0, __ATOMIC_RELEASE);
			return;
		}
	} while (!__atomic_compare_exchange_n(&fh_ph->next_off, &off, want + len, true,
					      __ATOMIC_RELAXED, __ATOMIC_RELAXED));
	uint64_t got = 0;
	if (!fh_may_grow(fd, NULL, want + len, len) &&
	    !syscall(SYS_fallocate, fd, 0, (long)want, (long)len) &&
	    map_segment(fd, (unsigned)(want / FH_SEG_BYTES)))
		got = want;
	else {
		uint64_t mine = want + len;   /* give it back if nobody claimed after it */
		__atomic_compare_exchange_n(&fh_ph->next_off, &mine, off, false, __ATOMIC_RELAXED,
					    __ATOMIC_RELAXED);
	}
	__atomic_store_n(&fh_spare_off, got, __ATOMIC_RELEASE);
}

/* Takes the reserve (its offset, or 0 when there is none to take). */
static uint64_t take_reserve(void)
{
	uint64_t r = __atomic_load_n(&fh_spare_off, __ATOMIC_ACQUIRE);
	while (r > 1 && !__atomic_compare_exchange_n(&fh_spare_off, &r, 0, true, __ATOMIC_ACQ_REL,
						     __ATOMIC_ACQUIRE))
		;
	return r > 1 ? r : 0;
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
		if (!reason) {
			release_old();
			if (bulk)
				refill_reserve(fd);
		}
		syscall(SYS_close, fd);
	}
	if (reason) {
		/* Give the range back unless another thread claimed after it, so that a process
		 * stopped at a limit does not push next_off further at every try. */
		uint64_t mine = off + len;
		__atomic_compare_exchange_n(&fh_ph->next_off, &mine, before, false, __ATOMIC_RELAXED,
					    __ATOMIC_RELAXED);
		if (reason != FHT_DROP_NO_FD || !(off = take_reserve()))
			return reason;
		/* The reserve instead: its pages fault in one at a time, as a first chunk's do. */
		len = FH_RESERVE_BYTES;
		if (fh_cap_recs - t->used >= len / FHT_REC_SIZE - 1)
			nslots = len / FHT_REC_SIZE - 1;
		else if (nslots < len / FHT_REC_SIZE - 1)
			len = (nslots + 1) * FHT_REC_SIZE;   /* under the thread's cap: the rest a hole */
		bulk = false;
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
	if (t->creator > 0 && t->creator_gen == fh_fork_gen) {
		c->creator = (uint32_t)t->creator;
		c->born_ns = (uint64_t)t->born_ns;
	}
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
	t->epoch++;
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
	if (ok && !retry) {
		fh_res_thread_setup(t);
		fh_profile_thread_setup(t);
	}
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
			size_t o = fh_cat(buf, sizeof(buf), 0, "local ");
			n = o + fh_fmt_sockaddr(buf + o, sizeof(buf) - o, (struct sockaddr *)&ss, sl);
		}
	} else if (errno == ENOTSOCK) {
		char p[40];
		size_t o = fh_cat(p, sizeof(p), 0, "/proc/self/fd/");
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

/* fh_start's eager set-up of the calling thread (and so of the process file), to report a
 * failure: 0, or -errno when tracing cannot go on (tracing is off again then). */
int fh_pf_setup_eager(struct fh_thr *t)
{
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
	return 0;
}

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
	fh_spare_off = 0;
	memset(fh_early_drops, 0, sizeof(fh_early_drops));   /* the parent's, counted there */
	fh_hang_after_fork();
	fh_profile_after_fork();
	t->state = THR_NEW;
	t->cur = NULL;
	__atomic_add_fetch(&fh_fork_gen, 1, __ATOMIC_RELAXED);
	__atomic_add_fetch(&fh_attempt_gen, 1, __ATOMIC_RELAXED);   /* its own first reads */
}

/* At exit (not reached on _exit or a fatal signal): a process with a trace file records what
 * it used in its life (resources.c); one that lost events before it could create its file (the
 * fd table was full, a limit or the disk floor was in the way all along) tries once more, so
 * that the loss is on record; the fd headroom no longer matters then. */
__attribute__((destructor)) static void fh_fini(void)
{
	bool created = false, any = false;
	if (!fh_on || fh_raw_getpid() != fh_pid)
		return;
	if (__atomic_load_n(&fh_pf_state, __ATOMIC_ACQUIRE) == PF_READY) {
		/* What the process used in its life, for the attempt that started it. */
		int saved = errno;
		fh_res_process_exit();
		errno = saved;
		return;
	}
	for (unsigned r = 0; r < FHT_DROP_NREASONS; r++)
		any |= __atomic_load_n(&fh_early_drops[r], __ATOMIC_RELAXED) != 0;
	if (!any)
		return;
	int saved = errno;
	fh_exiting = true;
	process_file(&created, true);
	errno = saved;
}
