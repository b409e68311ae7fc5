/* SPDX-License-Identifier: MIT */
/*
 * The on-disk trace format written by libfhtrace.so and read by the analyzer (core/trace.c).
 *
 * Version 2 (written now): one file per traced process, `<pid>.fht` in FH_TRACE_DIR
 * (`<pid>-<n>.fht` when the name is taken, e.g. after an exec, which keeps the pid), created at
 * the process's first traced event (a process that records nothing writes no file):
 *
 *   struct fht_proc_header   (FHT_HEADER_SIZE bytes, one page): who, when, and `next_off`
 *   chunks, back to back from offset FHT_HEADER_SIZE, each a multiple of FHT_CHUNK_ALIGN bytes:
 *       struct fht_chunk     (one FHT_REC_SIZE slot: the owning thread, where its records go)
 *       struct fht_rec[]     nslots records of that one thread
 *
 * Why one file per process and not per thread: creating a file costs an inode, and on a
 * filesystem that churns through files (test suites do) ext4's inode allocation alone took
 * ~0.3 ms per file here, as much as a short thread's whole life; and a per-thread mapping had
 * to be unmapped at thread exit, a TLB shootdown across CPUs. Threads now claim chunks of the
 * process file (an atomic add on next_off), mapped once into one address range that is never
 * unmapped while the process lives.
 *
 * A thread's records form one stream indexed 0, 1, 2... (the "slot index" that string owners
 * and stack refs name); chunk k of a thread holds indices [first, first + nslots) at its slots
 * 1..nslots. Its first chunk is FHT_FIRST_SLOTS slots, each next one twice the last, up to
 * FHT_CHUNK_MAX_SLOTS. Indices a thread skipped (see `dropped`) are absent or zero records.
 * Chunks of different threads interleave in the file in claim order. A reader walks the chunks
 * from FHT_HEADER_SIZE: a valid chunk header has type FHT_REC_CHUNK, FHT_CHUNK_MAGIC and
 * self_off equal to its own offset; anything else (a chunk whose writer died before writing
 * its header, damage) is skipped FHT_CHUNK_ALIGN bytes at a time. No record can pass for a
 * chunk header: only chunk headers have type FHT_REC_CHUNK (and its magic and offset).
 *
 * Version 1 (read, no longer written): one file per thread, `<pid>-<tid>.fht`: a struct
 * fht_header page, then that thread's records from index 0.
 *
 * Writers: exactly one thread writes a chunk (plus that thread's signal handlers, which nest).
 * A record slot is reserved by an increment of a per-thread counter (atomic against signal
 * handlers); an index past the thread's last chunk is not written and counted in the chunk's
 * `dropped` (with its `reason`) and in the process header's `drops[reason]` instead, so the
 * drop counts are exact (SIGKILL included: they live in the mapped file). A dropped index is
 * given back when nothing was reserved after it, so stopping leaves no gap in the stream. A
 * reserved slot whose writer died before filling it keeps type 0 (FHT_REC_NONE) and is skipped
 * by readers.
 *
 * A blocking call is written at entry (type, call, start, fd, timeout, target) and completed
 * at exit (end_ns, result, err, then the FHT_F_DONE flag with a release store), so a record
 * without FHT_F_DONE is a call still in flight (or cut by SIGKILL).
 *
 * Strings (target of a call, nodeid of a marker, exe of a process) follow their record as
 * FHT_REC_STR records naming the owner's slot index, in order; a nested signal handler may put
 * its own records in between, so readers match by owner, never by position alone.
 *
 * Compatibility: readers accept files whose min_version <= their FHT_VERSION; new fields go at
 * the end of the headers or into the reserved bytes of records. Call ids are those of
 * preload/calls.def (fhtrace_calls.h), append only.
 *
 * Stacks: `stack_ref` of a call or signal record names the slot of the first
 * FHT_REC_STACK record of its stack (0: none); see struct fht_stack.
 */
#ifndef FHTRACE_FORMAT_H
#define FHTRACE_FORMAT_H

