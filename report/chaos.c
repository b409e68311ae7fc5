/* SPDX-License-Identifier: MIT */
/*
 * Chaos mode on a test's card: the flake rate of perturbed and of unperturbed attempts side by
 * side (never one number), "only under chaos" when it never failed without it, what the failing
 * attempts had injected against the passing ones, the command that replays the first failing
 * attempt's plan, and each failing attempt's injected delays. It draws what analyzer/chaos.c
 * decided.
 */
#include "chaos_rec.h"
#include "rep.h"

#define SHOWN_ATTEMPTS 4
#define SHOWN_INJ 12

static void rate_row(struct buf *b, const char *side, int n, int failed, double rate)
{
	buf_puts(b, "<tr><td>");
	buf_puts(b, side);
	buf_printf(b, "</td><td class=\"num\">%d</td><td class=\"num\">%d</td><td class=\"num\">",
		   n, failed);
	if (n)
		buf_pct(b, rate);
	else
		buf_puts(b, "\xe2\x80\x93");
	buf_puts(b, "</td></tr>");
}

void box_chaos(struct rep *r, const struct fh_test *t)
{
	const struct fh_test_chaos *c = t->chaos;
	struct buf *b = r->b;
	size_t shown = 0;

	if (!c)
		return;
	buf_puts(b, "<div class=\"box chaos\"><h3>Chaos");
	if (c->only_under_chaos)
		buf_puts(b, " <span class=\"tag only-chaos\">only under chaos</span>");
	buf_puts(b, "</h3><p class=\"muted\">mode ");
	buf_html(b, c->mode ? c->mode : "?");
	if (c->seed) {
		buf_puts(b, ", seed <code>");
		buf_html(b, c->seed);
		buf_puts(b, "</code>");
	}
	buf_puts(b, "</p>");
	if (c->sentence) {
		buf_puts(b, "<p class=\"chaos-sentence\">");
		buf_html(b, c->sentence);
		buf_puts(b, "</p>");
	}
	buf_puts(b, "<table class=\"log chaos-rates\"><thead><tr><th>attempts</th><th>run</th>"
		    "<th>failed</th><th>flake rate</th></tr></thead><tbody>");
	rate_row(b, "perturbed", c->pert_attempts, c->pert_failed, c->pert_rate);
	rate_row(b, "unperturbed", c->unpert_attempts, c->unpert_failed, c->unpert_rate);
	buf_puts(b, "</tbody></table>");
	if (c->nsigs) {
		buf_puts(b, "<table class=\"log chaos-sigs\"><thead><tr><th>injected</th><th>in failing "
			    "attempts</th><th>in passing attempts</th><th>delays (failing)</th></tr>"
			    "</thead><tbody>");
		for (size_t i = 0; i < c->nsigs; i++) {
			const struct fh_chaos_sig *g = &c->sigs[i];
			buf_puts(b, "<tr><td>");
			buf_html(b, g->text);
			buf_printf(b, "</td><td class=\"num\">%d</td><td class=\"num\">%d</td><td>",
				   g->in_failing, g->in_passing);
			if (g->max_s > 0) {
				buf_secs(b, g->min_s);
				buf_puts(b, " \xe2\x80\x93 ");
				buf_secs(b, g->max_s);
			}
			buf_puts(b, "</td></tr>");
		}
		buf_puts(b, "</tbody></table>");
	}
	if (c->reproduce) {
		buf_printf(b, "<p>reproduce attempt %d (replays its plan; scheduling is not "
			   "deterministic, so a replay fails at a rate, not every time):</p>"
			   "<pre class=\"repro\"><code>", c->repro_attempt);
		buf_html(b, c->reproduce);
		buf_puts(b, "</code></pre>");
	}
	for (size_t i = 0; i < t->nattempts && shown < SHOWN_ATTEMPTS; i++) {
		const struct fh_attempt *a = &t->attempts[i];
		const struct fh_attempt_chaos *ac = a->chaos;
		if (!ac || !ac->perturbed || (a->outcome != FH_FAILED && a->outcome != FH_ERROR))
			continue;
		shown++;
		buf_printf(b, "<details class=\"chaos-att\"><summary>attempt %d (failed): %d "
			   "perturbations injected, ", a->attempt,
			   ac->trace_injected > ac->injected ? ac->trace_injected : ac->injected);
		buf_secs(b, ac->trace_injected_s > ac->injected_s ? ac->trace_injected_s :
			 ac->injected_s);
		buf_puts(b, " in all</summary>");
		if (ac->guide) {
			buf_puts(b, "<p class=\"muted\">");
			buf_html(b, ac->guide);
			buf_puts(b, "</p>");
		}
		buf_puts(b, "<ul class=\"inj\">");
		for (size_t k = 0; k < ac->ninj && k < SHOWN_INJ; k++) {
			const struct fh_chaos_inj *in = &ac->inj[k];
			buf_puts(b, "<li>+");
			buf_secs(b, in->at_s);
			buf_puts(b, ": ");
			if (in->kind == FH_CHAOS_K_YIELD) {
				buf_puts(b, "yield after ");
				buf_html(b, in->call);
			} else {
				buf_puts(b, "injected delay ");
				buf_secs(b, in->delay_s);
				buf_puts(b, in->kind == FH_CHAOS_K_BEFORE ? " before " : " after ");
				buf_html(b, in->call);
			}
			buf_puts(b, in->where == FH_CHAOS_IN_TEST ? " (test thread" :
				 in->where == FH_CHAOS_IN_PROCESS ? " (child process" :
				 " (another thread");
			buf_puts(b, in->targeted ? ", plan target)</li>" : ", spread)</li>");
		}
		if (ac->ninj > SHOWN_INJ)
			buf_printf(b, "<li class=\"muted\">%zu more</li>", ac->ninj - SHOWN_INJ);
		buf_puts(b, "</ul></details>");
	}
	buf_puts(b, "</div>");
}
