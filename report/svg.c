/* SPDX-License-Identifier: MIT */
/*
 * Small inline SVG charts: the dot strip of a card's summary line, the duration scatter, the
 * history sparkline and the per-attempt stacked time bars. Charts stay small whatever the run
 * size: marks of one kind share a single <path> (a dot is "M x y h0" with a round cap), so a
 * 100-attempt scatter is a handful of nodes. Passed is always a circle and failed a cross, so
 * colour is never the only carrier of the outcome.
 */
#include <math.h>

#include "rep.h"

static const char *outcome_class(enum fh_outcome o)
{
	switch (o) {
	case FH_PASSED: return "p";
	case FH_FAILED: return "f";
	case FH_ERROR: return "e";
	default: return "s";
	}
}

/* Path data of the marks of one outcome, with the pen position so marks can be relative
 * moves on an integer grid (a 100-dot chart stays around a kilobyte). */
struct marks {
	struct buf d;
	long x, y;
};

/* Appends one mark of outcome o centred at (x, y) with half-size rad (integers). */
static void mark(struct marks *m, enum fh_outcome o, long x, long y, long rad)
{
	if (o == FH_PASSED) {
		if (buf_len(&m->d))
			buf_printf(&m->d, "m%ld %ldh0", x - m->x, y - m->y);
		else
			buf_printf(&m->d, "M%ld %ldh0", x, y);
	} else {
		long sx = o == FH_SKIPPED ? x - rad : x - rad, sy = o == FH_SKIPPED ? y : y - rad;

		if (buf_len(&m->d))
			buf_printf(&m->d, "m%ld %ld", sx - m->x, sy - m->y);
		else
			buf_printf(&m->d, "M%ld %ld", sx, sy);
		if (o == FH_SKIPPED) {
			buf_printf(&m->d, "h%ld", 2 * rad);
			x = sx + 2 * rad;
		} else {
			buf_printf(&m->d, "l%ld %ldm0 %ldl%ld %ld", 2 * rad, 2 * rad, -2 * rad, -2 * rad, 2 * rad);
			x = sx;
			y = sy + 2 * rad;
		}
	}
	m->x = x;
	m->y = y;
}

/* Writes the marks of every outcome as one path per outcome. */
static void mark_paths(struct buf *b, struct marks m[FH_OUTCOME_COUNT], double dot, double line)
{
	int o;

	for (o = 0; o < FH_OUTCOME_COUNT; o++) {
		if (!buf_len(&m[o].d))
			continue;
		if (o == FH_PASSED)
			buf_printf(b, "<path class=\"p\" stroke-width=\"%g\" stroke-linecap=\"round\" d=\"%s\"/>",
				   dot, buf_str(&m[o].d));
		else
			buf_printf(b, "<path class=\"%s\" stroke-width=\"%g\" stroke-linecap=\"round\" "
				   "fill=\"none\" d=\"%s\"/>", outcome_class((enum fh_outcome)o), line,
				   buf_str(&m[o].d));
		buf_free(&m[o].d);
	}
}

static void marks_init(struct marks m[FH_OUTCOME_COUNT])
{
	int o;

	for (o = 0; o < FH_OUTCOME_COUNT; o++) {
		buf_init(&m[o].d, 1 << 22);
		m[o].x = m[o].y = 0;
	}
}

/* The dot strip: a 10-unit grid scaled to the pixel width. A run of consecutive passed
 * attempts is one dashed line whose dashes are dots ("0 10" with round caps). */
