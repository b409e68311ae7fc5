/* SPDX-License-Identifier: MIT */
/*
 * What the diagnosis's files share (stages.h has diagnose_run()): diagnose.c walks the rule
 * tables and owns the per-test context, diagnose_rules.c holds each rule (what it counts,
 * the evidence lines it writes), perf.c the performance flakes.
 */
#ifndef FH_DIAGNOSE_INT_H
#define FH_DIAGNOSE_INT_H

#include <stdbool.h>

#include "model.h"

/* One test's diagnosis in the making. */

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

/* diagnose.c: how a rule writes what it found (diag_add_ev: one evidence line; diag_decide:
 * blocked_on and the summary, the kind being the rule's). The separation test and the attempt
 * sides are fh_separates() (stages.h) and attempt_failed()/attempt_passed() (model.h). */
const char *diag_secs(struct arena *A, double s);
void diag_add_ev(struct dctx *c, const char *line);
void diag_decide(struct dctx *c, enum fh_blocked_on blocked_on, const char *summary);
const char *diag_target_sfx(struct arena *A, const char *target);
bool diag_streq(const char *a, const char *b);
/* diagnose_rules.c: true when the rule applies (it wrote its evidence and decision). */
bool rule_crash(struct dctx *c);
bool rule_resource(struct dctx *c);
bool rule_order(struct dctx *c);
bool rule_state_isolate(struct dctx *c);
bool rule_state(struct dctx *c);
bool rule_timeout(struct dctx *c);
bool rule_hang(struct dctx *c);
bool rule_network(struct dctx *c);
bool rule_race(struct dctx *c);
bool rule_cpu(struct dctx *c);
bool rule_stable(struct dctx *c);
bool rule_broken(struct dctx *c);
bool rule_unexplained(struct dctx *c);
bool note_host(struct dctx *c);
/* perf.c: test->perf for a test with passing attempts. */
void diag_perf(struct fh_run *run, struct fh_test *t);

#endif
