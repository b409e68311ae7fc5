/* SPDX-License-Identifier: MIT */
/*
 * The expanded body of a test's card, in reading order: diagnosis, performance and AI boxes;
 * durations (scatter and, with traces, where each attempt's time went); the failing-vs-passing
 * timeline; failure clusters (each shown once with its count); the commonality heatmaps; the
 * trace evidence of failed attempts; the attempt log; historical trends.
 *
 * In a big run (rep->big) the attempt log lists the failed attempts: a row per attempt of a
 * 1,000 x 100 run would be most of the page, and the JSON summary has every attempt.
 */
#include <stdlib.h>
#include <string.h>

#include "rep.h"

static void frame_line(struct buf *b, const struct fh_frame *f)
{
	buf_puts(b, "<div class=\"fr\"><code>");
	buf_html(b, f->function ? f->function : "?");
	buf_puts(b, "</code> <span class=\"loc mono\">");
	buf_html(b, f->path ? f->path : "?");
	buf_printf(b, ":%d</span>", f->line);
	if (f->source && f->source[0]) {
		buf_puts(b, "<code class=\"src\">");
		esc_html_n(b, f->source, 400);
		buf_puts(b, "</code>");
	}
	buf_puts(b, "</div>");
}

static const struct fh_attempt *find_attempt(const struct fh_test *t, int num)
{
	size_t i;

	for (i = 0; i < t->nattempts; i++)
		if (t->attempts[i].attempt == num)
			return &t->attempts[i];
	return NULL;
}

static void clusters(struct rep *r, const struct fh_test *t)
{
	struct buf *b = r->b;
	size_t i, k;

	if (!t->nclusters)
		return;
	buf_printf(b, "<section class=\"clusters\"><h3>Failure clusters (%zu)</h3>", t->nclusters);
	for (i = 0; i < t->nclusters; i++) {
		const struct fh_cluster *c = &t->clusters[i];
		const struct fh_attempt *first = c->count > 0 && c->attempts ? find_attempt(t, c->attempts[0]) : NULL;

		buf_printf(b, "<div class=\"cl\"><div class=\"cl-h\"><span class=\"cnt\">\xc3\x97%d</span>"
			   "<span>fingerprint <code>", c->count);
		buf_html(b, c->fingerprint ? c->fingerprint : "?");
		buf_puts(b, "</code></span>");
		if (c->stack_fingerprint) {
			buf_puts(b, "<span>stack fingerprint <code>");
			buf_html(b, c->stack_fingerprint);
			buf_puts(b, "</code></span>");
		}
		buf_puts(b, "<span class=\"muted num\">attempts ");
		for (k = 0; c->attempts && k < (size_t)c->count && k < 40; k++)
			buf_printf(b, "%s#%d", k ? ", " : "", c->attempts[k]);
		if (c->count > 40)
			buf_printf(b, " and %d more", c->count - 40);
		buf_puts(b, "</span></div><pre class=\"err\"><b>");
		buf_html(b, c->error_type ? c->error_type : "failure");
		buf_puts(b, "</b>");
		if (c->message) {
			buf_puts(b, ": ");
			esc_html_n(b, c->message, REP_MAX_MSG);
		}
		buf_puts(b, "</pre>");
		if (c->nframes) {
			buf_printf(b, "<div class=\"muted\">innermost %zu frames, innermost last</div>"
				   "<div class=\"frames\">", c->nframes);
			for (k = 0; k < c->nframes; k++)
				frame_line(b, &c->frames[k]);
			buf_puts(b, "</div>");
		}
		if (first && first->trace && first->trace->last_block)
			render_stack(r, &first->trace->last_block->stack,
				     "where the first attempt of this cluster last blocked");
		buf_puts(b, "</div>");
	}
	buf_puts(b, "</section>");
}