#include <stdint.h>

#include "fhtrace_calls.h"   /* call ids, categories, conventions, the call table */

#define FHT_MAGIC "FHTRACE1"          /* version 1 thread file; 8 bytes, no NUL needed */
#define FHT_MAGIC2 "FHTRACE2"         /* version 2 process file */
#define FHT_VERSION 2                 /* newest version written and read */
#define FHT_MIN_VERSION 2             /* min_version of what this writer writes */
#define FHT_CHUNK_ALIGN 4096          /* chunk offsets and sizes are multiples of this */
#define FHT_CHUNK_MAGIC 0x4b4e4843u   /* "CHNK" little-endian */
#define FHT_FIRST_SLOTS 255u          /* records in a thread's first chunk (16 KiB with header) */
#define FHT_CHUNK_MAX_SLOTS 16383u    /* records in the largest chunk (1 MiB with header) */
#define FHT_HEADER_SIZE 4096
#define FHT_REC_SIZE 64
#define FHT_STR_CHUNK 56              /* string bytes per FHT_REC_STR record */
#define FHT_STR_MAX 1024              /* longest string a writer stores (truncated beyond) */

enum fht_rec_type {
	FHT_REC_NONE = 0,     /* reserved but never written (writer died or dropped) */
	FHT_REC_CALL = 1,     /* a wrapped call */
	FHT_REC_SIGNAL = 2,   /* a signal delivery, seen by the trampoline */
	FHT_REC_MARK = 3,     /* attempt / phase marker from the fh_* API */
	FHT_REC_STR = 4,      /* a chunk of a string owned by another record */
	FHT_REC_PROC = 5,     /* this process started (first file of the process) */
	FHT_REC_STACK = 6,    /* a captured stack (struct fht_stack) */
	FHT_REC_CHUNK = 7,    /* version 2: the header slot of a chunk (struct fht_chunk) */
	FHT_REC_SNAP = 8,     /* a hang snapshot's record (below; appended, version unchanged:
			       * older readers skip a type they do not know) */
	FHT_REC_FOOT = 9,     /* state found at an attempt's end (enum fht_foot_mark); readers
			       * that do not know it skip it */
	FHT_REC_CHAOS = 10,   /* a perturbation chaos mode injected, or the plan in force (below;
			       * appended, version unchanged) */
	FHT_REC_RES = 11,     /* resource figures (struct fht_res, below; appended likewise) */
	FHT_REC_SAMPLE = 12,  /* a CPU profile sample, or the profiler switched on/off (below) */
};

/* FHT_REC_FOOT records, written by fh_attempt_end() right after the end marker, in its
 * thread: call = the kind, then per kind:
 *   FHT_FOOTM_LISTENING: a socket the process put in listening state (listen) is still open:
 *                        fd, string = its local address, arg = the attempt. */
enum fht_foot_mark { FHT_FOOTM_LISTENING = 1 };

/* fht_rec.flags */
#define FHT_F_DONE      0x01  /* completed: end_ns, result and err are valid */
#define FHT_F_STR       0x02  /* FHT_REC_STR records carrying this record's string follow */
#define FHT_F_FDKIND_SHIFT 2  /* bits 2-3: what the fd was when the call was recorded; for a
				* call that waits on a set of fds (FHF_POLL), the kind they all
				* share (FHT_FD_OTHER when they differ, unknown when any is) */
#define FHT_F_FDKIND_MASK  0x0c
#define FHT_F_TRUNC     0x10  /* the string was truncated at FHT_STR_MAX */
#define FHT_F_RESOLVED  0x20  /* target resolved lazily at exit (slow or failed call) */

enum fht_fdkind { FHT_FD_UNKNOWN = 0, FHT_FD_SOCKET = 1, FHT_FD_FILE = 2, FHT_FD_OTHER = 3 };

