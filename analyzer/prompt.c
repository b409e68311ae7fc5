/* SPDX-License-Identifier: MIT */
/*
 * Builds the LLM prompt of one test from the model (see prompt.h). The text is plain, one fact
 * per line, in sections the model can cite ("Diagnosis evidence", "Failing attempt 3"); every
 * string from the run (messages, targets, paths) is cut to a bounded length and flattened to
 * one line, and every list is capped, so a pathological run cannot blow up the request.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "chaos_rec.h"
#include "escape.h"
#include "prompt.h"
#include "redact.h"

#define MAX_MSG 600          /* bytes of an error message */
#define MAX_STR 200          /* bytes of a target, path, function name */
#define MAX_CLUSTERS 6
#define MAX_FAIL_ATTEMPTS 4
#define MAX_PASS_ATTEMPTS 3
#define MAX_LIST 6           /* errors, signals, in-flight calls, children per attempt */
#define MAX_STACK 10         /* frames of one stack */
#define MAX_EVIDENCE 12

const char prompt_system[] =
	"You are a senior engineer diagnosing a flaky or broken test. You get the evidence "
	"flakehunter collected by re-running the test: outcomes, failure clusters, and traces of "
	"what the process did (blocking system calls, signals, child processes, where time went) "
	"in failing versus passing attempts, plus a deterministic diagnosis. You do not see the "
	"source code. Answer with a short, specific, actionable root-cause hypothesis (at most "
	"120 words): name the likely cause, cite the evidence lines you rely on (quote their "
	"numbers), and say what to change or check next. If the evidence does not separate "
	"failing from passing attempts, say so instead of guessing. Values shown as [REDACTED] "
	"were removed before sending.";

/* Appends s flattened to one line and cut to max bytes (at a UTF-8 boundary). */
static void put_str(struct buf *b, const char *s, size_t max)
{
	size_t n = 0;

	if (!s) {
		buf_puts(b, "-");
		return;
	}
	for (; s[n] && n < max; n++) {
		unsigned char c = (unsigned char)s[n];

		if (c == '\n')
			buf_puts(b, " | ");
		else if (c < 0x20 || c == 0x7f)
			buf_putc(b, ' ');
		else
			buf_putc(b, (char)c);
	}
	if (s[n]) {
		buf_chop_utf8_tail(b); /* no partial UTF-8 sequence at the cut */
		buf_puts(b, "...");
	}
}

static void put_stack(struct buf *b, const struct fh_stack *st, const char *indent)
{
	size_t k;

	if (!st->nframes)
		return;
	buf_printf(b, "%sstack (innermost first):\n", indent);
	for (k = 0; k < st->nframes && k < MAX_STACK; k++) {
		const struct fh_stack_frame *f = &st->frames[k];

		buf_printf(b, "%s  %s ", indent, f->kind && !strcmp(f->kind, "python") ? "py" : "c ");
		if (f->module) {
			put_str(b, f->module, MAX_STR);
			buf_puts(b, " ");
		}
		put_str(b, f->function ? f->function : "??", MAX_STR);
		if (f->path) {
			buf_puts(b, " at ");
			put_str(b, f->path, MAX_STR);
			if (f->line > 0)
				buf_printf(b, ":%d", f->line);
		}
		buf_putc(b, '\n');
	}
	if (st->nframes > MAX_STACK)
		buf_printf(b, "%s  ... %zu more frames\n", indent, st->nframes - MAX_STACK);
}

/* What the attempt's last wait was for, as the diagnosis, the heatmap and the JSON say it
 * (the attempt's features). */
static const char *blocked_name(const struct fh_attempt *a)
{
	const char *n = (unsigned)a->f.blocked_on < FH_ON_COUNT ? fh_blocked_on_names[a->f.blocked_on] :
		NULL;

	return n ? n : "other";
}

