/* SPDX-License-Identifier: MIT */
/*
 * report_write(): the self-contained HTML report. Fills the page template
 * (report/assets/page.html) with the CSS, the script, a Content-Security-Policy that allows
 * only that script (by hash) and inline styles, the header (run facts and totals) and one
 * <details> card per test in the model's order. The card's summary line is drawn here; its
 * expanded body by card.c.
 *
 * Size policy: a report must exist and open in a browser whatever the size of the run. Tests
 * are drawn in report order (worst first): each gets a full card until the cards reach
 * REPORT_DETAIL_BYTES; every later test gets one row of a plain table (verdict, rate, counts,
 * durations, nodeid) until the page reaches REPORT_TARGET_BYTES; the rest are left out. A note
 * in the header says how many tests went to rows and how many were left out (and how many of
 * those were flaky or broken), and names the JSON summary, which always has every test.
 * FH_REPORT_MAX_MB=N (1..200) sets the target (the cards get half of it), for a viewer that
 * needs a smaller page or a run whose every card is wanted.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "assets.h"
#include "chaos_rec.h"
#include "files.h"
#include "rep.h"
#include "report.h"
#include "sha256.h"

#define REPORT_MAX_BYTES ((size_t)256 << 20)
#define REPORT_TARGET_MB 48 /* rows stop once cards + rows reach this; cards at half */

static size_t target_bytes(void)
{
	const char *e = getenv("FH_REPORT_MAX_MB");
	char *end;
	long mb = e ? strtol(e, &end, 10) : 0;

	if (!e || end == e || *end || mb < 1 || mb > 200)
		mb = REPORT_TARGET_MB;
	return (size_t)mb << 20;
}

/* One plain line: how many trace events were lost and why, biggest reason first. */
static void trace_losses(struct buf *b, const struct fh_run *run)
{
	bool done[FH_DROP_REASONS] = { false };
	const char *sep = ": ";

	buf_puts(b, "<p class=\"note warn\" id=\"trace-dropped\">");
	if (run->trace_dropped) {
		buf_printf(b, "Tracing dropped %llu event%s in %d process%s",
			   (unsigned long long)run->trace_dropped, run->trace_dropped == 1 ? "" : "s",
			   run->trace_drop_procs, run->trace_drop_procs == 1 ? "" : "es");
		for (;;) {
			unsigned best = FH_DROP_REASONS;
			for (unsigned r = 0; r < FH_DROP_REASONS; r++)
				if (!done[r] && run->trace_drops[r] &&
				    (best == FH_DROP_REASONS || run->trace_drops[r] > run->trace_drops[best]))
					best = r;
			if (best == FH_DROP_REASONS)
				break;
			done[best] = true;
			buf_printf(b, "%s%llu because %s", sep, (unsigned long long)run->trace_drops[best],
				   trace_drop_reason_text(best));
			sep = "; ";
		}
		buf_puts(b, ". Evidence from those processes may be incomplete.");
	}
	if (run->trace_maps_incomplete) {
		buf_printf(b, "%s%d module map%s incomplete (", run->trace_dropped ? " " : "",
			   run->trace_maps_incomplete, run->trace_maps_incomplete == 1 ? " is" : "s are");
		sep = "";
		for (unsigned r = 0; r < FH_DROP_REASONS; r++)
			if (run->trace_map_reasons[r]) {
				buf_printf(b, "%s%s", sep, trace_drop_reason_text(r));
				sep = "; ";
			}
		buf_puts(b, "): some native stack frames may have no name.");
	}
	buf_puts(b, "</p>");
}

/* Says what the size policy left out of the page and where the full data is. */
static void trimmed_note(struct rep *r)
{
	struct buf *b = r->b;

	buf_printf(b, "<p class=\"note warn\" id=\"report-trimmed\">This report is trimmed to stay "
		   "under about %zu MB: the first %zu tests (worst first) have full details",
		   target_bytes() >> 20, r->ncards);
	if (r->nrows)
		buf_printf(b, "; the next %zu are listed <a href=\"#rest\">one row each</a>, without "
			   "details", r->nrows);
	if (r->nleft) {
		buf_printf(b, "; %zu are left out of this page", r->nleft);
		if (r->nleft_flaky || r->nleft_broken)
			buf_printf(b, " (%d flaky, %d broken among them)", r->nleft_flaky,
				   r->nleft_broken);
	}
	buf_puts(b, ". Every test, with its attempts, is in the JSON summary");
	if (r->run->json_path) {
		buf_puts(b, " <code>");
		buf_html(b, r->run->json_path);
		buf_puts(b, "</code>");
	}
	buf_puts(b, ".</p>");
}

