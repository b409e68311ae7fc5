/* SPDX-License-Identifier: MIT */
/*
 * The diagnosis rules (diagnose_int.h; their order and thresholds: ARCHITECTURE.md,
 * "Diagnosis rules"): each counts attempt features on both sides, decides its kind when the
 * feature separates failing from passing attempts, and writes evidence lines with both counts.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "diagnose_int.h"
#include "hang.h"
#include "order.h"
#include "sources.h"
#include "stages.h"

/* ---- crash ---- */

/* The process that died in attempt a, described; NULL when none did. */
static const char *crash_of(struct arena *A, const struct fh_attempt *a)
{
	const struct fh_child *ch = a->f.crashed;
	const struct fh_block *b = a->trace ? a->trace->last_block : NULL;

	if (ch)
		return arena_printf(A, "child %d (%s) died by %s", ch->pid, ch->exe ? ch->exe : "?",
				    ch->signal);
	if (!a->f.self_died)
		return NULL;
	if (b && b->ended == FH_END_IN_FLIGHT)
		return arena_printf(A, "the pytest process died while blocked in %s%s", b->call,
				    diag_target_sfx(A, b->target));
	return "the pytest process died during the attempt";
}

bool rule_crash(struct dctx *c)
{
	int fc = 0, pc = 0;
	const char *first = NULL;

	for (size_t i = 0; i < c->t->nattempts; i++) {
		const struct fh_attempt *a = &c->t->attempts[i];
		const char *what = crash_of(c->A, a);

		if (!what)
			continue;
		if (attempt_failed(a)) {
			fc++;
			if (!first)
				first = what;
		} else if (attempt_passed(a)) {
			pc++;
		}
	}
	if (!fh_separates(fc, c->nf, pc, c->np))
		return false;
	diag_add_ev(c, arena_printf(c->A, "%d/%d failing attempts: %s; %d/%d passing attempts had a "
			       "process die", fc, c->nf, first, pc, c->np));
	diag_decide(c, FH_ON_NONE, arena_printf(c->A, "A process of the test died in the failing "
					   "attempts: %s.", first));
	return true;
}

/* ---- resource ---- */

static bool resource_error(const struct fh_err_count *e)
{
	return e->cls == FH_ERRC_RESOURCE;
}

/* Counts attempts with an error of the same call and errno as key (target ignored). */
static void count_error(struct dctx *c, const struct fh_err_count *key,
			bool (*pred)(const struct fh_err_count *), int *fc, int *pc)
{
	*fc = *pc = 0;
	for (size_t i = 0; i < c->t->nattempts; i++) {
		const struct fh_attempt *a = &c->t->attempts[i];
		bool has = false;

		if (!a->trace)
			continue;
		for (size_t k = 0; k < a->trace->nerrors && !has; k++) {
			const struct fh_err_count *e = &a->trace->errors[k];
			has = pred(e) && e->call_id == key->call_id && diag_streq(e->errno_name, key->errno_name);
		}
		if (has && attempt_failed(a))
			(*fc)++;
		else if (has && attempt_passed(a))
			(*pc)++;
	}
}

/* The error key (among failing attempts' errors matching pred) that separates best. */
static const struct fh_err_count *best_error(struct dctx *c, bool (*pred)(const struct fh_err_count *),
					     int *bfc, int *bpc)
{
	const struct fh_err_count *best = NULL;
	double best_score = -1;

	for (size_t i = 0; i < c->t->nattempts; i++) {
		const struct fh_attempt *a = &c->t->attempts[i];

		if (!attempt_failed(a) || !a->trace)
			continue;
		for (size_t k = 0; k < a->trace->nerrors; k++) {
			const struct fh_err_count *e = &a->trace->errors[k];
			int fc, pc;
			double score;

			if (!pred(e))
				continue;
			count_error(c, e, pred, &fc, &pc);
			score = (double)fc / c->nf - (c->np ? (double)pc / c->np : 0);
			if (score > best_score) {
				best_score = score;
				best = e;
				*bfc = fc;
				*bpc = pc;
			}
		}
	}
	return best;
}

