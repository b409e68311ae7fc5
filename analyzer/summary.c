/* SPDX-License-Identifier: MIT */
/*
 * summary_write(): the JSON summary of DESIGN.md ("flakehunter-summary/1"), streamed into one
 * struct buf and written atomically. Every contract field is always present: values the model
 * lacks are null (diagnosis, perf, ai_hypothesis) and an attempt's "trace" object appears only
 * when the attempt has one. Fields beyond the contract (durations, history, run metadata, ai
 * details) are added, never renamed. Times are seconds, written with microsecond resolution.
 * An attempt's "trace" object is summary_trace.c's.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "chaos_stage.h"
#include "files.h"
#include "footprint.h"
#include "stages.h"
#include "summary.h"
#include "summary_int.h"

#define SUMMARY_MAX ((size_t)2 << 30) /* in memory (summary_render) */
#define FLUSH_AT (1u << 20)             /* summary_write streams in chunks this big */

/* "git": {"branch", "commit", "dirty"}, or null when the run was not in a git checkout. */
static void kgit(struct buf *b, const struct fh_run_meta *m)
{
	key(b, "git");
	if (!m->branch && !m->commit) {
		buf_puts(b, "null,");
		return;
	}
	buf_putc(b, '{');
	kstr(b, "branch", m->branch);
	kstr(b, "commit", m->commit);
	kbool(b, "dirty", m->dirty);
	close_with(b, '}');
	buf_putc(b, ',');
}

/* "flake_rate_ci95": [lo, hi] */
static void kci95(struct buf *b, double lo, double hi)
{
	key(b, "flake_rate_ci95");
	buf_putc(b, '[');
	num(b, lo);
	buf_putc(b, ',');
	num(b, hi);
	buf_puts(b, "],");
}

static void frame_obj(struct buf *b, const struct fh_frame *f, bool with_source)
{
	buf_putc(b, '{');
	kstr(b, "path", f->path);
	kint(b, "line", f->line);
	kstr(b, "function", f->function);
	if (with_source)
		kstr(b, "source", f->source);
	close_with(b, '}');
}

/* The source of an attempt of a merged run: where it ran and the number it had there. */
static void attempt_source(struct buf *b, const struct fh_run *run, const struct fh_attempt *a)
{
	if (!run->merged || a->source < 0 || (size_t)a->source >= run->nsources)
		return;
	kstr(b, "host", run->sources[a->source].meta.host);
	kstr(b, "source", run->sources[a->source].id);
	kint(b, "source_attempt", a->source_attempt);
}

/* Per host: counts, rate and interval, as for the whole test. */
static void hosts_arr(struct buf *b, const struct fh_test *t)
{
	key(b, "hosts");
	buf_putc(b, '[');
	for (size_t i = 0; i < t->nhosts; i++) {
		const struct fh_host_stat *h = &t->hosts[i];

		buf_putc(b, '{');
		kstr(b, "host", h->host);
		kint(b, "attempts", h->attempts);
		kint(b, "failed", h->failed);
		knum(b, "flake_rate", h->flake_rate);
		kci95(b, h->ci_lo, h->ci_hi);
		close_with(b, '}');
		buf_putc(b, ',');
	}
	close_with(b, ']');
	buf_putc(b, ',');
}

/* diagnosis.host: where failures concentrate (features.c), null when they do not. */
static void diag_host(struct buf *b, const struct fh_test *t)
{
	const struct fh_test_features *f = &t->feat;

	key(b, "host");
	if (!t->diag->host) {
		buf_puts(b, "null,");
		return;
	}
	buf_putc(b, '{');
	kstr(b, "name", t->diag->host->host);
	kint(b, "failed", f->hot_fail);
	kint(b, "attempts", f->hot_n);
	kint(b, "elsewhere_failed", f->else_fail);
	kint(b, "elsewhere_attempts", f->else_n);
	knum(b, "chance", f->hot_chance);
	close_with(b, '}');
	buf_putc(b, ',');
}

