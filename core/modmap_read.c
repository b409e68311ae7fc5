/* SPDX-License-Identifier: MIT */
/*
 * Reading the module maps the preload writes (TRACE_DIR/<pid>.maps, format in
 * preload/modmap.h): see modmap_read.h. Symbolizing with them is analyzer/symbolize.c's.
 */
#include "modmap_read.h"

#include <errno.h>
#include <stdbool.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "files.h"

#define MODMAP_MAX_BYTES (8u << 20)

static int parse_hex(const char **pp, const char *end, uint64_t *out)
{
	const char *p = *pp;
	uint64_t v = 0;
	int n = 0;

	for (; p < end && n < 17; p++, n++) {
		int d;
		if (*p >= '0' && *p <= '9')
			d = *p - '0';
		else if (*p >= 'a' && *p <= 'f')
			d = *p - 'a' + 10;
		else
			break;
		v = (v << 4) | (uint64_t)d;
	}
	if (n == 0 || n > 16)
		return -EINVAL;
	*pp = p;
	*out = v;
	return 0;
}

static int parse_dec(const char **pp, const char *end, int *out)
{
	const char *p = *pp;
	long v = 0;
	int n = 0;

	for (; p < end && *p >= '0' && *p <= '9' && n < 10; p++, n++)
		v = v * 10 + (*p - '0');
	if (n == 0 || n == 10 || v > INT32_MAX)
		return -EINVAL;
	*pp = p;
	*out = (int)v;
	return 0;
}

static bool skip_space(const char **pp, const char *end)
{
	if (*pp >= end || **pp != ' ')
		return false;
	(*pp)++;
	return true;
}

static int parse_mod(struct fh_modmap *m, const char *p, const char *end, size_t *cap)
{
	struct fh_module mod = { 0 };
	const char *bid;
	size_t blen;

	if (parse_hex(&p, end, &mod.lo) || !skip_space(&p, end) ||
	    parse_hex(&p, end, &mod.hi) || !skip_space(&p, end) ||
	    parse_hex(&p, end, &mod.bias) || !skip_space(&p, end) || mod.hi <= mod.lo)
		return -EINVAL;
	bid = p;
	while (p < end && *p != ' ')
		p++;
	blen = (size_t)(p - bid);
	if (blen == 0 || blen > 128 || !skip_space(&p, end) || p >= end)
		return -EINVAL;
	if (blen == 1 && bid[0] == '-') {
		mod.build_id = NULL;
	} else {
		for (size_t i = 0; i < blen; i++)
			if (!((bid[i] >= '0' && bid[i] <= '9') || (bid[i] >= 'a' && bid[i] <= 'f')))
				return -EINVAL;
		mod.build_id = arena_strndup(&m->arena, bid, blen);
	}
	mod.path = arena_strndup(&m->arena, p, (size_t)(end - p));
	GROW(m->mods, *cap, m->nmods + 1);
	m->mods[m->nmods++] = mod;
	return 0;
}

struct mod_edge {
	uint64_t at;
	size_t mod;
	bool start;
};

static int cmp_edge(const void *a, const void *b)
{
	const struct mod_edge *x = a, *y = b;

	return x->at < y->at ? -1 : x->at > y->at;
}

static void heap_push(size_t *h, size_t *n, size_t v)
{
	size_t i = (*n)++;

	for (; i && h[(i - 1) / 2] < v; i = (i - 1) / 2)
		h[i] = h[(i - 1) / 2];
	h[i] = v;
}

static void heap_pop(size_t *h, size_t *n)
{
	size_t v = h[--*n], i = 0;

	for (;;) {
		size_t c = 2 * i + 1;

		if (c >= *n)
			break;
		if (c + 1 < *n && h[c + 1] > h[c])
			c++;
		if (h[c] <= v)
			break;
		h[i] = h[c];
		i = c;
	}
	if (*n)
		h[i] = v;
}

/* Cuts the address space at every module's ends; each piece belongs to the highest-numbered
 * (last written) module open over it: a sweep with a max-heap of open modules, O(n log n). */