void svg_dots(struct rep *r, const struct fh_test *t)
{
	struct marks m[FH_OUTCOME_COUNT];
	struct buf run = BUF_INIT(1 << 20);
	size_t n = t->nattempts, i, cols = n < 100 ? n : 100, rows;
	double step;

	if (!n) {
		buf_puts(r->b, "<span class=\"muted\">no attempts</span>");
		return;
	}
	rows = (n + cols - 1) / cols;
	step = 500.0 / (double)cols;
	step = step > 10 ? 10 : step < 5 ? 5 : step;
	marks_init(m);
	for (i = 0; i < n;) {
		const struct fh_attempt *a = &t->attempts[i];
		long x = 5 + 10 * (long)(i % cols), y = 6 + 12 * (long)(i / cols);

		if (a->outcome == FH_PASSED) {
			size_t k = 1;

			while (i + k < n && t->attempts[i + k].outcome == FH_PASSED && (i + k) % cols)
				k++;
			buf_printf(&run, "M%ld %ldh%ld", x, y, 10 * (long)(k - 1) + 1);
			i += k;
			continue;
		}
		mark(&m[a->outcome < FH_OUTCOME_COUNT ? a->outcome : FH_SKIPPED], a->outcome, x, y, 3);
		i++;
	}
	buf_printf(r->b, "<svg class=\"dots\" width=\"%.0f\" height=\"%.0f\" viewBox=\"0 0 %zu %zu\" role=\"img\">"
		   "<title>%zu attempts in order: %d passed (circles), %d failed (crosses), %d skipped (dashes)"
		   "</title>", (double)cols * step, (double)(rows * 12) * step / 10, cols * 10, rows * 12, n,
		   t->passed, t->failed, t->skipped);
	if (buf_len(&run))
		buf_printf(r->b, "<path class=\"p\" stroke-width=\"6.4\" stroke-linecap=\"round\" "
			   "stroke-dasharray=\"0 10\" d=\"%s\"/>", buf_str(&run));
	buf_free(&run);
	mark_paths(r->b, m, 6.4, 2);
	buf_puts(r->b, "</svg>");
}

/* A "nice" axis maximum at or above v (1, 2, 2.5, 5 or 10 times a power of ten) and the
 * number of equal steps that gives round tick labels (0.25 ... not 0.0625). */
static double nice_max_ticks(double v, int *ticks)
{
	double p, m;

	*ticks = 4;
	if (!(v > 0) || !isfinite(v))
		return 1;
	p = pow(10, floor(log10(v)));
	m = v / p;
	if (m <= 1)
		return p;
	if (m <= 2)
		return 2 * p;
	*ticks = 5;
	if (m <= 2.5)
		return 2.5 * p;
	if (m <= 5)
		return 5 * p;
	return 10 * p;
}

static void secs_label(struct buf *b, double s)
{
	buf_printf(b, "%.3g", s);
}

/* Grid lines, the axes and the tick labels (seconds) of a chart's y axis. */
static void y_axis(struct buf *b, double x0, double x1, double top, double ph, double ymax, int nt)
{
	int k;

	buf_puts(b, "<path class=\"grid\" d=\"");
	for (k = 1; k <= nt; k++)
		buf_printf(b, "M%.0f %.0fH%.0f", x0, top + ph - ph * k / nt, x1);
	buf_printf(b, "\"/><path class=\"ax\" d=\"M%.0f %.0fV%.0fH%.0f\"/>", x0, top, top + ph, x1);
	for (k = 0; k <= nt; k++) {
		buf_printf(b, "<text x=\"%.0f\" y=\"%.0f\" text-anchor=\"end\">", x0 - 5, top + ph - ph * k / nt + 3.5);
		secs_label(b, ymax * k / nt);
		buf_puts(b, "</text>");
	}
}

