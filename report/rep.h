/* SPDX-License-Identifier: MIT */
/*
 * Internal interface of the HTML report (report/ C files). report.c writes the page and the cards;
 * card.c the expanded parts of a card (attempt log, clusters, history); svg.c the small
 * charts (dot strip, scatter, sparkline, stacked time bars); heatmap.c the commonality
 * heatmaps; evidence.c the diagnosis, performance, AI and trace-evidence boxes and the
 * failing-vs-passing timeline; escape.c the escapers for each output context.
 *
 * The report draws what the model holds; it never decides a verdict, a diagnosis or an order
 * of importance (run->tests is already in report order). Every string that comes from tests,
 * history, traces or an LLM goes through one of the escapers below for the context it lands
 * in. All functions append to a struct buf and check nothing: the caller checks buf.failed
 * once at the end (buf fails cleanly past its cap).
 */
#ifndef FH_REPORT_REP_H
#define FH_REPORT_REP_H

#include <stdbool.h>

#include "buf.h"
#include "escape.h"
#include "model.h"
#include "numfmt.h"

/* Rendering context shared by the parts of one report. */
struct rep {
	const struct fh_run *run;
	struct buf *b;
	/* A run with more attempts than REP_BIG_ATTEMPTS: attempt logs list the failed attempts
	 * (the JSON summary has every one), stable tests get compact history sections. Every view
	 * is drawn here, whatever the size: the page script only filters and sorts. */
	bool big;
	/* The size policy (report.c): tests [0, ncards) have a card, the next nrows one row each
	 * in the "without details" table, the last nleft are left out of the page. */
	size_t ncards, nrows, nleft;
	int nleft_flaky, nleft_broken;
	const struct buf *cards, *rows; /* rendered before the page, copied in at their markers */
};

#define REP_BIG_ATTEMPTS 5000    /* total attempts of a run above which it is "big" */
#define REP_MAX_HEAT_COLS 40     /* failed attempts shown as heatmap columns */
#define REP_MAX_HEAT_ROWS 14     /* rows per group (frames, failed calls...) of a heatmap */
#define REP_MAX_HIST_COLS 30     /* past runs shown in the historical heatmap and table */
#define REP_MAX_BARS 120         /* attempts in the stacked time chart */
#define REP_MAX_SPANS 400        /* timeline bars per attempt */
#define REP_MAX_EVIDENCE 4       /* failed attempts whose trace evidence is listed */
#define REP_MAX_MSG 4000         /* bytes of a failure message or hypothesis shown */

/* escape.c: element text, quoted attribute values and SVG <title> text go through buf_html()
 * (core/escape.h); these cut long strings first. */
/* Like buf_html but stops after max bytes (on a UTF-8 boundary) and appends an ellipsis. */
void esc_html_n(struct buf *b, const char *s, size_t max);
/* For SVG <text>: at most max bytes, cut in the middle on UTF-8 boundaries, with the whole
 * string in a <title> child when cut (so call it right after the <text ...> tag). */
void esc_html_short(struct buf *b, const char *s, size_t max);

const char *outcome_glyph(enum fh_outcome o); /* "✓", "✕", "!", "–" */

/* svg.c */
void svg_dots(struct rep *r, const struct fh_test *t);
void svg_scatter(struct rep *r, const struct fh_test *t);
void svg_sparkline(struct rep *r, const struct fh_history *h);
void svg_time_bars(struct rep *r, const struct fh_test *t); /* needs attempt traces */
bool test_has_traces(const struct fh_test *t);

/* heatmap.c */
void heat_current(struct rep *r, const struct fh_test *t);
void heat_history(struct rep *r, const struct fh_test *t);

/* evidence.c */
void box_diagnosis(struct rep *r, const struct fh_test *t);
void box_perf(struct rep *r, const struct fh_test *t);
/* perf.c: the cause, its evidence, parts and sampled lines (inside box_perf); the duration
 * regression across runs with the medians' sparkline. */
void box_perf_details(struct rep *r, const struct fh_test *t);
void box_regression(struct rep *r, const struct fh_test *t);
void box_ai(struct rep *r, const struct fh_test *t);
void sect_timeline(struct rep *r, const struct fh_test *t);
void sect_trace_evidence(struct rep *r, const struct fh_test *t);
void render_stack(struct rep *r, const struct fh_stack *st, const char *label);

/* chaos.c: chaos mode's box (nothing for a test that never ran under it). */
void box_chaos(struct rep *r, const struct fh_test *t);

/* hang.c: the hang view of a test with a hung attempt (nothing otherwise). */
void sect_hang(struct rep *r, const struct fh_test *t);

/* card.c */
void card_body(struct rep *r, const struct fh_test *t, size_t idx);

/* order.c: an order-dependent test's polluter box and "who ran before" strip; the page's
 * cross-test list of polluters and their victims. */
void box_polluter(struct rep *r, const struct fh_test *t);
void sect_who_ran_before(struct rep *r, const struct fh_test *t);
void sect_polluters(struct rep *r);

/* hosts.c: a merged run's sources (header) and a test's per-host breakdown (card). */
void header_sources(struct rep *r);
void sect_hosts(struct rep *r, const struct fh_test *t);

#endif
