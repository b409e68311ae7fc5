/* SPDX-License-Identifier: MIT */
/*
 * A hang snapshot (struct fh_hang of the model) in words: what the test thread waited for, as
 * the diagnosis, the terminal summary and the report say it.
 */
#ifndef FH_HANGTEXT_H
#define FH_HANGTEXT_H

#include "model.h"

/* What the test thread of g waited for, in words: "recv on 127.0.0.1:41234 with no reply",
 * "sem_wait for a lock held by worker-two", "waitpid for child 123 (sleep), itself in
 * nanosleep (sleep) for 2.0 s"; `waited` (" waited 2 s", or "") goes after the call and its
 * target. From A; never NULL. */
const char *hang_what(struct arena *A, const struct fh_hang *g, const char *waited);

/* The main thread of g (the test's), NULL when the snapshot does not have it. */
const struct fh_hang_thread *hang_main(const struct fh_hang *g);

#endif
