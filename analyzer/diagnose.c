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
 * that never failed. This file runs the rule tables over each test; the rules are
 * diagnose_rules.c's, performance flakes perf.c's.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "diagnose_int.h"
#include "numfmt.h"
#include "order.h"
#include "stages.h"

/* Seconds with two significant digits (buf_secs2), from A. */
const char *diag_secs(struct arena *A, double s)
{
	struct buf b = BUF_INIT(64);
	const char *r;

	buf_secs2(&b, s);
	r = arena_strdup(A, buf_str(&b));
	buf_free(&b);
	return r;
}

void diag_add_ev(struct dctx *c, const char *line)
{
	if (c->nev < ARRAY_SIZE(c->ev) && line)
		c->ev[c->nev++] = line;
}

/* What a rule found (the kind is the rule's, from the table). */
void diag_decide(struct dctx *c, enum fh_blocked_on blocked_on, const char *summary)
{
	c->d->blocked_on = blocked_on;
	c->d->summary = summary;
}

const char *diag_target_sfx(struct arena *A, const char *target)
{
	return target ? arena_printf(A, " on %s", target) : "";
}

bool diag_streq(const char *a, const char *b)
{
	return a == b || (a && b && !strcmp(a, b));
}

static void finish_evidence(struct dctx *c)
{
	c->d->evidence = arena_alloc(c->A, sizeof(*c->d->evidence) * (c->nev + 1));
	memcpy(c->d->evidence, c->ev, sizeof(*c->ev) * c->nev);
	c->d->nevidence = c->nev;
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

/* A child's exit that the failing attempts never heard of: every passing attempt received a
 * SIGCHLD and the failing ones did not (a wait for a child that had not ended, or whose end
 * was missed). Evidence beside the kind, never the kind itself. */
static bool note_missing_sigchld(struct dctx *c)
{
	int fc = 0, pc = 0;

	for (size_t i = 0; i < c->t->nattempts; i++) {
		const struct fh_attempt *a = &c->t->attempts[i];

		if (!a->trace)
			continue;
		if (attempt_failed(a) && !a->f.got_sigchld)
			fc++;
		else if (attempt_passed(a) && a->f.got_sigchld)
			pc++;
	}
	if (c->np < 2 || pc < c->np || !fh_separates(fc, c->nf, 0, c->np))
		return false;
	diag_add_ev(c, arena_printf(c->A, "%d/%d failing attempts received no SIGCHLD; %d/%d passing "
			       "attempts did (a child's exit the failing ones never saw)", fc, c->nf,
			       pc, c->np));
	return true;
}

/* Rules that say where rather than what: each runs after the kind is decided and adds its
 * evidence (and a sentence to the summary) whatever the kind. */
static const struct note {
	bool needs_trace;
	bool (*add)(struct dctx *c);
} notes[] = {
	{ false, note_host },
	{ true, note_missing_sigchld },
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

		if (attempt_failed(a)) {
			c.nf_all++;
			c.nf += a->trace != NULL;
		} else if (attempt_passed(a)) {
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
		diag_add_ev(&c, arena_printf(c.A, "%d of %d attempts have no trace (tracing stopped or was "
					"off for them); trace counts above are over traced attempts",
					c.nf_all + c.np_all - c.nf - c.np, c.nf_all + c.np_all));
	finish_evidence(&c);
	if (t->order) {
		c.d->polluters = t->order->polluters;
		c.d->npolluters = t->order->npolluters;
	}
	t->diag = c.d;
}

void diagnose_run(struct fh_run *run)
{
	for (size_t i = 0; i < run->ntests; i++) {
		diagnose_test(run, &run->tests[i]);
		diag_perf(run, &run->tests[i]);
	}
}