static void growth_line(struct dctx *c, const char *what, bool fds)
{
	int first = -1, last = -1, fa = 0, la = 0;

	for (size_t i = 0; i < c->t->nattempts; i++) {
		const struct fh_attempt *a = &c->t->attempts[i];
		int v;

		if (!a->trace)
			continue;
		v = fds ? a->trace->fds : a->trace->threads;
		if (v < 0)
			continue;
		if (first < 0) {
			first = v;
			fa = a->attempt;
		}
		last = v;
		la = a->attempt;
	}
	if (first >= 0 && last > first)
		diag_add_ev(c, arena_printf(c->A, "%s at attempt start grew from %d (attempt %d) to %d "
				       "(attempt %d)", what, first, fa, last, la));
}

bool rule_resource(struct dctx *c)
{
	int fc = 0, pc = 0;
	const struct fh_err_count *e = best_error(c, resource_error, &fc, &pc);

	if (!e || !fh_separates(fc, c->nf, pc, c->np))
		return false;
	diag_add_ev(c, arena_printf(c->A, "%d/%d failing attempts: %s failed with %s%s; %d/%d passing "
			       "attempts had that error", fc, c->nf, e->call, e->errno_name,
			       diag_target_sfx(c->A, e->target), pc, c->np));
	growth_line(c, "open fds", true);
	growth_line(c, "threads", false);
	diag_decide(c, FH_ON_NONE, arena_printf(c->A, "A resource limit was hit: %s failed with %s in "
					   "the failing attempts.", e->call, e->errno_name));
	return true;
}

/* ---- state (needs no traces) ---- */

/* Attempts and failures of the test's earlier runs (test->hist without this run) that did, or
 * did not, use --fh-isolate. */
struct past { int runs, attempts, failed; };

static struct past past_runs(const struct dctx *c, bool isolated)
{
	const struct fh_history *h = c->t->hist;
	struct past p = { 0, 0, 0 };

	for (size_t i = 0; h && i < h->nruns; i++) {
		const struct fh_hist_run *r = &h->runs[i];

		if (r->isolate != isolated || !r->attempts || run_is_own_id(c->run, r->run_id))
			continue;
		p.runs++;
		p.attempts += r->attempts;
		p.failed += r->failed;
	}
	return p;
}

/* In a run without --fh-isolate: earlier isolated runs of the test never failed, and that is
 * improbable at this run's flake rate p: (1-p)^n < 0.05 over their n attempts. Adds the
 * evidence lines when so. */
static bool isolate_clears(struct dctx *c)
{
	struct past iso;
	double p, chance;

	if (c->run->meta.isolate || !c->t->hist || !c->nf_all || !c->np_all)
		return false;
	iso = past_runs(c, true);
	if (!iso.attempts || iso.failed)
		return false;
	p = (double)c->nf_all / (c->nf_all + c->np_all);
	chance = pow(1 - p, iso.attempts);
	if (chance >= 0.05)
		return false;
	diag_add_ev(c, arena_printf(c->A, "with --fh-isolate: 0/%d attempts failed (%d run%s); without it "
			       "in this run: %d/%d failed", iso.attempts, iso.runs,
			       iso.runs == 1 ? "" : "s", c->nf_all, c->nf_all + c->np_all));
	diag_add_ev(c, arena_printf(c->A, "at this run's flake rate (%.0f%%) %d isolated attempts without "
			       "a failure had a %.2g%% chance: isolation, not luck, made them pass",
			       100 * p, iso.attempts, 100 * chance));
	return true;
}

/* The converse, for a stable run with --fh-isolate: earlier runs without it failed. */
static void isolate_stable_note(struct dctx *c)
{
	struct past plain;

	if (!c->run->meta.isolate || !c->t->hist || c->nf_all || !c->np_all)
		return;
	plain = past_runs(c, false);
	if (!plain.failed)
		return;
	diag_add_ev(c, arena_printf(c->A, "with --fh-isolate in this run: 0/%d attempts failed; without it "
			       "in earlier runs: %d/%d failed (%d run%s): the test may depend on state "
			       "left by earlier attempts", c->np_all, plain.failed, plain.attempts,
			       plain.runs, plain.runs == 1 ? "" : "s"));
}

