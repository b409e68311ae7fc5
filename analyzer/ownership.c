/* SPDX-License-Identifier: MIT */
/* Ownership of threads: see ownership.h. */
#include <stdlib.h>
#include <string.h>

#include "ownership.h"
#include "util.h"

static size_t slot_of(const struct own_table *t, int tid)
{
	size_t k = ((uint32_t)tid * 0x9e3779b1u) & (t->cap - 1);

	while (t->e[k].tid && t->e[k].tid != tid)
		k = (k + 1) & (t->cap - 1);
	return k;
}

void own_put(struct own_table *t, int tid, int creator, int64_t born_ns)
{
	size_t k;

	if (tid <= 0 || creator <= 0 || born_ns <= 0)
		return;
	if (2 * (t->n + 1) > t->cap) {
		struct own_table old = *t;

		t->cap = old.cap ? old.cap * 2 : 64;
		t->e = xcalloc(t->cap, sizeof(*t->e));
		t->n = 0;
		for (size_t i = 0; i < old.cap; i++)
			if (old.e[i].tid)
				t->e[slot_of(t, old.e[i].tid)] = old.e[i], t->n++;
		free(old.e);
	}
	k = slot_of(t, tid);
	if (!t->e[k].tid)
		t->n++;
	t->e[k] = (struct own_ent){ tid, creator, born_ns };
}

static const struct own_ent *find(const struct own_table *t, int tid)
{
	size_t k;

	if (!t->cap || tid <= 0)
		return NULL;
	k = slot_of(t, tid);
	return t->e[k].tid ? &t->e[k] : NULL;
}

int64_t own_born(const struct own_table *t, int tid)
{
	const struct own_ent *e = find(t, tid);

	return e ? e->born_ns : 0;
}

bool own_belongs(const struct own_table *t, int tid, int test_tid, int64_t begin, int64_t end)
{
	for (int depth = 0; depth < 16; depth++) {
		const struct own_ent *e;

		if (tid == test_tid)
			return true;
		e = find(t, tid);
		if (!e)
			return depth == 0;   /* unknown origin: the thread itself, not a creator */
		if (e->born_ns < begin || e->born_ns >= end)
			return false;
		tid = e->creator;
	}
	return false;
}

void own_free(struct own_table *t)
{
	free(t->e);
	memset(t, 0, sizeof(*t));
}
