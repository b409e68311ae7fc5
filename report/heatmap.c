/* SPDX-License-Identifier: MIT */
/*
 * Failure commonality heatmaps. Current run: a column per failed attempt; a row per value a
 * failure can have (duration bucket slow/medium/fast, each traceback frame, and with traces:
 * each failed call and errno, each signal, how the last wait ended, what it blocked on). A cell
 * is filled when that attempt has that value, with strength = the share of all failed attempts
 * that have it, so the values common to every failure stand out as solid rows. Historical:
 * a column per past run, rows = host, branch and ISO week; a filled cell means the run had
 * that value, its strength that run's flake rate.
 *
 * Marks of equal strength share one <path>, so a heatmap is a few dozen nodes at most.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rep.h"

struct hrow {
	char *label;
	const char *group;
	int count;          /* failed attempts with this value (all of them, not only shown) */
	unsigned char *on;  /* per shown column */
};

struct heat {
	struct hrow *rows;
	size_t nrows, cap;
	size_t ncols;
};

static struct hrow *row_get(struct heat *h, const char *group, const char *label)
{
	size_t i;

	for (i = 0; i < h->nrows; i++)
		if (h->rows[i].group == group && !strcmp(h->rows[i].label, label))
			return &h->rows[i];
	GROW(h->rows, h->cap, h->nrows + 1);
	h->rows[h->nrows] = (struct hrow){ xstrdup(label), group, 0, xcalloc(h->ncols ? h->ncols : 1, 1) };
	return &h->rows[h->nrows++];
}

/* Marks value (group, label) for failed attempt number col (col < 0: not shown). Counts each
 * attempt at most once per row. */
static void row_mark(struct heat *h, const char *group, const char *label, long col, size_t *seen)
{
	struct hrow *r = row_get(h, group, label);
	size_t idx = (size_t)(r - h->rows);

	if (seen[idx])
		return;
	seen[idx] = 1;
	r->count++;
	if (col >= 0)
		r->on[col] = 1;
}

static void heat_free(struct heat *h)
{
	size_t i;

	for (i = 0; i < h->nrows; i++) {
		free(h->rows[i].label);
		free(h->rows[i].on);
	}
	free(h->rows);
}

static int by_count_desc(const void *a, const void *b)
{
	const struct hrow *x = a, *y = b;

	return (y->count > x->count) - (y->count < x->count);
}

#define LABW 360.0
#define CW 18.0
#define RH 18.0

static void draw(struct rep *r, struct heat *h, const char *caption, const int *colnum,
		 size_t total_failed, const char *const *groups, size_t ngroups)
{
	struct buf *b = r->b, bg = BUF_INIT(1 << 22);
	double W = LABW + 48 + CW * (double)h->ncols + 8, y = 24, Hh;
	size_t g, i, c, nlines = 0;

	for (g = 0; g < ngroups; g++) {
		size_t k = 0;

		for (i = 0; i < h->nrows; i++)
			k += h->rows[i].group == groups[g];
		if (k)
			nlines += k + 1;
	}
	Hh = 24 + RH * (double)nlines + 6;
	buf_printf(b, "<svg class=\"heat\" width=\"%.0f\" height=\"%.0f\" role=\"img\" aria-label=\"", W, Hh);
	buf_html(b, caption);
	buf_puts(b, "\">");
	buf_printf(b, "<text class=\"lab\" x=\"%.0f\" y=\"14\" text-anchor=\"end\">share</text>", LABW + 40);
	for (c = 0; c < h->ncols; c++)
		buf_printf(b, "<text class=\"lab\" x=\"%.1f\" y=\"14\" text-anchor=\"middle\" font-size=\"9\">%d</text>",
			   LABW + 48 + CW * (double)c + CW / 2, colnum[c]);
	for (g = 0; g < ngroups; g++) {
		bool any = false;

		for (i = 0; i < h->nrows; i++) {
			struct hrow *row = &h->rows[i];
			double share = total_failed ? (double)row->count / (double)total_failed : 0;

			if (row->group != groups[g])
				continue;
			if (!any) {
				buf_printf(b, "<text x=\"0\" y=\"%.0f\" font-weight=\"600\">", y + 12);
				buf_html(b, groups[g]);
				buf_puts(b, "</text>");
				y += RH;
				any = true;
			}
			buf_printf(b, "<text class=\"lab\" x=\"10\" y=\"%.0f\">", y + 12);
			esc_html_short(b, row->label, 54);
			buf_printf(b, "</text><text x=\"%.0f\" y=\"%.0f\" text-anchor=\"end\">", LABW + 40, y + 12);
			buf_pct(b, share);
			buf_printf(b, "</text><path class=\"on\" fill-opacity=\"%.2f\" d=\"", share < 0.12 ? 0.12 : share);
			for (c = 0; c < h->ncols; c++) {
				double x = LABW + 48 + CW * (double)c;

				if (row->on[c])
					buf_printf(b, "M%.0f %.0fh%.0fv%.0fh-%.0fz", x + 1, y + 1, CW - 2, RH - 2, CW - 2);
				else
					buf_printf(&bg, "M%.0f %.0fh%.0fv%.0fh-%.0fz", x + 1, y + 1, CW - 2, RH - 2, CW - 2);
			}
			buf_printf(b, "\"><title>%d of %zu failed attempts</title></path>", row->count, total_failed);
			y += RH;
		}
	}
	if (buf_len(&bg))
		buf_printf(b, "<path class=\"bg\" d=\"%s\"/>", buf_str(&bg));
	buf_free(&bg);
	buf_puts(b, "</svg>");
}

