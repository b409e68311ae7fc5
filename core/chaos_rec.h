/* SPDX-License-Identifier: MIT */
/*
 * The model side of chaos mode (the plugin's --fh-chaos): what one attempt ran under and what
 * was injected in it (struct fh_attempt_chaos), and what the chaos stage (analyzer/chaos_stage.h)
 * decided per test (struct fh_test_chaos). The attempt record's "chaos" object (docs/FORMATS.md)
 * is read here when the records are loaded; the trace's perturbations are added by the stage.
 */
#ifndef FH_CHAOS_REC_H
#define FH_CHAOS_REC_H

#include <cjson/cJSON.h>

#include "model.h"

#define FH_CHAOS_MAX_INJ 64     /* perturbations kept per attempt (more are counted) */

struct fh_chaos_inj {
	const char *call;        /* the call held up; "lock release" for a yield at one */
	int kind;                /* FH_CHAOS_K_*: the trace record's kind (fhtrace_format.h) */
	double delay_s;          /* drawn; 0 for a yield */
	double at_s;             /* since the attempt's start */
	int where;               /* FH_CHAOS_IN_* */
	bool targeted;           /* from one of the plan's targets (else its spread) */
};
enum { FH_CHAOS_K_BEFORE = 1, FH_CHAOS_K_AFTER = 2, FH_CHAOS_K_YIELD = 3 };
enum { FH_CHAOS_IN_TEST = 0, FH_CHAOS_IN_THREAD = 1, FH_CHAOS_IN_PROCESS = 2 };

struct fh_attempt_chaos {
	bool perturbed;          /* its plan may inject (warm-up and control attempts: false) */
	const char *mode;        /* "guided", "blind", "replay" */
	const char *seed;        /* "0x..." of the hunt; NULL for a replay */
	const char *plan;        /* the portable plan text; NULL when unperturbed */
	const char *guide;       /* why these targets */
	int injected;            /* the preload's count (record); trace_injected from the trace */
	double injected_s;
	int trace_injected;
	double trace_injected_s;
	struct fh_chaos_inj *inj; size_t ninj; /* the first FH_CHAOS_MAX_INJ of the trace */
};

struct fh_chaos_sig {            /* one kind of perturbation: call, before/after, where */
	const char *text;        /* "recv delayed after it returned, in another thread" */
	int in_failing, in_passing;   /* perturbed attempts it was injected in */
	double min_s, max_s;     /* delays of it in the failing attempts */
};

struct fh_test_chaos {
	const char *mode, *seed;
	int pert_attempts, pert_failed, unpert_attempts, unpert_failed;
	double pert_rate, unpert_rate;   /* failed / (passed + failed) of each side; 0 when none */
	bool only_under_chaos;   /* failed under chaos, never without it */
	bool replay;             /* every attempt replayed one plan (--fh-chaos-plan) */
	struct fh_chaos_sig *sigs; size_t nsigs; /* injected in failing attempts, most telling first */
	int repro_attempt;       /* the first failing perturbed attempt; 0 none */
	const char *reproduce;   /* the command that replays its plan; NULL none */
	const char *sentence;    /* one sentence for people; NULL when no attempt failed */
};

/*
 * Under chaos a test's flake_rate is its natural one (struct fh_test: rate_failed of rate_n,
 * the attempts chaos did not perturb); wherever a rate is shown, the perturbed attempts' rate
 * is shown beside it, never added in. Appends "; under chaos 3/7 failed (43%)" to b when t ran
 * perturbed attempts, nothing otherwise.
 */
void chaos_rate_note(struct buf *b, const struct fh_test *t);

/* The record's "chaos" object (absent or null: NULL). */
struct fh_attempt_chaos *chaos_from_record(struct arena *A, const cJSON *v);

#endif
