/* SPDX-License-Identifier: MIT */
/*
 * Decoding of FHT_REC_STACK records (format in preload/fhtrace_format.h) into fh_event.stack /
 * pystack (their printing under events is analyzer/dump.c's). trace.c calls
 * trace_stacks_decode() once per file after its own passes; this file is the only reader of
 * stack records. The records are hostile input like the rest of the file: every slot index is
 * checked against the records present, every kind and count against its record, and a stack
 * is read at most STACK_SCAN slots past its first record. All scans of a file together look at
 * no more than SCAN_PER_SLOT slots per record present (plus SCAN_BASE): a file whose every
 * record starts a stack that never ends would otherwise cost STACK_SCAN slots per record.
 * Stacks past that budget are left undecoded, with one warning.
 */
#include "trace_stacks.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fhtrace_format.h"
#include "hmap.h"

#define STACK_SCAN 1024        /* slots looked at past a stack's first record */
#define SCAN_PER_SLOT 8
#define SCAN_BASE 65536
#define MAX_NATIVE 256
#define MAX_PY 256
#define PYSTR_MAX 512

struct shared { uint32_t ref; const uint64_t *pcs; int npcs; const struct fh_stack_frame *py; int npy; };

/* Decoded PYSTR records by slot, so a string shared by many frames is decoded and stored once. */
struct strcache {
	struct hmap by_slot;    /* record slot -> index into e */
	struct sc_ent { const char *func, *file; } *e;
	size_t n, cap;
	uint64_t scan_left;     /* slots the scans of this file may still look at */
};

static const void *slot(const char *base, uint32_t rs, uint64_t n, uint64_t i)
{
	return i < n ? base + i * rs : NULL;
}

/* "function\0file" of the PYSTR record at slot s, from the FHT_REC_STR records it owns. */
static void pystr_read(struct arena *a, const char *base, uint32_t rs, uint64_t n, uint64_t s,
		       uint64_t *left, const char **func, const char **file)
{
	const struct fht_stack *st = slot(base, rs, n, s);
	char text[PYSTR_MAX + 1];
	size_t len = 0;

	*func = *file = NULL;
	if (!st || st->type != FHT_REC_STACK || st->kind != FHT_STK_PYSTR)
		return;
	for (uint64_t j = s + 1; j < n && j < s + STACK_SCAN && *left; j++, --*left) {
		const struct fht_str *r = slot(base, rs, n, j);
		size_t k;
		if (r->type != FHT_REC_STR || r->owner != s)
			continue;
		k = r->len > FHT_STR_CHUNK ? FHT_STR_CHUNK : r->len;
		if (len + k > PYSTR_MAX)
			k = PYSTR_MAX - len;
		memcpy(text + len, r->data, k);
		len += k;
		if (r->last)
			break;
	}
	text[len] = 0;
	if (!len)
		return;
	*func = arena_strdup(a, text);
	{
		size_t fl = strlen(text);
		if (fl < len)
			*file = arena_strndup(a, text + fl + 1, len - fl - 1);
	}
}

static void pystr(struct strcache *sc, struct arena *a, const char *base, uint32_t rs,
		  uint64_t n, uint64_t s, const char **func, const char **file)
{
	bool added;
	struct hmap_slot *hs = hmap_int(&sc->by_slot, s, true, &added);
	size_t k;

	if (added) {
		GROW(sc->e, sc->cap, sc->n + 1);
		hs->val = sc->n++;
		pystr_read(a, base, rs, n, s, &sc->scan_left, &sc->e[hs->val].func,
			   &sc->e[hs->val].file);
	}
	k = hs->val;
	*func = sc->e[k].func;
	*file = sc->e[k].file;
}

int trace_stacks_decode(const char *base, uint32_t rs, uint64_t n, struct fh_trace_file *tf,
			struct arena *a)
{
	struct shared *done = NULL; /* stacks decoded (events sharing a stack share them) ... */
	struct hmap by_ref = HMAP_INIT; /* ... by stack_ref */
	struct strcache sc = { HMAP_INIT, NULL, 0, 0, 0 };
	size_t ndone = 0, cdone = 0, nref = 0;
	int nstacks = 0;