static void put_trace(struct buf *b, const struct fh_attempt *a)
{
	const struct fh_attempt_trace *tr = a->trace;
	size_t k;
	int c;

	buf_printf(b, "  time by category (s): cpu %.3f", tr->cpu_s);
	for (c = 0; c < FH_CAT_COUNT; c++)
		if (tr->time_s[c] >= 0.0005)
			buf_printf(b, ", %s %.3f", fh_category_names[c], tr->time_s[c]);
	buf_putc(b, '\n');
	if (tr->fds >= 0 || tr->threads >= 0)
		buf_printf(b, "  at start: %d fds, %d threads\n", tr->fds, tr->threads);
	if (tr->last_block) {
		const struct fh_block *lb = tr->last_block;

		buf_printf(b, "  last blocking call of the test's thread: %s", lb->call ? lb->call : "?");
		if (lb->target) {
			buf_puts(b, " on ");
			put_str(b, lb->target, MAX_STR);
		}
		buf_printf(b, ", blocked on %s", blocked_name(a));
		buf_printf(b, ", started at %.3f s, waited %.3f s, ended: %s", lb->start_s, lb->waited_s,
			   fh_block_end_names[lb->ended < FH_END_COUNT ? lb->ended : FH_END_RETURNED]);
		if (lb->errno_name)
			buf_printf(b, " (%s)", lb->errno_name);
		buf_putc(b, '\n');
		put_stack(b, &lb->stack, "    ");
	}
	if (tr->background.threads && tr->background.text) {
		/* threads that are not the attempt's: never its cause, said so */
		buf_puts(b, "  background (threads not the test's, not its evidence): ");
		put_str(b, tr->background.text, 2 * MAX_STR);
		buf_putc(b, '\n');
	}
	for (k = 0; k < tr->nsignals && k < MAX_LIST; k++) {
		const struct fh_signal_ev *s = &tr->signals[k];

		buf_printf(b, "  signal %s at %.3f s", s->signal ? s->signal : "?", s->at_s);
		if (s->from)
			buf_printf(b, " from %s%s", s->from, s->session ? ", not the test" : "");
		else if (s->sender_pid)
			buf_printf(b, " from pid %d", s->sender_pid);
		if (s->interrupted)
			buf_printf(b, ", interrupted %s", s->interrupted);
		buf_putc(b, '\n');
		put_stack(b, &s->stack, "    ");
	}
	for (k = 0; k < tr->nerrors && k < MAX_LIST; k++) {
		const struct fh_err_count *e = &tr->errors[k];

		buf_printf(b, "  failed call: %s -> %s x%d", e->call ? e->call : "?",
			   e->errno_name ? e->errno_name : "?", e->count);
		if (e->target) {
			buf_puts(b, " on ");
			put_str(b, e->target, MAX_STR);
		}
		buf_putc(b, '\n');
	}
	for (k = 0; k < tr->nin_flight && k < MAX_LIST; k++) {
		const struct fh_inflight *f = &tr->in_flight[k];

		buf_printf(b, "  still in flight at the end: %s (%s) in pid %d tid %d for %.3f s",
			   f->call ? f->call : "?",
			   fh_category_names[f->category < FH_CAT_COUNT ? f->category : FH_CAT_OTHER],
			   f->pid, f->tid, f->elapsed_s);
		if (f->target) {
			buf_puts(b, " on ");
			put_str(b, f->target, MAX_STR);
		}
		buf_putc(b, '\n');
		put_stack(b, &f->stack, "    ");
	}
	for (k = 0; k < tr->nchildren && k < MAX_LIST; k++) {
		const struct fh_child *ch = &tr->children[k];

		buf_printf(b, "  child pid %d ", ch->pid);
		put_str(b, ch->exe ? ch->exe : "?", MAX_STR);
		if (ch->duration_s < 0)
			buf_puts(b, " still running at the end");
		else
			buf_printf(b, " ran %.3f s", ch->duration_s);
		if (ch->signal)
			buf_printf(b, ", killed by %s", ch->signal);
		else if (ch->exit_code >= 0)
			buf_printf(b, ", exit code %d", ch->exit_code);
		buf_putc(b, '\n');
	}
}