/* Rows omit optional end tags and per-cell classes (the CSS aligns columns) to stay small. */
static void log_row(struct buf *b, const struct fh_run *run, const struct fh_attempt *a)
{
	const char *o = (unsigned)a->outcome < FH_OUTCOME_COUNT ? fh_outcome_names[a->outcome] : "?";

	buf_printf(b, "<tr class=\"o-%s\"><td>%d", o, a->attempt);
	if (run->merged && a->source >= 0 && (size_t)a->source < run->nsources) {
		buf_puts(b, "<td class=\"mono\">"); /* merged: where it ran, and its number there */
		buf_html(b, run->sources[a->source].meta.host);
		buf_printf(b, " #%d", a->source_attempt);
	}
	buf_printf(b, "<td class=\"oc\">%s %s<td>%.3f<td>%.3f<td>%.3f<td>%.3f<td>",
		   outcome_glyph(a->outcome), o, a->duration_s, a->setup_s, a->call_s, a->teardown_s);
	if (a->outcome == FH_FAILED || a->outcome == FH_ERROR)
		buf_html(b, a->when);
	if (a->trace && a->trace->unfinished)
		buf_puts(b, " (process died)");
	buf_puts(b, "<td>");
	if ((a->outcome == FH_FAILED || a->outcome == FH_ERROR) && a->nframes) {
		const struct fh_frame *f = &a->frames[a->nframes - 1];

		buf_html(b, f->path ? f->path : "?");
		buf_printf(b, ":%d in ", f->line);
		buf_html(b, f->function ? f->function : "?");
	}
	buf_puts(b, "</tr>");
}

static void attempt_log(struct rep *r, const struct fh_test *t)
{
	struct buf *b = r->b;
	size_t i, nfail = 0;

	for (i = 0; i < t->nattempts; i++)
		nfail += t->attempts[i].outcome == FH_FAILED || t->attempts[i].outcome == FH_ERROR;
	buf_printf(b, "<section><h3>Attempt log (%zu attempts)</h3>", t->nattempts);
	if (r->big)
		buf_printf(b, "<p class=\"muted\">Big run: the %zu failed attempts are listed; every attempt "
			   "is in the JSON summary (attempt_log) and in the duration scatter.</p>", nfail);
	buf_printf(b, "<div class=\"scroll\"><table class=\"alog%s sortable\"><thead><tr><th>#%s"
		   "<th>outcome", r->run->merged ? " m" : "", r->run->merged ? "<th>host #" : "");
	buf_puts(b, "<th>total s<th>setup s<th>call s<th>teardown s<th>phase<th>where it failed</tr></thead><tbody>");
	for (i = 0; i < t->nattempts; i++) {
		const struct fh_attempt *a = &t->attempts[i];

		if (!r->big || a->outcome == FH_FAILED || a->outcome == FH_ERROR)
			log_row(b, r->run, a);
	}
	buf_puts(b, "</tbody></table></div></section>");
}

static void rate_cells(struct buf *b, int attempts, int failed)
{
	buf_printf(b, "<td class=\"num\">%d</td><td class=\"num\">%d</td><td class=\"num\">", attempts, failed);
	buf_pct(b, attempts > 0 ? (double)failed / attempts : 0);
	buf_puts(b, "</td>");
}

static int group_rate_desc(const void *x, const void *y)
{
	const struct fh_hist_group *a = *(const struct fh_hist_group *const *)x;
	const struct fh_hist_group *b = *(const struct fh_hist_group *const *)y;
	double ra = a->attempts > 0 ? (double)a->failed / a->attempts : 0;
	double rb = b->attempts > 0 ? (double)b->failed / b->attempts : 0;

	return (rb > ra) - (rb < ra);
}

