/* SPDX-License-Identifier: MIT */
/*
 * The CPU profiler: where a thread's CPU time went, by Python line, at a low rate.
 *
 * While it is on (fh_profile(1, ...), or FH_PROFILE in the environment), every thread of the
 * process has a POSIX timer on its own CPU clock (timer_create on the thread's
 * CLOCK_THREAD_CPUTIME_ID, SIGEV_THREAD_ID to that thread) firing every `interval` of CPU the
 * thread uses (10 ms by default). Its signal's handler, here, reads the thread's Python frames
 * (pystack.c, fh_pystack_sample: process_vm_readv only, so nothing the interrupted code was
 * doing can make it fault) and writes one FHT_REC_SAMPLE record with them into the thread's
 * stream (format: fhtrace_format.h). A waiting thread uses no CPU and is never signalled.
 *
 * Why per-thread CPU timers and not setitimer(ITIMER_PROF) or a process CPU timer: those send
 * a process-directed signal that the kernel may hand to any thread, a sleeping one included,
 * and a signal with a handler cuts a sleep, a poll or a lock wait short with EINTR even under
 * SA_RESTART (signal(7)) — the program would see the profiler. A thread CPU timer signals only
 * the thread that ran, and on x86_64 since Linux 5.11 (CONFIG_POSIX_CPU_TIMERS_TASK_WORK) the
 * kernel checks CPU timers on the way back to user space, so the signal is delivered there,
 * never inside a system call: no wait is ever cut. Older kernels check them in the timer tick,
 * while a thread may be inside a system call about to sleep: there the profiler stays off and
 * fh_profile_status() says why.
 *
 * The program never sees the signal:
 *   - it is one no one handles when the profiler starts (a real-time signal whose disposition
 *     is SIG_DFL and that the program did not touch), and the program's view of it stays
 *     SIG_DFL: sigaction() queries answer as if the profiler's handler were not there;
 *   - the moment the program sets a disposition for it (sigaction, signal), the profiler gives
 *     it up: its timers are deleted, a LOST record says so, and signals of its timers still on
 *     their way are recognised by their sigev_value and dropped before the program's handler
 *     (signals.c); the next fh_profile(1) picks another signal;
 *   - a thread that blocks the signal is not given a timer (its signal would stay pending,
 *     visible to sigpending and to signalfd), and sigwait, sigwaitinfo and sigtimedwait never
 *     return it (the wrappers take it out of the set);
 *   - before an exec the thread's timer is stopped and a pending signal taken back, so the new
 *     program (where the disposition is SIG_DFL again) never receives one;
 *   - the handler runs with every signal blocked, saves errno, and writes only through the
 *     signal-safe trace writer; timers are not inherited across fork (the child arms its own
 *     threads as they start), and exec deletes them.
 * Known gaps: each timer counts against RLIMIT_SIGPENDING (one queued signal per thread at
 * most); a signal sent to the process from outside with the profiler's number ends it, as the
 * default action would have (the handler re-raises it with SIG_DFL).
 *
 * Cost: a sample is two process_vm_readv per Python frame (names and lines are decoded only the
 * first time a code object is seen by the thread, then cached), about 0.1 ms for a deep pytest
 * stack, so 1% of CPU at the default rate (bench/bench_profile.py measures it); ~0.4 KB of trace
 * per sample (a sample whose frames equal the thread's previous one names that stack).
 */
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>
#include <ucontext.h>

#include "fhtrace_int.h"
#include "pystack.h"

#define PROF_MAX 1024               /* threads with a timer at once */
#define PROF_FRAMES FH_PYSTACK_MAX  /* innermost Python frames per sample */
#define PROF_CACHE 64               /* code objects a thread remembers (names, last line) */

/* A thread's timer: tid 0 free, -1 being set up; id the kernel's timer id, -1 none; quiet
 * threads (the plugin's own) never get one. */
struct ptimer { int tid; int id; int quiet; int armed; };
static struct ptimer ptab[PROF_MAX];

int fh_prof_sig;                     /* the signal in use, 0 none */
static volatile int prof_on;
static int64_t prof_ns = 10000000;
static char prof_cookie;             /* its address is our timers' sigev_value */
static int prof_lock;                /* one sweep or switch at a time */
static int prof_support;             /* 0 unknown, 1 yes, -1 no */
static int detail_env;               /* FH_PROFILE asked for perf detail for the process's life */
static char prof_status[96] = "off";

