/* SPDX-License-Identifier: MIT */
/*
 * Hang snapshots and lock tracking.
 *
 * A hang snapshot (fh_hang_snapshot, called by the plugin when an attempt passes its time limit,
 * or when the session is interrupted) writes, into the calling thread's stream, what every other
 * thread of this process and every thread of each live child of the attempt is blocked on
 * right now: the system call (from /proc/self/task/TID/syscall), the wrapped call in progress
 * (from the thread registry below), a native stack (unwound from the stopped thread's pc and sp,
 * stacks.c), the Python frames (pystack.c), and for a thread waiting on a lock, who holds it.
 * Record layout: fhtrace_format.h, FHT_REC_SNAP.
 *
 * Why this way: the snapshot must not change what the threads do (no signal to them: a signal
 * cuts sem_wait, nanosleep and poll with EINTR even under SA_RESTART) and must not run libunwind
 * in a signal handler. A thread blocked in a system call has its user registers saved by the
 * kernel, which shows the stack pointer and the pc in /proc/self/task/TID/syscall; its stack is
 * memory of this process, so it can be unwound from another thread (every read checked, so a
 * thread that moves on meanwhile gives a short or dropped stack, never a fault; the syscall line
 * is read again after the walk, and a stack whose thread moved is dropped). Children are other
 * processes: their system call and executable are recorded; their own trace holds the call they
 * are in (and, for calls that only wait, its stack, captured at entry).
 *
 * Who holds a lock: for a pthread mutex, the mutex's owner field (glibc: the int at offset 8),
 * read when the waiter is in FUTEX_WAIT on a mutex word that says "locked, with waiters" and the
 * owner is a live thread of the process. For a POSIX semaphore (CPython's threading.Lock is one)
 * there is no owner, so the library keeps one: the lock table (locktab.h), keyed by the
 * semaphore's address, written on every successful acquire (sem_trywait, the fast path, and the
 * waits of calls.def) with the acquiring thread, the time (TSC) and the Python code position
 * (two words: code object and instruction, decoded only in a snapshot), and cleared by sem_post
 * and sem_destroy. No syscall, no lock: ~20 ns per acquire and release (bench/bench_locks.py).
 * A held entry is never pushed out by another semaphore's acquire (locktab.h says why and what
 * it costs); the holder is known or unknown, never wrong. A counting semaphore acquired by
 * several threads names one of them.
 *
 * Everything here that the hot path touches (fh_lock_acquired, the sem wrappers) is
 * async-signal-safe; the snapshot itself runs in a normal thread (the plugin's watchdog), never
 * in a signal handler, one at a time.
 */
#include <dlfcn.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <semaphore.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>

#include "chaos.h"
#include "fhtrace_int.h"
#include "locktab.h"
#include "modmap.h"
#include "pystack.h"
#include "stacks.h"

uint64_t fh_sig_seen[65];

/* ---- the lock table's feed (locktab.h) ---- */

static inline uint64_t lt_now(void)
{
#if defined(__x86_64__)
	return __rdtsc();
#else
	return (uint64_t)fh_clock_ns();
#endif
}

static inline int own_tid(void)
{
	struct fh_thr *t = &fh_thr;
	if (FH_UNLIKELY(!t->tid || t->gen != fh_fork_gen))
		return (int)syscall(SYS_gettid);   /* a thread that never set up its stream */
	return t->tid;
}

void fh_lock_acquired(const void *sem)
{
	uintptr_t code = 0, instr = 0;
	fh_pystack_current_site(&code, &instr);
	fh_lt_acquired((uint64_t)(uintptr_t)sem, own_tid(), lt_now(), code, instr);
}

/* Forgets sem's holder; returns it when it is another thread than the caller (the release
 * hands the lock over: wakes a condition's waiter, sets an event), else 0. */
static inline int lock_released(const void *sem)
{
	return fh_lt_released((uint64_t)(uintptr_t)sem, own_tid());
}

int fh_lock_holder(const void *sem)
{
	struct fh_lt_hold h;

	return fh_lt_lookup((uint64_t)(uintptr_t)sem, &h) ? h.tid : 0;
}

