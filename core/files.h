/* SPDX-License-Identifier: MIT */
/*
 * Small file helpers: whole files in and out, atomic and streamed writes, mkdir -p. Each
 * returns 0 or -errno and prints nothing: its caller names the file in its one error line.
 */
#ifndef FH_FILES_H
#define FH_FILES_H

#include <stddef.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "buf.h"

/* Opens path with flags (close-on-exec; mode 0644 for a new file) and fstat()s it into *st:
 * the fd, or -errno. */
int open_stat(const char *path, int flags, struct stat *st);
/* Every input file is opened with open_read(): read-only and O_NONBLOCK, so that a FIFO or a
 * device where a file is expected never blocks the open (a FIFO without a writer would block
 * it forever), then fstat, and anything but a regular file is refused: -EISDIR for a
 * directory, -FH_ENOTREG otherwise (fh_strerror() names it). The fd is blocking again. */
#define FH_ENOTREG 4096
int open_read(const char *path, struct stat *st);
const char *fh_strerror(int err);  /* strerror(), plus "not a regular file" for FH_ENOTREG */
/* read() retried on EINTR: the bytes read (0 at the end), or -errno. */
ssize_t read_some(int fd, void *buf, size_t n);
/* Reads a whole file into *out (caller frees, NUL-terminated), refusing files over max bytes
 * (-EFBIG) and what open_read() refuses. */
int read_file(const char *path, size_t max, char **out, size_t *len);
/* A path built like printf (caller frees); NULL when it would exceed PATH_MAX (no file could
 * have it), so a caller reports or skips it instead of using a cut path. */
char *path_printf(const char *fmt, ...) FH_PRINTF(1, 2);
/* Writes all len bytes to fd (retrying short writes and EINTR); 0 or -errno. */
int write_all(int fd, const void *data, size_t len);
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

#endif
