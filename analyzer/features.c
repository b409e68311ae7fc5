/* SPDX-License-Identifier: MIT */
/*
 * Features: the step right after the evidence. It decides, once per attempt, what the
 * attempt's trace says (attempt->f), with what it needs from the test's distribution
 * (test->feat) and the class of every failed call (fh_err_count.cls): what the last wait was
 * for, whether a wait ran out, which process died, what else was still running, which errors
 * hit a limit or the network, which passing attempts are slow, which attempts burned CPU.
 * diagnose.c, summary.c, prompt.c and report/ read these facts and derive none of them, so the
 * heatmap's "blocked on" row and the diagnosis's `blocked_on` are one value. What a call means
 * comes from the call table's flags (preload/fhtrace_calls.h). Rules: ARCHITECTURE.md,
 * "Features".
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fhtrace_format.h"
#include "model.h"
#include "stages.h"

static bool streq(const char *a, const char *b)
{
	return a && b && !strcmp(a, b);
}

static const struct fht_call_info *call_info(int id)
{
	return id >= 0 ? fht_call((unsigned)id) : NULL;
}

/* What a wait was for: its category (the evidence join named a wait on a set of fds by what
 * it waited for; a block built otherwise is net on sockets). */
static enum fh_blocked_on block_class(const struct fh_block *b)
{
	switch (fh_wait_category(b->category, b->on_socket)) {
	case FH_CAT_NET: return FH_ON_NET;
	case FH_CAT_DNS: return FH_ON_DNS;
	case FH_CAT_SLEEP: return FH_ON_SLEEP;
	case FH_CAT_LOCK: return FH_ON_LOCK;
	case FH_CAT_PROC: return FH_ON_PROC;
	case FH_CAT_FILE: return FH_ON_FILE;
	default: return FH_ON_OTHER;
	}
}

/* What the test thread of a hang snapshot waited for: its wrapped call's class, else what the
 * system call it sat in says (a thread in no wrapped call: C code calling the kernel itself). */
static enum fh_blocked_on hang_class(const struct fh_hang_thread *t)
{
	static const struct { const char *sys; enum fh_blocked_on on; } sys[] = {
		{ "futex", FH_ON_LOCK }, { "nanosleep", FH_ON_SLEEP },
		{ "clock_nanosleep", FH_ON_SLEEP }, { "wait4", FH_ON_PROC }, { "waitid", FH_ON_PROC },
		{ "recvfrom", FH_ON_NET }, { "recvmsg", FH_ON_NET }, { "accept", FH_ON_NET },
		{ "accept4", FH_ON_NET }, { "connect", FH_ON_NET }, { "sendto", FH_ON_NET },
		{ "flock", FH_ON_LOCK }, { "pause", FH_ON_OTHER },
	};

	if (t->call) {
		struct fh_block b = { .category = t->category, .on_socket = t->on_socket };
		return block_class(&b);
	}
	for (size_t i = 0; t->syscall && i < ARRAY_SIZE(sys); i++)
		if (!strcmp(t->syscall, sys[i].sys))
			return sys[i].on;
	return FH_ON_OTHER;
}

/* Signals that mean the process crashed, whoever sent them. */
static bool crash_signal(const char *s)
{
	static const char *const sigs[] = { "SIGSEGV", "SIGABRT", "SIGBUS", "SIGFPE", "SIGILL",
		"SIGTRAP", "SIGSYS" };

	for (size_t i = 0; i < ARRAY_SIZE(sigs); i++)
		if (streq(s, sigs[i]))
			return true;
	return false;
}

static enum fh_err_class error_class(const struct fh_err_count *e)
{
	static const char *const limits[] = { "EMFILE", "ENFILE", "ENOSPC", "ENOMEM", "EADDRINUSE",
		"EDQUOT", "ENOBUFS" };
	static const char *const net[] = { "ECONNREFUSED", "ECONNRESET", "ECONNABORTED",
		"ENETUNREACH", "EHOSTUNREACH", "ENETDOWN", "EHOSTDOWN", "EPIPE", "ENOTCONN",
		"ENETRESET" };
	const struct fht_call_info *ci = call_info(e->call_id);
	unsigned fl = ci ? ci->flags : 0;
	const char *n = e->errno_name;