/* The run's sources (one for an unmerged run): host, clock start, git and counts of each. */
static void sources_arr(struct buf *b, const struct fh_run *run)
{
	kbool(b, "merged", run->merged);
	key(b, "sources");
	buf_putc(b, '[');
	for (size_t i = 0; i < run->nsources; i++) {
		const struct fh_source *s = &run->sources[i];
		const struct fh_run_meta *m = &s->meta;

		buf_putc(b, '{');
		kstr(b, "id", s->id);
		kstr(b, "run_id", m->run_id);
		kstr(b, "host", m->host);
		kstr(b, "started_utc", m->started_utc);
		kgit(b, m);
		kbool(b, "tracing", m->tracing);
		kint(b, "runs_per_test", m->runs_per_test);
		kint(b, "attempts", s->attempts);
		close_with(b, '}');
		buf_putc(b, ',');
	}
	close_with(b, ']');
	buf_putc(b, ',');
}

/* diagnosis.polluters (DESIGN.md): the tests an order-dependent test depends on. */
static void polluters_arr(struct buf *b, const struct fh_diagnosis *d)
{
	key(b, "polluters");
	buf_putc(b, '[');
	for (size_t i = 0; i < d->npolluters; i++) {
		const struct fh_polluter *p = &d->polluters[i];
		buf_putc(b, '{');
		kstr(b, "nodeid", p->nodeid);
		kstr(b, "role", p->role);
		kstr(b, "found_by", p->found_by);
		kstr(b, "left", p->left);
		key(b, "evidence");
		buf_putc(b, '[');
		for (size_t k = 0; k < p->nevidence; k++) {
			buf_json_str(b, p->evidence[k]);
			buf_putc(b, ',');
		}
		close_with(b, ']');
		buf_putc(b, ',');
		key(b, "confirmed");
		buf_puts(b, p->confirmed < 0 ? "null," : p->confirmed ? "true," : "false,");
		kstr(b, "replay", p->replay);
		kstr(b, "repro", p->repro);
		close_with(b, '}');
		buf_putc(b, ',');
	}
	close_with(b, ']');
	buf_putc(b, ',');
}

/* A count or time that may be unknown (< 0): null then. */
static void knum_or_null(struct buf *b, const char *k, double v)
{
	if (v < 0) {
		key(b, k);
		buf_puts(b, "null,");
	} else {
		knum(b, k, v);
	}
}

static void kint_or_null(struct buf *b, const char *k, long long v)
{
	if (v < 0) {
		key(b, k);
		buf_puts(b, "null,");
	} else {
		kint(b, k, v);
	}
}

/* "where": where the attempt's wall time went (docs/FORMATS.md). */
static void where_obj(struct buf *b, const struct fh_where *w)
{
	key(b, "where");
	buf_putc(b, '{');
	kbool(b, "measured", w->res);
	knum(b, "cpu_s", w->thread_cpu_s);
	knum_or_null(b, "run_delay_s", w->run_delay_s);
	knum(b, "wait_s", w->wait_s);
	knum(b, "other_s", w->other_s);
	knum_or_null(b, "gc_s", w->gc_s);
	if (w->gc_s >= 0) {
		kint(b, "gc_collections", w->gc_collections);
		knum(b, "gc_max_s", w->gc_max_s);
	}
	knum_or_null(b, "process_user_s", w->user_s);
	knum_or_null(b, "process_sys_s", w->sys_s);
	knum_or_null(b, "children_cpu_s", w->children_cpu_s);
	kint_or_null(b, "minor_faults", w->minflt);
	kint_or_null(b, "major_faults", w->majflt);
	kint_or_null(b, "voluntary_switches", w->vol_switches);
	kint_or_null(b, "involuntary_switches", w->invol_switches);
	knum_or_null(b, "steal_s", w->steal_s);
	kbool(b, "profiled", w->profiled);
	if (w->profiled) {
		kint(b, "samples", w->samples);
		knum(b, "sampled_s", w->sampled_s);
		key(b, "lines");
		buf_putc(b, '[');
		for (size_t i = 0; i < w->nlines; i++) {
			const struct fh_line_cpu *l = &w->lines[i];
			buf_putc(b, '{');
			kstr(b, "path", l->path);
			kint(b, "line", l->line);
			kstr(b, "function", l->function);
			kstr(b, "caller", l->caller);
			knum(b, "cpu_s", l->cpu_s);
			kint(b, "samples", l->samples);
			close_with(b, '}');
			buf_putc(b, ',');
		}
		close_with(b, ']');
		buf_putc(b, ',');
	}
	close_with(b, '}');
	buf_putc(b, ',');
}

