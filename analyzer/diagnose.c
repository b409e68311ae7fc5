/* SPDX-License-Identifier: MIT */
/*
 * Diagnosis: names the kind of each test's flakiness from evidence that contrasts
 * its failing attempts with its passing ones, and flags performance flakes among passing
 * attempts. Deterministic and offline: the rules of the table `rules` run in its order
 * (documented in ARCHITECTURE.md, "Diagnosis rules") and the first that separates failing from
 * passing attempts decides; each evidence line gives counts on both sides. Nothing separates:
 * the kind is `unexplained`, never a guess. Without traces only stable, broken, state and
 * unexplained can be decided. The rules count attempt features (attempt->f, features.c); they
 * derive none themselves. `state` also uses the test's history (test->hist, filled by
 * history_update() before this stage; NULL with --no-history): earlier runs with --fh-isolate
 * that never failed.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hang.h"
#include "numfmt.h"
#include "order.h"
#include "sources.h"
#include "stages.h"

/* A feature separates when at least half of the failing attempts show it, at most a fifth of
 * the passing ones do, and the rates differ by at least one half. */
static bool separates(int fc, int nf, int pc, int np)
{
	double rf, rp;

	if (nf <= 0 || fc <= 0)
		return false;
	rf = (double)fc / nf;
	rp = np > 0 ? (double)pc / np : 0;
	return rf >= 0.5 && rp <= 0.2 && rf - rp >= 0.5;
}

static bool is_fail(const struct fh_attempt *a)
{
	return (a->outcome == FH_FAILED || a->outcome == FH_ERROR) && !a->xfail;
}

static bool is_pass(const struct fh_attempt *a)
{
	return a->outcome == FH_PASSED;
}

/* Seconds with two significant digits (buf_secs2), from A. */
static const char *fmt_s(struct arena *A, double s)
{
	struct buf b = BUF_INIT(64);
	const char *r;

	buf_secs2(&b, s);
	r = arena_strdup(A, buf_str(&b));
	buf_free(&b);
	return r;
}

struct dctx {
	struct arena *A;
	const struct fh_run *run;
	struct fh_test *t;
	struct fh_diagnosis *d;
	int nf, np;              /* failing and passing attempts with a trace (the trace rules) */
	int nf_all, np_all;      /* all failing and passing attempts */
	bool traced;             /* nf and np are both > 0: the trace rules can run */
	const char *ev[16];
	size_t nev;
};

static void add_ev(struct dctx *c, const char *line)
{
	if (c->nev < ARRAY_SIZE(c->ev) && line)
		c->ev[c->nev++] = line;
}

/* What a rule found (the kind is the rule's, from the table). */
static void decide(struct dctx *c, enum fh_blocked_on blocked_on, const char *summary)
{
	c->d->blocked_on = blocked_on;
	c->d->summary = summary;
}

static const char *target_sfx(struct arena *A, const char *target)
{
	return target ? arena_printf(A, " on %s", target) : "";
}

static bool streq(const char *a, const char *b)
{
	return a == b || (a && b && !strcmp(a, b));
}

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
				    target_sfx(A, b->target));
	return "the pytest process died during the attempt";
}

