/* SPDX-License-Identifier: MIT */
/*
 * The analyzer's in-memory model of one run: what every stage fills in and what the report and
 * the JSON summary draw from. The pipeline (cli/main.c, `fh-analyze report`):
 *
 *   run_load()        rundir.c    meta.json + attempts-*.jsonl  -> run, tests, attempts
 *                                 (a merged directory: every sources/<id>/, run->sources)
 *   run_compute()     stats.c     counts, flake rate + Wilson CI, verdict, durations, order
 *   sources_evidence() sources.c  evidence_attach() (evidence.c) per source: trace files ->
 *                                 attempt->trace (NULL when no traces)
 *   sources_finish()  sources.c   merged attempt numbers; test->hosts (per-host counts)
 *   hang_attach()     hang.c      hang snapshots -> attempt->trace->hang (hung attempts)
 *   features_run()    features.c  attempt->f and test->feat: each attempt's features, once
 *   run_cluster()     cluster.c   failure fingerprints and clusters
 *   history_*()       history.c   test->hist from the CSV history; appends this run
 *   diagnose_run()    diagnose.c  test->diag, test->perf (reads the features; test->hist)
 *   ai_run()          ai.c        test->ai                             (only with --ai)
 *   summary_write()   summary.c   flakehunter_report.json
 *   report_write()    report/     flakehunter_report.html
 *
 * The model and its loading are the core layer (core/); the stages are analyzer/, the HTML
 * report report/ (ARCHITECTURE.md, "Layers"). The model holds results only: a stage's
 * working state (the evidence join's symbolizer, a history reader's accumulator) stays in
 * that stage.
 * Ownership: every string and array reachable from a struct fh_run is allocated from
 * run->arena and freed by run_free(). Stages never free parts of the model. Pointers to
 * strings are never NULL unless documented ("may be NULL").
 */
#ifndef FH_MODEL_H
#define FH_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "arena.h"
#include "buf.h"
#include "util.h"

#define FH_VERSION "0.1.0"
#define FH_DROP_REASONS 16          /* FHT_DROP_NREASONS of preload/fhtrace_format.h */

enum fh_outcome { FH_PASSED, FH_FAILED, FH_ERROR, FH_SKIPPED, FH_OUTCOME_COUNT };
extern const char *const fh_outcome_names[FH_OUTCOME_COUNT]; /* "passed", ... */
/* The outcome named s (NULL names none); false when there is none. */
bool fh_outcome_parse(const char *s, enum fh_outcome *out);

enum fh_verdict { FH_STABLE, FH_FLAKY, FH_BROKEN, FH_SKIPPED_ALL, FH_VERDICT_COUNT };
extern const char *const fh_verdict_names[FH_VERDICT_COUNT]; /* "stable", "flaky", "broken", "skipped" */

/* Time categories of blocking calls (DESIGN.md `time_s` keys): the only categories users
 * see. FH_CAT_POLL is not one of them: a decoded trace event of a call that waits on a set of
 * fds (poll, select, epoll) has it until the evidence join names what the wait was for (net on
 * sockets, proc on a pipe from a child, sleep on a timerfd, other); nothing in the model holds
 * it, and readers treat it as fh_wait_category() does. */
enum fh_category {
	FH_CAT_NET, FH_CAT_DNS, FH_CAT_SLEEP, FH_CAT_LOCK, FH_CAT_PROC,
	FH_CAT_FILE, FH_CAT_OTHER, FH_CAT_COUNT,
	FH_CAT_POLL = FH_CAT_COUNT
};
extern const char *const fh_category_names[FH_CAT_COUNT]; /* "net", "dns", ... */
/* The category users see for c: a wait on a set of fds is net when they were sockets, other
 * when nothing better is known; a value out of range is other. */
enum fh_category fh_wait_category(enum fh_category c, bool on_socket);

/* Diagnosis kinds (DESIGN.md); fh_kind_names holds their JSON strings (a contract). */
enum fh_kind {
	FH_KIND_STABLE, FH_KIND_BROKEN, FH_KIND_CRASH, FH_KIND_RESOURCE, FH_KIND_STATE,
	FH_KIND_TIMEOUT, FH_KIND_NETWORK, FH_KIND_RACE, FH_KIND_CPU, FH_KIND_UNEXPLAINED,
	FH_KIND_HANG, FH_KIND_ORDER, FH_KIND_COUNT
};
extern const char *const fh_kind_names[FH_KIND_COUNT]; /* "stable", "broken", ... */

/* What a wait was for (DESIGN.md `blocked_on`): its call's category, except that a wait on a
 * set of fds (poll, select, epoll) is `net` when they are sockets and `other` otherwise.
 * FH_ON_NONE: no wait, or not applicable (JSON null). */