static void attempt_obj(struct buf *b, const struct fh_run *run, const struct fh_attempt *a)
{
	buf_putc(b, '{');
	kint(b, "attempt", a->attempt);
	kstr(b, "outcome", (unsigned)a->outcome < FH_OUTCOME_COUNT ?
		 fh_outcome_names[a->outcome] : "failed");
	knum(b, "duration_s", a->duration_s);
	key(b, "phases");
	buf_puts(b, "{\"setup\":");
	num(b, a->setup_s);
	buf_puts(b, ",\"call\":");
	num(b, a->call_s);
	buf_puts(b, ",\"teardown\":");
	num(b, a->teardown_s);
	buf_puts(b, "},");
	key(b, "failed_at");
	if (a->fingerprint && a->nframes)
		frame_obj(b, &a->frames[a->nframes - 1], false);
	else
		buf_puts(b, "null");
	buf_putc(b, ',');
	kstr(b, "fingerprint", a->fingerprint);
	if (a->xfail)
		kbool(b, "xfail", true);
	kstr(b, "when", a->when);
	kstr(b, "worker", a->worker);
	attempt_source(b, run, a);
	kbool(b, "hung", a->hung);
	if (a->interrupted)
		kbool(b, "interrupted", true);
	if (a->error_type || a->error_message) {
		kstr(b, "error_type", a->error_type);
		kstr(b, "message", a->error_message);
	}
	key(b, "round");
	if (a->round > 0) {
		buf_int(b, a->round);
		buf_puts(b, ",\"position\":");
		buf_int(b, a->position);
		buf_putc(b, ',');
	} else {
		buf_puts(b, "null,\"position\":null,");
	}
	if (a->chaos)
		chaos_attempt_json(b, a->chaos);
	if (a->where)
		where_obj(b, a->where);
	else if (a->gc_s >= 0) {
		key(b, "gc");
		buf_printf(b, "{\"pause_s\":");
		num(b, a->gc_s);
		buf_printf(b, ",\"collections\":%d},", a->gc_collections);
	}
	if (a->trace) {
		summary_trace_obj(b, a->trace, &a->f, a->foot);
	} else if (a->foot) {
		key(b, "footprint");
		footprint_json(b, a->foot);
		buf_putc(b, ',');
	}
	close_with(b, '}');
}

static void cluster_obj(struct buf *b, const struct fh_cluster *c)
{
	size_t i;
	int k;

	buf_putc(b, '{');
	kstr(b, "fingerprint", c->fingerprint);
	kint(b, "count", c->count);
	key(b, "attempts");
	buf_putc(b, '[');
	for (k = 0; k < c->count; k++) {
		if (k)
			buf_putc(b, ',');
		buf_int(b, c->attempts[k]);
	}
	buf_puts(b, "],");
	kstr(b, "error_type", c->error_type);
	kstr(b, "message", c->message);
	if (c->stack_fingerprint)
		kstr(b, "stack_fingerprint", c->stack_fingerprint);
	key(b, "frames");
	buf_putc(b, '[');
	for (i = 0; i < c->nframes; i++) {
		if (i)
			buf_putc(b, ',');
		frame_obj(b, &c->frames[i], true);
	}
	buf_puts(b, "]}");
}

