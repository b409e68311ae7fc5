/* SPDX-License-Identifier: MIT */
/*
 * Performance flakes: what a slow attempt's extra time was (perf.cause), after diagnose.c
 * found the test's passing durations unstable (features.c, slow_cut) and split them into slow
 * and fast attempts.
 *
 * The verdict:
 *   - shape: "bimodal" when the sorted passing durations have a 2x, >= 50 ms gap with at least
 *     two attempts on each side, else "heavy-tail" (a few slow attempts far above the median);
 *   - the passing median with a bootstrap 95% interval (1000 resamples, fixed seed: the same
 *     run gives the same interval);
 *   - the run's noise floor: the median, over the run's other tests with >= 3 passing
 *     attempts that are not unstable, of their relative spread (slowest - median) / median;
 *   - the minimum effect: slow median - fast median must reach max(50 ms, 3 x noise floor x
 *     fast median), so that a machine that slows every test a little is not blamed on one.
 * The cause compares the means of the parts of the wall time (perf_where.c) over slow and
 * fast attempts with figures: gc or wait when that part holds at least half of the extra
 * time; else cpu when the test thread's CPU grew by a quarter of the extra or more (memory
 * when most of that CPU was system time with >= 1000 more page faults); else scheduling when
 * run-queue delay holds half; else memory with major faults; else "mixed".
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "perf_cause.h"

#define MIN_EFFECT_S 0.05
#define NOISE_K 3.0
#define BOOT 1000
#define MAX_EV 10

static bool is_pass(const struct fh_attempt *a)
{
	return a->outcome == FH_PASSED;
}

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

/* Two significant digits, like the diagnosis. */
static const char *fs(struct arena *A, double s)
{
	if (s < 0)
		s = 0;
	if (s > 0 && s < 0.001)
		return arena_printf(A, "%.2g ms", s * 1000);
	if (s >= 100)
		return arena_printf(A, "%.0f s", s);
	return arena_printf(A, "%.2g s", s);
}

static double median_sorted(const double *d, size_t n)
{
	if (!n)
		return 0;
	return n % 2 ? d[n / 2] : (d[n / 2 - 1] + d[n / 2]) / 2;
}

/* The k-th smallest of v[0..n) (from 0), v reordered so that v[0..k) are not larger. Three-way
 * partitions: durations repeat values, and equal values must not make it quadratic. Selecting
 * gives sorting's values in linear time. */
static double kth(double *v, size_t n, size_t k)
{
	size_t lo = 0, hi = n;   /* the answer is in v[lo..hi) */
	while (hi - lo > 1) {
		double a = v[lo], b = v[lo + (hi - lo) / 2], c = v[hi - 1];
		double p = a < b ? (b < c ? b : (a < c ? c : a)) : (a < c ? a : (b < c ? c : b));
		size_t lt = lo, i = lo, gt = hi;
		while (i < gt) {
			double t = v[i];
			if (t < p) {
				v[i++] = v[lt];
				v[lt++] = t;
			} else if (t > p) {
				v[i] = v[--gt];
				v[gt] = t;
			} else {
				i++;
			}
		}
		if (k < lt)
			hi = lt;
		else if (k >= gt)
			lo = gt;
		else
			return p;
	}
	return v[lo];
}

/* median_sorted()'s value without sorting; v is reordered. */
static double median_select(double *v, size_t n)
{
	if (!n)
		return 0;
	double upper = kth(v, n, n / 2);
	if (n % 2)
		return upper;
	double lower = v[0];
	for (size_t i = 1; i < n / 2; i++)
		if (v[i] > lower)
			lower = v[i];
	return (lower + upper) / 2;
}

/*
 * Bootstrap medians by counting. A resample draws n indices into v; its median is the value at
 * the middle rank among the drawn values. With each index's rank in v's sorted order known, the
 * draws only bump a count per rank and a scan of the counts finds the middle: the same values as
 * building each resample and selecting its median (same draws, same ranks; equal values are
 * interchangeable), without the partitions' data-dependent branches. The duration regression
 * takes 200 or 1000 such medians per test and pool, which made it most of the analyzer's time
 * in a hunt of short tests with a history.
 */