	if (!n)
		return FH_ERRC_OTHER;
	for (size_t i = 0; i < ARRAY_SIZE(limits); i++)
		if (streq(n, limits[i]))
			return FH_ERRC_RESOURCE;
	if (streq(n, "EAGAIN") && (fl & FHF_SPAWN))
		return FH_ERRC_RESOURCE;   /* no process or thread could be created */
	/* A resolver's failure (an EAI_* code, or a gethostbyname_r error other than a buffer that
	 * was too small) is a name resolution failure. */
	if (!strncmp(n, "EAI_", 4) || (ci && ci->category == FHT_CAT_DNS && !streq(n, "ERANGE")))
		return FH_ERRC_DNS;
	for (size_t i = 0; i < ARRAY_SIZE(net); i++)
		if (streq(n, net[i]))
			return FH_ERRC_NETWORK;
	if (streq(n, "ETIMEDOUT") && (fl & FHF_NETIO))
		return FH_ERRC_NETWORK;
	return FH_ERRC_OTHER;
}

/* The wait b was cut by a signal of the session's own machinery (xdist's controller, the time
 * limit): the session stopped it, the wait did not run out. */
static bool session_cut(const struct fh_attempt_trace *tr, const struct fh_block *b)
{
	for (size_t i = tr->nsignals; i-- > 0;) {
		const struct fh_signal_ev *s = &tr->signals[i];

		if (s->interrupted && streq(s->interrupted, b->call) && s->at_s >= b->start_s)
			return s->session;
	}
	return false;
}

static void trace_features(struct fh_attempt *a)
{
	struct fh_features *f = &a->f;
	struct fh_attempt_trace *tr = a->trace;
	const struct fh_block *b = tr->last_block;

	for (size_t i = 0; i < tr->nerrors; i++) {
		struct fh_err_count *e = &tr->errors[i];

		e->cls = error_class(e);
		e->so_error = call_info(e->call_id) && (call_info(e->call_id)->flags & FHF_SOERR);
		f->resource_error |= e->cls == FH_ERRC_RESOURCE;
		f->network_error |= e->cls == FH_ERRC_NETWORK || e->cls == FH_ERRC_DNS;
	}
	if (b)
		f->blocked_on = block_class(b);
	if (b && (b->ended == FH_END_TIMEOUT ||
		  (b->ended == FH_END_SIGNAL && !session_cut(tr, b)))) {
		f->ran_out = f->blocked_on;
	} else if (tr->kills_sent) {
		for (size_t i = 0; i < tr->nchildren && !f->ran_out; i++)
			if (tr->children[i].signal && !crash_signal(tr->children[i].signal)) {
				f->ran_out = FH_ON_PROC;
				f->killed = &tr->children[i];
			}
	}
	for (size_t i = 0; i < tr->nchildren && !f->crashed; i++) {
		const struct fh_child *ch = &tr->children[i];

		if (ch->signal && (crash_signal(ch->signal) || !tr->kills_sent))
			f->crashed = ch;
	}
	f->self_died = !f->crashed && tr->unfinished && attempt_failed(a);
	for (size_t i = 0; i < tr->nin_flight && !f->busy_at_end; i++)
		if (tr->in_flight[i].pid != a->pid || tr->in_flight[i].tid != a->tid)
			f->busy_at_end = &tr->in_flight[i];
	if (tr->last_sleep && tr->nbusy_after_sleep)
		f->busy_after_sleep = &tr->busy_after_sleep[0];
	for (int k = 0; k < FH_CAT_COUNT; k++)
		f->wait_s += tr->time_s[k];
	for (size_t i = 0; i < tr->nsignals && !f->got_sigchld; i++)
		f->got_sigchld = streq(tr->signals[i].signal, "SIGCHLD");
	f->empty_proc_read = tr->empty_proc.path != NULL;
	if (tr->hang && tr->hang->nthreads && tr->hang->threads[0].main)
		f->hang_on = hang_class(&tr->hang->threads[0]);
}

