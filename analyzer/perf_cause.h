/* SPDX-License-Identifier: MIT */
/* Performance flakes: the verdict (shape, bootstrap median, noise floor, minimum effect) and
 * perf.cause with its evidence, from the attempts' struct fh_where (perf_cause.c). */
#ifndef FH_PERF_CAUSE_H
#define FH_PERF_CAUSE_H

#include "model.h"

/* After diagnose_run(): fills the perf_cause.c fields of every test->perf. */
void perf_cause_run(struct fh_run *run);

#endif
