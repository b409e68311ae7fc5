/* SPDX-License-Identifier: MIT */
/*
 * Ownership of threads (evidence.c's join): which threads of the pytest process are the
 * attempt's own, so that a fixture's server thread, an earlier test's pool or an asyncio loop
 * left running never becomes a test's race, wait or slowness.
 *
 * The preload writes, for every thread it saw created with pthread_create, the creating
 * thread and the creation time (chunk headers). A thread belongs to an attempt when it is the
 * attempt's test thread, or was created during the attempt by a thread that belongs to it.
 * A thread created outside the attempt is background, unless the attempt talked to it. The
 * join (evidence_events.c) marks a thread as talked to, from the moment of the interaction on,
 * when during the attempt's setup or call (not its teardown, where pytest finalizes session
 * and module fixtures):
 *  - it made a call on a channel one of the attempt's own threads used: a network address
 *    (the listening socket the test connected to), a pipe or a socketpair (their identity,
 *    recorded when they were made); a call of it blocked since before the attempt that ended
 *    during it counts too (the read that the test's write woke);
 *  - one of the attempt's own threads released a lock it held (sem_post of its semaphore:
 *    a condition's waiter woken, an event set, a queue.Queue fed), or it released one that an
 *    own thread held (it woke the test);
 *  - one of the attempt's own threads began a lock wait while it held that lock, or it began
 *    one while an own thread held it.
 * A talked-to thread waiting for more work (a lock or condition wait, a poll, a call on that
 * channel) is idle: not in flight at the failure nor busy after the test's sleep. A child of
 * an earlier attempt (a fixture's) is the attempt's while the attempt runs when one of its
 * own threads waited for it (a wait on its pid). A thread whose origin is unknown (the
 * process's main thread, traces of older writers) belongs to the attempt, as before
 * ownership was known. Other child processes are attributed by their own rules (evidence.h).
 */
#ifndef FH_OWNERSHIP_H
#define FH_OWNERSHIP_H

#include <stdbool.h>
#include <stdint.h>

/* tid -> (creator, birth) of one process, from its trace units as they are read. */
struct own_table {
	struct own_ent { int tid, creator; int64_t born_ns; } *e;
	size_t cap, n;
};

/* Records a thread's origin (creator 0 or born 0: unknown, ignored). A tid seen again (reused)
 * takes the newer origin. */
void own_put(struct own_table *t, int tid, int creator, int64_t born_ns);

/* Whether thread tid belongs to the attempt run by test_tid over [begin, end): the test
 * thread itself, a thread of unknown origin, or one created in the interval by a thread that
 * belongs to it (followed up to 16 creators). */
bool own_belongs(const struct own_table *t, int tid, int test_tid, int64_t begin, int64_t end);

/* When thread tid was created (0 unknown). */
int64_t own_born(const struct own_table *t, int tid);

void own_free(struct own_table *t);

#endif