/* Marker kinds (fht_rec.call of a FHT_REC_MARK). */
enum fht_mark { FHT_MARK_ATTEMPT_BEGIN, FHT_MARK_ATTEMPT_END, FHT_MARK_PHASE_BEGIN,
	FHT_MARK_PHASE_END };

/* Version 1: page 0 of a thread file (no longer written; read for old run directories). */
struct fht_header {
	char magic[8];            /* FHT_MAGIC */
	uint32_t version;         /* FHT_VERSION of the writer */
	uint32_t min_version;     /* oldest reader version that can read this file */
	uint32_t header_size;     /* FHT_HEADER_SIZE */
	uint32_t rec_size;        /* FHT_REC_SIZE */
	uint64_t capacity;        /* record slots the file may grow to */
	uint64_t allocated;       /* record slots really backed by the file (grows by chunks) */
	uint64_t reserved;        /* slots reserved so far (atomic); may exceed allocated */
	uint64_t dropped;         /* events not written (file full, disk full); exact */
	int32_t pid, ppid, tid;
	uint32_t flags;           /* FHT_H_* */
	int64_t mono_anchor_ns;   /* CLOCK_MONOTONIC when the file was created ... */
	int64_t real_anchor_ns;   /* ... and CLOCK_REALTIME at the same moment */
	int64_t proc_start_ns;    /* CLOCK_MONOTONIC when the process started tracing */
	char exe[256];            /* /proc/self/exe, NUL-terminated, may be truncated */
	uint32_t ncalls;          /* size of the writer's call table (ids < ncalls) */
	uint32_t pad;
};

#define FHT_H_MAIN    0x1     /* the process's first trace file */
#define FHT_H_FULL    0x2     /* the writer stopped (file or disk full, a limit); see drops */
#define FHT_H_DROPS   0x4     /* version 2: drops[], map_reason and min_free are kept */

/*
 * Why events were not written (fht_proc_header.drops[], fht_chunk.reason, and why a module map
 * lacks modules: fht_proc_header.map_reason). Append only; 0 is "not recorded" (older writers).
 * A thread that stops for a passing reason (every one but THREAD_CAP and FILE_CAP) tries again
 * after a number of dropped events that doubles from 256 to 65536, and resumes in a new chunk
 * when it can: tracing restarts once space is freed or a limit is raised again.
 */
enum fht_drop_reason {
	FHT_DROP_UNKNOWN = 0,     /* not recorded: a file of an older writer */
	FHT_DROP_THREAD_CAP = 1,  /* the thread used its FH_TRACE_MAX_BYTES */
	FHT_DROP_FILE_CAP = 2,    /* the process file reached its largest size (16 GiB) */
	FHT_DROP_DISK_FLOOR = 3,  /* the trace filesystem's free space would fall below
				   * FH_TRACE_MIN_FREE (the space is left to the program) */
	FHT_DROP_DISK_FULL = 4,   /* allocating the chunk failed: ENOSPC, EDQUOT */
	FHT_DROP_RLIMIT = 5,      /* growing the file would pass RLIMIT_FSIZE (SIGXFSZ avoided) */
	FHT_DROP_NO_FD = 6,       /* the trace file could not be opened: EMFILE, ENFILE, or the
				   * fd table was within 16 of RLIMIT_NOFILE (left to the program) */
	FHT_DROP_NO_MEMORY = 7,   /* mapping the file failed: ENOMEM, RLIMIT_AS */
	FHT_DROP_BUSY = 8,        /* a signal handler wrote while its thread was claiming a chunk */
	FHT_DROP_IO = 9,          /* any other error creating, opening or growing the file */
	FHT_DROP_NREASONS = 16    /* slots of fht_proc_header.drops */
};

