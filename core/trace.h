/* SPDX-License-Identifier: MIT */
/*
 * Reading trace files written by libfhtrace.so (format: preload/fhtrace_format.h) into decoded
 * events. This is the only place the analyzer touches the on-disk trace format; evidence.c,
 * `fh-analyze dump` and the stacks code work on struct fh_event.
 *
 * Trace files are hostile input: the reader checks the magic, the version range, the header
 * size, the record size, every chunk header and every count against the bytes present. A truncated or damaged file
 * yields the events that are intact plus a one-line warning naming the file and the offset.
 */
#ifndef FH_TRACE_H
#define FH_TRACE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "model.h"

enum fh_ev_type {
	FH_EV_CALL,        /* a wrapped call (in flight when !done) */
	FH_EV_SIGNAL,      /* a signal delivered to the process (trampoline) */
	FH_EV_MARK,        /* attempt/phase marker from the plugin */
	FH_EV_TARGET,      /* fd -> target string (connect, accept, open, ...) */
	FH_EV_PROC,        /* process start/exec (exe) */
	FH_EV_SNAP,        /* a hang snapshot's record (fhtrace_format.h, FHT_REC_SNAP): snap is
			    * the kind; fd, arg, arg2, result, err, timeout_ns, end_ns, target and
			    * the stack as the record's fields say */
	FH_EV_FOOT,        /* state found at an attempt's end (FHT_REC_FOOT): `foot` is the enum
			    * fht_foot_mark, fd and target (a listening socket), arg the attempt */
	FH_EV_CHAOS,       /* a perturbation chaos mode injected, or the plan in force
			    * (FHT_REC_CHAOS): chaos is the kind; call/call_name the call it held
			    * up (-1 none), timeout_ns the delay drawn, arg the call's slot, arg2
			    * the draw's index (a yield at a lock release: the lock), result the
			    * plan target (0: the spread), err the call's class; a PLAN's target is
			    * the plan text, arg its seed, arg2 its generation */
	FH_EV_RES,         /* resource figures (FHT_REC_RES): res_kind, resv[0..nresv) (-1:
			    * unavailable), owner (the slot of the marker they belong to, 0 none),
			    * res_exit (read when the thread or process ended); start_ns = when read */
	FH_EV_SAMPLE,      /* the CPU profiler (FHT_REC_SAMPLE): sample is the kind; a CPU sample
			    * stands for weight_ns of the thread's CPU, interrupted_call is the
			    * wrapped call it was in (-1 none), arg the interval, result the pc, the
			    * stack its Python frames; ON: fd = signal, result = threads armed */
	FH_EV_TYPE_COUNT
};

enum fh_mark_kind {
	FH_MARK_ATTEMPT_BEGIN, FH_MARK_ATTEMPT_END, FH_MARK_PHASE_BEGIN, FH_MARK_PHASE_END,
	FH_MARK_KIND_COUNT
};

struct fh_event {
	enum fh_ev_type type;
	int pid, tid;
	int64_t start_ns;           /* CLOCK_MONOTONIC */
	int64_t end_ns;             /* 0 while in flight */
	bool done;
	/* FH_EV_CALL */
	int call;                   /* id from preload/calls.def */
	const char *call_name;      /* borrowed: static table */
	enum fh_category category;
	int64_t result;             /* in the call's own convention */
	int err;                    /* errno, returned error number or EAI code; 0 none */
	const char *err_name;       /* "ECONNREFUSED", "EAI_NONAME", NULL when none; static */
	int fd;                     /* -1 when none */
	int64_t timeout_ns;         /* asked-for timeout; -1 none (infinite), 0 non-blocking */
	int64_t arg;                /* call-specific (signal number for kill, child pid for wait, ...) */
	const char *target;         /* peer address, path, exe; may be NULL; borrowed from the file */
	/* FH_EV_SIGNAL */
	int signo, si_code, sender_pid;
	int interrupted_call;       /* call id the delivery interrupted, -1 none */
	/* FH_EV_FOOT */
	int foot;
	/* FH_EV_MARK */
	enum fh_mark_kind mark;
	const char *nodeid;         /* borrowed from the file; may be NULL for phase marks */
	int attempt, phase, outcome;
	int64_t cpu_ns;             /* thread CPU time at the marker; -1 unknown */
	int fds, threads;           /* counts at the marker; -1 unknown */
	/* stacks: raw native addresses and python frames; may be empty */
	const uint64_t *stack; int nstack;
	const struct fh_stack_frame *pystack; int npystack;
	/* Raw record fields, for readers that need more than the decoded ones. */
	int raw_category;           /* enum fht_category of preload/fhtrace_format.h */
	int fdkind;                 /* enum fht_fdkind: what the fd was (socket, file, other) */
	int conv;                   /* enum fht_conv: how the call reports failure */
	int64_t arg2;               /* call-specific second argument (see fhtrace_format.h) */
	unsigned flags;             /* FHT_F_* of the record */
	unsigned cflags;            /* FHF_* of the call (the call table); 0 for an unknown id */
	uint32_t stack_ref;         /* slot of its stack's first record; 0: none */
	/* FH_EV_SNAP */
	int snap;                   /* enum fht_snap_kind */
	/* FH_EV_CHAOS */
	int chaos;                  /* enum fht_chaos_kind */
	/* FH_EV_RES */
	int res_kind;               /* enum fht_res_kind */
	bool res_exit;
	uint32_t owner;
	const int64_t *resv; int nresv; /* borrowed from the file's storage */
	/* FH_EV_SAMPLE */
	int sample;                 /* enum fht_sample_kind */
	int64_t weight_ns;          /* CPU sample: (1 + missed) * interval */
	uint32_t slot;              /* its slot index in the thread's stream (LOCK records name
				     * their waiter's THREAD record by it) */
};

