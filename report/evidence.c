/* SPDX-License-Identifier: MIT */
/*
 * The evidence parts of a card: the diagnosis box (kind, summary, evidence lines), the
 * performance-flake box, the AI hypothesis box (marked as a model's hypothesis), the
 * failing-vs-passing timeline (a lane per thread and child process, blocking calls as bars
 * coloured by category, signals as markers, the failure point marked) and the trace evidence
 * of failed attempts (last blocking call, signals and calls in flight, each with its stack).
 * All of it is drawn from the model as filled by evidence.c, diagnose.c and ai.c in analyzer/.
 */
#include <math.h>
#include <string.h>

#include "rep.h"

void box_diagnosis(struct rep *r, const struct fh_test *t)
{
	const struct fh_diagnosis *dg = t->diag;
	struct buf *b = r->b;
	size_t i;

	if (!dg || (unsigned)dg->kind >= FH_KIND_COUNT)
		return;
	buf_puts(b, "<div class=\"box diag k-");
	buf_html(b, fh_kind_names[dg->kind]);
	buf_puts(b, "\"><h3>Diagnosis</h3><div class=\"kind\">");
	buf_html(b, fh_kind_names[dg->kind]);
	if (dg->blocked_on) {
		buf_puts(b, " <span class=\"muted\">blocked on</span> ");
		buf_html(b, fh_blocked_on_names[dg->blocked_on]);
	}
	buf_puts(b, "</div>");
	if (dg->summary) {
		buf_puts(b, "<p>");
		buf_html(b, dg->summary);
		buf_puts(b, "</p>");
	}
	if (dg->nevidence) {
		buf_puts(b, "<ul class=\"ev\">");
		for (i = 0; i < dg->nevidence; i++) {
			buf_puts(b, "<li>");
			buf_html(b, dg->evidence[i]);
			buf_puts(b, "</li>");
		}
		buf_puts(b, "</ul>");
	}
	if (!r->run->meta.tracing)
		buf_puts(b, "<p class=\"muted\">Tracing was off (see the note at the top): decided from "
			    "outcomes and durations only.</p>");
	buf_puts(b, "</div>");
}

static void named_values(struct buf *b, const struct fh_named_value *v, size_t n, const char *what)
{
	size_t i;

	if (!n)
		return;
	buf_printf(b, "<table><thead><tr><th>%s</th><th class=\"num\">extra time in slow attempts</th></tr>"
		   "</thead><tbody>", what);
	for (i = 0; i < n; i++) {
		buf_puts(b, "<tr><td class=\"mono\">");
		buf_html(b, v[i].name);
		buf_puts(b, "</td><td class=\"num\">");
		buf_puts(b, v[i].value < 0 ? "\xe2\x88\x92" : "+");
		buf_secs(b, fabs(v[i].value));
		buf_puts(b, "</td></tr>");
	}
	buf_puts(b, "</tbody></table>");
}

void box_perf(struct rep *r, const struct fh_test *t)
{
	const struct fh_perf *p = t->perf;
	struct buf *b = r->b;
	size_t i;

	if (!p || !p->unstable)
		return;
	buf_puts(b, "<div class=\"box perf\"><h3>Performance flake</h3><div class=\"kind\">Duration is "
		    "unstable</div>");
	if (p->summary) {
		buf_puts(b, "<p>");
		buf_html(b, p->summary);
		buf_puts(b, "</p>");
	}
	box_perf_details(r, t);
	if (p->nslow) {
		buf_puts(b, "<p>Slow attempts: <span class=\"num\">");
		for (i = 0; i < p->nslow && i < 50; i++)
			buf_printf(b, "%s#%d", i ? ", " : "", p->slow_attempts[i]);
		if (p->nslow > 50)
			buf_printf(b, " and %zu more", p->nslow - 50);
		buf_puts(b, "</span></p>");
	}
	buf_puts(b, "<div class=\"row\">");
	named_values(b, p->by_category, p->nby_category, "category");
	named_values(b, p->by_call, p->nby_call, "call");
	buf_puts(b, "</div></div>");
}

