/* SPDX-License-Identifier: MIT */
/*
 * A history file larger than the in-memory cap: its header row and newest rows (history_tail.c).
 */
#ifndef FH_HISTORY_TAIL_H
#define FH_HISTORY_TAIL_H

#include <stddef.h>

#include "history.h"

/* The in-memory cap of one history file: FH_HISTORY_MAX_FILE, or FH_HISTORY_MAX_MB (1..256)
 * when set, for a memory-limited machine. */
size_t history_max_bytes(void);

/* Reads path like read_file() when it holds at most max bytes; a larger file gives its header
 * row followed by the newest complete rows that fit in max bytes in all, and *left_out the
 * number of older rows not read (0 otherwise). *out: caller frees, NUL-terminated. 0 or -errno
 * (-FH_ENOTREG for a file that is not regular; -EFBIG when even the header row does not fit). */
int history_read_newest(const char *path, size_t max, char **out, size_t *len,
			long long *left_out);

#endif