void svg_scatter(struct rep *r, const struct fh_test *t)
{
	const double W = 540, H = 190, L = 54, R = 12, T = 12, B = 34;
	struct buf *b = r->b;
	struct marks m[FH_OUTCOME_COUNT];
	size_t n = t->nattempts, i;
	double ymax = 0, pw = W - L - R, ph = H - T - B;
	int nt;

	for (i = 0; i < n; i++)
		if (t->attempts[i].duration_s > ymax)
			ymax = t->attempts[i].duration_s;
	ymax = nice_max_ticks(ymax, &nt);
	marks_init(m);
	buf_printf(b, "<svg class=\"sc\" width=\"%.0f\" height=\"%.0f\" role=\"img\" aria-label=\"Duration of "
		   "each attempt in seconds; passed are circles, failed are crosses\">", W, H);
	y_axis(b, L, W - R, T, ph, ymax, nt);
	buf_printf(b, "<text x=\"12\" y=\"%.0f\" transform=\"rotate(-90 12 %.0f)\" text-anchor=\"middle\">"
		   "duration (s)</text>", T + ph / 2, T + ph / 2);
	if (t->p95_s > 0 && t->p95_s <= ymax) {
		double y = T + ph - ph * t->p95_s / ymax;

		buf_printf(b, "<path class=\"p95\" d=\"M%.0f %.1fH%.0f\"><title>p95 ", L, y, W - R);
		buf_secs(b, t->p95_s);
		buf_printf(b, "</title></path><text x=\"%.0f\" y=\"%.1f\">p95</text>", L + 3, y - 3);
	}
	for (i = 0; i < n; i++) {
		const struct fh_attempt *a = &t->attempts[i];
		double x = L + 6 + (n > 1 ? (pw - 12) * (double)i / (double)(n - 1) : pw / 2 - 6);
		double v = isfinite(a->duration_s) && a->duration_s > 0 ? a->duration_s : 0;
		double y = T + ph - ph * (v < ymax ? v : ymax) / ymax;

		mark(&m[a->outcome < FH_OUTCOME_COUNT ? a->outcome : FH_SKIPPED], a->outcome, lround(x),
		     lround(y), 4);
	}
	mark_paths(b, m, 6.5, 1.8);
	/* Small runs: one hover target per attempt with its number, outcome and duration. */
	if (!r->big && n > 0 && n <= 400) {
		double cw = n > 1 ? (pw - 12) / (double)(n - 1) : pw;

		for (i = 0; i < n; i++) {
			const struct fh_attempt *a = &t->attempts[i];
			double x = L + 6 + (n > 1 ? (pw - 12) * (double)i / (double)(n - 1) : pw / 2 - 6);

			buf_printf(b, "<rect x=\"%.1f\" y=\"%.0f\" width=\"%.1f\" height=\"%.0f\" fill=\"transparent\">"
				   "<title>attempt #%d: %s, ", x - cw / 2, T, cw, ph, a->attempt,
				   (unsigned)a->outcome < FH_OUTCOME_COUNT ? fh_outcome_names[a->outcome] : "?");
			buf_secs(b, a->duration_s);
			buf_puts(b, "</title></rect>");
		}
	}
	if (n) {
		buf_printf(b, "<text x=\"%.0f\" y=\"%.0f\" text-anchor=\"middle\">%d</text>", L + 6,
			   T + ph + 14, t->attempts[0].attempt);
		if (n > 1)
			buf_printf(b, "<text x=\"%.0f\" y=\"%.0f\" text-anchor=\"middle\">%d</text>",
				   L + pw - 6, T + ph + 14, t->attempts[n - 1].attempt);
	}
	buf_printf(b, "<text x=\"%.0f\" y=\"%.0f\" text-anchor=\"middle\">attempt</text></svg>",
		   L + pw / 2, H - 4);
	buf_puts(b, "<div class=\"legend\"><span class=\"lp\">\xe2\x97\x8f passed</span>"
		    "<span class=\"lf\">\xe2\x9c\x95 failed</span>");
	for (i = 0; i < n; i++)
		if (t->attempts[i].outcome == FH_ERROR) {
			buf_puts(b, "<span class=\"le\">\xe2\x9c\x95 error (setup or teardown)</span>");
			break;
		}
	if (t->skipped)
		buf_puts(b, "<span>\xe2\x80\x93 skipped</span>");
	buf_puts(b, "<span>- - p95</span></div>");
}

void svg_sparkline(struct rep *r, const struct fh_history *h)
{
	const double W = 220, H = 46, P = 4;
	struct buf *b = r->b;
	size_t i, n = h->nruns;
	double ymax = 0;

	for (i = 0; i < n; i++) {
		double v = h->runs[i].attempts > 0 ? (double)h->runs[i].failed / h->runs[i].attempts : 0;

		if (v > ymax)
			ymax = v;
	}
	ymax = ymax < 0.05 ? 0.05 : ymax;
	buf_printf(b, "<svg class=\"spark\" width=\"%.0f\" height=\"%.0f\" role=\"img\" aria-label=\"flake "
		   "rate per run, oldest to newest\"><title>flake rate per run, oldest first:", W + 40, H);
	for (i = 0; i < n; i++) {
		buf_putc(b, ' ');
		buf_pct(b, h->runs[i].attempts > 0 ? (double)h->runs[i].failed / h->runs[i].attempts : 0);
	}
	buf_printf(b, "</title><path class=\"ax\" d=\"M%.0f %.0fH%.0f\"/><path class=\"ln\" d=\"", P,
		   H - P, W - P);
	for (i = 0; i < n; i++) {
		double v = h->runs[i].attempts > 0 ? (double)h->runs[i].failed / h->runs[i].attempts : 0;
		double x = n > 1 ? P + (W - 2 * P) * (double)i / (double)(n - 1) : W / 2;

		buf_printf(b, "%c%.1f %.1f", i ? 'L' : 'M', x, H - P - (H - 2 * P) * v / ymax);
	}
	buf_puts(b, "\"/>");
	if (n) {
		const struct fh_hist_run *last = &h->runs[n - 1];
		double v = last->attempts > 0 ? (double)last->failed / last->attempts : 0;

		buf_printf(b, "<circle class=\"pt\" cx=\"%.1f\" cy=\"%.1f\" r=\"3\"/>",
			   n > 1 ? W - P : W / 2, H - P - (H - 2 * P) * v / ymax);
	}
	buf_printf(b, "<text x=\"%.0f\" y=\"10\">", W + 4);
	buf_pct(b, ymax);
	buf_printf(b, "</text><text x=\"%.0f\" y=\"%.0f\">0%%</text></svg>", W + 4, H - 2);
}

