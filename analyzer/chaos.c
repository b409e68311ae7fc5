/* SPDX-License-Identifier: MIT */
/*
 * Chaos mode in the analysis (chaos_stage.h says what and why): the record's "chaos" object, the
 * trace's perturbations per attempt, and per test the two flake rates, the "only under chaos"
 * marking, what failing attempts had injected that passing ones had not, and the replay command.
 */
#include <stdlib.h>
#include <string.h>

#include "chaos_stage.h"
#include "fhtrace_format.h"
#include "summary_int.h"

_Static_assert((int)FH_CHAOS_K_BEFORE == (int)FHT_CHAOS_DELAY_BEFORE &&
	       (int)FH_CHAOS_K_AFTER == (int)FHT_CHAOS_DELAY_AFTER &&
	       (int)FH_CHAOS_K_YIELD == (int)FHT_CHAOS_YIELD, "the model keeps the trace's kinds");

#define MAX_SIGS 64      /* kinds of perturbation compared per test */
#define SHOWN_SIGS 3     /* of them in the sentence and the JSON */
#define MAX_DELAY_NS (3600LL * 1000000000)

struct fh_chaos_raw {
	struct fh_chaos_inj *inj; size_t n, cap;
	int total;
	int64_t total_ns;
};

void chaos_trace_add(struct fh_chaos_raw **rawp, const struct fh_event *e, int64_t begin_ns,
		     int where)
{
	if (e->chaos == FHT_CHAOS_PLAN)
		return;
	struct fh_chaos_raw *raw = *rawp;
	if (!raw) {
		raw = xcalloc(1, sizeof(*raw));
		*rawp = raw;
	}
	raw->total++;
	/* hostile traces: a delay counts up to an hour, the sum stays far from overflow */
	if (e->chaos != FHT_CHAOS_YIELD && e->timeout_ns > 0 && e->timeout_ns <= MAX_DELAY_NS &&
	    raw->total_ns < INT64_MAX / 2)
		raw->total_ns += e->timeout_ns;
	if (raw->n >= FH_CHAOS_MAX_INJ)
		return;
	GROW(raw->inj, raw->cap, raw->n + 1);
	struct fh_chaos_inj *in = &raw->inj[raw->n++];
	in->call = e->call_name ? e->call_name : e->chaos == FHT_CHAOS_YIELD ? "lock release" : "?";
	in->kind = e->chaos;
	in->delay_s = e->chaos == FHT_CHAOS_YIELD || e->timeout_ns < 0 ||
		e->timeout_ns > MAX_DELAY_NS ? 0 : (double)e->timeout_ns / 1e9;
	in->at_s = begin_ns != INT64_MAX && e->start_ns > begin_ns ?
		(double)(e->start_ns - begin_ns) / 1e9 : 0;
	in->where = where;
	in->targeted = e->result > 0;
}

void chaos_raw_free(struct fh_chaos_raw *raw)
{
	if (!raw)
		return;
	free(raw->inj);
	free(raw);
}

void chaos_trace_finish(struct fh_attempt *a, struct arena *A, struct fh_chaos_raw *raw)
{
	if (!raw)
		return;
	if (!a->chaos)
		a->chaos = arena_alloc(A, sizeof(*a->chaos));   /* a plan given by hand (FH_CHAOS) */
	struct fh_attempt_chaos *c = a->chaos;
	c->trace_injected = raw->total;
	c->trace_injected_s = (double)raw->total_ns / 1e9;
	c->inj = arena_alloc(A, sizeof(*c->inj) * (raw->n ? raw->n : 1));
	if (raw->n)
		memcpy(c->inj, raw->inj, sizeof(*c->inj) * raw->n);
	c->ninj = raw->n;
	chaos_raw_free(raw);
}

/* ---- per test ---- */

static const char *const where_words[] = { "in the test thread", "in another thread",
	"in a child process" };

