/* SPDX-License-Identifier: MIT */
/*
 * Appending to a history CSV that other analyzers may be creating or appending to at the same
 * time (two CI jobs sharing a history directory, a report and an import).
 *
 * A missing file is created whole: the header and the first rows go into a temporary file
 * beside it (PATH.tmp.PID.N), which is then link()ed to PATH, a call that never replaces; when
 * PATH appeared meanwhile, the temporary file is removed and the rows are appended instead.
 * (On a file system without hard links the file is created in place, and the header is written
 * by whoever takes the lock first on an empty file.) An append holds an exclusive flock on
 * PATH for its fstat, its reads of the file's head and tail and its write, so appends never
 * interleave and a header is written once; an append cut short (disk full) is cut off again.
 */
#ifndef FH_HISTFILE_H
#define FH_HISTFILE_H

#include <sys/types.h>

#include "buf.h"

/* Fills out (reset by the caller) with what to append to a file of `size` bytes; fd is the
 * file open for reading (pread) or -1 when the file is new (size 0). 0, or a negative errno. */
typedef int (*histfile_fill_fn)(void *ctx, struct buf *out, int fd, off_t size);

/* Appends what fill gives to path as above (nothing is created when fill gives nothing).
 * 0, or a negative errno. */
int histfile_append(const char *path, histfile_fill_fn fill, void *ctx, struct buf *out);

#endif