struct resampler {
	size_t n;
	uint64_t mod[2];     /* fast_mod()'s constant for n: low, high 64 bits */
	double *sorted;      /* v sorted */
	uint32_t *rank;      /* rank[i]: v[i]'s position in sorted */
	uint32_t *order;     /* order[k]: the index in v of sorted[k] (rank's inverse) */
	uint32_t *count;     /* draws per rank, in the resample being built */
};

struct ranked {
	double v;
	uint32_t i;
};

static int cmp_ranked(const void *a, const void *b)
{
	const struct ranked *x = a, *y = b;
	if (x->v != y->v)
		return (x->v > y->v) - (x->v < y->v);
	return (x->i > y->i) - (x->i < y->i);
}

/*
 * x % n without a division, which costs more than the rest of a draw: Lemire, Kaser and Kurz,
 * "Faster remainder by direct computation" (2019), exact for every 64-bit x and n with the
 * 128-bit constant m = ceil(2^128 / n) (it wraps to 0 for n = 1, which still gives 0).
 */
#ifdef __SIZEOF_INT128__
typedef unsigned __int128 u128;

static void fast_mod_init(uint64_t m[2], uint64_t n)
{
	u128 c = ~(u128)0 / n + 1;
	m[0] = (uint64_t)c;
	m[1] = (uint64_t)(c >> 64);
}

static inline uint64_t fast_mod(uint64_t x, const uint64_t m[2], uint64_t n)
{
	u128 low = (((u128)m[1] << 64) | m[0]) * x;   /* c * x mod 2^128 */
	u128 bottom = (((u128)(uint64_t)low) * n) >> 64;
	return (uint64_t)((bottom + (low >> 64) * n) >> 64);
}
#else
static void fast_mod_init(uint64_t m[2], uint64_t n)
{
	(void)n;
	m[0] = m[1] = 0;
}

static inline uint64_t fast_mod(uint64_t x, const uint64_t m[2], uint64_t n)
{
	(void)m;
	return x % n;
}
#endif

static inline uint64_t xorshift(uint64_t x)
{
	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return x;
}

static void rs_init(struct resampler *r, const double *v, size_t n)
{
	size_t m = n ? n : 1;
	struct ranked *t = xmalloc(sizeof(*t) * m);
	r->n = n;
	fast_mod_init(r->mod, m);
	r->sorted = xmalloc(sizeof(double) * m);
	r->rank = xmalloc(sizeof(uint32_t) * m);
	r->order = xmalloc(sizeof(uint32_t) * m);
	r->count = xmalloc(sizeof(uint32_t) * m);
	for (size_t i = 0; i < n; i++)
		t[i] = (struct ranked){ v[i], (uint32_t)i };
	qsort(t, n, sizeof(*t), cmp_ranked);
	for (size_t i = 0; i < n; i++) {
		r->sorted[i] = t[i].v;
		r->rank[t[i].i] = (uint32_t)i;
		r->order[i] = t[i].i;
	}
	free(t);
}

static void rs_free(struct resampler *r)
{
	free(r->sorted);
	free(r->rank);
	free(r->order);
	free(r->count);
}

/* The median of the resample v[x % n] (n draws of the xorshift state *x), as median_select()
 * of that resample gives it. */
static double rs_median(struct resampler *r, uint64_t *xp)
{
	size_t n = r->n;
	uint64_t x = *xp;
	if (!n)
		return 0;
	memset(r->count, 0, sizeof(uint32_t) * n);
	for (size_t i = 0; i < n; i++) {
		x = xorshift(x);
		r->count[r->rank[fast_mod(x, r->mod, n)]]++;
	}
	*xp = x;
	/* the (n/2)-th smallest draw (from 0), and for even n also the one before it */
	size_t want = n / 2, seen = 0, k = 0;
	double lower = 0;
	bool even = n % 2 == 0;
	for (;; k++) {
		seen += r->count[k];
		if (even && seen > want - 1 && seen - r->count[k] <= want - 1)
			lower = r->sorted[k];
		if (seen > want)
			break;
	}
	return even ? (lower + r->sorted[k]) / 2 : r->sorted[k];
}

/*
 * A bootstrap's draws depend on the pools' sizes and the seed, never on the values: every test
 * whose pools have the same sizes (in a hunt, most of them) draws the same indices. A draw
 * table keeps, per resample, how many times each index was drawn, made once for those sizes;
 * a test's resample median is then a scan of its values in sorted order, adding up their
 * draws to the middle. The same medians as rs_median() on the same stream, without drawing.
 */
