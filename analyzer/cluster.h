/* SPDX-License-Identifier: MIT */
/*
 * Failure fingerprints and clusters (run_cluster() is declared in model.h).
 *
 * How a fingerprint is made (stable across machines and checkouts):
 *   1. Take the exception type as recorded (e.g. "TimeoutError"; "" when none) and the
 *      innermost FH_FP_FRAMES frames of the traceback (fewer when the traceback is shorter).
 *   2. Normalise each frame's path with fingerprint_path(): backslashes become '/'; a path under
 *      the run's rootdir loses that prefix; a path inside site-packages/dist-packages keeps only
 *      what follows that folder; a path inside a Python installation (.../lib/pythonX.Y/) becomes
 *      "python/" plus what follows; any other absolute path keeps its last two components;
 *      a leading "./" is dropped.
 *   3. In every part, each hexadecimal literal "0x..." becomes "0x" (no memory addresses), and
 *      runs of whitespace in the source line become one space (indentation does not matter).
 *   4. Each frame contributes path, function and its stripped source line; the line number is
 *      used instead only when the source line is missing. Line numbers are otherwise left out,
 *      so an edit above the failing code keeps the fingerprint.
 *   5. Hash "type\0" then "path\0function\0source-or-line\0" per frame, innermost last, with
 *      FNV-1a 64; the fingerprint is the top 48 bits as 12 lowercase hex digits.
 * The message is not part of it (messages carry ids, times and addresses).
 */
#ifndef FH_CLUSTER_H
#define FH_CLUSTER_H

#include <stddef.h>

#include "model.h"

#define FH_FP_FRAMES 5

/* Appends the normalised form of path to b; rootdir may be NULL. */
void fingerprint_path(struct buf *b, const char *path, const char *rootdir);
/* Writes the 12 hex digits and a NUL into out[13]. */
void fingerprint_make(char out[13], const char *error_type, const struct fh_frame *frames,
		      size_t nframes, const char *rootdir);

#endif
