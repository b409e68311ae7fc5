/* SPDX-License-Identifier: MIT */
/*
 * Internal interface of libfhtrace.so, shared by its .c files (nothing here is exported).
 *
 * Per-thread state lives in initial-exec TLS (struct fh_thr). A wrapper does:
 *
 *     struct fh_call c;
 *     if (!fh_begin(&c, FH_ID_x, fd)) return real(args);       pass-through
 *     ... fill c.rec (timeout, arg, target) ...
 *     ret = real(args); saved = errno;
 *     fh_end(&c, ret, conv, saved); ... post ...; errno = saved; return ret;
 *
 * fh_begin() reserves a record slot in the thread's chunk of the process file with one add
 * that is atomic against signal handlers (so a handler nesting inside a wrapper gets its own
 * slot) and writes the entry half;
 * fh_end() writes the exit half and publishes FHT_F_DONE. Everything on this path is
 * async-signal-safe: no malloc, locks or stdio; the library's own I/O uses syscall().
 */
#ifndef FHTRACE_INT_H
#define FHTRACE_INT_H

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "fhtrace_format.h"

#define FH_HIDDEN __attribute__((visibility("hidden")))
#define FH_EXPORT __attribute__((visibility("default")))
#define FH_LIKELY(x) __builtin_expect(!!(x), 1)
#define FH_UNLIKELY(x) __builtin_expect(!!(x), 0)

/* Call ids (FH_ID_<name>, FH_NCALLS) and the call table: fhtrace_calls.h. */
#define FH_NO_CALL 0xffff

/* Real functions, resolved once in the constructor (lazily before it). */
extern void *fh_real[FH_NCALLS] FH_HIDDEN;
void *fh_resolve(unsigned id) FH_HIDDEN;

/* THR_QUIET: a thread of the plugin's own (its watchdog, fh_quiet_thread): its calls are the
 * tool's, not the program's, and pass through unrecorded; only snapshots write into its stream. */
enum fh_thr_state { THR_NEW = 0, THR_ON, THR_OFF, THR_QUIET };

/* One chunk of the process file holding a run of the thread's stream (fhtrace_format.h).
 * Immutable once published in fh_thr.cur, so a wrapper interrupted by a signal handler that
 * moves the thread to a new chunk still computes its own slot from the chunk it started with. */
struct fh_chunkref {
	uintptr_t base;           /* the record of stream index i is at base + i * FHT_REC_SIZE */
	uint64_t first, end;      /* stream indices [first, end) */
	struct fht_chunk *hdr;    /* the chunk's header slot in the file */
};
#define FH_CHUNK_RING 64          /* chunks a thread remembers (older ones stay in the file) */

