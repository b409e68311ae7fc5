/* SPDX-License-Identifier: MIT */
/*
 * Order-dependent tests: candidates from the footprint, a bisection window when there is none,
 * the replay results read back, and the evidence of the `order` diagnosis (order.h has the
 * rules); what the replays are given, candidates.json, is written by order_candidates.c. Everything allocates from run->arena except short-lived scratch arrays.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "files.h"
#include "footprint.h"
#include "hmap.h"
#include "jsonval.h"
#include "order.h"
#include "stages.h"

/* ---- state keys ---- */

/* The id of a piece of state (its key_of() text) in keys, -1 when none left it. */
static int key_id(const struct hmap *keys, const char *k)
{
	size_t v;

	return hmap_str_get(keys, k, &v) ? (int)v : -1;
}

/* ---- helpers ---- */

static const char *key_of(struct arena *A, enum fh_key_kind k, const char *key)
{
	return arena_printf(A, "%d:%s", (int)k, key);
}

static int cmp_seq(const void *x, const void *y)
{
	const struct fh_attempt *a = *(const struct fh_attempt *const *)x;
	const struct fh_attempt *b = *(const struct fh_attempt *const *)y;

	if (a->source != b->source)
		return a->source < b->source ? -1 : 1;
	if (a->pid != b->pid)
		return a->pid < b->pid ? -1 : 1;
	if (a->start_ns != b->start_ns)
		return a->start_ns < b->start_ns ? -1 : 1;
	return 0;
}

/* What a victim's attempt started with: for one key, the attempt that left it last. */
struct pre {
	const struct fh_attempt *at;     /* the victim's attempt */
	int key;
	const struct fh_attempt *writer;
	const struct fh_foot_left *left;
};

struct vstate {                       /* per test */
	int *reads; size_t nreads, creads; /* key ids its attempts read */
	struct pre *pre; size_t npre, cpre;
};

struct writer {
	const struct fh_attempt *at;
	const struct fh_foot_left *left;
};

static void add_int(int **v, size_t *n, size_t *cap, int x)
{
	for (size_t i = 0; i < *n; i++)
		if ((*v)[i] == x)
			return;
	GROW(*v, *cap, *n + 1);
	(*v)[(*n)++] = x;
}

/* ---- the replay results (RUN_DIR/replay.json) ---- */

struct replay_res {
	const char *victim, *candidate, *role, *found_by, *why, *repro;
	int confirmed;       /* 1, 0, -1 */
	int window;
};

static size_t load_replay(struct arena *A, const char *run_dir, struct replay_res **out)
{
	char *path = arena_printf(A, "%s/replay.json", run_dir), *data = NULL;
	size_t len = 0, n = 0;
	cJSON *root;
	const cJSON *res, *it;

	*out = NULL;
	if (read_file(path, 16u << 20, &data, &len))
		return 0;
	root = cJSON_ParseWithLength(data, len);
	free(data);
	res = json_get(root, "results");
	if (!cJSON_IsObject(root) || !cJSON_IsArray(res)) {
		if (root || len)
			warning("%s: not a replay document; replay results ignored", path);
		cJSON_Delete(root);
		return 0;
	}
	size_t cap = (size_t)cJSON_GetArraySize(res);
	*out = arena_alloc(A, sizeof(**out) * (cap ? cap : 1));
	cJSON_ArrayForEach(it, res) {
		const cJSON *c = json_get(it, "confirmed");
		if (!cJSON_IsObject(it) || !json_get_str(it, "victim") || n >= cap)
			continue;
		(*out)[n++] = (struct replay_res){
			arena_strdup(A, json_get_str(it, "victim")), arena_strdup(A, json_get_str(it, "candidate")),
			arena_strdup(A, json_get_str(it, "role")), arena_strdup(A, json_get_str(it, "found_by")),
			arena_strdup(A, json_get_str(it, "why")), arena_strdup(A, json_get_str(it, "repro")),
			cJSON_IsTrue(c) ? 1 : cJSON_IsFalse(c) ? 0 : -1,
			json_get_int(it, "window", 0) };
	}
	cJSON_Delete(root);
	return n;
}