/* Tracked, not traced (no record per call: CPython takes and releases locks far too often for
 * that): sem_trywait and sem_destroy, exported beside the table's calls (exports.map.in), and
 * sem_post, which writes a record (calls.def, FHF_WAKE) only when it releases a semaphore that
 * another thread acquired: that thread is the one it wakes, the trace of who woke whom.
 * sem_destroy forgets the holder: CPython releases a held lock before it frees it, but C code
 * may destroy a semaphore held, and the next semaphore at that address must start with none. */
typedef int (*sem_fn)(sem_t *);
static sem_fn real_trywait, real_post, real_destroy;

static __attribute__((noinline)) sem_fn resolve_sem(const char *name, sem_fn *slot)
{
	sem_fn f = (sem_fn)dlsym(RTLD_NEXT, name);
	if (f)
		__atomic_store_n(slot, f, __ATOMIC_RELEASE);
	else
		errno = ENOSYS;
	return f;
}

/* The real function in *slot, resolved on first use; NULL (errno ENOSYS) when there is none. */
static inline sem_fn real_sem(sem_fn *slot, const char *name)
{
	sem_fn f = __atomic_load_n(slot, __ATOMIC_ACQUIRE);
	return FH_LIKELY(f) ? f : resolve_sem(name, slot);
}

FH_EXPORT int sem_trywait(sem_t *s);
int sem_trywait(sem_t *s)
{
	sem_fn f = real_sem(&real_trywait, "sem_trywait");
	if (FH_UNLIKELY(!f))
		return -1;
	int r = f(s);
	if (r == 0 && fh_on) {
		int saved = errno;
		fh_lock_acquired(s);
		errno = saved;
	}
	return r;
}

FH_EXPORT int sem_destroy(sem_t *s);
int sem_destroy(sem_t *s)
{
	sem_fn f = real_sem(&real_destroy, "sem_destroy");
	if (FH_UNLIKELY(!f))
		return -1;
	if (fh_on)
		fh_lt_forget((uint64_t)(uintptr_t)s);
	return f(s);
}

/* sem_post of a semaphore that thread `woken` holds: one record, arg = the semaphore, arg2 =
 * that thread. */
static __attribute__((noinline)) int post_traced(sem_fn f, sem_t *s, int woken)
{
	struct fh_call c;
	bool on = fh_begin(&c, FH_ID_sem_post, -1);
	if (on) {
		c.rec->timeout_ns = 0;
		c.rec->arg = (int64_t)(uintptr_t)s;
		c.rec->arg2 = woken;
	}
	int r = f(s);
	if (on)
		fh_finish_errno(&c, r);
	if (FH_UNLIKELY(fh_chaos_on))
		fh_chaos_release(s);
	return r;
}

FH_EXPORT int sem_post(sem_t *s);
int sem_post(sem_t *s)
{
	sem_fn f = real_sem(&real_post, "sem_post");
	if (FH_UNLIKELY(!f))
		return -1;
	int woken = fh_on ? lock_released(s) : 0;
	if (FH_UNLIKELY(woken))
		return post_traced(f, s, woken);
	int r = f(s);
	if (FH_UNLIKELY(fh_chaos_on))
		fh_chaos_release(s);
	return r;
}

/* ---- the thread registry ----
 * tid -> that thread's struct fh_thr (in its TLS), so a snapshot can read which wrapped call a
 * thread is in. Written at each thread's set-up; a slot of a thread that is gone is reused when
 * the table is full. Readers copy the entry with process_vm_readv and check its tid: the TLS of
 * an exited thread may be gone. */

#define REG_MAX 1024
static int reg_tid[REG_MAX];
static struct fh_thr *reg_thr[REG_MAX];

