/* SPDX-License-Identifier: MIT */
/*
 * RUN_DIR/candidates.json (docs/FORMATS.md): what order_run() suspects, for the plugin's
 * replays: per victim its footprint candidates, its bisection window, the files and ports they
 * left (cleaned before each replay) and the tests' median durations (the replays' time limits).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "escape.h"
#include "files.h"
#include "order.h"
#include "stages.h"

static double median_duration(const struct fh_test *t)
{
	double *v = xmalloc(sizeof(*v) * (t->nattempts ? t->nattempts : 1));
	for (size_t i = 0; i < t->nattempts; i++)
		v[i] = t->attempts[i].duration_s;
	double m = fh_median(v, t->nattempts);
	free(v);
	return m;
}

static const struct fh_test *find_test(const struct fh_run *run, const char *nodeid)
{
	for (size_t i = 0; i < run->ntests; i++)
		if (!strcmp(run->tests[i].nodeid, nodeid))
			return &run->tests[i];
	return NULL;
}

static void dur(struct buf *b, const struct fh_run *run, const char *nodeid, bool *first)
{
	const struct fh_test *t = find_test(run, nodeid);
	if (!t)
		return;
	buf_puts(b, *first ? "" : ",");
	*first = false;
	buf_json_str(b, nodeid);
	buf_printf(b, ":%.6f", median_duration(t));
}

/* What the candidates and the window's tests left, as a JSON array's items: the files and
 * directories they created (absolute paths), or the ports still listening (numbers). */
static void left_items(struct buf *b, const struct fh_run *run, const struct fh_order_test *o,
		       bool ports)
{
	bool first = true;

	for (size_t q = 0; q < o->npolluters + o->nwindow; q++) {
		const char *id = q < o->npolluters ? o->polluters[q].nodeid :
			o->window[q - o->npolluters];
		const struct fh_test *x = find_test(run, id);
		for (size_t i = 0; x && i < x->nattempts; i++) {
			const struct fh_footprint *f = x->attempts[i].foot;
			for (size_t k = 0; f && k < f->nleft; k++) {
				const struct fh_foot_left *l = &f->left[k];
				bool created = (l->kind == FH_KEY_FILE || l->kind == FH_KEY_DIR) &&
					!strcmp(l->what, "created") && l->key[0] == '/';
				if (ports ? l->kind != FH_KEY_PORT : !created)
					continue;
				buf_puts(b, first ? "" : ",");
				first = false;
				if (ports)
					buf_puts(b, l->key + 1);   /* ":8765" */
				else
					buf_json_str(b, l->key);
			}
		}
	}
}

int order_candidates_write(const struct fh_run *run, const char *path)
{
	struct buf b = BUF_INIT(64u << 20);
	bool any = false;
	int r;

	buf_puts(&b, "{\"schema\":\"flakehunter-candidates/1\",\"victims\":[");
	for (size_t ti = 0; ti < run->ntests; ti++) {
		const struct fh_test *v = &run->tests[ti];
		const struct fh_order_test *o = v->order;
		if (!o || (!o->npolluters && !o->nwindow))
			continue;
		bool first = true;
		buf_puts(&b, any ? ",\n{\"nodeid\":" : "\n{\"nodeid\":");
		any = true;
		buf_json_str(&b, v->nodeid);
		buf_puts(&b, ",\"candidates\":[");
		for (size_t q = 0, nc = 0; q < o->npolluters; q++) {
			const struct fh_polluter *pl = &o->polluters[q];
			if (strcmp(pl->found_by, "footprint"))
				continue;
			buf_puts(&b, nc++ ? ",{\"nodeid\":" : "{\"nodeid\":");
			buf_json_str(&b, pl->nodeid);
			buf_puts(&b, ",\"role\":");
			buf_json_str(&b, pl->role);
			buf_puts(&b, ",\"why\":");
			buf_json_str(&b, pl->nevidence ? pl->evidence[0] : "");
			buf_putc(&b, '}');
		}
		buf_puts(&b, "],\"bisect\":");
		if (o->nwindow) {
			buf_putc(&b, '[');
			for (size_t q = 0; q < o->nwindow; q++) {
				if (q)
					buf_putc(&b, ',');
				buf_json_str(&b, o->window[q]);
			}
			buf_putc(&b, ']');
		} else {
			buf_puts(&b, "null");
		}
		/* files and directories the candidates (or the window's tests) created during the
		 * hunt and left: the replays remove them before each run, so that every run starts
		 * from the same filesystem (processes take the rest of their state with them) */
		buf_puts(&b, ",\"cleanup\":[");
		left_items(&b, run, o, false);
		buf_puts(&b, "],\"ports\":[");
		left_items(&b, run, o, true);
		buf_puts(&b, "],\"durations\":{");
		dur(&b, run, v->nodeid, &first);
		for (size_t q = 0; q < o->npolluters; q++)
			dur(&b, run, o->polluters[q].nodeid, &first);
		for (size_t q = 0; q < o->nwindow; q++) {
			bool dup = false;
			for (size_t k = 0; k < o->npolluters; k++)
				dup |= !strcmp(o->polluters[k].nodeid, o->window[q]);
			if (!dup)
				dur(&b, run, o->window[q], &first);
		}
		buf_puts(&b, "}}");
	}
	buf_puts(&b, "\n]}\n");
	if (buf_failed(&b)) {
		buf_free(&b);
		return error("%s: candidates too large", path);
	}
	r = write_file_atomic(path, buf_str(&b), buf_len(&b));
	buf_free(&b);
	if (r)
		return error("cannot write %s: %s", path, strerror(-r));
	return 0;
}