const void *fh_prof_cookie(void)
{
	return &prof_cookie;
}

static void set_status(const char *a, const char *b)
{
	size_t o = fh_strlcpy(prof_status, sizeof(prof_status), a);
	if (b)
		fh_strlcpy(prof_status + o, sizeof(prof_status) - o, b);
}

/* ---- the sample (signal context) ---- */

struct pc_ent {
	uintptr_t code, qn, fn;
	uint64_t hash;                   /* of the PYSTR text, checked against the record */
	uint32_t slot;                   /* its PYSTR record in this thread's stream */
	int32_t unit, line;              /* the last instruction seen and its line */
	unsigned epoch;
};
static __thread struct pc_ent pcache[PROF_CACHE] __attribute__((tls_model("initial-exec")));
static __thread struct {
	int n;
	uintptr_t code[PROF_FRAMES];
	int32_t unit[PROF_FRAMES];
	uint32_t ref, owner;
	unsigned epoch;
} last __attribute__((tls_model("initial-exec")));

/* The PYSTR slot and line of a raw frame, from the thread's cache or decoded now. */
static uint32_t frame_ref(struct fh_thr *t, const struct fh_pyraw *r, uint32_t owner, int *line)
{
	size_t h = (size_t)((r->code >> 4) * 0x9e3779b97f4a7c15ull >> 58) % PROF_CACHE;
	struct pc_ent *e = &pcache[h];
	unsigned char scratch[256];

	if (e->code == r->code && e->qn == r->qualname && e->fn == r->filename &&
	    e->epoch == t->epoch && e->slot) {
		const struct fht_stack *s = (const struct fht_stack *)fh_rec_at(t, e->slot);
		if (!s || s->type != FHT_REC_STACK || s->kind != FHT_STK_PYSTR || s->u.hash != e->hash)
			goto miss;
		if (e->unit != r->unit) {
			e->unit = r->unit;
			e->line = fh_pystack_raw_line(r, scratch, sizeof(scratch));
		}
		*line = e->line;
		return e->slot;
	}
miss:;
	struct fh_pyframe f;
	uint64_t hash;
	uint32_t slot;
	fh_pystack_raw_names(r, &f, (char *)scratch, sizeof(scratch));
	if (!f.func[0] && !f.file[0])
		return 0;
	slot = fh_pystr_put(t, &f, owner, &hash);
	if (!slot)
		return 0;
	e->code = r->code;
	e->qn = r->qualname;
	e->fn = r->filename;
	e->hash = hash;
	e->slot = slot;
	e->epoch = t->epoch;
	e->unit = r->unit;
	e->line = fh_pystack_raw_line(r, scratch, sizeof(scratch));
	*line = e->line;
	return e->slot;
}

/* Writes the sample's frames as FHT_STK_PY records owned by `owner`; the first one's slot. */
static uint32_t write_frames(struct fh_thr *t, uint32_t owner, const struct fh_pyraw *raw, int n)
{
	uint32_t strs[PROF_FRAMES];
	int lines[PROF_FRAMES];
	struct fht_stack *s = NULL;
	uint64_t idx, first = 0;

	if (last.epoch == t->epoch && last.n == n && last.ref) {
		bool same = true;
		for (int i = 0; i < n && same; i++)
			same = last.code[i] == raw[i].code && last.unit[i] == raw[i].unit;
		const struct fht_stack *o = (const struct fht_stack *)fh_rec_at(t, last.ref);
		if (same && o && o->type == FHT_REC_STACK && o->owner == last.owner)
			return last.ref;
	}
	for (int i = 0; i < n; i++)
		strs[i] = frame_ref(t, &raw[i], owner, &lines[i]);
	for (int i = 0; i < n; i++) {
		if (!strs[i])
			continue;
		if (!s || s->n == FHT_STK_PCS) {
			if (s)
				__atomic_store_n(&s->type, FHT_REC_STACK, __ATOMIC_RELEASE);
			s = fh_stack_reserve(t, &idx, FHT_STK_PY, owner);
			if (!s)
				return 0;
			if (!first)
				first = idx;
		}
		s->u.py[s->n].line = lines[i];
		s->u.py[s->n].str = strs[i];
		s->n++;
	}
	if (!s)
		return 0;
	s->flags |= FHT_STK_F_LAST;
	__atomic_store_n(&s->type, FHT_REC_STACK, __ATOMIC_RELEASE);
	last.epoch = t->epoch;
	last.n = n;
	last.ref = (uint32_t)first;
	last.owner = owner;
	for (int i = 0; i < n; i++) {
		last.code[i] = raw[i].code;
		last.unit[i] = raw[i].unit;
	}
	return (uint32_t)first;
}