static void named_values(struct buf *b, const struct fh_named_value *v, size_t n)
{
	size_t i;

	buf_putc(b, '{');
	for (i = 0; i < n; i++) {
		buf_json_str(b, v[i].name ? v[i].name : "?");
		buf_putc(b, ':');
		num(b, v[i].value);
		buf_putc(b, ',');
	}
	close_with(b, '}');
}

static void groups(struct buf *b, const char *k, const struct fh_hist_group *g, size_t n)
{
	size_t i;

	key(b, k);
	buf_putc(b, '[');
	for (i = 0; i < n; i++) {
		buf_putc(b, '{');
		kstr(b, "key", g[i].key);
		kint(b, "runs", g[i].runs);
		kint(b, "attempts", g[i].attempts);
		kint(b, "failed", g[i].failed);
		knum(b, "flake_rate", g[i].attempts ? (double)g[i].failed / g[i].attempts : 0);
		close_with(b, '}');
		buf_putc(b, ',');
	}
	close_with(b, ']');
	buf_putc(b, ',');
}

static void history_obj(struct buf *b, const struct fh_history *h)
{
	size_t i;

	buf_putc(b, '{');
	kint(b, "total_attempts", h->total_attempts);
	kint(b, "total_failed", h->total_failed);
	kstr(b, "trend", h->trend ? h->trend : "n/a");
	kint(b, "skipped_rows", h->skipped_rows);
	kint(b, "left_out_rows", h->left_out_rows);
	key(b, "runs");
	buf_putc(b, '[');
	for (i = 0; i < h->nruns; i++) {
		const struct fh_hist_run *r = &h->runs[i];

		buf_putc(b, '{');
		kstr(b, "run_id", r->run_id);
		kstr(b, "timestamp", r->timestamp);
		kstr(b, "host", r->host);
		kstr(b, "branch", r->branch);
		kstr(b, "week", r->week);
		kint(b, "attempts", r->attempts);
		kint(b, "failed", r->failed);
		kbool(b, "isolate", r->isolate);
		knum(b, "flake_rate", r->attempts ? (double)r->failed / r->attempts : 0);
		knum_or_null(b, "median_s", r->median_s);
		kstr(b, "commit", r->commit);
		close_with(b, '}');
		buf_putc(b, ',');
	}
	close_with(b, ']');
	buf_putc(b, ',');
	groups(b, "by_host", h->by_host, h->nby_host);
	groups(b, "by_branch", h->by_branch, h->nby_branch);
	groups(b, "by_week", h->by_week, h->nby_week);
	groups(b, "by_params", h->by_params, h->nby_params);
	groups(b, "locations", h->locations, h->nlocations);
	close_with(b, '}');
}