struct fh_thr {
	const struct fh_chunkref *cur; /* the thread's newest chunk (NULL until set up) */
	uint64_t reserved;        /* next stream index; add is atomic against nested handlers */
	uint64_t used;            /* record slots claimed so far (FH_TRACE_MAX_BYTES bound) */
	unsigned nchunks;         /* chunks claimed; chunk k is chunks[k % FH_CHUNK_RING] */
	int full;                 /* a claim failed: events are dropped until a retry succeeds */
	unsigned stop_reason;     /* enum fht_drop_reason while full or THR_OFF */
	uint32_t retry_in;        /* drops left before the next try to resume */
	uint32_t retry_gap;       /* drops between tries: 256, doubling up to 65536 */
	int state;                /* enum fh_thr_state */
	int tid;
	int busy;                 /* inside the library's own setup or stack capture: its own
				   * calls pass through unrecorded */
	int busy_base;            /* in_handler when busy was set: deeper is the program's */
	int growing;              /* claiming a chunk: nested writers drop */
	unsigned cur_call;        /* call in progress (for the signal trampoline) */
	/* Where the newest wrapped call was made from: the wrapper's CFA (its caller's stack
	 * pointer) and return address. A hang snapshot unwinds a blocked thread from there too:
	 * the kernel's pc and sp lead through the wrapper, whose frame libunwind cannot always
	 * step over without the registers the kernel does not show. Two stores per call. */
	uintptr_t entry_cfa, entry_ra;
	/* Clock anchors: ns = anchor.ns + (tsc - anchor.tsc) * fh_tsc_mult >> 32. Two slots so
	 * a signal handler re-anchoring never changes the slot an interrupted read is using. */
	struct { uint64_t tsc; int64_t ns; } anchor[2];
	int ai;
	unsigned gen;             /* fh_fork_gen when this state was set up */
	unsigned epoch;           /* bumped at every set-up: stream indices start again then, so
				   * caches of slot indices (the profiler's) check it */
	int in_handler;           /* depth of program signal handlers run by the trampoline */
	/* Who created this thread and when (pthread_create's wrapper, wrap_custom.c): written
	 * into each of its chunk headers so that the analyzer can tell a test's own threads from
	 * a fixture's or an earlier test's. creator 0: unknown (the main thread, a thread
	 * created while every hand-over slot was taken, or before a fork: creator_gen differs). */
	int creator;
	unsigned creator_gen;
	int64_t born_ns;
	struct fh_chunkref chunks[FH_CHUNK_RING];
};

extern __thread struct fh_thr fh_thr FH_HIDDEN __attribute__((tls_model("initial-exec")));
extern volatile int fh_on FH_HIDDEN;      /* tracing enabled in this process */
extern unsigned fh_fork_gen FH_HIDDEN;    /* bumped in every fork child */
extern int fh_pid FH_HIDDEN;              /* this process's pid (stale in a vfork child) */
extern int64_t fh_slow_ns FH_HIDDEN;      /* calls at least this slow get their target resolved */
extern unsigned char fh_fdkind[65536] FH_HIDDEN; /* fd -> enum fht_fdkind */
/* What a set of fds a call waits on shares (a poll's array, an epoll set), fed fd by fd: the
 * first fd, the first socket, and the kind they all have (other when they differ). */
struct fh_fdset {
	int kind, first, sock;
	bool unknown;            /* one of them has kind unknown */
};
#define FH_FDSET_INIT { FHT_FD_UNKNOWN, -1, -1, false }
static inline void fh_fdset_add(struct fh_fdset *s, int fd)
{
	int k = fd < 65536 ? fh_fdkind[fd] : FHT_FD_UNKNOWN;
	if (s->first < 0)
		s->first = fd;
	if (s->sock < 0 && k == FHT_FD_SOCKET)
		s->sock = fd;
	s->unknown |= k == FHT_FD_UNKNOWN;
	s->kind = s->kind == FHT_FD_UNKNOWN || s->kind == k ? k : FHT_FD_OTHER;
}
/* The kind the whole set shares: unknown when any fd's kind is. */
static inline int fh_fdset_kind(const struct fh_fdset *s)
{
	return s->unknown ? FHT_FD_UNKNOWN : s->kind;
}
/* What epoll set ep holds (epollset.c, kept from epoll_ctl): the kind its fds share (unknown
 * when one is), the fd that names it and how many it holds; -1 when it is not known. */
int fh_epset_name(int ep, int *name, int64_t *count) FH_HIDDEN;

struct fh_call {
	struct fht_rec *rec;
	struct fh_thr *t;
	uint64_t idx;
	unsigned prev;
};

/* Slow paths of fh_begin (procfile.c): set up the thread (the process file, its first chunk);
 * a slot past the thread's newest chunk (claims the next chunk, or counts a drop). A thread
 * that cannot record (THR_OFF, or full) counts every event it loses by reason, and tries again
 * now and then (fhtrace_format.h, enum fht_drop_reason). */