static void dur_bucket(const struct fh_test *t, double d, const char **out)
{
	double lo = INFINITY, hi = 0, third;
	size_t i;

	for (i = 0; i < t->nattempts; i++) {
		double v = t->attempts[i].duration_s;

		lo = v < lo ? v : lo;
		hi = v > hi ? v : hi;
	}
	third = (hi - lo) / 3;
	*out = d >= hi - third ? "slow (top third of the duration range)" :
	       d >= lo + third ? "medium (middle third)" : "fast (bottom third)";
}

void heat_current(struct rep *r, const struct fh_test *t)
{
	static const char G_DUR[] = "duration", G_FRAME[] = "traceback frame", G_ERR[] = "failed call",
			  G_SIG[] = "signal", G_END[] = "last wait ended", G_ON[] = "blocked on",
			  G_HOST[] = "host";
	static const char *const groups[] = { G_HOST, G_DUR, G_FRAME, G_ERR, G_SIG, G_END, G_ON };
	struct heat h = { 0 };
	struct buf lab = BUF_INIT(1 << 16);
	size_t i, nfail = 0, shown = 0, ntrace = 0;
	int *colnum;

	for (i = 0; i < t->nattempts; i++)
		nfail += t->attempts[i].outcome == FH_FAILED || t->attempts[i].outcome == FH_ERROR;
	if (!nfail)
		return;
	h.ncols = nfail < REP_MAX_HEAT_COLS ? nfail : REP_MAX_HEAT_COLS;
	colnum = xcalloc(h.ncols, sizeof(*colnum));
	for (i = 0; i < t->nattempts; i++) {
		const struct fh_attempt *a = &t->attempts[i];
		const struct fh_attempt_trace *tr = a->trace;
		long col = -1;
		const char *bucket;
		size_t *seen, k;

		if (a->outcome != FH_FAILED && a->outcome != FH_ERROR)
			continue;
		if (shown < h.ncols) {
			col = (long)shown;
			colnum[shown++] = a->attempt;
		}
		/* seen[] is sized for rows that may be added while marking this attempt. */
		seen = xcalloc(h.nrows + a->nframes + 8 + (tr ? tr->nerrors + tr->nsignals : 0), sizeof(*seen));
		if (t->nhosts > 1 && a->f.host >= 0 && (size_t)a->f.host < t->nhosts)
			row_mark(&h, G_HOST, t->hosts[a->f.host].host, col, seen); /* a merged run */
		dur_bucket(t, a->duration_s, &bucket);
		row_mark(&h, G_DUR, bucket, col, seen);
		for (k = 0; k < a->nframes; k++) {
			const struct fh_frame *f = &a->frames[k];

			buf_reset(&lab);
			buf_printf(&lab, "%s:%d in %s", f->path ? f->path : "?", f->line,
				   f->function ? f->function : "?");
			row_mark(&h, G_FRAME, buf_str(&lab), col, seen);
		}
		if (tr) {
			ntrace++;
			for (k = 0; k < tr->nerrors; k++) {
				buf_reset(&lab);
				buf_printf(&lab, "%s %s", tr->errors[k].call ? tr->errors[k].call : "?",
					   tr->errors[k].errno_name ? tr->errors[k].errno_name : "");
				if (tr->errors[k].target)
					buf_printf(&lab, " (%s)", tr->errors[k].target);
				row_mark(&h, G_ERR, buf_str(&lab), col, seen);
			}
			for (k = 0; k < tr->nsignals; k++)
				row_mark(&h, G_SIG, tr->signals[k].signal ? tr->signals[k].signal : "?", col, seen);
			if (tr->last_block) {
				const struct fh_block *lb = tr->last_block;

				buf_reset(&lab);
				buf_printf(&lab, "%s (%s)",
					   (unsigned)lb->ended < FH_END_COUNT ? fh_block_end_names[lb->ended] : "?",
					   lb->call ? lb->call : "?");
				row_mark(&h, G_END, buf_str(&lab), col, seen);
			}
			/* The attempt's blocked_on feature: the class the diagnosis counts. */
			if (a->f.blocked_on && (unsigned)a->f.blocked_on < FH_ON_COUNT)
				row_mark(&h, G_ON, fh_blocked_on_names[a->f.blocked_on], col, seen);
		}
		free(seen);
	}
	buf_free(&lab);
	/* Biggest shares first within each group; each group keeps its REP_MAX_HEAT_ROWS biggest. */
	qsort(h.rows, h.nrows, sizeof(*h.rows), by_count_desc);
	{
		size_t kept[ARRAY_SIZE(groups)] = { 0 }, j = 0, g;

		for (i = 0; i < h.nrows; i++) {
			for (g = 0; g < ARRAY_SIZE(groups) && groups[g] != h.rows[i].group; g++)
				;
			if (g < ARRAY_SIZE(groups) && ++kept[g] > REP_MAX_HEAT_ROWS) {
				free(h.rows[i].label);
				free(h.rows[i].on);
				continue;
			}
			h.rows[j++] = h.rows[i];
		}
		h.nrows = j;
	}
	buf_puts(r->b, "<h4>This run <span class=\"muted\">(columns: failed attempts by number; a filled "
		       "cell means that attempt has the value, its strength is the share of all failures "
		       "with it)</span></h4>");
	draw(r, &h, "Failure commonality heatmap of this run", colnum, nfail, groups, ARRAY_SIZE(groups));
	if (nfail > h.ncols)
		buf_printf(r->b, "<div class=\"legend\"><span>showing the first %zu of %zu failed attempts; "
			   "shares count all of them</span></div>", h.ncols, nfail);
	if (!ntrace && r->run->meta.tracing)
		buf_puts(r->b, "<div class=\"legend\"><span>no trace rows: the failed attempts have no "
			       "trace</span></div>");
	free(colnum);
	heat_free(&h);
}