#define TABLE_MAX ((size_t)1 << 21)  /* counts in one table (4 MB); larger ones draw directly */
#define TABLES 8

struct draw_table {
	uint64_t seed;
	size_t n[2];      /* the pools' sizes, drawn in turn in each resample (n[1] may be 0) */
	int boot;
	uint16_t *cnt;    /* boot rows of n[0] + n[1] counts, by index into the pools */
};

struct draw_cache {
	struct draw_table t[TABLES];
	unsigned next;    /* the slot a new table takes (round robin) */
};

/* The table of `boot` resamples of pools of n0 and n1 values from seed, or NULL where a
 * table would be too large (the caller then draws directly). */
static const uint16_t *draw_table(struct draw_cache *dc, uint64_t seed, size_t n0, size_t n1,
				  int boot)
{
	size_t w = n0 + n1;
	if (!w || n0 > UINT16_MAX || n1 > UINT16_MAX || (size_t)boot > TABLE_MAX / w)
		return NULL;
	for (int i = 0; i < TABLES; i++) {
		const struct draw_table *t = &dc->t[i];
		if (t->cnt && t->seed == seed && t->n[0] == n0 && t->n[1] == n1 && t->boot == boot)
			return t->cnt;
	}
	struct draw_table *t = &dc->t[dc->next++ % TABLES];
	free(t->cnt);
	*t = (struct draw_table){ seed, { n0, n1 }, boot, xcalloc((size_t)boot * w, 2) };
	uint64_t m0[2], m1[2], x = seed;
	fast_mod_init(m0, n0 ? n0 : 1);
	fast_mod_init(m1, n1 ? n1 : 1);
	for (int b = 0; b < boot; b++) {
		uint16_t *row = t->cnt + (size_t)b * w;
		for (size_t i = 0; i < n0; i++) {
			x = xorshift(x);
			row[fast_mod(x, m0, n0)]++;
		}
		for (size_t i = 0; i < n1; i++) {
			x = xorshift(x);
			row[n0 + fast_mod(x, m1, n1)]++;
		}
	}
	return t->cnt;
}

static void draw_cache_free(struct draw_cache *dc)
{
	for (int i = 0; i < TABLES; i++)
		free(dc->t[i].cnt);
}

/* rs_median() of the resample whose draws per index are cnt[0..r->n). */
static double table_median(const struct resampler *r, const uint16_t *cnt)
{
	size_t n = r->n, want = n / 2, seen = 0, k = 0;
	double lower = 0;
	bool even = n % 2 == 0;
	if (!n)
		return 0;
	for (;; k++) {
		size_t c = cnt[r->order[k]];
		seen += c;
		if (even && seen > want - 1 && seen - c <= want - 1)
			lower = r->sorted[k];
		if (seen > want)
			break;
	}
	return even ? (lower + r->sorted[k]) / 2 : r->sorted[k];
}

/* The median of v[0..n) with a bootstrap 95% interval; v is not changed. */
static void boot_median(struct draw_cache *dc, const double *v, size_t n, double *med,
			double *lo, double *hi)
{
	double *m = xmalloc(sizeof(double) * BOOT);
	const uint64_t seed = 0x9e3779b97f4a7c15ULL;
	uint64_t x = seed;
	struct resampler r;

	rs_init(&r, v, n);
	*med = median_sorted(r.sorted, n);
	const uint16_t *tab = draw_table(dc, seed, n, 0, BOOT);
	for (int b = 0; b < BOOT && n; b++)
		m[b] = tab ? table_median(&r, tab + (size_t)b * n) : rs_median(&r, &x);
	qsort(m, BOOT, sizeof(double), cmp_d);
	*lo = n ? m[BOOT * 25 / 1000] : 0;
	*hi = n ? m[BOOT * 975 / 1000 - 1] : 0;
	rs_free(&r);
	free(m);
}

/* The relative spread of a stable test's passing durations; < 0 when it has too few. */
static double rel_spread(const struct fh_test *t, double *buf)
{
	size_t n = 0;
	for (size_t i = 0; i < t->nattempts; i++)
		if (is_pass(&t->attempts[i]))
			buf[n++] = t->attempts[i].duration_s;
	if (n < 3)
		return -1;
	qsort(buf, n, sizeof(double), cmp_d);
	double med = median_sorted(buf, n);
	return med > 0 ? (buf[n - 1] - med) / med : -1;
}