void box_ai(struct rep *r, const struct fh_test *t)
{
	const struct fh_ai *ai = t->ai;
	struct buf *b = r->b;

	if (!ai)
		return;
	buf_puts(b, "<div class=\"box ai\"><h3>AI hypothesis</h3><div><span class=\"tag\">A model's "
		    "hypothesis, not a finding</span>");
	if (ai->model) {
		buf_puts(b, " <span class=\"muted\">\xc2\xb7 model</span> <code>");
		buf_html(b, ai->model);
		buf_puts(b, "</code>");
	}
	if (ai->cached)
		buf_puts(b, " <span class=\"muted\">\xc2\xb7 cached answer</span>");
	buf_puts(b, "</div>");
	if (ai->ok && ai->text) {
		buf_puts(b, "<div class=\"hyp\">");
		esc_html_n(b, ai->text, REP_MAX_MSG);
		buf_puts(b, "</div>");
	} else {
		buf_puts(b, "<p class=\"ai-fail\">No hypothesis: ");
		esc_html_n(b, ai->reason ? ai->reason : "the request failed", 300);
		buf_puts(b, "</p>");
	}
	if (ai->redacted)
		buf_puts(b, "<p class=\"muted redact\">Values that looked secret (keys, tokens, passwords) "
			    "were redacted from the prompt before it was sent.</p>");
	buf_puts(b, "<p class=\"muted\">Check it against the diagnosis and evidence above before acting "
		    "on it.</p></div>");
}

void render_stack(struct rep *r, const struct fh_stack *st, const char *label)
{
	struct buf *b = r->b;
	size_t i;

	if (!st || !st->nframes)
		return;
	buf_printf(b, "<details class=\"stk\"><summary>%s (%zu frames)</summary><div class=\"stack\">", label,
		   st->nframes);
	for (i = 0; i < st->nframes && i < 64; i++) {
		const struct fh_stack_frame *f = &st->frames[i];
		bool py = f->kind && !strcmp(f->kind, "python");

		buf_printf(b, "<div class=\"%s\">%s ", py ? "py" : "nat", py ? "py " : "c  ");
		buf_html(b, f->function ? f->function : "??");
		if (f->path) {
			buf_puts(b, " \xc2\xb7 ");
			buf_html(b, f->path);
			if (f->line > 0)
				buf_printf(b, ":%d", f->line);
		}
		if (!py && f->module) {
			buf_puts(b, " \xc2\xb7 ");
			buf_html(b, f->module);
			if (f->addr)
				buf_printf(b, "+0x%llx", (unsigned long long)f->addr);
		}
		buf_puts(b, "</div>");
	}
	if (st->nframes > 64)
		buf_printf(b, "<div class=\"nat\">\xe2\x80\xa6 %zu more frames</div>", st->nframes - 64);
	buf_puts(b, "</div></details>");
}

static void block_line(struct rep *r, const struct fh_attempt *a, const struct fh_block *lb)
{
	struct buf *b = r->b;
	/* what it waited for as the heatmap and the diagnosis say it (the attempt's features) */
	const char *on = (unsigned)a->f.blocked_on < FH_ON_COUNT ?
		fh_blocked_on_names[a->f.blocked_on] : NULL;

	buf_puts(b, "<div><b>Last blocking call</b>: <code>");
	buf_html(b, lb->call ? lb->call : "?");
	buf_puts(b, "</code>");
	if (lb->target) {
		buf_puts(b, " on <code>");
		buf_html(b, lb->target);
		buf_puts(b, "</code>");
	}
	buf_printf(b, " <span class=\"muted\">(blocked on %s)</span> waited <span class=\"num\">",
		   on ? on : fh_category_names[fh_wait_category(lb->category, lb->on_socket)]);
	buf_secs(b, lb->waited_s);
	buf_printf(b, "</span> and ended: <b>%s</b>",
		   (unsigned)lb->ended < FH_END_COUNT ? fh_block_end_names[lb->ended] : "?");
	if (lb->errno_name) {
		buf_puts(b, " ");
		buf_html(b, lb->errno_name);
	}
	buf_printf(b, " <span class=\"muted\">pid %d tid %d</span></div>", lb->pid, lb->tid);
	render_stack(r, &lb->stack, "stack of the last blocking call");
}