static void group_table(struct buf *b, const char *title, const char *col,
			const struct fh_hist_group *g, size_t n, bool by_rate)
{
	const struct fh_hist_group **v;
	size_t i;

	if (!n)
		return;
	v = xcalloc(n, sizeof(*v));
	for (i = 0; i < n; i++)
		v[i] = &g[i];
	if (by_rate)
		qsort(v, n, sizeof(*v), group_rate_desc);
	buf_printf(b, "<div><h4>%s</h4><table class=\"sortable\"><thead><tr><th>%s</th><th class=\"num\">runs</th>"
		   "<th class=\"num\">attempts</th><th class=\"num\">failed</th><th class=\"num\">rate</th></tr>"
		   "</thead><tbody>", title, col);
	for (i = 0; i < n && i < 20; i++) {
		buf_puts(b, "<tr><td class=\"mono\">");
		buf_html(b, v[i]->key);
		buf_printf(b, "</td><td class=\"num\">%d</td>", v[i]->runs);
		rate_cells(b, v[i]->attempts, v[i]->failed);
		buf_puts(b, "</tr>");
	}
	buf_puts(b, "</tbody></table>");
	if (n > 20)
		buf_printf(b, "<div class=\"muted\">and %zu more</div>", n - 20);
	buf_puts(b, "</div>");
	free(v);
}

static void history(struct rep *r, const struct fh_test *t)
{
	const struct fh_history *h = t->hist;
	struct buf *b = r->b;
	size_t i, first, maxrows = r->big ? 10 : REP_MAX_HIST_COLS;
	bool compact = r->big && t->verdict != FH_FLAKY && t->verdict != FH_BROKEN;

	if (!h) {
		if (r->run->history_enabled)
			buf_puts(b, "<section class=\"hist\"><h3>History</h3><p class=\"muted\">No earlier runs "
				    "of this test in the history yet.</p></section>");
		return;
	}
	if (h->total_failed == 0) {
		/* Nothing ever failed: the trend charts and tables would only repeat zeros. */
		buf_printf(b, "<section class=\"hist\"><h3>Historical trends</h3><p><b class=\"num\">%zu</b> runs "
			   "\xc2\xb7 <b class=\"num\">%d</b> attempts \xc2\xb7 no failure in the history.</p>",
			   h->nruns, h->total_attempts);
		if (h->left_out_rows)
			buf_printf(b, "<p class=\"muted hist-left-out\">%lld older history rows were left out "
				   "(the file is over the analyzer's in-memory cap).</p>", h->left_out_rows);
		buf_puts(b, "</section>");
		return;
	}
	buf_printf(b, "<section class=\"hist\"><h3>Historical trends</h3><div class=\"row\"><div><div>"
		   "<b class=\"num\">%zu</b> runs \xc2\xb7 <b class=\"num\">%d</b> attempts \xc2\xb7 "
		   "<b class=\"num\">%d</b> failed \xc2\xb7 overall <b>", h->nruns, h->total_attempts,
		   h->total_failed);
	buf_pct(b, h->total_attempts > 0 ? (double)h->total_failed / h->total_attempts : 0);
	buf_puts(b, "</b></div><div>trend: <b class=\"trend-");
	buf_html(b, h->trend ? h->trend : "n/a");
	buf_puts(b, "\">");
	buf_html(b, h->trend ? h->trend : "n/a");
	if (h->trend && !strcmp(h->trend, "rising"))
		buf_puts(b, " \xe2\x86\x97");
	else if (h->trend && !strcmp(h->trend, "falling"))
		buf_puts(b, " \xe2\x86\x98");
	else if (h->trend && !strcmp(h->trend, "flat"))
		buf_puts(b, " \xe2\x86\x92");
	buf_puts(b, "</b></div>");
	if (h->skipped_rows)
		buf_printf(b, "<div class=\"muted\">%d corrupt history rows were skipped</div>", h->skipped_rows);
	if (h->left_out_rows)
		buf_printf(b, "<div class=\"muted hist-left-out\">%lld older history rows were left out (the "
			   "file is over the analyzer's in-memory cap): these trends use its newest rows</div>",
			   h->left_out_rows);
	buf_puts(b, "</div><div>");
	svg_sparkline(r, h);
	buf_puts(b, "</div></div>");
	if (compact) {
		buf_puts(b, "<p class=\"muted\">Big run: the history tables and heatmap are shown for flaky and "
			    "broken tests.</p></section>");
		return;
	}

	first = h->nruns > maxrows ? h->nruns - maxrows : 0;
	buf_puts(b, "<div class=\"row\"><div><h4>Per run");
	if (first)
		buf_printf(b, " <span class=\"muted\">(newest %zu of %zu)</span>", maxrows, h->nruns);
	buf_puts(b, "</h4><div class=\"scroll\"><table class=\"sortable\"><thead><tr><th>run</th><th>when</th>"
		    "<th>host</th><th>branch</th><th class=\"num\">attempts</th><th class=\"num\">failed</th>"
		    "<th class=\"num\">rate</th></tr></thead><tbody>");
	for (i = h->nruns; i-- > first;) {
		const struct fh_hist_run *hr = &h->runs[i];

		buf_puts(b, "<tr><td class=\"mono\">");
		buf_html(b, hr->run_id);
		buf_puts(b, "</td><td class=\"num\">");
		buf_html(b, hr->timestamp);
		buf_puts(b, "</td><td>");
		buf_html(b, hr->host);
		buf_puts(b, "</td><td>");
		buf_html(b, hr->branch);
		buf_puts(b, "</td>");
		rate_cells(b, hr->attempts, hr->failed);
		buf_puts(b, "</tr>");
	}
	buf_puts(b, "</tbody></table></div></div>");
	group_table(b, "By host", "host", h->by_host, h->nby_host, false);
	group_table(b, "By branch", "branch", h->by_branch, h->nby_branch, false);
	group_table(b, "Parameter sets that fail most", "parameters", h->by_params, h->nby_params, true);
	if (h->nlocations) {
		buf_puts(b, "<div><h4>Top failure locations</h4><table><thead><tr><th>location</th>"
			    "<th class=\"num\">failures</th></tr></thead><tbody>");
		for (i = 0; i < h->nlocations && i < 10; i++) {
			buf_puts(b, "<tr><td class=\"mono\">");
			buf_html(b, h->locations[i].key);
			buf_printf(b, "</td><td class=\"num\">%d</td></tr>", h->locations[i].failed);
		}
		buf_puts(b, "</tbody></table></div>");
	}
	buf_puts(b, "</div></section>");
}

