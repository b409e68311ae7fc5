/* SPDX-License-Identifier: MIT */
/*
 * struct hmap: the analyzer's one hash map. Open addressing with linear probing, a power-of-two
 * number of slots, grown to keep it at most half full; a slot holds a 64-bit hash, a key and a
 * value (a size_t, usually an index into the caller's own array). Three ways to key it, one per
 * map:
 *
 *   - strings: hmap_str() / hmap_str_get(); keys are borrowed (the caller keeps them alive and
 *     unchanged while the map is used) and compared with strcmp;
 *   - integers: hmap_int() / hmap_int_get(); the key is mixed by a bijection, so equal hashes
 *     mean equal keys and no other comparison is needed;
 *   - keys the caller compares itself (a pair, a key inside its array): hmap_add() stores a
 *     value under a hash, hmap_first() / hmap_next() walk the values stored under a hash.
 *
 * Hostile input cannot make it slow by accident (FNV-1a on strings, a mixed integer), only by
 * design of colliding strings, which the inputs it indexes (node ids, run ids, pids) have no
 * reason to be.
 *
 * Ownership: the map owns its slots (hmap_free()); a slot pointer returned by hmap_str() or
 * hmap_int() is borrowed, valid until the next insertion into the map.
 */
#ifndef FH_HMAP_H
#define FH_HMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct hmap_slot {
	uint64_t hash;
	const char *key;   /* string keys only */
	size_t val;
	bool used;
};

struct hmap {
	struct hmap_slot *slots;
	size_t cap, n;     /* slots (0 or a power of two) and slots used */
};

#define HMAP_INIT { NULL, 0, 0 }
#define HMAP_NONE SIZE_MAX /* hmap_first() / hmap_next(): no more values */

/* The slot of string key; with create, a new slot (val 0, *added true) when key is absent,
 * else NULL. added may be NULL. */
struct hmap_slot *hmap_str(struct hmap *m, const char *key, bool create, bool *added);
/* true with *val set when key is present. */
bool hmap_str_get(const struct hmap *m, const char *key, size_t *val);

/* The same for integer keys. */
struct hmap_slot *hmap_int(struct hmap *m, uint64_t key, bool create, bool *added);
bool hmap_int_get(const struct hmap *m, uint64_t key, size_t *val);

/* Caller-compared keys: stores val under hash (several values may share one). */
void hmap_add(struct hmap *m, uint64_t hash, size_t val);
/* The first value stored under hash (HMAP_NONE when none); *pos is the walk's state for
 * hmap_next(), which gives the following ones. Values come in insertion order per hash only
 * while nothing is inserted during the walk. */
size_t hmap_first(const struct hmap *m, uint64_t hash, size_t *pos);
size_t hmap_next(const struct hmap *m, uint64_t hash, size_t *pos);

/* The hashes of a string key (FNV-1a 64) and of an integer key (a bijection that spreads every
 * bit), for callers that compare keys themselves. */
uint64_t hmap_str_hash(const char *s);
uint64_t hmap_int_hash(uint64_t key);

void hmap_free(struct hmap *m);

#endif
