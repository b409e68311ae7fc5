/* SPDX-License-Identifier: MIT */
/*
 * Failure fingerprints (the recipe is in cluster.h) and per-test clusters: every failed or
 * errored attempt gets a fingerprint; attempts with the same fingerprint form a cluster;
 * clusters are ordered biggest first, ties by their first attempt.
 */
#include "cluster.h"
#include "stages.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Appends s with every "0x<hex>" reduced to "0x" and, when squash, whitespace runs to one space
 * (leading and trailing whitespace dropped). */
static void put_clean(struct buf *b, const char *s, int squash)
{
	const char *p = s;
	int space = 0;

	if (squash)
		while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
			p++;
	while (*p) {
		if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X') &&
		    strchr("0123456789abcdefABCDEF", p[2]) && p[2]) {
			buf_puts(b, "0x");
			p += 2;
			while (*p && strchr("0123456789abcdefABCDEF", *p))
				p++;
			space = 0;
			continue;
		}
		if (squash && (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')) {
			space = 1;
			p++;
			continue;
		}
		if (space)
			buf_putc(b, ' ');
		space = 0;
		buf_putc(b, *p++);
	}
}

static const char *after_last(const char *s, const char *needle)
{
	const char *hit = NULL, *p = s;

	while ((p = strstr(p, needle))) {
		hit = p + strlen(needle);
		p++;
	}
	return hit;
}

void fingerprint_path(struct buf *b, const char *path, const char *rootdir)
{
	struct buf tmp = BUF_INIT(1 << 16);
	const char *p, *rest;
	size_t rl;
	char *s;

	if (!path)
		path = "";
	buf_puts(&tmp, path);
	for (s = buf_data(&tmp); s && *s; s++)
		if (*s == '\\')
			*s = '/';
	p = buf_str(&tmp);
	if (rootdir && *rootdir) {
		rl = strlen(rootdir);
		while (rl > 1 && rootdir[rl - 1] == '/')
			rl--;
		if (!strncmp(p, rootdir, rl) && p[rl] == '/') {
			p += rl + 1;
			goto rel;
		}
	}
	if ((rest = after_last(p, "/site-packages/")) || (rest = after_last(p, "/dist-packages/"))) {
		p = rest;
		goto rel;
	}
	if ((rest = after_last(p, "/lib/python")) && (rest = strchr(rest, '/'))) {
		buf_puts(b, "python/");
		p = rest + 1;
		goto rel;
	}
	if (p[0] == '/') {
		const char *last = strrchr(p, '/'), *q = last;

		while (q > p && q[-1] != '/')
			q--;
		/* q: start of the parent folder's name when there is one. */
		p = q > p ? q : last + 1;
	}
rel:
	while (p[0] == '.' && p[1] == '/')
		p += 2;
	while (*p == '/')
		p++;
	put_clean(b, p, 0);
	buf_free(&tmp);
}

void fingerprint_make(char out[13], const char *error_type, const struct fh_frame *frames,
		      size_t nframes, const char *rootdir)
{
	struct buf key = BUF_INIT(1 << 20);
	size_t i, first = nframes > FH_FP_FRAMES ? nframes - FH_FP_FRAMES : 0;
	uint64_t h;

	put_clean(&key, error_type ? error_type : "", 1);
	buf_putc(&key, '\0');
	for (i = first; i < nframes; i++) {
		const struct fh_frame *f = &frames[i];
		size_t mark;

		fingerprint_path(&key, f->path, rootdir);
		buf_putc(&key, '\0');
		put_clean(&key, f->function ? f->function : "", 0);
		buf_putc(&key, '\0');
		mark = buf_len(&key);
		if (f->source)
			put_clean(&key, f->source, 1);
		if (buf_len(&key) == mark)
			buf_printf(&key, "%d", f->line);
		buf_putc(&key, '\0');
	}
	h = fnv64(FNV64_INIT, buf_str(&key), buf_len(&key));
	snprintf(out, 13, "%012llx", (unsigned long long)(h >> 16));
	buf_free(&key);
}

static int failed_outcome(enum fh_outcome o)
{
	return o == FH_FAILED || o == FH_ERROR;
}

struct fref {
	const char *fp;
	const char *sfp;	/* stack fingerprint, "" when none */
	const struct fh_attempt *at;
};

/* Same cluster: same traceback fingerprint and same stack fingerprint. */
static int fref_key_cmp(const struct fref *x, const struct fref *y)
{
	int c = strcmp(x->fp, y->fp);

	return c ? c : strcmp(x->sfp, y->sfp);
}

static int cmp_fref(const void *a, const void *b)
{
	const struct fref *x = a, *y = b;
	int c = fref_key_cmp(x, y);

	if (c)
		return c;
	return (x->at > y->at) - (x->at < y->at);
}

static int cmp_cluster(const void *a, const void *b)
{
	const struct fh_cluster *x = a, *y = b;

	if (x->count != y->count)
		return x->count > y->count ? -1 : 1;
	return x->attempts[0] - y->attempts[0];
}

static void cluster_test(struct fh_run *run, struct fh_test *t, struct fref *refs)
{
	size_t i, n = 0, nc = 0, k;
	char fp[13];

	for (i = 0; i < t->nattempts; i++) {
		struct fh_attempt *a = &t->attempts[i];

		a->fingerprint = NULL;
		if (!failed_outcome(a->outcome))
			continue;
		fingerprint_make(fp, a->error_type, a->frames, a->nframes, run->meta.rootdir);
		a->fingerprint = arena_strndup(&run->arena, fp, 12);
		refs[n].fp = a->fingerprint;
		refs[n].sfp = a->stack_fingerprint ? a->stack_fingerprint : "";
		refs[n].at = a;
		n++;
	}
	t->clusters = NULL;
	t->nclusters = 0;
	if (!n)
		return;
	qsort(refs, n, sizeof(*refs), cmp_fref);
	for (i = 0; i < n; i++)
		if (!i || fref_key_cmp(&refs[i], &refs[i - 1]))
			nc++;
	t->clusters = arena_alloc(&run->arena, nc * sizeof(*t->clusters));
	for (i = 0; i < n; i = k) {
		struct fh_cluster *c = &t->clusters[t->nclusters++];
		const struct fh_attempt *a = refs[i].at;
		size_t j, keep;

		for (k = i; k < n && !fref_key_cmp(&refs[k], &refs[i]); k++)
			;
		c->fingerprint = refs[i].fp;
		c->count = (int)(k - i);
		c->attempts = arena_alloc(&run->arena, (k - i) * sizeof(*c->attempts));
		for (j = i; j < k; j++)
			c->attempts[j - i] = refs[j].at->attempt;
		c->error_type = a->error_type;
		c->message = a->error_message;
		c->stack_fingerprint = a->stack_fingerprint;
		keep = a->nframes < FH_CLUSTER_FRAMES ? a->nframes : FH_CLUSTER_FRAMES;
		c->frames = a->frames ? a->frames + (a->nframes - keep) : NULL;
		c->nframes = keep;
	}
	qsort(t->clusters, t->nclusters, sizeof(*t->clusters), cmp_cluster);
}

void run_cluster(struct fh_run *run)
{
	size_t i, maxn = 1;
	struct fref *refs;

	for (i = 0; i < run->ntests; i++)
		if (run->tests[i].nattempts > maxn)
			maxn = run->tests[i].nattempts;
	refs = xmalloc(maxn * sizeof(*refs));
	for (i = 0; i < run->ntests; i++)
		cluster_test(run, &run->tests[i], refs);
	free(refs);
}