static const char *sig_text(struct arena *A, const struct fh_chaos_inj *in)
{
	int w = in->where >= 0 && in->where <= 2 ? in->where : 1;
	if (in->kind == FHT_CHAOS_YIELD)
		return arena_printf(A, "a yield after %s, %s", in->call, where_words[w]);
	return arena_printf(A, "%s delayed %s, %s", in->call,
			    in->kind == FHT_CHAOS_DELAY_BEFORE ? "before it started" :
			    "after it returned", where_words[w]);
}

/* Shell words: 'text' with each ' written as '\''. */
static void sh_quote(struct buf *b, const char *s)
{
	buf_putc(b, '\'');
	for (; *s; s++) {
		if (*s == '\'')
			buf_puts(b, "'\\''");
		else
			buf_putc(b, *s);
	}
	buf_putc(b, '\'');
}

static void fmt_ms(struct buf *b, double s)
{
	if (s >= 0.001)
		buf_printf(b, "%.3g ms", s * 1e3);
	else
		buf_printf(b, "%.3g us", s * 1e6);
}

static int cmp_sig(const void *x, const void *y)
{
	const struct fh_chaos_sig *a = x, *b = y;
	/* most telling first: in many failing attempts and few passing ones */
	int da = a->in_failing * 4 - a->in_passing, db = b->in_failing * 4 - b->in_passing;
	if (da != db)
		return db - da;
	return strcmp(a->text, b->text);
}