bool fh_thr_setup(struct fh_thr *t) FH_HIDDEN;
/* Counts one event lost while t was busy (FHT_DROP_BUSY). */
void fh_busy_drop(struct fh_thr *t) FH_HIDDEN;
struct fht_rec *fh_reserve_slow(struct fh_thr *t, uint64_t idx, uint64_t *idxp) FH_HIDDEN;
/* The record of stream index idx when it is in one of the chunks the thread remembers and was
 * reserved; NULL otherwise. Not for the hot path. */
struct fht_rec *fh_rec_at(struct fh_thr *t, uint64_t idx) FH_HIDDEN;

static inline int64_t fh_clock_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/*
 * Event time stamps. clock_gettime(CLOCK_MONOTONIC) costs ~50 ns in these VMs, the TSC ~18 ns,
 * so wrappers read the TSC and convert it with a per-thread anchor (a recent clock_gettime
 * paired with the TSC) and a process-wide rate calibrated against CLOCK_MONOTONIC. A thread
 * re-anchors every fh_reanchor_ticks (~20 ms), which bounds the error to well under a
 * microsecond; until the rate is known (the first 10 ms of a process) clock_gettime is used.
 */
extern uint64_t fh_tsc_mult FH_HIDDEN;        /* ns per tick << 32; 0 = not calibrated */
extern uint64_t fh_reanchor_ticks FH_HIDDEN;
int64_t fh_reanchor(struct fh_thr *t) FH_HIDDEN;

#if defined(__x86_64__)
#include <x86intrin.h>
static inline int64_t fh_now_t(struct fh_thr *t)
{
	uint64_t mult = fh_tsc_mult;
	int i = t->ai;
	uint64_t d = __rdtsc() - t->anchor[i].tsc;
	if (FH_UNLIKELY(!mult || d > fh_reanchor_ticks))
		return fh_reanchor(t);
	return t->anchor[i].ns + (int64_t)(((unsigned __int128)d * mult) >> 32);
}
#else
static inline int64_t fh_now_t(struct fh_thr *t)
{
	(void)t;
	return fh_clock_ns();
}
#endif

static inline int64_t fh_now(void)
{
	return fh_clock_ns();
}

/*
 * Only the owning thread (and its nested signal handlers) touch its counters, so a
 * read-modify-write needs to be atomic against signals, not other CPUs: one instruction
 * without the lock prefix is (signals arrive between instructions), and costs ~1 ns, not ~8.
 */
static inline uint64_t fh_signal_xadd(uint64_t *p, uint64_t v)
{
#if defined(__x86_64__)
	__asm__ volatile("xaddq %0, %1" : "+r"(v), "+m"(*p) : : "memory");
	return v;
#else
	return __atomic_fetch_add(p, v, __ATOMIC_RELAXED);
#endif
}

/* Reserves a slot; NULL when the thread cannot record (counted as dropped). The chunk is read
 * before the index is taken: a nested handler may publish a newer chunk in between, and then
 * the index is past this chunk's end and the slow path sorts it out. */
static inline __attribute__((always_inline)) struct fht_rec *fh_reserve(struct fh_thr *t, uint64_t *idxp)
{
	const struct fh_chunkref *d = t->cur;
	uint64_t idx = fh_signal_xadd(&t->reserved, 1);
	if (FH_UNLIKELY(idx >= d->end))
		return fh_reserve_slow(t, idx, idxp);
	*idxp = idx;
	return (struct fht_rec *)(d->base + idx * FHT_REC_SIZE);
}

static inline __attribute__((always_inline)) struct fh_thr *fh_thread(void)
{
	struct fh_thr *t = &fh_thr;
	if (FH_UNLIKELY(!fh_on))
		return NULL;
	if (FH_UNLIKELY(t->state != THR_ON || t->gen != fh_fork_gen || t->busy)) {
		if (t->busy) {
			/* a signal handler of the program ran meanwhile: its call is lost */
			if (t->in_handler > t->busy_base)
				fh_busy_drop(t);
			return NULL;
		}
		if (!fh_thr_setup(t))
			return NULL;
	}
	return t;
}

