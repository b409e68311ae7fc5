/* SPDX-License-Identifier: MIT */
/*
 * A hang snapshot of the model (struct fh_hang) in words, for the diagnosis, the terminal
 * summary and the report (hangtext.h). Reads the model only: the analysis that fills it is
 * analyzer/hang.c's.
 */
#include "hangtext.h"

#include <stdio.h>
#include <string.h>

const struct fh_hang_thread *hang_main(const struct fh_hang *g)
{
	return g && g->nthreads && g->threads[0].main ? &g->threads[0] : NULL;
}

static const char *fmt_secs(struct arena *A, double s)
{
	if (s >= 100)
		return arena_printf(A, "%.0f s", s);
	return arena_printf(A, "%.2g s", s);
}

static const char *cls_name(enum fh_category c, bool on_socket)
{
	return fh_category_names[fh_wait_category(c, on_socket)];
}

/* The lock CPython's Thread.join() waits on is taken by the thread itself when it starts
 * (Thread._set_tstate_lock) and released when it ends. */
static bool join_lock(const struct fh_hang_holder *h)
{
	return h->site && h->site->function && strstr(h->site->function, "_set_tstate_lock");
}

const char *hang_what(struct arena *A, const struct fh_hang *g, const char *waited)
{
	const struct fh_hang_thread *m = hang_main(g);
	if (!m)
		return "the test thread is not in the snapshot";
	const char *call = m->call ? m->call : m->syscall ? m->syscall : "?";
	const char *on = m->target ? arena_printf(A, " on %s", m->target) : "";
	const char *w = waited ? waited : "";
	if (m->holder) {
		const char *held = m->holder->name ? m->holder->name :
			arena_printf(A, "thread %d", m->holder->tid);
		if (join_lock(m->holder))
			return arena_printf(A, "%s%s for thread %s to end (Thread.join)", call, w, held);
		return arena_printf(A, "%s%s for a lock held by %s%s%s", call, w, held,
				    m->holder->since_s >= 0 ? " for " : "",
				    m->holder->since_s >= 0 ? fmt_secs(A, m->holder->since_s) : "");
	}
	switch (m->category) {
	case FH_CAT_PROC:
		for (size_t i = 0; i < g->nchildren; i++) {
			const struct fh_hang_child *c = &g->children[i];
			if (c->pid != c->tid)
				continue;
			const char *name = c->argv0 ? c->argv0 : c->exe ? c->exe : "?";
			const char *ccall = c->call ? c->call : c->syscall ? c->syscall : "?";
			return arena_printf(A, "%s%s for child %d (%s), itself in %s (%s)%s%s%s", call, w,
					    c->pid, name, ccall, cls_name(c->category, c->on_socket),
					    c->target ? arena_printf(A, " on %s", c->target) : "",
					    c->waited_s >= 0 ? " for " : "",
					    c->waited_s >= 0 ? fmt_secs(A, c->waited_s) : "");
		}
		return arena_printf(A, "%s%s for a child", call, w);
	case FH_CAT_NET:
	case FH_CAT_POLL:
		if (m->category == FH_CAT_NET || m->on_socket)
			return arena_printf(A, "%s%s%s with no reply%s", call, on, w,
					    m->target && strncmp(m->target, "local ", 6) &&
					    strcmp(m->target, "unix:") ?
					    " (peer connected, sent nothing)" : "");
		break;
	case FH_CAT_SLEEP:
		if (m->timeout_ns > 0)
			return arena_printf(A, "%s%s, asked to sleep %s", call, w,
					    fmt_secs(A, m->timeout_ns / 1e9));
		break;
	default:
		break;
	}
	return arena_printf(A, "%s%s%s", call, on, w);
}