	for (size_t e = 0; e < tf->nevents; e++)
		nref += tf->events[e].stack_ref != 0;
	if (!nref)
		return 0;
	sc.scan_left = n > (UINT64_MAX - SCAN_BASE) / SCAN_PER_SLOT ? UINT64_MAX :
		n * SCAN_PER_SLOT + SCAN_BASE;
	for (size_t e = 0; e < tf->nevents; e++) {
		struct fh_event *ev = &tf->events[e];
		const struct fht_stack *first;
		uint64_t pcs[MAX_NATIVE];
		struct fh_stack_frame *py, pybuf[MAX_PY];
		int npcs = 0, npy = 0;
		uint32_t owner;
		size_t k;

		if (!ev->stack_ref)
			continue;
		if (!sc.scan_left) {
			size_t left = 0;

			for (; e < tf->nevents; e++)
				left += tf->events[e].stack_ref != 0;
			warning("trace '%s': stack records cost more than %d slot reads per record; "
				"%zu later stacks are not decoded", tf->path ? tf->path : "?",
				SCAN_PER_SLOT, left);
			break;
		}
		if (hmap_int_get(&by_ref, ev->stack_ref, &k)) {
			ev->stack = done[k].pcs;
			ev->nstack = done[k].npcs;
			ev->pystack = done[k].py;
			ev->npystack = done[k].npy;
			continue;
		}
		first = slot(base, rs, n, ev->stack_ref);
		if (!first || first->type != FHT_REC_STACK ||
		    (first->kind != FHT_STK_NATIVE && first->kind != FHT_STK_PY))
			continue;
		owner = first->owner;
		py = pybuf;
		for (uint64_t j = ev->stack_ref;
		     j < n && j < (uint64_t)ev->stack_ref + STACK_SCAN && sc.scan_left; j++, sc.scan_left--) {
			const struct fht_stack *s = slot(base, rs, n, j);
			int cnt;
			if (s->type != FHT_REC_STACK || s->owner != owner || s->kind == FHT_STK_PYSTR)
				continue;
			cnt = s->n > FHT_STK_PCS ? FHT_STK_PCS : s->n;
			for (int i = 0; i < cnt; i++) {
				if (s->kind == FHT_STK_NATIVE && npcs < MAX_NATIVE) {
					pcs[npcs++] = s->u.pcs[i];
				} else if (s->kind == FHT_STK_PY && npy < MAX_PY) {
					struct fh_stack_frame *f = &py[npy];
					memset(f, 0, sizeof(*f));
					f->kind = "python";
					f->line = s->u.py[i].line > 0 ? s->u.py[i].line : 0;
					pystr(&sc, a, base, rs, n, s->u.py[i].str, &f->function, &f->path);
					npy++;
				}
			}
			if (s->flags & FHT_STK_F_LAST)
				break;
		}
		if (npcs) {
			uint64_t *keep = arena_alloc(a, sizeof(*keep) * (size_t)npcs);
			memcpy(keep, pcs, sizeof(*keep) * (size_t)npcs);
			ev->stack = keep;
		}
		ev->nstack = npcs;
		if (npy) {
			struct fh_stack_frame *keep = arena_alloc(a, sizeof(*keep) * (size_t)npy);
			memcpy(keep, pybuf, sizeof(*keep) * (size_t)npy);
			py = keep;
		}
		ev->pystack = npy ? py : NULL;
		ev->npystack = npy;
		GROW(done, cdone, ndone + 1);
		done[ndone] = (struct shared){ ev->stack_ref, ev->stack, npcs, ev->pystack, npy };
		hmap_int(&by_ref, ev->stack_ref, true, NULL)->val = ndone++;
		nstacks++;
	}
	free(done);
	hmap_free(&by_ref);
	free(sc.e);
	hmap_free(&sc.by_slot);
	return nstacks;
}