/* Version 2: page 0 of a process file. */
struct fht_proc_header {
	char magic[8];            /* FHT_MAGIC2 */
	uint32_t version;         /* FHT_VERSION of the writer */
	uint32_t min_version;     /* oldest reader version that can read this file */
	uint32_t header_size;     /* FHT_HEADER_SIZE */
	uint32_t rec_size;        /* FHT_REC_SIZE */
	uint64_t next_off;        /* where the next chunk goes (atomic add; may pass the file's end
				   * when a claim failed: readers use the file size) */
	uint64_t thread_cap;      /* record slots one thread may use (FH_TRACE_MAX_BYTES) */
	int32_t pid, ppid;
	uint32_t flags;           /* FHT_H_FULL: some thread could not get a chunk */
	uint32_t ncalls;          /* size of the writer's call table (ids < ncalls) */
	int64_t mono_anchor_ns;   /* CLOCK_MONOTONIC when the file was created ... */
	int64_t real_anchor_ns;   /* ... and CLOCK_REALTIME at the same moment */
	int64_t proc_start_ns;    /* CLOCK_MONOTONIC when the process started tracing */
	char exe[256];            /* /proc/self/exe, NUL-terminated, may be truncated */
	/* Appended fields (zero in files of older writers; valid when FHT_H_DROPS is set): */
	uint64_t drops[FHT_DROP_NREASONS]; /* events of the process not written, by enum
				   * fht_drop_reason: every thread's, including threads that never
				   * got a chunk, and events before the file existed; exact */
	uint32_t map_reason;      /* enum fht_drop_reason: the module map (<pid>.maps) lacks modules
				   * because a write was refused or failed; 0 when it is complete */
	uint32_t map_failures;    /* module map writes refused or failed (a later one may have
				   * completed it: then map_reason is 0 again) */
	uint64_t min_free;        /* the disk floor in bytes when the file was created (0: none) */
};

/* Version 2: slot 0 of a chunk. */
#define FHT_C_FULL    0x1     /* the thread stopped after this chunk (its cap, disk full, a
				 * limit: see reason); a later chunk of the thread means it resumed */
struct fht_chunk {
	uint8_t type;             /* FHT_REC_CHUNK */
	uint8_t flags;            /* FHT_C_* */
	uint16_t pad;
	uint32_t magic;           /* FHT_CHUNK_MAGIC */
	uint64_t self_off;        /* this chunk's offset in the file */
	int32_t tid;
	uint32_t seq;             /* 0 for a thread's first chunk, then 1, 2... */
	uint64_t first;           /* slot index of the record in slot 1 */
	uint64_t nslots;          /* record slots after this header */
	uint64_t dropped;         /* events the thread dropped while this was its last chunk */
	uint32_t reason;          /* enum fht_drop_reason of the latest of them (0: older writer) */
	uint32_t creator;         /* tid of the thread that created this one with pthread_create;
				     0 unknown (the main thread, older writers) */
	uint64_t born_ns;         /* CLOCK_MONOTONIC when it was created (creator != 0) */
};

/*
 * One record. Field use by type:
 *   CALL:   call = call id, fd, start_ns, end_ns, result, err (errno, returned error number
 *           or EAI code per the call's conv), timeout_ns (-1 none/infinite, 0 non-blocking),
 *           arg (call-specific: signal of kill, child status of wait, pid of fork...), arg2.
 *   SIGNAL: call = interrupted call id (0xffff none), fd = signal number, err = si_code,
 *           arg = sender pid, arg2 = sender uid, start_ns = delivery, end_ns = handler return.
 *   MARK:   call = enum fht_mark, arg = attempt, arg2 = phase, result = outcome,
 *           timeout_ns = thread CPU ns, fd = open fds, err = threads (both -1 except at
 *           FHT_MARK_ATTEMPT_BEGIN and, from writers that record footprints, at
 *           FHT_MARK_ATTEMPT_END: what the attempt left open); string = nodeid.
 *   FOOT:   see enum fht_foot_mark.
 *   STR:    see struct fht_str.
 *   PROC:   start_ns = process start, arg = pid, arg2 = ppid; string = exe.
 */
struct fht_rec {
	uint8_t type;
	uint8_t flags;
	uint16_t call;
	int32_t fd;
	int64_t start_ns;
	int64_t end_ns;
	int64_t result;
	int32_t err;
	uint32_t stack_ref;       /* slot of its stack's first FHT_REC_STACK record; 0: none */
	int64_t timeout_ns;
	int64_t arg;
	int64_t arg2;
};

