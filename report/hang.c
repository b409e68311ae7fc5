/* SPDX-License-Identifier: MIT */
/*
 * The hang view of a card: for a hung attempt, what every thread of the test's process and every
 * live child was blocked on when the attempt passed its limit (attempt->trace->hang, filled by
 * analyzer/hang.c). One sentence above it (the deadlock, or what the test thread waited for),
 * then one lane per thread and child with its blocking call as a bar that runs off the right
 * edge (it never returned), its target, and arrows from each lock waiter to the thread holding
 * the lock; under it, each lane's stacks (native and Python) and where each holder took its
 * lock. Static SVG and <details>: it works with JavaScript off.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "hangtext.h"
#include "rep.h"

/* The attempt whose hang the card shows: the first with a deadlock, else the first hung one. */
static const struct fh_attempt *pick(const struct fh_test *t)
{
	const struct fh_attempt *first = NULL;
	for (size_t i = 0; i < t->nattempts; i++) {
		const struct fh_attempt *a = &t->attempts[i];
		if (!a->trace || !a->trace->hang)
			continue;
		if (a->trace->hang->deadlock)
			return a;
		if (!first)
			first = a;
	}
	return first;
}

/* The letter of the lock thread index i waits for, in the deadlock sentence's naming (the
 * cycle's first thread holds A and waits for B, the next waits for C, ..., the last for A);
 * 0 when i is not in the cycle. */
static char lock_letter(const struct fh_hang *g, int i)
{
	for (size_t k = 0; k < g->ncycle; k++)
		if (g->cycle[k] == i)
			return k + 1 == g->ncycle ? 'A' : (char)('B' + (k < 24 ? k : 24));
	return 0;
}

static void lane_label(struct buf *b, const struct fh_hang_thread *t)
{
	char tmp[160];
	if (t->name && t->name[0])
		snprintf(tmp, sizeof(tmp), "%s%s (%d)", t->main ? "\xe2\x96\xb6 " : "", t->name, t->tid);
	else
		snprintf(tmp, sizeof(tmp), "%sthread %d", t->main ? "\xe2\x96\xb6 " : "", t->tid);
	esc_html_short(b, tmp, 34);
}

static const char *cat_class(enum fh_category c, bool on_socket)
{
	return fh_category_names[fh_wait_category(c, on_socket)];
}

/* One lane's bar: from the call's start to the snapshot and off the edge (an open end). */
static void bar(struct buf *b, double L, double pw, double y, double LH, double after,
		const char *call, const char *syscall, enum fh_category cat, bool on_socket,
		const char *target, double waited)
{
	double x0 = waited >= 0 && after > 0 ? L + pw * fmax(0, after - waited) / after : L;
	double w = L + pw - x0;
	const char *what = call ? call : syscall ? syscall : "?";

	if (w < 2)
		w = 2;
	buf_printf(b, "<g class=\"hbar\"><rect class=\"cat-%s\" x=\"%.1f\" y=\"%.0f\" width=\"%.1f\" "
		   "height=\"%.0f\"/><path class=\"offend\" d=\"M%.1f %.0fl10 %.0fl-10 %.0fz\"/>"
		   "<title>", cat_class(cat, on_socket), x0, y + 3, w, LH - 6, L + pw, y + 3,
		   (LH - 6) / 2, (LH - 6) / 2);
	buf_html(b, what);
	if (target) {
		buf_puts(b, " ");
		buf_html(b, target);
	}
	if (waited >= 0) {
		buf_puts(b, " \xc2\xb7 waited ");
		buf_secs(b, waited);
		buf_puts(b, " and never returned");
	}
	buf_printf(b, "</title><text class=\"hcall\" x=\"%.1f\" y=\"%.0f\">", x0 + 4, y + LH - 7);
	{
		char tmp[300];
		snprintf(tmp, sizeof(tmp), "%s%s%s", what, target ? " " : "", target ? target : "");
		esc_html_short(b, tmp, 60);
	}
	buf_puts(b, "</text></g>");
}