/* Passing durations vary (DESIGN.md perf): the slowest passing attempt is >= 3x the median and
 * >= 50 ms above it, or the sorted durations have a 2x, >= 50 ms gap with at least two
 * attempts on each side. The cut: the upper side of the gap, else max(2x median, median +
 * 50 ms). Needs >= 3 passing attempts. */
static void slow_cut(struct fh_test *t, double *d)
{
	struct fh_test_features *tf = &t->feat;
	size_t np = 0;
	double cut = INFINITY;

	for (size_t i = 0; i < t->nattempts; i++)
		if (attempt_passed(&t->attempts[i]))
			d[np++] = t->attempts[i].duration_s;
	tf->slow_cut_s = INFINITY;
	if (np < 3)
		return;
	tf->pass_median_s = fh_median(d, np); /* sorts d */
	tf->pass_max_s = d[np - 1];
	if (tf->pass_max_s >= 3 * tf->pass_median_s && tf->pass_max_s - tf->pass_median_s >= 0.05)
		cut = fmax(2 * tf->pass_median_s, tf->pass_median_s + 0.05);
	for (size_t i = 2; i + 1 < np; i++) { /* bimodal: >= 2 on each side of a 2x gap */
		if (d[i] >= 2 * d[i - 1] && d[i] - d[i - 1] >= 0.05) {
			cut = fmin(cut, d[i]);
			break;
		}
	}
	tf->slow_cut_s = cut;
	tf->unstable = isfinite(cut);
}

/* Medians of CPU and of blocking time over the traced failing and passing attempts. */
static void cpu_medians(struct fh_test *t, double *buf)
{
	struct fh_test_features *tf = &t->feat;
	size_t n = t->nattempts;
	double *cf = buf, *cp = buf + n, *wf = buf + 2 * n, *wp = buf + 3 * n;
	size_t nf = 0, np = 0;

	for (size_t i = 0; i < n; i++) {
		const struct fh_attempt *a = &t->attempts[i];

		if (!a->trace)
			continue;
		if (attempt_failed(a)) {
			cf[nf] = a->trace->cpu_s;
			wf[nf++] = a->f.wait_s;
		} else if (attempt_passed(a)) {
			cp[np] = a->trace->cpu_s;
			wp[np++] = a->f.wait_s;
		}
	}
	tf->cpu_nfail = (int)nf;
	tf->cpu_npass = (int)np;
	tf->cpu_fail_s = fh_median(cf, nf);
	tf->cpu_pass_s = fh_median(cp, np);
	tf->wait_fail_s = fh_median(wf, nf);
	tf->wait_pass_s = fh_median(wp, np);
	tf->cpu_mid_s = (tf->cpu_fail_s + tf->cpu_pass_s) / 2;
	/* the same medians over whole attempts, reporting included, for the evidence line */
	nf = np = 0;
	for (size_t i = 0; i < n; i++) {
		const struct fh_attempt *a = &t->attempts[i];

		if (a->trace && attempt_failed(a))
			cf[nf++] = a->trace->cpu_attempt_s;
		else if (a->trace && attempt_passed(a))
			cp[np++] = a->trace->cpu_attempt_s;
	}
	tf->cpu_attempt_fail_s = fh_median(cf, nf);
	tf->cpu_attempt_pass_s = fh_median(cp, np);
}

/* log C(n, k) */
static double log_choose(int n, int k)
{
	return lgamma(n + 1.0) - lgamma(k + 1.0) - lgamma(n - k + 1.0);
}