static void header(struct rep *r)
{
	const struct fh_run *run = r->run;
	const struct fh_run_meta *m = &run->meta;
	struct buf *b = r->b;
	const struct fh_test *worst = NULL;
	size_t i;

	for (i = 0; i < run->ntests && !worst; i++)
		if (run->tests[i].verdict == FH_FLAKY)
			worst = &run->tests[i];
	for (i = 0; i < run->ntests && !worst; i++)
		if (run->tests[i].verdict == FH_BROKEN)
			worst = &run->tests[i];

	buf_puts(b, "<header class=\"top\"><h1><span class=\"logo\" aria-hidden=\"true\">\xe2\x97\x89</span>"
		    " flakehunter report <span class=\"rid\">");
	buf_html(b, m->run_id);
	buf_puts(b, "</span></h1><div class=\"meta\">");
	buf_puts(b, "<span>started <b>");
	buf_html(b, m->started_utc ? m->started_utc : "?");
	buf_puts(b, "</b></span><span>host <b>");
	buf_html(b, m->host ? m->host : "?");
	buf_puts(b, "</b></span>");
	if (m->branch || m->commit) {
		buf_puts(b, "<span>git <b>");
		buf_html(b, m->branch ? m->branch : "(detached)");
		if (m->commit) {
			buf_puts(b, "</b> @ <b class=\"mono\">");
			char c[13];

			snprintf(c, sizeof(c), "%s", m->commit);
			buf_html(b, c);
		}
		buf_printf(b, "</b>%s</span>", m->dirty ? " (dirty)" : "");
	} else {
		buf_puts(b, "<span>git <b>none</b></span>");
	}
	if (m->python) {
		buf_puts(b, "<span>Python <b>");
		buf_html(b, m->python);
		buf_puts(b, "</b></span>");
	}
	if (m->pytest) {
		buf_puts(b, "<span>pytest <b>");
		buf_html(b, m->pytest);
		buf_puts(b, "</b></span>");
	}
	if (m->os) {
		buf_puts(b, "<span>");
		buf_html(b, m->os);
		buf_puts(b, "</span>");
	}
	if (m->cpu_count > 0)
		buf_printf(b, "<span><b>%d</b> CPUs</span>", m->cpu_count);
	buf_printf(b, "<span>tracing <b>%s</b></span>", m->tracing ? "on" : "off");
	if (m->xdist)
		buf_puts(b, "<span>xdist <b>on</b></span>");
	if (m->isolate)
		buf_puts(b, "<span>isolate <b>on</b></span>");
	buf_puts(b, "</div><div class=\"tiles\">");
	buf_printf(b, "<div class=\"tile\"><span>Tests analysed</span><b>%zu</b></div>", run->ntests);
	buf_printf(b, "<div class=\"tile\"><span>Runs per test</span><b>%d</b></div>", m->runs_per_test);
	buf_printf(b, "<div class=\"tile flaky\"><span>Flaky</span><b>%d</b></div>", run->nflaky);
	buf_printf(b, "<div class=\"tile broken\"><span>Broken</span><b>%d</b></div>", run->nbroken);
	buf_printf(b, "<div class=\"tile stable\"><span>Stable</span><b>%d</b></div>", run->nstable);
	/* every analysed test is in one tile: flaky + broken + stable + skipped = analysed */
	buf_printf(b, "<div class=\"tile skipped\"><span>Skipped</span><b>%d</b></div>", run->nskipped);
	buf_puts(b, "<div class=\"tile\"><span>Avg flake rate</span><b>");
	buf_pct(b, run->avg_flake_rate);
	buf_puts(b, "</b></div><div class=\"tile worst\"><span>Worst offender</span><b>");
	if (worst) {
		buf_html(b, worst->nodeid);
		buf_puts(b, " <span class=\"muted\">");
		buf_pct(b, worst->flake_rate);
		buf_puts(b, "</span>");
	} else {
		buf_puts(b, "none");
	}
	buf_puts(b, "</b></div></div>");
	header_sources(r);
	if (!m->tracing)
		buf_puts(b, "<p class=\"note warn\" id=\"tracing-off\"><b>Tracing was off</b>: the preload "
			    "library was not active, so there is no system-call evidence and the diagnosis "
			    "uses outcomes and durations only (stable, broken, state, unexplained). Turn it "
			    "on with <code>LD_PRELOAD=/path/to/libfhtrace.so pytest --fh</code>.</p>");
	if (run->trace_dropped || run->trace_maps_incomplete)
		trace_losses(b, run);
	if (run->malformed_records)
		buf_printf(b, "<p class=\"note warn\">%d malformed attempt records were skipped.</p>",
			   run->malformed_records);
	if (run->lost_records)
		buf_printf(b, "<p class=\"note warn\" id=\"lost-records\"><b>%lld record%s could not be "
			   "written</b> during the run (disk full or another write error; the terminal "
			   "said which): those attempts are missing from this report and its counts.</p>",
			   run->lost_records, run->lost_records == 1 ? "" : "s");
	if (r->nrows || r->nleft)
		trimmed_note(r);
	buf_puts(b, "</header>");
}

