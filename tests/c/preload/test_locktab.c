/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of preload/locktab.c (compiled in with a table of one set, so every semaphore
 * shares it): a holder is named until its release or destroy; a release hands over to the
 * thread that held it; a held lock is never pushed out by later locks, however many come and go
 * (the hang snapshot of a deadlock lost a lock that way); a third lock held in a full set is
 * unknown, never named wrongly; and under threads racing on the one set, every answer is the
 * holder or unknown.
 */
#include <check.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

#define FH_LT_BITS 0
#include "../../../preload/locktab.c"
#include "fh_check.h"

/* Check forks per case, but CK_FORK=no (a debugger, ThreadSanitizer) runs them in one process */
static void reset(void)
{
	memset(fh_lt, 0, sizeof(fh_lt));
}

static int holder(uint64_t key)
{
	struct fh_lt_hold h;
	return fh_lt_lookup(key, &h) ? h.tid : 0;
}

START_TEST(test_acquire_release)
{
	struct fh_lt_hold h;

	reset();
	ck_assert_int_eq(holder(0x1000), 0);
	fh_lt_acquired(0x1000, 11, 500, 0xc0de, 0x1a5);
	ck_assert(fh_lt_lookup(0x1000, &h));
	ck_assert_int_eq(h.tid, 11);
	ck_assert_uint_eq(h.tsc, 500);
	ck_assert_uint_eq(h.code, 0xc0de);
	ck_assert_uint_eq(h.instr, 0x1a5);
	/* released by its holder: nobody handed over to, and no holder after */
	ck_assert_int_eq(fh_lt_released(0x1000, 11), 0);
	ck_assert_int_eq(holder(0x1000), 0);
	/* released by another thread (an event set, a condition's waiter woken): names the holder */
	fh_lt_acquired(0x1000, 11, 600, 0, 0);
	ck_assert_int_eq(fh_lt_released(0x1000, 12), 11);
	ck_assert_int_eq(holder(0x1000), 0);
	/* a release of a semaphore the table never saw */
	ck_assert_int_eq(fh_lt_released(0x2000, 12), 0);
	/* a counting semaphore acquired again names the later thread */
	fh_lt_acquired(0x1000, 11, 700, 0, 0);
	fh_lt_acquired(0x1000, 13, 800, 0, 0);
	ck_assert_int_eq(holder(0x1000), 13);
	/* destroyed while held: no holder, and a new semaphore at that address starts clean */
	fh_lt_forget(0x1000);
	ck_assert_int_eq(holder(0x1000), 0);
}
END_TEST

START_TEST(test_held_lock_stays)
{
	reset();
	/* the deadlock's first lock, then many short-lived locks in the same set */
	fh_lt_acquired(0xa000, 21, 1, 0, 0);
	for (uint64_t i = 1; i <= 10000; i++) {
		uint64_t k = 0x100000 + i * 32;
		fh_lt_acquired(k, 22 + (int)(i % 3), 1 + i, 0, 0);
		ck_assert_int_eq(holder(k), 22 + (int)(i % 3));
		ck_assert_int_eq(fh_lt_released(k, 22 + (int)(i % 3)), 0);
		ck_assert_int_eq(holder(0xa000), 21);
	}
	/* the second lock of the deadlock */
	fh_lt_acquired(0xb000, 22, 20000, 0, 0);
	ck_assert_int_eq(holder(0xa000), 21);
	ck_assert_int_eq(holder(0xb000), 22);
	/* a third lock held at once: not recorded, so unknown, and the two stay named */
	fh_lt_acquired(0xc000, 23, 20001, 0, 0);
	ck_assert_int_eq(holder(0xc000), 0);
	ck_assert_int_eq(holder(0xa000), 21);
	ck_assert_int_eq(holder(0xb000), 22);
	/* its release is a no-op (the table never named it) */
	ck_assert_int_eq(fh_lt_released(0xc000, 24), 0);
	ck_assert_int_eq(holder(0xb000), 22);
	/* once one of them is released, the set has room again */
	ck_assert_int_eq(fh_lt_released(0xb000, 21), 22);
	fh_lt_acquired(0xc000, 23, 20002, 0, 0);
	ck_assert_int_eq(holder(0xc000), 23);
	ck_assert_int_eq(holder(0xa000), 21);
	/* a destroyed held lock frees its entry too */
	fh_lt_forget(0xa000);
	fh_lt_acquired(0xd000, 25, 20003, 0, 0);
	ck_assert_int_eq(holder(0xd000), 25);
	ck_assert_int_eq(holder(0xc000), 23);
}
END_TEST

/* A release while another thread holds the entry's claim (it chose the entry when it was free,
 * then found it taken again and backs out; or a signal handler's release while its thread was
 * mid-write): the release still forgets the holder, and a later acquire lost to a claim leaves
 * the semaphore unknown, not named after a thread that released it. */
