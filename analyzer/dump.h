/* SPDX-License-Identifier: MIT */
/*
 * `fh-analyze dump FILE...`: a trace file as strace-like text.
 */
#ifndef FH_DUMP_H
#define FH_DUMP_H

#include <stdio.h>

/* Prints path's events, one per line, one section (header line) per thread of the file, each
 * event's stack symbolized under it. 0, or -errno after one error line naming the file and the
 * place when it cannot be read. */
int trace_dump(const char *path, FILE *out);

#endif
