/* SPDX-License-Identifier: MIT */
/*
 * The evidence join's results (evidence_int.h): an attempt's accumulator becomes its
 * attempt->trace (sorted errors and calls, the longest spans, children, the last blocking
 * call); an attempt that has markers but no record is added to its test.
 */
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "evidence_int.h"
#include "fhtrace_format.h"
#include "footprint.h"
#include "perf_where.h"
#include "stackfmt.h"
#include "stages.h"

/* memcpy that accepts (NULL, 0): empty arrays are NULL here. */
static void copy_bytes(void *dst, const void *src, size_t n)
{
	if (n)
		memcpy(dst, src, n);
}
/* ---- results ---- */

static int cmp_err(const void *a, const void *b)
{
	const struct fh_err_count *x = a, *y = b;

	return (y->count > x->count) - (y->count < x->count);
}

static int cmp_stat(const void *a, const void *b)
{
	const struct fh_call_stat *x = a, *y = b;

	return (y->total_s > x->total_s) - (y->total_s < x->total_s);
}

static int cmp_span(const void *a, const void *b)
{
	const struct fh_span *x = a, *y = b;

	return (x->start_s > y->start_s) - (x->start_s < y->start_s);
}

static const char *span_result(struct join *j, const struct span *s)
{
	switch (s->end) {
	case FH_END_IN_FLIGHT: return "in flight";
	case FH_END_TIMEOUT: return "timeout";
	case FH_END_SIGNAL: return "interrupted by a signal (EINTR)";
	default: break;
	}
	if (s->err_name)
		return arena_printf(j->A, "%lld %s", (long long)s->result, s->err_name);
	return arena_printf(j->A, "%lld", (long long)s->result);
}

/* Adds an attempt that has markers but no record to its test: its process died during it, or
 * (an end marker says how it ended) its record was lost, e.g. a records file cut short on its
 * way from a CI shard; the end marker's outcome is then the attempt's. */
static struct fh_attempt *synthesize(struct join *j, struct acc *c)
{
	struct fh_test *t = c->test;
	struct fh_attempt *arr = arena_alloc(j->A, sizeof(*arr) * (t->nattempts + 1));
	size_t pos = 0;

	while (pos < t->nattempts && t->attempts[pos].attempt < c->attempt_no)
		pos++;
	copy_bytes(arr, t->attempts, sizeof(*arr) * pos);
	copy_bytes(arr + pos + 1, t->attempts + pos, sizeof(*arr) * (t->nattempts - pos));
	{
		struct fh_attempt *a = &arr[pos];

		bool lost = c->ended && c->end_outcome >= 0 && c->end_outcome < FH_OUTCOME_COUNT;

		memset(a, 0, sizeof(*a));
		a->attempt = c->attempt_no;
		a->source_attempt = c->attempt_no;
		a->outcome = lost ? (enum fh_outcome)c->end_outcome : FH_ERROR;
		a->when = a->outcome == FH_FAILED || a->outcome == FH_ERROR ? "call" : NULL;
		a->start_ns = c->begin;
		a->stop_ns = c->end;
		a->duration_s = (double)(c->end - c->begin) / 1e9;
		a->call_s = a->duration_s;
		a->pid = c->pid;
		a->tid = c->tid;
		a->worker = "?";
		a->gc_s = -1;
		if (!lost) {
			a->error_type = "ProcessDied";
			a->error_message = "the pytest process ended during this attempt without "
					   "recording it";
		} else if (a->when) {
			a->error_type = "RecordLost";
			a->error_message = "the attempt's record is missing (its records file was cut "
					   "short); the outcome is the trace's end marker's";
		}
		a->record_file = "trace";
	}
	/* Re-point the other accs of this test at the moved attempts. */
	for (size_t i = 0; i < j->nacc; i++) {
		struct acc *o = &j->acc[i];
		if (o->test == t && o->att && o->att >= t->attempts && o->att < t->attempts + t->nattempts)
			o->att = arr + (o->att - t->attempts) + ((size_t)(o->att - t->attempts) >= pos);
	}
	t->attempts = arr;
	t->nattempts++;
	j->synthesized = true;
	return &arr[pos];
}

/* Every fixture setup the attempt records of process p name (their times are the process's
 * clock), built once. */
static void proc_fixtures(struct join *j, struct proc *p)
{
	size_t n = 0, cap = 0;

	if (p->fx_built)
		return;
	p->fx_built = true;
	for (size_t i = 0; i < j->nacc; i++) {
		const struct fh_attempt *a = j->acc[i].att;

		if (!a || a->pid != p->pid)
			continue;
		for (size_t k = 0; k < a->nfixture_setups; k++) {
			GROW(p->fx, cap, n + 1);
			p->fx[n++] = &a->fixture_setups[k];
		}
	}
	p->nfx = n;
}