bool rule_state_isolate(struct dctx *c)
{
	if (!isolate_clears(c))
		return false;
	diag_decide(c, FH_ON_NONE, "The outcome depends on what ran before: the failures go away when "
		    "every fixture is torn down between attempts (--fh-isolate).");
	return true;
}

/* Outcomes in attempt order are passes, then failures. A merged run checks each source (its
 * own process and order of attempts) on its own: every source with failures passed before its
 * first one and never after; *sources counts the sources with failures. */
static bool passes_then_failures(const struct fh_test *t, int *k, int *m, int *first_fail,
				 int *last, int *sources)
{
	int src = -1, ks = 0;
	bool failing = false;

	*k = *m = *first_fail = *last = *sources = 0;
	for (size_t i = 0; i < t->nattempts; i++) {
		const struct fh_attempt *a = &t->attempts[i];

		if (!attempt_failed(a) && !attempt_passed(a))
			continue;
		if (a->source != src) {
			src = a->source;
			failing = false;
			ks = 0;
		}
		if (attempt_passed(a)) {
			if (failing)
				return false;
			ks++;
			(*k)++;
		} else {
			if (!failing) {
				if (!ks)
					return false;
				if (!*first_fail)
					*first_fail = a->attempt;
				(*sources)++;
			}
			failing = true;
			(*m)++;
		}
		*last = a->attempt;
	}
	return *k >= 1 && *m >= 2;
}

/* ---- order ---- */

/* Another test decides the outcome (order.c): its footprint separates failing from passing
 * attempts (or a bisection found it), and no replay refuted it. */
bool rule_order(struct dctx *c)
{
	const struct fh_order_test *o = c->t->order;

	if (!o || !o->decides)
		return false;
	for (size_t i = 0; i < o->nevidence; i++)
		diag_add_ev(c, o->evidence[i]);
	diag_decide(c, FH_ON_NONE, o->summary);
	return true;
}

bool rule_state(struct dctx *c)
{
	int k, m, first_fail, last, sources;
	const char *foot[4];
	size_t nfoot;

	if (!passes_then_failures(c->t, &k, &m, &first_fail, &last, &sources))
		return false;
	if (sources > 1)
		diag_add_ev(c, arena_printf(c->A, "in each of the %d runs (sources) with failures, attempts "
				       "passed and then failed: %d/%d attempts before the failures passed, %d/%d after "
				       "them failed", sources, k, k, m, m));
	else
		diag_add_ev(c, arena_printf(c->A, "%d/%d attempts before attempt %d passed; %d/%d attempts "
				       "from attempt %d to %d failed", k, k, first_fail, m, m,
				       first_fail, last));
	diag_add_ev(c, "failures start after earlier runs of the test in the same process and never "
		    "recover: something the test (or its fixtures) leaves behind accumulates");
	nfoot = order_state_lines(c->A, c->t, foot, ARRAY_SIZE(foot));
	for (size_t i = 0; i < nfoot; i++)
		diag_add_ev(c, foot[i]);
	isolate_clears(c);
	diag_decide(c, FH_ON_NONE, arena_printf(c->A, "The outcome depends on what ran before: the "
					   "first %d attempt%s passed, every later one failed.",
					   k, k == 1 ? "" : "s"));
	return true;
}

/* ---- timeout ---- */

/* The wait that ran out in attempt a (its class is a->f.ran_out), described; the block when
 * it was the last wait (NULL for a child the attempt killed itself). */
static const char *ran_out_what(struct arena *A, const struct fh_attempt *a,
				const struct fh_block **blk)
{
	const struct fh_block *b = a->trace->last_block;
	const struct fh_child *ch = a->f.killed;

	*blk = NULL;
	if (ch)
		return arena_printf(A, "child %s was killed by %s after %s", ch->exe ? ch->exe : "?",
				    ch->signal, diag_secs(A, ch->duration_s));
	*blk = b;
	return arena_printf(A, "%s%s waited %s and %s", b->call, diag_target_sfx(A, b->target),
			    diag_secs(A, b->waited_s),
			    b->ended == FH_END_TIMEOUT ? "timed out" : "was cut by a signal");
}