enum fh_blocked_on {
	FH_ON_NONE, FH_ON_NET, FH_ON_DNS, FH_ON_SLEEP, FH_ON_LOCK, FH_ON_PROC, FH_ON_FILE,
	FH_ON_OTHER, FH_ON_COUNT
};
extern const char *const fh_blocked_on_names[FH_ON_COUNT]; /* NULL, "net", "dns", ... */

/* One frame of a Python traceback from the attempt record. */
struct fh_frame {
	const char *path;     /* relative to rootdir where possible */
	int line;
	const char *function;
	const char *source;   /* the source line, stripped; may be NULL */
};

/* One frame of a captured stack: kind "python" or "native". */
struct fh_stack_frame {
	const char *kind;
	const char *module;   /* native: "libc.so.6"; may be NULL */
	const char *function; /* may be NULL when unknown */
	const char *path;     /* may be NULL */
	int line;             /* 0 when unknown */
	uint64_t addr;        /* native: module-relative address; 0 for python */
};

struct fh_stack {
	struct fh_stack_frame *frames;
	size_t nframes;
};

/* ---- evidence from traces (evidence.c); times in seconds ---- */

/* What a failed call says about the attempt (features.c, from the errno and the call's flags). */
enum fh_err_class { FH_ERRC_OTHER, FH_ERRC_RESOURCE, FH_ERRC_NETWORK, FH_ERRC_DNS };

struct fh_err_count {
	const char *call, *errno_name; /* "connect", "ECONNREFUSED" (or "EAI_NONAME") */
	const char *target;            /* may be NULL */
	int count;
	int call_id;                   /* FH_ID_* (preload/fhtrace_calls.h); -1 unknown */
	enum fh_err_class cls;         /* set by features_run() */
	bool so_error;                 /* a socket's pending error (getsockopt SO_ERROR); ditto */
};

struct fh_signal_ev {
	const char *signal;      /* "SIGALRM" */
	double at_s;             /* since attempt start */
	int sender_pid;          /* 0 when unknown */
	const char *interrupted; /* call it interrupted; may be NULL */
	struct fh_stack stack;
	/* Who sent it, in words: "the kernel" (si_pid 0, or a kernel si_code), "this process",
	 * "the parent process", "pid N"; and whether it came from the session's own machinery
	 * (xdist's controller stopping a worker, flakehunter's time limit), which is never the
	 * test's evidence. */
	const char *from;
	bool session;
};

enum fh_block_end { FH_END_RETURNED, FH_END_TIMEOUT, FH_END_SIGNAL, FH_END_ERROR, FH_END_IN_FLIGHT,
	FH_END_COUNT };
extern const char *const fh_block_end_names[FH_END_COUNT]; /* "returned", "timeout", ... */

struct fh_block {
	const char *call;
	int call_id;          /* FH_ID_*; -1 unknown */
	enum fh_category category;
	bool on_socket;       /* a wait on a set of fds: they were sockets (the record's fd kind) */
	const char *target;   /* may be NULL */
	double start_s;       /* since attempt start */
	double waited_s;
	enum fh_block_end ended;
	const char *errno_name; /* may be NULL */
	int pid, tid;
	struct fh_stack stack;
};

struct fh_inflight {
	int pid, tid;
	const char *call;
	int call_id;        /* FH_ID_*; -1 unknown */
	enum fh_category category;
	const char *target; /* may be NULL */
	double elapsed_s;
	struct fh_stack stack;
};

struct fh_child {
	int pid;
	const char *exe;     /* may be NULL */
	int exit_code;       /* -1 when it did not exit normally or is unknown */
	const char *signal;  /* "SIGKILL" when killed by a signal; may be NULL */
	double start_s, duration_s; /* duration < 0: still running at attempt end */
};

/* A bar on the attempt timeline: one blocking call of one lane (thread or child process). */
struct fh_span {
	int lane;             /* index into fh_attempt_trace.lanes */
	double start_s, dur_s;
	enum fh_category category;
	const char *call;
	const char *target;   /* may be NULL */
	const char *result;   /* "0", "-1 ECONNREFUSED", "timeout", ... */
};

struct fh_lane {
	int pid, tid;
	const char *label;    /* "pytest main", "thread 1234", "child 99 /usr/bin/sleep" */
};

/* Blocking calls of one attempt grouped by (call, target): the contrast and perf features of
 * diagnose.c. Bounded per attempt; overflow folds into target NULL. */
struct fh_call_stat {
	const char *call;
	int call_id;          /* FH_ID_*; -1 unknown */
	enum fh_category category;
	const char *target;   /* may be NULL */
	int count, timeouts, errors;
	double total_s, max_s;
	double main_s;        /* the part spent in the attempt's own (test) thread */
};

/*
 * A hung attempt's hang snapshot (hang.c, attempt_log[].trace.hang): what every thread of the
 * test's process and every live child of the attempt was blocked on when the attempt passed its
 * limit (or was interrupted), from the preload's FHT_REC_SNAP records and the calls in flight in
 * each thread's own stream at that moment.
 */