/* The attempt's blocking calls grouped by call and target, longest total first. */
static void call_table(struct rep *r, const struct fh_attempt_trace *tr)
{
	struct buf *b = r->b;
	size_t i, n = tr->ncalls < 8 ? tr->ncalls : 8;

	buf_printf(b, "<details class=\"stk\"><summary>where its waiting time went (%zu calls and targets)</summary>"
		   "<table><thead><tr><th>call</th><th>target</th><th class=\"num\">count</th>"
		   "<th class=\"num\">timed out</th><th class=\"num\">errors</th><th class=\"num\">total</th>"
		   "<th class=\"num\">longest</th><th class=\"num\">test thread</th></tr></thead><tbody>",
		   tr->ncalls);
	for (i = 0; i < n; i++) {
		const struct fh_call_stat *c = &tr->calls[i];

		buf_puts(b, "<tr><td class=\"mono\">");
		buf_html(b, c->call);
		buf_puts(b, "</td><td class=\"mono\">");
		buf_html(b, c->target ? c->target : "");
		buf_printf(b, "</td><td class=\"num\">%d</td><td class=\"num\">%d</td><td class=\"num\">%d</td>"
			   "<td class=\"num\">", c->count, c->timeouts, c->errors);
		buf_secs(b, c->total_s);
		buf_puts(b, "</td><td class=\"num\">");
		buf_secs(b, c->max_s);
		buf_puts(b, "</td><td class=\"num\">");
		buf_secs(b, c->main_s);
		buf_puts(b, "</td></tr>");
	}
	buf_puts(b, "</tbody></table>");
	if (tr->ncalls > n)
		buf_printf(b, "<div class=\"muted\">and %zu more</div>", tr->ncalls - n);
	buf_puts(b, "</details>");
}