/* One-sided Fisher exact test: the chance that drawing f failing attempts at random from n,
 * of which nh ran on the host, puts at least fh of them there (hypergeometric upper tail). */
static double fisher_upper(int fh, int nh, int f, int n)
{
	double p = 0;

	for (int k = fh; k <= f && k <= nh; k++)
		if (f - k <= n - nh)
			p += exp(log_choose(nh, k) + log_choose(n - nh, f - k) - log_choose(n, f));
	return p > 1 ? 1 : p;
}

/* The host of each attempt, and the host failures concentrate on: the one with the highest
 * failure rate (ties: more failures, then the first by name) when at least 2 and at least half
 * of the failing attempts ran there, the rate on the other hosts is at most a fifth of its
 * rate, and failures spread at random over the attempts would put as many there with a chance
 * under 5% (one-sided Fisher exact test). Counts are failing and passing attempts. */
static void host_features(const struct fh_run *run, struct fh_test *t)
{
	int *fail = xcalloc(t->nhosts + 1, sizeof(int)), *all = xcalloc(t->nhosts + 1, sizeof(int));
	struct fh_test_features *tf = &t->feat;
	int nf = 0, n = 0, best = -1;

	tf->hot_host = -1;
	for (size_t i = 0; i < t->nattempts; i++) {
		struct fh_attempt *a = &t->attempts[i];
		const char *h = attempt_host(run, a);
		size_t k;

		if (!*h)
			h = "unknown";
		for (k = 0; k < t->nhosts && strcmp(t->hosts[k].host, h); k++)
			;
		a->f.host = k < t->nhosts ? (int)k : -1;
		if (k == t->nhosts || (!attempt_failed(a) && !attempt_passed(a)))
			continue;
		all[k]++;
		n++;
		if (attempt_failed(a)) {
			fail[k]++;
			nf++;
		}
	}
	for (size_t k = 0; k < t->nhosts; k++) {
		if (!all[k])
			continue;
		if (best < 0 || (double)fail[k] * all[best] > (double)fail[best] * all[k] ||
		    ((double)fail[k] * all[best] == (double)fail[best] * all[k] && fail[k] > fail[best]))
			best = (int)k;
	}
	if (best >= 0 && n > all[best]) {
		int fh = fail[best], nh = all[best], fe = nf - fh, ne = n - nh;
		double chance = fisher_upper(fh, nh, nf, n);

		if (fh >= 2 && 2 * fh >= nf && 5.0 * fe * nh <= (double)fh * ne && chance < 0.05) {
			tf->hot_host = best;
			tf->hot_fail = fh;
			tf->hot_n = nh;
			tf->else_fail = fe;
			tf->else_n = ne;
			tf->hot_chance = chance;
		}
	}
	free(fail);
	free(all);
}

static void test_features(const struct fh_run *run, struct fh_test *t)
{
	double *buf = xcalloc(4 * t->nattempts + 1, sizeof(double));

	memset(&t->feat, 0, sizeof(t->feat));
	for (size_t i = 0; i < t->nattempts; i++) {
		struct fh_attempt *a = &t->attempts[i];

		memset(&a->f, 0, sizeof(a->f));
		if (a->trace)
			trace_features(a);
		a->f.hung = a->hung && (a->hang_stopped || a->hang_ended);
	}
	slow_cut(t, buf);
	cpu_medians(t, buf);
	host_features(run, t);
	for (size_t i = 0; i < t->nattempts; i++) {
		struct fh_attempt *a = &t->attempts[i];

		a->f.slow = t->feat.unstable && attempt_passed(a) && a->duration_s >= t->feat.slow_cut_s;
		a->f.cpu_high = a->trace && a->trace->cpu_s > t->feat.cpu_mid_s;
	}
	free(buf);
}

void features_run(struct fh_run *run)
{
	for (size_t i = 0; i < run->ntests; i++)
		test_features(run, &run->tests[i]);
}