static struct fht_rec *put_event(struct fh_thr *t, int kind, uint64_t *idx)
{
	struct fht_rec *r = fh_reserve(t, idx);
	if (!r)
		return NULL;
	r->call = (uint16_t)kind;
	r->fd = 0;
	r->start_ns = fh_now_t(t);
	r->end_ns = r->start_ns;
	r->result = 0;
	r->err = -1;
	r->stack_ref = 0;
	r->timeout_ns = -1;
	r->arg = prof_ns;
	r->arg2 = 0;
	r->flags = FHT_F_DONE;
	return r;
}

static void not_ours(int sig)
{
	/* Someone else sent the signal while the program's disposition for it is SIG_DFL: do what
	 * SIG_DFL does (a real-time signal ends the process). */
	struct sigaction d;
	memset(&d, 0, sizeof(d));
	d.sa_handler = SIG_DFL;
	prof_on = 0;
	fh_prof_sig = 0;
	fh_kernel_sigaction(sig, &d, NULL);
	syscall(SYS_tgkill, fh_raw_getpid(), (int)syscall(SYS_gettid), sig);
}

static void prof_handler(int sig, siginfo_t *si, void *ucv)
{
	int saved = errno;
	struct fh_pyraw raw[PROF_FRAMES];
	uint64_t idx;

	if (!si || si->si_code != SI_TIMER || si->si_value.sival_ptr != &prof_cookie) {
		not_ours(sig);
		goto out;
	}
	if (!prof_on)
		goto out;
	struct fh_thr *t = fh_thread();
	if (!t)
		goto out;
	int n = fh_pystack_sample(raw, PROF_FRAMES);
	struct fht_rec *r = put_event(t, FHT_SAMPLE_CPU, &idx);
	if (!r)
		goto out;
	r->arg2 = si->si_overrun > 0 ? si->si_overrun : 0;
	r->err = t->cur_call == FH_NO_CALL ? -1 : (int)t->cur_call;
#if defined(__x86_64__)
	if (ucv)
		r->result = (int64_t)((const ucontext_t *)ucv)->uc_mcontext.gregs[REG_RIP];
#else
	(void)ucv;
#endif
	__atomic_store_n(&r->type, FHT_REC_SAMPLE, __ATOMIC_RELEASE);
	if (n > 0)
		r->stack_ref = write_frames(t, (uint32_t)idx, raw, n);
out:
	errno = saved;
}

/* ---- timers ---- */

static struct ptimer *slot_of(int tid, bool claim)
{
	for (unsigned i = 0; i < PROF_MAX; i++) {
		struct ptimer *p = &ptab[((unsigned)tid + i) % PROF_MAX];
		int cur = __atomic_load_n(&p->tid, __ATOMIC_ACQUIRE);
		if (cur == tid)
			return p;
		if (cur == 0) {
			if (!claim)
				return NULL;
			if (__atomic_compare_exchange_n(&p->tid, &cur, tid, false, __ATOMIC_ACQ_REL,
							__ATOMIC_ACQUIRE)) {
				p->id = -1;
				p->quiet = 0;
				p->armed = 0;
				return p;
			}
			if (cur == tid)
				return p;
		}
	}
	return NULL;
}

static int settime(int id, int64_t ns)
{
	struct itimerspec its;
	its.it_value.tv_sec = ns / 1000000000;
	its.it_value.tv_nsec = ns % 1000000000;
	its.it_interval = its.it_value;
	return (int)syscall(SYS_timer_settime, id, 0, &its, NULL);
}