static const char *verdict_name(enum fh_verdict v)
{
	return (unsigned)v < FH_VERDICT_COUNT ? fh_verdict_names[v] : "unknown";
}

static void card(struct rep *r, const struct fh_test *t, size_t idx)
{
	struct buf *b = r->b;
	const char *v = verdict_name(t->verdict);
	int errors = 0;
	size_t i;

	for (i = 0; i < t->nattempts; i++)
		errors += t->attempts[i].outcome == FH_ERROR;

	buf_printf(b, "<details class=\"card v-%s\" id=\"t%zu\" data-order=\"%zu\" data-rate=\"%.4f\" "
		   "data-mean=\"%.6f\" data-p95=\"%.6f\" data-name=\"", v, idx, idx,
		   isfinite(t->flake_rate) ? t->flake_rate : 0, isfinite(t->mean_s) ? t->mean_s : 0,
		   isfinite(t->p95_s) ? t->p95_s : 0);
	buf_html(b, t->nodeid);
	buf_printf(b, "\"><summary><span class=\"rate\"><span class=\"badge b-%s\">%s</span><b>", v, v);
	buf_pct(b, t->flake_rate);
	buf_puts(b, "</b><small>95% CI ");
	buf_pct(b, t->ci_lo);
	buf_puts(b, "\xe2\x80\x93");
	buf_pct(b, t->ci_hi);
	buf_puts(b, "</small>");
	if (t->chaos && t->chaos->pert_attempts) {
		/* the badge's rate is the natural one; the perturbed side apart */
		buf_printf(b, "<small class=\"chaos-rate\" title=\"the rate above counts the %d "
			   "attempts chaos did not perturb\">under chaos %d/%d (", t->rate_n,
			   t->chaos->pert_failed, t->chaos->pert_attempts);
		buf_pct(b, t->chaos->pert_rate);
		buf_puts(b, ")</small>");
	}
	buf_puts(b, "</span><span class=\"nm\"><code>");
	buf_html(b, t->nodeid);
	buf_puts(b, "</code>");
	if (t->diag || (t->perf && t->perf->unstable) || t->quarantine) {
		buf_puts(b, "<span class=\"chips\">");
		if (t->quarantine) {
			const struct fh_quarantine *q = t->quarantine;

			buf_puts(b, "<span class=\"chip q\" title=\"");
			buf_html(b, q->reason);
			buf_puts(b, q->expired ? "\">quarantine expired " : "\">quarantined until ");
			buf_html(b, q->expires);
			buf_puts(b, " (");
			buf_html(b, q->owner);
			buf_puts(b, ")</span>");
		}
		if (t->diag && (unsigned)t->diag->kind < FH_KIND_COUNT && t->verdict != FH_STABLE) {
			buf_puts(b, "<span class=\"chip k\">");
			buf_html(b, fh_kind_names[t->diag->kind]);
			if (t->diag->blocked_on) {
				buf_puts(b, " on ");
				buf_html(b, fh_blocked_on_names[t->diag->blocked_on]);
			}
			buf_puts(b, "</span>");
		}
		if (t->perf && t->perf->unstable)
			buf_puts(b, "<span class=\"chip perf\">unstable duration</span>");
		buf_puts(b, "</span>");
	}
	svg_dots(r, t);
	buf_printf(b, "</span><span class=\"counts\"><span class=\"%s\">%d passed</span> \xc2\xb7 "
		   "<span class=\"%s\">%d failed</span>", t->passed ? "p" : "muted", t->passed,
		   t->failed ? "f" : "muted", t->failed);
	if (errors)
		buf_printf(b, " <span class=\"muted\">(%d errors)</span>", errors);
	if (t->skipped)
		buf_printf(b, " \xc2\xb7 <span class=\"s\">%d skipped</span>", t->skipped);
	if (t->planned > (int)t->nattempts) {
		buf_printf(b, " \xc2\xb7 <span class=\"muted\">%zu of %d planned", t->nattempts,
			   t->planned);
		if (t->stop) {
			buf_puts(b, ", stopped: ");
			buf_html(b, t->stop);
		}
		buf_puts(b, "</span>");
	}
	buf_puts(b, "</span><span class=\"durs\">mean <b>");
	buf_secs(b, t->mean_s);
	buf_puts(b, "</b> \xc2\xb7 p95 <b>");
	buf_secs(b, t->p95_s);
	buf_puts(b, "</b></span></summary><div class=\"body\">");
	card_body(r, t, idx);
	buf_puts(b, "</div></details>\n");
}