static inline __attribute__((always_inline)) bool fh_begin(struct fh_call *c, unsigned id, int fd)
{
	struct fh_thr *t = fh_thread();
	if (!t)
		return false;
	struct fht_rec *r = fh_reserve(t, &c->idx);
	if (!r)
		return false;
	r->call = (uint16_t)id;
	r->fd = fd;
	r->flags = (fd >= 0 && fd < 65536) ? (uint8_t)(fh_fdkind[fd] << FHT_F_FDKIND_SHIFT) : 0;
	r->start_ns = fh_now_t(t);
	__atomic_store_n(&r->type, FHT_REC_CALL, __ATOMIC_RELEASE);
	c->rec = r;
	c->t = t;
	c->prev = t->cur_call;
	t->cur_call = id;
	t->entry_cfa = (uintptr_t)__builtin_dwarf_cfa();
	t->entry_ra = (uintptr_t)__builtin_return_address(0);
	return true;
}

/* procfile.c: the lazy target of a slow or failed call (its fd's peer or path). */
void fh_end_slow(struct fh_call *c) FH_HIDDEN;

/* Stacks (stackrec.c): captured at the exit of calls at least fh_stack_ns long (INT64_MAX when
 * off) or interrupted by a signal; fh_stacks_start() sets up capture and the module map. */
extern int64_t fh_stack_ns FH_HIDDEN;
void fh_stack_record(struct fh_call *c) FH_HIDDEN;
void fh_stacks_start(const char *dir) FH_HIDDEN;
/* Writes a stack (native pcs, then Python frames) as FHT_REC_STACK records owned by slot
 * `owner` of t's stream; the slot of its first record, 0 when nothing could be written. Not in
 * signal context. */
struct fh_pyframe;
uint32_t fh_stack_write(struct fh_thr *t, uint32_t owner, const uint64_t *pcs, int npcs,
			const struct fh_pyframe *py, int npy) FH_HIDDEN;
/* The pieces of a stack record both writers of Python frames share (stackrec.c; the
 * profiler's samples use them too): a record reserved with its header set and its payload
 * zeroed, not yet published (NULL when the stream is full); and a PYSTR record for a frame's
 * strings ("func\0file", "..." before the tail of a cut path), published, with the text's
 * FNV-1a hash in *hash; its slot, 0 when the stream is full. */
struct fht_stack *fh_stack_reserve(struct fh_thr *t, uint64_t *idx, int kind,
				   uint32_t owner) FH_HIDDEN;
uint32_t fh_pystr_put(struct fh_thr *t, const struct fh_pyframe *f, uint32_t owner,
		      uint64_t *hash) FH_HIDDEN;
/* The hash fh_pystr_put() gives the frame, without writing anything. */
uint64_t fh_pystr_hash(const struct fh_pyframe *f) FH_HIDDEN;

/* A call that only waits (FHF_IDLE: sleeps, child waits, signal waits) is captured at entry
 * when it will wait at least the threshold (or for ever, stacks on): it will be that slow
 * anyway, so it costs the same, and a call that never returns (killed, hung) still has its
 * stack. Wrappers test the flag first, a constant, so this folds away for all other calls. */
static inline bool fh_stack_at_entry(int64_t timeout_ns)
{
	return timeout_ns < 0 ? fh_stack_ns != INT64_MAX : timeout_ns >= fh_stack_ns;
}