struct fh_hang_holder {
	int pid, tid;
	const char *name;            /* may be NULL */
	double since_s;              /* how long it had held the lock at the snapshot; < 0 unknown */
	struct fh_stack stack;       /* the holder's own stack at the snapshot */
	const struct fh_stack_frame *site; /* where it took the lock (Python); may be NULL */
	const char *source;          /* "mutex owner" or "acquired, not released" */
	uint64_t lock;               /* the lock's address */
};

struct fh_hang_thread {
	int pid, tid;
	const char *name;            /* Python's thread name, else the kernel's; may be NULL */
	bool main;                   /* the thread that ran the test */
	const char *call;            /* the wrapped call it was in; may be NULL (then syscall) */
	int call_id;                 /* FH_ID_*; -1 none */
	enum fh_category category;
	bool on_socket;              /* a wait on a set of fds that are sockets */
	const char *target;          /* may be NULL */
	double waited_s;             /* in that call until the snapshot; < 0 unknown */
	int64_t timeout_ns;          /* the call's own timeout; -1 none */
	const char *syscall;         /* what the kernel said: "recvfrom", "running"; may be NULL */
	struct fh_stack stack;       /* at the snapshot: native and Python frames */
	struct fh_hang_holder *holder; /* who holds the lock it waits for; NULL none or unknown */
	int holder_idx;              /* that holder's index in the snapshot's threads; -1 */
};

struct fh_hang_child {
	int pid, tid;
	const char *exe, *argv0;     /* may be NULL */
	const char *call;            /* the wrapped call it was in (its own trace); may be NULL */
	int call_id;
	enum fh_category category;
	bool on_socket;
	const char *target;          /* may be NULL */
	double waited_s;             /* < 0 unknown */
	int64_t timeout_ns;
	const char *syscall;         /* may be NULL */
	struct fh_stack stack;       /* of that call (captured at its entry for calls that wait) */
};

struct fh_hang {
	double after_s;              /* snapshot time since the attempt's start */
	const char *by;              /* "fh-timeout", "pytest-timeout", "faulthandler", "SIGINT"... */
	double limit_s;              /* the limit that fired; 0 none */
	struct fh_hang_thread *threads; size_t nthreads; /* the test thread first */
	struct fh_hang_child *children; size_t nchildren;
	bool deadlock;               /* waiters form a cycle */
	int *cycle; size_t ncycle;   /* indices into threads, each waiting for the next's lock */
	const char *sentence;        /* the deadlock in one sentence; NULL without one */
};

struct fh_attempt_trace {
	double cpu_s;                 /* the test thread's CPU in the attempt's phases (setup,
					 call, teardown): what `cpu` and perf judge */
	double cpu_attempt_s;         /* ... over the whole attempt, with pytest's reporting of
					 it (formatting a failure) and this plugin's records */
	double time_s[FH_CAT_COUNT];
	struct fh_err_count *errors; size_t nerrors;
	struct fh_signal_ev *signals; size_t nsignals;
	struct fh_block *last_block;  /* may be NULL */
	struct fh_inflight *in_flight; size_t nin_flight;
	struct fh_child *children; size_t nchildren;
	int fds, threads;             /* at attempt start; -1 unknown */
	/* Timeline (report only): lanes and the longest blocking calls, bounded in number. */
	struct fh_lane *lanes; size_t nlanes;
	struct fh_span *spans; size_t nspans;
	double fail_at_s;             /* failure point since attempt start; < 0 none */
	uint64_t events;              /* events attributed to the attempt */
	struct fh_call_stat *calls; size_t ncalls; /* by total time, longest first */
	bool unfinished;              /* its process died during it (no end marker, trace intact) */
	int kills_sent;               /* kill()-family calls with a terminating signal */
	/* The test thread's last sleep that ran its course in the call phase (before the failure)
	 * and the calls other threads or processes of the attempt were still in when it ended:
	 * a sleep used as synchronization (race evidence). last_sleep may be NULL. */
	struct fh_block *last_sleep;
	struct fh_inflight *busy_after_sleep; size_t nbusy_after_sleep;
	/* A read of a child's /proc entry (/proc/PID/cmdline...) that gave nothing, by one of
	 * the attempt's threads soon after the attempt started that child: its exec had not set up
	 * the new program yet, or it had already ended (evidence_events.c, proc_read). path NULL:
	 * none. */
	struct fh_proc_read {
		const char *path;
		int pid;
		double after_s;          /* from the child's start to the open */
	} empty_proc;
	struct fh_hang *hang;         /* the hang snapshot of a hung attempt (hang.c); may be NULL */
	/* Threads of the process busy during the attempt that are not its own (ownership.h):
	 * shown apart, never deciding a kind. threads 0: none. */
	struct fh_background {
		int threads;             /* how many (at most FH_EV_MAX_BACKGROUND counted) */
		double time_s;           /* their time in blocking calls during the attempt */
		const char *call;        /* the longest of those calls; may be NULL */
		enum fh_category category;
		const char *target;      /* its target; may be NULL */
		const char *started_during; /* nodeid of the attempt during which the first of them
					       was created; NULL: outside every attempt (session
					       start, collection) */
		const char *started_phase;  /* that attempt's phase then ("setup"...); may be NULL */
		/* the fixture whose setup was running when the first of them was created (the
		 * attempt records' fixture_setups); NULL when none was */
		const char *fixture, *fixture_scope;
		/* who started them, one entry per fixture (or attempt) that did, first born first */
		struct fh_bg_origin {
			int threads;
			double time_s;           /* their blocking time during the attempt */
			const char *fixture, *scope; /* NULL when no fixture's setup was running */
			const char *started_during, *started_phase; /* as above; NULL outside attempts */
			bool born;               /* their creation time is known */
			const char *text;        /* "2 threads started by module fixture `pool`",
						    "1 thread started before this test, during
						    t.py::test_a (setup)" */
		} *origins;
		size_t norigins;
		const char *text;            /* the whole background in one line (report, prompt) */
	} background;
};

