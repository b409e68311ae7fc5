/* SPDX-License-Identifier: MIT */
/*
 * The performance parts of a card (perf_cause.c's results): the cause and its evidence, the
 * parts of the wall time slow against fast, the slow-versus-fast comparison of the sampled
 * Python lines (paired bars per line, widest first), and the duration regression with the
 * sparkline of each run's median duration.
 */
#include <math.h>
#include <string.h>

#include "rep.h"

static double maxd(double a, double b)
{
	return a > b ? a : b;
}

/* A bar of width v / vmax of 160 px, with the value after it. */
static void hbar(struct buf *b, const char *cls, double v, double vmax)
{
	double w = vmax > 0 && v > 0 ? 160.0 * v / vmax : 0;
	buf_printf(b, "<svg width=\"164\" height=\"10\" aria-hidden=\"true\"><rect class=\"%s\" "
		   "x=\"0\" y=\"1\" width=\"%.1f\" height=\"8\"/></svg> ", cls, w);
	buf_secs(b, v);
}

static void parts_table(struct buf *b, const struct fh_perf *p)
{
	static const struct { const char *name, *label, *cls; } k[] = {
		{ "cpu", "on CPU (test thread)", "cat-cpu" },
		{ "gc", "garbage collection", "cat-gc" },
		{ "run_delay", "waiting for a CPU", "cat-delay" },
		{ "wait", "blocking calls", "cat-poll" },
		{ "other", "unaccounted", "cat-idle" },
	};
	double vmax = 0;
	for (int i = 0; i < p->nparts; i++)
		vmax = maxd(vmax, maxd(p->parts[i].slow_s, p->parts[i].fast_s));
	buf_puts(b, "<table class=\"perf-lines\"><caption>Where the time went, mean per attempt"
		    "</caption><tr><th>part</th><th>slow attempts</th><th>fast attempts</th></tr>");
	for (int i = 0; i < p->nparts; i++) {
		const char *label = p->parts[i].name, *cls = "cat-other";
		for (size_t j = 0; j < sizeof(k) / sizeof(k[0]); j++)
			if (!strcmp(k[j].name, p->parts[i].name)) {
				label = k[j].label;
				cls = k[j].cls;
			}
		buf_puts(b, "<tr><td>");
		buf_html(b, label);
		buf_puts(b, "</td><td class=\"n\">");
		hbar(b, cls, p->parts[i].slow_s, vmax);
		buf_puts(b, "</td><td class=\"n\">");
		hbar(b, cls, p->parts[i].fast_s, vmax);
		buf_puts(b, "</td></tr>");
	}
	buf_puts(b, "</table>");
}

static void lines_table(struct buf *b, const struct fh_perf *p)
{
	double vmax = 0;
	for (size_t i = 0; i < p->nlines; i++)
		vmax = maxd(vmax, maxd(p->lines[i].slow_s, p->lines[i].fast_s));
	buf_printf(b, "<table class=\"perf-lines\"><caption>CPU by Python line, mean per profiled "
		   "attempt (%d slow, %d fast)</caption><tr><th>line</th><th>slow attempts</th>"
		   "<th>fast attempts</th></tr>", p->profiled_slow, p->profiled_fast);
	for (size_t i = 0; i < p->nlines; i++) {
		const struct fh_perf_line *l = &p->lines[i];
		buf_puts(b, "<tr><td><code>");
		buf_html(b, l->path ? l->path : "?");
		buf_printf(b, ":%d</code> ", l->line);
		buf_html(b, l->function ? l->function : "?");
		if (l->caller) {
			buf_puts(b, "<br><span class=\"muted\">called from ");
			buf_html(b, l->caller);
			buf_puts(b, "</span>");
		}
		buf_puts(b, "</td><td class=\"n\">");
		hbar(b, "cat-cpu", l->slow_s, vmax);
		buf_puts(b, "</td><td class=\"n\">");
		hbar(b, "cat-cpu", l->fast_s, vmax);
		buf_puts(b, "</td></tr>");
	}
	buf_puts(b, "</table>");
}