static void put_attempt(struct buf *b, const struct fh_attempt *a)
{
	bool failed = a->outcome == FH_FAILED || a->outcome == FH_ERROR;

	buf_printf(b, "%s attempt %d: %s", failed ? "Failing" : "Passing", a->attempt,
		   fh_outcome_names[a->outcome < FH_OUTCOME_COUNT ? a->outcome : FH_FAILED]);
	if (failed && a->when)
		buf_printf(b, " in %s", a->when);
	buf_printf(b, ", %.3f s (setup %.3f, call %.3f, teardown %.3f)", a->duration_s, a->setup_s,
		   a->call_s, a->teardown_s);
	if (a->worker)
		buf_printf(b, ", worker %s", a->worker);
	if (failed && a->error_type) {
		buf_puts(b, ", ");
		put_str(b, a->error_type, MAX_STR);
	}
	buf_putc(b, '\n');
	if (a->trace)
		put_trace(b, a);
	else
		buf_puts(b, "  (no trace for this attempt)\n");
}

/* Counted short strings ("poll (net) timeout"), at most 8 distinct, for the contrast. */
struct tally {
	char keys[8][96];
	int counts[8];
	int n, other;
};

static void tally_add(struct tally *t, const char *key)
{
	int i;

	for (i = 0; i < t->n; i++)
		if (!strcmp(t->keys[i], key)) {
			t->counts[i]++;
			return;
		}
	if (t->n == 8) {
		t->other++;
		return;
	}
	snprintf(t->keys[t->n], sizeof(t->keys[0]), "%s", key);
	t->counts[t->n++] = 1;
}

static void tally_put(struct buf *b, const char *what, const struct tally *t, int traced)
{
	int i;

	buf_printf(b, "  %s:", what);
	if (!t->n)
		buf_puts(b, " none");
	for (i = 0; i < t->n; i++) {
		buf_puts(b, i ? "; " : " ");
		put_str(b, t->keys[i], sizeof(t->keys[0]));
		buf_printf(b, " in %d/%d", t->counts[i], traced);
	}
	if (t->other)
		buf_printf(b, "; %d more", t->other);
	buf_putc(b, '\n');
}

/* Last blocking calls, signals and failed calls of failing versus passing attempts. */
static void put_contrast(struct buf *b, const struct fh_test *t)
{
	int side;

	for (side = 0; side < 2; side++) {
		struct tally lb = { 0 }, sig = { 0 }, err = { 0 };
		int traced = 0, all = 0;
		size_t k, e;
		char key[96];

		for (k = 0; k < t->nattempts; k++) {
			const struct fh_attempt *a = &t->attempts[k];
			const struct fh_attempt_trace *tr = a->trace;
			bool failed = a->outcome == FH_FAILED || a->outcome == FH_ERROR;

			if (side ? a->outcome != FH_PASSED : !failed)
				continue;
			all++;
			if (!tr)
				continue;
			traced++;
			if (tr->last_block) {
				const struct fh_block *l = tr->last_block;

				snprintf(key, sizeof(key), "%.40s (%s) %s", l->call ? l->call : "?",
					 blocked_name(a),
					 fh_block_end_names[l->ended < FH_END_COUNT ? l->ended : FH_END_RETURNED]);
				tally_add(&lb, key);
			}
			for (e = 0; e < tr->nsignals; e++) {
				snprintf(key, sizeof(key), "%.40s", tr->signals[e].signal ? tr->signals[e].signal : "?");
				tally_add(&sig, key);
			}
			for (e = 0; e < tr->nerrors; e++) {
				snprintf(key, sizeof(key), "%.40s %.40s", tr->errors[e].call ? tr->errors[e].call : "?",
					 tr->errors[e].errno_name ? tr->errors[e].errno_name : "?");
				tally_add(&err, key);
			}
		}
		if (!all)
			continue;
		buf_printf(b, "%s attempts: %d, %d with a trace\n", side ? "Passing" : "Failing", all,
			   traced);
		if (!traced)
			continue;
		tally_put(b, "last blocking call, how it ended", &lb, traced);
		tally_put(b, "signals", &sig, traced);
		tally_put(b, "failed calls", &err, traced);
	}
}