void fh_thread_register(struct fh_thr *t)
{
	int tid = t->tid;
	if (tid <= 0)
		return;
	for (int pass = 0; pass < 2; pass++) {
		for (unsigned i = 0; i < REG_MAX; i++) {
			unsigned k = ((unsigned)tid + i) % REG_MAX;
			int cur = __atomic_load_n(&reg_tid[k], __ATOMIC_ACQUIRE);
			bool take = cur == tid;
			if (!take && cur == 0)
				take = __atomic_compare_exchange_n(&reg_tid[k], &cur, tid, false,
								   __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE);
			if (!take && pass == 1 && cur > 0 &&
			    syscall(SYS_tgkill, fh_pid, cur, 0) < 0 && errno == ESRCH)
				take = __atomic_compare_exchange_n(&reg_tid[k], &cur, tid, false,
								   __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE);
			if (take) {
				__atomic_store_n(&reg_thr[k], t, __ATOMIC_RELEASE);
				return;
			}
		}
	}
}

void fh_hang_after_fork(void)
{
	memset(reg_tid, 0, sizeof(reg_tid));
	memset(reg_thr, 0, sizeof(reg_thr));
}

static bool safe_read(void *dst, const void *src, size_t n)
{
	struct iovec l = { dst, n }, r = { (void *)(uintptr_t)src, n };
	return syscall(SYS_process_vm_readv, fh_pid, &l, 1UL, &r, 1UL, 0UL) == (long)n;
}

/* The wrapped call thread tid is in (FH_NO_CALL: none, or unknown), and where it was made from
 * (its wrapper's CFA and return address). */
static unsigned call_of(int tid, uintptr_t *cfa, uintptr_t *ra)
{
	*cfa = *ra = 0;
	for (unsigned i = 0; i < REG_MAX; i++) {
		unsigned k = ((unsigned)tid + i) % REG_MAX;
		int cur = __atomic_load_n(&reg_tid[k], __ATOMIC_ACQUIRE);
		if (cur == 0)
			break;
		if (cur != tid)
			continue;
		struct fh_thr *t = __atomic_load_n(&reg_thr[k], __ATOMIC_ACQUIRE);
		int got_tid = 0;
		unsigned call = FH_NO_CALL;
		if (!t || !safe_read(&got_tid, &t->tid, sizeof(got_tid)) || got_tid != tid ||
		    !safe_read(&call, &t->cur_call, sizeof(call)))
			return FH_NO_CALL;
		if (call != FH_NO_CALL && (!safe_read(cfa, &t->entry_cfa, sizeof(*cfa)) ||
					   !safe_read(ra, &t->entry_ra, sizeof(*ra))))
			*cfa = *ra = 0;
		return call;
	}
	return FH_NO_CALL;
}

/* ---- /proc readers (raw syscalls; the snapshot holds no fd after it returns) ---- */

