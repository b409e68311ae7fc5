/* SPDX-License-Identifier: MIT */
/*
 * The Markdown summary and GitHub annotations of a run (markdown.h).
 */
#include "markdown.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "chaos_rec.h"
#include "escape.h"
#include "files.h"

static bool quarantined(const struct fh_test *t)
{
	return t->quarantine && !t->quarantine->expired;
}

/* The name of t's diagnosis kind, or NULL. */
static const char *kind_name(const struct fh_test *t)
{
	return t->diag && (unsigned)t->diag->kind < FH_KIND_COUNT ? fh_kind_names[t->diag->kind]
								   : NULL;
}

static void diag_cell(struct buf *b, const struct fh_test *t)
{
	const char *on;

	if (!kind_name(t)) {
		buf_puts(b, "-");
		return;
	}
	buf_md_text(b, kind_name(t), 64);
	on = (unsigned)t->diag->blocked_on < FH_ON_COUNT ? fh_blocked_on_names[t->diag->blocked_on]
							   : NULL;
	if (on) {
		buf_puts(b, " (");
		buf_md_text(b, on, 64);
		buf_putc(b, ')');
	}
}

/* path relative to the folder of base (both absolute), or path itself. */
static void rel_path(struct buf *b, const char *path, const char *base)
{
	const char *dir_end, *q;
	size_t common = 0, i;

	if (!base || path[0] != '/' || base[0] != '/') {
		buf_puts(b, path);
		return;
	}
	dir_end = strrchr(base, '/'); /* base's folder is [base, dir_end) */
	for (i = 0; path[i] && base + i <= dir_end && path[i] == base[i]; i++)
		if (path[i] == '/')
			common = i + 1;
	if (base + common < dir_end) {
		buf_puts(b, "../");
		for (q = base + common; q < dir_end; q++)
			if (*q == '/')
				buf_puts(b, "../");
	}
	buf_puts(b, path + common);
}

int markdown_render(const struct fh_run *run, const struct markdown_opts *o, struct buf *b)
{
	const struct fh_run_meta *m = &run->meta;
	size_t i, rows = 0, bad = (size_t)run->nflaky + (size_t)run->nbroken;

	buf_printf(b, "### flakehunter: %d flaky, %d broken of %zu tests\n\n", run->nflaky,
		   run->nbroken, run->ntests);
	if (m->runs_mode && !strcmp(m->runs_mode, "auto"))
		buf_printf(b, "Attempts per test: auto (at most %d)", m->max_runs);
	else if (m->budget_s > 0)
		buf_printf(b, "Attempts per test: planned for a budget of %.0f s (at most %d)",
			   m->budget_s, m->max_runs);
	else
		buf_printf(b, "%d attempts per test", m->runs_per_test);
	buf_puts(b, " &middot; run ");
	buf_md_text(b, m->run_id, 64);
	if (m->host && *m->host) {
		buf_puts(b, " on ");
		buf_md_text(b, m->host, 64);
	}
	if (m->commit) {
		buf_puts(b, " at ");
		if (m->branch) {
			buf_md_text(b, m->branch, 64);
			buf_putc(b, ' ');
		}
		buf_md_text(b, m->commit, 12);
	}
	buf_puts(b, m->tracing ? " &middot; tracing on\n\n" : " &middot; tracing off\n\n");
	if (!bad) {
		buf_printf(b, "No flaky or broken test: %d stable, %d skipped.\n\n", run->nstable,
			   run->nskipped);
	} else {
		buf_puts(b, "| Test | Verdict | Failed | Rate (95% CI) | Diagnosis | Evidence |\n"
			 "|:--|:--|--:|:--|:--|:--|\n");
		for (i = 0; i < run->ntests && rows < MARKDOWN_MAX_ROWS; i++) {
			const struct fh_test *t = &run->tests[i];

			if (t->verdict != FH_FLAKY && t->verdict != FH_BROKEN)
				continue;
			rows++;
			buf_puts(b, "| ");
			buf_md_text(b, t->nodeid, MARKDOWN_MAX_CELL);
			buf_puts(b, " | ");
			buf_puts(b, fh_verdict_names[t->verdict]);
			if (t->quarantine) {
				buf_puts(b, quarantined(t) ? " (quarantined: " : " (quarantine expired: ");
				buf_md_text(b, t->quarantine->owner, 64);
				buf_puts(b, ", ");
				buf_md_text(b, t->quarantine->expires, 16);
				buf_putc(b, ')');
			}
			buf_printf(b, " | %d/%d | %.0f%% (%.0f-%.0f%%)", t->rate_failed,
				   t->rate_n, 100 * t->flake_rate, 100 * t->ci_lo, 100 * t->ci_hi);
			chaos_rate_note(b, t);
			buf_puts(b, " | ");
			diag_cell(b, t);
			buf_puts(b, " | ");
			if (t->diag && t->diag->nevidence && t->diag->evidence[0])
				buf_md_text(b, t->diag->evidence[0], MARKDOWN_MAX_CELL);
			else
				buf_putc(b, '-');
			buf_puts(b, " |\n");
		}
		if (bad > rows)
			buf_printf(b, "\n... and %zu more flaky or broken tests (see the report).\n",
				   bad - rows);
		buf_printf(b, "\n%d stable, %d skipped.\n\n", run->nstable, run->nskipped);
	}
	if (o->html_path || o->report_link) {
		const char *base = o->html_path ? strrchr(o->html_path, '/') : NULL;

		buf_puts(b, "Report: ");
		if (o->html_path && !o->report_link) {
			buf_puts(b, "[");
			buf_md_text(b, base ? base + 1 : o->html_path, 256);
			buf_puts(b, "](<");
			rel_path(b, o->html_path, o->md_path);
			buf_puts(b, ">)");
		} else {
			if (o->html_path) {
				buf_md_text(b, base ? base + 1 : o->html_path, 256);
				buf_puts(b, " in the artifacts of ");
			}
			buf_puts(b, "[the CI run](<");
			buf_puts(b, o->report_link);
			buf_puts(b, ">)");
		}
		buf_puts(b, "\n");
	}
	return buf_failed(b) ? -ENOBUFS : 0;
}