static inline __attribute__((always_inline)) void fh_end(struct fh_call *c, int64_t ret, int conv,
							      int saved_errno)
{
	struct fht_rec *r = c->rec;
	int64_t end = fh_now_t(c->t);
	int err = 0;
	if (FH_UNLIKELY(end < r->start_ns))
		end = r->start_ns;   /* re-anchored in between */
	switch (conv) {
	case FHT_CONV_ERRNO: if (ret == -1) err = saved_errno; break;
	case FHT_CONV_ERRNUM: err = (int)ret; break;
	case FHT_CONV_EAI: err = (int)ret; if (ret) r->arg2 = saved_errno; break;
	default: break;
	}
	r->end_ns = end;
	r->result = ret;
	r->err = err;
	c->t->cur_call = c->prev;
	if (FH_UNLIKELY(end - r->start_ns >= fh_stack_ns || err == EINTR))
		fh_stack_record(c);
	if (FH_UNLIKELY((end - r->start_ns >= fh_slow_ns || (err && err != EAGAIN)) && r->fd >= 0))
		fh_end_slow(c);
}

/* Publishes the record as complete (after post hooks). */
static inline void fh_done(struct fh_call *c)
{
	/* Nothing else changes this record's flags now (nested handlers own their records). */
	uint8_t f = __atomic_load_n(&c->rec->flags, __ATOMIC_RELAXED);
	__atomic_store_n(&c->rec->flags, f | FHT_F_DONE, __ATOMIC_RELEASE);
}

/* The end of a hand-written wrapper with nothing to do between the real call and the record's
 * publication: errno-convention result, errno kept for the program. */
static inline int fh_finish_errno(struct fh_call *c, int ret)
{
	int saved = errno;

	fh_end(c, ret, FHT_CONV_ERRNO, saved);
	fh_done(c);
	errno = saved;
	return ret;
}

/* The same for a call that makes a process or thread: its pid or tid in arg as well. */
static inline int fh_finish_spawn(struct fh_call *c, int ret)
{
	int saved = errno;

	fh_end(c, ret, FHT_CONV_ERRNO, saved);
	c->rec->arg = ret;
	fh_done(c);
	errno = saved;
	return ret;
}

/* procfile.c: appends a string owned by record `owner` (slot index) as FHT_REC_STR records. */
void fh_put_str(struct fh_thr *t, struct fht_rec *owner, uint64_t owner_idx, const char *s,
		size_t n) FH_HIDDEN;
static inline void fh_call_str(struct fh_call *c, const char *s, size_t n)
{
	fh_put_str(c->t, c->rec, c->idx, s, n);
}

/* Small async-signal-safe formatters (fmt.c); return the length written (NUL-terminated,
 * bounded). fh_cat() appends s at offset o and returns the new offset. */
size_t fh_cat(char *out, size_t cap, size_t o, const char *s) FH_HIDDEN;
size_t fh_fmt_sockaddr(char *out, size_t cap, const struct sockaddr *sa, socklen_t len) FH_HIDDEN;
size_t fh_strlcpy(char *out, size_t cap, const char *s) FH_HIDDEN;
size_t fh_fmt_long(char *out, size_t cap, long v) FH_HIDDEN;
size_t fh_strnlen(const char *s, size_t max) FH_HIDDEN;
/* Calls fn(name, dfd, arg) for each entry of directory `path` not starting with '.' (dfd: the
 * listing's own fd), read with raw getdents64 into a stack buffer: no malloc, no stdio, so
 * safe in a signal handler or the watchdog. 0, or a negative errno when it cannot be opened. */
int fh_each_dirent(const char *path, void (*fn)(const char *name, int dfd, void *arg),
		void *arg) FH_HIDDEN;
/* The number an entry's name spells (decimal digits only), or -1 when it is not one below max
 * (max <= INT32_MAX). */
long fh_parse_id(const char *s, long max) FH_HIDDEN;

/* Raw syscall that never goes through a wrapper. */
#define FH_SYS(...) syscall(__VA_ARGS__)

/* Signal trampoline state (signals.c). */
void fh_signals_init(void) FH_HIDDEN;
int fh_sigaction_impl(int sig, const struct sigaction *act, struct sigaction *old) FH_HIDDEN;

/* Hang snapshots and lock tracking (hang.c). fh_thread_register: called once per thread set-up,
 * so a snapshot can find every thread's state; fh_hang_after_fork: the child forgets the
 * parent's threads and locks. fh_sig_seen: deliveries per signal, counted by the trampoline
 * (fh_signal_count). */
