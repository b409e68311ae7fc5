/* SPDX-License-Identifier: MIT */
/*
 * CI summaries: a compact Markdown summary (`fh-analyze report --markdown PATH`, appended to
 * GitHub's step summary with --step-summary PATH) and GitHub Actions annotations
 * (--annotations github).
 *
 * The Markdown: a heading with the counts, one line on the run, then a table of the flaky and
 * broken tests in report order (worst first), at most MARKDOWN_MAX_ROWS rows: test, verdict
 * (with the quarantine owner and expiry when quarantined), failed/attempts, rate with its 95%
 * interval, diagnosis kind, and its first evidence line; then a link to the report. Every
 * string from the run is escaped (Markdown punctuation backslashed, < > & as entities, line
 * ends and table pipes neutralised, cut to MARKDOWN_MAX_CELL bytes).
 *
 * Annotations: one `::error` per broken test and one `::warning` per flaky or quarantined
 * test, at the innermost frame of its biggest failure cluster that lies inside the project
 * (relative path), else at its file; at most ANNOTATIONS_MAX per level, then one `::notice`
 * saying how many were left out. Values are escaped the way GitHub's toolkit does (% CR LF,
 * and : , in properties).
 */
#ifndef FH_MARKDOWN_H
#define FH_MARKDOWN_H

#include <stdio.h>

#include "model.h"

#define MARKDOWN_MAX_ROWS 50
#define MARKDOWN_MAX_CELL 300
#define ANNOTATIONS_MAX 10

struct markdown_opts {
	const char *html_path;    /* the HTML report; may be NULL */
	const char *md_path;      /* where the Markdown is written (for a relative link); may be NULL */
	const char *report_link;  /* URL to link for the report (e.g. the CI run); may be NULL */
};

/* Appends the Markdown summary to b. 0, or -ENOBUFS. */
int markdown_render(const struct fh_run *run, const struct markdown_opts *o, struct buf *b);
/* Writes it to path (atomically), or appends it to path when append is true. 0 or -errno after
 * one error line. */
int markdown_write(const struct fh_run *run, const struct markdown_opts *o, const char *path,
		   bool append);

/* Prints the GitHub annotations to out; prefix (may be NULL) is put before relative paths
 * (the project's folder inside the checkout). Returns the number of annotations printed. */
int annotations_print(const struct fh_run *run, const char *prefix, FILE *out);

#endif
