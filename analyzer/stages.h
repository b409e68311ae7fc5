/* SPDX-License-Identifier: MIT */
/*
 * The stages of `fh-analyze report` after loading (see model.h for the pipeline order). Each
 * stage fills its part of the model from what earlier stages filled; all allocate from
 * run->arena. Each returns 0 or a negative errno after printing one line; a failing optional
 * stage (evidence, history, AI) never stops the report.
 */
#ifndef FH_STAGES_H
#define FH_STAGES_H

#include "model.h"

/* stats.c: counts, flake rate and Wilson interval, verdict, durations; run->tests in report
 * order. */
void run_compute(struct fh_run *run);
void wilson_interval(int failed, int n, double *lo, double *hi);
/* The median of v[0..n) (0 when n is 0); sorts v. */
double fh_median(double *v, size_t n);
/* A feature separates failing from passing attempts when at least half of the fc/nf failing
 * ones show it, at most a fifth of the pc/np passing ones do, and the rates differ by at
 * least one half (the diagnosis's rules, and the order stage's polluters). */
bool fh_separates(int fc, int nf, int pc, int np);
/* cluster.c: failure fingerprints and clusters. */
void run_cluster(struct fh_run *run);
/* features.c: attempt->f and test->feat for every test (after the evidence). */
void features_run(struct fh_run *run);

/* summary.c: the JSON summary of DESIGN.md. */
int summary_write(const struct fh_run *run, const char *json_path);

/* history.c: per-test CSV history under dir. history_update() reads every test's past rows,
 * appends this run's rows unless RUN_DIR/history-appended exists (then creates it), and fills
 * test->hist with trends that include this run. */
int history_update(struct fh_run *run, const char *dir);

/* evidence.c: reads RUN_DIR/trace, joins events to attempts, fills attempt->trace. Sets
 * run->meta.tracing to false when there are no trace files. */
int evidence_attach(struct fh_run *run);
/* diagnose.c: test->diag for every test and test->perf for tests with passing attempts. */
void diagnose_run(struct fh_run *run);

/* ai.c: test->ai for flaky and broken tests (only when asked for). */
struct fh_ai_options {
	const char *model;      /* --ai-model; NULL: the default Sonnet model */
	bool use_dotenv;        /* --ai-dotenv: read ANTHROPIC_API_KEY from ./.env too */
	int concurrency;        /* 0: default (4) */
	long timeout_ms;        /* 0: default */
};
int ai_run(struct fh_run *run, const struct fh_ai_options *opt);

#endif