/* A few failing and passing attempts, traced ones first. */
static void put_attempts(struct buf *b, const struct fh_test *t)
{
	int pass;

	for (pass = 0; pass < 2; pass++) {
		int shown = 0, limit = pass ? MAX_PASS_ATTEMPTS : MAX_FAIL_ATTEMPTS, traced;

		for (traced = 1; traced >= 0; traced--) {
			size_t k;

			for (k = 0; k < t->nattempts && shown < limit; k++) {
				const struct fh_attempt *a = &t->attempts[k];
				bool failed = a->outcome == FH_FAILED || a->outcome == FH_ERROR;
				bool want = pass ? a->outcome == FH_PASSED : failed;

				if (want && (a->trace != NULL) == (traced == 1)) {
					put_attempt(b, a);
					shown++;
				}
			}
		}
	}
}

static void put_clusters(struct buf *b, const struct fh_test *t)
{
	size_t k, j;

	if (!t->nclusters)
		return;
	buf_printf(b, "\nFailure clusters (%zu):\n", t->nclusters);
	for (k = 0; k < t->nclusters && k < MAX_CLUSTERS; k++) {
		const struct fh_cluster *c = &t->clusters[k];

		buf_printf(b, "Cluster %zu: %d failure(s), attempts", k + 1, c->count);
		for (j = 0; j < (size_t)c->count && j < 20 && c->attempts; j++)
			buf_printf(b, "%s%d", j ? "," : " ", c->attempts[j]);
		if (c->count > 20)
			buf_puts(b, ",...");
		buf_puts(b, "\n  exception: ");
		put_str(b, c->error_type, MAX_STR);
		buf_puts(b, "\n  message: ");
		put_str(b, c->message, MAX_MSG);
		buf_putc(b, '\n');
		if (c->stack_fingerprint)
			buf_printf(b, "  stack fingerprint of the last blocking call: %s\n",
				   c->stack_fingerprint);
		if (c->nframes) {
			buf_puts(b, "  innermost frames (outermost first):\n");
			for (j = 0; j < c->nframes; j++) {
				buf_puts(b, "    ");
				put_str(b, c->frames[j].path, MAX_STR);
				buf_printf(b, ":%d in ", c->frames[j].line);
				put_str(b, c->frames[j].function, MAX_STR);
				buf_putc(b, '\n');
			}
		}
	}
	if (t->nclusters > MAX_CLUSTERS)
		buf_printf(b, "(%zu smaller clusters not shown)\n", t->nclusters - MAX_CLUSTERS);
}

static void put_groups(struct buf *b, const char *what, const struct fh_hist_group *g, size_t n)
{
	size_t k;

	if (!n)
		return;
	buf_printf(b, "  by %s:", what);
	for (k = 0; k < n && k < 8; k++) {
		buf_puts(b, k ? "; " : " ");
		put_str(b, g[k].key, MAX_STR / 2);
		buf_printf(b, " %d/%d failed in %d runs", g[k].failed, g[k].attempts, g[k].runs);
	}
	buf_putc(b, '\n');
}