static double max_wait(const struct fh_attempt *a, int call_id, const char *target)
{
	double m = 0;

	if (!a->trace)
		return 0;
	for (size_t i = 0; i < a->trace->ncalls; i++) {
		const struct fh_call_stat *s = &a->trace->calls[i];
		if (s->call_id == call_id && (!target || !s->target || diag_streq(s->target, target)) &&
		    s->max_s > m)
			m = s->max_s;
	}
	return m;
}

bool rule_timeout(struct dctx *c)
{
	int counts[FH_ON_COUNT] = { 0 };
	enum fh_blocked_on best = FH_ON_NONE;
	int fc, pc = 0, waited_over = 0;
	const char *first_what = NULL;
	const struct fh_block *first_blk = NULL;
	double minw = INFINITY, maxw = 0, longest_pass = 0, thr;

	/* The class most failing attempts ran out on (a tie: the one seen first). */
	for (size_t i = 0; i < c->t->nattempts; i++)
		if (attempt_failed(&c->t->attempts[i]))
			counts[c->t->attempts[i].f.ran_out]++;
	for (size_t i = 0; i < c->t->nattempts; i++) {
		enum fh_blocked_on k = c->t->attempts[i].f.ran_out;

		if (k && attempt_failed(&c->t->attempts[i]) && (!best || counts[k] > counts[best]))
			best = k;
	}
	if (!best)
		return false;
	fc = counts[best];
	for (size_t i = 0; i < c->t->nattempts; i++) {
		const struct fh_attempt *a = &c->t->attempts[i];
		const struct fh_block *b;
		const char *what;

		if (a->f.ran_out != best)
			continue;
		if (attempt_passed(a)) {
			pc++;
		} else if (attempt_failed(a)) {
			what = ran_out_what(c->A, a, &b);
			if (!first_what) {
				first_what = what;
				first_blk = b;
			}
			if (b) {
				minw = fmin(minw, b->waited_s);
				maxw = fmax(maxw, b->waited_s);
			}
		}
	}
	if (!fh_separates(fc, c->nf, pc, c->np))
		return false;
	if (first_blk) {
		const char *range = minw < maxw * 0.95 ? arena_printf(c->A, "%s-%s",
			diag_secs(c->A, minw), diag_secs(c->A, maxw)) : diag_secs(c->A, maxw);

		thr = minw / 2;
		for (size_t i = 0; i < c->t->nattempts; i++) {
			const struct fh_attempt *a = &c->t->attempts[i];
			double w;

			if (!attempt_passed(a))
				continue;
			w = max_wait(a, first_blk->call_id, first_blk->target);
			longest_pass = fmax(longest_pass, w);
			if (w > thr)
				waited_over++;
		}
		diag_add_ev(c, arena_printf(c->A, "%d/%d failing attempts: %s%s waited %s and %s; %d/%d "
				       "passing attempts waited over %s there (longest %s)", fc, c->nf,
				       first_blk->call, diag_target_sfx(c->A, first_blk->target), range,
				       first_blk->ended == FH_END_TIMEOUT ? "timed out" :
				       "was cut by a signal", waited_over, c->np, diag_secs(c->A, thr),
				       diag_secs(c->A, longest_pass)));
	} else {
		diag_add_ev(c, arena_printf(c->A, "%d/%d failing attempts: %s; %d/%d passing attempts "
				       "ended a wait that way", fc, c->nf, first_what, pc, c->np));
	}
	/* Signals that cut the waits. */
	if (first_blk && first_blk->ended == FH_END_SIGNAL) {
		for (size_t i = 0; i < c->t->nattempts; i++) {
			const struct fh_attempt *a = &c->t->attempts[i];
			if (attempt_failed(a) && a->trace && a->trace->nsignals) {
				const struct fh_signal_ev *s = &a->trace->signals[a->trace->nsignals - 1];
				diag_add_ev(c, arena_printf(c->A, "attempt %d: %s from %s interrupted %s "
						       "at %s", a->attempt, s->signal,
						       s->from ? s->from : "an unknown sender",
						       s->interrupted ? s->interrupted : "?",
						       diag_secs(c->A, s->at_s)));
				break;
			}
		}
	}
	diag_decide(c, best, arena_printf(c->A, "Failing attempts ran out of time waiting (%s): %s.",
				     fh_blocked_on_names[best], first_what ? first_what : "a wait ran out"));
	return true;
}

