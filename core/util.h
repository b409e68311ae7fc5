/* SPDX-License-Identifier: MIT */
/*
 * Small shared helpers of the analyzer and the report: one-line diagnostics, a bounded
 * growable buffer (everything built in memory goes through it), an arena allocator that owns
 * the strings of the in-memory model, and escapers for JSON, HTML and CSV.
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

/*
 * struct buf: a bounded growable byte buffer, always NUL-terminated (data may be NULL while
 * empty). Past `max` bytes every append fails with -ENOBUFS and sets `failed`, so a caller can
 * append freely and check once at the end.
 */
struct buf {
	char *data;
	size_t len, cap, max;
	int failed;
};
#define BUF_INIT(maxbytes) { NULL, 0, 0, (maxbytes), 0 }
void buf_init(struct buf *b, size_t max);
int buf_add(struct buf *b, const void *p, size_t n);
int buf_puts(struct buf *b, const char *s);
int buf_putc(struct buf *b, char c);
int buf_printf(struct buf *b, const char *fmt, ...) FH_PRINTF(2, 3);
int buf_vprintf(struct buf *b, const char *fmt, va_list ap) FH_PRINTF(2, 0);
void buf_reset(struct buf *b);
/* Returns the data (caller frees) and leaves b empty. Never NULL. */
char *buf_detach(struct buf *b);
void buf_free(struct buf *b);
const char *buf_str(const struct buf *b); /* "" when empty; borrowed, valid until next append */

/* Escapers append to b. json: a quoted JSON string (NULL gives null). html: element text and
 * attribute values (& < > " ' escaped). csv: one cell, quoted when needed, with a leading
 * = + - @ (or tab/CR, or an apostrophe) neutralised by a leading apostrophe inside quotes; a
 * reader strips one apostrophe from a quoted cell that starts with one. */
int buf_json_str(struct buf *b, const char *s);
int buf_html(struct buf *b, const char *s);
int buf_csv_cell(struct buf *b, const char *s);
/* Decodes the UTF-8 character at s (n > 0 bytes available) into *cp and returns its length.
 * An invalid, overlong, surrogate or truncated sequence gives *cp = 0xFFFD and length 1, so a
 * caller that copies what it decoded always writes valid UTF-8. */
size_t utf8_next(const unsigned char *s, size_t n, uint32_t *cp);
/* Appends code point cp as UTF-8. */
int buf_utf8(struct buf *b, uint32_t cp);
/* Appends a decimal integer (no locale, no printf). */
int buf_int(struct buf *b, long long v);
/* Appends a number as JSON (non-finite gives null); %.6g precision. */
int buf_json_num(struct buf *b, double v);

/*
 * struct arena: bump allocator for the model. Everything allocated from it is freed at once by
 * arena_free(). Allocations are 16-byte aligned.
 */
struct arena_chunk;
struct arena {
	struct arena_chunk *head;
	size_t total;
};
void *arena_alloc(struct arena *a, size_t n);  /* zeroed */
char *arena_strdup(struct arena *a, const char *s); /* NULL in, NULL out */
char *arena_strndup(struct arena *a, const char *s, size_t n);
char *arena_printf(struct arena *a, const char *fmt, ...) FH_PRINTF(2, 3);
void arena_free(struct arena *a);
/* Moves every allocation of src into dst (src is left empty): used to merge work done on
 * another thread into the model's arena. */
void arena_adopt(struct arena *dst, struct arena *src);

/* Reads a whole file into *out (caller frees, NUL-terminated), refusing files over max bytes. */
int read_file(const char *path, size_t max, char **out, size_t *len);
/* Writes data to path atomically (temporary file in the same directory, then rename). */
int write_file_atomic(const char *path, const void *data, size_t len);
/* Writes what b holds to fd and empties b; fd < 0 (rendering into memory) or a failed b keeps
 * it. 0 or -errno. Streaming writers call it whenever b has grown past a chunk. */
int buf_flush_fd(struct buf *b, int fd);
/* Writes a big output atomically without holding it whole: render(ctx, b, fd) appends to b and
 * calls buf_flush_fd(b, fd) as it goes (and at the end); it runs on a temporary file in the
 * same directory, renamed to path when render returned 0. b's cap is max bytes in memory.
 * Returns 0 or -errno (-ENOBUFS when b overflowed). */
int write_file_streamed(const char *path, size_t max,
			int (*render)(const void *ctx, struct buf *b, int fd), const void *ctx);
/* mkdir -p; returns 0 or -errno. */
int mkdir_p(const char *path, unsigned mode);
/* mkdir -p of the folder holding path (nothing when path has no folder); 0 or -errno. */
int mkdir_parent(const char *path);

/* Worker threads for a parallel stage: the CPUs online, or FH_THREADS=N when set to a whole
 * number >= 1; at most max, and 1 when `small` says the work is not worth splitting. */
int fh_thread_count(int small, int max);

/* Monotonic clock in nanoseconds. */
int64_t now_ns(void);
/* FNV-1a 64 of data, chained from h (start with FNV64_INIT). */
#define FNV64_INIT 0xcbf29ce484222325ULL
uint64_t fnv64(uint64_t h, const void *data, size_t n);

#endif