struct fht_str {
	uint8_t type;             /* FHT_REC_STR */
	uint8_t len;              /* bytes used in data (<= FHT_STR_CHUNK) */
	uint8_t last;             /* 1 on the final chunk */
	uint8_t pad;
	uint32_t owner;           /* slot index of the owning record */
	char data[FHT_STR_CHUNK];
};

/*
 * FHT_REC_STACK (writer preload/stackrec.c): a stack captured at the exit of a call
 * that lasted at least FH_STACK_MS or returned EINTR after a signal. The call record's
 * stack_ref names the slot of the stack's first record; signal records delivered to the thread
 * during the call name the same slot. Every record of one stack has owner = the call's slot
 * and they follow in slot order (a nested signal handler's records may sit in between); the
 * last one has FHT_STK_F_LAST. Kinds:
 *   NATIVE: u.pcs[0..n-1], innermost first, continued across records. Every address is a
 *           return address (symbolizers look up pc - 1); the first one of a stack is the libc
 *           entry point of the wrapped call + 1, so it resolves to that function.
 *   PY:     u.py[0..n-1] Python frames, innermost first: line and the slot of a PYSTR record.
 *   PYSTR:  an interned "function\0file" string, carried by FHT_REC_STR records owned by this
 *           slot; u.hash is its FNV-1a 64. Written once per file, shared by later frames.
 * Raw addresses are symbolized with the process's module map, TRACE_DIR/<pid>.maps
 * (preload/modmap.h).
 */
enum fht_stack_kind { FHT_STK_NATIVE = 1, FHT_STK_PY = 2, FHT_STK_PYSTR = 3 };
#define FHT_STK_F_LAST 0x40   /* fht_stack.flags: the stack's last record */
#define FHT_STK_PCS 7         /* entries per record */

struct fht_stack {
	uint8_t type;             /* FHT_REC_STACK */
	uint8_t flags;            /* FHT_STK_F_LAST; FHT_F_STR on PYSTR */
	uint8_t kind;             /* enum fht_stack_kind */
	uint8_t n;                /* entries used, <= FHT_STK_PCS */
	uint32_t owner;           /* slot of the call record */
	union {
		uint64_t pcs[FHT_STK_PCS];
		struct { int32_t line; uint32_t str; } py[FHT_STK_PCS];
		uint64_t hash;
	} u;
};

/*
 * FHT_REC_SNAP (writer preload/hang.c): a hang snapshot, written into the stream of the thread
 * that took it (the plugin's watchdog, or the thread that got SIGINT/SIGTERM) when an attempt
 * passed its time limit or the session was interrupted. One HEAD record, then one THREAD record
 * per other thread of the process (and a LOCK record after a thread waiting on a lock whose
 * holder is known), then one CHILD record per thread of each live child of the attempt. All are
 * struct fht_rec; `call` is the kind (enum fht_snap_kind), flags FHT_F_DONE (and FHT_F_STR when a
 * string follows), start_ns the time the record was written. Fields by kind:
 *   HEAD:   arg = why (enum fht_snap_reason), arg2 = the time limit in ns (0: none),
 *           timeout_ns = when the attempt began (CLOCK_MONOTONIC ns; 0: unknown), fd = the
 *           snapshotting thread's tid, result = THREAD records, err = children, end_ns = when
 *           the snapshot was complete (0: it never completed; the records before are valid).
 *   THREAD: fd = tid, arg = pid, result = the system call it is blocked in (number), or
 *           FHT_SNAP_RUNNING / FHT_SNAP_NOSYS (blocked outside a system call) /
 *           FHT_SNAP_UNKNOWN; arg2 and timeout_ns = that call's first two arguments (the futex
 *           word of a lock wait, an fd...), err = the wrapped call (calls.def id) it is in, -1
 *           none; stack_ref = its stack now (native frames unwound from the pc and sp the kernel
 *           saved, then Python frames; owner = this record); string = the thread's name (the
 *           Python name when the plugin passed it, else the kernel's comm).
 *   LOCK:   the holder of the lock the THREAD record before it waits for: fd = holder tid,
 *           result = waiter tid, arg = the lock's address, arg2 = the waiter's THREAD slot,
 *           err = enum fht_holder_source, timeout_ns = since when it holds it (ns; 0 unknown),
 *           stack_ref = where it acquired it (one Python frame) when known.
 *   CHILD:  fd = tid, arg = pid, arg2 = ppid, result = system call as THREAD, timeout_ns =
 *           when the process started (CLOCK_MONOTONIC ns, 10 ms resolution); string = its
 *           executable, a newline and its argv[0] (first thread of a process), or the
 *           thread's comm.
 */