/* ---- hang ---- */

/*
 * Attempts that never finished on their own: stopped at their time limit (--fh-timeout,
 * pytest-timeout) or ended with their process (features.c, f.hung). Decided before `broken`:
 * a test that hangs every time is better told as a hang. blocked_on is what the test thread
 * waited for in the hang snapshot; the contrast is the same call and target in the attempts
 * that finished.
 */
bool rule_hang(struct dctx *c)
{
	int nh = 0, counts[FH_ON_COUNT] = { 0 }, with = 0, nfin = 0, over = 0;
	enum fh_blocked_on best = FH_ON_NONE;
	const struct fh_attempt *first = NULL;
	const struct fh_hang_thread *m0 = NULL;
	const struct fh_hang *g0 = NULL, *dead = NULL;
	double minw = INFINITY, maxw = 0, longest = 0, limit = 0;
	const char *by = NULL;

	for (size_t i = 0; i < c->t->nattempts; i++) {
		const struct fh_attempt *a = &c->t->attempts[i];
		if (!a->f.hung)
			continue;
		nh++;
		counts[a->f.hang_on]++;
		if (!first)
			first = a;
		if (!by) {
			by = a->hang_by;
			limit = a->hang_limit_s;
		}
	}
	if (!nh)
		return false;
	for (int k = 1; k < FH_ON_COUNT; k++)
		if (counts[k] > counts[best])
			best = (enum fh_blocked_on)k;
	/* The hung attempts whose test thread waited in the same call, on the same target, as the
	 * first hung attempt with a snapshot. */
	for (size_t i = 0; i < c->t->nattempts; i++) {
		const struct fh_attempt *a = &c->t->attempts[i];
		const struct fh_hang *g = a->f.hung && a->trace ? a->trace->hang : NULL;
		const struct fh_hang_thread *m = hang_main(g);
		if (!m)
			continue;
		if (g->deadlock && !dead)
			dead = g;
		if (!m0) {
			m0 = m;
			g0 = g;
		}
		if (m->call_id != m0->call_id || !diag_streq(m->target, m0->target) ||
		    !diag_streq(m->syscall, m0->syscall))
			continue;
		with++;
		if (m->waited_s >= 0) {
			minw = fmin(minw, m->waited_s);
			maxw = fmax(maxw, m->waited_s);
		}
	}
	c->d->deadlock = dead != NULL;
	if (dead)
		diag_add_ev(c, dead->sentence);
	if (m0) {
		const char *range = maxw <= 0 ? "" : minw < maxw * 0.95 ?
			arena_printf(c->A, " waited %s-%s", diag_secs(c->A, minw), diag_secs(c->A, maxw)) :
			arena_printf(c->A, " waited %s", diag_secs(c->A, maxw));
		const char *what = hang_what(c->A, g0, range);
		const char *contrast = "";
		if (m0->call_id >= 0) {
			for (size_t i = 0; i < c->t->nattempts; i++) {
				const struct fh_attempt *a = &c->t->attempts[i];
				double w;
				if (a->f.hung || !a->trace || a->outcome == FH_SKIPPED)
					continue;
				nfin++;
				w = max_wait(a, m0->call_id, m0->target);
				longest = fmax(longest, w);
				over += w > 0.001;
			}
			if (nfin)
				contrast = arena_printf(c->A, "; %d/%d finished attempts waited over 1 ms "
							"there%s", over, nfin, over ? arena_printf(c->A,
							" (longest %s)", diag_secs(c->A, longest)) : "");
		}
		diag_add_ev(c, arena_printf(c->A, "%d/%d hung attempts: %s%s", with, nh, what, contrast));
		for (size_t i = 0; i < g0->nchildren; i++)
			if (g0->children[i].pid == g0->children[i].tid && m0->category != FH_CAT_PROC) {
				diag_add_ev(c, arena_printf(c->A, "a child was still running: %d (%s)",
						       g0->children[i].pid, g0->children[i].argv0 ?
						       g0->children[i].argv0 : g0->children[i].exe ?
						       g0->children[i].exe : "?"));
				break;
			}
	} else {
		diag_add_ev(c, arena_printf(c->A, "%d/%d failing attempts hung (stopped after %s, %s); no "
				       "hang snapshot: run under LD_PRELOAD=libfhtrace.so to see what "
				       "they waited for", nh, c->nf_all, diag_secs(c->A, limit),
				       by ? by : "limit"));
	}
	for (size_t i = 0; i < c->t->nattempts; i++) {
		const struct fh_attempt *a = &c->t->attempts[i];
		if (a->f.hung && a->hang_ended) {
			diag_add_ev(c, arena_printf(c->A, "attempt %d could not be interrupted (C code that "
					       "does not return on signals): the %s ended there",
					       a->attempt, a->hang_ended));
			break;
		}
	}
	if (nh < c->nf_all)
		diag_add_ev(c, arena_printf(c->A, "%d other failing attempts finished on their own",
				       c->nf_all - nh));
	diag_decide(c, best, dead ? arena_printf(c->A, "Attempts hung in a deadlock and were stopped "
					    "after %s (%s): %s", diag_secs(c->A, limit), by ? by : "limit",
					    dead->sentence) :
		    arena_printf(c->A, "Attempts hung and were stopped after %s (%s)%s%s.",
			    diag_secs(c->A, limit), by ? by : "limit", m0 ? ": " : "",
			    m0 ? hang_what(c->A, g0, NULL) : ""));
	return true;
}

