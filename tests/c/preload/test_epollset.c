/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of preload/epollset.c (compiled in): what each epoll set holds, kept from
 * epoll_ctl on real epoll fds: the fd added or re-armed last names the set, a removed one no
 * longer does, the kind the fds share (other when they differ, unknown when one is), a set over
 * its capacity or an fd out of range is not named, a new epoll fd starts empty, and the calls
 * return what the kernel returns (errno kept).
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

unsigned char fh_fdkind[65536];

#include "../../../preload/epollset.c"
#include "fh_check.h"

static void add(int ep, int fd)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.fd = fd };
	ck_assert_int_eq(epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev), 0);
}

START_TEST(test_named_by_last_added)
{
	int sp[2], sp2[2], name = -2;
	int64_t n = 0;
	int ep = epoll_create1(EPOLL_CLOEXEC);

	ck_assert_int_ge(ep, 0);
	ck_assert_int_eq(fh_fdkind[ep], FHT_FD_OTHER);
	ck_assert_int_eq(fh_epset_name(ep, &name, &n), -1);   /* empty: not named */
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sp), 0);
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sp2), 0);
	fh_fdkind[sp[0]] = fh_fdkind[sp2[0]] = FHT_FD_SOCKET;
	add(ep, sp[0]);          /* the loop's wake-up socket */
	add(ep, sp2[0]);         /* what it waits for now */
	ck_assert_int_eq(fh_epset_name(ep, &name, &n), FHT_FD_SOCKET);
	ck_assert_int_eq(name, sp2[0]);
	ck_assert_int_eq(n, 2);
	/* removed: the set is named by its first socket */
	ck_assert_int_eq(epoll_ctl(ep, EPOLL_CTL_DEL, sp2[0], NULL), 0);
	ck_assert_int_eq(fh_epset_name(ep, &name, &n), FHT_FD_SOCKET);
	ck_assert_int_eq(name, sp[0]);
	ck_assert_int_eq(n, 1);
	/* re-armed: named by it again */
	add(ep, sp2[0]);
	struct epoll_event ev = { .events = EPOLLIN | EPOLLOUT };
	ck_assert_int_eq(epoll_ctl(ep, EPOLL_CTL_MOD, sp[0], &ev), 0);
	ck_assert_int_eq(fh_epset_name(ep, &name, &n), FHT_FD_SOCKET);
	ck_assert_int_eq(name, sp[0]);
	/* a failed call changes nothing and keeps its errno */
	errno = 0;
	ck_assert_int_eq(epoll_ctl(ep, EPOLL_CTL_ADD, sp[0], &ev), -1);
	ck_assert_int_eq(errno, EEXIST);
	ck_assert_int_eq(epoll_ctl(ep, EPOLL_CTL_DEL, 9999, NULL), -1);
	ck_assert_int_eq(errno, EBADF);
	ck_assert_int_eq(fh_epset_name(ep, &name, &n), FHT_FD_SOCKET);
	ck_assert_int_eq(n, 2);
	close(ep);
	/* a new epoll fd with the same number starts empty */
	ck_assert_int_eq(epoll_create(1), ep);
	ck_assert_int_eq(fh_epset_name(ep, &name, &n), -1);
	close(ep);
	close(sp[0]); close(sp[1]); close(sp2[0]); close(sp2[1]);
}
END_TEST

START_TEST(test_kinds_and_bounds)
{
	int p[2], sp[2], name;
	int64_t n;
	int ep = epoll_create1(0);

	ck_assert_int_eq(pipe(p), 0);
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sp), 0);
	fh_fdkind[p[0]] = FHT_FD_OTHER;
	fh_fdkind[sp[0]] = FHT_FD_SOCKET;
	fh_fdkind[sp[1]] = FHT_FD_UNKNOWN;
	add(ep, p[0]);
	ck_assert_int_eq(fh_epset_name(ep, &name, &n), FHT_FD_OTHER);
	add(ep, sp[0]);
	ck_assert_int_eq(fh_epset_name(ep, &name, &n), FHT_FD_OTHER);   /* mixed */
	ck_assert_int_eq(name, sp[0]);
	add(ep, sp[1]);
	ck_assert_int_eq(fh_epset_name(ep, &name, &n), FHT_FD_UNKNOWN); /* one unknown */
	/* more than FH_EPSET_FDS fds: not named, even after removals */
	int extra[FH_EPSET_FDS];
	for (int i = 0; i < FH_EPSET_FDS; i++) {
		extra[i] = dup(sp[0]);
		add(ep, extra[i]);
	}
	ck_assert_int_eq(fh_epset_name(ep, &name, &n), -1);
	ck_assert_int_eq(epoll_ctl(ep, EPOLL_CTL_DEL, extra[0], NULL), 0);
	ck_assert_int_eq(fh_epset_name(ep, &name, &n), -1);
	for (int i = 0; i < FH_EPSET_FDS; i++)
		close(extra[i]);
	/* epoll fds out of the table's range are never named */
	ck_assert_int_eq(fh_epset_name(FH_EPSETS, &name, &n), -1);
	ck_assert_int_eq(fh_epset_name(-1, &name, &n), -1);
	close(ep);
	close(p[0]); close(p[1]); close(sp[0]); close(sp[1]);
}
END_TEST

static Suite *epollset_suite(void)
{
	Suite *s = suite_create("epollset");
	TCase *tc = tcase_create("epollset");

	tcase_add_test(tc, test_named_by_last_added);
	tcase_add_test(tc, test_kinds_and_bounds);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return fh_check_run(epollset_suite());
}