bool test_has_traces(const struct fh_test *t)
{
	size_t i;

	for (i = 0; i < t->nattempts; i++)
		if (t->attempts[i].trace)
			return true;
	return false;
}

/* Segments: the categories of blocking calls, on-CPU, garbage collection, run-queue delay,
 * the rest of the attempt. With the attempt's `where` (perf_where.c) every part is the test
 * thread's own, so a bar is the attempt's duration; without it (older traces) the categories
 * sum every thread's waits and can stack above the duration. */
#define SEG_CPU FH_CAT_COUNT
#define SEG_GC (FH_CAT_COUNT + 1)
#define SEG_DELAY (FH_CAT_COUNT + 2)
#define SEG_IDLE (FH_CAT_COUNT + 3)
#define NSEG (FH_CAT_COUNT + 4)

static const char *seg_class(int s)
{
	static const char *const names[NSEG] = {
		[FH_CAT_NET] = "cat-net", [FH_CAT_DNS] = "cat-dns", [FH_CAT_SLEEP] = "cat-sleep",
		[FH_CAT_LOCK] = "cat-lock", [FH_CAT_PROC] = "cat-proc",
		[FH_CAT_FILE] = "cat-file", [FH_CAT_OTHER] = "cat-other", [SEG_CPU] = "cat-cpu",
		[SEG_GC] = "cat-gc", [SEG_DELAY] = "cat-delay", [SEG_IDLE] = "cat-idle",
	};

	return names[s];
}

static const char *seg_name(int s)
{
	if (s < FH_CAT_COUNT)
		return fh_category_names[s];
	return s == SEG_CPU ? "on CPU" : s == SEG_GC ? "garbage collection" :
	       s == SEG_DELAY ? "waiting for a CPU (run-queue delay)" : "unaccounted";
}

static double pos(double v)
{
	return v > 0 && isfinite(v) ? v : 0;
}

static double seg_value(const struct fh_attempt *a, int s)
{
	const struct fh_attempt_trace *tr = a->trace;
	const struct fh_where *w = a->where;
	double sum = 0;
	int c;

	if (w) {
		double gc = pos(w->gc_s);
		if (s < FH_CAT_COUNT) {
			for (size_t i = 0; i < tr->ncalls; i++)
				if ((int)tr->calls[i].category == s)
					sum += pos(tr->calls[i].main_s);
			return sum;
		}
		if (s == SEG_CPU)
			return pos(w->thread_cpu_s - gc);
		if (s == SEG_GC)
			return gc < w->thread_cpu_s ? gc : pos(w->thread_cpu_s);
		if (s == SEG_DELAY)
			return pos(w->run_delay_s);
		return pos(w->other_s);
	}
	if (s < FH_CAT_COUNT)
		return pos(tr->time_s[s]);
	if (s == SEG_CPU)
		return pos(tr->cpu_s);
	if (s != SEG_IDLE)
		return 0;
	for (c = 0; c < FH_CAT_COUNT; c++)
		sum += pos(tr->time_s[c]);
	sum += pos(tr->cpu_s);
	return a->duration_s > sum ? a->duration_s - sum : 0;
}