/*
 * Per-attempt features (features.c): computed once, after the evidence, from the attempt's
 * trace and its test's distribution. The diagnosis, the summary, the prompt and the report
 * only read them, so the heatmap and the diagnosis cannot disagree. Without a trace every field
 * is zero (NONE, false, NULL) except `slow`, which needs only durations, and `host`.
 */
struct fh_features {
	enum fh_blocked_on blocked_on;     /* what the last wait (trace->last_block) was for */
	enum fh_blocked_on ran_out;        /* a wait that ran out: the last wait ended by a timeout
					      or a signal (its class), or a child the attempt killed
					      itself after waiting (proc); NONE otherwise */
	const struct fh_child *killed;     /* that child when it decided ran_out; may be NULL */
	const struct fh_child *crashed;    /* a child that died by a crash signal, or by any signal
					      the attempt did not send itself; may be NULL */
	bool self_died;                    /* the pytest process died during this failing attempt */
	const struct fh_inflight *busy_at_end;      /* another thread or process still in a call at
						       the failure (the end); may be NULL */
	const struct fh_inflight *busy_after_sleep; /* ... when the test thread's last fixed sleep
						       ended (trace->last_sleep); may be NULL */
	bool resource_error, network_error; /* an error of that class (fh_err_count.cls) */
	bool slow;                         /* passed, on the slow side of the test's durations */
	bool cpu_high;                     /* on CPU over the test's failing/passing midpoint */
	bool hung;                         /* never finished on its own: stopped at its time limit
					      or the process ended in it (attempt->hung and
					      stopped or ended) */
	enum fh_blocked_on hang_on;        /* what the test thread waited for in the snapshot */
	double wait_s;                     /* time in blocking calls, all categories */
	bool got_sigchld;                  /* a SIGCHLD reached the process during the attempt */
	bool empty_proc_read;              /* trace->empty_proc: read nothing of a child it started */
	int host;                          /* the host it ran on: index into test->hosts */
};

/* What features_run() derives per test for the features above. */
struct fh_test_features {
	bool unstable;               /* passing durations vary (DESIGN.md perf); slow_cut_s finite */
	double slow_cut_s;           /* passing attempts at least this long are slow */
	double pass_median_s, pass_max_s; /* of passing durations (>= 3 needed, else 0) */
	int cpu_nfail, cpu_npass;    /* traced failing and passing attempts */
	double cpu_fail_s, cpu_pass_s;   /* their median CPU time (in the phases: cpu_s) */
	double cpu_attempt_fail_s, cpu_attempt_pass_s; /* ... of whole attempts (cpu_attempt_s) */
	double wait_fail_s, wait_pass_s; /* their median time in blocking calls */
	double cpu_mid_s;            /* (cpu_fail_s + cpu_pass_s) / 2: cpu_high is above it */
	/* Where failures concentrate (ARCHITECTURE.md "Features"): the host, index into
	 * test->hosts, whose attempts failed far more than the other hosts' did; -1 none. */
	int hot_host;
	int hot_fail, hot_n;         /* failing, and failing + passing, attempts on it */
	int else_fail, else_n;       /* the same on every other host */
	double hot_chance;           /* chance of failures landing that unevenly at random */
};

/*
 * ---- the footprint: what an attempt left behind and what it looked at (footprint.c) ----
 * Built from the trace (the preload's FHF_FOOT calls, the fd and thread counts of the attempt
 * markers, the listening sockets still open at its end) and from the attempt record's
 * "footprint" (what Python saw: os.environ, the working directory, threads, modules, and the
 * variables read through os.environ). Keys: a file's or directory's path, a variable's name,
 * "cwd", a port (":8765"), "threads", a module's name, "umask", a signal or limit name.
 */