/* ---- network ---- */

static bool network_error(const struct fh_err_count *e)
{
	return e->cls == FH_ERRC_NETWORK || e->cls == FH_ERRC_DNS;
}

bool rule_network(struct dctx *c)
{
	int fc = 0, pc = 0;
	const struct fh_err_count *e = best_error(c, network_error, &fc, &pc);
	bool dns;

	if (!e || !fh_separates(fc, c->nf, pc, c->np))
		return false;
	dns = e->cls == FH_ERRC_DNS;
	diag_add_ev(c, arena_printf(c->A, "%d/%d failing attempts: %s%s failed with %s%s; %d/%d passing "
			       "attempts had that error", fc, c->nf, e->call,
			       e->so_error ? " (SO_ERROR)" : "", e->errno_name,
			       diag_target_sfx(c->A, e->target), pc, c->np));
	diag_decide(c, dns ? FH_ON_DNS : FH_ON_NET,
		    arena_printf(c->A, "Failing attempts hit a %s error: %s%s returned %s.",
			    dns ? "name resolution" : "network", e->call,
			    diag_target_sfx(c->A, e->target), e->errno_name));
	return true;
}

/* ---- race ---- */

/* The test read a child's /proc entry too early (features: empty_proc_read): a race with
 * the child it had just started. */
static bool race_with_child(struct dctx *c)
{
	int fc = 0, pc = 0;
	const struct fh_attempt *fa = NULL;

	for (size_t i = 0; i < c->t->nattempts; i++) {
		const struct fh_attempt *a = &c->t->attempts[i];

		if (!a->f.empty_proc_read)
			continue;
		if (attempt_failed(a)) {
			fc++;
			if (!fa)
				fa = a;
		} else if (attempt_passed(a)) {
			pc++;
		}
	}
	if (!fa || !fh_separates(fc, c->nf, pc, c->np))
		return false;
	const struct fh_proc_read *r = &fa->trace->empty_proc;
	diag_add_ev(c, arena_printf(c->A, "%d/%d failing attempts: read nothing from %s, %s after "
				    "starting child %d (its exec had not set up the new program yet, "
				    "or it had already ended); %d/%d passing attempts read such an "
				    "entry empty", fc, c->nf, r->path, diag_secs(c->A, r->after_s),
				    r->pid, pc, c->np));
	diag_decide(c, FH_ON_NONE, arena_printf(c->A, "A race with a child process: the failing "
					   "attempts read %s before the child it names was ready.",
					   r->path));
	return true;
}