static const char *replay_line(struct arena *A, const struct replay_res *r, const char *victim)
{
	if (r->confirmed == 1)
		return !strcmp(r->role ? r->role : "", "state-setter") ?
			arena_printf(A, "confirmed by replay: %s failed alone and passed after it",
				     victim) :
			arena_printf(A, "confirmed by replay: %s passed alone and failed after it",
				     victim);
	if (r->confirmed == 0)
		return arena_printf(A, "refuted by replay: %s", r->why ? r->why : "");
	return arena_printf(A, "replay inconclusive: %s", r->why ? r->why : "no result");
}

/* ---- the walk ---- */

struct cand {
	const struct fh_test *x;
	int key;
	const struct fh_foot_left *left;
	const struct fh_attempt *writer;
	bool setter;
	int fd, pd;           /* failing / passing attempts of the victim that started with it */
	int ff, pf;           /* ... whose read of the key found it there */
	const char *how;
	double score;
};

static int cmp_cand(const void *x, const void *y)
{
	const struct cand *a = x, *b = y;
	if (a->score != b->score)
		return a->score > b->score ? -1 : 1;
	return strcmp(a->x->nodeid, b->x->nodeid);
}

static const char *read_how(const struct fh_test *v, enum fh_key_kind kind, const char *key)
{
	for (size_t i = 0; i < v->nattempts; i++) {
		const struct fh_footprint *f = v->attempts[i].foot;
		for (size_t k = 0; f && k < f->nreads; k++)
			if (f->reads[k].kind == kind && !strcmp(f->reads[k].key, key))
				return f->reads[k].how;
	}
	return NULL;
}

static int read_found(const struct fh_attempt *a, enum fh_key_kind kind, const char *key)
{
	const struct fh_footprint *f = a->foot;
	for (size_t k = 0; f && k < f->nreads; k++)
		if (f->reads[k].kind == kind && !strcmp(f->reads[k].key, key))
			return f->reads[k].found;
	return -1;
}

static const char *evidence_line(struct arena *A, const struct fh_test *v, const struct cand *c,
				 int nf, int np)
{
	const char *left = footprint_left_text(A, c->left);
	const struct fh_foot_left *l = c->left;
	const char *what;

	switch (l->kind) {
	case FH_KEY_CWD:
		what = arena_printf(A, "%s used paths relative to it (%s)", v->nodeid,
				    c->how ? c->how : "relative paths");
		break;
	case FH_KEY_THREAD:
		what = arena_printf(A, "%s started while they were still running", v->nodeid);
		break;
	case FH_KEY_PORT:
		what = arena_printf(A, "%s used port %s (%s)", v->nodeid, l->key + 1,
				    c->how ? c->how : "bind");
		break;
	case FH_KEY_ENV:
		what = arena_printf(A, "%s read %s (%s)", v->nodeid, l->key,
				    c->how ? c->how : "read");
		break;
	default:
		what = arena_printf(A, "%s %s %s", v->nodeid, c->how ? c->how : "read", l->key);
		break;
	}
	if (!c->setter)
		return arena_printf(A, "%s %s and did not undo it (attempt %d%s); %s: %d/%d failing "
				    "attempts started after it, %d/%d passing attempts did%s",
				    c->x->nodeid, left, c->writer->attempt,
				    c->writer->round ? arena_printf(A, ", round %d",
								    c->writer->round) : "",
				    what, c->fd, nf, c->pd, np,
				    c->ff + c->pf ? arena_printf(A, " (found it there: %d failing, %d "
								"passing)", c->ff, c->pf) : "");
	return arena_printf(A, "%s %s (attempt %d%s); %s: %d/%d passing attempts started after it, "
			    "%d/%d failing attempts did (they ran before it)", c->x->nodeid, left,
			    c->writer->attempt,
			    c->writer->round ? arena_printf(A, ", round %d", c->writer->round) : "",
			    what, c->pd, np, c->fd, nf);
}

/* A file or directory the candidate created in one attempt and rewrote later: name the
 * creation (what the victim's first failing attempt really inherited). */
static void created_first(struct cand *c)
{
	if (c->left->kind != FH_KEY_FILE && c->left->kind != FH_KEY_DIR)
		return;
	for (size_t i = 0; i < c->x->nattempts; i++) {
		const struct fh_attempt *a = &c->x->attempts[i];
		for (size_t k = 0; a->foot && k < a->foot->nleft; k++) {
			const struct fh_foot_left *l = &a->foot->left[k];
			if (l->kind == c->left->kind && !strcmp(l->key, c->left->key) &&
			    !strcmp(l->what, "created")) {
				c->left = l;
				c->writer = a;
				return;
			}
		}
	}
}

