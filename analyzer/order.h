/* SPDX-License-Identifier: MIT */
/*
 * Order-dependent tests (diagnosis kind `order`, DESIGN.md): the outcome depends on which tests
 * ran before in the same process. order_run() walks every process's attempts in the order they
 * ran and keeps, per piece of state an attempt left behind (its footprint, footprint.h), who
 * left it last. For each flaky test it looks at the state its attempts read when they started:
 * a test X whose leftover state separates the failing attempts from the passing ones (they
 * started with it, the passing ones did not: X is a *polluter*; the reverse: X is a
 * *state-setter*) is a candidate. Without such a footprint, a test whose attempts in one
 * process passed and then failed gets a bisection window: the tests that ran between its last
 * passing and its first failing attempt (a polluter of state the trace cannot see, a
 * module-level registry, must have run there).
 *
 * The plugin replays candidates in fresh pytest processes (plugin/pytest_flakehunter/replay.py)
 * from RUN_DIR/candidates.json (order_candidates_write) and leaves RUN_DIR/replay.json, which
 * order_run() reads back: `confirmed` and `repro` of each polluter, and polluters found by
 * bisection. Formats: docs/FORMATS.md.
 *
 * Runs after features_run() and before diagnose_run(); fills t->order (NULL when the test has
 * no order evidence) and, for the attempts of such tests, attempt->before and ->test.
 */
#ifndef FH_ORDER_H
#define FH_ORDER_H

#include "model.h"

#define FH_ORDER_MAX_CANDIDATES 3
#define FH_ORDER_BEFORE 3        /* predecessors kept per attempt for the report's strip */

struct fh_order_test {
	struct fh_polluter *polluters; size_t npolluters; /* candidates with replay results */
	const char **window; size_t nwindow; /* bisection window, in run order; may be empty */
	bool decides;                 /* the `order` rule applies */
	const char *summary;          /* one sentence naming the polluter (when decides) */
	const char **evidence; size_t nevidence;
	int replayed;                 /* polluters with a replay result (confirmed not null) */
};

void order_run(struct fh_run *run);

/* order_candidates.c: RUN_DIR/candidates.json for the plugin's replays; 0 or -errno (one
 * line printed). */
int order_candidates_write(const struct fh_run *run, const char *path);

/* Footprint evidence for the `state` kind (self-pollution across a test's own attempts):
 * lines into out (at most max); returns how many. */
size_t order_state_lines(struct arena *A, const struct fh_test *t, const char **out, size_t max);

#endif
