/* SPDX-License-Identifier: MIT */
/*
 * The signal trampoline. The sigaction()/signal() wrappers keep the program's own handler in a
 * table and install fh_trampoline() in the kernel instead (same mask and flags, plus
 * SA_SIGINFO). The trampoline records the delivery (signal, si_code, sender, the call the
 * thread was in) and then calls the program's handler exactly as the kernel would have.
 * Queries return the program's handler and flags; SIG_DFL and SIG_IGN go straight to the
 * kernel. In a vfork child (which shares our memory) the table is never touched.
 */
#include <signal.h>
#include <string.h>

#include "fhtrace_int.h"

#define FH_NSIG 65

static struct sigaction prog_act[FH_NSIG];   /* the program's handler, when installed[] */
static volatile sig_atomic_t installed[FH_NSIG];

typedef int (*sigaction_fn)(int, const struct sigaction *, struct sigaction *);

static sigaction_fn real_sigaction(void)
{
	sigaction_fn f = (sigaction_fn)fh_real[FH_ID_sigaction];
	if (!f)
		f = (sigaction_fn)fh_resolve(FH_ID_sigaction);
	return f;
}

static int kernel_sigaction(int sig, const struct sigaction *act, struct sigaction *old)
{
	sigaction_fn f = real_sigaction();
	if (f)
		return f(sig, act, old);
	errno = ENOSYS;
	return -1;
}

int fh_kernel_sigaction(int sig, const struct sigaction *act, struct sigaction *old)
{
	return kernel_sigaction(sig, act, old);
}

bool fh_sig_program_owns(int sig)
{
	return sig > 0 && sig < FH_NSIG && installed[sig];
}

static void fh_trampoline(int sig, siginfo_t *si, void *uc)
{
	int saved = errno;
	/* A signal of the profiler's timers still on its way when the program took the signal
	 * over (profile.c): the program's handler must not see it. */
	if (si && si->si_code == SI_TIMER && si->si_value.sival_ptr == fh_prof_cookie())
		return;
	/* This delivery is lost when it interrupts the library's own work at the same depth
	 * (fh_thread() counts only what the program's handlers do meanwhile). */
	if (fh_on && fh_thr.busy && fh_thr.in_handler == fh_thr.busy_base)
		fh_busy_drop(&fh_thr);
	if (sig > 0 && sig < 65)
		__atomic_fetch_add(&fh_sig_seen[sig], 1, __ATOMIC_RELAXED);
	struct fh_thr *t = fh_thread();
	struct fht_rec *r = NULL;
	uint64_t idx;
	if (t && (r = fh_reserve(t, &idx))) {
		r->call = (uint16_t)t->cur_call;
		r->fd = sig;
		r->err = si ? si->si_code : 0;
		r->arg = si ? si->si_pid : 0;
		r->arg2 = si ? si->si_uid : 0;
		r->start_ns = fh_now_t(t);
		r->flags = 0;
		__atomic_store_n(&r->type, FHT_REC_SIGNAL, __ATOMIC_RELEASE);
	}
	if (sig > 0 && sig < FH_NSIG && installed[sig]) {
		struct sigaction a = prog_act[sig];
		if (a.sa_flags & SA_RESETHAND)
			installed[sig] = 0;
		errno = saved;
		fh_thr.in_handler++;   /* no stack capture inside the handler: it would unwind the handler, not the call it cut */
		if (a.sa_flags & SA_SIGINFO)
			a.sa_sigaction(sig, si, uc);
		else if (a.sa_handler != SIG_IGN && a.sa_handler != SIG_DFL)
			a.sa_handler(sig);
		fh_thr.in_handler--;
		saved = errno;
	}
	if (r) {
		r->end_ns = fh_now_t(t);
		__atomic_or_fetch(&r->flags, FHT_F_DONE, __ATOMIC_RELEASE);
	}
	errno = saved;
}

static bool is_handler(const struct sigaction *a)
{
	return !(a->sa_flags & SA_SIGINFO) ? (a->sa_handler != SIG_DFL && a->sa_handler != SIG_IGN) :
		a->sa_sigaction != NULL;
}

static int sigaction_impl(int sig, const struct sigaction *act, struct sigaction *old);

/* The profiler's signal (profile.c) looks untouched to the program: a query answers SIG_DFL,
 * and the first disposition the program sets makes the profiler give the signal up. */