static void test_chaos(struct fh_run *run, struct fh_test *t)
{
	struct arena *A = &run->arena;
	struct fh_test_chaos *tc = NULL;
	struct fh_chaos_sig sigs[MAX_SIGS];
	size_t nsigs = 0;
	int pert_passed = 0;
	const struct fh_attempt *first_fail = NULL;

	for (size_t i = 0; i < t->nattempts; i++) {
		const struct fh_attempt *a = &t->attempts[i];
		const struct fh_attempt_chaos *c = a->chaos;
		if (!c)
			continue;
		if (!tc) {
			tc = arena_alloc(A, sizeof(*tc));
			tc->mode = c->mode;
			tc->seed = c->seed;
			tc->replay = c->mode && !strcmp(c->mode, "replay");
		}
		bool failed = a->outcome == FH_FAILED || a->outcome == FH_ERROR;
		bool passed = a->outcome == FH_PASSED && !a->xfail;
		if (!failed && !passed)
			continue;   /* skipped attempts are on neither side */
		if (!c->perturbed) {
			tc->unpert_attempts++;
			tc->unpert_failed += failed;
			continue;
		}
		tc->pert_attempts++;
		tc->pert_failed += failed;
		pert_passed += passed;
		if (failed && !first_fail && c->plan)
			first_fail = a;
		/* each kind of perturbation once per attempt */
		for (size_t k = 0; k < c->ninj; k++) {
			const char *text = sig_text(A, &c->inj[k]);
			size_t s;
			for (s = 0; s < nsigs; s++)
				if (!strcmp(sigs[s].text, text))
					break;
			if (s == nsigs) {
				if (nsigs >= MAX_SIGS)
					continue;
				memset(&sigs[nsigs], 0, sizeof(sigs[0]));
				sigs[nsigs].text = text;
				sigs[nsigs].min_s = 1e9;
				nsigs++;
			}
			struct fh_chaos_sig *g = &sigs[s];
			bool counted = false;
			for (size_t q = 0; q < k; q++)
				if (!strcmp(sig_text(A, &c->inj[q]), text))
					counted = true;
			if (!counted) {
				g->in_failing += failed;
				g->in_passing += passed;
			}
			if (failed && c->inj[k].kind != FHT_CHAOS_YIELD) {
				if (c->inj[k].delay_s < g->min_s)
					g->min_s = c->inj[k].delay_s;
				if (c->inj[k].delay_s > g->max_s)
					g->max_s = c->inj[k].delay_s;
			}
		}
	}
	if (!tc)
		return;
	t->chaos = tc;
	int pn = tc->pert_attempts, un = tc->unpert_attempts;
	tc->pert_rate = pn ? (double)tc->pert_failed / pn : 0;
	tc->unpert_rate = un ? (double)tc->unpert_failed / un : 0;
	tc->only_under_chaos = tc->pert_failed > 0 && tc->unpert_failed == 0 && !tc->replay;

	/* what the failing attempts had injected, most telling first */
	size_t keep = 0;
	for (size_t s = 0; s < nsigs; s++)
		if (sigs[s].in_failing > 0)
			sigs[keep++] = sigs[s];
	qsort(sigs, keep, sizeof(sigs[0]), cmp_sig);
	if (keep > SHOWN_SIGS)
		keep = SHOWN_SIGS;
	if (keep) {
		tc->sigs = arena_alloc(A, sizeof(*tc->sigs) * keep);
		memcpy(tc->sigs, sigs, sizeof(*tc->sigs) * keep);
		tc->nsigs = keep;
	}

	if (first_fail) {
		struct buf b = BUF_INIT(1 << 16);
		tc->repro_attempt = first_fail->attempt;
		/* from the rootdir: the nodeid is relative to it */
		if (run->meta.rootdir && run->meta.rootdir[0]) {
			buf_puts(&b, "cd ");
			sh_quote(&b, run->meta.rootdir);
			buf_puts(&b, " && ");
		}
		buf_puts(&b, "LD_PRELOAD=libfhtrace.so pytest ");
		sh_quote(&b, t->nodeid);
		buf_puts(&b, " --fh --fh-runs 20 --fh-chaos-plan ");
		sh_quote(&b, first_fail->chaos->plan);
		if (!buf_failed(&b))
			tc->reproduce = arena_strdup(A, buf_str(&b));
		buf_free(&b);
	}

	if (!tc->pert_failed && !tc->unpert_failed)
		return;
	struct buf b = BUF_INIT(1 << 16);
	if (tc->replay)
		buf_printf(&b, "chaos replay of one plan: failed %d of %d attempts (scheduling is "
			   "not deterministic: a replay reproduces a failure at this rate)",
			   tc->pert_failed, pn);
	else if (tc->only_under_chaos)
		buf_printf(&b, "fails only under chaos: %d of %d perturbed attempts failed, %d of %d "
			   "unperturbed", tc->pert_failed, pn, tc->unpert_failed, un);
	else
		buf_printf(&b, "under chaos: %d of %d perturbed attempts failed; without it %d of %d",
			   tc->pert_failed, pn, tc->unpert_failed, un);
	for (size_t s = 0; s < tc->nsigs; s++) {
		const struct fh_chaos_sig *g = &tc->sigs[s];
		buf_puts(&b, s ? "; " : (pert_passed ? "; injected in the failing attempts: " :
					 "; injected: "));
		buf_puts(&b, g->text);
		if (g->max_s > 0) {
			buf_puts(&b, " by ");
			fmt_ms(&b, g->min_s);
			if (g->max_s > g->min_s * 1.05) {
				buf_puts(&b, " to ");
				fmt_ms(&b, g->max_s);
			}
		}
		buf_printf(&b, " (%d of %d failing, %d of %d passing)", g->in_failing,
			   tc->pert_failed, g->in_passing, pert_passed);
	}
	if (!buf_failed(&b))
		tc->sentence = arena_strdup(A, buf_str(&b));
	buf_free(&b);

	/* the diagnosis says it too, and how to reproduce */
	struct fh_diagnosis *d = t->diag;
	if (d && tc->sentence) {
		const char **ev = arena_alloc(A, sizeof(*ev) * (d->nevidence + 2));
		if (d->nevidence)
			memcpy(ev, d->evidence, sizeof(*ev) * d->nevidence);
		size_t n = d->nevidence;
		ev[n++] = tc->sentence;
		if (tc->reproduce)
			ev[n++] = arena_printf(A, "reproduce (chaos, attempt %d): %s", tc->repro_attempt,
					       tc->reproduce);
		d->evidence = ev;
		d->nevidence = n;
	}
}

