/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of preload/limits.c (compiled in): FH_TRACE_MIN_FREE parsing and the floor it
 * gives, the RLIMIT_FSIZE and disk-floor checks before a file grows, the fd headroom below
 * RLIMIT_NOFILE, errno -> drop reason. Each case runs in its own process (Check forks), so the
 * limits a case lowers do not leak.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/statfs.h>
#include <unistd.h>

#include "../../../preload/limits.c"
#include "fh_check.h"

#define MiB (1ULL << 20)
#define GiB (1ULL << 30)

START_TEST(test_default_floor)
{
	/* the larger of 256 MiB and 2% of the filesystem */
	ck_assert_uint_eq(fh_disk_floor(1 * GiB), 256 * MiB);
	ck_assert_uint_eq(fh_disk_floor(100 * GiB), 2 * GiB);
	ck_assert_uint_eq(fh_disk_floor(0), 256 * MiB);
	ck_assert(fh_disk_floor_on());
}
END_TEST

START_TEST(test_parse)
{
	ck_assert(fh_parse_min_free("0"));
	ck_assert(!fh_disk_floor_on());
	ck_assert_uint_eq(fh_disk_floor(100 * GiB), 0);
	ck_assert(fh_parse_min_free("1M"));
	ck_assert_uint_eq(fh_disk_floor(100 * GiB), 1 * MiB);
	ck_assert(fh_parse_min_free("4096"));
	ck_assert_uint_eq(fh_disk_floor(100 * GiB), 4096);
	ck_assert(fh_parse_min_free("3k"));
	ck_assert_uint_eq(fh_disk_floor(0), 3072);
	ck_assert(fh_parse_min_free("2G"));
	ck_assert_uint_eq(fh_disk_floor(0), 2 * GiB);
	ck_assert(fh_parse_min_free("1T"));
	ck_assert_uint_eq(fh_disk_floor(0), 1024 * GiB);
	ck_assert(fh_parse_min_free("10%"));
	ck_assert_uint_eq(fh_disk_floor(100 * GiB), 10 * GiB);
	ck_assert_uint_eq(fh_disk_floor(0), 0);
	ck_assert(fh_parse_min_free("1.5%"));
	ck_assert_uint_eq(fh_disk_floor(1000 * MiB), 15 * MiB);
	ck_assert(fh_parse_min_free("0.25%"));
	ck_assert_uint_eq(fh_disk_floor(400 * MiB), 1 * MiB);
	ck_assert(fh_parse_min_free(".5%"));
	ck_assert_uint_eq(fh_disk_floor(200 * MiB), 1 * MiB);
	ck_assert(fh_parse_min_free("100%"));
	ck_assert_uint_eq(fh_disk_floor(5 * GiB), 5 * GiB);
	/* two terms: the larger, in either order; the default spelled out */
	ck_assert(fh_parse_min_free("256M,2%"));
	ck_assert_uint_eq(fh_disk_floor(1 * GiB), 256 * MiB);
	ck_assert_uint_eq(fh_disk_floor(100 * GiB), 2 * GiB);
	ck_assert(fh_parse_min_free("50%,1G"));
	ck_assert_uint_eq(fh_disk_floor(1 * GiB), 1 * GiB);
	ck_assert_uint_eq(fh_disk_floor(4 * GiB), 2 * GiB);
}
END_TEST

START_TEST(test_parse_rejects)
{
	static const char *const bad[] = {
		"", "M", "%", "-1", " 1M", "1M ", "1.5M", "1,", ",1", "1,2,3", "5X", "1MB", "101%",
		"100.01%", "1e6", "18446744073709551616", "17179869184G", "0x10", "1%%",
	};
	ck_assert(fh_parse_min_free("7M"));
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert_msg(!fh_parse_min_free(bad[i]), "accepted '%s'", bad[i]);
		/* a value that is not understood changes nothing */
		ck_assert_uint_eq(fh_disk_floor(100 * GiB), 7 * MiB);
	}
}
END_TEST

static long tmp_file(void)
{
	char path[] = "/tmp/fh-test-limits-XXXXXX";
	int fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	unlink(path);
	return fd;
}

START_TEST(test_may_grow_rlimit)
{
	long fd = tmp_file();
	struct rlimit rl = { 8192, RLIM_INFINITY };
	ck_assert(fh_parse_min_free("0"));
	ck_assert_uint_eq(fh_may_grow(fd, NULL, 1 * GiB, 1 * GiB), 0);
	ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &rl), 0);
	ck_assert_uint_eq(fh_fsize_limit(), 8192);
	ck_assert_uint_eq(fh_may_grow(fd, NULL, 8192, 4096), 0);
	ck_assert_uint_eq(fh_may_grow(fd, NULL, 8193, 1), FHT_DROP_RLIMIT);
	ck_assert_uint_eq(fh_may_grow(-1, "/tmp", 12288, 4096), FHT_DROP_RLIMIT);
	close((int)fd);
}
END_TEST