static void attempt_evidence(struct rep *r, const struct fh_attempt *a)
{
	const struct fh_attempt_trace *tr = a->trace;
	const char *oname = (unsigned)a->outcome < FH_OUTCOME_COUNT ? fh_outcome_names[a->outcome] : "?";
	struct buf *b = r->b;
	size_t i;

	buf_printf(b, "<div class=\"cl o-%s\"><div class=\"cl-h\"><b>attempt #%d</b><span class=\"oc\">%s %s</span>"
		   "<span class=\"muted\">%llu events \xc2\xb7 on CPU ", oname, a->attempt,
		   outcome_glyph(a->outcome), oname, (unsigned long long)tr->events);
	buf_secs(b, tr->cpu_s);
	if (tr->fds >= 0 || tr->threads >= 0)
		buf_printf(b, " \xc2\xb7 at start: %d fds, %d threads", tr->fds, tr->threads);
	buf_puts(b, "</span></div>");
	if (tr->unfinished)
		buf_puts(b, "<div class=\"died\"><b>The process died during this attempt</b> (no end marker was "
			    "written); what it was doing is below.</div>");
	if (tr->kills_sent > 0)
		buf_printf(b, "<div>The attempt sent %d terminating signal%s (kill).</div>", tr->kills_sent,
			   tr->kills_sent == 1 ? "" : "s");
	if (tr->last_block)
		block_line(r, a, tr->last_block);
	if (tr->background.threads && tr->background.text) {
		/* threads that are not the attempt's (a fixture's, an earlier test's): apart */
		buf_puts(b, "<div class=\"bg\"><b>Background, not the test's</b>: ");
		buf_html(b, tr->background.text);
		buf_puts(b, "</div>");
	}
	for (i = 0; i < tr->nerrors; i++) {
		const struct fh_err_count *e = &tr->errors[i];

		buf_puts(b, "<div>Failed call: <code>");
		buf_html(b, e->call);
		buf_puts(b, "</code> ");
		buf_html(b, e->errno_name);
		if (e->target) {
			buf_puts(b, " on <code>");
			buf_html(b, e->target);
			buf_puts(b, "</code>");
		}
		buf_printf(b, " <span class=\"muted\">\xc3\x97%d</span></div>", e->count);
	}
	for (i = 0; i < tr->nsignals; i++) {
		const struct fh_signal_ev *s = &tr->signals[i];

		buf_puts(b, "<div>Signal <b>");
		buf_html(b, s->signal);
		buf_puts(b, "</b> at <span class=\"num\">");
		buf_secs(b, s->at_s);
		buf_puts(b, "</span>");
		if (s->from) {
			buf_puts(b, " from ");
			buf_html(b, s->from);
			if (s->session)
				buf_puts(b, " <span class=\"muted\">(the session's, not the test's)</span>");
		} else if (s->sender_pid) {
			buf_printf(b, " from pid %d", s->sender_pid);
		}
		if (s->interrupted) {
			buf_puts(b, ", interrupted <code>");
			buf_html(b, s->interrupted);
			buf_puts(b, "</code>");
		}
		buf_puts(b, "</div>");
		render_stack(r, &s->stack, "stack where the signal arrived");
	}
	for (i = 0; i < tr->nin_flight; i++) {
		const struct fh_inflight *f = &tr->in_flight[i];

		buf_puts(b, "<div>Still in flight at the end: <code>");
		buf_html(b, f->call);
		buf_puts(b, "</code>");
		if (f->target) {
			buf_puts(b, " on <code>");
			buf_html(b, f->target);
			buf_puts(b, "</code>");
		}
		buf_printf(b, " <span class=\"muted\">(%s, pid %d tid %d)</span> for <span class=\"num\">",
			   (unsigned)f->category < FH_CAT_COUNT ? fh_category_names[f->category] : "?", f->pid,
			   f->tid);
		buf_secs(b, f->elapsed_s);
		buf_puts(b, "</span></div>");
		render_stack(r, &f->stack, "stack of the call in flight");
	}
	if (tr->last_sleep) {
		const struct fh_block *sl = tr->last_sleep;

		buf_puts(b, "<div>Last sleep of the test thread: <code>");
		buf_html(b, sl->call ? sl->call : "?");
		buf_puts(b, "</code> for <span class=\"num\">");
		buf_secs(b, sl->waited_s);
		buf_puts(b, "</span>");
		if (tr->nbusy_after_sleep) {
			buf_puts(b, "; still running after it:");
			for (i = 0; i < tr->nbusy_after_sleep && i < 8; i++) {
				const struct fh_inflight *f = &tr->busy_after_sleep[i];

				buf_printf(b, "%s <code>", i ? "," : "");
				buf_html(b, f->call);
				buf_printf(b, "</code> <span class=\"muted\">(pid %d tid %d)</span>", f->pid, f->tid);
			}
		}
		buf_puts(b, "</div>");
	}
	for (i = 0; i < tr->nchildren; i++) {
		const struct fh_child *c = &tr->children[i];

		buf_printf(b, "<div>Child process %d <code>", c->pid);
		buf_html(b, c->exe ? c->exe : "?");
		buf_puts(b, "</code> ");
		if (c->duration_s < 0)
			buf_puts(b, "still running at the end");
		else {
			buf_puts(b, "ran ");
			buf_secs(b, c->duration_s);
			if (c->signal) {
				buf_puts(b, ", killed by ");
				buf_html(b, c->signal);
			} else if (c->exit_code >= 0) {
				buf_printf(b, ", exit code %d", c->exit_code);
			}
		}
		buf_puts(b, "</div>");
	}
	if (tr->ncalls)
		call_table(r, tr);
	buf_puts(b, "</div>");
}

static bool is_fail(const struct fh_attempt *a)
{
	return a->outcome == FH_FAILED || a->outcome == FH_ERROR;
}