/* perf_cause.c's fields of "perf" (docs/FORMATS.md). */
static void perf_cause_obj(struct buf *b, const struct fh_perf *p)
{
	size_t i;

	kstr(b, "shape", p->shape);
	kbool(b, "flake", p->flake);
	kstr(b, "cause", p->cause);
	key(b, "cause_evidence");
	buf_putc(b, '[');
	for (i = 0; i < p->ncause_evidence; i++) {
		buf_json_str(b, p->cause_evidence[i]);
		buf_putc(b, ',');
	}
	close_with(b, ']');
	buf_putc(b, ',');
	if (p->shape) {
		knum(b, "median_s", p->median_s);
		key(b, "median_ci95");
		buf_putc(b, '[');
		num(b, p->median_lo_s);
		buf_putc(b, ',');
		num(b, p->median_hi_s);
		buf_puts(b, "],");
		knum(b, "slow_median_s", p->slow_median_s);
		knum(b, "fast_median_s", p->fast_median_s);
		knum(b, "slow_share", p->slow_share);
		knum(b, "min_effect_s", p->min_effect_s);
	}
	knum(b, "noise_floor", p->noise_floor);
	key(b, "parts");
	buf_putc(b, '{');
	for (int k = 0; k < p->nparts; k++) {
		key(b, p->parts[k].name);
		buf_puts(b, "{\"slow_s\":");
		num(b, p->parts[k].slow_s);
		buf_puts(b, ",\"fast_s\":");
		num(b, p->parts[k].fast_s);
		buf_puts(b, "},");
	}
	close_with(b, '}');
	buf_putc(b, ',');
	key(b, "lines");
	buf_putc(b, '[');
	for (i = 0; i < p->nlines; i++) {
		const struct fh_perf_line *l = &p->lines[i];
		buf_putc(b, '{');
		kstr(b, "path", l->path);
		kint(b, "line", l->line);
		kstr(b, "function", l->function);
		kstr(b, "caller", l->caller);
		knum(b, "slow_s", l->slow_s);
		knum(b, "fast_s", l->fast_s);
		close_with(b, '}');
		buf_putc(b, ',');
	}
	close_with(b, ']');
	buf_putc(b, ',');
	kint(b, "profiled_slow", p->profiled_slow);
	kint(b, "profiled_fast", p->profiled_fast);
	key(b, "regression");
	if (p->regression) {
		const struct fh_regression *g = p->regression;
		buf_putc(b, '{');
		kint(b, "recent_runs", g->recent_runs);
		kint(b, "earlier_runs", g->earlier_runs);
		knum(b, "recent_median_s", g->recent_median_s);
		knum(b, "earlier_median_s", g->earlier_median_s);
		knum(b, "change_s", g->recent_median_s - g->earlier_median_s);
		key(b, "change_ci95");
		buf_putc(b, '[');
		num(b, g->lo_s);
		buf_putc(b, ',');
		num(b, g->hi_s);
		buf_puts(b, "],");
		kbool(b, "flagged", g->flagged);
		kstr(b, "first_run", g->first_run);
		kstr(b, "commit_before", g->commit_before);
		kstr(b, "commit_after", g->commit_after);
		close_with(b, '}');
		buf_putc(b, ',');
	} else {
		buf_puts(b, "null,");
	}
}