/* The test left state behind that it reads itself: its own footprint explains a switch from
 * passing to failing (self-pollution, the `state` kind), no other test needs to be found. */
static bool reads_own_leftovers(const struct fh_test *t)
{
	for (size_t i = 0; i < t->nattempts; i++) {
		const struct fh_footprint *f = t->attempts[i].foot;
		for (size_t k = 0; f && k < f->nleft; k++) {
			const struct fh_foot_left *l = &f->left[k];
			if (l->kind == FH_KEY_MODULE)
				continue;
			for (size_t j = 0; j < t->nattempts; j++) {
				const struct fh_footprint *g = t->attempts[j].foot;
				for (size_t q = 0; g && q < g->nreads; q++)
					if (g->reads[q].kind == l->kind && !strcmp(g->reads[q].key, l->key))
						return true;
			}
		}
	}
	return false;
}

void order_run(struct fh_run *run)
{
	struct arena *A = &run->arena;
	struct hmap keys = HMAP_INIT;
	const struct fh_attempt **seq = NULL;
	struct fh_foot_left **kleft = NULL;   /* a left item per key id, for its kind and key */
	size_t nseq = 0, cseq = 0, nkeys = 0, ckleft = 0;
	struct vstate *vs;
	struct replay_res *rr = NULL;
	size_t nrr;
	int thread_key;

	/* every attempt in run order, per process; written keys */
	for (size_t ti = 0; ti < run->ntests; ti++) {
		struct fh_test *t = &run->tests[ti];
		for (size_t i = 0; i < t->nattempts; i++) {
			struct fh_attempt *a = &t->attempts[i];
			a->test = t;
			if (a->pid <= 0 || !a->start_ns)
				continue;
			GROW(seq, cseq, nseq + 1);
			seq[nseq++] = a;
			for (size_t k = 0; a->foot && k < a->foot->nleft; k++) {
				struct fh_foot_left *l = &a->foot->left[k];
				const char *kk = key_of(A, l->kind, l->key);
				if (l->kind == FH_KEY_MODULE || key_id(&keys, kk) >= 0)
					continue;
				hmap_str(&keys, kk, true, NULL)->val = nkeys;
				GROW(kleft, ckleft, nkeys + 1);
				kleft[nkeys++] = l;
			}
		}
	}
	if (!nseq || !nkeys) {
		free(seq);
		free(kleft);
		hmap_free(&keys);
		goto windows_only;
	}
	qsort(seq, nseq, sizeof(*seq), cmp_seq);
	thread_key = key_id(&keys, key_of(A, FH_KEY_THREAD, "threads"));
	vs = xcalloc(run->ntests, sizeof(*vs));
	/* what each flaky test reads, of what some attempt left behind */
	for (size_t ti = 0; ti < run->ntests; ti++) {
		struct fh_test *t = &run->tests[ti];
		if (t->verdict != FH_FLAKY)
			continue;
		for (size_t i = 0; i < t->nattempts; i++) {
			const struct fh_footprint *f = t->attempts[i].foot;
			for (size_t k = 0; f && k < f->nreads; k++) {
				int id = key_id(&keys, key_of(A, f->reads[k].kind, f->reads[k].key));
				if (id >= 0)
					add_int(&vs[ti].reads, &vs[ti].nreads, &vs[ti].creads, id);
			}
		}
		if (thread_key >= 0)
			add_int(&vs[ti].reads, &vs[ti].nreads, &vs[ti].creads, thread_key);
	}
	{
		struct writer *state = xcalloc(nkeys, sizeof(*state));
		size_t start = 0;
		while (start < nseq) {
			size_t end = start;
			int base = -1;
			while (end < nseq && seq[end]->source == seq[start]->source &&
			       seq[end]->pid == seq[start]->pid)
				end++;
			memset(state, 0, nkeys * sizeof(*state));
			for (size_t i = start; i < end; i++) {
				const struct fh_attempt *a = seq[i];
				size_t ti = (size_t)(a->test - run->tests);
				int thr = a->trace ? a->trace->threads : -1;

				if (thr >= 0 && (base < 0 || thr < base))
					base = thr;
				for (size_t r = 0; r < vs[ti].nreads; r++) {
					int id = vs[ti].reads[r];
					const struct writer *w = &state[id];
					if (!w->at || w->at->test == a->test)
						continue;
					if (id == thread_key && thr >= 0 && thr <= base)
						continue;   /* the leftover threads are gone */
					GROW(vs[ti].pre, vs[ti].cpre, vs[ti].npre + 1);
					vs[ti].pre[vs[ti].npre++] = (struct pre){ a, id, w->at, w->left };
				}
				for (size_t k = 0; a->foot && k < a->foot->nleft; k++) {
					const struct fh_foot_left *l = &a->foot->left[k];
					int id = l->kind == FH_KEY_MODULE ? -1 :
						key_id(&keys, key_of(A, l->kind, l->key));
					if (id >= 0)
						state[id] = (struct writer){ a, l };
				}
				/* who ran before, for the report's strip */
				{
					struct fh_attempt *m = (struct fh_attempt *)a;
					size_t nb = i - start < FH_ORDER_BEFORE ? i - start : FH_ORDER_BEFORE;
					if (nb) {
						m->before = arena_alloc(A, sizeof(*m->before) * nb);
						for (size_t b = 0; b < nb; b++)
							m->before[b] = seq[i - 1 - b];
						m->nbefore = nb;
					}
				}
			}
			start = end;
		}
		free(state);
	}
	nrr = load_replay(A, run->run_dir, &rr);
	/* candidates per flaky test */
	for (size_t ti = 0; ti < run->ntests; ti++) {
		struct fh_test *v = &run->tests[ti];
		struct cand *cs = NULL;
		size_t nc = 0, cc = 0;
		int nf = 0, np = 0;

		if (!vs[ti].npre || reads_own_leftovers(v))
			continue;   /* nothing read, or its own leftovers explain it (`state`) */
		for (size_t i = 0; i < v->nattempts; i++) {
			nf += attempt_failed(&v->attempts[i]);
			np += attempt_passed(&v->attempts[i]);
		}
		for (size_t p = 0; p < vs[ti].npre; p++) {
			const struct pre *pr = &vs[ti].pre[p];
			struct cand *c = NULL;
			for (size_t k = 0; k < nc; k++)
				if (cs[k].x == pr->writer->test && cs[k].key == pr->key)
					c = &cs[k];
			if (!c) {
				GROW(cs, cc, nc + 1);
				c = &cs[nc++];
				memset(c, 0, sizeof(*c));
				c->x = pr->writer->test;
				c->key = pr->key;
				c->left = pr->left;
				c->writer = pr->writer;
			}
			if (pr->writer->start_ns < c->writer->start_ns || c->writer->test != c->x)
				c->writer = pr->writer, c->left = pr->left;
			int found = read_found(pr->at, pr->left->kind, pr->left->key);
			if (attempt_failed(pr->at)) {
				c->fd++;
				c->ff += found == 1;
			} else if (attempt_passed(pr->at)) {
				c->pd++;
				c->pf += found == 1;
			}
		}
		size_t keep = 0;
		for (size_t k = 0; k < nc; k++) {
			struct cand *c = &cs[k];
			if (fh_separates(c->fd, nf, c->pd, np)) {
				c->score = (double)c->fd / nf - (np ? (double)c->pd / np : 0);
			} else if (fh_separates(c->pd, np, c->fd, nf)) {
				c->setter = true;
				c->score = (double)c->pd / np - (nf ? (double)c->fd / nf : 0) - 0.01;
			} else {
				continue;
			}
			c->how = read_how(v, c->left->kind, c->left->key);
			created_first(c);
			cs[keep++] = *c;
		}
		nc = keep;
		/* threads are an implicit read (every attempt "reads" them): a test whose attempts
		 * read what another test left is better explained by that */
		{
			bool explicit_read = false;
			for (size_t k = 0; k < nc; k++)
				explicit_read |= cs[k].left->kind != FH_KEY_THREAD;
			if (explicit_read) {
				size_t w = 0;
				for (size_t k = 0; k < nc; k++)
					if (cs[k].left->kind != FH_KEY_THREAD)
						cs[w++] = cs[k];
				nc = w;
			}
		}
		if (nc) {
			struct fh_order_test *o = arena_alloc(A, sizeof(*o));
			qsort(cs, nc, sizeof(*cs), cmp_cand);
			/* one candidate per test: its strongest key */
			size_t np2 = 0;
			o->polluters = arena_alloc(A, sizeof(*o->polluters) * FH_ORDER_MAX_CANDIDATES);
			for (size_t k = 0; k < nc && np2 < FH_ORDER_MAX_CANDIDATES; k++) {
				bool dup = false;
				for (size_t q = 0; q < np2; q++)
					dup |= !strcmp(o->polluters[q].nodeid, cs[k].x->nodeid);
				if (dup)
					continue;
				struct fh_polluter *pl = &o->polluters[np2++];
				pl->nodeid = cs[k].x->nodeid;
				pl->role = cs[k].setter ? "state-setter" : "polluter";
				pl->found_by = "footprint";
				pl->left = footprint_left_text(A, cs[k].left);
				pl->evidence = arena_alloc(A, sizeof(*pl->evidence) * 2);
				pl->evidence[pl->nevidence++] = evidence_line(A, v, &cs[k], nf, np);
				pl->confirmed = -1;
			}
			o->npolluters = np2;
			v->order = o;
		}
		free(cs);
	}
	for (size_t ti = 0; ti < run->ntests; ti++) {
		free(vs[ti].reads);
		free(vs[ti].pre);
	}
	free(vs);
	free(seq);
	free(kleft);
	hmap_free(&keys);
	goto replays;

windows_only:
	nrr = load_replay(A, run->run_dir, &rr);
replays:
	/* bisection windows: tests without a footprint candidate whose attempts in one process
	 * passed and then failed; the tests that ran in between */
	{
		const struct fh_attempt **all = NULL;
		size_t nall = 0, call = 0;
		for (size_t ti = 0; ti < run->ntests; ti++)
			for (size_t i = 0; i < run->tests[ti].nattempts; i++) {
				struct fh_attempt *a = &run->tests[ti].attempts[i];
				a->test = &run->tests[ti];
				if (a->pid > 0 && a->start_ns) {
					GROW(all, call, nall + 1);
					all[nall++] = a;
				}
			}
		if (nall)
			qsort(all, nall, sizeof(*all), cmp_seq);
		/* each test's attempts as positions in `all`, in run order: the scans below visit
		 * a test's own attempts and the run between two of them, not the whole run once per
		 * test (995 flaky tests x 100,000 attempts took 0.7 s) */
		size_t *off = xcalloc(run->ntests + 1, sizeof(*off));
		size_t *pos = xmalloc((nall ? nall : 1) * sizeof(*pos));
		for (size_t i = 0; i < nall; i++)
			off[(size_t)(all[i]->test - run->tests) + 1]++;
		for (size_t ti = 0; ti < run->ntests; ti++)
			off[ti + 1] += off[ti];
		{
			size_t *fill = xmalloc((run->ntests ? run->ntests : 1) * sizeof(*fill));
			memcpy(fill, off, run->ntests * sizeof(*fill));
			for (size_t i = 0; i < nall; i++)
				pos[fill[all[i]->test - run->tests]++] = i;
			free(fill);
		}
		for (size_t ti = 0; ti < run->ntests; ti++) {
			struct fh_test *v = &run->tests[ti];
			const struct fh_attempt *last_pass = NULL, *first_fail = NULL;
			size_t lp = 0, ff = 0;
			/* also with footprint candidates: the replays bisect when they are all refuted */
			if (v->verdict != FH_FLAKY || reads_own_leftovers(v))
				continue;
			for (size_t j = off[ti]; j < off[ti + 1]; j++) {
				const struct fh_attempt *a = all[pos[j]];
				if (attempt_passed(a)) {
					if (first_fail)
						break;
					last_pass = a;
					lp = pos[j];
				} else if (attempt_failed(a) && last_pass && !first_fail &&
					   a->pid == last_pass->pid && a->source == last_pass->source) {
					first_fail = a;
					ff = pos[j];
				}
			}
			if (!last_pass || !first_fail)
				continue;
			/* the test must switch: every attempt after the first failure in that process fails */
			bool sw = true;
			int fails = 0;
			for (size_t j = off[ti]; j < off[ti + 1]; j++) {
				const struct fh_attempt *a = all[pos[j]];
				if (a->pid != first_fail->pid || a->start_ns < first_fail->start_ns)
					continue;
				if (attempt_passed(a))
					sw = false;
				fails += attempt_failed(a);
			}
			if (!sw || fails < 2)
				continue;
			struct fh_order_test *o = v->order ? v->order : arena_alloc(A, sizeof(*o));
			const char **w = NULL;
			size_t nw = 0;
			/* sorted by process and start: what ran in that process between the two lies
			 * between their positions */
			for (size_t i = lp + 1; i < ff; i++) {
				const struct fh_attempt *a = all[i];
				if (a->pid != first_fail->pid || a->source != first_fail->source ||
				    a->start_ns <= last_pass->start_ns || a->start_ns >= first_fail->start_ns ||
				    a->test == v)
					continue;
				bool dup = false;
				for (size_t q = 0; q < nw; q++)
					dup |= w[q] == a->test->nodeid;
				if (dup)
					continue;
				if (!w)
					w = arena_alloc(A, sizeof(*w) * nall);
				w[nw++] = a->test->nodeid;
			}
			if (!nw)
				continue;
			o->window = w;
			o->nwindow = nw;
			v->order = o;
			for (size_t j = off[ti]; j < off[ti + 1]; j++) {
				/* who ran before: set above when any footprint was known; else here */
				size_t q = pos[j];
				struct fh_attempt *a = (struct fh_attempt *)all[q];
				if (a->nbefore)
					continue;
				size_t nb = 0;
				a->before = arena_alloc(A, sizeof(*a->before) * FH_ORDER_BEFORE);
				for (size_t b = q; b > 0 && nb < FH_ORDER_BEFORE; b--) {
					const struct fh_attempt *p = all[b - 1];
					if (p->pid != a->pid || p->source != a->source)
						break;
					a->before[nb++] = p;
				}
				a->nbefore = nb;
			}
		}
		free(off);
		free(pos);
		free(all);
	}
	/* replay results: confirmation of footprint candidates, polluters found by bisection */
	for (size_t ti = 0; ti < run->ntests; ti++) {
		struct fh_test *v = &run->tests[ti];
		struct fh_order_test *o = v->order;
		for (size_t k = 0; k < nrr; k++) {
			const struct replay_res *r = &rr[k];
			if (strcmp(r->victim, v->nodeid))
				continue;
			if (!o)
				o = v->order = arena_alloc(A, sizeof(*o));
			bool matched = false;
			for (size_t q = 0; q < o->npolluters; q++) {
				struct fh_polluter *pl = &o->polluters[q];
				if (!r->candidate || strcmp(pl->nodeid, r->candidate))
					continue;
				pl->confirmed = r->confirmed;
				pl->repro = r->repro;
				pl->replay = replay_line(A, r, v->nodeid);
				matched = true;
			}
			if (matched || !r->candidate || !r->found_by || strcmp(r->found_by, "bisection"))
				continue;
			struct fh_polluter *n = arena_alloc(A, sizeof(*n) * (o->npolluters + 1));
			if (o->npolluters)
				memcpy(n, o->polluters, sizeof(*n) * o->npolluters);
			struct fh_polluter *pl = &n[o->npolluters];
			pl->nodeid = r->candidate;
			pl->role = "polluter";
			pl->found_by = "bisection";
			pl->confirmed = r->confirmed;
			pl->repro = r->repro;
			pl->replay = replay_line(A, r, v->nodeid);
			pl->left = "state the trace did not show (Python objects: a module-level registry, "
				"a class attribute, a cache)";
			pl->evidence = arena_alloc(A, sizeof(*pl->evidence) * 2);
			pl->evidence[pl->nevidence++] = arena_printf(A,
				"found by bisection over the %d test%s that ran between the last passing "
				"and the first failing attempt of %s; no footprint of it was recorded "
				"(Python-only state?)", r->window, r->window == 1 ? "" : "s", v->nodeid);
			o->polluters = n;
			o->npolluters++;
		}
		if (!o)
			continue;
		/* the decision */
		const struct fh_polluter *best = NULL;
		for (size_t q = 0; q < o->npolluters; q++) {
			const struct fh_polluter *pl = &o->polluters[q];
			o->replayed += pl->confirmed >= 0;
			if (pl->confirmed == 1 && (!best || best->confirmed != 1))
				best = pl;
			else if (pl->confirmed == -1 && !strcmp(pl->found_by, "footprint") && !best)
				best = pl;
		}
		if (!best)
			continue;
		o->decides = true;
		bool setter = !strcmp(best->role, "state-setter");
		const char *conf = best->confirmed == 1 ? " (confirmed by replay)" :
			" (not confirmed by a replay)";
		if (!strcmp(best->found_by, "bisection"))
			o->summary = arena_printf(A, "%s makes it fail%s: found by bisection; what it "
						  "leaves behind was not in the trace (Python-only "
						  "state such as a module-level registry).", best->nodeid,
						  conf);
		else if (setter)
			o->summary = arena_printf(A, "It passes only after %s ran, which %s%s.",
						  best->nodeid, best->left, conf);
		else
			o->summary = arena_printf(A, "%s makes it fail: it %s and did not undo "
						  "it%s.", best->nodeid, best->left, conf);
		size_t ne = 0;
		o->evidence = arena_alloc(A, sizeof(*o->evidence) * (3 * o->npolluters + 1));
		for (size_t q = 0; q < o->npolluters; q++) {
			const struct fh_polluter *pl = &o->polluters[q];
			for (size_t e = 0; e < pl->nevidence; e++)
				o->evidence[ne++] = pl->evidence[e];
			if (pl->replay)
				o->evidence[ne++] = arena_printf(A, "%s: %s", pl->nodeid, pl->replay);
			if (pl->repro && pl->confirmed == 1)
				o->evidence[ne++] = arena_printf(A, "reproduce: %s", pl->repro);
		}
		o->nevidence = ne;
	}
}

