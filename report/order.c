/* SPDX-License-Identifier: MIT */
/*
 * Order-dependent tests in the report: at the top of a victim's card, the polluter named in one
 * sentence with what it left behind, the replay's result and the command that reproduces the
 * failure; a "who ran before" strip (the tests that ran just before each attempt in its
 * process, the polluter marked); and, on the page, the polluters with the victims they break.
 * It draws what analyzer/order.c decided.
 */
#include <string.h>

#include "numfmt.h"
#include "rep.h"

static const struct fh_polluter *best_polluter(const struct fh_diagnosis *d)
{
	const struct fh_polluter *best = NULL;

	for (size_t i = 0; d && i < d->npolluters; i++) {
		const struct fh_polluter *p = &d->polluters[i];
		if (p->confirmed == 0)
			continue;
		if (!best || (p->confirmed == 1 && best->confirmed != 1))
			best = p;
	}
	return best;
}

static const char *short_id(const char *nodeid)
{
	const char *s = strstr(nodeid, "::");
	return s ? s + 2 : nodeid;
}

void box_polluter(struct rep *r, const struct fh_test *t)
{
	const struct fh_diagnosis *d = t->diag;
	const struct fh_polluter *p = best_polluter(d);
	struct buf *b = r->b;

	if (!d || d->kind != FH_KIND_ORDER || !p)
		return;
	buf_puts(b, "<div class=\"box polluter\" id=\"polluter-");
	buf_int(b, (long long)(t - r->run->tests));
	buf_puts(b, "\"><h3>");
	buf_puts(b, strcmp(p->role, "state-setter") ? "Polluter" : "State-setter");
	buf_puts(b, "</h3><p class=\"pol-sentence\">");
	buf_html(b, d->summary ? d->summary : "");
	buf_puts(b, "</p><dl class=\"pol\"><dt>test</dt><dd><code>");
	buf_html(b, p->nodeid);
	buf_puts(b, "</code></dd>");
	if (p->left) {
		buf_puts(b, "<dt>left behind</dt><dd>");
		buf_html(b, p->left);
		buf_puts(b, "</dd>");
	}
	buf_puts(b, "<dt>found by</dt><dd>");
	buf_html(b, p->found_by);
	buf_puts(b, "</dd><dt>replay</dt><dd>");
	buf_html(b, p->replay ? p->replay : "not replayed (--fh-no-confirm, or not a rounds run)");
	buf_puts(b, "</dd>");
	if (p->repro) {
		buf_puts(b, "<dt>reproduce</dt><dd><pre class=\"repro\"><code>");
		buf_html(b, p->repro);
		buf_puts(b, "</code></pre></dd>");
	}
	buf_puts(b, "</dl></div>");
}

void sect_who_ran_before(struct rep *r, const struct fh_test *t)
{
	const struct fh_diagnosis *d = t->diag;
	struct buf *b = r->b;
	size_t shown = 0;

	if (!d || !t->order || (d->kind != FH_KIND_ORDER && !d->npolluters))
		return;
	buf_puts(b, "<section class=\"who-before\"><h3>Who ran before</h3><table class=\"log\">"
		    "<thead><tr><th>#</th><th>outcome</th><th>round</th><th>just before, nearest "
		    "first</th></tr></thead><tbody>");
	for (size_t i = 0; i < t->nattempts && shown < 200; i++) {
		const struct fh_attempt *a = &t->attempts[i];
		buf_printf(b, "<tr class=\"o-%s\"><td class=\"num\">%d</td><td>",
			   fh_outcome_names[a->outcome], a->attempt);
		buf_puts(b, outcome_glyph(a->outcome));
		buf_puts(b, "</td><td class=\"num\">");
		if (a->round)
			buf_printf(b, "%d / %d", a->round, a->position);
		else
			buf_puts(b, "\xe2\x80\x93");
		buf_puts(b, "</td><td>");
		for (size_t k = 0; k < a->nbefore; k++) {
			const struct fh_attempt *p = a->before[k];
			bool pol = false;
			for (size_t q = 0; p->test && q < d->npolluters; q++)
				pol |= d->polluters[q].confirmed != 0 &&
					!strcmp(d->polluters[q].nodeid, p->test->nodeid);
			buf_puts(b, pol ? "<span class=\"before pol\" title=\"" :
				 "<span class=\"before\" title=\"");
			buf_html(b, p->test ? p->test->nodeid : "?");
			buf_puts(b, "\">");
			esc_html_n(b, p->test ? short_id(p->test->nodeid) : "?", 80);
			buf_puts(b, "</span>");
		}
		if (!a->nbefore)
			buf_puts(b, "<span class=\"muted\">first in its process</span>");
		buf_puts(b, "</td></tr>");
		shown++;
	}
	buf_puts(b, "</tbody></table></section>");
}

void sect_polluters(struct rep *r)
{
	struct fh_polluter_victims *v;
	struct arena A = { 0 };
	struct buf *b = r->b;
	size_t n = order_polluter_index(&A, r->run, &v);

	if (n) {
		buf_puts(b, "<section class=\"polluters\" id=\"polluters\"><h2>Polluters</h2>"
			    "<p class=\"muted\">Tests that make other tests fail (or pass) when they run "
			    "before them in the same process.</p><table class=\"log\"><thead><tr>"
			    "<th>test</th><th>left behind</th><th>breaks</th></tr></thead><tbody>");
		for (size_t i = 0; i < n; i++) {
			buf_puts(b, "<tr><td><code>");
			buf_html(b, v[i].nodeid);
			buf_puts(b, "</code></td><td>");
			for (size_t k = 0; k < v[i].nleft; k++) {
				if (k)
					buf_puts(b, "; ");
				buf_html(b, v[i].left[k]);
			}
			buf_puts(b, "</td><td>");
			for (size_t k = 0; k < v[i].nvictims; k++) {
				buf_puts(b, k ? ", <code>" : "<code>");
				buf_html(b, v[i].victims[k]->nodeid);
				buf_puts(b, "</code>");
			}
			buf_puts(b, "</td></tr>");
		}
		buf_puts(b, "</tbody></table></section>");
	}
	arena_free(&A);
}
