/* SPDX-License-Identifier: MIT */
/*
 * The lock table: who holds each POSIX semaphore (CPython's threading.Lock is one), for the
 * hang snapshot and the lock waits' holder (hang.c). A semaphore has no owner field, so the
 * library keeps one, keyed by the semaphore's address: written on every successful acquire,
 * cleared by sem_post and sem_destroy. No syscall, no lock, async-signal-safe.
 *
 * Shape: sets of two entries (2-way set associative), 2^FH_LT_BITS sets. An acquire takes the
 * entry that already has its semaphore, else one whose holder released it, else none: a held
 * entry is never overwritten by another semaphore, so the lock a hang waits on, taken before
 * the hang began, cannot be pushed out by the locks taken while it lasts (a direct-mapped table
 * lost it whenever any later lock shared its slot). Unrecorded, so unknown: a third lock held
 * at once in the same set, and an acquire that meets another thread's write of its entry.
 * Whatever the races, an answer is the holder or unknown, never another thread: a writer
 * claims an entry by making its sequence number odd (compare-and-swap; a writer that loses
 * gives up), readers retry when the number moved; a release or destroy clears the holder
 * whatever the number says (skipping a claimed entry would leave a released lock's holder
 * named), and names the thread it hands over to only from a whole read. The claim is what the table costs over the direct-mapped one: ~8 ns per
 * acquire. The code is here, inline: it runs on every uncontended threading.Lock acquire and
 * release; locktab.c holds the storage.
 */
#ifndef FH_LOCKTAB_H
#define FH_LOCKTAB_H

#include <stdbool.h>
#include <stdint.h>

#include "fhtrace_int.h"

/* A holder, as fh_lt_lookup() reads it. */
struct fh_lt_hold {
	int tid;                  /* the thread that acquired the semaphore */
	uint64_t tsc;             /* when (the stamp given to fh_lt_acquired) */
	uint64_t code, instr;     /* its innermost Python frame then, undecoded (0: none) */
};

#ifndef FH_LT_BITS          /* tests/c/preload/test_locktab.c builds it with one set */
#define FH_LT_BITS 11
#endif
#define LT_SPIN 64          /* a reader's tries while a writer holds an entry (a write is ~10 ns) */

struct fh_lt_ent {
	uint64_t key;             /* the semaphore's address; 0: never used */
	uint64_t tsc;             /* when it was acquired */
	uint64_t code, instr;     /* the acquiring thread's innermost Python frame, undecoded */
	int32_t tid;              /* holder; 0 when released (or never held) */
	uint32_t seq;             /* odd while a writer owns the entry */
};

struct fh_lt_set {
	struct fh_lt_ent way[2];
};
extern struct fh_lt_set fh_lt[1u << FH_LT_BITS] FH_HIDDEN;

#define LT_LD(x) __atomic_load_n(&(x), __ATOMIC_RELAXED)
#define LT_ST(x, v) __atomic_store_n(&(x), (v), __ATOMIC_RELAXED)

static inline struct fh_lt_ent *fh_lt_set_of(uint64_t key)
{
#if FH_LT_BITS > 0
	uint64_t h = (key >> 3) * 0x9e3779b97f4a7c15ull;
	return fh_lt[h >> (64 - FH_LT_BITS)].way;
#else
	(void)key;
	return fh_lt[0].way;
#endif
}

static inline void fh_lt_acquired(uint64_t key, int tid, uint64_t tsc, uint64_t code,
				  uint64_t instr)
{
	struct fh_lt_ent *w = fh_lt_set_of(key), *e;

	if (LT_LD(w[0].key) == key)
		e = &w[0];
	else if (LT_LD(w[1].key) == key)
		e = &w[1];
	else if (!LT_LD(w[0].tid))
		e = &w[0];
	else if (!LT_LD(w[1].tid))
		e = &w[1];
	else
		return;         /* both entries name holders of other semaphores: they stay */
	uint32_t s = LT_LD(e->seq);
	if ((s & 1) || !__atomic_compare_exchange_n(&e->seq, &s, s + 1, false, __ATOMIC_ACQUIRE,
						    __ATOMIC_RELAXED))
		return;         /* another thread is writing it: this holder stays unknown */
	/* the odd number visible before any field (an acquire CAS alone does not order the stores
	 * after it on aarch64; free on x86) */
	__atomic_thread_fence(__ATOMIC_RELEASE);
	if (LT_LD(e->key) == key || !LT_LD(e->tid)) {   /* still ours to take once claimed */
		LT_ST(e->key, key);
		LT_ST(e->tsc, tsc);
		LT_ST(e->code, code);
		LT_ST(e->instr, instr);
		LT_ST(e->tid, (int32_t)tid);
	}
	__atomic_store_n(&e->seq, s + 2, __ATOMIC_RELEASE);
}

static inline int fh_lt_released(uint64_t key, int self)
{
	struct fh_lt_ent *w = fh_lt_set_of(key);
	int holder = 0;

	for (int i = 0; i < 2; i++) {
		struct fh_lt_ent *e = &w[i];
		uint32_t s = __atomic_load_n(&e->seq, __ATOMIC_ACQUIRE);
		if (LT_LD(e->key) != key)
			continue;
		int t = LT_LD(e->tid);
		if (!t)
			continue;
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
		bool whole = !(s & 1) && LT_LD(e->seq) == s;
		/* Cleared even while a writer holds the entry (skipping would leave this holder
		 * named after its release): that writer is another acquire of this semaphore (a
		 * counting one), or one of another semaphore, which finds the entry held and backs
		 * out, or had found it free and is writing: then its holder may be cleared, unknown
		 * and not wrong. Only a whole read names the thread handed over to. */
		__atomic_store_n(&e->tid, 0, __ATOMIC_RELEASE);
		if (!holder && whole)
			holder = t;
	}
	return holder != self ? holder : 0;
}

static inline void fh_lt_forget(uint64_t key)
{
	(void)fh_lt_released(key, 0);
}

static inline bool fh_lt_lookup(uint64_t key, struct fh_lt_hold *out)
{
	struct fh_lt_ent *w = fh_lt_set_of(key);

	for (int i = 0; i < 2; i++) {
		struct fh_lt_ent *e = &w[i];
		for (int tries = 0; tries < LT_SPIN; tries++) {
			uint32_t s = __atomic_load_n(&e->seq, __ATOMIC_ACQUIRE);
			if (s & 1)
				continue;
			uint64_t k = LT_LD(e->key);
			struct fh_lt_hold h = {
				.tid = LT_LD(e->tid), .tsc = LT_LD(e->tsc), .code = LT_LD(e->code),
				.instr = LT_LD(e->instr),
			};
			__atomic_thread_fence(__ATOMIC_ACQUIRE);
			if (LT_LD(e->seq) != s)
				continue;
			if (k == key && h.tid > 0) {
				*out = h;
				return true;
			}
			break;
		}
	}
	return false;
}

#endif