static long read_file(const char *path, char *buf, size_t cap)
{
	long fd = syscall(SYS_openat, AT_FDCWD, path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	long n = syscall(SYS_read, fd, buf, cap - 1);
	syscall(SYS_close, fd);
	if (n < 0)
		return -1;
	buf[n] = 0;
	return n;
}

static size_t path_of(char *out, size_t cap, int pid, int tid, const char *leaf)
{
	char num[24];
	size_t o = fh_strlcpy(out, cap, "/proc/");
	fh_fmt_long(num, sizeof(num), pid);
	o += fh_strlcpy(out + o, cap - o, num);
	if (tid > 0) {
		o += fh_strlcpy(out + o, cap - o, "/task/");
		fh_fmt_long(num, sizeof(num), tid);
		o += fh_strlcpy(out + o, cap - o, num);
	}
	if (leaf) {
		o += fh_strlcpy(out + o, cap - o, "/");
		o += fh_strlcpy(out + o, cap - o, leaf);
	}
	return o;
}

static uint64_t parse_num(const char **pp)
{
	const char *p = *pp;
	uint64_t v = 0;
	int base = 10;
	while (*p == ' ')
		p++;
	if (p[0] == '0' && p[1] == 'x') {
		base = 16;
		p += 2;
	}
	for (;; p++) {
		int d;
		if (*p >= '0' && *p <= '9')
			d = *p - '0';
		else if (base == 16 && *p >= 'a' && *p <= 'f')
			d = *p - 'a' + 10;
		else
			break;
		v = v * (uint64_t)base + (uint64_t)d;
	}
	*pp = p;
	return v;
}

/* /proc/PID/task/TID/syscall: "NR A1 .. A6 SP PC" (blocked in a system call), "-1 SP PC"
 * (blocked elsewhere) or "running". */
struct sysstate {
	int64_t nr;               /* FHT_SNAP_RUNNING, FHT_SNAP_NOSYS, FHT_SNAP_UNKNOWN or nr */
	uint64_t args[6];
	uint64_t sp, pc;
};

static void read_syscall(int pid, int tid, struct sysstate *st)
{
	char path[96], buf[256];
	memset(st, 0, sizeof(*st));
	st->nr = FHT_SNAP_UNKNOWN;
	path_of(path, sizeof(path), pid, tid, "syscall");
	if (read_file(path, buf, sizeof(buf)) <= 0)
		return;
	if (!strncmp(buf, "running", 7)) {
		st->nr = FHT_SNAP_RUNNING;
		return;
	}
	const char *p = buf;
	if (*p == '-') {
		p++;
		parse_num(&p);
		st->nr = FHT_SNAP_NOSYS;
		st->sp = parse_num(&p);
		st->pc = parse_num(&p);
		return;
	}
	st->nr = (int64_t)parse_num(&p);
	for (int i = 0; i < 6; i++)
		st->args[i] = parse_num(&p);
	st->sp = parse_num(&p);
	st->pc = parse_num(&p);
}

/* Calls fn(id) for each numeric entry of a /proc directory; false when it cannot be read. */
struct each_num { void (*fn)(int id, void *arg); void *arg; };
static void num_entry(const char *name, int dfd, void *arg)
{
	struct each_num *e = arg;
	long v = fh_parse_id(name, INT32_MAX);
	(void)dfd;
	if (v > 0)
		e->fn((int)v, e->arg);
}

static bool each_num(const char *dir, void (*fn)(int id, void *arg), void *arg)
{
	struct each_num e = { fn, arg };
	return fh_each_dirent(dir, num_entry, &e) == 0;
}

/* ---- the snapshot ---- */

#define SNAP_MAX_TIDS 512
#define SNAP_MAX_PROCS 16384
#define SNAP_MAX_KIDS 64

struct tidlist { int n; int tid[SNAP_MAX_TIDS]; };
static void add_tid(int id, void *arg)
{
	struct tidlist *l = arg;
	if (l->n < SNAP_MAX_TIDS)
		l->tid[l->n++] = id;
}

struct proclist { int n; int pid[SNAP_MAX_PROCS]; int ppid[SNAP_MAX_PROCS]; int64_t start[SNAP_MAX_PROCS]; };
static struct proclist procs;       /* only the snapshot uses it (single-flight) */
static struct tidlist tids, ktids;

static void add_proc(int pid, void *arg)
{
	struct proclist *l = arg;
	char path[64], buf[1024];
	if (l->n >= SNAP_MAX_PROCS)
		return;
	path_of(path, sizeof(path), pid, 0, "stat");
	if (read_file(path, buf, sizeof(buf)) <= 0)
		return;
	/* "pid (comm) S ppid ...": the comm may hold spaces and parentheses: after the last ')' */
	const char *p = strrchr(buf, ')');
	if (!p)
		return;
	p += 2;                                   /* ") " */
	int field = 3;                             /* p is at field 3 (state) */
	int64_t ppid = -1, start = -1;
	while (*p && field <= 22) {
		if (field == 4)
			ppid = (int64_t)parse_num(&p);
		else if (field == 22)
			start = (int64_t)parse_num(&p);
		while (*p && *p != ' ')
			p++;
		while (*p == ' ')
			p++;
		field++;
	}
	l->pid[l->n] = pid;
	l->ppid[l->n] = (int)ppid;
	l->start[l->n] = start;
	l->n++;
}

static bool is_descendant(int i)
{
	int pp = procs.ppid[i];
	for (int depth = 0; depth < 64 && pp > 1; depth++) {
		if (pp == fh_pid)
			return true;
		int j;
		for (j = 0; j < procs.n && procs.pid[j] != pp; j++)
			;
		if (j == procs.n)
			return false;
		pp = procs.ppid[j];
	}
	return false;
}

static bool tid_alive(int tid)
{
	for (int i = 0; i < tids.n; i++)
		if (tids.tid[i] == tid)
			return true;
	return false;
}

/* The Python name the plugin passed for tid ("TID\tNAME\n" lines), else /proc's comm. */
static size_t name_of(int pid, int tid, const char *names, char *out, size_t cap)
{
	out[0] = 0;
	for (const char *p = names; p && *p;) {
		const char *q = p;
		uint64_t v = parse_num(&q);
		const char *eol = strchr(p, '\n');
		if (!eol)
			eol = p + strlen(p);
		if ((int)v == tid && *q == '\t') {
			size_t n = (size_t)(eol - q - 1);
			if (n >= cap)
				n = cap - 1;
			memcpy(out, q + 1, n);
			out[n] = 0;
			return n;
		}
		p = *eol ? eol + 1 : eol;
	}
	char path[96];
	path_of(path, sizeof(path), pid, tid, "comm");
	long n = read_file(path, out, cap);
	if (n <= 0)
		return 0;
	while (n > 0 && out[n - 1] == '\n')
		out[--n] = 0;
	return (size_t)n;
}

static struct fht_rec *snap_rec(struct fh_thr *t, uint64_t *idx, unsigned kind)
{
	struct fht_rec *r = fh_reserve(t, idx);
	if (!r)
		return NULL;
	memset((char *)r + 1, 0, FHT_REC_SIZE - 1);
	r->call = (uint16_t)kind;
	r->fd = -1;
	r->err = -1;
	r->start_ns = fh_now();
	return r;
}

static void snap_publish(struct fht_rec *r)
{
	uint8_t f = __atomic_load_n(&r->flags, __ATOMIC_RELAXED);
	__atomic_store_n(&r->flags, f | FHT_F_DONE, __ATOMIC_RELAXED);
	__atomic_store_n(&r->type, FHT_REC_SNAP, __ATOMIC_RELEASE);
}

static int64_t tsc_to_ns(uint64_t tsc)
{
#if defined(__x86_64__)
	uint64_t mult = __atomic_load_n(&fh_tsc_mult, __ATOMIC_RELAXED);
	if (!mult)
		return 0;
	int64_t now = fh_clock_ns();
	uint64_t nt = __rdtsc();
	if (tsc > nt)
		return now;
	return now - (int64_t)(((unsigned __int128)(nt - tsc) * mult) >> 32);
#else
	return (int64_t)tsc;
#endif
}

/* The holder of the lock a thread in state st waits for; writes a FHT_SNAP_LOCK record. */
static void snap_holder(struct fh_thr *t, int tid, uint64_t waiter_idx, unsigned call,
			const struct sysstate *st)
{
	if (st->nr != SYS_futex)
		return;
	uint64_t addr = st->args[0];
	int op = (int)(st->args[1] & FUTEX_CMD_MASK);
	int holder = 0, source = 0;
	struct fh_lt_hold h = { 0 };
	int64_t since = 0;
	if (fh_lt_lookup(addr, &h)) {
		holder = h.tid;
		source = FHT_HOLDER_ACQUIRE;
		since = tsc_to_ns(h.tsc);
	} else if ((op == FUTEX_WAIT || call == FH_ID_pthread_mutex_timedlock) &&
		   (call == FH_NO_CALL || call == FH_ID_pthread_mutex_timedlock)) {
		int word[3];
		if (safe_read(word, (const void *)(uintptr_t)addr, sizeof(word)) && word[0] != 0 &&
		    word[2] > 0 && word[2] != tid && tid_alive(word[2])) {
			holder = word[2];
			source = FHT_HOLDER_MUTEX;
		}
	}
	if (!source)
		return;
	uint64_t idx;
	struct fht_rec *r = snap_rec(t, &idx, FHT_SNAP_LOCK);
	if (!r)
		return;
	r->fd = holder;
	r->result = tid;
	r->arg = (int64_t)addr;
	r->arg2 = (int64_t)waiter_idx;
	r->err = source;
	r->timeout_ns = since;
	if (h.code) {
		struct fh_pyframe site;
		if (fh_pystack_code_site((uintptr_t)h.code, (uintptr_t)h.instr, &site))
			r->stack_ref = fh_stack_write(t, (uint32_t)idx, NULL, 0, &site, 1);
	}
	snap_publish(r);
}

static uint64_t pcs[FH_STACK_MAX];
static struct fh_pyframe py[FH_PYSTACK_MAX];

static void snap_thread(struct fh_thr *t, int tid, const char *names)
{
	struct sysstate st, again;
	char name[128];
	uint64_t idx;
	read_syscall(fh_pid, tid, &st);
	uintptr_t cfa, ra;
	unsigned call = call_of(tid, &cfa, &ra);
	int npcs = 0, npy;
	if (st.nr != FHT_SNAP_RUNNING && st.nr != FHT_SNAP_UNKNOWN && st.pc && st.sp) {
		npcs = fh_stack_capture_at(st.pc, st.sp, pcs, FH_STACK_MAX);
		if (ra && cfa > st.sp && npcs < FH_STACK_MAX) {
			/* From the wrapped call's caller on: the walk above may have stopped at the
			 * wrapper (or gone on: then from where it meets the caller). */
			int k = 0;
			while (k < npcs && pcs[k] != ra)
				k++;
			npcs = k + fh_stack_capture_at(ra, cfa, pcs + k, FH_STACK_MAX - k);
		}
		read_syscall(fh_pid, tid, &again);
		if (again.sp != st.sp || again.pc != st.pc)
			npcs = 0;       /* it moved on while we read: not its stack any more */
	}
	npy = fh_pystack_capture_tid(tid, py, FH_PYSTACK_MAX);
	if (npcs > 0)
		fh_modmap_update();
	struct fht_rec *r = snap_rec(t, &idx, FHT_SNAP_THREAD);
	if (!r)
		return;
	r->fd = tid;
	r->arg = fh_pid;
	r->result = st.nr;
	r->arg2 = (int64_t)st.args[0];
	r->timeout_ns = (int64_t)st.args[1];
	r->err = call == FH_NO_CALL ? -1 : (int32_t)call;
	size_t n = name_of(fh_pid, tid, names, name, sizeof(name));
	if (n)
		fh_put_str(t, r, idx, name, n);
	if (npcs + npy > 0)
		r->stack_ref = fh_stack_write(t, (uint32_t)idx, pcs, npcs, py, npy);
	snap_publish(r);
	snap_holder(t, tid, idx, call, &st);
}

static int snap_children(struct fh_thr *t, int64_t since_ns)
{
	int nkids = 0;
	struct timespec bt, mt;
	long hz = sysconf(_SC_CLK_TCK);
	clock_gettime(CLOCK_BOOTTIME, &bt);
	clock_gettime(CLOCK_MONOTONIC, &mt);
	int64_t boot_off = ((int64_t)bt.tv_sec - mt.tv_sec) * 1000000000 + (bt.tv_nsec - mt.tv_nsec);
	procs.n = 0;
	each_num("/proc", add_proc, &procs);
	for (int i = 0; i < procs.n && nkids < SNAP_MAX_KIDS; i++) {
		if (procs.pid[i] == fh_pid || !is_descendant(i))
			continue;
		int64_t start = hz > 0 && procs.start[i] >= 0 ?
			procs.start[i] * (1000000000 / hz) - boot_off : 0;
		if (since_ns > 0 && start + 20000000 < since_ns)
			continue;   /* older than the attempt (a session fixture's server) */
		char path[96], exe[512], argv0[256];
		int pid = procs.pid[i];
		path_of(path, sizeof(path), pid, 0, "exe");
		long k = syscall(SYS_readlinkat, AT_FDCWD, path, exe, 255);
		exe[k > 0 ? k : 0] = 0;
		/* "EXE\nARGV0": what ran, and what it was called (a shell script, a symlink) */
		path_of(path, sizeof(path), pid, 0, "cmdline");
		if (read_file(path, argv0, sizeof(argv0)) > 0 && argv0[0]) {
			size_t o = fh_strnlen(exe, 256);
			exe[o++] = '\n';
			fh_strlcpy(exe + o, sizeof(exe) - o, argv0);
		}
		ktids.n = 0;
		path_of(path, sizeof(path), pid, 0, "task");
		each_num(path, add_tid, &ktids);
		nkids++;
		for (int j = 0; j < ktids.n; j++) {
			struct sysstate st;
			uint64_t idx;
			read_syscall(pid, ktids.tid[j], &st);
			struct fht_rec *r = snap_rec(t, &idx, FHT_SNAP_CHILD);
			if (!r)
				break;
			r->fd = ktids.tid[j];
			r->arg = pid;
			r->arg2 = procs.ppid[i];
			r->result = st.nr;
			r->timeout_ns = start;
			char name[64];
			size_t n = j == 0 ? fh_strnlen(exe, sizeof(exe) - 1) :
				name_of(pid, ktids.tid[j], NULL, name, sizeof(name));
			if (n)
				fh_put_str(t, r, idx, j == 0 ? exe : name, n);
			snap_publish(r);
		}
	}
	return nkids;
}

FH_EXPORT int fh_hang_snapshot(int reason, long long limit_ns, long long since_ns, const char *names);
FH_EXPORT void fh_quiet_thread(void);
FH_EXPORT unsigned long long fh_signal_count(int sig);

int fh_hang_snapshot(int reason, long long limit_ns, long long since_ns, const char *names)
{
	static int running;
	int saved = errno, nthreads = 0;
	uint64_t head_idx;
	struct fht_rec *head;
	if (!fh_on)
		return -ENOTCONN;
	if (__atomic_exchange_n(&running, 1, __ATOMIC_ACQ_REL))
		return -EBUSY;
	struct fh_thr *t = &fh_thr;
	int was = t->state;
	bool quiet = was == THR_QUIET && t->gen == fh_fork_gen;
	if (quiet)
		t->state = t->cur ? THR_ON : THR_NEW;
	if (!(t = fh_thread())) {
		t = &fh_thr;
		goto out;
	}
	int self = t->tid;
	head = snap_rec(t, &head_idx, FHT_SNAP_HEAD);
	if (!head)
		goto out;
	head->arg = reason;
	head->arg2 = limit_ns;
	head->timeout_ns = since_ns;
	head->fd = self;
	/* The snapshot's own records go straight into the stream (fh_reserve); busy keeps the
	 * calls libunwind's first load makes out of it, as for any stack capture. */
	t->busy_base = t->in_handler;
	t->busy = 1;
	tids.n = 0;
	each_num("/proc/self/task", add_tid, &tids);
	for (int i = 0; i < tids.n; i++) {
		if (tids.tid[i] == self)
			continue;
		snap_thread(t, tids.tid[i], names);
		nthreads++;
	}
	head->err = snap_children(t, since_ns);
	head->result = nthreads;
	head->end_ns = fh_now();
	snap_publish(head);
	t->busy = 0;
out:
	if (quiet) {
		t->state = THR_QUIET;
		t->gen = fh_fork_gen;
	}
	__atomic_store_n(&running, 0, __ATOMIC_RELEASE);
	errno = saved;
	return nthreads;
}

void fh_quiet_thread(void)
{
	struct fh_thr *t = &fh_thr;
	int saved = errno;
	if (t->gen != fh_fork_gen) {   /* nothing set up in this process yet */
		t->cur = NULL;
		t->gen = fh_fork_gen;
		t->tid = (int)syscall(SYS_gettid);
	}
	t->state = THR_QUIET;
	fh_profile_quiet();
	errno = saved;
}

unsigned long long fh_signal_count(int sig)
{
	return sig > 0 && sig < 65 ? __atomic_load_n(&fh_sig_seen[sig], __ATOMIC_RELAXED) : 0;
}