void svg_time_bars(struct rep *r, const struct fh_test *t)
{
	const double H = 170, L = 54, T = 10, B = 30;
	struct buf *b = r->b, segs[NSEG], fx = BUF_INIT(1 << 20), slow = BUF_INIT(1 << 20);
	size_t n = t->nattempts < REP_MAX_BARS ? t->nattempts : REP_MAX_BARS, i;
	double ymax = 0, bw, W, ph = H - T - B;
	bool used[NSEG] = { false };
	int s, nt;

	for (i = 0; i < n; i++) {
		const struct fh_attempt *a = &t->attempts[i];
		double sum = 0;

		if (!a->trace)
			continue;
		for (s = 0; s < NSEG; s++) {
			double v = seg_value(a, s);

			sum += v;
			used[s] |= v > 0;
		}
		if (sum > ymax)
			ymax = sum;
	}
	ymax = nice_max_ticks(ymax, &nt);
	bw = 560.0 / (double)(n ? n : 1);
	bw = bw > 16 ? 16 : bw < 4 ? 4 : bw;
	W = L + bw * (double)n + 12;
	W = W < 300 ? 300 : W;
	for (s = 0; s < NSEG; s++)
		buf_init(&segs[s], 1 << 20);
	for (i = 0; i < n; i++) {
		const struct fh_attempt *a = &t->attempts[i];
		double x = L + 4 + bw * (double)i, y = T + ph;

		if (a->f.slow)
			buf_printf(&slow, "M%.1f %.1fl3 5h-6z", x + bw * 0.4, T + ph + 4);
		if (a->outcome == FH_FAILED || a->outcome == FH_ERROR)
			buf_printf(&fx, "M%.1f %.1fl%.1f %.1fm0 -%.1fl-%.1f %.1f", x + bw / 2 - 2.5, T + ph + 4, 5.0,
				   5.0, 5.0, 5.0, 5.0);
		if (!a->trace)
			continue;
		for (s = 0; s < NSEG; s++) {
			double v = seg_value(a, s), h = isfinite(v) ? ph * v / ymax : 0;

			if (h < 0.05)
				continue;
			h = h > y - T ? y - T : h;
			if (h <= 0)
				continue;
			y -= h;
			buf_printf(&segs[s], "M%.1f %.1fh%.1fv%.1fh-%.1fz", x, y, bw * 0.8, h, bw * 0.8);
		}
	}
	buf_printf(b, "<svg class=\"bars\" width=\"%.0f\" height=\"%.0f\" role=\"img\" aria-label=\"Where each "
		   "attempt's time went, stacked by category\">", W, H);
	y_axis(b, L, W - 4, T, ph, ymax, nt);
	buf_printf(b, "<text x=\"12\" y=\"%.0f\" transform=\"rotate(-90 12 %.0f)\" text-anchor=\"middle\">"
		   "seconds</text>", T + ph / 2, T + ph / 2);
	for (s = 0; s < NSEG; s++) {
		if (buf_len(&segs[s]))
			buf_printf(b, "<path class=\"%s\" d=\"%s\"><title>%s</title></path>", seg_class(s),
				   buf_str(&segs[s]), seg_name(s));
		buf_free(&segs[s]);
	}
	if (buf_len(&fx))
		buf_printf(b, "<path class=\"f\" stroke-width=\"1.6\" fill=\"none\" d=\"%s\">"
			   "<title>failed attempt</title></path>", buf_str(&fx));
	buf_free(&fx);
	if (buf_len(&slow))
		buf_printf(b, "<path class=\"slow\" d=\"%s\"><title>slow attempt (performance flake)</title></path>",
			   buf_str(&slow));
	buf_free(&slow);
	buf_printf(b, "<text x=\"%.0f\" y=\"%.0f\">attempts 1\xe2\x80\x93%zu in order</text></svg>", L,
		   H - 4, n);
	buf_puts(b, "<div class=\"legend\">");
	for (s = 0; s < NSEG; s++)
		if (used[s])
			buf_printf(b, "<span><i class=\"%s\"></i>%s</span>", seg_class(s), seg_name(s));
	buf_puts(b, "<span class=\"lf\">\xe2\x9c\x95 under a bar: failed</span>");
	if (t->perf && t->perf->unstable && t->perf->nslow)
		buf_puts(b, "<span class=\"le\">\xe2\x96\xb2 under a bar: slow</span>");
	{
		bool all_where = true;
		for (i = 0; i < n; i++)
			if (t->attempts[i].trace && !t->attempts[i].where)
				all_where = false;
		buf_puts(b, all_where ? "<span>the test thread's time: each bar is the attempt's "
			    "duration</span>" : "<span>threads that wait at the same time can stack above "
			    "the attempt's duration</span>");
	}
	if (t->nattempts > n)
		buf_printf(b, "<span>showing the first %zu of %zu attempts</span>", n, t->nattempts);
	buf_puts(b, "</div>");
}
