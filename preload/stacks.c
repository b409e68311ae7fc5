/* SPDX-License-Identifier: MIT */
/*
 * Native stack capture with libunwind, kept private and fd-free (see stacks.h for the rules).
 *
 * Debian's libunwind.a is not position-independent, so it cannot be linked into a shared
 * library; libunwind.so.8 is loaded instead with dlopen(RTLD_LOCAL), at the process's first
 * capture (fh_stack_capture), not at start: loading and warming it up costs ~0.45 ms of CPU,
 * more than a short-lived child's whole run, and most traced processes never capture a stack.
 * The first capture happens after a blocking call of at least the threshold, in the thread that
 * made it, never in signal context or a vfork child (stackrec.c checks), one thread at a time
 * (a thread that finds another one loading gets no native frames that once). RTLD_LOCAL keeps
 * its symbols (_Unwind_RaiseException among them) out of the global scope: the program's C++
 * exceptions keep binding to libgcc_s. Only unw_backtrace, unw_getcontext, unw_init_local and
 * the local address space are looked up, with dlsym on that handle.
 *
 * libunwind's x86_64 init opens a pipe it keeps for ever (it validates suspicious addresses by
 * write()ing a byte of them into it). A program that closes every fd and reuses the numbers
 * would then have a byte written into (or read from) its own file. So at init, after libunwind
 * has set up its local address space, its access_mem accessor is replaced by one that checks
 * readability with process_vm_readv() on the own process (no fd) and a small per-thread page
 * cache, and the two pipe fds libunwind just created are closed; libunwind never touches them
 * again because only its own access_mem used them. If any step of this fails, capture stays
 * off and fh_stack_status() says why.
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#define UNW_LOCAL_ONLY
#include <libunwind.h>

#include "fhtrace_int.h"
#include "stacks.h"

#define FD_SCAN_MAX 4096
#define SKIP_RANGES 4
#define PAGE_CACHE 256          /* per-thread, direct-mapped by page number */

struct range { uintptr_t lo, hi; };

static int (*p_backtrace)(void **, int);
static int (*p_getcontext)(unw_context_t *);
static int (*p_init_local)(unw_cursor_t *, unw_context_t *);
static int (*p_set_caching)(unw_addr_space_t, unw_caching_policy_t);
static int (*p_step)(unw_cursor_t *);
static int (*p_get_reg)(unw_cursor_t *, unw_regnum_t, unw_word_t *);

static int state;                 /* 0 not loaded yet, 1 on, -1 off (atomic) */
static int loading;               /* a thread is in fh_stack_init */
static int configured;            /* fh_stack_config() ran */
static const char *status = "off: not initialised";
static int64_t threshold_ns = -1;
static struct range skip[SKIP_RANGES];
static int nskip;

static __thread uintptr_t good_pages[PAGE_CACHE];

/* ---- fd table snapshots (raw syscalls, no malloc, no stdio) ---- */

struct fdset { unsigned char bits[FD_SCAN_MAX / 8]; };

static void fd_entry(const char *name, int dfd, void *arg)
{
	struct fdset *s = arg;
	long v = fh_parse_id(name, FD_SCAN_MAX);
	if (v >= 0 && v != dfd)
		s->bits[v / 8] |= (unsigned char)(1u << (v % 8));
}

static int fd_snapshot(struct fdset *s)
{
	memset(s, 0, sizeof(*s));
	return fh_each_dirent("/proc/self/fd", fd_entry, s);
}

