/* SPDX-License-Identifier: MIT */
/*
 * The evidence join's internal state, shared by its files (evidence.h is the stage's interface):
 * evidence.c reads the files in order and owns the join's lifetime, evidence_events.c
 * attributes each event to an attempt and accumulates what it says, evidence_result.c turns
 * an attempt's accumulator into its attempt->trace.
 */
#ifndef FH_EVIDENCE_INT_H
#define FH_EVIDENCE_INT_H

#include <stdbool.h>
#include <stdint.h>

#include "chaos_stage.h"
#include "evidence.h"
#include "hmap.h"
#include "ownership.h"

#define NPHASE 3    /* setup, call, teardown */
#define NONE (-1)   /* no index */

/* The join's int -> index maps (pid -> process, fd -> target entry, pid -> test thread) on
 * the core's hash map; NONE when absent. */
static inline int imap_get(const struct hmap *m, int key)
{
	size_t v;

	return hmap_int_get(m, (uint64_t)(int64_t)key, &v) ? (int)v : NONE;
}

static inline void imap_put(struct hmap *m, int key, int val)
{
	hmap_int(m, (uint64_t)(int64_t)key, true, NULL)->val = (size_t)val;
}

/* ---- join state ---- */

struct interval {
	int64_t begin, end;
	int acc;
	int tid;
	bool ended;
	int64_t cpu_begin, cpu_end;
	int fds, threads;
	int64_t phase_begin[NPHASE], phase_end[NPHASE];
	int64_t phase_cpu0;   /* the test thread's CPU at the open phase's begin; -1 none */
};

/* What made an fd, where it says more than its target: a wait on it is named by it. */
enum fd_origin { FDO_PLAIN, FDO_PIPE, FDO_EVENTFD, FDO_TIMERFD };

struct tgt { /* fd -> target from time t on; chained newest first per fd */
	int64_t t;
	const char *target; /* interned */
	const char *chan;   /* interned identity of a pipe or socketpair (FHF_PAIR), else NULL:
			     * what tells two threads that use it (ownership.h) */
	int next;           /* older entry of the same fd, NONE */
	enum fd_origin origin;
};

/* A process this one started (fork, clone, posix_spawn, the exec of a vfork child), from its
 * own records: a pipe it created just before leads to that child. */
struct spawn {
	int64_t t;
	int pid;
	const char *exe;    /* interned; may be NULL */
};

struct proc {
	int pid, ppid;
	int64_t start, last;  /* first and last event time */
	const char *exe;      /* interned; may be NULL */
	struct interval *iv; size_t niv, civ;       /* from markers */
	struct interval *riv; size_t nriv, criv;    /* from attempt records */
	struct tgt *tg; size_t ntg, ctg;
	struct hmap fd2tg;    /* fd -> newest tg entry */
	struct spawn *sp; size_t nsp, csp; /* in the order read */
	bool marks;           /* has attempt markers */
	int owner;            /* acc of a child process; NONE */
	int resolving;        /* 0 new, 1 in progress, 2 done */
	bool loaded;          /* a trace file of it was read */
	bool stopped;         /* a file of it stopped early (full, dropped events) */
	int exit_status;      /* raw wait status; -1 unknown */
	int64_t exit_ns;
	struct own_table own; /* its threads' origins (ownership.h) */
	/* the fixture setups its attempt records name (background_finish), built on first use */
	const struct fh_fixture_setup **fx; size_t nfx;
	bool fx_built;
};

struct span {
	int lane;
	int64_t start, dur;
	enum fh_category cat;
	const char *call, *target;
	int64_t result;
	const char *err_name;
	enum fh_block_end end;
};

struct errc {
	const char *call, *err_name, *target;
	int count;
	int call_id;
};