/* The median duration of each run, oldest first. */
static void median_sparkline(struct buf *b, const struct fh_history *h)
{
	const double W = 220, H = 46, P = 4;
	double ymax = 0;
	size_t n = 0;
	for (size_t i = 0; i < h->nruns; i++)
		if (h->runs[i].median_s >= 0) {
			ymax = maxd(ymax, h->runs[i].median_s);
			n++;
		}
	if (n < 2 || !(ymax > 0))
		return;
	buf_printf(b, "<svg class=\"spark\" width=\"%.0f\" height=\"%.0f\" role=\"img\" "
		   "aria-label=\"median duration per run, oldest to newest\"><title>median duration "
		   "per run, oldest first:", W + 50, H);
	for (size_t i = 0; i < h->nruns; i++)
		if (h->runs[i].median_s >= 0) {
			buf_putc(b, ' ');
			buf_secs(b, h->runs[i].median_s);
		}
	buf_printf(b, "</title><path class=\"ax\" d=\"M%.0f %.0fH%.0f\"/><path class=\"ln\" d=\"",
		   P, H - P, W - P);
	size_t k = 0;
	double lx = 0, ly = 0;
	for (size_t i = 0; i < h->nruns; i++) {
		if (h->runs[i].median_s < 0)
			continue;
		lx = P + (W - 2 * P) * (double)k / (double)(n - 1);
		ly = H - P - (H - 2 * P) * h->runs[i].median_s / ymax;
		buf_printf(b, "%c%.1f %.1f", k ? 'L' : 'M', lx, ly);
		k++;
	}
	buf_printf(b, "\"/><circle class=\"pt\" cx=\"%.1f\" cy=\"%.1f\" r=\"3\"/><text x=\"%.0f\" "
		   "y=\"10\">", lx, ly, W + 4);
	buf_secs(b, ymax);
	buf_printf(b, "</text><text x=\"%.0f\" y=\"%.0f\">0</text></svg>", W + 4, H - 2);
}

static void regression(struct buf *b, const struct fh_test *t)
{
	const struct fh_regression *g = t->perf ? t->perf->regression : NULL;
	if (!g)
		return;
	buf_printf(b, "<div class=\"box perf\"><h3>Duration across runs</h3><div class=\"kind\">%s"
		   "</div><p>Median of the last %d run%s ", g->flagged ? "Regression" : "No regression",
		   g->recent_runs, g->recent_runs == 1 ? "" : "s");
	buf_secs(b, g->recent_median_s);
	buf_printf(b, " against %d earlier run%s ", g->earlier_runs, g->earlier_runs == 1 ? "" : "s");
	buf_secs(b, g->earlier_median_s);
	buf_puts(b, "; change 95% interval ");
	buf_puts(b, g->lo_s < 0 ? "\xe2\x88\x92" : "");
	buf_secs(b, fabs(g->lo_s));
	buf_puts(b, " to ");
	buf_puts(b, g->hi_s < 0 ? "\xe2\x88\x92" : "");
	buf_secs(b, fabs(g->hi_s));
	buf_puts(b, ".");
	if (g->flagged && (g->commit_before || g->commit_after)) {
		buf_puts(b, " Between commits <code>");
		esc_html_short(b, g->commit_before ? g->commit_before : "?", 12);
		buf_puts(b, "</code> and <code>");
		esc_html_short(b, g->commit_after ? g->commit_after : "?", 12);
		buf_puts(b, "</code>");
		if (g->first_run) {
			buf_puts(b, " (first slow run ");
			buf_html(b, g->first_run);
			buf_puts(b, ")");
		}
		buf_puts(b, ".");
	}
	buf_puts(b, "</p>");
	if (t->hist)
		median_sparkline(b, t->hist);
	buf_puts(b, "</div>");
}

void box_perf_details(struct rep *r, const struct fh_test *t)
{
	const struct fh_perf *p = t->perf;
	struct buf *b = r->b;

	if (p && p->unstable && p->shape) {
		buf_puts(b, "<p>");
		if (p->cause) {
			buf_puts(b, "<strong>Cause: ");
			buf_html(b, p->cause);
			buf_puts(b, "</strong>. ");
		} else if (!p->flake) {
			buf_puts(b, "<strong>Not a performance flake</strong>: the difference is below "
				    "the minimum effect. ");
		}
		buf_puts(b, "<span class=\"muted\">");
		buf_html(b, p->shape);
		buf_puts(b, "; passing median ");
		buf_secs(b, p->median_s);
		buf_puts(b, " (95% ");
		buf_secs(b, p->median_lo_s);
		buf_puts(b, "\xe2\x80\x93");
		buf_secs(b, p->median_hi_s);
		buf_puts(b, "); minimum effect ");
		buf_secs(b, p->min_effect_s);
		buf_puts(b, "; run noise floor ");
		buf_pct(b, p->noise_floor);
		buf_puts(b, "</span></p>");
		if (p->ncause_evidence) {
			buf_puts(b, "<ul class=\"evidence\">");
			for (size_t i = 0; i < p->ncause_evidence; i++) {
				buf_puts(b, "<li>");
				buf_html(b, p->cause_evidence[i]);
				buf_puts(b, "</li>");
			}
			buf_puts(b, "</ul>");
		}
		if (p->nparts)
			parts_table(b, p);
		if (p->nlines && p->profiled_slow && p->profiled_fast)
			lines_table(b, p);
	}
}

void box_regression(struct rep *r, const struct fh_test *t)
{
	regression(r->b, t);
}
