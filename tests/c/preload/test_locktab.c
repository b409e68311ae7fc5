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

/* Racing threads on the one set: thread 1 holds key 1 throughout; each other thread takes,
 * looks up and releases its own key, and looks up everybody's. A lookup may say unknown, but it
 * never names a thread that does not hold the key; key 1 stays named. */
#define RACERS 4
#define ROUNDS 200000
static atomic_int wrong, lost_first;

static void *racer(void *arg)
{
	int tid = (int)(intptr_t)arg;
	uint64_t mine = (uint64_t)tid << 12;

	for (int i = 0; i < ROUNDS; i++) {
		fh_lt_acquired(mine, tid, (uint64_t)i, (uint64_t)i, 0);
		int h = holder(mine);
		if (h != 0 && h != tid)
			atomic_fetch_add(&wrong, 1);
		for (int other = 2; other < 2 + RACERS; other++) {
			int o = holder((uint64_t)other << 12);
			if (o != 0 && o != other)
				atomic_fetch_add(&wrong, 1);
		}
		if (holder(1 << 12) != 1)
			atomic_fetch_add(&lost_first, 1);
		int woke = fh_lt_released(mine, tid);
		if (woke != 0)
			atomic_fetch_add(&wrong, 1);
	}
	return NULL;
}

START_TEST(test_racing_threads)
{
	pthread_t th[RACERS];

	reset();
	fh_lt_acquired(1 << 12, 1, 0, 0, 0);
	for (int i = 0; i < RACERS; i++)
		ck_assert_int_eq(pthread_create(&th[i], NULL, racer, (void *)(intptr_t)(2 + i)), 0);
	for (int i = 0; i < RACERS; i++)
		pthread_join(th[i], NULL);
	int wrong_answers = atomic_load(&wrong), first_lost = atomic_load(&lost_first);
	ck_assert_int_eq(wrong_answers, 0);
	ck_assert_int_eq(first_lost, 0);
	ck_assert_int_eq(holder(1 << 12), 1);
}
END_TEST

static Suite *locktab_suite(void)
{
	Suite *s = suite_create("locktab");
	TCase *tc = tcase_create("locktab");

	tcase_add_test(tc, test_acquire_release);
	tcase_add_test(tc, test_held_lock_stays);
	tcase_add_test(tc, test_racing_threads);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return fh_check_run(locktab_suite());
}