void card_body(struct rep *r, const struct fh_test *t, size_t idx)
{
	struct buf *b = r->b;
	bool traced = test_has_traces(t);

	(void)idx;
	box_polluter(r, t);
	box_diagnosis(r, t);
	box_chaos(r, t);
	box_perf(r, t);
	box_regression(r, t);
	box_ai(r, t);
	sect_hang(r, t);
	sect_hosts(r, t);
	if (t->nattempts) {
		buf_puts(b, "<section><h3>Durations</h3><div class=\"row charts\"><div>");
		svg_scatter(r, t);
		buf_puts(b, "</div>");
		if (traced) {
			buf_puts(b, "<div><h4>Where each attempt's time went</h4>");
			svg_time_bars(r, t);
			buf_puts(b, "</div>");
		}
		buf_puts(b, "</div></section>");
	}
	if (traced)
		sect_timeline(r, t);
	clusters(r, t);
	if (t->failed > 0 || (t->hist && t->hist->nruns && t->hist->total_failed > 0 &&
			      (!r->big || t->verdict == FH_FLAKY || t->verdict == FH_BROKEN))) {
		buf_puts(b, "<section class=\"heatmaps\"><h3>Failure commonality</h3>");
		heat_current(r, t);
		heat_history(r, t);
		buf_puts(b, "</section>");
	}
	if (traced)
		sect_trace_evidence(r, t);
	sect_who_ran_before(r, t);
	attempt_log(r, t);
	history(r, t);
}