void sect_trace_evidence(struct rep *r, const struct fh_test *t)
{
	const struct fh_attempt *pass = NULL, *fast = NULL;
	size_t i, shown = 0, nfail_tr = 0, nslow_tr = 0;

	for (i = 0; i < t->nattempts; i++) {
		const struct fh_attempt *a = &t->attempts[i];

		if (!a->trace)
			continue;
		if (is_fail(a))
			nfail_tr++;
		else if (a->outcome == FH_PASSED && a->f.slow)
			nslow_tr++;
		else if (a->outcome == FH_PASSED && !pass)
			pass = a;
		if (a->outcome == FH_PASSED && !a->f.slow && !fast)
			fast = a;
	}
	if (!nfail_tr && !nslow_tr)
		return;
	buf_puts(r->b, "<section class=\"trace-ev\"><h3>Trace evidence</h3>");
	for (i = 0; i < t->nattempts && shown < REP_MAX_EVIDENCE; i++) {
		const struct fh_attempt *a = &t->attempts[i];

		if (a->trace && (nfail_tr ? is_fail(a) : a->outcome == FH_PASSED && a->f.slow)) {
			attempt_evidence(r, a);
			shown++;
		}
	}
	if ((nfail_tr ? nfail_tr : nslow_tr) > shown)
		buf_printf(r->b, "<p class=\"muted\">%zu more %s attempts with traces are not listed.</p>",
			   (nfail_tr ? nfail_tr : nslow_tr) - shown, nfail_tr ? "failed" : "slow");
	if (nfail_tr ? pass != NULL : fast != NULL) {
		buf_printf(r->b, "<p class=\"muted\">For contrast, the first %s attempt:</p>",
			   nfail_tr ? "passing" : "fast passing");
		attempt_evidence(r, nfail_tr ? pass : fast);
	}
	buf_puts(r->b, "</section>");
}

/* ---- timeline ---- */

static double attempt_span_end(const struct fh_attempt *a)
{
	const struct fh_attempt_trace *tr = a->trace;
	double end = a->duration_s;
	size_t i;

	if (!isfinite(end))
		end = 0;
	for (i = 0; i < tr->nspans; i++) {
		double e = tr->spans[i].start_s + tr->spans[i].dur_s;

		if (isfinite(e) && e > end)
			end = e;
	}
	return end > 0 ? end : 1e-3;
}

static void timeline_one(struct rep *r, const struct fh_attempt *a, double xmax, const char *title)
{
	const double L = 190, W = 1000, LH = 20;
	const struct fh_attempt_trace *tr = a->trace;
	struct buf *b = r->b;
	double pw = W - L - 10, H = 22 + LH * (double)(tr->nlanes ? tr->nlanes : 1) + 22;
	size_t i, k;

	buf_printf(b, "<svg class=\"tl\" width=\"%.0f\" height=\"%.0f\" role=\"img\" aria-label=\"", W, H);
	buf_html(b, title);
	buf_printf(b, "\"><text class=\"ttl\" x=\"0\" y=\"13\">%s", title);
	if (tr->fail_at_s >= 0 && (a->outcome == FH_FAILED || a->outcome == FH_ERROR)) {
		buf_puts(b, "<tspan class=\"fx\"> \xe2\x80\x94 \xe2\x9c\x95 failed at ");
		buf_secs(b, tr->fail_at_s);
		buf_puts(b, " (red line)</tspan>");
	}
	buf_puts(b, "</text>");
	for (k = 0; k < tr->nlanes; k++) {
		double y = 20 + LH * (double)k;

		buf_printf(b, "<rect class=\"lane\" x=\"%.0f\" y=\"%.0f\" width=\"%.0f\" height=\"%.0f\"/>"
			   "<text class=\"lab\" x=\"0\" y=\"%.0f\">", L, y + 1, pw, LH - 2, y + 14);
		esc_html_short(b, tr->lanes[k].label, 32);
		buf_puts(b, "</text>");
	}
	for (i = 0; i < tr->nspans && i < REP_MAX_SPANS; i++) {
		const struct fh_span *s = &tr->spans[i];
		double x, w, y;

		if (s->lane < 0 || (size_t)s->lane >= tr->nlanes)
			continue;
		x = L + pw * (s->start_s > 0 && s->start_s < xmax ? s->start_s : s->start_s >= xmax ? xmax : 0) / xmax;
		w = pw * (s->dur_s > 0 ? s->dur_s : 0) / xmax;
		w = !isfinite(w) || w > L + pw - x ? L + pw - x : w;
		w = w < 1.5 ? 1.5 : w;
		y = 20 + LH * (double)s->lane + 3;
		buf_printf(b, "<rect class=\"cat-%s\" x=\"%.1f\" y=\"%.0f\" width=\"%.1f\" height=\"%.0f\"><title>",
			   (unsigned)s->category < FH_CAT_COUNT ? fh_category_names[s->category] : "other", x, y, w,
			   LH - 6);
		buf_html(b, s->call);
		if (s->target) {
			buf_puts(b, " ");
			buf_html(b, s->target);
		}
		buf_puts(b, " \xc2\xb7 ");
		buf_secs(b, s->dur_s);
		buf_puts(b, " \xc2\xb7 ");
		buf_html(b, s->result ? s->result : "in flight");
		buf_puts(b, "</title></rect>");
	}
	for (i = 0; i < tr->nsignals; i++) {
		const struct fh_signal_ev *s = &tr->signals[i];
		double x = L + pw * (s->at_s > 0 && s->at_s < xmax ? s->at_s : s->at_s >= xmax ? xmax : 0) / xmax;

		buf_printf(b, "<path class=\"sig\" d=\"M%.1f 20l-5 -7h10z\"><title>", x);
		buf_html(b, s->signal);
		buf_puts(b, " at ");
		buf_secs(b, s->at_s);
		if (s->interrupted) {
			buf_puts(b, ", interrupted ");
			buf_html(b, s->interrupted);
		}
		buf_puts(b, "</title></path>");
	}
	if (tr->fail_at_s >= 0 && (a->outcome == FH_FAILED || a->outcome == FH_ERROR)) {
		double x = L + pw * (tr->fail_at_s < xmax ? tr->fail_at_s : xmax) / xmax;

		buf_printf(b, "<path class=\"failat\" d=\"M%.1f 18V%.0f\"><title>failure at ", x, H - 20);
		buf_secs(b, tr->fail_at_s);
		buf_puts(b, "</title></path>");
	}
	buf_printf(b, "<text x=\"%.0f\" y=\"%.0f\">0 s</text><text x=\"%.0f\" y=\"%.0f\" text-anchor=\"end\">",
		   L, H - 8, W - 10, H - 8);
	buf_secs(b, xmax);
	buf_puts(b, "</text></svg>");
}