/* Fewer than FH_FD_HEADROOM + 3 fds left below RLIMIT_NOFILE (fhtrace_int.h)? */
static bool fds_near_limit(const struct fdset *s)
{
	struct rlimit rl;
	unsigned n = 0;

	if (syscall(SYS_prlimit64, 0, RLIMIT_NOFILE, NULL, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY)
		return false;
	for (size_t i = 0; i < sizeof(s->bits); i++)
		n += (unsigned)__builtin_popcount(s->bits[i]);
	return (uint64_t)n + FH_FD_HEADROOM + 3 >= rl.rlim_cur;
}

static bool fd_in(const struct fdset *s, int fd)
{
	return fd >= 0 && fd < FD_SCAN_MAX && (s->bits[fd / 8] & (1u << (fd % 8)));
}

/* ---- address checks ---- */

static int find_range_cb(struct dl_phdr_info *info, size_t size, void *arg)
{
	struct range *r = arg;
	uintptr_t want = r->lo, lo = UINTPTR_MAX, hi = 0;
	bool hit = false;

	(void)size;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		uintptr_t a, b;
		if (ph->p_type != PT_LOAD)
			continue;
		a = info->dlpi_addr + ph->p_vaddr;
		b = a + ph->p_memsz;
		if (a < lo)
			lo = a;
		if (b > hi)
			hi = b;
		if (want >= a && want < b)
			hit = true;
	}
	if (!hit)
		return 0;
	r->lo = lo;
	r->hi = hi;
	return 1;
}

static int add_skip_range(const void *addr)
{
	struct range r = { (uintptr_t)addr, 0 };

	if (nskip >= SKIP_RANGES || !dl_iterate_phdr(find_range_cb, &r))
		return -ENOENT;
	skip[nskip++] = r;
	return 0;
}

static bool in_skip(uintptr_t pc)
{
	for (int i = 0; i < nskip; i++)
		if (pc >= skip[i].lo && pc < skip[i].hi)
			return true;
	return false;
}

/* Is the word at addr readable? Checked once per page with process_vm_readv on ourselves. */
static bool page_readable(uintptr_t addr)
{
	uintptr_t page = addr & ~(uintptr_t)4095;
	struct iovec local, remote;
	char byte;

	uintptr_t *slot_p = &good_pages[(page >> 12) % PAGE_CACHE];

	if (page == 0)
		return false;
	if (*slot_p == page)
		return true;
	local.iov_base = &byte;
	local.iov_len = 1;
	remote.iov_base = (void *)page;
	remote.iov_len = 1;
	if (syscall(SYS_process_vm_readv, syscall(SYS_getpid), &local, 1UL, &remote, 1UL, 0UL) != 1)
		return false;
	*slot_p = page;
	return true;
}

static int safe_access_mem(unw_addr_space_t as, unw_word_t addr, unw_word_t *val, int write,
			   void *arg)
{
	(void)as; (void)arg;
	if (!page_readable(addr) || !page_readable(addr + sizeof(unw_word_t) - 1))
		return -UNW_EINVAL;
	/* Writes happen too: in local mode register "locations" point into the cursor's own copy
	 * of the context (on our stack), and the fast trace path sets them this way. */
	if (write)
		memcpy((void *)addr, val, sizeof(*val));
	else
		memcpy(val, (const void *)addr, sizeof(*val));
	return 0;
}

/* ---- init ---- */

static int64_t parse_ms(const char *s, int64_t dflt)
{
	int64_t v = 0;
	bool neg = false;

	if (!s || !*s)
		return dflt;
	if (*s == '-') {
		neg = true;
		s++;
	}
	if (!*s)
		return dflt;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return dflt;
		if (v < 1000000000)     /* larger values clamp to ~11 days: never */
			v = v * 10 + (*s - '0');
	}
	return neg ? -1 : v;
}

static int off(const char *why, int err)
{
	status = why;
	threshold_ns = -1;
	__atomic_store_n(&state, -1, __ATOMIC_RELEASE);
	return err;
}

/* FH_STACK_MS, read at start (not at the lazy init: the environment may be changing then). */
int64_t fh_stack_config(void)
{
	int64_t ms;

	if (configured)
		return threshold_ns;
	configured = 1;
	ms = parse_ms(getenv("FH_STACK_MS"), FH_STACK_MS_DEFAULT);
	if (ms < 0) {
		off("off: FH_STACK_MS<0", -ECANCELED);
		return -1;
	}
	threshold_ns = ms * 1000000;
	return threshold_ns;
}