void fh_thread_register(struct fh_thr *t) FH_HIDDEN;
void fh_hang_after_fork(void) FH_HIDDEN;
extern uint64_t fh_sig_seen[65] FH_HIDDEN;
/* A sem_t acquired (sem_trywait/sem_wait/... returned 0) or released (sem_post) by the calling
 * thread: the lock table keeps who holds which (hang.c). Hot path: no syscall, no lock. */
void fh_lock_acquired(const void *sem) FH_HIDDEN;
/* The thread that holds sem per the lock table, 0 unknown (a lock wait's arg2, FHF_HOLDER). */
int fh_lock_holder(const void *sem) FH_HIDDEN;

/* Resource figures (resources.c; FHT_REC_RES): after an attempt marker of slot mark_idx, the
 * marking thread's, the process's and its reaped children's figures (and the machine's while
 * fh_perf_detail is set); at set-up, a thread is given its exit hook; at exit, the process's
 * own figures. */
extern volatile int fh_perf_detail FH_HIDDEN;
void fh_res_init(void) FH_HIDDEN;
void fh_res_mark(struct fh_thr *t, uint64_t mark_idx) FH_HIDDEN;
void fh_res_thread_setup(struct fh_thr *t) FH_HIDDEN;
void fh_res_process_exit(void) FH_HIDDEN;

/* The CPU profiler (profile.c; FHT_REC_SAMPLE). fh_prof_sig: the signal it uses (0 none);
 * signals.c keeps the program's view of that signal SIG_DFL and calls fh_profile_lose() when
 * the program sets a disposition for it; the trampoline drops signals whose sigev_value is
 * fh_prof_cookie(). The rest are hooks at thread set-up and exit, fork, exec and sigwait. */
extern int fh_prof_sig FH_HIDDEN;
const void *fh_prof_cookie(void) FH_HIDDEN;
int fh_profile_start(int64_t interval_ns) FH_HIDDEN;   /* threads armed, or -errno */
int fh_profile_stop(void) FH_HIDDEN;
bool fh_profile_on(void) FH_HIDDEN;
const char *fh_profile_status_text(void) FH_HIDDEN;
void fh_profile_lose(int sig) FH_HIDDEN;
void fh_profile_thread_setup(struct fh_thr *t) FH_HIDDEN;
void fh_profile_thread_exit(void) FH_HIDDEN;
void fh_profile_quiet(void) FH_HIDDEN;
void fh_profile_after_fork(void) FH_HIDDEN;
void fh_profile_before_exec(void) FH_HIDDEN;
void fh_profile_exec_failed(void) FH_HIDDEN;
void fh_profile_from_env(const char *v) FH_HIDDEN;
void fh_profile_new_thread(void) FH_HIDDEN;  /* pthread_create returned: arm the new thread */
/* m, or a copy of it in buf without the profiler's signal (sigwait and friends never return
 * it) */
const sigset_t *fh_prof_waitset(const sigset_t *m, sigset_t *buf) FH_HIDDEN;
/* signals.c: the kernel's sigaction, bypassing the trampoline; whether the program installed a
 * handler for sig (through the wrappers). */
int fh_kernel_sigaction(int sig, const struct sigaction *act, struct sigaction *old) FH_HIDDEN;
bool fh_sig_program_owns(int sig) FH_HIDDEN;

/* Process setup (fhtrace.c): the trace directory (absolute), the per-thread record cap, and
 * the process's identity as its file's header records it. */
extern char fh_dir[PATH_MAX - 64] FH_HIDDEN;
extern uint64_t fh_cap_recs FH_HIDDEN;
extern int fh_ppid FH_HIDDEN;
extern int64_t fh_proc_start FH_HIDDEN;
extern char fh_exe[256] FH_HIDDEN;
int fh_raw_getpid(void) FH_HIDDEN;
/* The process file (procfile.c): the fork child's reset (pthread_atfork), and fh_start's eager
 * set-up of the calling thread, 0 or -errno. */