static void put_history(struct buf *b, const struct fh_history *h)
{
	size_t k, from;

	buf_printf(b, "\nHistory: %zu runs, %d/%d attempts failed overall, trend %s\n", h->nruns,
		   h->total_failed, h->total_attempts, h->trend ? h->trend : "n/a");
	from = h->nruns > 10 ? h->nruns - 10 : 0;
	if (h->nruns) {
		buf_puts(b, "  recent runs (oldest first):");
		for (k = from; k < h->nruns; k++) {
			buf_puts(b, k > from ? "; " : " ");
			put_str(b, h->runs[k].timestamp, 40);
			buf_printf(b, " %d/%d failed", h->runs[k].failed, h->runs[k].attempts);
		}
		buf_putc(b, '\n');
	}
	put_groups(b, "host", h->by_host, h->nby_host);
	put_groups(b, "branch", h->by_branch, h->nby_branch);
	put_groups(b, "week", h->by_week, h->nby_week);
	put_groups(b, "parameters", h->by_params, h->nby_params);
	if (h->nlocations) {
		buf_puts(b, "  failure locations:");
		for (k = 0; k < h->nlocations && k < 8; k++) {
			buf_puts(b, k ? "; " : " ");
			put_str(b, h->locations[k].key, MAX_STR);
			buf_printf(b, " x%d", h->locations[k].failed);
		}
		buf_putc(b, '\n');
	}
}

static void put_perf(struct buf *b, const struct fh_perf *p)
{
	size_t k;

	if (!p->unstable)
		return;
	buf_puts(b, "\nPerformance: passing attempts are unstable in duration");
	if (p->summary) {
		buf_puts(b, ": ");
		put_str(b, p->summary, MAX_MSG);
	}
	buf_puts(b, "\n  slow attempts:");
	for (k = 0; k < p->nslow && k < 20; k++)
		buf_printf(b, " %d", p->slow_attempts[k]);
	buf_putc(b, '\n');
	for (k = 0; k < p->nby_category && k < 10; k++)
		buf_printf(b, "  extra time in %s: %.3f s\n", p->by_category[k].name ? p->by_category[k].name : "?",
			   p->by_category[k].value);
	for (k = 0; k < p->nby_call && k < 10; k++)
		buf_printf(b, "  extra time in call %s: %.3f s\n", p->by_call[k].name ? p->by_call[k].name : "?",
			   p->by_call[k].value);
}

int prompt_build(const struct fh_run *run, const struct fh_test *t, struct buf *out)
{
	size_t k;

	buf_puts(out, "Test: ");
	put_str(out, t->nodeid, 2 * MAX_STR);
	buf_printf(out, "\nVerdict: %s; %zu attempts: %d passed, %d failed, %d skipped\n",
		   fh_verdict_names[t->verdict < FH_VERDICT_COUNT ? t->verdict : FH_FLAKY],
		   t->nattempts, t->passed, t->failed, t->skipped);
	buf_printf(out, "Flake rate: %.1f%% (95%% Wilson interval %.1f%%-%.1f%%)",
		   100 * t->flake_rate, 100 * t->ci_lo, 100 * t->ci_hi);
	if (t->chaos && t->chaos->pert_attempts)
		buf_printf(out, " over %d attempts without chaos", t->rate_n);
	chaos_rate_note(out, t);
	buf_putc(out, '\n');
	buf_printf(out, "Duration (s): mean %.3f, median %.3f, p95 %.3f, max %.3f\n", t->mean_s,
		   t->median_s, t->p95_s, t->max_s);
	if (t->nfixtures) {
		buf_puts(out, "Fixtures:");
		for (k = 0; k < t->nfixtures && k < 20; k++) {
			buf_putc(out, ' ');
			put_str(out, t->fixtures[k], MAX_STR / 2);
		}
		buf_putc(out, '\n');
	}
	buf_printf(out, "Run: %d runs per test%s%s; system-call tracing %s\n",
		   run->meta.runs_per_test, run->meta.xdist ? ", xdist" : "",
		   run->meta.isolate ? ", isolated" : "", run->meta.tracing ? "on" : "off");
	put_clusters(out, t);
	if (t->diag) {
		const struct fh_diagnosis *d = t->diag;

		buf_puts(out, "\nDiagnosis (deterministic, from the evidence): kind ");
		put_str(out, fh_kind_names[d->kind], 40);
		if (d->blocked_on) {
			buf_puts(out, ", blocked on ");
			put_str(out, fh_blocked_on_names[d->blocked_on], 40);
		}
		buf_puts(out, "\n  summary: ");
		put_str(out, d->summary, MAX_MSG);
		buf_putc(out, '\n');
		for (k = 0; k < d->nevidence && k < MAX_EVIDENCE; k++) {
			buf_puts(out, "  evidence: ");
			put_str(out, d->evidence[k], MAX_MSG);
			buf_putc(out, '\n');
		}
	}
	if (t->perf)
		put_perf(out, t->perf);
	if (run->meta.tracing) {
		buf_puts(out, "\nContrast of traced attempts (failing vs passing):\n");
		put_contrast(out, t);
	}
	buf_puts(out, "\nAttempts (failing vs passing):\n");
	put_attempts(out, t);
	if (t->hist)
		put_history(out, t->hist);
	buf_puts(out, "\nGive your root-cause hypothesis for this test, citing the evidence above.\n");
	if (!buf_failed(out) && !utf8_valid(buf_str(out), buf_len(out))) {
		/* names, messages and trace strings are bytes as recorded: the prompt is text */
		struct buf t2 = BUF_INIT((size_t)1 << 30);

		buf_text(&t2, buf_str(out), buf_len(out));
		buf_reset(out);
		buf_add(out, buf_str(&t2), buf_len(&t2));
		buf_free(&t2);
	}
	return buf_failed(out) ? -ENOBUFS : 0;
}