static double noise_floor(const struct fh_run *run)
{
	size_t most = 1, n = 0;
	for (size_t i = 0; i < run->ntests; i++)
		if (run->tests[i].nattempts > most)
			most = run->tests[i].nattempts;
	double *buf = xmalloc(sizeof(double) * most), *r = xmalloc(sizeof(double) * (run->ntests + 1));
	for (size_t i = 0; i < run->ntests; i++) {
		const struct fh_test *t = &run->tests[i];
		double x;
		if (!t->feat.unstable && (x = rel_spread(t, buf)) >= 0)
			r[n++] = x;
	}
	qsort(r, n, sizeof(double), cmp_d);
	double nf = median_sorted(r, n);
	free(buf);
	free(r);
	return nf;
}

static const char *shape_of(const struct fh_test *t, double *buf, size_t *np)
{
	size_t n = 0;
	for (size_t i = 0; i < t->nattempts; i++)
		if (is_pass(&t->attempts[i]))
			buf[n++] = t->attempts[i].duration_s;
	*np = n;
	qsort(buf, n, sizeof(double), cmp_d);
	for (size_t i = 2; i + 1 < n; i++)
		if (buf[i] >= 2 * buf[i - 1] && buf[i] - buf[i - 1] >= 0.05)
			return "bimodal";
	return "heavy-tail";
}

struct side {
	int n;                   /* attempts with figures */
	double dur, cpu, gc, delay, wait, other, sys, steal;
	double minflt, majflt, invol;
	int nsteal, ndelay;
	int nprof;
};

static void add_side(struct side *s, const struct fh_attempt *a)
{
	const struct fh_where *w = a->where;
	double gc = w->gc_s > 0 ? w->gc_s : 0;
	s->n++;
	s->dur += a->duration_s;
	s->cpu += w->thread_cpu_s > gc ? w->thread_cpu_s - gc : 0;
	s->gc += gc;
	if (w->run_delay_s >= 0) {
		s->delay += w->run_delay_s;
		s->ndelay++;
	}
	s->wait += w->wait_s;
	s->other += w->other_s;
	s->sys += w->sys_s > 0 ? w->sys_s : 0;
	s->minflt += w->minflt > 0 ? (double)w->minflt : 0;
	s->majflt += w->majflt > 0 ? (double)w->majflt : 0;
	s->invol += w->invol_switches > 0 ? (double)w->invol_switches : 0;
	if (w->steal_s >= 0) {
		s->steal += w->steal_s;
		s->nsteal++;
	}
	if (w->profiled)
		s->nprof++;
}

static double mean(double v, int n)
{
	return n > 0 ? v / n : 0;
}

/* Lines of profiled attempts: slow and fast sums per (path, line, function). */
struct lsum {
	const struct fh_line_cpu *l;
	double slow, fast;
};

static bool same_line(const struct fh_line_cpu *a, const struct fh_line_cpu *b)
{
	return a->line == b->line &&
	       (a->path == b->path || (a->path && b->path && !strcmp(a->path, b->path))) &&
	       (a->function == b->function ||
		(a->function && b->function && !strcmp(a->function, b->function)));
}

static int cmp_lsum(const void *a, const void *b)
{
	const struct lsum *x = a, *y = b;
	double dx = x->slow - x->fast, dy = y->slow - y->fast;
	return (dy > dx) - (dy < dx);
}

static void line_contrast(struct arena *A, const struct fh_test *t, struct fh_perf *p,
			  int nslow, int nfast)
{
	struct lsum *ls = NULL;
	size_t n = 0, cap = 0;
	for (size_t i = 0; i < t->nattempts; i++) {
		const struct fh_attempt *a = &t->attempts[i];
		if (!is_pass(a) || !a->where || !a->where->profiled)
			continue;
		for (size_t k = 0; k < a->where->nlines; k++) {
			const struct fh_line_cpu *l = &a->where->lines[k];
			size_t j;
			for (j = 0; j < n && !same_line(ls[j].l, l); j++)
				;
			if (j == n) {
				GROW(ls, cap, n + 1);
				ls[n++] = (struct lsum){ l, 0, 0 };
			}
			if (a->f.slow)
				ls[j].slow += l->cpu_s;
			else
				ls[j].fast += l->cpu_s;
		}
	}
	for (size_t j = 0; j < n; j++) {
		ls[j].slow = nslow ? ls[j].slow / nslow : 0;
		ls[j].fast = nfast ? ls[j].fast / nfast : 0;
	}
	if (n)
		qsort(ls, n, sizeof(*ls), cmp_lsum);
	p->lines = arena_alloc(A, sizeof(*p->lines) * (n + 1));
	for (size_t j = 0; j < n && p->nlines < 10; j++)
		p->lines[p->nlines++] = (struct fh_perf_line){ ls[j].l->path, ls[j].l->function,
			ls[j].l->line, ls[j].l->caller, ls[j].slow, ls[j].fast };
	free(ls);
}