enum fht_snap_kind { FHT_SNAP_HEAD = 0, FHT_SNAP_THREAD = 1, FHT_SNAP_LOCK = 2, FHT_SNAP_CHILD = 3 };
enum fht_snap_reason {
	FHT_SNAPR_API = 0,         /* fh_hang_snapshot() without a reason */
	FHT_SNAPR_FH_TIMEOUT = 1,  /* --fh-timeout */
	FHT_SNAPR_PYTEST_TIMEOUT = 2, /* pytest-timeout's limit (--timeout, the timeout mark) */
	FHT_SNAPR_FAULTHANDLER = 3, /* pytest's faulthandler_timeout */
	FHT_SNAPR_SIGINT = 4,      /* the session got SIGINT */
	FHT_SNAPR_SIGTERM = 5,     /* the session got SIGTERM */
};
#define FHT_SNAP_RUNNING (-1)      /* THREAD/CHILD result: running on a CPU */
#define FHT_SNAP_NOSYS (-2)        /* blocked, not in a system call */
#define FHT_SNAP_UNKNOWN (-3)      /* the kernel would not say (thread gone, no access) */
enum fht_holder_source {
	FHT_HOLDER_MUTEX = 1,      /* a pthread mutex's owner field */
	FHT_HOLDER_ACQUIRE = 2,    /* the last acquire of a semaphore not yet released (the lock
				    * table: CPython's threading.Lock) */
};

/*
 * FHT_REC_CHAOS (writer preload/chaos.c): chaos mode (the plugin's --fh-chaos) perturbs the
 * program the way a loaded machine could, and records each perturbation in the stream of the
 * thread it held up, so the analyzer tells an injected delay from a natural one. All are struct
 * fht_rec; `fd` is the kind (enum fht_chaos_kind), start_ns/end_ns the perturbation's own span
 * (a wrapped call it came with keeps its natural duration: its record starts after a delay
 * before it and is complete before a delay after it), FHT_F_DONE once it ended (a record
 * without it: the process died during the delay). Fields by kind:
 *   PLAN:     the plan in force from now on in this process (written by the thread that set
 *             it, or before the first perturbation of a process that inherited it): arg = the
 *             attempt seed, arg2 = the plan's generation (the plugin's attempt counter),
 *             string = the plan text (docs/FORMATS.md, "Chaos plans"); end_ns = start_ns.
 *   DELAY_BEFORE, DELAY_AFTER: a delay before / after the wrapped call `call` (calls.def id),
 *             whose record is slot `arg` of this stream; timeout_ns = the delay drawn (ns);
 *             end_ns - start_ns what it really took (a signal cuts it short); result = the plan
 *             target it came from (1-based), 0 the plan's spread over all blocking calls; err =
 *             the call's class (FHT_CHAOS_C_*); arg2 = the draw's index (the k-th call of that
 *             id in this thread under this plan, counted from 1).
 *   YIELD:    sched_yield at a lock release (call FH_NO_CALL, arg2 = the semaphore's address)
 *             or after a thread start (call = pthread_create's id, arg = its record's slot);
 *             timeout_ns 0.
 */