enum fh_key_kind {
	FH_KEY_FILE, FH_KEY_DIR, FH_KEY_ENV, FH_KEY_CWD, FH_KEY_UMASK, FH_KEY_SIGNAL,
	FH_KEY_RLIMIT, FH_KEY_LOCALE, FH_KEY_TZ, FH_KEY_THREAD, FH_KEY_PORT, FH_KEY_MODULE,
	FH_KEY_CHILD, FH_KEY_COUNT
};
extern const char *const fh_key_kind_names[FH_KEY_COUNT]; /* "file", "dir", "env", ... */

struct fh_foot_left {            /* state the attempt left changed when it ended */
	enum fh_key_kind kind;
	const char *key;
	const char *what;            /* "created", "written", "deleted", "set", "unset", "changed",
					"left running", "listening", "imported", ... */
	const char *value;           /* the new value (a variable's, the directory); may be NULL */
};

struct fh_foot_read {            /* state the attempt looked at */
	enum fh_key_kind kind;
	const char *key;
	const char *how;             /* "opened", "stat", "read", "relative path data.txt", ... */
	int found;                   /* 1 it was there, 0 not (ENOENT, unset, refused), -1 unknown */
};

struct fh_footprint {
	struct fh_foot_left *left; size_t nleft;
	struct fh_foot_read *reads; size_t nreads;
	size_t reads_dropped;        /* reads beyond the per-attempt bound */
	int fds_left, threads_left;  /* open fds and threads at its end minus at its start */
	bool counts;                 /* fds_left and threads_left are known (trace markers) */
	bool python;                 /* the record carried the plugin's footprint */
};

struct fh_foot_raw;              /* footprint.c: trace events of one attempt, before the summary */
struct fh_order_test;            /* order.c: a test's predecessors, candidates and polluters */

/* A test whose footprint (or a bisection) explains an order-dependent test (DESIGN.md
 * `diagnosis.polluters`): "polluter" (the victim fails after it) or "state-setter" (the
 * victim passes only after it). */
struct fh_polluter {
	const char *nodeid;
	const char *role;            /* "polluter" | "state-setter" */
	const char *found_by;        /* "footprint" | "bisection" */
	const char **evidence; size_t nevidence;
	int confirmed;               /* 1 true, 0 false, -1 null (not replayed, inconclusive) */
	const char *replay;          /* what the replay did, one line; may be NULL */
	const char *repro;           /* the pytest command line that fails; may be NULL */
	const char *left;            /* what it left behind, one phrase ("created /tmp/x") */
};

/*
 * ---- where an attempt's wall time went (perf_where.c) ----
 * From the preload's resource figures at the attempt's markers (FHT_REC_RES), its CPU samples
 * (FHT_REC_SAMPLE, while the profiler was on), the attempt's traced waits and the plugin's
 * garbage-collection figures. Times in seconds; a negative time or count is unknown.
 */
struct fh_line_cpu {             /* CPU samples whose innermost Python frame is one line */
	const char *path, *function; /* may be NULL */
	int line;
	const char *caller;          /* "path:line function" of the next frame out; may be NULL */
	double cpu_s;                /* the samples' weight */
	int samples;
};

struct fh_where {
	bool res;                    /* resource figures were found at both markers */
	double thread_cpu_s;         /* the test thread's CPU (user + system) */
	double user_s, sys_s;        /* the test's process, every thread */
	double run_delay_s;          /* runnable, waiting for a CPU: the test thread and threads
					that ended during the attempt (schedstat); < 0 unavailable */
	double children_cpu_s;       /* children reaped during the attempt */
	long long vol_switches, invol_switches; /* the test's process */
	long long minflt, majflt;    /* page faults of the test's process */
	double steal_s;              /* the machine's CPU steal during it; < 0 not measured */
	double wait_s;               /* the test thread's traced blocking calls */
	double gc_s, gc_max_s;       /* Python garbage collection (plugin); gc_s < 0 unknown */
	int gc_collections;
	double other_s;              /* duration - (thread CPU + run delay + wait), >= 0 */
	bool profiled;               /* the profiler was on (samples or the record says so) */
	double sampled_s;            /* total weight of the attempt's CPU samples */
	int samples;
	struct fh_line_cpu *lines; size_t nlines; /* by cpu_s, biggest first, bounded */
};
#define FH_WHERE_LINES 12

/* ---- attempts, clusters, tests ---- */