/* The fixture whose setup was running in p at t: the innermost (latest begun) of those
 * running; NULL none. */
static const struct fh_fixture_setup *fixture_at(const struct proc *p, int64_t t)
{
	const struct fh_fixture_setup *best = NULL;

	for (size_t k = 0; k < p->nfx; k++)
		if (p->fx[k]->begin_ns <= t && t <= p->fx[k]->end_ns &&
		    (!best || p->fx[k]->begin_ns > best->begin_ns))
			best = p->fx[k];
	return best;
}

/* The attempt (and phase) of p running at t. */
static void attempt_at(const struct join *j, const struct proc *p, int64_t t,
		       const char **nodeid, const char **phase)
{
	static const char *const names[NPHASE] = { "setup", "call", "teardown" };

	*nodeid = *phase = NULL;
	for (size_t k = 0; k < p->niv; k++) {
		const struct interval *iv = &p->iv[k];

		if (t < iv->begin || t >= iv->end)
			continue;
		*nodeid = j->acc[iv->acc].test ? j->acc[iv->acc].test->nodeid : NULL;
		for (int ph = 0; ph < NPHASE; ph++)
			if (iv->phase_begin[ph] >= 0 && t >= iv->phase_begin[ph] &&
			    (iv->phase_end[ph] < 0 || t < iv->phase_end[ph]))
				*phase = names[ph];
		return;
	}
}

/* Whether a thread started under fixture fx (or, with none, during attempt `during`, phase
 * `phase`; born: its birth is known) has origin x. */
static bool same_origin(const struct fh_bg_origin *x, const struct fh_fixture_setup *fx,
			const char *during, const char *phase, bool born)
{
	if (fx)
		return x->fixture && !strcmp(x->fixture, fx->name) && !strcmp(x->scope, fx->scope);
	if (x->fixture || x->born != born)
		return false;
	if (!during || !x->started_during)
		return !during && !x->started_during;
	return !strcmp(x->started_during, during) && x->started_phase == phase;
}

/* The attempt's background: how many threads, their blocking time, the longest call, and who
 * started them: the fixture whose setup was running when each was created (the attempt
 * records' fixture_setups), else the attempt (and phase) during which it was. */
static void background_finish(struct join *j, const struct acc *c, struct fh_attempt_trace *tr)
{
	struct fh_background *b = &tr->background;
	int pi = imap_get(&j->pid2proc, c->pid);
	struct proc *p;
	struct buf text = BUF_INIT(1024);
	int64_t born[8];
	int order[8];

	b->threads = c->nbg;
	if (!c->nbg)
		return;
	b->time_s = (double)c->bg_ns / 1e9;
	b->call = c->bg_call;
	b->category = c->bg_cat >= 0 && c->bg_cat < FH_CAT_COUNT ? (enum fh_category)c->bg_cat
		: FH_CAT_OTHER;
	b->target = c->bg_target;
	if (pi == NONE)
		return;
	p = &j->procs[pi];
	proc_fixtures(j, p);
	if (c->bg_born) {
		const struct fh_fixture_setup *fx = fixture_at(p, c->bg_born);

		attempt_at(j, p, c->bg_born, &b->started_during, &b->started_phase);
		b->fixture = fx ? fx->name : NULL;
		b->fixture_scope = fx ? fx->scope : NULL;
	}
	/* first born first (unknown births last), then one entry per fixture or attempt */
	for (int k = 0; k < c->nbg; k++) {
		int m = k;

		born[k] = own_born(&p->own, c->bg[k]);
		while (m > 0 && (born[order[m - 1]] == 0 ||
				 (born[k] && born[k] < born[order[m - 1]]))) {
			order[m] = order[m - 1];
			m--;
		}
		order[m] = k;
	}
	b->origins = arena_alloc(j->A, sizeof(*b->origins) * (size_t)c->nbg);
	for (int m = 0; m < c->nbg; m++) {
		int k = order[m];
		const struct fh_fixture_setup *fx = born[k] ? fixture_at(p, born[k]) : NULL;
		const char *during = NULL, *phase = NULL;
		struct fh_bg_origin *o = NULL;

		if (born[k])
			attempt_at(j, p, born[k], &during, &phase);
		for (size_t q = 0; q < b->norigins && !o; q++)
			if (same_origin(&b->origins[q], fx, during, phase, born[k] != 0))
				o = &b->origins[q];
		if (!o) {
			o = &b->origins[b->norigins++];
			memset(o, 0, sizeof(*o));
			o->fixture = fx ? fx->name : NULL;
			o->scope = fx ? fx->scope : NULL;
			o->started_during = during;
			o->started_phase = phase;
			o->born = born[k] != 0;
		}
		o->threads++;
		o->time_s += (double)c->bg_tns[k] / 1e9;
	}
	for (size_t q = 0; q < b->norigins; q++) {
		struct fh_bg_origin *o = &b->origins[q];
		const char *who = o->threads == 1 ? "1 thread" :
			arena_printf(j->A, "%d threads", o->threads);
		bool same = o->started_during && c->test && !strcmp(o->started_during, c->test->nodeid);

		if (o->fixture)
			o->text = arena_printf(j->A, "%s started by %s fixture `%s`", who, o->scope,
					       o->fixture);
		else if (o->started_during)
			o->text = arena_printf(j->A, "%s started before this %s, during %s%s%s%s", who,
					       same ? "attempt" : "test", o->started_during,
					       o->started_phase ? " (" : "",
					       o->started_phase ? o->started_phase : "",
					       o->started_phase ? ")" : "");
		else if (o->born)
			o->text = arena_printf(j->A, "%s started outside every test (session start, "
					       "collection)", who);
		else
			o->text = arena_printf(j->A, "%s started where the trace does not say", who);
		buf_printf(&text, "%s%s", q ? "; " : "", o->text);
	}
	buf_printf(&text, "; %.3g s in blocking calls", b->time_s);
	if (b->call)
		buf_printf(&text, ", the longest %s (%s)%s%s", b->call, fh_category_names[b->category],
			   b->target ? " on " : "", b->target ? b->target : "");
	b->text = arena_strdup(j->A, buf_str(&text));
	buf_free(&text);
}