void sect_hang(struct rep *r, const struct fh_test *t)
{
	const struct fh_attempt *a = pick(t);
	const double L = 210, W = 1000, LH = 24;
	struct buf *b = r->b;
	struct arena A = { NULL, 0 };

	if (!a)
		return;
	const struct fh_hang *g = a->trace->hang;
	size_t nlanes = g->nthreads + g->nchildren;
	/* bars end at L + pw (plus the open end's arrow head); the wait-for arrows bulge into the
	 * gutter to the right of them */
	double pw = W - L - 150, H = 20 + LH * (double)(nlanes ? nlanes : 1) + 24;
	int narrows = 0;
	double after = g->after_s > 0 ? g->after_s : 1;

	buf_printf(b, "<section class=\"hang\"><h3>Hang: attempt #%d, snapshot after ", a->attempt);
	buf_secs(b, g->after_s);
	buf_puts(b, " (");
	buf_html(b, g->by ? g->by : "limit");
	if (g->limit_s > 0) {
		buf_puts(b, " ");
		buf_secs(b, g->limit_s);
	}
	buf_puts(b, ")</h3><p class=\"hang-sentence\">");
	if (g->sentence) {
		buf_html(b, g->sentence);
	} else {
		buf_puts(b, "The test thread waited in ");
		buf_html(b, hang_what(&A, g, NULL));
		buf_puts(b, " and never returned.");
	}
	buf_printf(b, "</p><svg class=\"hangv\" width=\"%.0f\" height=\"%.0f\" role=\"img\" "
		   "aria-label=\"what each thread and child was blocked on\"><defs><marker "
		   "id=\"wf-%p\" viewBox=\"0 0 10 10\" refX=\"9\" refY=\"5\" markerWidth=\"7\" "
		   "markerHeight=\"7\" orient=\"auto-start-reverse\"><path d=\"M0 0L10 5L0 10z\"/>"
		   "</marker></defs>", W, H, (const void *)g);
	for (size_t i = 0; i < nlanes; i++) {
		double y = 16 + LH * (double)i;

		buf_printf(b, "<rect class=\"lane\" x=\"%.0f\" y=\"%.0f\" width=\"%.0f\" height=\"%.0f\"/>"
			   "<text class=\"lab\" x=\"0\" y=\"%.0f\">", L, y + 1, pw, LH - 2, y + 16);
		if (i < g->nthreads) {
			lane_label(b, &g->threads[i]);
		} else {
			const struct fh_hang_child *c = &g->children[i - g->nthreads];
			char tmp[200];
			snprintf(tmp, sizeof(tmp), "child %d %s", c->pid, c->argv0 ? c->argv0 :
				 c->exe ? c->exe : "");
			esc_html_short(b, tmp, 34);
		}
		buf_puts(b, "</text>");
		if (i < g->nthreads) {
			const struct fh_hang_thread *th = &g->threads[i];
			bar(b, L, pw, y, LH, after, th->call, th->syscall, th->category, th->on_socket,
			    th->target, th->waited_s);
		} else {
			const struct fh_hang_child *c = &g->children[i - g->nthreads];
			bar(b, L, pw, y, LH, after, c->call, c->syscall, c->category, c->on_socket,
			    c->target, c->waited_s);
		}
	}
	/* Wait-for arrows: from a lock waiter's lane to the holder's, at the right edge. */
	for (size_t i = 0; i < g->nthreads; i++) {
		const struct fh_hang_thread *th = &g->threads[i];
		if (th->holder_idx < 0 || (size_t)th->holder_idx >= g->nthreads)
			continue;
		double y1 = 16 + LH * (double)i + LH / 2 - 3;
		double y2 = 16 + LH * (double)th->holder_idx + LH / 2 + 3;
		double x = L + pw + 14, bulge = 28 + 22 * (double)(narrows++ % 5);
		char letter = lock_letter(g, (int)i);
		buf_printf(b, "<path class=\"waitfor%s\" marker-end=\"url(#wf-%p)\" d=\"M%.1f %.1fC%.1f "
			   "%.1f %.1f %.1f %.1f %.1f\"><title>", letter ? " cycle" : "", (const void *)g,
			   x, y1, x + bulge, y1, x + bulge, y2, x + 2, y2);
		lane_label(b, th);
		buf_puts(b, " waits for ");
		if (letter)
			buf_printf(b, "lock %c, ", letter);
		buf_puts(b, "held by ");
		lane_label(b, &g->threads[th->holder_idx]);
		buf_puts(b, "</title></path>");
		if (letter)
			buf_printf(b, "<text class=\"wfl\" x=\"%.1f\" y=\"%.1f\">%c</text>",
				   x + bulge * 0.75 + 3, (y1 + y2) / 2 + 4, letter);
	}
	buf_printf(b, "<text x=\"%.0f\" y=\"%.0f\">attempt start</text><text x=\"%.0f\" y=\"%.0f\" "
		   "text-anchor=\"end\">snapshot at ", L, H - 6, L + pw + 10, H - 6);
	buf_secs(b, g->after_s);
	buf_puts(b, " \xe2\x96\xb7 still waiting</text></svg>");

	/* Stacks, per lane; a holder's lock site with the waiter. */
	buf_puts(b, "<div class=\"hang-stacks\">");
	for (size_t i = 0; i < g->nthreads; i++) {
		const struct fh_hang_thread *th = &g->threads[i];
		struct buf lab = BUF_INIT(512);

		buf_puts(b, "<div class=\"hang-lane\"><b>");
		lane_label(b, th);
		buf_puts(b, "</b> ");
		buf_html(b, th->call ? th->call : th->syscall ? th->syscall : "?");
		if (th->target) {
			buf_puts(b, " ");
			buf_html(b, th->target);
		}
		if (th->waited_s >= 0) {
			buf_puts(b, " \xc2\xb7 waited ");
			buf_secs(b, th->waited_s);
		}
		if (th->holder) {
			buf_puts(b, " \xc2\xb7 the lock is held by ");
			if (th->holder->name)
				buf_html(b, th->holder->name);
			else
				buf_printf(b, "thread %d", th->holder->tid);
			if (th->holder->site && th->holder->site->path) {
				buf_puts(b, ", taken at ");
				buf_html(b, th->holder->site->path);
				buf_printf(b, ":%d", th->holder->site->line);
			}
			if (th->holder->since_s >= 0) {
				buf_puts(b, " ");
				buf_secs(b, th->holder->since_s);
				buf_puts(b, " before");
			}
		}
		buf_printf(&lab, "stack at the snapshot");
		render_stack(r, &th->stack, buf_str(&lab));
		buf_free(&lab);
		buf_puts(b, "</div>");
	}
	for (size_t i = 0; i < g->nchildren; i++) {
		const struct fh_hang_child *c = &g->children[i];

		buf_printf(b, "<div class=\"hang-lane\"><b>child %d", c->pid);
		if (c->tid != c->pid)
			buf_printf(b, "/%d", c->tid);
		buf_puts(b, "</b> ");
		buf_html(b, c->exe ? c->exe : "");
		buf_puts(b, " \xc2\xb7 ");
		buf_html(b, c->call ? c->call : c->syscall ? c->syscall : "?");
		if (c->target) {
			buf_puts(b, " ");
			buf_html(b, c->target);
		}
		if (c->waited_s >= 0) {
			buf_puts(b, " \xc2\xb7 waited ");
			buf_secs(b, c->waited_s);
		}
		render_stack(r, &c->stack, "stack of that call");
		buf_puts(b, "</div>");
	}
	buf_puts(b, "</div></section>");
	arena_free(&A);
}