struct fh_attempt {
	int attempt;                 /* 1-based */
	enum fh_outcome outcome;
	bool xfail;                  /* an expected failure (counts as skipped) */
	const char *when;            /* phase that decided a failure: "setup", "call", "teardown"; may be NULL */
	double duration_s;
	double setup_s, call_s, teardown_s;
	int64_t start_ns, stop_ns;   /* CLOCK_MONOTONIC */
	double wall_start;           /* Unix seconds, display only */
	int pid, tid;
	const char *worker;          /* "gw0", or "main" */
	const char *error_type;      /* may be NULL */
	const char *error_message;   /* may be NULL */
	struct fh_frame *frames;     /* outermost first, innermost last */
	size_t nframes;
	const char *fingerprint;     /* 12 hex digits; NULL when not failed */
	const char *stack_fingerprint; /* from the last blocking call's stack; may be NULL */
	struct fh_attempt_trace *trace; /* NULL when the attempt has no trace */
	struct fh_features f;        /* features_run() */
	int source;                  /* index into run->sources: whose clock, traces and host */
	int source_attempt;          /* the number its source recorded; a merged run renumbers
					`attempt` 1..n per test in (source, source_attempt) order */
	const char *record_file;     /* where it came from, for messages */
	unsigned record_line;
	/* The plan (attempt records' "runs" and "stop"): attempts planned for the test when this
	 * attempt ended, and why it was the last one ("planned", "stable", "flaky", "broken",
	 * "skipped", "budget", "interrupted", "crashed"); stop is NULL on the others. */
	int planned;
	const char *stop;
	/* Captured output of a failing attempt, redacted and cut by the plugin; may be NULL. */
	const char *out_stdout, *out_stderr, *out_log;
	/* Hangs (records' "hung", "interrupted", "hang"): */
	bool hung, interrupted;
	const char *hang_by;         /* "fh-timeout", ...; may be NULL */
	double hang_limit_s;
	bool hang_stopped, hang_snapshot;
	const char *hang_ended;      /* "worker", "session"; may be NULL */
	/* --fh-order=rounds: the round (1..n) and the position in it (1..m) in its process; 0 in
	 * a back-to-back run. */
	int round, position;
	struct fh_footprint *foot;   /* may be NULL (nothing known) */
	/* Garbage collection during the attempt (the record's "gc"); gc_s < 0 unknown. */
	double gc_s, gc_max_s;
	int gc_collections;
	bool profiled;               /* the record says the profiler was on ("profile") */
	/* Fixture setups that ran in its process since the previous record (the record's
	 * "fixture_setups": its own setup phase's, and those before its first attempt, such as
	 * collection's): which fixture started a background thread (evidence.c). */
	struct fh_fixture_setup {
		const char *name, *scope; /* scope: "session", "package", "module", "class",
					     "function" (as pytest names it) */
		int64_t begin_ns, end_ns; /* CLOCK_MONOTONIC */
	} *fixture_setups;
	size_t nfixture_setups;
	struct fh_where *where;      /* perf_where.c; NULL without a trace */
	struct fh_foot_raw *foot_raw; /* the join's raw footprint events; NULL once summarized */
	int fds_end, threads_end;    /* counts at its end marker; -1 unknown */
	/* The attempts that ran just before it in its process, nearest first (order.c, for
	 * order-dependent tests only): the report's "who ran before" strip. */
	const struct fh_attempt **before; size_t nbefore;
	const struct fh_test *test;  /* its test (order.c) */
	struct fh_attempt_chaos *chaos; /* chaos mode (chaos_rec.h); NULL when the hunt had none */
};

struct fh_cluster {
	const char *fingerprint;
	const char *stack_fingerprint; /* may be NULL */
	int count;
	int *attempts;               /* attempt numbers, ascending */
	const char *error_type, *message; /* from the first attempt; may be NULL */
	const struct fh_frame *frames; /* borrowed from the first attempt: innermost FH_CLUSTER_FRAMES */
	size_t nframes;
};
#define FH_CLUSTER_FRAMES 5

struct fh_diagnosis {
	enum fh_kind kind;
	enum fh_blocked_on blocked_on; /* FH_ON_NONE except for timeout, network and hang */
	bool deadlock;               /* hang: the waiters formed a cycle */
	const char *summary;
	const char **evidence; size_t nevidence;
	/* Failures concentrate on this host (test->feat.hot_host): said whatever the kind, which
	 * names the mechanism; NULL when they do not. */
	const struct fh_host_stat *host;
	/* kind order (and other kinds a replay showed order-dependent): the tests that explain
	 * it, best first (order.c). */
	struct fh_polluter *polluters; size_t npolluters;
};

struct fh_named_value {
	const char *name;
	double value;
};

/* One Python line's CPU, slow attempts against fast ones (perf_cause.c): mean per profiled
 * attempt of each side. */
struct fh_perf_line {
	const char *path, *function; /* may be NULL */
	int line;
	const char *caller;          /* may be NULL */
	double slow_s, fast_s;
};

/* A part of the wall time (perf_cause.c): mean per slow and per fast attempt. */
struct fh_perf_part {
	const char *name;            /* "cpu", "gc", "run_delay", "wait", "other" */
	double slow_s, fast_s;
};
#define FH_PERF_PARTS 5

