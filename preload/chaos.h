/* SPDX-License-Identifier: MIT */
/*
 * Chaos mode inside libfhtrace.so (preload/chaos.c): while a plan is in force, wrapped blocking
 * calls may be held up before or after the real call, and lock releases and thread starts may
 * yield the CPU, the way a loaded machine could; never an error, never a changed result or
 * datum. Every perturbation is a FHT_REC_CHAOS record of the thread it held up.
 *
 * The plan (docs/FORMATS.md, "Chaos plans") comes from the plugin per attempt, through
 * fh_chaos_set() in the pytest process and FH_CHAOS in the environment of the processes the
 * attempt starts. Decisions are a deterministic function of the plan's seed, the process
 * (its command line), the thread's ordinal under the plan, the call id and how many calls of
 * that id the thread made before: the same plan draws the same perturbations for the same
 * sequence of calls.
 *
 * Cost when no plan is in force: the wrappers test fh_chaos_on once per call (a predictable
 * branch on a global the library rarely writes), and take the chaos variant of themselves only
 * when it is set.
 */
#ifndef FH_CHAOS_H
#define FH_CHAOS_H

#include "fhtrace_int.h"

extern volatile int fh_chaos_on FH_HIDDEN;   /* a plan is in force in this process */

/* The chaos path of a wrapped call, around the real call: before it (after its entry record
 * and target were written), and after it (once its record is complete). tgt: the call's
 * target when the wrapper has it at hand (a path), else NULL (the fd's peer is looked up).
 * Both keep errno. */
void fh_chaos_before(struct fh_call *c, unsigned id, const char *tgt) FH_HIDDEN;
void fh_chaos_after(struct fh_call *c, unsigned id, const char *tgt) FH_HIDDEN;
/* A lock release (sem_post of sem): maybe a yield. */
void fh_chaos_release(const void *sem) FH_HIDDEN;

/* The peer or path an fd was last connected, accepted or opened with ("" when unknown); the
 * table lives in wrappers.c. */
const char *fh_fd_target(int fd) FH_HIDDEN;

#endif