static bool rule_crash(struct dctx *c)
{
	int fc = 0, pc = 0;
	const char *first = NULL;

	for (size_t i = 0; i < c->t->nattempts; i++) {
		const struct fh_attempt *a = &c->t->attempts[i];
		const char *what = crash_of(c->A, a);

		if (!what)
			continue;
		if (is_fail(a)) {
			fc++;
			if (!first)
				first = what;
		} else if (is_pass(a)) {
			pc++;
		}
	}
	if (!separates(fc, c->nf, pc, c->np))
		return false;
	add_ev(c, arena_printf(c->A, "%d/%d failing attempts: %s; %d/%d passing attempts had a "
			       "process die", fc, c->nf, first, pc, c->np));
	decide(c, FH_ON_NONE, arena_printf(c->A, "A process of the test died in the failing "
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
			has = pred(e) && e->call_id == key->call_id && streq(e->errno_name, key->errno_name);
		}
		if (has && is_fail(a))
			(*fc)++;
		else if (has && is_pass(a))
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

		if (!is_fail(a) || !a->trace)
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
		add_ev(c, arena_printf(c->A, "%s at attempt start grew from %d (attempt %d) to %d "
				       "(attempt %d)", what, first, fa, last, la));
}

static bool rule_resource(struct dctx *c)
{
	int fc = 0, pc = 0;
	const struct fh_err_count *e = best_error(c, resource_error, &fc, &pc);

	if (!e || !separates(fc, c->nf, pc, c->np))
		return false;
	add_ev(c, arena_printf(c->A, "%d/%d failing attempts: %s failed with %s%s; %d/%d passing "
			       "attempts had that error", fc, c->nf, e->call, e->errno_name,
			       target_sfx(c->A, e->target), pc, c->np));
	growth_line(c, "open fds", true);
	growth_line(c, "threads", false);
	decide(c, FH_ON_NONE, arena_printf(c->A, "A resource limit was hit: %s failed with %s in "
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
	add_ev(c, arena_printf(c->A, "with --fh-isolate: 0/%d attempts failed (%d run%s); without it "
			       "in this run: %d/%d failed", iso.attempts, iso.runs,
			       iso.runs == 1 ? "" : "s", c->nf_all, c->nf_all + c->np_all));
	add_ev(c, arena_printf(c->A, "at this run's flake rate (%.0f%%) %d isolated attempts without "
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
	add_ev(c, arena_printf(c->A, "with --fh-isolate in this run: 0/%d attempts failed; without it "
			       "in earlier runs: %d/%d failed (%d run%s): the test may depend on state "
			       "left by earlier attempts", c->np_all, plain.failed, plain.attempts,
			       plain.runs, plain.runs == 1 ? "" : "s"));
}

static bool rule_state_isolate(struct dctx *c)
{
	if (!isolate_clears(c))
		return false;
	decide(c, FH_ON_NONE, "The outcome depends on what ran before: the failures go away when "
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

		if (!is_fail(a) && !is_pass(a))
			continue;
		if (a->source != src) {
			src = a->source;
			failing = false;
			ks = 0;
		}
		if (is_pass(a)) {
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
static bool rule_order(struct dctx *c)
{
	const struct fh_order_test *o = c->t->order;

	if (!o || !o->decides)
		return false;
	for (size_t i = 0; i < o->nevidence; i++)
		add_ev(c, o->evidence[i]);
	decide(c, FH_ON_NONE, o->summary);
	return true;
}

static bool rule_state(struct dctx *c)
{
	int k, m, first_fail, last, sources;
	const char *foot[4];
	size_t nfoot;

	if (!passes_then_failures(c->t, &k, &m, &first_fail, &last, &sources))
		return false;
	if (sources > 1)
		add_ev(c, arena_printf(c->A, "in each of the %d runs (sources) with failures, attempts "
				       "passed and then failed: %d/%d attempts before the failures passed, %d/%d after "
				       "them failed", sources, k, k, m, m));
	else
		add_ev(c, arena_printf(c->A, "%d/%d attempts before attempt %d passed; %d/%d attempts "
				       "from attempt %d to %d failed", k, k, first_fail, m, m,
				       first_fail, last));
	add_ev(c, "failures start after earlier runs of the test in the same process and never "
	       "recover: something the test (or its fixtures) leaves behind accumulates");
	nfoot = order_state_lines(c->A, c->t, foot, ARRAY_SIZE(foot));
	for (size_t i = 0; i < nfoot; i++)
		add_ev(c, foot[i]);
	isolate_clears(c);
	decide(c, FH_ON_NONE, arena_printf(c->A, "The outcome depends on what ran before: the "
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
				    ch->signal, fmt_s(A, ch->duration_s));
	*blk = b;
	return arena_printf(A, "%s%s waited %s and %s", b->call, target_sfx(A, b->target),
			    fmt_s(A, b->waited_s),
			    b->ended == FH_END_TIMEOUT ? "timed out" : "was cut by a signal");
}

static double max_wait(const struct fh_attempt *a, int call_id, const char *target)
{
	double m = 0;

	if (!a->trace)
		return 0;
	for (size_t i = 0; i < a->trace->ncalls; i++) {
		const struct fh_call_stat *s = &a->trace->calls[i];
		if (s->call_id == call_id && (!target || !s->target || streq(s->target, target)) &&
		    s->max_s > m)
			m = s->max_s;
	}
	return m;
}

static bool rule_timeout(struct dctx *c)
{
	int counts[FH_ON_COUNT] = { 0 };
	enum fh_blocked_on best = FH_ON_NONE;
	int fc, pc = 0, waited_over = 0;
	const char *first_what = NULL;
	const struct fh_block *first_blk = NULL;
	double minw = INFINITY, maxw = 0, longest_pass = 0, thr;

	/* The class most failing attempts ran out on (a tie: the one seen first). */
	for (size_t i = 0; i < c->t->nattempts; i++)
		if (is_fail(&c->t->attempts[i]))
			counts[c->t->attempts[i].f.ran_out]++;
	for (size_t i = 0; i < c->t->nattempts; i++) {
		enum fh_blocked_on k = c->t->attempts[i].f.ran_out;

		if (k && is_fail(&c->t->attempts[i]) && (!best || counts[k] > counts[best]))
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
		if (is_pass(a)) {
			pc++;
		} else if (is_fail(a)) {
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
	if (!separates(fc, c->nf, pc, c->np))
		return false;
	if (first_blk) {
		const char *range = minw < maxw * 0.95 ? arena_printf(c->A, "%s-%s",
			fmt_s(c->A, minw), fmt_s(c->A, maxw)) : fmt_s(c->A, maxw);

		thr = minw / 2;
		for (size_t i = 0; i < c->t->nattempts; i++) {
			const struct fh_attempt *a = &c->t->attempts[i];
			double w;

			if (!is_pass(a))
				continue;
			w = max_wait(a, first_blk->call_id, first_blk->target);
			longest_pass = fmax(longest_pass, w);
			if (w > thr)
				waited_over++;
		}
		add_ev(c, arena_printf(c->A, "%d/%d failing attempts: %s%s waited %s and %s; %d/%d "
				       "passing attempts waited over %s there (longest %s)", fc, c->nf,
				       first_blk->call, target_sfx(c->A, first_blk->target), range,
				       first_blk->ended == FH_END_TIMEOUT ? "timed out" :
				       "was cut by a signal", waited_over, c->np, fmt_s(c->A, thr),
				       fmt_s(c->A, longest_pass)));
	} else {
		add_ev(c, arena_printf(c->A, "%d/%d failing attempts: %s; %d/%d passing attempts "
				       "ended a wait that way", fc, c->nf, first_what, pc, c->np));
	}
	/* Signals that cut the waits. */
	if (first_blk && first_blk->ended == FH_END_SIGNAL) {
		for (size_t i = 0; i < c->t->nattempts; i++) {
			const struct fh_attempt *a = &c->t->attempts[i];
			if (is_fail(a) && a->trace && a->trace->nsignals) {
				const struct fh_signal_ev *s = &a->trace->signals[a->trace->nsignals - 1];
				add_ev(c, arena_printf(c->A, "attempt %d: %s from pid %d interrupted %s "
						       "at %s", a->attempt, s->signal, s->sender_pid,
						       s->interrupted ? s->interrupted : "?",
						       fmt_s(c->A, s->at_s)));
				break;
			}
		}
	}
	decide(c, best, arena_printf(c->A, "Failing attempts ran out of time waiting (%s): %s.",
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
static bool rule_hang(struct dctx *c)
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
		if (m->call_id != m0->call_id || !streq(m->target, m0->target) ||
		    !streq(m->syscall, m0->syscall))
			continue;
		with++;
		if (m->waited_s >= 0) {
			minw = fmin(minw, m->waited_s);
			maxw = fmax(maxw, m->waited_s);
		}
	}
	c->d->deadlock = dead != NULL;
	if (dead)
		add_ev(c, dead->sentence);
	if (m0) {
		const char *range = maxw <= 0 ? "" : minw < maxw * 0.95 ?
			arena_printf(c->A, " waited %s-%s", fmt_s(c->A, minw), fmt_s(c->A, maxw)) :
			arena_printf(c->A, " waited %s", fmt_s(c->A, maxw));
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
							" (longest %s)", fmt_s(c->A, longest)) : "");
		}
		add_ev(c, arena_printf(c->A, "%d/%d hung attempts: %s%s", with, nh, what, contrast));
		for (size_t i = 0; i < g0->nchildren; i++)
			if (g0->children[i].pid == g0->children[i].tid && m0->category != FH_CAT_PROC) {
				add_ev(c, arena_printf(c->A, "a child was still running: %d (%s)",
						       g0->children[i].pid, g0->children[i].argv0 ?
						       g0->children[i].argv0 : g0->children[i].exe ?
						       g0->children[i].exe : "?"));
				break;
			}
	} else {
		add_ev(c, arena_printf(c->A, "%d/%d failing attempts hung (stopped after %s, %s); no "
				       "hang snapshot: run under LD_PRELOAD=libfhtrace.so to see what "
				       "they waited for", nh, c->nf_all, fmt_s(c->A, limit),
				       by ? by : "limit"));
	}
	for (size_t i = 0; i < c->t->nattempts; i++) {
		const struct fh_attempt *a = &c->t->attempts[i];
		if (a->f.hung && a->hang_ended) {
			add_ev(c, arena_printf(c->A, "attempt %d could not be interrupted (C code that "
					       "does not return on signals): the %s ended there",
					       a->attempt, a->hang_ended));
			break;
		}
	}
	if (nh < c->nf_all)
		add_ev(c, arena_printf(c->A, "%d other failing attempts finished on their own",
				       c->nf_all - nh));
	decide(c, best, dead ? arena_printf(c->A, "Attempts hung in a deadlock and were stopped "
					    "after %s (%s): %s", fmt_s(c->A, limit), by ? by : "limit",
					    dead->sentence) :
	       arena_printf(c->A, "Attempts hung and were stopped after %s (%s)%s%s.",
			    fmt_s(c->A, limit), by ? by : "limit", m0 ? ": " : "",
			    m0 ? hang_what(c->A, g0, NULL) : ""));
	return true;
}

/* ---- network ---- */

static bool network_error(const struct fh_err_count *e)
{
	return e->cls == FH_ERRC_NETWORK || e->cls == FH_ERRC_DNS;
}

static bool rule_network(struct dctx *c)
{
	int fc = 0, pc = 0;
	const struct fh_err_count *e = best_error(c, network_error, &fc, &pc);
	bool dns;

	if (!e || !separates(fc, c->nf, pc, c->np))
		return false;
	dns = e->cls == FH_ERRC_DNS;
	add_ev(c, arena_printf(c->A, "%d/%d failing attempts: %s%s failed with %s%s; %d/%d passing "
			       "attempts had that error", fc, c->nf, e->call,
			       e->so_error ? " (SO_ERROR)" : "", e->errno_name,
			       target_sfx(c->A, e->target), pc, c->np));
	decide(c, dns ? FH_ON_DNS : FH_ON_NET,
	       arena_printf(c->A, "Failing attempts hit a %s error: %s%s returned %s.",
			    dns ? "name resolution" : "network", e->call,
			    target_sfx(c->A, e->target), e->errno_name));
	return true;
}

/* ---- race ---- */

static bool rule_race(struct dctx *c)
{
	int fc = 0, pc = 0, sleeps = 0;
	const struct fh_inflight *first = NULL;
	const struct fh_attempt *fa = NULL, *sa = NULL;

	for (size_t i = 0; i < c->t->nattempts; i++) {
		const struct fh_attempt *a = &c->t->attempts[i];
		const struct fh_inflight *s = a->f.busy_after_sleep;
		const struct fh_inflight *f = s ? s : a->f.busy_at_end;

		if (!f)
			continue;
		if (is_fail(a)) {
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
		} else if (is_pass(a)) {
			pc++;
		}
	}
	if (!separates(fc, c->nf, pc, c->np))
		return false;
	if (sa) {
		const struct fh_inflight *b = sa->f.busy_after_sleep;
		const struct fh_block *sl = sa->trace->last_sleep;

		add_ev(c, arena_printf(c->A, "%d/%d failing attempts: the test thread slept a fixed "
				       "%s (%s) and went on while %s %d/%d was still in %s%s; %d/%d "
				       "passing attempts had anything still running after their sleep "
				       "or at their end", sleeps, c->nf, fmt_s(c->A, sl->waited_s),
				       sl->call, b->pid == sa->pid ? "thread" : "process", b->pid,
				       b->tid, b->call, target_sfx(c->A, b->target), pc, c->np));
		decide(c, FH_ON_NONE, arena_printf(c->A, "A fixed sleep is used as synchronization: "
			"the failing attempts went on after %s while another %s was still in %s.",
			sl->call, b->pid == sa->pid ? "thread" : "process", b->call));
		return true;
	}
	add_ev(c, arena_printf(c->A, "%d/%d failing attempts: %s %d/%d was still in %s%s when the "
			       "test failed (%s in); %d/%d passing attempts had another thread or "
			       "process still busy at their end", fc, c->nf,
			       first->pid == fa->pid ? "thread" : "process", first->pid, first->tid,
			       first->call, target_sfx(c->A, first->target),
			       fmt_s(c->A, first->elapsed_s), pc, c->np));
	decide(c, FH_ON_NONE, arena_printf(c->A, "The test failed while another %s of the attempt "
					   "had not finished (%s).",
					   first->pid == fa->pid ? "thread" : "process", first->call));
	return true;
}

/* ---- cpu ---- */

static bool rule_cpu(struct dctx *c)
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
		if (is_fail(a))
			fc++;
		else if (is_pass(a))
			pc++;
	}
	if (!separates(fc, c->nf, pc, c->np))
		return false;
	add_ev(c, arena_printf(c->A, "%d/%d failing attempts used over %s of CPU (median %s); %d/%d "
			       "passing attempts did (median %s)", fc, c->nf, fmt_s(c->A, tf->cpu_mid_s),
			       fmt_s(c->A, mf), pc, c->np, fmt_s(c->A, mp)));
	add_ev(c, arena_printf(c->A, "time in blocking calls: failing median %s, passing median %s: "
			       "the extra time was spent computing, not waiting",
			       fmt_s(c->A, tf->wait_fail_s), fmt_s(c->A, tf->wait_pass_s)));
	decide(c, FH_ON_NONE, arena_printf(c->A, "Failing attempts were slow on CPU (median %s vs "
					   "%s), not waiting.", fmt_s(c->A, mf), fmt_s(c->A, mp)));
	return true;
}

static void finish_evidence(struct dctx *c)
{
	c->d->evidence = arena_alloc(c->A, sizeof(*c->d->evidence) * (c->nev + 1));
	memcpy(c->d->evidence, c->ev, sizeof(*c->ev) * c->nev);
	c->d->nevidence = c->nev;
}

/* ---- stable, broken, unexplained ---- */

static bool rule_stable(struct dctx *c)
{
	if (c->nf_all)
		return false;
	decide(c, FH_ON_NONE, c->np_all ? arena_printf(c->A, "No attempt failed (%d/%d passed).",
						       c->np_all, c->np_all) :
	       "No attempt ran to an outcome (all skipped).");
	isolate_stable_note(c);
	return true;
}

static bool rule_broken(struct dctx *c)
{
	const struct fh_cluster *cl = c->t->nclusters ? &c->t->clusters[0] : NULL;

	if (c->np_all)
		return false;
	add_ev(c, arena_printf(c->A, "%d/%d attempts failed", c->nf_all, c->nf_all));
	if (cl)
		add_ev(c, arena_printf(c->A, "%d/%d failing attempts: %s%s%s", cl->count, c->nf_all,
				       cl->error_type ? cl->error_type : "failure",
				       cl->message ? ": " : "", cl->message ? cl->message : ""));
	decide(c, FH_ON_NONE, "Every attempt failed: this is a real failure, not a flake.");
	return true;
}

static bool rule_unexplained(struct dctx *c)
{
	const struct fh_test_features *tf = &c->t->feat;
	const char *hot = tf->hot_host >= 0 ? c->t->hosts[tf->hot_host].host : NULL;

	if (c->traced) {
		add_ev(c, arena_printf(c->A, "no trace feature (errors, waits that ran out, signals, "
				       "processes that died, calls in flight, CPU time) is in at least "
				       "half of the %d failing attempts and at most a fifth of the %d "
				       "passing ones", c->nf, c->np));
		decide(c, FH_ON_NONE, "Nothing the process did separates failing from passing "
		       "attempts; the failure looks random (e.g. randomness in the test or the code "
		       "under test).");
	} else {
		add_ev(c, "tracing was off: run pytest with LD_PRELOAD=/path/to/libfhtrace.so to "
		       "record what each attempt waited for");
		decide(c, FH_ON_NONE, "Outcomes alone do not explain the failures, and tracing was "
		       "off.");
	}
	if (hot) /* no mechanism, but a place (note_host adds the counts): say where to look */
		decide(c, FH_ON_NONE, arena_printf(c->A, "Failures concentrate on host %s, and nothing "
						   "%s separates failing from passing attempts: look "
						   "at what differs on that machine (load, configuration, "
						   "network, data).", hot,
						   c->traced ? "the process did" : "recorded"));
	return true;
}

/* ---- where, not what ---- */

/* Failures concentrate on one host (the hot_host feature): an evidence line with both sides'
 * counts, whatever kind decided; the kind names the mechanism, this the place. */
static bool note_host(struct dctx *c)
{
	const struct fh_test_features *tf = &c->t->feat;
	const struct fh_host_stat *h;

	if (tf->hot_host < 0 || !c->nf_all || !c->np_all)
		return false;
	h = &c->t->hosts[tf->hot_host];
	add_ev(c, arena_printf(c->A, "%d/%d failures on %s (%d/%d attempts there failed); %d/%d "
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

/* ---- the decision ---- */

/*
 * The rules in the order they are tried (ARCHITECTURE.md, "Diagnosis rules"); the first that
 * applies decides the kind. A rule that needs traces is skipped unless at least one failing
 * and one passing attempt have one. stable and broken count every attempt, the others the
 * traced ones (rule_state counts outcomes itself); unexplained always applies.
 */
static const struct rule {
	enum fh_kind kind;
	bool needs_trace;
	bool (*applies)(struct dctx *c);
} rules[] = {
	{ FH_KIND_STABLE, false, rule_stable },
	{ FH_KIND_HANG, false, rule_hang },
	{ FH_KIND_BROKEN, false, rule_broken },
	{ FH_KIND_CRASH, true, rule_crash },
	{ FH_KIND_ORDER, false, rule_order },
	{ FH_KIND_RESOURCE, true, rule_resource },
	{ FH_KIND_STATE, false, rule_state },
	{ FH_KIND_STATE, false, rule_state_isolate },
	{ FH_KIND_TIMEOUT, true, rule_timeout },
	{ FH_KIND_NETWORK, true, rule_network },
	{ FH_KIND_RACE, true, rule_race },
	{ FH_KIND_CPU, true, rule_cpu },
	{ FH_KIND_UNEXPLAINED, false, rule_unexplained },
};

/* Rules that say where rather than what: each runs after the kind is decided and adds its
 * evidence (and a sentence to the summary) whatever the kind. */
static const struct note {
	bool needs_trace;
	bool (*add)(struct dctx *c);
} notes[] = {
	{ false, note_host },
};

static void diagnose_test(struct fh_run *run, struct fh_test *t)
{
	struct dctx c;

	memset(&c, 0, sizeof(c));
	c.A = &run->arena;
	c.run = run;
	c.t = t;
	c.d = arena_alloc(c.A, sizeof(*c.d));
	/* Trace rules compare traced attempts only: an attempt without a trace (tracing stopped,
	 * e.g. at the fd limit) neither has nor lacks a feature. */
	for (size_t i = 0; i < t->nattempts; i++) {
		const struct fh_attempt *a = &t->attempts[i];

		if (is_fail(a)) {
			c.nf_all++;
			c.nf += a->trace != NULL;
		} else if (is_pass(a)) {
			c.np_all++;
			c.np += a->trace != NULL;
		}
	}
	c.traced = c.nf > 0 && c.np > 0;
	for (size_t r = 0; r < ARRAY_SIZE(rules); r++) {
		if ((rules[r].needs_trace && !c.traced) || !rules[r].applies(&c))
			continue;
		c.d->kind = rules[r].kind;
		break;
	}
	for (size_t r = 0; r < ARRAY_SIZE(notes); r++)
		if (!notes[r].needs_trace || c.traced)
			notes[r].add(&c);
	if (run->meta.tracing && c.traced && c.d->kind != FH_KIND_STABLE &&
	    c.d->kind != FH_KIND_BROKEN && (c.nf < c.nf_all || c.np < c.np_all))
		add_ev(&c, arena_printf(c.A, "%d of %d attempts have no trace (tracing stopped or was "
					"off for them); trace counts above are over traced attempts",
					c.nf_all + c.np_all - c.nf - c.np, c.nf_all + c.np_all));
	finish_evidence(&c);
	if (t->order) {
		c.d->polluters = t->order->polluters;
		c.d->npolluters = t->order->npolluters;
	}
	t->diag = c.d;
}

/* ---- performance flakes ---- */

struct named { int id; const char *name; double slow, fast, extra; };

/* Adds val to call id's slow or fast total. */
static void add_named(struct named **v, size_t *n, size_t *cap, int id, const char *name,
		      double val, bool slow)
{
	size_t i;

	for (i = 0; i < *n && (*v)[i].id != id; i++)
		;
	if (i == *n) {
		GROW(*v, *cap, *n + 1);
		(*v)[i] = (struct named){ id, name, 0, 0, 0 };
		(*n)++;
	}
	if (slow)
		(*v)[i].slow += val;
	else
		(*v)[i].fast += val;
}

/* Biggest extra time first (extra = mean slow - mean fast); a tie in call table order. */
static int cmp_named_extra(const void *a, const void *b)
{
	const struct named *x = a, *y = b;

	if (x->extra != y->extra)
		return (y->extra > x->extra) - (y->extra < x->extra);
	return (x->id > y->id) - (x->id < y->id);
}

static void perf_test(struct fh_run *run, struct fh_test *t)
{
	struct arena *A = &run->arena;
	struct fh_perf *p = arena_alloc(A, sizeof(*p));
	size_t nslow = 0, nfast = 0, ncalls = 0, ccalls = 0;
	double med = t->feat.pass_median_s, mx = t->feat.pass_max_s;
	double cat_slow[FH_CAT_COUNT + 1] = { 0 }, cat_fast[FH_CAT_COUNT + 1] = { 0 };
	struct named *calls = NULL, *mains = NULL;
	size_t nmains = 0, cmains = 0;
	bool any_trace = false;

	t->perf = p;
	p->by_category = arena_alloc(A, sizeof(*p->by_category) * (FH_CAT_COUNT + 1));
	p->slow_attempts = arena_alloc(A, sizeof(int) * (t->nattempts + 1));
	if (!t->feat.unstable)
		goto out;
	p->unstable = true;
	for (size_t i = 0; i < t->nattempts; i++) {
		const struct fh_attempt *a = &t->attempts[i];
		bool slow = a->f.slow;

		if (!is_pass(a))
			continue;
		if (slow)
			p->slow_attempts[p->nslow++] = a->attempt;
		if (!a->trace)
			continue;
		any_trace = true;
		slow ? nslow++ : nfast++;
		for (int k = 0; k < FH_CAT_COUNT; k++)
			(slow ? cat_slow : cat_fast)[k] += a->trace->time_s[k];
		(slow ? cat_slow : cat_fast)[FH_CAT_COUNT] += a->trace->cpu_s;
		for (size_t k = 0; k < a->trace->ncalls; k++) {
			const struct fh_call_stat *cs = &a->trace->calls[k];

			add_named(&calls, &ncalls, &ccalls, cs->call_id, cs->call, cs->total_s, slow);
			add_named(&mains, &nmains, &cmains, cs->call_id, cs->call, cs->main_s, slow);
		}
	}
	if (any_trace && nslow && nfast) {
		for (int k = 0; k <= FH_CAT_COUNT; k++)
			p->by_category[p->nby_category++] = (struct fh_named_value){
				k < FH_CAT_COUNT ? fh_category_names[k] : "cpu",
				cat_slow[k] / (double)nslow - cat_fast[k] / (double)nfast };
		for (size_t k = 0; k < ncalls; k++)
			calls[k].extra = calls[k].slow / (double)nslow - calls[k].fast / (double)nfast;
		if (ncalls)
			qsort(calls, ncalls, sizeof(*calls), cmp_named_extra);
		p->by_call = arena_alloc(A, sizeof(*p->by_call) * (ncalls + 1));
		for (size_t k = 0; k < ncalls && p->nby_call < 8; k++)
			p->by_call[p->nby_call++] = (struct fh_named_value){ calls[k].name,
									     calls[k].extra };
	}
	{
		struct buf b = BUF_INIT(4096);

		buf_printf(&b, "Passing attempts vary in duration: slowest %s vs median %s",
			   fmt_s(A, mx), fmt_s(A, med));
		/* Name the call the test thread itself spent the extra time in when there is one
		 * (what the user waited on), else the biggest over all threads and processes. */
		const struct named *best = NULL;
		double best_extra = 0.005;

		for (size_t k = 0; nslow && nfast && k < nmains; k++) {
			double x = mains[k].slow / (double)nslow - mains[k].fast / (double)nfast;
			if (x > best_extra || (x == best_extra && best && mains[k].id < best->id)) {
				best_extra = x;
				best = &mains[k];
			}
		}
		if (best) {
			buf_printf(&b, "; slow attempts spent +%s in %s, fast ones %s",
				   fmt_s(A, best_extra), best->name, fmt_s(A, best->fast / (double)nfast));
		} else if (p->nby_call && p->by_call[0].value > 0) {
			/* calls[0] is by_call[0] (sorted above) */
			buf_printf(&b, "; slow attempts spent +%s in %s, fast ones %s",
				   fmt_s(A, p->by_call[0].value), p->by_call[0].name,
				   fmt_s(A, calls[0].fast / (double)nfast));
		} else if (any_trace && nslow && nfast) {
			double cpu = cat_slow[FH_CAT_COUNT] / (double)nslow -
				     cat_fast[FH_CAT_COUNT] / (double)nfast;
			buf_printf(&b, "; slow attempts spent +%s on CPU", fmt_s(A, cpu));
		}
		buf_puts(&b, ".");
		p->summary = arena_strdup(A, buf_str(&b));
		buf_free(&b);
	}
out:
	if (!p->nby_category)
		for (int k = 0; k < FH_CAT_COUNT; k++)
			p->by_category[p->nby_category++] = (struct fh_named_value){ fh_category_names[k], 0 };
	if (!p->by_call)
		p->by_call = arena_alloc(A, sizeof(*p->by_call));
	free(calls);
	free(mains);
}

void diagnose_run(struct fh_run *run)
{
	for (size_t i = 0; i < run->ntests; i++) {
		diagnose_test(run, &run->tests[i]);
		perf_test(run, &run->tests[i]);
	}
}
