/* SPDX-License-Identifier: MIT */
/* Where an attempt's wall time went: see perf_where.h. */
#include <stdlib.h>
#include <string.h>

#include "fhtrace_format.h"
#include "perf_where.h"

#define KINDS 7            /* enum fht_res_kind values 1..6 */
#define MAX_LINES 512      /* distinct lines per attempt; more fold into one entry */

struct fh_perf_raw {
	int64_t v[2][KINDS][FHT_RES_NV]; /* [end?][kind][value], -1 unknown */
	bool have[2][KINDS];
	int64_t exit_delay_ns;   /* run-queue delay of threads that ended during the attempt */
	bool exit_delay_known;
	bool on;                 /* the profiler said it was on */
	int64_t sampled_ns;
	int samples;
	struct fh_line_cpu *lines; size_t nlines, clines;
	int64_t *line_ns;        /* parallel to lines: weight in ns */
	size_t cline_ns;
};

static struct fh_perf_raw *raw(struct fh_perf_raw **r)
{
	if (!*r)
		*r = xcalloc(1, sizeof(**r));
	return *r;
}

void perf_raw_mark_res(struct fh_perf_raw **r, const struct fh_event *e, bool begin)
{
	int k = e->res_kind;
	if (k <= 0 || k >= KINDS || e->res_exit || !e->resv)
		return;
	struct fh_perf_raw *p = raw(r);
	int side = begin ? 0 : 1;
	if (begin) /* a new begin reading starts the attempt afresh */
		memset(p->have[1], 0, sizeof(p->have[1]));
	for (int i = 0; i < FHT_RES_NV; i++)
		p->v[side][k][i] = i < e->nresv ? e->resv[i] : -1;
	p->have[side][k] = true;
}

void perf_raw_thread_exit(struct fh_perf_raw **r, const struct fh_event *e)
{
	if (e->res_kind != FHT_RES_THREAD || !e->res_exit || !e->resv || e->nresv < 4 ||
	    e->resv[3] < 0 || e->resv[3] > (int64_t)1e15)
		return;
	struct fh_perf_raw *p = raw(r);
	p->exit_delay_ns += e->resv[3];
	p->exit_delay_known = true;
}

static bool streq0(const char *a, const char *b)
{
	return a == b || (a && b && !strcmp(a, b));
}

static const char *rel(const char *path, const char *rootdir)
{
	size_t rl = rootdir ? strlen(rootdir) : 0;
	if (path && rl && !strncmp(path, rootdir, rl) && path[rl] == '/' && path[rl + 1])
		return path + rl + 1;
	return path;
}

void perf_raw_sample(struct fh_perf_raw **r, struct arena *A, const struct fh_event *e,
		     const char *rootdir)
{
	struct fh_perf_raw *p = raw(r);
	if (e->sample == FHT_SAMPLE_ON) {
		p->on = true;
		return;
	}
	if (e->sample != FHT_SAMPLE_CPU || e->weight_ns <= 0)
		return;
	p->on = true;
	p->sampled_ns += e->weight_ns;
	p->samples++;
	const struct fh_stack_frame *f = e->npystack > 0 ? &e->pystack[0] : NULL;
	const char *path = f ? rel(f->path, rootdir) : NULL, *fn = f ? f->function : NULL;
	int line = f ? f->line : 0;
	size_t i;
	if (!f)          /* no Python frame: native code outside any Python call (or C threads) */
		fn = "(no Python frame)";
	for (i = 0; i < p->nlines; i++)
		if (p->lines[i].line == line && streq0(p->lines[i].path, path) &&
		    streq0(p->lines[i].function, fn))
			break;
	if (i == p->nlines) {
		if (p->nlines >= MAX_LINES) {
			i = MAX_LINES - 1;   /* the last entry becomes "(other lines)" */
			p->lines[i].path = NULL;
			p->lines[i].function = "(other lines)";
			p->lines[i].line = 0;
			p->lines[i].caller = NULL;
		} else {
			GROW(p->lines, p->clines, p->nlines + 1);
			GROW(p->line_ns, p->cline_ns, p->nlines + 1);
			struct fh_line_cpu *l = &p->lines[p->nlines];
			memset(l, 0, sizeof(*l));
			l->path = arena_strdup(A, path);
			l->function = arena_strdup(A, fn);
			l->line = line;
			if (e->npystack > 1) {
				const struct fh_stack_frame *c = &e->pystack[1];
				l->caller = arena_printf(A, "%s:%d %s", c->path ? rel(c->path, rootdir) : "?", c->line,
							 c->function ? c->function : "?");
			}
			p->line_ns[p->nlines] = 0;
			p->nlines++;
		}
	}
	p->lines[i].samples++;
	p->line_ns[i] += e->weight_ns;
}

