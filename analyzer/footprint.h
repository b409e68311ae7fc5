/* SPDX-License-Identifier: MIT */
/*
 * The footprint of an attempt (model.h, struct fh_footprint): what it left behind for the tests
 * after it and what it looked at. Two inputs, merged per attempt:
 *
 *   - the attempt record's "footprint" (docs/FORMATS.md): what the plugin saw from Python;
 *     footprint_from_record() (core/foot_rec.h) at load time;
 *   - the trace: the calls the call table marks FHF_FOOT (preload/fhtrace_calls.h), connects,
 *     the fd and thread counts of the attempt markers, the listening sockets still open at the
 *     attempt's end. The evidence join hands each such event of an attempt to foot_raw_add()
 *     and foot_raw_listening() (raw events, owned by the join) and footprint_finish() turns
 *     them into the attempt's net effects when the attempt is finished.
 *
 * Net effects: a file created and removed within the attempt left nothing; a file created and
 * not removed is "created"; an existing file removed is "deleted"; a variable's last change
 * counts (set, unset) and the plugin's before/after diff of os.environ wins when present; the
 * working directory is the plugin's before/after comparison (the trace alone cannot tell a
 * change from a change back); a signal disposition counts when the attempt left a handler or
 * SIG_IGN; a listening socket when it still listened at the end. PYTEST_CURRENT_TEST (pytest's
 * own) is ignored. Reads: files opened read-only or looked at (stat, access), paths relative to
 * the working directory (a read of "cwd"), variables read (getenv, os.environ), ports
 * connected or bound to.
 */
#ifndef FH_FOOTPRINT_H
#define FH_FOOTPRINT_H

#include "foot_rec.h"
#include "model.h"
#include "trace.h"

#define FH_FOOT_MAX_OPS 4096    /* raw events kept per attempt (more are counted) */

/* Raw events of one attempt: *fr is created on first use (caller frees with foot_raw_free);
 * own: the event is of the attempt's own process (environment, cwd and the like only count
 * there; files count from any process of the attempt). Strings are copied into A. */
void foot_raw_add(struct fh_foot_raw **fr, struct arena *A, const struct fh_event *e, bool own);
void foot_raw_listening(struct fh_foot_raw **fr, struct arena *A, const char *addr);
void foot_raw_free(struct fh_foot_raw *fr);

/* Folds raw events (may be NULL; freed) and the attempt's marker counts into a->foot. */
void footprint_finish(struct fh_attempt *a, struct arena *A, struct fh_foot_raw *raw,
		      int fds0, int threads0, int fds1, int threads1);

/* "threads_left"... as a JSON object into b (the summary's trace.footprint). */
void footprint_json(struct buf *b, const struct fh_footprint *f);

/* One phrase for people: "created /tmp/cache.json", "set APP_MODE=maintenance". */
const char *footprint_left_text(struct arena *A, const struct fh_foot_left *l);

#endif