/* One table row of a test the size policy gives no card. */
static void row(struct rep *r, const struct fh_test *t, size_t idx)
{
	struct buf *b = r->b;
	const char *v = verdict_name(t->verdict);

	buf_printf(b, "<tr class=\"v-%s\" id=\"t%zu\"><td>%s</td><td>", v, idx, v);
	buf_pct(b, t->flake_rate);
	if (t->chaos && t->chaos->pert_attempts)
		buf_printf(b, "</td><td>%d/%d (under chaos %d/%d)", t->rate_failed, t->rate_n,
			   t->chaos->pert_failed, t->chaos->pert_attempts);
	else
		buf_printf(b, "</td><td>%d/%zu", t->failed, t->nattempts);
	buf_puts(b, "</td><td>");
	buf_secs(b, t->mean_s);
	buf_puts(b, "</td><td>");
	buf_secs(b, t->p95_s);
	buf_puts(b, "</td><td><code>");
	buf_html(b, t->nodeid);
	buf_puts(b, "</code></td></tr>\n");
}

/* Draws the cards and the rows into their own buffers, by the size policy above, before the
 * page: the header must know what was left out. */
static void render_tests(struct rep *r, struct buf *cards, struct buf *rows)
{
	const struct fh_run *run = r->run;
	size_t i = 0, target = target_bytes();

	r->b = cards;
	for (; i < run->ntests && buf_len(cards) < target / 2; i++)
		card(r, &run->tests[i], i);
	r->ncards = i;
	r->b = rows;
	for (; i < run->ntests && buf_len(cards) + buf_len(rows) < target; i++)
		row(r, &run->tests[i], i);
	r->nrows = i - r->ncards;
	r->nleft = run->ntests - i;
	for (; i < run->ntests; i++) {
		r->nleft_flaky += run->tests[i].verdict == FH_FLAKY;
		r->nleft_broken += run->tests[i].verdict == FH_BROKEN;
	}
}

static void sect_rows(struct rep *r)
{
	struct buf *b = r->b;

	if (!r->nrows)
		return;
	buf_printf(b, "<section class=\"rest\" id=\"rest\"><h2>%zu tests without details</h2>"
		   "<table class=\"rows\"><thead><tr><th>Verdict</th><th>Flake rate</th>"
		   "<th>Failed</th><th>Mean</th><th>p95</th><th>Test</th></tr></thead><tbody>\n",
		   r->nrows);
	buf_add(b, buf_str(r->rows), buf_len(r->rows));
	buf_puts(b, "</tbody></table></section>");
}