static void test_obj(struct buf *b, const struct fh_run *run, const struct fh_test *t)
{
	size_t i;

	buf_putc(b, '{');
	kstr(b, "nodeid", t->nodeid);
	kstr(b, "file", t->file);
	kstr(b, "function", t->function);
	kstr(b, "param_id", t->param_id);
	key(b, "fixtures");
	buf_putc(b, '[');
	for (i = 0; i < t->nfixtures; i++) {
		buf_json_str(b, t->fixtures[i]);
		buf_putc(b, ',');
	}
	close_with(b, ']');
	buf_putc(b, ',');
	kint(b, "attempts", (long long)t->nattempts);
	kint(b, "passed", t->passed);
	kint(b, "failed", t->failed);
	kint(b, "skipped", t->skipped);
	knum(b, "flake_rate", t->flake_rate);
	kci95(b, t->ci_lo, t->ci_hi);
	kstr(b, "verdict", (unsigned)t->verdict < FH_VERDICT_COUNT ?
		 fh_verdict_names[t->verdict] : "stable");
	kint(b, "planned_attempts", t->planned);
	kstr(b, "stop_reason", t->stop);
	key(b, "quarantine");
	if (t->quarantine) {
		const struct fh_quarantine *q = t->quarantine;

		buf_putc(b, '{');
		kstr(b, "pattern", q->pattern);
		kstr(b, "owner", q->owner);
		kstr(b, "reason", q->reason);
		kstr(b, "expires", q->expires);
		kint(b, "line", q->line);
		kbool(b, "active", !q->expired);
		close_with(b, '}');
		buf_putc(b, ',');
	} else {
		buf_puts(b, "null,");
	}
	hosts_arr(b, t);
	key(b, "durations");
	buf_puts(b, "{\"mean_s\":");
	num(b, t->mean_s);
	buf_puts(b, ",\"median_s\":");
	num(b, t->median_s);
	buf_puts(b, ",\"p95_s\":");
	num(b, t->p95_s);
	buf_puts(b, ",\"max_s\":");
	num(b, t->max_s);
	buf_puts(b, "},");

	key(b, "attempt_log");
	buf_putc(b, '[');
	for (i = 0; i < t->nattempts; i++) {
		attempt_obj(b, run, &t->attempts[i]);
		buf_putc(b, ',');
	}
	close_with(b, ']');
	buf_putc(b, ',');

	key(b, "clusters");
	buf_putc(b, '[');
	for (i = 0; i < t->nclusters; i++) {
		cluster_obj(b, &t->clusters[i]);
		buf_putc(b, ',');
	}
	close_with(b, ']');
	buf_putc(b, ',');

	key(b, "diagnosis");
	if (t->diag) {
		buf_putc(b, '{');
		kstr(b, "kind", fh_kind_names[t->diag->kind]);
		kstr(b, "blocked_on", fh_blocked_on_names[t->diag->blocked_on]);
		kbool(b, "deadlock", t->diag->deadlock);
		kstr(b, "summary", t->diag->summary);
		diag_host(b, t);
		polluters_arr(b, t->diag);
		key(b, "evidence");
		buf_putc(b, '[');
		for (i = 0; i < t->diag->nevidence; i++) {
			buf_json_str(b, t->diag->evidence[i] ? t->diag->evidence[i] : "");
			buf_putc(b, ',');
		}
		close_with(b, ']');
		buf_puts(b, "},");
	} else {
		buf_puts(b, "null,");
	}

	chaos_test_json(b, t->chaos);
	key(b, "perf");
	if (t->perf) {
		buf_putc(b, '{');
		kbool(b, "unstable", t->perf->unstable);
		key(b, "slow_attempts");
		buf_putc(b, '[');
		for (i = 0; i < t->perf->nslow; i++) {
			buf_int(b, t->perf->slow_attempts[i]);
			buf_putc(b, ',');
		}
		close_with(b, ']');
		buf_putc(b, ',');
		key(b, "extra_s_by_category");
		named_values(b, t->perf->by_category, t->perf->nby_category);
		buf_putc(b, ',');
		key(b, "extra_s_by_call");
		named_values(b, t->perf->by_call, t->perf->nby_call);
		buf_putc(b, ',');
		kstr(b, "summary", t->perf->summary);
		perf_cause_obj(b, t->perf);
		close_with(b, '}');
		buf_putc(b, ',');
	} else {
		buf_puts(b, "null,");
	}

	key(b, "ai_hypothesis");
	if (t->ai && t->ai->ok && t->ai->text)
		buf_json_str(b, t->ai->text);
	else
		buf_puts(b, "null");
	buf_putc(b, ',');
	if (t->ai) {
		key(b, "ai");
		buf_putc(b, '{');
		kbool(b, "ok", t->ai->ok);
		kstr(b, "model", t->ai->model);
		kstr(b, "reason", t->ai->reason);
		kbool(b, "redacted", t->ai->redacted);
		kbool(b, "cached", t->ai->cached);
		close_with(b, '}');
		buf_putc(b, ',');
	}
	key(b, "history");
	if (t->hist)
		history_obj(b, t->hist);
	else
		buf_puts(b, "null");
	buf_putc(b, '}');
}

/* "trace_dropped": what tracing lost and why (docs/FORMATS.md); reasons with a count only. */
static void trace_losses(struct buf *b, const struct fh_run *run)
{
	key(b, "trace_dropped");
	buf_putc(b, '{');
	kint(b, "events", (long long)run->trace_dropped);
	kint(b, "processes", run->trace_drop_procs);
	key(b, "reasons");
	buf_putc(b, '{');
	for (unsigned r = 0; r < FH_DROP_REASONS; r++)
		if (run->trace_drops[r])
			kint(b, trace_drop_reason_name(r), (long long)run->trace_drops[r]);
	close_with(b, '}');
	buf_putc(b, ',');
	kint(b, "module_maps_incomplete", run->trace_maps_incomplete);
	key(b, "module_map_reasons");
	buf_putc(b, '{');
	for (unsigned r = 0; r < FH_DROP_REASONS; r++)
		if (run->trace_map_reasons[r])
			kint(b, trace_drop_reason_name(r), run->trace_map_reasons[r]);
	close_with(b, '}');
	buf_putc(b, ',');
	close_with(b, '}');
	buf_putc(b, ',');
}