/* ---- state: footprint evidence of self-pollution ---- */

static int cmp_int(const void *x, const void *y)
{
	int a = *(const int *)x, b = *(const int *)y;
	return (a > b) - (a < b);
}

size_t order_state_lines(struct arena *A, const struct fh_test *t, const char **out, size_t max)
{
	size_t n = 0, nc = 0;
	int *thr = xmalloc(sizeof(int) * (t->nattempts ? t->nattempts : 1));
	int *fds = xmalloc(sizeof(int) * (t->nattempts ? t->nattempts : 1));

	for (size_t i = 0; i < t->nattempts; i++) {
		const struct fh_footprint *f = t->attempts[i].foot;
		if (f && f->counts) {
			thr[nc] = f->threads_left;
			fds[nc++] = f->fds_left;
		}
	}
	if (nc >= 2 && n < max) {
		qsort(thr, nc, sizeof(*thr), cmp_int);
		qsort(fds, nc, sizeof(*fds), cmp_int);
		int mt = thr[nc / 2], mf = fds[nc / 2];
		if (mt > 0 || mf > 0)
			out[n++] = arena_printf(A, "each attempt leaves %s%s%s behind (median over %zu "
						"traced attempts)",
						mt > 0 ? arena_printf(A, "%d more thread%s", mt,
								      mt == 1 ? "" : "s") : "",
						mt > 0 && mf > 0 ? " and " : "",
						mf > 0 ? arena_printf(A, "%d more open fd%s", mf,
								      mf == 1 ? "" : "s") : "",
						nc);
	}
	free(thr);
	free(fds);
	/* what most attempts leave behind (the first attempt's list, when at least half agree) */
	const struct fh_footprint *f0 = NULL;
	for (size_t i = 0; i < t->nattempts && !f0; i++)
		if (t->attempts[i].foot && t->attempts[i].foot->nleft)
			f0 = t->attempts[i].foot;
	for (size_t k = 0; f0 && k < f0->nleft && n < max; k++) {
		const struct fh_foot_left *l = &f0->left[k];
		size_t same = 0;
		if (l->kind == FH_KEY_MODULE)
			continue;
		for (size_t i = 0; i < t->nattempts; i++) {
			const struct fh_footprint *f = t->attempts[i].foot;
			for (size_t q = 0; f && q < f->nleft; q++)
				same += f->left[q].kind == l->kind && !strcmp(f->left[q].key, l->key);
		}
		if (same * 2 >= t->nattempts && same >= 2)
			out[n++] = arena_printf(A, "%zu/%zu attempts %s", same, t->nattempts,
						footprint_left_text(A, l));
	}
	return n;
}