static void footer(struct rep *r)
{
	const struct fh_run *run = r->run;

	buf_puts(r->b, "<footer>Generated by flakehunter " FH_VERSION " (fh-analyze) from run <span class=\"mono\">");
	buf_html(r->b, run->meta.run_id);
	buf_puts(r->b, "</span>");
	if (run->meta.tracing)
		buf_printf(r->b, " \xc2\xb7 %llu trace events", (unsigned long long)run->trace_events);
	buf_puts(r->b, ". Flake rate = failed / attempts, with a 95% Wilson interval. Passed attempts are "
		    "green circles (\xe2\x9c\x93), failed red crosses (\xe2\x9c\x95). This page loads nothing "
		    "from the network.</footer>");
}

/* Expands @@NAME@@ markers of the page template. */
static void page(struct rep *r)
{
	const char *p = fh_asset_page_html, *end = p + fh_asset_page_html_len;
	struct buf *b = r->b;
	char hash[45];

	sha256_b64(fh_asset_report_js, fh_asset_report_js_len, hash);
	while (p < end) {
		const char *m = strstr(p, "@@"), *e;
		size_t n;

		if (!m || !(e = strstr(m + 2, "@@"))) {
			buf_add(b, p, (size_t)(end - p));
			break;
		}
		buf_add(b, p, (size_t)(m - p));
		n = (size_t)(e - m - 2);
		m += 2;
		if (n == 3 && !memcmp(m, "CSP", 3))
			buf_printf(b, "default-src 'none'; script-src 'sha256-%s'; style-src 'unsafe-inline'; "
				   "base-uri 'none'; form-action 'none'", hash);
		else if (n == 7 && !memcmp(m, "VERSION", 7))
			buf_puts(b, FH_VERSION);
		else if (n == 5 && !memcmp(m, "TITLE", 5)) {
			buf_puts(b, "flakehunter report \xe2\x80\x94 ");
			buf_html(b, r->run->meta.run_id);
		} else if (n == 3 && !memcmp(m, "CSS", 3))
			buf_add(b, fh_asset_report_css, fh_asset_report_css_len);
		else if (n == 2 && !memcmp(m, "JS", 2))
			buf_add(b, fh_asset_report_js, fh_asset_report_js_len);
		else if (n == 6 && !memcmp(m, "HEADER", 6))
			header(r);
		else if (n == 5 && !memcmp(m, "CARDS", 5)) {
			if (!r->run->ntests)
				buf_puts(b, "<p class=\"note\">No test attempts were recorded in this run.</p>");
			if (buf_len(r->cards))
				buf_add(b, buf_str(r->cards), buf_len(r->cards));
		} else if (n == 4 && !memcmp(m, "ROWS", 4))
			sect_rows(r);
		else if (n == 9 && !memcmp(m, "POLLUTERS", 9))
			sect_polluters(r);
		else if (n == 6 && !memcmp(m, "FOOTER", 6))
			footer(r);
		else
			buf_add(b, m - 2, n + 4);
		p = e + 2;
	}
}

int report_write(const struct fh_run *run, const char *html_path)
{
	struct buf b = BUF_INIT(REPORT_MAX_BYTES);
	struct buf cards = BUF_INIT(REPORT_MAX_BYTES), rows = BUF_INIT(REPORT_MAX_BYTES);
	struct rep r = { .run = run, .b = &b };
	size_t i, total = 0;
	int ret;
	bool failed;

	for (i = 0; i < run->ntests; i++)
		total += run->tests[i].nattempts;
	r.big = total > REP_BIG_ATTEMPTS;
	render_tests(&r, &cards, &rows);
	r.cards = &cards;
	r.rows = &rows;
	r.b = &b;
	failed = buf_failed(&cards) || buf_failed(&rows);
	if (!failed)
		page(&r);
	failed = failed || buf_failed(&b);
	buf_free(&cards);
	buf_free(&rows);
	if (failed) {
		buf_free(&b);
		return error("cannot render '%s': report larger than %zu MB", html_path,
			     REPORT_MAX_BYTES >> 20);
	}
	ret = write_file_atomic(html_path, buf_str(&b), buf_len(&b));
	buf_free(&b);
	if (ret < 0)
		return error("cannot write '%s': %s", html_path, strerror(-ret));
	return 0;
}
