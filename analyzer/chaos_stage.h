/* SPDX-License-Identifier: MIT */
/*
 * Chaos mode in the analysis (the plugin's --fh-chaos; preload/chaos.c perturbs, chaos.py plans).
 * Two inputs per attempt:
 *
 *   - the attempt record's "chaos" object (docs/FORMATS.md): whether the attempt ran under a
 *     plan that may inject (perturbed), the plan's text, mode, seed and why these targets, and
 *     the totals the preload counted; chaos_from_record() (core/chaos_rec.h) at load time;
 *   - the trace's FHT_REC_CHAOS records: each perturbation, with the call it held up, before or
 *     after it, in which thread or process, and for how long. The evidence join hands them to
 *     chaos_trace_add(). They are never a call: an injected delay is not counted in any call's
 *     time or in the "where the time went" categories (a call delayed before it starts only
 *     after the delay), so injected and natural delays stay apart.
 *
 * chaos_run() then gives each test that ran under chaos its flake rate separately for perturbed
 * and unperturbed attempts (never one number for both), marks a flake that failed only under
 * chaos, says what was injected in the failing attempts and not in the passing ones, and builds
 * the command that replays the first failing attempt's plan; it adds that sentence to the
 * test's diagnosis evidence. The summary and the report draw what it decided.
 */
#ifndef FH_CHAOS_STAGE_H
#define FH_CHAOS_STAGE_H

#include "chaos_rec.h"
#include "trace.h"

struct fh_chaos_raw;     /* one attempt's chaos events, while the join runs */

/* One FH_EV_CHAOS event of an attempt that began at begin_ns, in its test thread (test), in
 * another thread of its process, or in another process. *raw is created on first use. */
void chaos_trace_add(struct fh_chaos_raw **raw, const struct fh_event *e, int64_t begin_ns,
		     int where);
/* Moves the raw events into a->chaos (created when the record had none) and frees raw. */
void chaos_trace_finish(struct fh_attempt *a, struct arena *A, struct fh_chaos_raw *raw);
void chaos_raw_free(struct fh_chaos_raw *raw);

/* Per test: the rates, the marking, what failing attempts had injected, the replay command. */
void chaos_run(struct fh_run *run);

/* JSON: an attempt's "chaos" object and a test's (docs/FORMATS.md), each with a trailing ','. */
void chaos_attempt_json(struct buf *b, const struct fh_attempt_chaos *c);
void chaos_test_json(struct buf *b, const struct fh_test_chaos *c);

#endif