START_TEST(test_may_grow_floor)
{
	long fd = tmp_file();
	struct statfs sf;
	ck_assert_int_eq(fstatfs((int)fd, &sf), 0);
	uint64_t unit = sf.f_frsize ? (uint64_t)sf.f_frsize : (uint64_t)sf.f_bsize;
	uint64_t avail = (uint64_t)sf.f_bavail * unit;
	char v[32];
	/* a floor just below what is free: a small growth passes, one past it does not */
	ck_assert(avail > 2 * MiB);
	snprintf(v, sizeof(v), "%llu", (unsigned long long)(avail - MiB));
	ck_assert(fh_parse_min_free(v));
	ck_assert_uint_eq(fh_may_grow(fd, NULL, 4096, 4096), 0);
	ck_assert_uint_eq(fh_may_grow(-1, "/tmp", 4096, 4096), 0);
	ck_assert_uint_eq(fh_may_grow(fd, NULL, 2 * MiB, 2 * MiB), FHT_DROP_DISK_FLOOR);
	ck_assert_uint_eq(fh_may_grow(fd, NULL, avail + 1, avail + 1), FHT_DROP_DISK_FLOOR);
	/* all of the filesystem as the floor: nothing ever passes */
	ck_assert(fh_parse_min_free("100%"));
	ck_assert_uint_eq(fh_may_grow(fd, NULL, 4096, 4096), FHT_DROP_DISK_FLOOR);
	ck_assert_uint_eq(fh_disk_floor_of("/tmp"), (uint64_t)sf.f_blocks * unit);
	ck_assert(fh_parse_min_free("0"));
	ck_assert_uint_eq(fh_may_grow(fd, NULL, 4096, 4096), 0);
	ck_assert_uint_eq(fh_disk_floor_of("/tmp"), 0);
	close((int)fd);
}
END_TEST

START_TEST(test_fd_headroom)
{
	int probe = open("/dev/null", O_RDONLY);
	ck_assert_int_ge(probe, 0);
	close(probe);
	/* the next fd is `probe`: a limit of probe + 16 leaves it within the headroom */
	struct rlimit rl;
	ck_assert_int_eq(getrlimit(RLIMIT_NOFILE, &rl), 0);
	rl.rlim_cur = (rlim_t)probe + FH_FD_HEADROOM;
	ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, &rl), 0);
	unsigned reason = 0;
	ck_assert_int_eq(fh_open_own("/dev/null", O_RDONLY, 0, &reason), -1);
	ck_assert_uint_eq(reason, FHT_DROP_NO_FD);
	/* and gave it back: the program gets the same fd it would have got */
	int fd = open("/dev/null", O_RDONLY);
	ck_assert_int_eq(fd, probe);
	close(fd);
	rl.rlim_cur++;
	ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, &rl), 0);
	long own = fh_open_own("/dev/null", O_RDONLY, 0, &reason);
	ck_assert_int_eq(own, probe);
	close((int)own);
	ck_assert_int_eq(fh_open_own("/nonexistent/x", O_RDONLY, 0, &reason), -1);
	ck_assert_uint_eq(reason, FHT_DROP_IO);
}
END_TEST

START_TEST(test_reasons)
{
	ck_assert_uint_eq(fh_reason_of(EMFILE), FHT_DROP_NO_FD);
	ck_assert_uint_eq(fh_reason_of(ENFILE), FHT_DROP_NO_FD);
	ck_assert_uint_eq(fh_reason_of(ENOSPC), FHT_DROP_DISK_FULL);
	ck_assert_uint_eq(fh_reason_of(EDQUOT), FHT_DROP_DISK_FULL);
	ck_assert_uint_eq(fh_reason_of(EFBIG), FHT_DROP_RLIMIT);
	ck_assert_uint_eq(fh_reason_of(ENOMEM), FHT_DROP_NO_MEMORY);
	ck_assert_uint_eq(fh_reason_of(EACCES), FHT_DROP_IO);
}
END_TEST

static Suite *limits_suite(void)
{
	Suite *s = suite_create("limits");
	TCase *tc = tcase_create("limits");

	tcase_add_test(tc, test_default_floor);
	tcase_add_test(tc, test_parse);
	tcase_add_test(tc, test_parse_rejects);
	tcase_add_test(tc, test_may_grow_rlimit);
	tcase_add_test(tc, test_may_grow_floor);
	tcase_add_test(tc, test_fd_headroom);
	tcase_add_test(tc, test_reasons);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return fh_check_run(limits_suite());
}