bool rule_race(struct dctx *c)
{
	int fc = 0, pc = 0, sleeps = 0;
	const struct fh_inflight *first = NULL;
	const struct fh_attempt *fa = NULL, *sa = NULL;

	if (race_with_child(c))
		return true;

	for (size_t i = 0; i < c->t->nattempts; i++) {
		const struct fh_attempt *a = &c->t->attempts[i];
		const struct fh_inflight *s = a->f.busy_after_sleep;
		const struct fh_inflight *f = s ? s : a->f.busy_at_end;

		if (!f)
			continue;
		if (attempt_failed(a)) {
			fc++;
			if (!first) {
				first = f;
				fa = a;
			}
			if (s) {
				sleeps++;
				if (!sa)
					sa = a;
			}
		} else if (attempt_passed(a)) {
			pc++;
		}
	}
	if (!fh_separates(fc, c->nf, pc, c->np))
		return false;
	if (sa) {
		const struct fh_inflight *b = sa->f.busy_after_sleep;
		const struct fh_block *sl = sa->trace->last_sleep;

		diag_add_ev(c, arena_printf(c->A, "%d/%d failing attempts: the test thread slept a fixed "
				       "%s (%s) and went on while %s %d/%d was still in %s%s; %d/%d "
				       "passing attempts had anything still running after their sleep "
				       "or at their end", sleeps, c->nf, diag_secs(c->A, sl->waited_s),
				       sl->call, b->pid == sa->pid ? "thread" : "process", b->pid,
				       b->tid, b->call, diag_target_sfx(c->A, b->target), pc, c->np));
		diag_decide(c, FH_ON_NONE, arena_printf(c->A, "A fixed sleep is used as synchronization: "
			"the failing attempts went on after %s while another %s was still in %s.",
			sl->call, b->pid == sa->pid ? "thread" : "process", b->call));
		return true;
	}
	diag_add_ev(c, arena_printf(c->A, "%d/%d failing attempts: %s %d/%d was still in %s%s when the "
			       "test failed (%s in); %d/%d passing attempts had another thread or "
			       "process still busy at their end", fc, c->nf,
			       first->pid == fa->pid ? "thread" : "process", first->pid, first->tid,
			       first->call, diag_target_sfx(c->A, first->target),
			       diag_secs(c->A, first->elapsed_s), pc, c->np));
	diag_decide(c, FH_ON_NONE, arena_printf(c->A, "The test failed while another %s of the attempt "
					   "had not finished (%s).",
					   first->pid == fa->pid ? "thread" : "process", first->call));
	return true;
}

/* ---- cpu ---- */

bool rule_cpu(struct dctx *c)
{
	const struct fh_test_features *tf = &c->t->feat;
	double mf = tf->cpu_fail_s, mp = tf->cpu_pass_s;
	int fc = 0, pc = 0;

	if (!tf->cpu_nfail || !tf->cpu_npass || mf < 2 * mp || mf - mp < 0.02 ||
	    tf->wait_fail_s - tf->wait_pass_s > (mf - mp) / 2)
		return false;
	for (size_t i = 0; i < c->t->nattempts; i++) {
		const struct fh_attempt *a = &c->t->attempts[i];

		if (!a->f.cpu_high)
			continue;
		if (attempt_failed(a))
			fc++;
		else if (attempt_passed(a))
			pc++;
	}
	if (!fh_separates(fc, c->nf, pc, c->np))
		return false;
	diag_add_ev(c, arena_printf(c->A, "%d/%d failing attempts used over %s of CPU (median %s); "
				    "%d/%d passing attempts did (median %s); CPU of the test's setup, "
				    "call and teardown, without pytest's reporting (with it: medians "
				    "%s and %s)", fc, c->nf, diag_secs(c->A, tf->cpu_mid_s),
				    diag_secs(c->A, mf), pc, c->np, diag_secs(c->A, mp),
				    diag_secs(c->A, tf->cpu_attempt_fail_s),
				    diag_secs(c->A, tf->cpu_attempt_pass_s)));
	diag_add_ev(c, arena_printf(c->A, "time in blocking calls: failing median %s, passing median %s: "
			       "the extra time was spent computing, not waiting",
			       diag_secs(c->A, tf->wait_fail_s), diag_secs(c->A, tf->wait_pass_s)));
	diag_decide(c, FH_ON_NONE, arena_printf(c->A, "Failing attempts were slow on CPU (median %s vs "
					   "%s), not waiting.", diag_secs(c->A, mf), diag_secs(c->A, mp)));
	return true;
}