void ev_finish_attempt(struct join *j, size_t ai)
{
	struct acc *c = &j->acc[ai];
	struct fh_attempt_trace *tr;
	double span0 = (double)c->begin;
	bool died = false;

	if (!c->have_iv) {
		int pi = c->att ? imap_get(&j->pid2proc, c->pid) : NONE;

		/* record intervals only count for a traced process without markers */
		if (pi == NONE || j->procs[pi].marks || !j->procs[pi].loaded)
			return;
	}
	if (!c->att) {
		if (!c->test)
			return;
		c->att = synthesize(j, c);
		c->failing = c->att->outcome == FH_FAILED || c->att->outcome == FH_ERROR;
		c->fail_ns = c->end;
		died = !c->ended;
	} else if (!c->ended && c->have_iv) {
		int pi = imap_get(&j->pid2proc, c->pid);

		died = pi == NONE || !j->procs[pi].stopped;
	}
	{
		int64_t ref = c->fail_ns < c->end ? c->fail_ns : c->end;

		for (size_t i = 0; i < c->ninfl; i++) {
			int64_t el = ref > c->infl_start[i] ? ref - c->infl_start[i] : 0;

			c->infl[i].elapsed_s = (double)el / 1e9;
			if (c->infl_open[i])
				c->time_ns[c->infl[i].category] += (double)el;
		}
		if (c->sleep_end > ref)
			c->sleep_end = 0;
	}
	tr = arena_alloc(j->A, sizeof(*tr));
	tr->cpu_attempt_s = (c->cpu_begin >= 0 && c->cpu_end >= c->cpu_begin) ?
		(double)(c->cpu_end - c->cpu_begin) / 1e9 : 0;
	tr->cpu_s = c->have_phase_cpu && c->cpu_end >= 0 ? (double)c->cpu_phases / 1e9
		: tr->cpu_attempt_s;
	for (int k = 0; k < FH_CAT_COUNT; k++)
		tr->time_s[k] = c->time_ns[k] / 1e9;
	tr->errors = arena_alloc(j->A, sizeof(*tr->errors) * (c->nerrs + 1));
	for (size_t i = 0; i < c->nerrs; i++)
		tr->errors[i] = (struct fh_err_count){ c->errs[i].call, c->errs[i].err_name,
			c->errs[i].target, c->errs[i].count, c->errs[i].call_id, FH_ERRC_OTHER, false };
	tr->nerrors = c->nerrs;
	qsort(tr->errors, tr->nerrors, sizeof(*tr->errors), cmp_err);
	tr->signals = arena_alloc(j->A, sizeof(*tr->signals) * (c->nsigs + 1));
	copy_bytes(tr->signals, c->sigs, sizeof(*tr->signals) * c->nsigs);
	tr->nsignals = c->nsigs;
	tr->last_block = c->lb;
	tr->in_flight = arena_alloc(j->A, sizeof(*tr->in_flight) * (c->ninfl + 1));
	copy_bytes(tr->in_flight, c->infl, sizeof(*tr->in_flight) * c->ninfl);
	tr->nin_flight = c->ninfl;
	tr->children = arena_alloc(j->A, sizeof(*tr->children) * FH_EV_MAX_CHILDREN);
	for (size_t i = 0; i < j->nprocs && tr->nchildren < FH_EV_MAX_CHILDREN; i++) {
		struct proc *p = &j->procs[i];
		struct fh_child *ch;

		/* its own children, and a child it waited for (ownership.h) */
		if ((p->owner != (int)ai && !(imap_get(&j->waited, p->pid) == (int)ai &&
					      p->ppid == c->pid)) || p->marks || p->nriv)
			continue;
		ch = &tr->children[tr->nchildren++];
		ch->pid = p->pid;
		ch->exe = p->exe;
		ch->exit_code = -1;
		ch->start_s = (double)(p->start - c->begin) / 1e9;
		if (p->exit_status >= 0) {
			if (WIFEXITED(p->exit_status))
				ch->exit_code = WEXITSTATUS(p->exit_status);
			else if (WIFSIGNALED(p->exit_status))
				ch->signal = ev_signame(j, WTERMSIG(p->exit_status));
			ch->duration_s = (double)(p->exit_ns - p->start) / 1e9;
		} else if (p->last >= c->end) {
			ch->duration_s = -1;
		} else {
			ch->duration_s = (double)(p->last - p->start) / 1e9;
		}
	}
	tr->fds = c->fds;
	tr->threads = c->threads;
	tr->lanes = arena_alloc(j->A, sizeof(*tr->lanes) * (c->nlanes + 1));
	copy_bytes(tr->lanes, c->lanes, sizeof(*tr->lanes) * c->nlanes);
	tr->nlanes = c->nlanes;
	tr->spans = arena_alloc(j->A, sizeof(*tr->spans) * (c->nspans + 1));
	for (size_t i = 0; i < c->nspans; i++) {
		const struct span *s = &c->spans[i];
		tr->spans[i] = (struct fh_span){ s->lane, ((double)s->start - span0) / 1e9,
			(double)s->dur / 1e9, s->cat, s->call, s->target, span_result(j, s) };
	}
	tr->nspans = c->nspans;
	qsort(tr->spans, tr->nspans, sizeof(*tr->spans), cmp_span);
	tr->fail_at_s = c->fail_ns < INT64_MAX ? (double)(c->fail_ns - c->begin) / 1e9 : -1;
	tr->events = c->events;
	tr->calls = arena_alloc(j->A, sizeof(*tr->calls) * (c->nstats + 1));
	copy_bytes(tr->calls, c->stats, sizeof(*tr->calls) * c->nstats);
	tr->ncalls = c->nstats;
	qsort(tr->calls, tr->ncalls, sizeof(*tr->calls), cmp_stat);
	/* No end marker: the process died during the attempt, unless its trace stopped early
	 * (the file could not grow, e.g. at the fd limit) while it lived on. */
	tr->unfinished = died;
	if (c->lb && c->lb->ended == FH_END_IN_FLIGHT) {
		int64_t ref = c->fail_ns < c->end ? c->fail_ns : c->end;
		int64_t st = c->begin + (int64_t)(c->lb->start_s * 1e9);

		c->lb->waited_s = ref > st ? (double)(ref - st) / 1e9 : 0;
	}
	if (c->sleep_end) {
		struct fh_block *b = arena_alloc(j->A, sizeof(*b));

		b->call = c->sleep_call ? c->sleep_call : "?";
		b->call_id = c->sleep_id;
		b->category = FH_CAT_SLEEP;
		b->start_s = (double)(c->sleep_start - c->begin) / 1e9;
		b->waited_s = (double)(c->sleep_end - c->sleep_start) / 1e9;
		b->ended = FH_END_RETURNED;
		b->pid = c->pid;
		b->tid = c->tid;
		tr->last_sleep = b;
		tr->busy_after_sleep = arena_alloc(j->A, sizeof(*tr->busy_after_sleep) * (c->nbusy + 1));
		copy_bytes(tr->busy_after_sleep, c->busy, sizeof(*c->busy) * c->nbusy);
		tr->nbusy_after_sleep = c->nbusy;
	}
	tr->kills_sent = c->kills;
	if (c->ep_path)
		tr->empty_proc = (struct fh_proc_read){ c->ep_path, c->ep_pid,
			(double)c->ep_after / 1e9 };
	background_finish(j, c, tr);
	c->att->trace = tr;
	c->att->fds_end = c->fds_end;
	c->att->threads_end = c->threads_end;
	footprint_finish(c->att, j->A, c->foot, c->fds, c->threads, c->fds_end, c->threads_end);
	perf_where_finish(c->att, j->A, c->praw);
	c->foot = NULL;
	chaos_trace_finish(c->att, j->A, c->chaos);
	c->chaos = NULL;
	if (tr->last_block && tr->last_block->stack.nframes && !c->att->stack_fingerprint)
		c->att->stack_fingerprint = stack_fingerprint(&tr->last_block->stack, j->A);
}