enum fht_chaos_kind { FHT_CHAOS_PLAN = 0, FHT_CHAOS_DELAY_BEFORE = 1, FHT_CHAOS_DELAY_AFTER = 2,
	FHT_CHAOS_YIELD = 3 };
/* Classes of perturbable calls (plan letters in parentheses; docs/FORMATS.md). */
#define FHT_CHAOS_C_NET   0x001u  /* (n) connect, accept, send/recv family, read/write on a socket */
#define FHT_CHAOS_C_POLL  0x002u  /* (p) poll, select, epoll */
#define FHT_CHAOS_C_LOCK  0x004u  /* (l) semaphore, mutex and file lock waits, thread joins */
#define FHT_CHAOS_C_COND  0x008u  /* (v) condition waits (CPython's GIL waits on one) */
#define FHT_CHAOS_C_SLEEP 0x010u  /* (s) sleeps */
#define FHT_CHAOS_C_PROC  0x020u  /* (w) child waits; fork, spawn, system and exec (before only) */
#define FHT_CHAOS_C_FILE  0x040u  /* (f) opens that may create a file (O_CREAT), creat */
#define FHT_CHAOS_C_PIPE  0x080u  /* (i) read/write on a pipe or other non-file, non-socket fd */
#define FHT_CHAOS_C_DNS   0x100u  /* (d) name resolution */
#define FHT_CHAOS_C_START 0x200u  /* (t) thread start (after pthread_create) */

/*
 * FHT_REC_RES (writer preload/resources.c): what the kernel counted for a thread, the process,
 * its reaped children or the machine, read at a moment. A reader subtracts two readings of the
 * same kind to get what happened in between (an attempt: its begin and end markers). Written:
 *   - after each attempt marker (FHT_MARK_ATTEMPT_BEGIN/END), in the marking thread's stream,
 *     with owner = the marker's slot: THREAD, THREAD_CTX, PROC and CHILDREN always; MACHINE
 *     only while perf detail is on (the profiler is on, or FH_PROFILE is set: /proc/stat costs
 *     ~20 us to read);
 *   - when a traced thread exits (pthread key destructor; not for the main thread, nor on
 *     _exit or a fatal signal): THREAD and THREAD_CTX with FHT_RES_F_EXIT, owner 0: everything
 *     the thread used in its life;
 *   - when a traced process exits through exit() (not _exit, not a fatal signal) and its trace
 *     file exists: PROC and PROC_SCHED with FHT_RES_F_EXIT, owner 0.
 * start_ns is when the figures were read. A value of -1 is unavailable (the file could not be
 * read, e.g. a kernel without CONFIG_SCHED_INFO has no schedstat). All times in ns. Kinds:
 *   THREAD:     v[0] user CPU, v[1] system CPU (getrusage RUSAGE_THREAD; the kernel splits the
 *               total by tick samples), v[2] on-CPU time and v[3] run-queue delay (time
 *               runnable but waiting for a CPU) and v[4] timeslices run
 *               (/proc/self/task/TID/schedstat), v[5] tid.
 *   THREAD_CTX: v[0] voluntary and v[1] involuntary context switches, v[2] minor and v[3]
 *               major page faults (RUSAGE_THREAD), v[4] tid.
 *   PROC:       getrusage(RUSAGE_SELF), every thread of the process, living and dead: v[0] user,
 *               v[1] system CPU, v[2] minor, v[3] major faults, v[4] voluntary, v[5] involuntary
 *               context switches.
 *   CHILDREN:   the same from getrusage(RUSAGE_CHILDREN): children (and their descendants) that
 *               were waited for.
 *   MACHINE:    /proc/stat's "cpu" line: v[0] steal (time the hypervisor ran something else on
 *               this VM's CPUs), v[1] total (every field summed), v[2] idle (idle + iowait), all
 *               summed over CPUs in ticks of 1/v[4] s converted to ns; v[3] procs_running now;
 *               v[4] USER_HZ; v[5] CPUs online.
 *   PROC_SCHED: v[0] on-CPU time and v[1] run-queue delay summed over the process's live
 *               threads (each one's /proc/self/task/TID/schedstat), v[2] threads read.
 */