START_TEST(test_release_during_a_claim)
{
	reset();
	fh_lt_acquired(0x1000, 11, 1, 0, 0);
	struct fh_lt_ent *e = &fh_lt[0].way[0];
	ck_assert_uint_eq(e->key, 0x1000);
	e->seq++;                          /* another writer's claim */
	ck_assert_int_eq(fh_lt_released(0x1000, 11), 0);
	ck_assert_int_eq(holder(0x1000), 0);
	fh_lt_acquired(0x1000, 12, 2, 0, 0);   /* lost to the claim: not recorded */
	ck_assert_int_eq(fh_lt_released(0x1000, 12), 0);
	e->seq++;                          /* the claim ends, nothing written */
	ck_assert_int_eq(holder(0x1000), 0);
	fh_lt_acquired(0x1000, 13, 3, 0, 0);
	ck_assert_int_eq(holder(0x1000), 13);
	/* a handover read while a claim is held does not name anybody */
	e->seq++;
	ck_assert_int_eq(fh_lt_released(0x1000, 14), 0);
	e->seq++;
	ck_assert_int_eq(holder(0x1000), 0);
	/* nor does a destroy */
	fh_lt_acquired(0x1000, 15, 4, 0, 0);
	e->seq++;
	fh_lt_forget(0x1000);
	e->seq++;
	ck_assert_int_eq(holder(0x1000), 0);
}
END_TEST

/* Racing threads on the one set, sharing its semaphores: each key is a real lock (a spin lock)
 * that RACERS threads take in turn, and each key also has a history of its holders (owner of
 * generation g in hist[g % HIST]), published before the table hears of the acquire and after it
 * hears of the release. A lookup that names a thread must name one of the key's holders between
 * the generations read before and after it; a release must never name a thread handed over to
 * (every release here is by the holder); key 1 is held by thread 1 throughout and stays named. */
#define RACERS 4
#define KEYS 3
#define ROUNDS 200000
#define HIST 64
static atomic_flag busy[2 + KEYS];
static atomic_uint gen[2 + KEYS];
static atomic_int hist[2 + KEYS][HIST];
static atomic_int wrong, lost_first, named;

static uint64_t key_of(int k)
{
	return (uint64_t)k << 12;
}

static void check_lookup(int k)
{
	unsigned g0 = atomic_load(&gen[k]);
	int t = holder(key_of(k));
	unsigned g1 = atomic_load(&gen[k]);
	if (!t || g1 - g0 >= HIST - 1)
		return;
	bool seen = false;
	for (unsigned g = g0; g != g1 + 1; g++)
		seen |= atomic_load(&hist[k][g % HIST]) == t;
	if (atomic_load(&gen[k]) - g0 >= HIST - 1)
		return;         /* preempted while reading: the history has moved on, no verdict */
	atomic_fetch_add(&named, 1);
	if (!seen)
		atomic_fetch_add(&wrong, 1);
}

static void *racer(void *arg)
{
	int tid = (int)(intptr_t)arg;

	for (int i = 0; i < ROUNDS; i++) {
		int k = 2 + (i + tid) % KEYS;
		if (atomic_flag_test_and_set(&busy[k])) {
			check_lookup(k);
			continue;
		}
		unsigned g = atomic_load(&gen[k]) + 1;
		atomic_store(&hist[k][g % HIST], tid);
		atomic_store(&gen[k], g);
		fh_lt_acquired(key_of(k), tid, (uint64_t)i, 0, 0);
		for (int o = 2; o < 2 + KEYS; o++)
			check_lookup(o);
		if (holder(key_of(1)) != 1)
			atomic_fetch_add(&lost_first, 1);
		if (fh_lt_released(key_of(k), tid) != 0)
			atomic_fetch_add(&wrong, 1);
		atomic_store(&hist[k][(g + 1) % HIST], 0);
		atomic_store(&gen[k], g + 1);
		atomic_flag_clear(&busy[k]);
	}
	return NULL;
}

START_TEST(test_racing_threads)
{
	pthread_t th[RACERS];

	reset();
	fh_lt_acquired(key_of(1), 1, 0, 0, 0);
	for (int i = 0; i < RACERS; i++)
		ck_assert_int_eq(pthread_create(&th[i], NULL, racer, (void *)(intptr_t)(100 + i)), 0);
	for (int i = 0; i < RACERS; i++)
		pthread_join(th[i], NULL);
	int wrong_answers = atomic_load(&wrong), first_lost = atomic_load(&lost_first);
	ck_assert_int_eq(wrong_answers, 0);
	ck_assert_int_eq(first_lost, 0);
	ck_assert_int_gt(atomic_load(&named), 1000);   /* the lookups did see holders */
	ck_assert_int_eq(holder(key_of(1)), 1);
}
END_TEST

static Suite *locktab_suite(void)
{
	Suite *s = suite_create("locktab");
	TCase *tc = tcase_create("locktab");

	tcase_add_test(tc, test_acquire_release);
	tcase_add_test(tc, test_held_lock_stays);
	tcase_add_test(tc, test_release_during_a_claim);
	tcase_add_test(tc, test_racing_threads);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return fh_check_run(locktab_suite());
}