void perf_raw_free(struct fh_perf_raw *r)
{
	if (!r)
		return;
	free(r->lines);
	free(r->line_ns);
	free(r);
}

/* end - begin of value i of kind k, or -1 when either is unknown or it went backwards. */
static int64_t delta(const struct fh_perf_raw *p, int k, int i)
{
	if (!p->have[0][k] || !p->have[1][k])
		return -1;
	int64_t b = p->v[0][k][i], e = p->v[1][k][i];
	return b >= 0 && e >= b ? e - b : -1;
}

static int cmp_line(const void *a, const void *b)
{
	const struct fh_line_cpu *x = a, *y = b;
	if (x->cpu_s != y->cpu_s)
		return (y->cpu_s > x->cpu_s) - (y->cpu_s < x->cpu_s);
	return (x->line > y->line) - (x->line < y->line);
}

void perf_where_finish(struct fh_attempt *a, struct arena *A, const struct fh_perf_raw *p)
{
	const struct fh_attempt_trace *tr = a->trace;
	struct fh_where *w = arena_alloc(A, sizeof(*w));
	int64_t d;

	a->where = w;
	w->thread_cpu_s = tr ? tr->cpu_s : 0;
	w->user_s = w->sys_s = w->run_delay_s = w->children_cpu_s = w->steal_s = -1;
	w->vol_switches = w->invol_switches = w->minflt = w->majflt = -1;
	if (p) {
		w->res = p->have[0][FHT_RES_THREAD] && p->have[1][FHT_RES_THREAD];
		if ((d = delta(p, FHT_RES_THREAD, 0)) >= 0 && delta(p, FHT_RES_THREAD, 1) >= 0 &&
		    !(tr && tr->cpu_s > 0))
			w->thread_cpu_s = (double)(d + delta(p, FHT_RES_THREAD, 1)) / 1e9;
		if ((d = delta(p, FHT_RES_THREAD, 3)) >= 0) {
			w->run_delay_s = (double)d / 1e9;
			if (p->exit_delay_known)
				w->run_delay_s += (double)p->exit_delay_ns / 1e9;
		}
		if ((d = delta(p, FHT_RES_PROC, 0)) >= 0)
			w->user_s = (double)d / 1e9;
		if ((d = delta(p, FHT_RES_PROC, 1)) >= 0)
			w->sys_s = (double)d / 1e9;
		w->minflt = delta(p, FHT_RES_PROC, 2);
		w->majflt = delta(p, FHT_RES_PROC, 3);
		w->vol_switches = delta(p, FHT_RES_PROC, 4);
		w->invol_switches = delta(p, FHT_RES_PROC, 5);
		int64_t cu = delta(p, FHT_RES_CHILDREN, 0), cs = delta(p, FHT_RES_CHILDREN, 1);
		if (cu >= 0 && cs >= 0)
			w->children_cpu_s = (double)(cu + cs) / 1e9;
		if ((d = delta(p, FHT_RES_MACHINE, 0)) >= 0)
			w->steal_s = (double)d / 1e9;
		w->profiled = p->on;
		w->sampled_s = (double)p->sampled_ns / 1e9;
		w->samples = p->samples;
		w->lines = arena_alloc(A, sizeof(*w->lines) * (p->nlines + 1));
		for (size_t i = 0; i < p->nlines; i++) {
			w->lines[i] = p->lines[i];
			w->lines[i].cpu_s = (double)p->line_ns[i] / 1e9;
		}
		qsort(w->lines, p->nlines, sizeof(*w->lines), cmp_line);
		w->nlines = p->nlines < FH_WHERE_LINES ? p->nlines : FH_WHERE_LINES;
	}
	if (a->profiled)
		w->profiled = true;
	if (tr)
		for (size_t i = 0; i < tr->ncalls; i++)
			w->wait_s += tr->calls[i].main_s;
	w->gc_s = a->gc_s;
	w->gc_max_s = a->gc_max_s;
	w->gc_collections = a->gc_collections;
	double known = w->thread_cpu_s + w->wait_s + (w->run_delay_s > 0 ? w->run_delay_s : 0);
	w->other_s = a->duration_s > known ? a->duration_s - known : 0;
}
