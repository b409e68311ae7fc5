/* SPDX-License-Identifier: MIT */
/*
 * Runs from several machines in the report: the sources of a merged run in the header (host,
 * run id, start, commit, tracing, attempts of each) and each test's per-host breakdown (rate and
 * 95% interval per host; the host failures concentrate on, when the diagnosis names one, is
 * marked). Drawn only when there is more than one source or host: a single machine's report
 * looks as before.
 */
#include <stdio.h>
#include <string.h>

#include "rep.h"

static void short_commit(struct buf *b, const char *commit)
{
	char c[13];

	if (!commit) {
		buf_puts(b, "<span class=\"muted\">none</span>");
		return;
	}
	snprintf(c, sizeof(c), "%s", commit);
	buf_puts(b, "<span class=\"mono\">");
	buf_html(b, c);
	buf_puts(b, "</span>");
}

void header_sources(struct rep *r)
{
	const struct fh_run *run = r->run;
	struct buf *b = r->b;
	bool commits_differ = false;

	if (!run->merged || run->nsources < 1)
		return;
	for (size_t i = 1; i < run->nsources; i++) {
		const char *x = run->sources[0].meta.commit, *y = run->sources[i].meta.commit;

		if ((!x) != (!y) || (x && strcmp(x, y)))
			commits_differ = true;
	}
	buf_printf(b, "<details class=\"sources\" id=\"sources\"><summary>Merged from <b>%zu</b> "
		   "run%s</summary><div class=\"scroll\"><table class=\"sortable\"><thead><tr>"
		   "<th>host</th><th>run id</th><th>started</th><th>commit</th><th>tracing</th>"
		   "<th class=\"num\">attempts</th></tr></thead><tbody>", run->nsources,
		   run->nsources == 1 ? "" : "s");
	for (size_t i = 0; i < run->nsources; i++) {
		const struct fh_source *s = &run->sources[i];

		buf_puts(b, "<tr><td class=\"mono\">");
		buf_html(b, s->meta.host && *s->meta.host ? s->meta.host : "?");
		buf_puts(b, "</td><td class=\"mono\">");
		buf_html(b, s->meta.run_id);
		buf_puts(b, "</td><td>");
		buf_html(b, s->meta.started_utc);
		buf_puts(b, "</td><td>");
		short_commit(b, s->meta.commit);
		buf_printf(b, "</td><td>%s</td><td class=\"num\">%d</td></tr>",
			   s->meta.tracing ? "on" : "off", s->attempts);
	}
	buf_puts(b, "</tbody></table></div></details>");
	if (commits_differ)
		buf_puts(b, "<p class=\"note warn\" id=\"commits-differ\">The merged runs were built from "
			    "different git commits (see the list above): a difference between hosts may be "
			    "a difference between commits.</p>");
}

void sect_hosts(struct rep *r, const struct fh_test *t)
{
	const struct fh_host_stat *hot = t->diag ? t->diag->host : NULL;
	struct buf *b = r->b;

	if (t->nhosts < 2)
		return;
	buf_printf(b, "<section class=\"hosts\"><h3>By host (%zu hosts)</h3><table class=\"sortable\">"
		   "<thead><tr><th>host</th><th class=\"num\">attempts</th><th class=\"num\">failed</th>"
		   "<th class=\"num\">rate</th><th>95%% interval</th></tr></thead><tbody>", t->nhosts);
	for (size_t i = 0; i < t->nhosts; i++) {
		const struct fh_host_stat *h = &t->hosts[i];

		buf_puts(b, h == hot ? "<tr class=\"hot\"><td class=\"mono\">" : "<tr><td class=\"mono\">");
		buf_html(b, h->host);
		if (h == hot)
			buf_puts(b, " <b>\xe2\x86\x90 failures concentrate here</b>");
		buf_printf(b, "</td><td class=\"num\">%d</td><td class=\"num\">%d</td><td class=\"num\">",
			   h->attempts, h->failed);
		buf_pct(b, h->flake_rate);
		buf_puts(b, "</td><td>");
		buf_pct(b, h->ci_lo);
		buf_puts(b, " \xe2\x80\x93 ");
		buf_pct(b, h->ci_hi);
		buf_puts(b, "</td></tr>");
	}
	buf_puts(b, "</tbody></table></section>");
}