/* Does thread tid block sig? (its SigBlk line); true when unknown. */
static bool blocks(int tid, int sig)
{
	char path[64], buf[2048];
	unsigned reason;
	size_t o = fh_strlcpy(path, sizeof(path), "/proc/self/task/");
	o += fh_fmt_long(path + o, sizeof(path) - o, tid);
	fh_strlcpy(path + o, sizeof(path) - o, "/status");
	long fd = fh_open_own(path, O_RDONLY | O_CLOEXEC, 0, &reason);
	if (fd < 0)
		return true;
	long n = syscall(SYS_read, fd, buf, sizeof(buf) - 1);
	syscall(SYS_close, fd);
	if (n <= 0)
		return true;
	buf[n] = 0;
	const char *p = strstr(buf, "\nSigBlk:");
	if (!p)
		return true;
	p += 8;
	while (*p == ' ' || *p == '\t')
		p++;
	uint64_t mask = 0;
	for (int k = 0; k < 16; k++, p++) {
		int d = *p >= '0' && *p <= '9' ? *p - '0' : *p >= 'a' && *p <= 'f' ? *p - 'a' + 10 : -1;
		if (d < 0)
			return true;
		mask = mask << 4 | (uint64_t)d;
	}
	return (mask >> (sig - 1)) & 1;
}

static bool self_blocks(int sig)
{
	uint64_t cur = 0;
	if (syscall(SYS_rt_sigprocmask, SIG_BLOCK, NULL, &cur, 8) != 0)
		return true;
	return (cur >> (sig - 1)) & 1;
}

/* How arm() learns whether a thread blocks the signal: its own mask (the calling thread), its
 * SigBlk line, or, for a thread pthread_create just made, the creator's mask (glibc starts a
 * thread with every signal blocked and gives it its creator's mask a moment later). */
enum mask_from { MASK_SELF, MASK_STATUS, MASK_CREATOR };

/* Gives thread tid a timer (or restarts it); 1 when it is armed. */
static int arm(int tid, enum mask_from how)
{
	int sig = fh_prof_sig;
	struct ptimer *p;
	bool known;
	if (!sig || tid <= 0)
		return 0;
	known = slot_of(tid, false) != NULL;
	if (!(p = slot_of(tid, true)) || p->quiet)
		return 0;
	if (p->id < 0) {
		if (how == MASK_CREATOR && known)
			how = MASK_STATUS;   /* not new: seen (and skipped) before */
		if (how == MASK_STATUS ? blocks(tid, sig) : self_blocks(sig))
			return 0;
		struct sigevent ev;
		int id = -1;
		memset(&ev, 0, sizeof(ev));
		ev.sigev_notify = SIGEV_THREAD_ID;
		ev.sigev_signo = sig;
		ev.sigev_value.sival_ptr = &prof_cookie;
		ev._sigev_un._tid = tid;
		/* the thread's own CPU clock: CPUCLOCK_SCHED | CPUCLOCK_PERTHREAD_MASK */
		clockid_t clk = (clockid_t)((~(unsigned)tid << 3) | 6);
		if (syscall(SYS_timer_create, clk, &ev, &id) != 0)
			return 0;
		p->id = id;
	}
	if (p->armed)   /* running: restarting it would start its interval over */
		return 1;
	if (settime(p->id, prof_ns) != 0)
		return 0;
	p->armed = 1;
	if (!prof_on || fh_prof_sig != sig) {   /* switched off or lost meanwhile */
		settime(p->id, 0);
		p->armed = 0;
		return 0;
	}
	return 1;
}

static void drop(struct ptimer *p)
{
	if (p->id >= 0)
		syscall(SYS_timer_delete, p->id);
	p->id = -1;
	p->quiet = 0;
	p->armed = 0;
	__atomic_store_n(&p->tid, 0, __ATOMIC_RELEASE);
}

/* Arms every thread of the process (listed in /proc/self/task) and forgets dead ones; a
 * thread not seen before takes its signal mask from `fresh`. */
static int sweep(enum mask_from fresh)
{
	char buf[4096];
	unsigned reason;
	int armed = 0, self = (int)syscall(SYS_gettid);
	for (unsigned i = 0; i < PROF_MAX; i++) {
		struct ptimer *p = &ptab[i];
		int tid = __atomic_load_n(&p->tid, __ATOMIC_ACQUIRE);
		if (tid > 0 && syscall(SYS_tgkill, fh_pid, tid, 0) < 0 && errno == ESRCH)
			drop(p);
	}
	long fd = fh_open_own("/proc/self/task", O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0, &reason);
	if (fd < 0)
		return arm(self, MASK_SELF);
	for (int guard = 0; guard < 256; guard++) {
		long k = syscall(SYS_getdents64, fd, buf, sizeof(buf));
		if (k <= 0)
			break;
		for (long o = 0; o < k;) {
			struct { uint64_t ino; int64_t off; unsigned short reclen; unsigned char type;
				 char name[]; } *d = (void *)(buf + o);
			long tid = 0;
			const char *c = d->name;
			while (*c >= '0' && *c <= '9' && tid < 1L << 30)
				tid = tid * 10 + (*c++ - '0');
			if (!*c && tid > 0)
				armed += arm((int)tid, tid == self ? MASK_SELF : fresh);
			o += d->reclen;
		}
	}
	syscall(SYS_close, fd);
	return armed;
}