void heat_history(struct rep *r, const struct fh_test *t)
{
	static const char G_HOST[] = "host", G_BR[] = "branch", G_WK[] = "week";
	static const char *const groups[] = { G_HOST, G_BR, G_WK };
	const struct fh_history *hist = t->hist;
	struct heat h = { 0 };
	struct buf *b = r->b, lvl[11];
	size_t first, i, c, k;
	double W, y = 24, maxrate = 0;
	size_t nlines = 0;

	if (!hist || !hist->nruns || hist->total_failed <= 0 ||
	    (r->big && t->verdict != FH_FLAKY && t->verdict != FH_BROKEN))
		return;
	first = hist->nruns > REP_MAX_HIST_COLS ? hist->nruns - REP_MAX_HIST_COLS : 0;
	h.ncols = hist->nruns - first;
	for (i = first; i < hist->nruns; i++) {
		const struct fh_hist_run *hr = &hist->runs[i];
		const char *vals[3] = { hr->host, hr->branch, hr->week };

		for (k = 0; k < 3; k++) {
			struct hrow *row = row_get(&h, groups[k], vals[k] ? vals[k] : "(unknown)");

			row->on[i - first] = 1;
			row->count++;
		}
	}
	for (k = 0; k < 3; k++) {
		size_t m = 0;

		for (i = 0; i < h.nrows; i++)
			m += h.rows[i].group == groups[k];
		nlines += m ? m + 1 : 0;
	}
	for (i = first; i < hist->nruns; i++) {
		const struct fh_hist_run *hr = &hist->runs[i];
		double rate = hr->attempts > 0 ? (double)hr->failed / hr->attempts : 0;

		maxrate = rate > maxrate ? rate : maxrate;
	}
	maxrate = maxrate > 0 ? maxrate : 1;
	for (k = 0; k < 11; k++)
		buf_init(&lvl[k], 1 << 20);
	W = LABW + 48 + CW * (double)h.ncols + 8;
	buf_puts(b, "<h4>Past runs <span class=\"muted\">(columns: runs, oldest to newest; a filled cell "
		    "means the run had that host, branch or week, its strength is that run's flake "
		    "rate, solid = the worst run's ");
	buf_pct(b, maxrate);
	buf_puts(b, "; a dashed cell is a run without failures)</span></h4>");
	buf_printf(b, "<svg class=\"heat\" width=\"%.0f\" height=\"%.0f\" role=\"img\" aria-label=\"Historical "
		   "failure heatmap\"><text class=\"lab\" x=\"%.0f\" y=\"14\" text-anchor=\"end\">runs</text>",
		   W, 24 + RH * (double)(nlines + 1) + 6, LABW + 40);
	for (k = 0; k < 3; k++) {
		bool any = false;

		for (i = 0; i < h.nrows; i++) {
			struct hrow *row = &h.rows[i];

			if (row->group != groups[k])
				continue;
			if (!any) {
				buf_printf(b, "<text x=\"0\" y=\"%.0f\" font-weight=\"600\">%s</text>", y + 12,
					   groups[k]);
				y += RH;
				any = true;
			}
			buf_printf(b, "<text class=\"lab\" x=\"10\" y=\"%.0f\">", y + 12);
			esc_html_short(b, row->label, 54);
			buf_printf(b, "</text><text x=\"%.0f\" y=\"%.0f\" text-anchor=\"end\">%d</text>", LABW + 40,
				   y + 12, row->count);
			for (c = 0; c < h.ncols; c++) {
				const struct fh_hist_run *hr = &hist->runs[first + c];
				double rate = hr->attempts > 0 ? (double)hr->failed / hr->attempts : 0;
				int q = (int)lround(rate / maxrate * 10);

				if (!row->on[c])
					continue;
				q = q < 0 ? 0 : q > 10 ? 10 : q;
				if (hr->failed > 0 && q == 0)
					q = 1;
				buf_printf(&lvl[q], "M%.0f %.0fh%.0fv%.0fh-%.0fz", LABW + 48 + CW * (double)c + 1, y + 1,
					   CW - 2, RH - 2, CW - 2);
			}
			y += RH;
		}
	}
	for (k = 0; k < 11; k++) {
		if (!buf_len(&lvl[k]))
			continue;
		if (k == 0)
			buf_printf(b, "<path class=\"hn\" d=\"%s\"/>", buf_str(&lvl[k]));
		else
			buf_printf(b, "<path class=\"on\" fill-opacity=\"%.1f\" d=\"%s\"/>", k / 10.0,
				   buf_str(&lvl[k]));
		buf_free(&lvl[k]);
	}
	/* Oldest and newest run under the columns, then one hover target per column. */
	buf_printf(b, "<text class=\"lab\" x=\"%.0f\" y=\"%.0f\">oldest</text>", LABW + 48, y + 12);
	if (h.ncols > 3)
		buf_printf(b, "<text class=\"lab\" x=\"%.0f\" y=\"%.0f\" text-anchor=\"end\">newest</text>",
			   LABW + 48 + CW * (double)h.ncols, y + 12);
	for (c = 0; c < h.ncols; c++) {
		const struct fh_hist_run *hr = &hist->runs[first + c];

		buf_printf(b, "<rect x=\"%.0f\" y=\"20\" width=\"%.0f\" height=\"%.0f\" fill=\"transparent\"><title>",
			   LABW + 48 + CW * (double)c, CW, y - 20);
		buf_html(b, hr->run_id);
		buf_printf(b, ": %d of %d failed</title></rect>", hr->failed, hr->attempts);
	}
	buf_puts(b, "</svg>");
	heat_free(&h);
}