struct acc {
	struct fh_attempt *att;   /* NULL until synthesized */
	struct fh_test *test;
	int attempt_no;
	int end_outcome;          /* the end marker's outcome (enum fh_outcome); -1 none */
	int64_t begin, end, fail_ns;
	int64_t teardown_ns;      /* its teardown phase began (INT64_MAX: not yet, or none) */
	int pid, tid;
	bool have_iv, ended;
	bool failing;             /* the record says failed/error (or no record: the process died) */
	int when;                 /* phase that decided the failure */
	int64_t cpu_begin, cpu_end;
	/* CPU of the test thread inside the phases (setup, call, teardown hooks): without what
	 * pytest spends between them making and printing reports (the first failure of a test
	 * re-parses its source file) and this plugin's records */
	int64_t cpu_phases;
	bool have_phase_cpu;
	int fds, threads;
	double time_ns[FH_CAT_COUNT];
	struct errc *errs; size_t nerrs, cerrs;
	struct fh_signal_ev *sigs; size_t nsigs, csigs;
	struct fh_inflight *infl; size_t ninfl, cinfl;
	int64_t *infl_start; size_t cinfl_start;
	bool *infl_open;          /* the call never completed: its time runs to the reference */
	size_t cinfl_open;
	struct fh_call_stat *stats; size_t nstats, cstats;
	struct span *spans; size_t nspans, cspans; /* min-heap by dur */
	struct fh_lane *lanes; size_t nlanes, clanes;
	const struct fh_event *lb_ev; /* candidate in the current file */
	const char *lb_target;
	bool lb_socket;
	int lb_cat;               /* its category: a wait on a set of fds named (wait_of) */
	const struct fh_event *lbx_ev; /* ... the last one that did not simply return */
	const char *lbx_target;
	bool lbx_socket;
	int lbx_cat;
	bool lb_pending;
	struct fh_block *lb;
	int kills;
	uint64_t events;
	int cache_pid, cache_tid, cache_lane; /* lane_of() of the last event */
	int64_t sleep_start, sleep_end;
	const char *sleep_call;
	int sleep_id;
	struct fh_inflight *busy; size_t nbusy, cbusy;
	struct fh_foot_raw *foot;  /* footprint events (footprint.c) */
	struct fh_chaos_raw *chaos; /* perturbations chaos mode injected (chaos.c) */
	int fds_end, threads_end;  /* counts at the end marker; -1 unknown */
	struct fh_perf_raw *praw;  /* resource figures and CPU samples (perf_where.c) */
	/* Ownership (ownership.h): channels (network addresses, pipes, socketpairs) the
	 * attempt's own threads used, threads of others it talked to (from talk_t on), and the
	 * background's summary. */
	const char *mine_tg[16]; int nmine_tg;
	int talk[8]; int ntalk;
	int64_t talk_t[8];
	int bg[8]; int nbg;
	int64_t bg_tns[8];        /* each one's blocking time */
	int64_t bg_ns, bg_long_ns, bg_born;
	const char *bg_call, *bg_target;
	int bg_cat;
	/* proc_read(): the last /proc/PID/... of a child this attempt started, opened by one of
	 * its threads (pr_path NULL: none armed), until its fd's first read; ep_*: the first such
	 * read that gave nothing */
	const char *pr_path; int pr_fd, pr_tid, pr_pid; int64_t pr_after;
	const char *ep_path; int ep_pid; int64_t ep_after;
};

struct join {
	struct fh_run *run;
	struct arena *A;          /* run->arena */
	struct acc *acc; size_t nacc, cacc;
	struct proc *procs; size_t nprocs, cprocs;
	struct hmap pid2proc;     /* pid -> latest proc index with that pid */
	struct hmap waited;       /* child pid -> the latest attempt whose own thread waited for it
				   * (ownership.h: a child it waited on talked to it) */
	struct hmap tests;        /* nodeid -> test index */
	struct hmap strings;      /* interned strings (keys; values unused) */
	int *touched; size_t ntouched, ctouched;
	size_t *test_first;       /* first acc of each test (recorded attempts are contiguous) */
	int *orphans; size_t norphans, corphans; /* accs of markers without a record */
	bool synthesized;
	struct run_syms *syms;     /* symbolization of stacks, for this join only */
};

/* What the first pass over a file found for later: children's exits (from their parents'
 * waits) and execs of vfork children. */
struct waitrec {
	int parent, child, status;
	int64_t t0, t;
};

/* An exec a vfork child made on its parent's thread (the exec record's arg is its pid). */
struct execrec {
	int parent, child;
	const char *exe;      /* interned */
	int64_t t;
};

struct pass1 {
	struct waitrec *w; size_t nw, cw;
	struct execrec *x; size_t nx, cx;
};

/* evidence.c: interned strings (run->arena) and markers. */
const char *ev_intern(struct join *j, const char *s);
void ev_mark_event(struct join *j, struct proc *p, const struct fh_event *e);
/* evidence_events.c: attribution of one file's events. */
bool ev_streq(const char *s, const char *n);
const char *ev_signame(struct join *j, int sig);
void ev_process_file(struct join *j, struct pass1 *p1, const struct fh_trace_file *tf, int pi);
/* evidence_result.c: attempt->trace from an accumulator. */
void ev_finish_attempt(struct join *j, size_t ai);

#endif