void chaos_run(struct fh_run *run)
{
	for (size_t i = 0; i < run->ntests; i++)
		test_chaos(run, &run->tests[i]);
}

/* ---- JSON ---- */

static const char *kind_name(int kind)
{
	return kind == FHT_CHAOS_DELAY_BEFORE ? "before" : kind == FHT_CHAOS_DELAY_AFTER ? "after" :
		"yield";
}

void chaos_attempt_json(struct buf *b, const struct fh_attempt_chaos *c)
{
	static const char *const where_names[] = { "test", "thread", "process" };
	key(b, "chaos");
	buf_putc(b, '{');
	key(b, "perturbed");
	buf_puts(b, c->perturbed ? "true," : "false,");
	kstr(b, "mode", c->mode);
	kstr(b, "seed", c->seed);
	kstr(b, "plan", c->plan);
	kstr(b, "guide", c->guide);
	kint(b, "injected", c->trace_injected > c->injected ? c->trace_injected : c->injected);
	knum(b, "injected_s", c->trace_injected_s > c->injected_s ? c->trace_injected_s :
	     c->injected_s);
	key(b, "injections");
	buf_putc(b, '[');
	for (size_t i = 0; i < c->ninj; i++) {
		const struct fh_chaos_inj *in = &c->inj[i];
		buf_putc(b, '{');
		kstr(b, "call", in->call);
		kstr(b, "kind", kind_name(in->kind));
		knum(b, "delay_s", in->delay_s);
		knum(b, "at_s", in->at_s);
		kstr(b, "where", where_names[in->where >= 0 && in->where <= 2 ? in->where : 1]);
		key(b, "targeted");
		buf_puts(b, in->targeted ? "true" : "false");
		buf_puts(b, "},");
	}
	close_with(b, ']');
	buf_putc(b, ',');
	close_with(b, '}');
	buf_putc(b, ',');
}

static void side(struct buf *b, const char *k, int n, int failed, double rate)
{
	key(b, k);
	buf_putc(b, '{');
	kint(b, "attempts", n);
	kint(b, "failed", failed);
	knum(b, "flake_rate", rate);
	close_with(b, '}');
	buf_putc(b, ',');
}

void chaos_test_json(struct buf *b, const struct fh_test_chaos *c)
{
	key(b, "chaos");
	if (!c) {
		buf_puts(b, "null,");
		return;
	}
	buf_putc(b, '{');
	kstr(b, "mode", c->mode);
	kstr(b, "seed", c->seed);
	side(b, "perturbed", c->pert_attempts, c->pert_failed, c->pert_rate);
	side(b, "unperturbed", c->unpert_attempts, c->unpert_failed, c->unpert_rate);
	key(b, "only_under_chaos");
	buf_puts(b, c->only_under_chaos ? "true," : "false,");
	key(b, "injected_in_failing");
	buf_putc(b, '[');
	for (size_t i = 0; i < c->nsigs; i++) {
		const struct fh_chaos_sig *g = &c->sigs[i];
		buf_putc(b, '{');
		kstr(b, "what", g->text);
		kint(b, "failing", g->in_failing);
		kint(b, "passing", g->in_passing);
		knum(b, "min_delay_s", g->max_s > 0 ? g->min_s : 0);
		knum(b, "max_delay_s", g->max_s);
		close_with(b, '}');
		buf_putc(b, ',');
	}
	close_with(b, ']');
	buf_putc(b, ',');
	kstr(b, "summary", c->sentence);
	key(b, "reproduce_attempt");
	if (c->repro_attempt)
		buf_int(b, c->repro_attempt);
	else
		buf_puts(b, "null");
	buf_putc(b, ',');
	kstr(b, "reproduce", c->reproduce);
	close_with(b, '}');
	buf_putc(b, ',');
}
