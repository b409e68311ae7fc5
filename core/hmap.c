/* SPDX-License-Identifier: MIT */
/*
 * struct hmap (hmap.h): open addressing, linear probing, at most half full.
 */
#include "hmap.h"

#include <stdlib.h>
#include <string.h>

#include "util.h"

#define HMAP_MIN_SLOTS 16

uint64_t hmap_str_hash(const char *s)
{
	return fnv64(FNV64_INIT, s, strlen(s));
}

/* splitmix64's finalizer: a bijection of 64-bit integers that spreads every input bit. */
uint64_t hmap_int_hash(uint64_t x)
{
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ULL;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebULL;
	x ^= x >> 31;
	return x;
}

static void grow(struct hmap *m)
{
	struct hmap_slot *old = m->slots;
	size_t ocap = m->cap;

	m->cap = ocap ? ocap * 2 : HMAP_MIN_SLOTS;
	m->slots = xcalloc(m->cap, sizeof(*m->slots));
	for (size_t i = 0; i < ocap; i++) {
		size_t k;

		if (!old[i].used)
			continue;
		for (k = old[i].hash & (m->cap - 1); m->slots[k].used; k = (k + 1) & (m->cap - 1))
			;
		m->slots[k] = old[i];
	}
	free(old);
}

/* Room for one more slot. */
static void reserve(struct hmap *m)
{
	if ((m->n + 1) * 2 > m->cap)
		grow(m);
}

/* The slot holding (hash, key) or the empty slot where it would go; key NULL: integer keys. */
static struct hmap_slot *probe(const struct hmap *m, uint64_t hash, const char *key)
{
	size_t k;

	for (k = hash & (m->cap - 1); m->slots[k].used; k = (k + 1) & (m->cap - 1))
		if (m->slots[k].hash == hash && (!key || !strcmp(m->slots[k].key, key)))
			break;
	return &m->slots[k];
}

static struct hmap_slot *lookup(struct hmap *m, uint64_t hash, const char *key, bool create,
				bool *added)
{
	struct hmap_slot *s;

	if (added)
		*added = false;
	if (!m->cap) {
		if (!create)
			return NULL;
		grow(m);
	}
	s = probe(m, hash, key);
	if (s->used)
		return s;
	if (!create)
		return NULL;
	if ((m->n + 1) * 2 > m->cap) {
		grow(m);
		s = probe(m, hash, key);
	}
	s->used = true;
	s->hash = hash;
	s->key = key;
	s->val = 0;
	m->n++;
	if (added)
		*added = true;
	return s;
}

struct hmap_slot *hmap_str(struct hmap *m, const char *key, bool create, bool *added)
{
	return lookup(m, hmap_str_hash(key), key, create, added);
}

bool hmap_str_get(const struct hmap *m, const char *key, size_t *val)
{
	const struct hmap_slot *s;

	if (!m->cap)
		return false;
	s = probe(m, hmap_str_hash(key), key);
	if (!s->used)
		return false;
	*val = s->val;
	return true;
}

struct hmap_slot *hmap_int(struct hmap *m, uint64_t key, bool create, bool *added)
{
	return lookup(m, hmap_int_hash(key), NULL, create, added);
}

bool hmap_int_get(const struct hmap *m, uint64_t key, size_t *val)
{
	const struct hmap_slot *s;

	if (!m->cap)
		return false;
	s = probe(m, hmap_int_hash(key), NULL);
	if (!s->used)
		return false;
	*val = s->val;
	return true;
}

void hmap_add(struct hmap *m, uint64_t hash, size_t val)
{
	size_t k;

	reserve(m);
	for (k = hash & (m->cap - 1); m->slots[k].used; k = (k + 1) & (m->cap - 1))
		;
	m->slots[k] = (struct hmap_slot){ hash, NULL, val, true };
	m->n++;
}

size_t hmap_next(const struct hmap *m, uint64_t hash, size_t *pos)
{
	if (!m->cap)
		return HMAP_NONE;
	for (size_t k = *pos; m->slots[k].used; k = (k + 1) & (m->cap - 1)) {
		if (m->slots[k].hash == hash) {
			*pos = (k + 1) & (m->cap - 1);
			return m->slots[k].val;
		}
	}
	return HMAP_NONE;
}

size_t hmap_first(const struct hmap *m, uint64_t hash, size_t *pos)
{
	*pos = m->cap ? hash & (m->cap - 1) : 0;
	return hmap_next(m, hash, pos);
}

void hmap_free(struct hmap *m)
{
	free(m->slots);
	m->slots = NULL;
	m->cap = m->n = 0;
}