static int render(const struct fh_run *run, struct buf *b, int fd)
{
	const struct fh_run_meta *m = &run->meta;
	size_t i;
	int r;

	buf_putc(b, '{');
	kstr(b, "schema", "flakehunter-summary/1");
	kstr(b, "run_id", m->run_id);
	kint(b, "runs_per_test", m->runs_per_test);
	kbool(b, "tracing", m->tracing);
	kstr(b, "analyzer_version", FH_VERSION);
	kstr(b, "started_utc", m->started_utc);
	kstr(b, "host", m->host);
	kstr(b, "os", m->os);
	kstr(b, "python", m->python);
	kstr(b, "pytest", m->pytest);
	kstr(b, "plugin_version", m->plugin_version);
	kgit(b, m);
	kbool(b, "isolate", m->isolate);
	kbool(b, "xdist", m->xdist);
	kstr(b, "runs_mode", m->runs_mode);
	kint(b, "max_runs", m->max_runs);
	key(b, "budget_s");
	if (m->budget_s > 0) {
		num(b, m->budget_s);
		buf_putc(b, ',');
	} else {
		buf_puts(b, "null,");
	}
	kstr(b, "fail_on", m->fail_on);
	key(b, "order");
	buf_putc(b, '{');
	kstr(b, "mode", m->order_mode);
	key(b, "seed");
	if (m->order_seed >= 0)
		buf_int(b, m->order_seed);
	else
		buf_puts(b, "null");
	buf_puts(b, "},");
	kstr(b, "quarantine_file", run->quarantine_file);
	sources_arr(b, run);
	key(b, "totals");
	buf_putc(b, '{');
	kint(b, "tests", (long long)run->ntests);
	kint(b, "flaky", run->nflaky);
	kint(b, "stable", run->nstable);
	kint(b, "broken", run->nbroken);
	kint(b, "skipped", run->nskipped);
	knum(b, "avg_flake_rate", run->avg_flake_rate);
	kint(b, "malformed_records", run->malformed_records);
	kint(b, "trace_events", (long long)run->trace_events);
	kint(b, "trace_dropped", (long long)run->trace_dropped);
	kint(b, "lost_records", run->lost_records);
	close_with(b, '}');
	buf_putc(b, ',');
	kint(b, "lost_records", run->lost_records);
	trace_losses(b, run);
	key(b, "tests");
	buf_putc(b, '[');
	for (i = 0; i < run->ntests; i++) {
		if (i)
			buf_puts(b, ",\n");
		test_obj(b, run, &run->tests[i]);
		if (buf_len(b) > FLUSH_AT && (r = buf_flush_fd(b, fd)))
			return r;
	}
	buf_puts(b, "]}\n");
	if (buf_failed(b))
		return -ENOBUFS;
	return buf_flush_fd(b, fd);
}

static int render_cb(const void *run, struct buf *b, int fd)
{
	return render(run, b, fd);
}

int summary_render(const struct fh_run *run, struct buf *b)
{
	return render(run, b, -1);
}

int summary_write(const struct fh_run *run, const char *json_path)
{
	int r = write_file_streamed(json_path, SUMMARY_MAX, render_cb, run);

	if (r == -ENOBUFS)
		return error("%s: JSON summary too large (over %zu bytes)", json_path, SUMMARY_MAX);
	if (r)
		return error("cannot write '%s': %s", json_path, strerror(-r));
	return 0;
}