static void ev(struct fh_perf *p, const char **evs, const char *line)
{
	if (p->ncause_evidence < MAX_EV)
		evs[p->ncause_evidence++] = line;
}

static const char *where_of(struct arena *A, const struct fh_perf_line *l)
{
	return arena_printf(A, "%s:%d %s", l->path ? l->path : "?", l->line,
			    l->function ? l->function : "?");
}

/* The test thread's wait with the biggest extra: "poll on 127.0.0.1:80". */
static const char *top_wait(struct arena *A, const struct fh_test *t, int nslow, int nfast,
			    double *extra, double *fast_s)
{
	struct wk { int id; const char *call, *target; enum fh_category cat; double slow, fast; } *w = NULL;
	size_t n = 0, cap = 0;
	for (size_t i = 0; i < t->nattempts; i++) {
		const struct fh_attempt *a = &t->attempts[i];
		if (!is_pass(a) || !a->trace || !a->where)
			continue;
		for (size_t k = 0; k < a->trace->ncalls; k++) {
			const struct fh_call_stat *c = &a->trace->calls[k];
			size_t j;
			for (j = 0; j < n; j++)
				if (w[j].id == c->call_id && !strcmp(w[j].call, c->call) &&
				    (w[j].target == c->target ||
				     (w[j].target && c->target && !strcmp(w[j].target, c->target))))
					break;
			if (j == n) {
				GROW(w, cap, n + 1);
				w[n++] = (struct wk){ c->call_id, c->call, c->target,
						      fh_wait_category(c->category, false), 0, 0 };
			}
			if (a->f.slow)
				w[j].slow += c->main_s;
			else
				w[j].fast += c->main_s;
		}
	}
	const char *best = NULL;
	*extra = 0;
	for (size_t j = 0; j < n; j++) {
		double x = mean(w[j].slow, nslow) - mean(w[j].fast, nfast);
		if (x > *extra) {
			*extra = x;
			*fast_s = mean(w[j].fast, nfast);
			/* the category users see, the call and its target after it */
			best = w[j].target ? arena_printf(A, "%s (%s on %s)",
							  fh_category_names[w[j].cat], w[j].call,
							  w[j].target) :
				arena_printf(A, "%s (%s)", fh_category_names[w[j].cat], w[j].call);
		}
	}
	free(w);
	return best;
}