void utf8_sanitize(char *s)
{
	unsigned char *p = (unsigned char *)s;

	while (*p) {
		size_t n, k;
		uint32_t cp;

		if (*p < 0x80) {
			p++;
			continue;
		}
		if ((*p & 0xe0) == 0xc0) {
			n = 1; cp = *p & 0x1f;
		} else if ((*p & 0xf0) == 0xe0) {
			n = 2; cp = *p & 0x0f;
		} else if ((*p & 0xf8) == 0xf0) {
			n = 3; cp = *p & 0x07;
		} else {
			*p++ = '?';
			continue;
		}
		for (k = 1; k <= n; k++) {
			if ((p[k] & 0xc0) != 0x80)
				break;
			cp = cp << 6 | (p[k] & 0x3f);
		}
		if (k <= n || (n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) ||
		    (n == 3 && (cp < 0x10000 || cp > 0x10ffff)) || (cp >= 0xd800 && cp <= 0xdfff)) {
			*p++ = '?';
			continue;
		}
		p += n + 1;
	}
}

char *prompt_make(const struct fh_run *run, const struct fh_test *t,
		  const char *const *literals, int *nredacted)
{
	struct buf raw = BUF_INIT(PROMPT_MAX_BYTES), red = BUF_INIT(2 * PROMPT_MAX_BYTES);
	char *ret = NULL;
	int n;

	*nredacted = 0;
	if (prompt_build(run, t, &raw))
		goto out;
	n = redact(&red, buf_str(&raw), literals);
	if (n < 0)
		goto out;
	*nredacted = n;
	ret = buf_detach(&red);
	utf8_sanitize(ret);
out:
	buf_free(&raw);
	buf_free(&red);
	return ret;
}

char *prompt_request_body(const char *model, int max_tokens, const char *prompt)
{
	cJSON *root = cJSON_CreateObject(), *msgs, *msg;
	char *ret = NULL;

	if (!root)
		return NULL;
	if (!cJSON_AddStringToObject(root, "model", model) ||
	    !cJSON_AddNumberToObject(root, "max_tokens", max_tokens) ||
	    !cJSON_AddStringToObject(root, "system", prompt_system) ||
	    !(msgs = cJSON_AddArrayToObject(root, "messages")) ||
	    !(msg = cJSON_CreateObject()))
		goto out;
	cJSON_AddItemToArray(msgs, msg);
	if (!cJSON_AddStringToObject(msg, "role", "user") ||
	    !cJSON_AddStringToObject(msg, "content", prompt))
		goto out;
	ret = cJSON_PrintUnformatted(root);
out:
	cJSON_Delete(root);
	return ret;
}
