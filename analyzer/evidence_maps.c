/* SPDX-License-Identifier: MIT */
/*
 * The evidence join's small maps: string -> int (borrowed keys) and int -> int, open
 * addressing with linear probing, grown at half full.
 */
#include <stdlib.h>
#include <string.h>

#include "evidence_int.h"

size_t shash(const char *s)
{
	return (size_t)fnv64(FNV64_INIT, s, strlen(s));
}


void smap_grow(struct smap *m)
{
	struct smap old = *m;

	m->cap = old.cap ? old.cap * 2 : 64;
	m->keys = xcalloc(m->cap, sizeof(*m->keys));
	m->vals = xcalloc(m->cap, sizeof(*m->vals));
	m->n = 0;
	for (size_t i = 0; i < old.cap; i++)
		if (old.keys[i])
			smap_put(m, old.keys[i], old.vals[i]);
	free(old.keys);
	free(old.vals);
}

int *smap_slot(struct smap *m, const char *key, bool create)
{
	size_t i;

	if (!m->cap) {
		if (!create)
			return NULL;
		smap_grow(m);
	}
	for (i = shash(key) & (m->cap - 1); m->keys[i]; i = (i + 1) & (m->cap - 1))
		if (!strcmp(m->keys[i], key))
			return &m->vals[i];
	if (!create)
		return NULL;
	if (2 * (m->n + 1) > m->cap) {
		smap_grow(m);
		return smap_slot(m, key, true);
	}
	m->keys[i] = key;
	m->n++;
	return &m->vals[i];
}

void smap_put(struct smap *m, const char *key, int val)
{
	*smap_slot(m, key, true) = val;
}

void smap_free(struct smap *m)
{
	free(m->keys);
	free(m->vals);
	memset(m, 0, sizeof(*m));
}


static void imap_grow(struct imap *m)
{
	struct imap old = *m;

	m->cap = old.cap ? old.cap * 2 : 64;
	m->keys = xcalloc(m->cap, sizeof(int));
	m->vals = xcalloc(m->cap, sizeof(int));
	m->used = xcalloc(m->cap, sizeof(bool));
	m->n = 0;
	for (size_t i = 0; i < old.cap; i++)
		if (old.used[i])
			imap_put(m, old.keys[i], old.vals[i]);
	free(old.keys);
	free(old.vals);
	free(old.used);
}

static size_t ihash(int k)
{
	uint64_t x = (uint32_t)k * 0x9e3779b97f4a7c15ULL;

	return (size_t)(x >> 17);
}

int imap_get(const struct imap *m, int key)
{
	if (!m->cap)
		return NONE;
	for (size_t i = ihash(key) & (m->cap - 1); m->used[i]; i = (i + 1) & (m->cap - 1))
		if (m->keys[i] == key)
			return m->vals[i];
	return NONE;
}

void imap_put(struct imap *m, int key, int val)
{
	size_t i;

	if (2 * (m->n + 1) > m->cap)
		imap_grow(m);
	for (i = ihash(key) & (m->cap - 1); m->used[i]; i = (i + 1) & (m->cap - 1))
		if (m->keys[i] == key) {
			m->vals[i] = val;
			return;
		}
	m->used[i] = true;
	m->keys[i] = key;
	m->vals[i] = val;
	m->n++;
}

void imap_free(struct imap *m)
{
	free(m->keys);
	free(m->vals);
	free(m->used);
	memset(m, 0, sizeof(*m));
}