int fh_sigaction_impl(int sig, const struct sigaction *act, struct sigaction *old)
{
	if (FH_LIKELY(!fh_prof_sig || sig != fh_prof_sig) || fh_raw_getpid() != fh_pid)
		return sigaction_impl(sig, act, old);
	if (act)
		fh_profile_lose(sig);
	int r = act ? sigaction_impl(sig, act, NULL) : 0;
	if (r == 0 && old) {
		memset(old, 0, sizeof(*old));
		old->sa_handler = SIG_DFL;
	}
	return r;
}

static int sigaction_impl(int sig, const struct sigaction *act, struct sigaction *old)
{
	struct sigaction prev, k;
	int have_prev = 0;
	if (!fh_on || sig <= 0 || sig >= FH_NSIG || sig == SIGKILL || sig == SIGSTOP ||
	    fh_raw_getpid() != fh_pid)
		return kernel_sigaction(sig, act, old);
	if (old && installed[sig]) {
		prev = prog_act[sig];
		have_prev = 1;
	}
	if (!act) {
		if (have_prev) {
			*old = prev;
			return 0;
		}
		return kernel_sigaction(sig, NULL, old);
	}
	if (!is_handler(act)) {
		int was = installed[sig];
		installed[sig] = 0;
		int r = kernel_sigaction(sig, act, have_prev ? NULL : old);
		if (r) {
			installed[sig] = was;
			return r;
		}
		if (have_prev)
			*old = prev;
		return 0;
	}
	k = *act;
	k.sa_sigaction = fh_trampoline;
	k.sa_flags |= SA_SIGINFO;
	struct sigaction save = prog_act[sig];
	int was = installed[sig];
	prog_act[sig] = *act;
	installed[sig] = 1;
	int r = kernel_sigaction(sig, &k, have_prev ? NULL : old);
	if (r) {
		prog_act[sig] = save;
		installed[sig] = was;
		return r;
	}
	if (have_prev)
		*old = prev;
	return 0;
}

/* At start: put the trampoline in front of handlers installed before tracing began. */
void fh_signals_init(void)
{
	for (int sig = 1; sig < FH_NSIG; sig++) {
		struct sigaction a;
		if (sig == SIGKILL || sig == SIGSTOP || installed[sig] || sig == fh_prof_sig)
			continue;
		if (kernel_sigaction(sig, NULL, &a) || !is_handler(&a) ||
		    (a.sa_flags & SA_SIGINFO ? (void *)a.sa_sigaction : (void *)a.sa_handler) ==
		    (void *)fh_trampoline)
			continue;
		fh_sigaction_impl(sig, &a, NULL);
	}
}

FH_EXPORT int sigaction(int sig, const struct sigaction *act, struct sigaction *old);
int sigaction(int sig, const struct sigaction *act, struct sigaction *old)
{
	struct fh_call c;
	if (!act || !fh_on || fh_raw_getpid() != fh_pid || !fh_begin(&c, FH_ID_sigaction, -1))
		return fh_sigaction_impl(sig, act, old);
	c.rec->arg = sig;
	c.rec->arg2 = (int64_t)(uintptr_t)act->sa_handler;
	return fh_finish_errno(&c, fh_sigaction_impl(sig, act, old));
}

FH_EXPORT sighandler_t signal(int sig, sighandler_t h);
sighandler_t signal(int sig, sighandler_t h)
{
	struct sigaction a, old;
	struct fh_call c;
	memset(&a, 0, sizeof(a));
	a.sa_handler = h;
	a.sa_flags = SA_RESTART;
	if (sig <= 0 || sig >= FH_NSIG || sigemptyset(&a.sa_mask) || sigaddset(&a.sa_mask, sig)) {
		errno = EINVAL;
		return SIG_ERR;
	}
	bool rec = fh_on && fh_raw_getpid() == fh_pid && fh_begin(&c, FH_ID_signal, -1);
	if (rec) {
		c.rec->arg = sig;
		c.rec->arg2 = (int64_t)(uintptr_t)h;
	}
	int r = fh_sigaction_impl(sig, &a, &old);
	int saved = errno;
	if (rec) {
		fh_end(&c, r, FHT_CONV_ERRNO, saved);
		fh_done(&c);
	}
	errno = saved;
	return r ? SIG_ERR : old.sa_handler;
}