static void stop_all(bool delete)
{
	for (unsigned i = 0; i < PROF_MAX; i++) {
		struct ptimer *p = &ptab[i];
		if (__atomic_load_n(&p->tid, __ATOMIC_ACQUIRE) <= 0 || p->id < 0)
			continue;
		if (delete) {
			syscall(SYS_timer_delete, p->id);
			p->id = -1;
		} else {
			settime(p->id, 0);
		}
		p->armed = 0;
	}
}

/* A real-time signal nobody handles, not the plugin's (SIGRTMAX-3), from the top down. */
static int pick_signal(void)
{
	for (int sig = SIGRTMAX - 6; sig > SIGRTMIN + 2; sig--) {
		struct sigaction a;
		if (fh_sig_program_owns(sig) || fh_kernel_sigaction(sig, NULL, &a) != 0)
			continue;
		if (!(a.sa_flags & SA_SIGINFO) && a.sa_handler == SIG_DFL)
			return sig;
	}
	return 0;
}

static bool supported(void)
{
	if (prof_support)
		return prof_support > 0;
	prof_support = -1;
#if !defined(__x86_64__)
	set_status("off: the profiler needs x86_64", NULL);
	return false;
#else
	struct utsname u;
	int major = 0, minor = 0;
	if (uname(&u) == 0) {
		const char *p = u.release;
		while (*p >= '0' && *p <= '9')
			major = major * 10 + (*p++ - '0');
		if (*p == '.')
			p++;
		while (*p >= '0' && *p <= '9')
			minor = minor * 10 + (*p++ - '0');
	}
	if (major < 5 || (major == 5 && minor < 11)) {
		set_status("off: CPU-timer signals could cut system calls on kernel ", u.release);
		return false;
	}
	prof_support = 1;
	return true;
#endif
}

static void write_event(int kind, int sig, int armed)
{
	struct fh_thr *t = fh_thread();
	uint64_t idx;
	struct fht_rec *r;
	if (!t || !(r = put_event(t, kind, &idx)))
		return;
	r->fd = sig;
	r->result = armed;
	__atomic_store_n(&r->type, FHT_REC_SAMPLE, __ATOMIC_RELEASE);
}

int fh_profile_start(int64_t interval_ns)
{
	int r, sig;
	if (!fh_on)
		return -ENOTCONN;
	if (!supported())
		return -ENOTSUP;
	if (__atomic_exchange_n(&prof_lock, 1, __ATOMIC_ACQ_REL))
		return -EBUSY;
	if (interval_ns < 1000000)
		interval_ns = 1000000;
	if (interval_ns > 1000000000)
		interval_ns = 1000000000;
	if (!(sig = fh_prof_sig)) {
		struct sigaction a;
		if (!(sig = pick_signal())) {
			set_status("off: no free real-time signal", NULL);
			r = -EAGAIN;
			goto out;
		}
		memset(&a, 0, sizeof(a));
		a.sa_sigaction = prof_handler;
		a.sa_flags = SA_SIGINFO | SA_RESTART;
		sigfillset(&a.sa_mask);
		if (fh_kernel_sigaction(sig, &a, NULL) != 0) {
			r = -errno;
			goto out;
		}
		fh_prof_sig = sig;
	}
	if (prof_on && interval_ns == prof_ns) {
		r = 0;
		goto out;
	}
	prof_ns = interval_ns;
	fh_perf_detail = 1;
	prof_on = 1;
	r = sweep(MASK_STATUS);
	char num[24];
	fh_fmt_long(num, sizeof(num), (long)(prof_ns / 1000000));
	set_status("on every ", num);
	size_t o = fh_strnlen(prof_status, sizeof(prof_status));
	fh_strlcpy(prof_status + o, sizeof(prof_status) - o, " ms of CPU");
	write_event(FHT_SAMPLE_ON, sig, r);
out:
	__atomic_store_n(&prof_lock, 0, __ATOMIC_RELEASE);
	return r;
}