enum fht_res_kind {
	FHT_RES_THREAD = 1, FHT_RES_THREAD_CTX = 2, FHT_RES_PROC = 3, FHT_RES_CHILDREN = 4,
	FHT_RES_MACHINE = 5, FHT_RES_PROC_SCHED = 6,
};
#define FHT_RES_F_EXIT 0x80   /* fht_res.flags: read when the thread or process ended */
#define FHT_RES_NV 6
struct fht_res {
	uint8_t type;             /* FHT_REC_RES */
	uint8_t flags;            /* FHT_F_DONE; FHT_RES_F_EXIT */
	uint8_t kind;             /* enum fht_res_kind */
	uint8_t n;                /* values used */
	uint32_t owner;           /* slot of the marker these figures belong to; 0 none */
	int64_t start_ns;         /* when they were read (CLOCK_MONOTONIC) */
	int64_t v[FHT_RES_NV];
};

/*
 * FHT_REC_SAMPLE (writer preload/profile.c): the CPU profiler. While it is on, every traced
 * thread of the process has a timer on its own CPU clock (timer_create on the thread's
 * CLOCK_THREAD_CPUTIME_ID, SIGEV_THREAD_ID) that sends it a signal every `interval` ns of CPU
 * it uses; the handler writes one CPU record into that thread's stream with the thread's Python
 * frames (read through process_vm_readv: never a fault, whatever the interrupted code was
 * doing). A thread that waits uses no CPU and gets no sample, so samples are where CPU went.
 * struct fht_rec, call = enum fht_sample_kind, flags FHT_F_DONE. Fields by kind:
 *   CPU:  start_ns = when; arg = interval ns, arg2 = expirations missed (si_overrun): the
 *         sample stands for (1 + arg2) * arg ns of the thread's CPU; err = the wrapped call
 *         (calls.def id) the thread was in, -1 none; result = the interrupted instruction
 *         pointer; stack_ref = its Python frames (FHT_STK_PY records and their PYSTR strings,
 *         as for calls; a sample whose frames equal the previous sample's of the thread names
 *         that sample's stack); fd = 0.
 *   ON:   the profiler was switched on (in the stream of the thread that did it): arg =
 *         interval ns, fd = the signal it uses, result = threads armed.
 *   OFF:  switched off (fh_profile(0)).
 *   LOST: the program took the profiler's signal for itself (sigaction/signal): profiling
 *         stopped in this process until it is switched on again (on another signal); fd = that
 *         signal.
 */
enum fht_sample_kind { FHT_SAMPLE_CPU = 0, FHT_SAMPLE_ON = 1, FHT_SAMPLE_OFF = 2,
	FHT_SAMPLE_LOST = 3 };

_Static_assert(sizeof(struct fht_res) == FHT_REC_SIZE, "resource record size");
_Static_assert(sizeof(struct fht_rec) == FHT_REC_SIZE, "record size");
_Static_assert(sizeof(struct fht_stack) == FHT_REC_SIZE, "stack record size");
_Static_assert(sizeof(struct fht_str) == FHT_REC_SIZE, "string record size");
_Static_assert(sizeof(struct fht_header) <= FHT_HEADER_SIZE, "header size");
_Static_assert(sizeof(struct fht_proc_header) <= FHT_HEADER_SIZE, "process header size");
_Static_assert(sizeof(struct fht_chunk) == FHT_REC_SIZE, "chunk header size");
_Static_assert((FHT_FIRST_SLOTS + 1) * FHT_REC_SIZE % FHT_CHUNK_ALIGN == 0, "first chunk size");
_Static_assert((FHT_CHUNK_MAX_SLOTS + 1) * FHT_REC_SIZE % FHT_CHUNK_ALIGN == 0, "chunk size");

#endif