void sect_timeline(struct rep *r, const struct fh_test *t)
{
	const struct fh_attempt *fail = NULL, *pass = NULL, *slow = NULL, *fast = NULL, *a1, *a2;
	struct buf title = BUF_INIT(256);
	double xmax = 0;
	size_t i;
	int c;

	for (i = 0; i < t->nattempts; i++) {
		const struct fh_attempt *a = &t->attempts[i];

		if (!a->trace || !a->trace->nspans)
			continue;
		if (!fail && is_fail(a))
			fail = a;
		if (!pass && a->outcome == FH_PASSED)
			pass = a;
		if (!slow && a->outcome == FH_PASSED && a->f.slow)
			slow = a;
		if (!fast && a->outcome == FH_PASSED && !a->f.slow)
			fast = a;
	}
	/* A failing attempt next to a passing one; for a performance flake, slow next to fast. */
	a1 = fail ? fail : slow;
	a2 = fail ? pass : fast;
	if (!a1)
		return;
	xmax = attempt_span_end(a1);
	if (a2 && attempt_span_end(a2) > xmax)
		xmax = attempt_span_end(a2);
	buf_printf(r->b, "<section class=\"timeline\"><h3>Timeline: %s</h3>", fail ?
		   "a failing attempt next to a passing one" : "a slow attempt next to a fast one");
	buf_printf(&title, "%s attempt #%d", fail ? "failing" : "slow", a1->attempt);
	timeline_one(r, a1, xmax, buf_str(&title));
	if (a2) {
		buf_reset(&title);
		buf_printf(&title, "%s attempt #%d", fail ? "passing" : "fast", a2->attempt);
		timeline_one(r, a2, xmax, buf_str(&title));
	} else {
		buf_printf(r->b, "<p class=\"muted\">No %s attempt has a trace to compare with.</p>",
			   fail ? "passing" : "fast");
	}
	buf_free(&title);
	buf_puts(r->b, "<div class=\"legend\">");
	for (c = 0; c < FH_CAT_COUNT; c++)
		buf_printf(r->b, "<span><i class=\"cat-%s\"></i>%s</span>", fh_category_names[c], fh_category_names[c]);
	buf_puts(r->b, "<span>\xe2\x96\xbc signal</span><span class=\"lf\">| failure point</span>"
		       "<span>hover a bar for call, target, duration and result</span></div></section>");
}