struct fh_perf {
	bool unstable;
	int *slow_attempts; size_t nslow;
	struct fh_named_value *by_category; size_t nby_category;
	struct fh_named_value *by_call; size_t nby_call;
	const char *summary;         /* may be NULL */
	/* perf_cause.c: the verdict and what the extra time was. */
	const char *shape;           /* "bimodal", "heavy-tail"; NULL when not unstable */
	double slow_median_s, fast_median_s, slow_share;
	double median_s, median_lo_s, median_hi_s; /* passing median and its bootstrap 95% */
	double noise_floor;          /* the run's relative spread of stable tests (0.1 = 10%) */
	double min_effect_s;         /* slow - fast medians needed to call it a perf flake */
	bool flake;                  /* unstable and the effect passes min_effect_s */
	const char *cause;           /* "cpu", "wait", "scheduling", "memory", "gc", "mixed"; NULL */
	const char **cause_evidence; size_t ncause_evidence;
	struct fh_perf_part parts[FH_PERF_PARTS]; int nparts; /* 0 without measured attempts */
	struct fh_perf_line *lines; size_t nlines; /* by slow - fast, biggest first */
	int profiled_slow, profiled_fast;
	/* Across runs (perf_cause.c, from the history): the median duration of recent runs
	 * against earlier ones. */
	struct fh_regression *regression; /* may be NULL */
};

struct fh_regression {
	int recent_runs, earlier_runs;
	double recent_median_s, earlier_median_s;
	double lo_s, hi_s;           /* 95% interval of recent - earlier (bootstrap) */
	bool flagged;                /* grew beyond noise */
	const char *first_run;       /* the first recent run's id; may be NULL */
	const char *commit_before, *commit_after; /* git commits around it; may be NULL */
};

struct fh_ai {
	bool ok;
	const char *text;            /* the hypothesis; may be NULL */
	const char *model;           /* may be NULL */
	const char *reason;          /* one line when !ok; may be NULL */
	bool redacted;               /* something was redacted from the prompt */
	bool cached;
};

/* History rows aggregated for one test (the CSV history; the report's trends and heatmap). */
struct fh_hist_run {
	const char *run_id, *timestamp; /* ISO 8601 UTC */
	const char *host, *branch, *week; /* week: "2026-W47" */
	int attempts, failed;
	bool isolate;                /* ran with --fh-isolate (false when unknown: older rows) */
	const double *durations; size_t ndurations; /* its passing attempts' durations (bounded) */
	double median_s;             /* their median; < 0 none */
	const char *commit;          /* git commit; may be NULL */
};

struct fh_hist_group {
	const char *key;
	int runs, attempts, failed;
};

struct fh_history {
	struct fh_hist_run *runs; size_t nruns; /* oldest first, current run included */
	struct fh_hist_group *by_host; size_t nby_host;
	struct fh_hist_group *by_branch; size_t nby_branch;
	struct fh_hist_group *by_week; size_t nby_week;
	struct fh_hist_group *by_params; size_t nby_params;
	struct fh_hist_group *locations; size_t nlocations; /* "file:line in func", failed = count */
	int total_attempts, total_failed;
	const char *trend;           /* "rising", "falling", "flat" or "n/a" */
	int skipped_rows;            /* corrupt rows skipped while reading */
	long long left_out_rows;     /* older rows of a file over the in-memory cap, not read */
};

/* An entry of the quarantine file the run used (RUN_DIR/quarantine.json). */
struct fh_quarantine {
	const char *pattern, *owner, *reason; /* reason may be "" */
	const char *expires;         /* "YYYY-MM-DD" */
	int line;                    /* in the quarantine file */
	bool expired;                /* on the day of the run: no longer protects */
	int matched;                 /* tests of the run it matched */
};

/* One host's share of a test's attempts: attempts counts non-skipped ones, failed the failed
 * and error ones; rate and Wilson interval as for the test. */
struct fh_host_stat {
	const char *host;
	int attempts, failed;
	double flake_rate, ci_lo, ci_hi;
};

struct fh_test {
	const char *nodeid;
	const char *file, *function;
	const char *param_id;        /* may be NULL */
	const char **fixtures; size_t nfixtures;
	struct fh_attempt *attempts; size_t nattempts; /* by attempt number */
	int passed, failed, skipped; /* failed counts outcome failed + error */
	/* The rate is the natural one: of the attempts chaos mode did not perturb (all of them
	 * without chaos), rate_failed of rate_n; the verdict counts every attempt. */
	int rate_failed, rate_n;
	double flake_rate, ci_lo, ci_hi;
	enum fh_verdict verdict;
	double mean_s, median_s, p95_s, max_s;
	struct fh_test_features feat; /* features_run() */
	struct fh_cluster *clusters; size_t nclusters; /* biggest first */
	struct fh_diagnosis *diag;   /* may be NULL */
	struct fh_perf *perf;        /* may be NULL */
	struct fh_ai *ai;            /* may be NULL */
	struct fh_history *hist;     /* may be NULL */
	int planned;                 /* attempts planned (the last record's), >= nattempts */
	const char *stop;            /* why the last attempt was the last; may be NULL */
	const struct fh_quarantine *quarantine; /* the entry matching it; may be NULL */
	struct fh_host_stat *hosts; size_t nhosts; /* per host, by name (sources.c) */
	struct fh_order_test *order; /* order.c: NULL when no order evidence */
	struct fh_test_chaos *chaos; /* analyzer/chaos.c: NULL when no attempt ran under chaos */
};