int fh_stack_init(void)
{
	struct fdset before, after;
	unw_addr_space_t *local_as;
	unw_accessors_t *acc;
	unw_context_t uc;
	unw_cursor_t cur;
	void *h, *buf[8];
	int newfds[2], nnew = 0;
	ino_t ino[2] = { 0, 0 };
	int cur_state = __atomic_load_n(&state, __ATOMIC_ACQUIRE);

	if (cur_state)
		return cur_state > 0 ? 0 : -ENOTSUP;
	if (fh_stack_config() < 0)
		return -ECANCELED;
	if (__atomic_exchange_n(&loading, 1, __ATOMIC_ACQ_REL))
		return -EBUSY;          /* another thread is loading it right now */

	/* Loading takes up to three fds for a moment (the library file, libunwind's pipe): not
	 * while the program is near its fd limit. That passes: capture is tried again later. */
	{
		int e = fd_snapshot(&before);
		if ((e == -EMFILE || e == -ENFILE) || (!e && fds_near_limit(&before))) {
			__atomic_store_n(&loading, 0, __ATOMIC_RELEASE);
			return -EMFILE;
		}
		if (e < 0)
			return off("off: cannot list /proc/self/fd", -ENOENT);
	}
	h = dlopen("libunwind.so.8", RTLD_NOW | RTLD_LOCAL);
	if (!h)
		return off("off: libunwind.so.8 not found", -ENOENT);
	p_backtrace = (int (*)(void **, int))dlsym(h, "unw_backtrace");
	p_getcontext = (int (*)(unw_context_t *))dlsym(h, "_Ux86_64_getcontext");
	p_init_local = (int (*)(unw_cursor_t *, unw_context_t *))dlsym(h, "_ULx86_64_init_local");
	local_as = (unw_addr_space_t *)dlsym(h, "_ULx86_64_local_addr_space");
	p_set_caching = (int (*)(unw_addr_space_t, unw_caching_policy_t))
		dlsym(h, "_ULx86_64_set_caching_policy");
	p_step = (int (*)(unw_cursor_t *))dlsym(h, "_ULx86_64_step");
	p_get_reg = (int (*)(unw_cursor_t *, unw_regnum_t, unw_word_t *))
		dlsym(h, "_ULx86_64_get_reg");
	if (!p_backtrace || !p_getcontext || !p_init_local || !local_as || !*local_as)
		return off("off: libunwind symbols missing", -ENOENT);

	/* The first cursor makes libunwind build its local address space (and its pipe). */
	if (p_getcontext(&uc) < 0 || p_init_local(&cur, &uc) < 0)
		return off("off: libunwind init failed", -EIO);
	/* struct unw_addr_space starts with its accessors (libunwind_i.h); check that what we
	 * are about to replace is a function inside libunwind itself. */
	acc = (unw_accessors_t *)*local_as;
	{
		Dl_info a, b;
		if (!acc->access_mem || !dladdr((void *)acc->access_mem, &a) ||
		    !dladdr((void *)p_backtrace, &b) || a.dli_fbase != b.dli_fbase)
			return off("off: unexpected libunwind layout", -EPROTO);
	}
	acc->access_mem = safe_access_mem;
	/* Per-thread caches: the global cache's lock blocks all signals with two sigprocmask
	 * calls per frame. */
	if (p_set_caching)
		p_set_caching(*local_as, UNW_CACHE_PER_THREAD);

	if (fd_snapshot(&after) < 0)
		return off("off: cannot list /proc/self/fd", -ENOENT);
	/* libunwind's pipe: the two ends of one pipe (same inode), both O_NONBLOCK and
	 * FD_CLOEXEC (pipe2 flags in its Ginit.c), new since the first snapshot. Another thread's
	 * fds that appeared meanwhile are left alone; anything ambiguous switches capture off. */
	for (int fd = 0; fd < FD_SCAN_MAX; fd++) {
		struct stat st;
		long fl, fdfl;
		if (!fd_in(&after, fd) || fd_in(&before, fd))
			continue;
		fl = syscall(SYS_fcntl, fd, F_GETFL);
		fdfl = syscall(SYS_fcntl, fd, F_GETFD);
		if (fstat(fd, &st) < 0 || !S_ISFIFO(st.st_mode) || fl < 0 || !(fl & O_NONBLOCK) ||
		    fdfl < 0 || !(fdfl & FD_CLOEXEC))
			continue;
		if (nnew == 2) {
			nnew = 3;
			break;
		}
		ino[nnew] = st.st_ino;
		newfds[nnew++] = fd;
	}
	if (nnew == 3 || nnew == 1 || (nnew == 2 && ino[0] != ino[1]))
		return off("off: cannot tell libunwind's fds", -EPROTO);
	for (int i = 0; i < nnew; i++)
		syscall(SYS_close, newfds[i]);

#ifndef FH_STACKS_KEEP_SELF /* tests that compile this file into a program define it */
	add_skip_range((const void *)fh_stack_init);
#endif
	add_skip_range((const void *)p_backtrace);

	/* Warm up: the first unw_backtrace builds libunwind's caches. */
	p_backtrace(buf, 8);
	if (fd_snapshot(&after) < 0 || memcmp(&before, &after, sizeof(before)) != 0)
		return off("off: libunwind held an fd", -EPROTO);

	status = "on";
	__atomic_store_n(&state, 1, __ATOMIC_RELEASE);
	return 0;
}

