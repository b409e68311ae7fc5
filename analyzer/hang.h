/* SPDX-License-Identifier: MIT */
/*
 * Hang analysis (hang.c): the hang snapshots of hung attempts, and the words the diagnosis, the
 * terminal summary and the report use for them.
 */
#ifndef FH_HANG_H
#define FH_HANG_H

#include "model.h"

/* attempt->trace->hang for every hung or interrupted traced attempt (model.h); 0 or -errno. */
int hang_attach(struct fh_run *run);

/* What the test thread of g waited for, in words: "recv on 127.0.0.1:41234 with no reply",
 * "sem_wait for a lock held by worker-two", "waitpid for child 123 (sleep), itself in
 * nanosleep (sleep) for 2.0 s"; `waited` (" waited 2 s", or "") goes after the call and its
 * target. From A; never NULL. */
const char *hang_what(struct arena *A, const struct fh_hang *g, const char *waited);

/* The main thread of g (the test's), NULL when the snapshot does not have it. */
const struct fh_hang_thread *hang_main(const struct fh_hang *g);

#endif