struct fh_run_meta {
	const char *run_id;
	const char *started_utc;     /* ISO 8601 */
	const char *host, *os, *python, *pytest, *plugin_version;
	const char *branch, *commit; /* may be NULL */
	bool dirty;
	int cpu_count;
	int64_t ram_bytes;
	int runs_per_test;
	bool isolate, xdist;
	bool tracing;                /* the preload library was active */
	const char *rootdir;         /* may be NULL */
	const char *runs_mode;       /* "fixed" or "auto" */
	int max_runs;                /* cap of an adaptive count; runs_per_test otherwise */
	double budget_s;             /* --fh-budget; 0 when none */
	const char *fail_on;         /* --fh-fail-on: "any", "broken", "flaky", "never" */
	const char *order_mode;      /* --fh-order: "back-to-back" or "rounds" */
	long long order_seed;        /* --fh-seed of a rounds run; -1 none */
	int lost_records;            /* records the plugin could not write (its lost.json) */
};

/* Where attempts came from: the run directory of one pytest session. An unmerged run has one
 * source (its own directory); a merged run (`fh-analyze merge`, sources.h) one per
 * sources/<id>/. Monotonic times are per machine, so attempt intervals and trace events are
 * joined within one source only, and each source's module maps symbolize its own stacks. */
struct fh_source {
	const char *id;              /* directory name under sources/; "" for an unmerged run */
	const char *dir;             /* its run directory: trace/ and module maps are read there */
	struct fh_run_meta meta;     /* its meta.json (host, clock, git, options) */
	int attempts;                /* attempt records loaded from it */
};

struct fh_run {
	struct arena arena;
	const char *run_dir;
	const char *json_path;       /* the JSON summary written beside the report (or NULL); a
	                              * trimmed report names it as the place of the full data */
	struct fh_run_meta meta;
	struct fh_test *tests; size_t ntests; /* report order: flaky/broken first, worst first */
	struct fh_source *sources; size_t nsources; /* at least one; by id */
	bool merged;                 /* read from a merged run directory */
	int nflaky, nstable, nbroken, nskipped;
	double avg_flake_rate;
	/* Totals over all trace files. A merged run joins each source on its own and adds the
	 * sources' totals up (sources.c, join_source()): a new total goes there too. */
	uint64_t trace_events, trace_dropped;
	/* What tracing lost (the preload's drop reasons, preload/fhtrace_format.h enum
	 * fht_drop_reason; names: trace_drop_reason_name()): trace_dropped by reason, the
	 * processes that dropped anything, and module maps that lack modules, by reason. */
	uint64_t trace_drops[FH_DROP_REASONS];
	int trace_drop_procs;
	int trace_maps_incomplete;
	int trace_map_reasons[FH_DROP_REASONS];
	int malformed_records;       /* records skipped with a warning */
	long long lost_records;      /* records the plugin could not write (disk full, EIO...):
	                                the sources' lost.json, or report --lost-records */
	bool history_enabled;
	bool ai_requested;
	const char *quarantine_file; /* may be NULL (no quarantine) */
	struct fh_quarantine *quarantine; size_t nquarantine;
};

/* model.c: the name of an enum fht_drop_reason as the JSON summary and `dump` spell it
 * ("disk_floor"), and a short phrase for people ("the disk's free space fell below
 * FH_TRACE_MIN_FREE"). */
const char *trace_drop_reason_name(unsigned reason);
const char *trace_drop_reason_text(unsigned reason);

/* model.c: an attempt that failed (failed or error, not an expected failure), one that passed. */
bool attempt_failed(const struct fh_attempt *a);
bool attempt_passed(const struct fh_attempt *a);

/* model.c: the host an attempt ran on (its source's meta host; "" when unknown). */
const char *attempt_host(const struct fh_run *run, const struct fh_attempt *a);

/* model.c, for the report: every polluter of the run (order-dependent tests' diagnoses)
 * with the victims it breaks (cross-test view). */
struct fh_polluter_victims {
	const char *nodeid;          /* the polluter */
	const struct fh_test **victims; size_t nvictims;
	const char **left; size_t nleft; /* what it left behind, one phrase each */
};
size_t order_polluter_index(struct arena *A, const struct fh_run *run,
			    struct fh_polluter_victims **out);

/* True when run_id names this run or one of its sources (history rows of the run itself). */
bool run_is_own_id(const struct fh_run *run, const char *run_id);

#endif
