/* SPDX-License-Identifier: MIT */
/*
 * The core's smallest helpers, used by every layer above it: one-line diagnostics, allocation
 * that cannot fail silently, growing arrays, the clock, FNV-1a. The core's other modules:
 * buf.h (the bounded growable buffer), arena.h (the model's allocator), escape.h (escapers for
 * every output context), numfmt.h (numbers as text), files.h (whole files in and out),
 * sha256.h, csv.h (reading CSV).
 *
 * Conventions: functions return 0 or a negative errno; error() prints one line and returns -1
 * so a call site reads `return error("cannot read '%s': %s", path, strerror(errno));`.
 */
#ifndef FH_UTIL_H
#define FH_UTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#define FH_PRINTF(f, a) __attribute__((format(printf, f, a)))
#define ARRAY_SIZE(x) (sizeof(x) / sizeof((x)[0]))

/* Prints "fh-analyze: error: <msg>" on stderr as one line; returns -1. */
int error(const char *fmt, ...) FH_PRINTF(1, 2);
/* Prints "fh-analyze: warning: <msg>" on stderr as one line. */
void warning(const char *fmt, ...) FH_PRINTF(1, 2);
/* Silences warning() (not error()) when set; used by --quiet and by benchmarks. */
extern int fh_quiet;

/* Allocation that cannot fail silently: aborts with a message on OOM. */
void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
/* Grows *p (an array of *cap elements of `size` bytes) so it holds at least `need`. */
void grow_array(void **p, size_t *cap, size_t need, size_t size);
#define GROW(arr, cap, need) grow_array((void **)&(arr), &(cap), (need), sizeof(*(arr)))

/* Worker threads for a parallel stage: the CPUs online, or FH_THREADS=N when set to a whole
 * number >= 1; at most max, and 1 when `small` says the work is not worth splitting. */
int fh_thread_count(int small, int max);

/* Monotonic clock in nanoseconds. */
int64_t now_ns(void);
/* FNV-1a 64 of data, chained from h (start with FNV64_INIT). */
#define FNV64_INIT 0xcbf29ce484222325ULL
uint64_t fnv64(uint64_t h, const void *data, size_t n);

#endif