int fh_profile_stop(void)
{
	if (__atomic_exchange_n(&prof_lock, 1, __ATOMIC_ACQ_REL))
		return -EBUSY;
	if (prof_on) {
		prof_on = 0;
		stop_all(false);
		write_event(FHT_SAMPLE_OFF, fh_prof_sig, 0);
		set_status("off", NULL);
	}
	if (!detail_env)
		fh_perf_detail = 0;
	__atomic_store_n(&prof_lock, 0, __ATOMIC_RELEASE);
	return 0;
}

bool fh_profile_on(void)
{
	return prof_on;
}

const char *fh_profile_status_text(void)
{
	return prof_status;
}

void fh_profile_lose(int sig)
{
	if (!sig || sig != fh_prof_sig)
		return;
	bool was = prof_on;
	prof_on = 0;
	fh_prof_sig = 0;
	stop_all(true);
	if (was)
		write_event(FHT_SAMPLE_LOST, sig, 0);
	set_status("off: the program took the profiler's signal", NULL);
}

void fh_profile_thread_setup(struct fh_thr *t)
{
	if (prof_on && fh_prof_sig && fh_raw_getpid() == fh_pid)
		arm(t->tid, MASK_SELF);
}

void fh_profile_thread_exit(void)
{
	struct ptimer *p;
	int tid = (int)syscall(SYS_gettid);
	if (fh_raw_getpid() != fh_pid || !(p = slot_of(tid, false)))
		return;
	drop(p);
}

void fh_profile_quiet(void)
{
	struct ptimer *p;
	int tid = (int)syscall(SYS_gettid);
	if (fh_raw_getpid() != fh_pid || !(p = slot_of(tid, true)))
		return;
	if (p->id >= 0)
		syscall(SYS_timer_delete, p->id);
	p->id = -1;
	p->armed = 0;
	p->quiet = 1;
}

void fh_profile_after_fork(void)
{
	/* The child has none of the parent's timers; its threads arm as they set up. */
	memset(ptab, 0, sizeof(ptab));
	__atomic_store_n(&prof_lock, 0, __ATOMIC_RELEASE);
}

void fh_profile_before_exec(void)
{
	struct ptimer *p;
	int sig = fh_prof_sig, tid;
	if (!sig || fh_raw_getpid() != fh_pid)
		return;
	tid = (int)syscall(SYS_gettid);
	if ((p = slot_of(tid, false)) && p->id >= 0) {
		settime(p->id, 0);
		p->armed = 0;
	}
	/* A signal already pending for this thread (it blocked it) must not reach the new
	 * program, where its disposition is SIG_DFL again. */
	uint64_t set = 1ull << (sig - 1);
	struct timespec zero = { 0, 0 };
	for (int i = 0; i < 4; i++)
		if (syscall(SYS_rt_sigtimedwait, &set, NULL, &zero, 8) != sig)
			break;
}

void fh_profile_exec_failed(void)
{
	if (prof_on && fh_prof_sig && fh_raw_getpid() == fh_pid)
		arm((int)syscall(SYS_gettid), MASK_SELF);
}

void fh_profile_new_thread(void)
{
	if (!prof_on || fh_raw_getpid() != fh_pid)
		return;
	if (__atomic_exchange_n(&prof_lock, 1, __ATOMIC_ACQ_REL))
		return;
	if (prof_on)
		sweep(MASK_CREATOR);
	__atomic_store_n(&prof_lock, 0, __ATOMIC_RELEASE);
}

const sigset_t *fh_prof_waitset(const sigset_t *m, sigset_t *buf)
{
	int sig = fh_prof_sig;
	if (!sig || !m || !sigismember(m, sig))
		return m;
	*buf = *m;
	sigdelset(buf, sig);
	return buf;
}

/* FH_PROFILE in the environment (set by `pytest --fh-profile` for the processes tests start):
 * "1" (the default interval) or a whole number of milliseconds. Called once tracing started. */
void fh_profile_from_env(const char *v)
{
	if (!v || !*v || !strcmp(v, "0"))
		return;
	long ms = 0;
	for (const char *p = v; *p >= '0' && *p <= '9' && ms < 100000; p++)
		ms = ms * 10 + (*p - '0');
	detail_env = 1;
	fh_perf_detail = 1;
	fh_profile_start(ms > 1 ? (int64_t)ms * 1000000 : prof_ns);
}