struct fh_trace_file {
	const char *path;
	int pid, ppid, tid;
	int creator_tid;            /* the thread that created this one (pthread_create); 0 unknown */
	int64_t born_ns;            /* ... and when (CLOCK_MONOTONIC); 0 unknown */
	const char *exe;            /* may be NULL */
	int64_t mono_anchor_ns;     /* CLOCK_MONOTONIC at process start ... */
	int64_t real_anchor_ns;     /* ... and CLOCK_REALTIME at the same moment */
	struct fh_event *events; size_t nevents;
	uint64_t nslots;            /* record slots decoded (gaps included): the reading's cost */
	uint64_t dropped;           /* events of this thread the library could not write */
	unsigned drop_reason;       /* enum fht_drop_reason of its latest drops (0: unknown) */
	bool truncated;             /* the file ended early or a record was damaged */
	bool full;                  /* the writer stopped (file or disk full, a limit) */
	bool main_file;             /* the process's first file (holds the FH_EV_PROC event) */
	int version;                /* format version of the writer */
	int64_t proc_start_ns;      /* CLOCK_MONOTONIC when the process started tracing */
	/* The whole file's losses, set on its first thread only (index 0, and a version 1 file),
	 * so that summing over (file, thread) units counts each file once: every event the
	 * process did not write, by enum fht_drop_reason (writers that do not keep reasons:
	 * all under 0, unknown), their total, and why its module map lacks modules (0: none). */
	uint64_t file_drops[FH_DROP_REASONS];
	uint64_t file_dropped;
	unsigned map_reason;
	void *priv;                 /* reader-owned storage (mapping, strings) */
};

/* Loads one trace file (of a version 2 process file: its first thread). 0 on success (possibly
 * with truncated set and a warning printed), negative errno when nothing could be read. Free
 * with trace_free(); out->path is path (borrowed). */
int trace_load(const char *path, struct fh_trace_file *out);

/*
 * The threads of one trace file, found once without decoding anything: a version 1 file is one
 * thread; a version 2 process file is walked chunk header by chunk header (damaged pages are
 * skipped with a warning, streams are bounded by the records the file really holds), threads
 * in the order of their first chunk. The index holds no fd or mapping between calls: a run may
 * have thousands of files. trace_index_open() returns 0 or -errno (one error line printed);
 * the index owns a copy of path.
 */
struct trace_index;
int trace_index_open(const char *path, struct trace_index **ix);
void trace_index_close(struct trace_index *ix);   /* NULL is fine */
size_t trace_index_nthreads(const struct trace_index *ix);
const char *trace_index_path(const struct trace_index *ix);
/* Thread t's pid and tid (as its file records them). */
void trace_index_thread(const struct trace_index *ix, size_t t, int *pid, int *tid);
/* Thread t's creator and creation time from its chunk headers (0, 0: unknown). */
void trace_index_origin(const struct trace_index *ix, size_t t, int *creator, int64_t *born_ns);
/* Loads thread t (re-opening the file) like trace_load(); out->path is borrowed from ix, so
 * trace_free(out) before trace_index_close(ix). A version 2 file without any thread loads
 * as one header-only file (tid 0, no events) for t == 0. */
int trace_index_load(const struct trace_index *ix, size_t t, struct fh_trace_file *out);
void trace_free(struct fh_trace_file *tf);

/* Lists RUN_DIR/trace/ *.fht sorted by name; caller frees each string and the array. */
int trace_list(const char *trace_dir, char ***paths, size_t *n);

/* The name of x86_64 system call nr for display ("recvfrom", "futex"; "syscall 999" when not
 * in the short table of blocking calls): static, or a buffer reused by the next call. */
const char *trace_syscall_name(int nr);

#endif
