/* SPDX-License-Identifier: MIT */
/*
 * What each epoll set holds. A poll's set is in its arguments, where the wrapper reads it at
 * exit (wrappers.c, fh_post_pollfds); an epoll_wait's set lives in the kernel, built by
 * epoll_ctl. So epoll_ctl is tracked, not traced (asyncio and selectors call it around almost
 * every wait; a record each would say nothing by itself): per epoll fd below FH_EPSETS, the fds
 * it holds (up to FH_EPSET_FDS; a larger set is not named) and the one added or re-armed last,
 * which is the one a loop waits for (the others are its wake-up pipe and long-lived fds). At an
 * epoll_wait's exit fh_epset_name() gives the record what a poll's gets: the kind the fds
 * share, the fd that names the set and its size.
 *
 * An fd closed while in a set leaves the kernel's set silently and stays listed here until its
 * number is removed or the set is made again (epoll_create clears the slot); a set read while
 * another thread changes it may be named by a stale fd. Both only misname a wait, never change
 * what the program sees: the calls themselves go to the kernel unchanged.
 */
#include <dlfcn.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/epoll.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "fhtrace_int.h"

#define FH_EPSETS 1024
#define FH_EPSET_FDS 8

struct epset {
	int n;                  /* fds listed; -1: more than FH_EPSET_FDS (not named) */
	int last;               /* the fd added or re-armed last, -1 when it was removed */
	int fd[FH_EPSET_FDS];
};

static struct epset sets[FH_EPSETS];

/* A new epoll fd: its kind is other (not whatever fd had its number before), its set empty. */
static void set_clear(int ep)
{
	if (ep >= 0 && ep < 65536)
		fh_fdkind[ep] = FHT_FD_OTHER;
	if (ep < 0 || ep >= FH_EPSETS)
		return;
	__atomic_store_n(&sets[ep].n, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&sets[ep].last, -1, __ATOMIC_RELAXED);
}

static void set_note(int ep, int op, int fd)
{
	struct epset *s;
	int n, i;

	if (ep < 0 || ep >= FH_EPSETS || fd < 0)
		return;
	s = &sets[ep];
	n = __atomic_load_n(&s->n, __ATOMIC_RELAXED);
	for (i = 0; i < n && i < FH_EPSET_FDS; i++)
		if (__atomic_load_n(&s->fd[i], __ATOMIC_RELAXED) == fd)
			break;
	if (op == EPOLL_CTL_DEL) {
		if (n > 0 && i < n) {
			__atomic_store_n(&s->fd[i], __atomic_load_n(&s->fd[n - 1], __ATOMIC_RELAXED),
					 __ATOMIC_RELAXED);
			__atomic_store_n(&s->n, n - 1, __ATOMIC_RELAXED);
		}
		if (__atomic_load_n(&s->last, __ATOMIC_RELAXED) == fd)
			__atomic_store_n(&s->last, -1, __ATOMIC_RELAXED);
		return;
	}
	if (op == EPOLL_CTL_ADD && n >= 0 && i == n) {
		if (n == FH_EPSET_FDS) {
			__atomic_store_n(&s->n, -1, __ATOMIC_RELAXED);
		} else {
			__atomic_store_n(&s->fd[n], fd, __ATOMIC_RELAXED);
			__atomic_store_n(&s->n, n + 1, __ATOMIC_RELAXED);
		}
	}
	__atomic_store_n(&s->last, fd, __ATOMIC_RELAXED);
}

int fh_epset_name(int ep, int *name, int64_t *count)
{
	struct fh_fdset s = FH_FDSET_INIT;
	bool has_last = false;
	int n, last;

	if (ep < 0 || ep >= FH_EPSETS)
		return -1;
	n = __atomic_load_n(&sets[ep].n, __ATOMIC_RELAXED);
	last = __atomic_load_n(&sets[ep].last, __ATOMIC_RELAXED);
	if (n <= 0 || n > FH_EPSET_FDS)
		return -1;
	for (int i = 0; i < n; i++) {
		int fd = __atomic_load_n(&sets[ep].fd[i], __ATOMIC_RELAXED);

		fh_fdset_add(&s, fd);
		has_last |= fd == last;
	}
	*name = has_last ? last : s.sock >= 0 ? s.sock : s.first;
	*count = n;
	return fh_fdset_kind(&s);
}

typedef int (*ctl_fn)(int, int, int, struct epoll_event *);
typedef int (*create_fn)(int);
static ctl_fn real_ctl;
static create_fn real_create, real_create1;

static void *resolve(const char *name, void **slot)
{
	void *f = dlsym(RTLD_NEXT, name);
	if (f)
		__atomic_store_n(slot, f, __ATOMIC_RELEASE);
	return f;
}

FH_EXPORT int epoll_ctl(int ep, int op, int fd, struct epoll_event *ev);
int epoll_ctl(int ep, int op, int fd, struct epoll_event *ev)
{
	ctl_fn f = __atomic_load_n(&real_ctl, __ATOMIC_ACQUIRE);
	int r;

	if (FH_UNLIKELY(!f))
		f = (ctl_fn)resolve("epoll_ctl", (void **)&real_ctl);
	r = f ? f(ep, op, fd, ev) : (int)syscall(SYS_epoll_ctl, ep, op, fd, ev);
	if (r == 0) {
		int saved = errno;
		set_note(ep, op, fd);
		errno = saved;
	}
	return r;
}

FH_EXPORT int epoll_create1(int flags);
int epoll_create1(int flags)
{
	create_fn f = __atomic_load_n(&real_create1, __ATOMIC_ACQUIRE);
	int r;

	if (FH_UNLIKELY(!f))
		f = (create_fn)resolve("epoll_create1", (void **)&real_create1);
	r = f ? f(flags) : (int)syscall(SYS_epoll_create1, flags);
	set_clear(r);
	return r;
}

FH_EXPORT int epoll_create(int size);
int epoll_create(int size)
{
	create_fn f = __atomic_load_n(&real_create, __ATOMIC_ACQUIRE);
	int r;

	if (FH_UNLIKELY(!f))
		f = (create_fn)resolve("epoll_create", (void **)&real_create);
	if (f) {
		r = f(size);
	} else if (size <= 0) {
		errno = EINVAL;
		r = -1;
	} else {
		r = (int)syscall(SYS_epoll_create1, 0);
	}
	set_clear(r);
	return r;
}