int fh_stack_enabled(void)
{
	return __atomic_load_n(&state, __ATOMIC_ACQUIRE) > 0;
}

int64_t fh_stack_threshold_ns(void)
{
	return __atomic_load_n(&state, __ATOMIC_ACQUIRE) >= 0 ? fh_stack_config() : -1;
}

const char *fh_stack_status(void)
{
	return status;
}

int fh_stack_capture(uint64_t *pcs, int max)
{
	void *buf[FH_STACK_MAX + 16];
	int n, i = 0, k = 0;

	if (max <= 0)
		return 0;
	if (__atomic_load_n(&state, __ATOMIC_ACQUIRE) == 0)
		fh_stack_init();
	if (__atomic_load_n(&state, __ATOMIC_ACQUIRE) <= 0)
		return 0;
	n = p_backtrace(buf, (int)(sizeof(buf) / sizeof(buf[0])));
	while (i < n && in_skip((uintptr_t)buf[i]))
		i++;
	for (; i < n && k < max; i++)
		pcs[k++] = (uint64_t)(uintptr_t)buf[i];
	return k;
}

/* Another thread's stack, from the pc and sp it is stopped at (hang snapshot): a context holding
 * only those two registers is unwound through the local address space, i.e. this process's own
 * memory, which is the other thread's too. Every read goes through safe_access_mem (no fault if
 * the thread moves on meanwhile). Frames whose return address needs another register (rbp-based
 * frames) end the walk early: the stack is then shorter, never wrong. */
int fh_stack_capture_at(uint64_t pc, uint64_t sp, uint64_t *pcs, int max)
{
	unw_context_t uc;
	unw_cursor_t cur;
	int k = 0;

	if (max <= 0 || !pc || !sp)
		return 0;
	if (__atomic_load_n(&state, __ATOMIC_ACQUIRE) == 0)
		fh_stack_init();
	if (__atomic_load_n(&state, __ATOMIC_ACQUIRE) <= 0 || !p_step || !p_get_reg)
		return 0;
	memset(&uc, 0, sizeof(uc));
	uc.uc_mcontext.gregs[REG_RIP] = (greg_t)pc;
	uc.uc_mcontext.gregs[REG_RSP] = (greg_t)sp;
	if (p_init_local(&cur, &uc) < 0)
		return 0;
	pcs[k++] = pc;
	for (int guard = 0; k < max && guard < FH_STACK_MAX + 16; guard++) {
		unw_word_t ip = 0;
		if (p_step(&cur) <= 0 || p_get_reg(&cur, UNW_REG_IP, &ip) < 0 || !ip)
			break;
		if (!in_skip((uintptr_t)ip))
			pcs[k++] = ip;
	}
	return k;
}