static void cause_test(struct fh_run *run, struct draw_cache *dc, struct fh_test *t, double nf,
		       double *buf)
{
	struct arena *A = &run->arena;
	struct fh_perf *p = t->perf;
	size_t np;
	double slow[4096], fast[4096];
	size_t ns = 0, nfst = 0;

	p->noise_floor = nf;
	if (!p->unstable)
		return;
	p->shape = shape_of(t, buf, &np);
	boot_median(dc, buf, np, &p->median_s, &p->median_lo_s, &p->median_hi_s);
	for (size_t i = 0; i < t->nattempts; i++) {
		const struct fh_attempt *a = &t->attempts[i];
		if (!is_pass(a))
			continue;
		if (a->f.slow && ns < 4096)
			slow[ns++] = a->duration_s;
		else if (!a->f.slow && nfst < 4096)
			fast[nfst++] = a->duration_s;
	}
	if (!ns || !nfst)
		return;
	qsort(slow, ns, sizeof(double), cmp_d);
	qsort(fast, nfst, sizeof(double), cmp_d);
	p->slow_median_s = median_sorted(slow, ns);
	p->fast_median_s = median_sorted(fast, nfst);
	p->slow_share = (double)ns / (double)(ns + nfst);
	p->min_effect_s = fmax(MIN_EFFECT_S, NOISE_K * nf * p->fast_median_s);
	p->flake = p->slow_median_s - p->fast_median_s >= p->min_effect_s;

	struct side S = { 0 }, F = { 0 };
	for (size_t i = 0; i < t->nattempts; i++) {
		const struct fh_attempt *a = &t->attempts[i];
		if (is_pass(a) && a->where && a->where->res)
			add_side(a->f.slow ? &S : &F, a);
	}
	p->profiled_slow = S.nprof;
	p->profiled_fast = F.nprof;
	if (!p->flake || !S.n || !F.n)
		return;
	const char *names[FH_PERF_PARTS] = { "cpu", "gc", "run_delay", "wait", "other" };
	double sv[FH_PERF_PARTS] = { mean(S.cpu, S.n), mean(S.gc, S.n), mean(S.delay, S.ndelay),
				     mean(S.wait, S.n), mean(S.other, S.n) };
	double fv[FH_PERF_PARTS] = { mean(F.cpu, F.n), mean(F.gc, F.n), mean(F.delay, F.ndelay),
				     mean(F.wait, F.n), mean(F.other, F.n) };
	for (int k = 0; k < FH_PERF_PARTS; k++)
		p->parts[p->nparts++] = (struct fh_perf_part){ names[k], sv[k], fv[k] };
	double extra = mean(S.dur, S.n) - mean(F.dur, F.n);
	double x_cpu = sv[0] - fv[0], x_gc = sv[1] - fv[1], x_delay = sv[2] - fv[2];
	double x_wait = sv[3] - fv[3];
	double x_sys = mean(S.sys, S.n) - mean(F.sys, F.n);
	double x_min = mean(S.minflt, S.n) - mean(F.minflt, F.n);
	double x_maj = mean(S.majflt, S.n) - mean(F.majflt, F.n);
	double half = extra / 2;
	const char **evs = arena_alloc(A, sizeof(*evs) * MAX_EV);

	if (extra <= 0)
		return;
	/* On a busy machine run-queue delay grows with the CPU an attempt uses: when the test
	 * thread did clearly more work (a quarter of the extra time or more), the work is the
	 * cause and the delay its amplification; scheduling is named when the work did not grow. */
	enum { K_GC, K_WAIT, K_CPU, K_MEMORY, K_SCHED, K_MIXED } ck;
	static const char *const cause_names[] = { "gc", "wait", "cpu", "memory", "scheduling",
						    "mixed" };
	if (x_gc >= half)
		ck = K_GC;
	else if (x_wait >= half)
		ck = K_WAIT;
	else if (x_cpu >= 0.25 * extra)
		ck = (x_min >= 1000 && x_sys >= 0.5 * x_cpu) ? K_MEMORY : K_CPU;
	else if (S.ndelay && F.ndelay && x_delay >= half)
		ck = K_SCHED;
	else if (x_maj >= 1)
		ck = K_MEMORY;
	else
		ck = K_MIXED;
	p->cause = cause_names[ck];
	p->cause_evidence = evs;
	ev(p, evs, arena_printf(A, "%s: %d slow attempt%s (median %s) against %d fast (median %s): "
				"+%s on average; minimum effect %s (run noise floor %.0f%%)",
				p->shape, (int)ns, ns == 1 ? "" : "s", fs(A, p->slow_median_s),
				(int)nfst, fs(A, p->fast_median_s), fs(A, extra),
				fs(A, p->min_effect_s), nf * 100));
	/* The parts, biggest extra first, those with a visible share only. */
	bool used[FH_PERF_PARTS] = { false };
	static const char *const label[FH_PERF_PARTS] = { "on CPU (test thread, without GC)",
		"in garbage collection", "runnable but waiting for a CPU (run-queue delay)",
		"in blocking calls (test thread)", "unaccounted (not on CPU, not in a traced wait)" };
	for (int r = 0; r < FH_PERF_PARTS; r++) {
		int best = -1;
		for (int k = 0; k < FH_PERF_PARTS; k++)
			if (!used[k] && (best < 0 || sv[k] - fv[k] > sv[best] - fv[best]))
				best = k;
		used[best] = true;
		if (sv[best] - fv[best] < 0.1 * extra)
			continue;
		ev(p, evs, arena_printf(A, "slow attempts spent %s %s, fast ones %s (+%s)",
					fs(A, sv[best]), label[best], fs(A, fv[best]),
					fs(A, sv[best] - fv[best])));
	}
	if (!F.ndelay || !S.ndelay)
		ev(p, evs, "run-queue delay unavailable (no /proc/thread-self/schedstat: a kernel "
		   "without CONFIG_SCHED_INFO)");
	if (ck == K_SCHED || x_delay >= 0.1 * extra)
		ev(p, evs, arena_printf(A, "involuntary context switches: slow %.0f, fast %.0f per "
					"attempt", mean(S.invol, S.n), mean(F.invol, F.n)));
	if (ck == K_MEMORY || x_min >= 1000 || x_maj >= 1)
		ev(p, evs, arena_printf(A, "page faults: slow %.0f minor / %.0f major, fast %.0f "
					"minor / %.0f major per attempt; system CPU slow %s, fast %s",
					mean(S.minflt, S.n), mean(S.majflt, S.n),
					mean(F.minflt, F.n), mean(F.majflt, F.n),
					fs(A, mean(S.sys, S.n)), fs(A, mean(F.sys, F.n))));
	if (S.nsteal && F.nsteal && mean(S.steal, S.nsteal) - mean(F.steal, F.nsteal) >= 0.1 * extra)
		ev(p, evs, arena_printf(A, "the machine's CPU steal (the hypervisor ran something "
					"else): slow %s, fast %s", fs(A, mean(S.steal, S.nsteal)),
					fs(A, mean(F.steal, F.nsteal))));
	if (ck == K_WAIT || x_wait >= 0.1 * extra) {
		double wx = 0, wf = 0;
		const char *w = top_wait(A, t, S.n, F.n, &wx, &wf);
		if (w)
			ev(p, evs, arena_printf(A, "most of the extra wait: +%s in %s, fast attempts "
						"%s there", fs(A, wx), w, fs(A, wf)));
	}
	line_contrast(A, t, p, S.nprof, F.nprof);
	if (p->nlines && S.nprof && F.nprof && p->lines[0].slow_s > p->lines[0].fast_s) {
		const struct fh_perf_line *l = &p->lines[0];
		double fslow = 0, ffast = 0;
		int nl = 0;
		for (size_t k = 0; k < p->nlines; k++)
			if (p->lines[k].function && l->function && p->lines[k].path && l->path &&
			    !strcmp(p->lines[k].function, l->function) &&
			    !strcmp(p->lines[k].path, l->path)) {
				fslow += p->lines[k].slow_s;
				ffast += p->lines[k].fast_s;
				nl++;
			}
		ev(p, evs, arena_printf(A, "CPU by Python line: +%s in %s%s%s; fast attempts: %s "
					"there (%d slow and %d fast attempts profiled)",
					fs(A, l->slow_s - l->fast_s), where_of(A, l),
					l->caller ? ", called from " : "", l->caller ? l->caller : "",
					fs(A, l->fast_s), S.nprof, F.nprof));
		if (nl > 1)
			ev(p, evs, arena_printf(A, "CPU by Python function: +%s in %s (%s, %d lines "
						"sampled), fast attempts: %s", fs(A, fslow - ffast),
						l->function, l->path, nl, fs(A, ffast)));
	} else if (ck == K_CPU && (!S.nprof || !F.nprof)) {
		ev(p, evs, "no CPU samples of both slow and fast attempts: run with --fh-profile to "
		   "see which Python lines used the CPU");
	}
	if (x_gc > 0 && (ck == K_GC || x_gc >= 0.1 * extra))
		ev(p, evs, arena_printf(A, "garbage collection: slow %s per attempt, fast %s",
					fs(A, sv[1]), fs(A, fv[1])));
	if (p->summary)
		p->summary = arena_printf(A, "%s Cause: %s.", p->summary, p->cause);
}