/* ---- stable, broken, unexplained ---- */

bool rule_stable(struct dctx *c)
{
	if (c->nf_all)
		return false;
	diag_decide(c, FH_ON_NONE, c->np_all ? arena_printf(c->A, "No attempt failed (%d/%d passed).",
						       c->np_all, c->np_all) :
		    "No attempt ran to an outcome (all skipped).");
	isolate_stable_note(c);
	return true;
}

bool rule_broken(struct dctx *c)
{
	const struct fh_cluster *cl = c->t->nclusters ? &c->t->clusters[0] : NULL;

	if (c->np_all)
		return false;
	diag_add_ev(c, arena_printf(c->A, "%d/%d attempts failed", c->nf_all, c->nf_all));
	if (cl)
		diag_add_ev(c, arena_printf(c->A, "%d/%d failing attempts: %s%s%s", cl->count, c->nf_all,
				       cl->error_type ? cl->error_type : "failure",
				       cl->message ? ": " : "", cl->message ? cl->message : ""));
	diag_decide(c, FH_ON_NONE, "Every attempt failed: this is a real failure, not a flake.");
	return true;
}

bool rule_unexplained(struct dctx *c)
{
	const struct fh_test_features *tf = &c->t->feat;
	const char *hot = tf->hot_host >= 0 ? c->t->hosts[tf->hot_host].host : NULL;

	if (c->traced) {
		diag_add_ev(c, arena_printf(c->A, "no trace feature (errors, waits that ran out, signals, "
				       "processes that died, calls in flight, CPU time) is in at least "
				       "half of the %d failing attempts and at most a fifth of the %d "
				       "passing ones", c->nf, c->np));
		diag_decide(c, FH_ON_NONE, "Nothing the process did separates failing from passing "
			    "attempts; the failure looks random (e.g. randomness in the test or the code "
			    "under test).");
	} else {
		diag_add_ev(c, "tracing was off: run pytest with LD_PRELOAD=/path/to/libfhtrace.so to "
			    "record what each attempt waited for");
		diag_decide(c, FH_ON_NONE, "Outcomes alone do not explain the failures, and tracing was "
			    "off.");
	}
	if (hot) /* no mechanism, but a place (note_host adds the counts): say where to look */
		diag_decide(c, FH_ON_NONE, arena_printf(c->A, "Failures concentrate on host %s, and nothing "
						   "%s separates failing from passing attempts: look "
						   "at what differs on that machine (load, configuration, "
						   "network, data).", hot,
						   c->traced ? "the process did" : "recorded"));
	return true;
}

/* ---- where, not what ---- */

/* Failures concentrate on one host (the hot_host feature): an evidence line with both sides'
 * counts, whatever kind decided; the kind names the mechanism, this the place. */
bool note_host(struct dctx *c)
{
	const struct fh_test_features *tf = &c->t->feat;
	const struct fh_host_stat *h;

	if (tf->hot_host < 0 || !c->nf_all || !c->np_all)
		return false;
	h = &c->t->hosts[tf->hot_host];
	diag_add_ev(c, arena_printf(c->A, "%d/%d failures on %s (%d/%d attempts there failed); %d/%d "
			       "attempts elsewhere failed (%.2g%% chance if failures fell on hosts "
			       "at random)", tf->hot_fail, tf->hot_fail + tf->else_fail, h->host,
			       tf->hot_fail, tf->hot_n, tf->else_fail, tf->else_n,
			       100 * tf->hot_chance));
	c->d->host = h;
	if (c->d->kind != FH_KIND_UNEXPLAINED)
		c->d->summary = arena_printf(c->A, "%s Failures concentrate on host %s.",
					     c->d->summary ? c->d->summary : "", h->host);
	return true;
}