void fh_after_fork_child(void) FH_HIDDEN;
int fh_pf_setup_eager(struct fh_thr *t) FH_HIDDEN;

/*
 * The library's own files in the trace directory (procfile.c; the module map, modmap.c, uses
 * them too). Nothing the program could notice: a file is opened, used and closed within one
 * library call, never when fewer than FH_FD_HEADROOM fds are left below RLIMIT_NOFILE; never
 * grown past RLIMIT_FSIZE (that would raise SIGXFSZ in the program) nor into the last
 * FH_TRACE_MIN_FREE bytes of its filesystem.
 */
#define FH_FD_HEADROOM 16
/* limits.c. Opens path for the library (raw openat); the fd, or -1 with *reason set. */
long fh_open_own(const char *path, int flags, unsigned mode, unsigned *reason) FH_HIDDEN;
/* true when fd (the lowest free one a moment ago) is within FH_FD_HEADROOM of RLIMIT_NOFILE */
bool fh_fd_crowded(long fd) FH_HIDDEN;
/* 0 when growing a file by `grow` bytes to `end` bytes keeps under RLIMIT_FSIZE and above the
 * disk floor of its filesystem (fstatfs(fd), or statfs(path) when fd < 0); otherwise the enum
 * fht_drop_reason. */
unsigned fh_may_grow(long fd, const char *path, uint64_t end, uint64_t grow) FH_HIDDEN;
uint64_t fh_fsize_limit(void) FH_HIDDEN;             /* RLIMIT_FSIZE; UINT64_MAX: none */
unsigned fh_reason_of(int err) FH_HIDDEN;            /* the reason for a failed call's errno */
/* FH_TRACE_MIN_FREE (docs/FORMATS.md): "0" (no floor), bytes with an optional K, M, G or T
 * (binary multiples), or a percentage of the filesystem's size with up to two decimals; two
 * of them comma-separated mean the larger ("256M,2%" is the default). false, and the floor
 * unchanged, when v is not that. Call from the constructor. */
bool fh_parse_min_free(const char *v) FH_HIDDEN;
uint64_t fh_disk_floor(uint64_t fs_bytes) FH_HIDDEN; /* the floor on a filesystem that size */
uint64_t fh_disk_floor_of(const char *path) FH_HIDDEN; /* ... on path's; 0 when off/unknown */
bool fh_disk_floor_on(void) FH_HIDDEN;
/*
 * The footprint (foot.c). fh_open_precheck(): for an open that may create a file (O_CREAT
 * without O_EXCL), whether the file existed before it: FHT_OPEN_CHECKED | FHT_OPEN_CREATED
 * when it did not (the caller clears CREATED when the open fails), 0 for other opens, CREATED
 * for O_EXCL. fh_listening_add() remembers a socket put in listening state; at an attempt's end
 * fh_foot_attempt_end() writes one FHT_REC_FOOT record per such socket still open.
 * fh_attempt_gen changes at every attempt begin (and in a fork child): getenv records the first
 * read of a name per generation.
 */
int64_t fh_open_precheck(int dirfd, const char *p, int fl) FH_HIDDEN;
/* dirfd's path + "/" + p into out (p alone when absolute or dirfd is AT_FDCWD); its length */
size_t fh_at_path(char *out, size_t cap, int dirfd, const char *p) FH_HIDDEN;
void fh_listening_add(int fd, const char *addr) FH_HIDDEN;
void fh_foot_attempt_end(struct fh_thr *t, int attempt) FH_HIDDEN;
extern unsigned fh_attempt_gen FH_HIDDEN;

/* procfile.c: the module map's state in the process file's header (0: complete). */
void fh_note_map(unsigned reason) FH_HIDDEN;

#endif