/* Up to CAP values of v[0..n), evenly spread (the bootstrap's cost stays bounded). */
#define POOL_CAP 400
static size_t pool_add(double *pool, size_t np, const double *v, size_t n, size_t cap)
{
	size_t step = n > cap ? (n + cap - 1) / cap : 1;
	for (size_t i = 0; i < n && np < POOL_CAP * 2; i += step)
		pool[np++] = v[i];
	return np;
}

static double med_of(double *v, size_t n)
{
	return median_select(v, n);
}

/*
 * Duration regression across runs (the history's passing durations per run, this run
 * included): the newest third of the runs with durations (at least one) against the earlier
 * ones, with a bootstrap 95% interval of the difference of the pooled medians. Flagged when
 * the interval is above 0, the recent median is >= 1.25x the earlier one and >= 10 ms more.
 * Needs >= 3 runs with durations.
 */
static void regression(struct arena *A, struct draw_cache *dc, struct fh_test *t)
{
	const struct fh_history *h = t->hist;
	size_t n = 0, k;
	if (!h)
		return;
	for (size_t i = 0; i < h->nruns; i++)
		n += h->runs[i].ndurations > 0;
	if (n < 3)
		return;
	k = n / 3 ? n / 3 : 1;
	double *rec = xmalloc(sizeof(double) * POOL_CAP * 2), *ear = xmalloc(sizeof(double) * POOL_CAP * 2);
	double *a = xmalloc(sizeof(double) * POOL_CAP * 2), *b = xmalloc(sizeof(double) * POOL_CAP * 2);
	double *diff = xmalloc(sizeof(double) * BOOT);
	size_t nr = 0, ne = 0, seen = 0;
	struct fh_regression *g = arena_alloc(A, sizeof(*g));
	const struct fh_hist_run *last_earlier = NULL, *first_recent = NULL;
	size_t cap_e = POOL_CAP / (n - k) + 1, cap_r = POOL_CAP / k + 1;

	for (size_t i = 0; i < h->nruns; i++) {
		const struct fh_hist_run *r = &h->runs[i];
		if (!r->ndurations)
			continue;
		if (seen++ < n - k) {
			ne = pool_add(ear, ne, r->durations, r->ndurations, cap_e);
			last_earlier = r;
			g->earlier_runs++;
		} else {
			nr = pool_add(rec, nr, r->durations, r->ndurations, cap_r);
			if (!first_recent)
				first_recent = r;
			g->recent_runs++;
		}
	}
	memcpy(a, rec, sizeof(double) * nr);
	memcpy(b, ear, sizeof(double) * ne);
	g->recent_median_s = med_of(a, nr);
	g->earlier_median_s = med_of(b, ne);
	/* The interval decides the flag only where the medians already pass its other two
	 * conditions; elsewhere it is shown, and a fifth of the resamples does for that. */
	bool may_flag = g->recent_median_s >= 1.25 * g->earlier_median_s &&
			g->recent_median_s - g->earlier_median_s >= 0.01;
	int boot = may_flag ? BOOT : BOOT / 5;
	const uint64_t seed = 0x2545f4914f6cdd1dULL;
	uint64_t x = seed;
	struct resampler rr, re;
	rs_init(&rr, rec, nr);
	rs_init(&re, ear, ne);
	const uint16_t *tab = draw_table(dc, seed, nr, ne, boot);
	for (int it = 0; it < boot; it++) {
		if (tab) {
			const uint16_t *row = tab + (size_t)it * (nr + ne);
			diff[it] = table_median(&rr, row) - table_median(&re, row + nr);
			continue;
		}
		double mr = rs_median(&rr, &x);
		diff[it] = mr - rs_median(&re, &x);
	}
	rs_free(&rr);
	rs_free(&re);
	qsort(diff, (size_t)boot, sizeof(double), cmp_d);
	g->lo_s = diff[boot * 25 / 1000];
	g->hi_s = diff[boot * 975 / 1000 - 1];
	g->flagged = may_flag && g->lo_s > 0;
	g->first_run = first_recent ? first_recent->run_id : NULL;
	g->commit_before = last_earlier ? last_earlier->commit : NULL;
	g->commit_after = first_recent ? first_recent->commit : NULL;
	t->perf->regression = g;
	free(rec);
	free(ear);
	free(a);
	free(b);
	free(diff);
}

void perf_cause_run(struct fh_run *run)
{
	size_t most = 1;
	for (size_t i = 0; i < run->ntests; i++)
		if (run->tests[i].nattempts > most)
			most = run->tests[i].nattempts;
	double *buf = xmalloc(sizeof(double) * most);
	double nf = noise_floor(run);
	struct draw_cache dc = { 0 };
	for (size_t i = 0; i < run->ntests; i++)
		if (run->tests[i].perf) {
			cause_test(run, &dc, &run->tests[i], nf, buf);
			regression(&run->arena, &dc, &run->tests[i]);
		}
	draw_cache_free(&dc);
	free(buf);
}