int markdown_write(const struct fh_run *run, const struct markdown_opts *o, const char *path,
		   bool append)
{
	struct buf b = BUF_INIT((size_t)64 << 20);
	int fd, r = markdown_render(run, o, &b);

	if (r || (r = mkdir_parent(path)))
		goto out;
	if (!append) {
		r = write_file_atomic(path, buf_str(&b), buf_len(&b));
		goto out;
	}
	/* O_NONBLOCK: a FIFO without a reader fails at once (ENXIO) instead of blocking. */
	fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NONBLOCK | O_NOCTTY, 0644);
	if (fd < 0) {
		r = -errno;
		goto out;
	}
	{
		struct stat st;

		if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
			r = -FH_ENOTREG;
			close(fd);
			goto out;
		}
	}
	r = write_all(fd, buf_str(&b), buf_len(&b));
	if (close(fd) < 0 && !r)
		r = -errno;
out:
	buf_free(&b);
	if (r)
		return error("cannot write '%s': %s", path, fh_strerror(r));
	return 0;
}

/* A frame path that names a file of the project: relative, not Python's own. */
static bool project_path(const char *p)
{
	return p && *p && p[0] != '/' && strncmp(p, "python/", 7) && strncmp(p, "../", 3) &&
	       !strstr(p, "site-packages/") && !strstr(p, "dist-packages/");
}

static void location(struct buf *b, const struct fh_test *t, const char *prefix)
{
	const struct fh_frame *f = NULL;
	const char *path = t->file;
	size_t i;

	if (t->nclusters) {
		const struct fh_cluster *c = &t->clusters[0];

		for (i = c->nframes; i-- > 0; ) {
			if (project_path(c->frames[i].path)) {
				f = &c->frames[i];
				break;
			}
		}
	}
	if (f)
		path = f->path;
	buf_puts(b, "file=");
	if (prefix && *prefix && project_path(path)) {
		buf_gh_escape(b, prefix, true);
		buf_putc(b, '/');
	}
	buf_gh_escape(b, path, true);
	if (f && f->line > 0)
		buf_printf(b, ",line=%d", f->line);
}

int annotations_print(const struct fh_run *run, const char *prefix, FILE *out)
{
	struct buf b = BUF_INIT((size_t)16 << 20);
	int nerr = 0, nwarn = 0, left = 0;
	size_t i;

	for (i = 0; i < run->ntests; i++) {
		const struct fh_test *t = &run->tests[i];
		bool err = t->verdict == FH_BROKEN && !quarantined(t);
		int *count = err ? &nerr : &nwarn;

		if (t->verdict != FH_FLAKY && t->verdict != FH_BROKEN)
			continue;
		if (*count >= ANNOTATIONS_MAX) {
			left++;
			continue;
		}
		(*count)++;
		buf_puts(&b, err ? "::error " : "::warning ");
		location(&b, t, prefix);
		buf_puts(&b, ",title=");
		buf_puts(&b, quarantined(t) ? "quarantined " : "");
		buf_puts(&b, t->verdict == FH_BROKEN ? "broken test" : "flaky test");
		buf_printf(&b, " (%.0f%% of %d attempts failed)::", 100 * t->flake_rate,
			   t->rate_n);
		buf_gh_escape(&b, t->nodeid, false);
		buf_printf(&b, " failed %d/%d attempts (95%% CI %.0f-%.0f%%)", t->rate_failed,
			   t->rate_n, 100 * t->ci_lo, 100 * t->ci_hi);
		chaos_rate_note(&b, t);
		if (kind_name(t)) {
			buf_puts(&b, "; ");
			buf_gh_escape(&b, kind_name(t), false);
			if (t->diag->nevidence && t->diag->evidence[0]) {
				buf_puts(&b, ": ");
				buf_gh_escape(&b, t->diag->evidence[0], false);
			}
		}
		if (t->nclusters && t->clusters[0].error_type) {
			buf_puts(&b, "; ");
			buf_gh_escape(&b, t->clusters[0].error_type, false);
			if (t->clusters[0].message) {
				struct buf msg = BUF_INIT(1 << 20);
				const char *nl = strchr(t->clusters[0].message, '\n');
				size_t n = nl ? (size_t)(nl - t->clusters[0].message)
					      : strlen(t->clusters[0].message);

				buf_add(&msg, t->clusters[0].message, n > 300 ? 300 : n);
				buf_puts(&b, ": ");
				buf_gh_escape(&b, buf_str(&msg), false);
				buf_free(&msg);
			}
		}
		if (t->quarantine) {
			buf_puts(&b, quarantined(t) ? " (quarantined by " : " (quarantine expired, by ");
			buf_gh_escape(&b, t->quarantine->owner, false);
			buf_puts(&b, ", ");
			buf_gh_escape(&b, t->quarantine->expires, false);
			buf_putc(&b, ')');
		}
		buf_putc(&b, '\n');
	}
	if (left)
		buf_printf(&b, "::notice title=flakehunter::%d more flaky or broken tests are not "
			   "annotated (see the step summary or the report)\n", left);
	fwrite(buf_str(&b), 1, buf_len(&b), out);
	buf_free(&b);
	return nerr + nwarn;
}
