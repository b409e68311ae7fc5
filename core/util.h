/* SPDX-License-Identifier: MIT */
/*
 * The core's smallest helpers, used by every layer above it: one-line diagnostics, allocation
 * that cannot fail silently, growing arrays, the clock, FNV-1a. The core's other modules:
 * buf.h (the bounded growable buffer), arena.h (the model's allocator), escape.h (escapers for
 * every output context), numfmt.h (numbers as text), files.h (whole files in and out),
 * hmap.h (the hash map), sha256.h, csv.h (reading CSV), jsonval.h (hostile JSON values).
 *
 * Errors, one convention in every layer above the preload:
 *  - A function that can fail returns 0 (or a count) on success and a negative errno on
 *    failure; one that returns a pointer returns NULL. Never a bare -1 or a positive code.
 *  - A failure is printed once, by the function that detects it and knows where it is: one
 *    line naming the file and the place (its line, offset or source), through error() when
 *    the work cannot be done as asked or warning() when it goes on with less. Its callers pass
 *    the negative value up and print nothing more.
 *  - Helpers that know no place (files.h, buf.h, csv.h, jsonval.h, hmap.h: given a path or a
 *    buffer) print nothing; the caller that names the file reports.
 *  - Each header says which kind a function is: "0 or -errno" (prints nothing) or "0 or
 *    -errno after one error line". Only main() and the command entry points (cli/) turn a
 *    failure into an exit status.
 * So a reporting function reads `return error("cannot read '%s': %s", path, strerror(-r));`,
 * or `error(...); return r;` to pass on a more telling errno than error()'s -EIO.
 */
#ifndef FH_UTIL_H
#define FH_UTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#define FH_PRINTF(f, a) __attribute__((format(printf, f, a)))
#define ARRAY_SIZE(x) (sizeof(x) / sizeof((x)[0]))

/* Prints "fh-analyze: error: <msg>" on stderr as one line; returns -EIO (a failure that has
 * been reported). */
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
