/* SPDX-License-Identifier: MIT */
/*
 * Native stack capture for libfhtrace.so: the raw return addresses of the calling
 * thread, taken with libunwind's local unwinder, for blocking calls that lasted longer than the
 * threshold and for signal deliveries once the handler has returned.
 *
 * Rules (STYLE.md, "The preload library"):
 *  - Never call fh_stack_capture() in signal context: libunwind's local unwinder takes locks
 *    and may allocate its per-thread cache on first use. The signal trampoline records the
 *    delivery; the capture happens in the interrupted wrapper after the real call returns.
 *  - libunwind is linked statically and stays private (-fvisibility=hidden and
 *    --exclude-libs,ALL): no unw_* or _Unwind_* symbol is exported (tests/py/test_stacks_*.py
 *    checks `nm -D`), so C++ exceptions of the program keep using libgcc_s.
 *  - No file descriptor is held: fh_stack_init() (at the first capture) warms the unwinder up once (its caches and
 *    its address-validation pipe, if it makes one, are created there) and then checks that the
 *    fd table is unchanged; if libunwind left an fd behind, capture is switched off and
 *    fh_stack_status() says why.
 *
 * Frames that lie inside libfhtrace.so itself (the wrapper and this module) are dropped, so
 * pcs[0] is the return address into the wrapped function's caller's side (usually libc or the
 * program). Every recorded address is a return address, or a return address - 1 when
 * libunwind's fast trace path took it: symbolizers look it up at pc - 1, which lies inside the
 * call instruction either way.
 */
#ifndef FH_STACKS_H
#define FH_STACKS_H

#include <stdint.h>

/* Most native frames kept per capture (deeper stacks are cut at the outermost end). */
#define FH_STACK_MAX 48

/* Default threshold for capturing at the end of a blocking call, in milliseconds; FH_STACK_MS
 * overrides it (0 captures every blocking call, a negative value disables capture). Chosen by
 * measurement (bench/bench_stacks.py): one capture costs about 0.2 us native-only and 10-20 us
 * with 40 Python frames, so a call must last >= 10 ms to be captured and the capture adds at
 * most ~0.2% to it; a whole suite shows no measurable difference. */
#define FH_STACK_MS_DEFAULT 10

/* Reads FH_STACK_MS once (call at start, not in signal context); the threshold in ns, or -1
 * when capture is off. */
int64_t fh_stack_config(void);

/* Loads and warms up the unwinder, finds the library's own address range; fh_stack_capture()
 * calls it on first use (never call either in signal context). Returns 0, or a negative errno
 * when native capture is off (then fh_stack_capture() returns 0), -EBUSY while another thread
 * is loading it. Idempotent. */
int fh_stack_init(void);

/* 1 when capture is on (loaded). */
int fh_stack_enabled(void);

/* Threshold in nanoseconds (>= 0), or -1 when capture is off (configured off or failed). */
int64_t fh_stack_threshold_ns(void);

/* One line: "on", or why capture is off ("off: FH_STACK_MS<0", "off: libunwind held an fd").
 * Static string. */
const char *fh_stack_status(void);

/* Stores up to max return addresses of the calling thread, innermost first, excluding frames
 * inside libfhtrace.so. Returns the number stored (0 when off or nothing could be unwound).
 * Not async-signal-safe: never call it from a signal handler. Never allocates after
 * fh_stack_init() on the calling thread's first capture except libunwind's per-thread cache. */
int fh_stack_capture(uint64_t *pcs, int max);

/* Up to max return addresses of another thread of this process that is stopped (blocked in a
 * system call) at pc with stack pointer sp (from /proc/self/task/TID/syscall), innermost first,
 * pc itself first. Same rules as fh_stack_capture(); reads never fault. */
int fh_stack_capture_at(uint64_t pc, uint64_t sp, uint64_t *pcs, int max);

#endif