static void build_segments(struct fh_modmap *m)
{
	size_t n = m->nmods, ne = 2 * n, nheap = 0, cap = 0;
	struct mod_edge *e;
	size_t *heap;
	bool *open;

	if (!n)
		return;
	e = xmalloc(ne * sizeof(*e));
	heap = xmalloc(n * sizeof(*heap));
	open = xcalloc(n, sizeof(*open));
	for (size_t i = 0; i < n; i++) {
		e[2 * i] = (struct mod_edge){ m->mods[i].lo, i, true };
		e[2 * i + 1] = (struct mod_edge){ m->mods[i].hi, i, false };
	}
	qsort(e, ne, sizeof(*e), cmp_edge);
	for (size_t i = 0; i < ne;) {
		uint64_t at = e[i].at;
		size_t owner;

		for (; i < ne && e[i].at == at; i++) {
			open[e[i].mod] = e[i].start;
			if (e[i].start)
				heap_push(heap, &nheap, e[i].mod);
		}
		while (nheap && !open[heap[0]])
			heap_pop(heap, &nheap);
		owner = nheap ? heap[0] : SIZE_MAX;
		if (m->nseg && m->seg_mod[m->nseg - 1] == owner)
			continue;
		if (m->nseg == cap) {
			cap = cap ? 2 * cap : 16;
			m->seg_lo = xrealloc(m->seg_lo, cap * sizeof(*m->seg_lo));
			m->seg_mod = xrealloc(m->seg_mod, cap * sizeof(*m->seg_mod));
		}
		m->seg_lo[m->nseg] = at;
		m->seg_mod[m->nseg++] = owner;
	}
	free(open);
	free(heap);
	free(e);
}

int modmap_parse(const char *text, size_t len, struct fh_modmap *out, int *bad)
{
	const char *p = text, *end = text + len;
	size_t cap = 0;
	int nbad = 0, lineno = 0;

	memset(out, 0, sizeof(*out));
	if (len < 9 || memcmp(text, "fhmaps 1\n", 9) != 0)
		return -EPROTO;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *le = nl ? nl : end;
		lineno++;
		if (!nl) { /* a torn last line (process killed while appending) */
			nbad++;
			break;
		}
		if (le - p > 5 && !memcmp(p, "mod ", 4)) {
			if (parse_mod(out, p + 4, le, &cap) < 0)
				nbad++;
		} else if (le - p > 4 && !memcmp(p, "pid ", 4)) {
			const char *q = p + 4;
			if (parse_dec(&q, le, &out->pid) || !skip_space(&q, le) ||
			    parse_dec(&q, le, &out->ppid))
				nbad++;
		} else if (le - p > 6 && !memcmp(p, "stack ", 6)) {
			out->stack_status = arena_strndup(&out->arena, p + 6, (size_t)(le - p - 6));
		} else if (le - p > 8 && !memcmp(p, "pystack ", 8)) {
			out->pystack_status = arena_strndup(&out->arena, p + 8, (size_t)(le - p - 8));
		} else if (lineno > 1) {
			nbad++;
		}
		p = le + 1;
	}
	build_segments(out);
	if (bad)
		*bad = nbad;
	return 0;
}

int modmap_load(const char *path, struct fh_modmap *out, int *bad)
{
	char *text = NULL;
	size_t len = 0;
	int err;

	memset(out, 0, sizeof(*out));
	err = read_file(path, MODMAP_MAX_BYTES, &text, &len);
	if (err < 0)
		return err;
	err = modmap_parse(text, len, out, bad);
	free(text);
	return err;
}

void modmap_free(struct fh_modmap *m)
{
	free(m->mods);
	free(m->seg_lo);
	free(m->seg_mod);
	arena_free(&m->arena);
	memset(m, 0, sizeof(*m));
}

const struct fh_module *modmap_find(const struct fh_modmap *m, uint64_t pc)
{
	size_t lo = 0, hi = m->nseg;

	/* the last segment starting at or before pc */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (m->seg_lo[mid] <= pc)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (!lo || m->seg_mod[lo - 1] == SIZE_MAX)
		return NULL;
	return &m->mods[m->seg_mod[lo - 1]];
}

