/* SPDX-License-Identifier: MIT */
/*
 * The generated wrappers: every FH_CALL line of calls.def becomes one exported function with
 * the libc prototype, which records the call at entry, calls the real function, records the
 * result at exit and returns exactly what the real function returned, errno included. The
 * small hooks the table names (targets, timeouts, child status) are defined here, before the
 * expansion. Hand-written wrappers (FH_CUSTOM) live in wrap_custom.c.
 */
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <spawn.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/file.h>
#include <sys/pidfd.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <locale.h>
#include <sys/select.h>
#include <sys/sendfile.h>
#include <sys/time.h>
#include <sys/timerfd.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <arpa/inet.h>

#include "chaos.h"
#include "fhtrace_int.h"

/* glibc declares socket calls with transparent unions under _GNU_SOURCE. */
#define FH_SA __SOCKADDR_ARG
#define FH_CSA __CONST_SOCKADDR_ARG
#define FH_SAP(a) ((a).__sockaddr__)
#define FH_CSAP(a) ((a).__sockaddr__)

/* fd -> last connect/accept peer, for targets reported later (SO_ERROR after a timeout). */
#define FD_TGT_MAX 1024
#define FD_TGT_LEN 64
static char fd_tgt[FD_TGT_MAX][FD_TGT_LEN];

const char *fh_fd_target(int fd)
{
	return fd >= 0 && fd < FD_TGT_MAX ? fd_tgt[fd] : "";
}

/* ---- timeouts (ns; -1 infinite) ---- */

static inline int64_t ts_ns(const struct timespec *ts)
{
	return (int64_t)ts->tv_sec * 1000000000 + ts->tv_nsec;
}

static inline int64_t fh_tmo_ms(int ms)
{
	return ms < 0 ? -1 : (int64_t)ms * 1000000;
}

static inline int64_t fh_tmo_rel(const struct timespec *ts)
{
	return ts ? ts_ns(ts) : -1;
}

static inline int64_t fh_tmo_tv(const struct timeval *tv)
{
	return tv ? (int64_t)tv->tv_sec * 1000000000 + tv->tv_usec * 1000 : -1;
}

static int64_t fh_tmo_abs(clockid_t clk, const struct timespec *abs)
{
	struct timespec now;
	if (!abs)
		return -1;
	if (clock_gettime(clk, &now))
		return ts_ns(abs);
	int64_t d = ts_ns(abs) - ts_ns(&now);
	return d < 0 ? 0 : d;
}

static inline int64_t fh_tmo_clock(clockid_t clk, int absflag, const struct timespec *req)
{
	return absflag ? fh_tmo_abs(clk, req) : fh_tmo_rel(req);
}

static inline int64_t fh_tmo_itv(const struct itimerval *v)
{
	return v ? fh_tmo_tv(&v->it_value) : -1;
}

static inline int64_t fh_tmo_its(int fl, const struct itimerspec *v)
{
	(void)fl;
	return v ? ts_ns(&v->it_value) : -1;
}

/* ---- targets ---- */

static inline void fh_pre_str(struct fh_call *c, const char *s)
{
	if (s)
		fh_call_str(c, s, fh_strnlen(s, FHT_STR_MAX + 1));
}

static void fh_pre_addr(struct fh_call *c, const struct sockaddr *a, socklen_t len)
{
	char buf[160];
	size_t n = fh_fmt_sockaddr(buf, sizeof(buf), a, len);
	if (n)
		fh_call_str(c, buf, n);
}

static void fh_pre_connect(struct fh_call *c, int fd, const struct sockaddr *a, socklen_t len)
{
	char buf[160];
	size_t n = fh_fmt_sockaddr(buf, sizeof(buf), a, len);
	if (fd >= 0 && fd < 65536)
		fh_fdkind[fd] = FHT_FD_SOCKET;
	if (!n)
		return;
	fh_call_str(c, buf, n);
	if (fd >= 0 && fd < FD_TGT_MAX)
		fh_strlcpy(fd_tgt[fd], FD_TGT_LEN, buf);
}

static void fh_post_newfd(struct fh_call *c, int ret, int kind)
{
	(void)c;
	if (ret >= 0 && ret < 65536)
		fh_fdkind[ret] = (unsigned char)kind;
	if (ret >= 0 && ret < FD_TGT_MAX)
		fd_tgt[ret][0] = 0;
}

/* A pipe or socketpair (FHF_PAIR): both fds in arg and arg2, and the channel's identity as the
 * target, "pipe:[inode]" (what /proc/self/fd shows for either end, so a slow call's lazy target
 * agrees) or "socketpair:[inode of the first end]", so that the analyzer can tell two threads
 * that use the same channel. One fstat per pipe made: not a hot call. */
static void fh_post_pair(struct fh_call *c, int ret, const int *fds, int kind)
{
	struct stat st;
	char buf[48];
	size_t o;

	if (ret != 0)
		return;
	for (int i = 0; i < 2; i++) {
		if (fds[i] >= 0 && fds[i] < 65536)
			fh_fdkind[fds[i]] = (unsigned char)kind;
		if (fds[i] >= 0 && fds[i] < FD_TGT_MAX)
			fd_tgt[fds[i]][0] = 0;   /* not the peer of an earlier socket with that number */
	}
	c->rec->arg = fds[0];
	c->rec->arg2 = fds[1];
	if (FH_SYS(SYS_fstat, fds[0], &st) != 0)
		return;
	o = fh_cat(buf, sizeof(buf), 0, kind == FHT_FD_SOCKET ? "socketpair:[" : "pipe:[");
	o += fh_fmt_long(buf + o, sizeof(buf) - o, (long)st.st_ino);
	o = fh_cat(buf, sizeof(buf), o, "]");
	fh_call_str(c, buf, o);
}

static void fh_post_accept(struct fh_call *c, int ret, const struct sockaddr *a, const socklen_t *len)
{
	char buf[160];
	if (ret < 0)
		return;
	c->rec->arg = ret;
	fh_post_newfd(c, ret, FHT_FD_SOCKET);
	if (!a || !len)
		return;
	size_t n = fh_fmt_sockaddr(buf, sizeof(buf), a, *len);
	if (!n)
		return;
	fh_call_str(c, buf, n);
	if (ret < FD_TGT_MAX)
		fh_strlcpy(fd_tgt[ret], FD_TGT_LEN, buf);
}

static void fh_post_getsockopt(struct fh_call *c, int ret, int lvl, int opt, const void *val,
			       const socklen_t *vl)
{
	if (ret || lvl != SOL_SOCKET || opt != SO_ERROR || !val || !vl || *vl < sizeof(int))
		return;
	int e = *(const int *)val;
	c->rec->arg2 = e;
	if (!e)
		return;
	c->rec->err = e;   /* the pending socket error: a failed non-blocking connect */
	int fd = c->rec->fd;
	if (fd >= 0 && fd < FD_TGT_MAX && fd_tgt[fd][0] && !(c->rec->flags & FHT_F_STR)) {
		char buf[FD_TGT_LEN];
		size_t n = fh_strlcpy(buf, sizeof(buf), fd_tgt[fd]);
		fh_call_str(c, buf, n);
	}
}

static void fh_pre_hostport(struct fh_call *c, const char *node, const char *svc)
{
	char buf[320];
	size_t o = 0;
	if (node)
		o = fh_strlcpy(buf, 256, node);
	buf[o++] = ':';
	buf[o] = 0;
	if (svc)
		o += fh_strlcpy(buf + o, sizeof(buf) - o, svc);
	fh_call_str(c, buf, o);
}

static void fh_post_gai(struct fh_call *c, int ret, struct addrinfo **res)
{
	int n = 0;
	if (ret == 0 && res)
		for (struct addrinfo *a = *res; a && n < 1000; a = a->ai_next)
			n++;
	c->rec->arg = n;
}

static void fh_pre_rawaddr(struct fh_call *c, const void *addr, socklen_t len, int type)
{
	struct sockaddr_storage ss;
	memset(&ss, 0, sizeof(ss));
	socklen_t sl = 0;
	if (!addr)
		return;
	if (type == AF_INET && len >= 4) {
		struct sockaddr_in *s = (void *)&ss;
		s->sin_family = AF_INET;
		memcpy(&s->sin_addr, addr, 4);
		sl = sizeof(*s);
	} else if (type == AF_INET6 && len >= 16) {
		struct sockaddr_in6 *s = (void *)&ss;
		s->sin6_family = AF_INET6;
		memcpy(&s->sin6_addr, addr, 16);
		sl = sizeof(*s);
	}
	if (sl)
		fh_pre_addr(c, (struct sockaddr *)&ss, sl);
}

static void fh_post_herr(struct fh_call *c, int ret, struct hostent **res, const int *herr)
{
	c->rec->arg2 = herr ? *herr : 0;
	if (ret == 0 && res && !*res)
		c->rec->err = ENOENT;    /* not found: h_errno in arg2 */
}

static void fh_post_spawn(struct fh_call *c, int ret, const pid_t *pid)
{
	c->rec->arg = (ret == 0 && pid) ? *pid : -1;
}

static void fh_post_wait(struct fh_call *c, pid_t ret, const int *st)
{
	if (ret > 0 && st)
		c->rec->arg = *st;
	else
		c->rec->arg = -1;
}

static void fh_post_waitid(struct fh_call *c, int ret, const siginfo_t *si)
{
	c->rec->arg = -1;
	if (ret || !si || !si->si_pid)
		return;
	c->rec->arg2 = si->si_pid;
	if (si->si_code == CLD_EXITED)
		c->rec->arg = (si->si_status & 0xff) << 8;
	else if (si->si_code == CLD_KILLED)
		c->rec->arg = si->si_status & 0x7f;
	else if (si->si_code == CLD_DUMPED)
		c->rec->arg = (si->si_status & 0x7f) | 0x80;
	else
		c->rec->arg = ((si->si_status & 0xff) << 8) | 0x7f;   /* stopped/continued */
}

/* The profiler's signal is never the program's: waits for a set of signals do not include it. */
#define FH_WAITSET(m) fh_prof_waitset((m), &(sigset_t){ { 0 } })

static void fh_post_sigwait(struct fh_call *c, int ret, const int *sig)
{
	const int *volatile p = sig;   /* declared nonnull, but never trust a caller */
	c->rec->arg = (ret == 0 && p) ? *p : 0;
}

/* The fd kind all fds of a poll set share (fhtrace_format.h), and the fd that names the set
 * (the record's fd: the first that was ready, else the first socket, else the first fd): read
 * at exit, when the kernel has accepted the array (a bad pointer must fail with EFAULT, not
 * crash here); a set of more than FH_POLL_SCAN fds is not read, one with an fd of unknown
 * kind has kind unknown. */
#define FH_POLL_SCAN 64
static void fh_post_pollfds(struct fh_call *c, int ret, const struct pollfd *fds, nfds_t n)
{
	struct fh_fdset s = FH_FDSET_INIT;
	int name = -1, kind;

	if ((ret < 0 && errno == EFAULT) || !fds || !n || n > FH_POLL_SCAN)
		return;
	for (nfds_t i = 0; i < n; i++) {
		int fd = fds[i].fd;

		if (fd < 0)
			continue;   /* ignored by poll */
		fh_fdset_add(&s, fd);
		if (name < 0 && ret > 0 && fds[i].revents)
			name = fd;
	}
	__atomic_store_n(&c->rec->fd, name >= 0 ? name : s.sock >= 0 ? s.sock : s.first,
			 __ATOMIC_RELAXED);
	kind = fh_fdset_kind(&s);
	if (kind != FHT_FD_UNKNOWN)
		__atomic_or_fetch(&c->rec->flags, (uint8_t)(kind << FHT_F_FDKIND_SHIFT), __ATOMIC_RELAXED);
}

/* An epoll_wait's set, as epoll_ctl built it (epollset.c), recorded as a poll's is: the kind
 * its fds share replaces the epoll fd's own, the fd that names it replaces the epoll fd, arg is
 * its size. Known before the call (the set is ours to read, not the caller's memory), so a
 * wait in flight carries it too and a slow one's target is the named fd's (its peer). A set
 * not known (too large, or made before the library was loaded) stays as it was: the epoll fd,
 * kind other. */
static void fh_pre_epoll(struct fh_call *c, int ep)
{
	int name = -1;
	int64_t n = 0;
	int kind = fh_epset_name(ep, &name, &n);

	if (kind < 0)
		return;
	c->rec->arg = n;
	__atomic_store_n(&c->rec->fd, name, __ATOMIC_RELAXED);
	uint8_t f = __atomic_load_n(&c->rec->flags, __ATOMIC_RELAXED);
	f = (uint8_t)((f & ~FHT_F_FDKIND_MASK) | (kind << FHT_F_FDKIND_SHIFT));
	__atomic_store_n(&c->rec->flags, f, __ATOMIC_RELAXED);
}

static inline int fh_sys_errnum(long r)
{
	return r == -1 ? errno : 0;
}

/* ---- the footprint (FHF_FOOT): what a call leaves behind or looks at ---- */

static void fh_pre_at(struct fh_call *c, int dirfd, const char *p)
{
	char buf[FHT_STR_MAX + 1];
	if (p)
		fh_call_str(c, buf, fh_at_path(buf, sizeof(buf), dirfd, p));
}

static void fh_pre_rename(struct fh_call *c, int od, const char *o, int nd, const char *n)
{
	char buf[FHT_STR_MAX + 1];
	size_t k;
	if (!o || !n)
		return;
	k = fh_at_path(buf, sizeof(buf) / 2, od, o);
	buf[k++] = '\n';
	k += fh_at_path(buf + k, sizeof(buf) - k, nd, n);
	fh_call_str(c, buf, k);
}

static void fh_pre_envset(struct fh_call *c, const char *name, const char *value)
{
	char buf[512];
	size_t k;
	if (!name)
		return;
	k = fh_strlcpy(buf, 256, name);
	buf[k++] = '=';
	buf[k] = 0;
	if (value)
		k += fh_strlcpy(buf + k, sizeof(buf) - k, value);
	fh_call_str(c, buf, k);
}

static void fh_post_cwd(struct fh_call *c, int ret, const char *path)
{
	char buf[FHT_STR_MAX + 1];
	long n = ret == 0 ? syscall(SYS_getcwd, buf, sizeof(buf)) : -1;
	if (n > 1)
		fh_call_str(c, buf, fh_strnlen(buf, sizeof(buf)));
	else if (path)
		fh_pre_str(c, path);
}

static void fh_pre_rlimit(struct fh_call *c, int pid, int res, const struct rlimit *l)
{
	c->rec->arg = res;
	c->rec->fd = pid ? pid : -1;
	c->rec->arg2 = l ? (l->rlim_cur == RLIM_INFINITY ? -1 : (int64_t)l->rlim_cur) : -2;
}

/* O_CREAT: whether the file was there before decides "created" (one faccessat, only for calls
 * that may create a file; O_EXCL needs none: success means created). */
static void fh_pre_create(struct fh_call *c, int dirfd, const char *p, int fl)
{
	fh_pre_at(c, dirfd, p);
	c->rec->arg = fl;
	c->rec->arg2 = fh_open_precheck(dirfd, p, fl);
}

static void fh_post_create(struct fh_call *c, int ret)
{
	if (ret >= 0 && (c->rec->arg2 & FHT_OPEN_CREATED))
		return;
	if (ret < 0)
		c->rec->arg2 &= ~(int64_t)FHT_OPEN_CREATED;
}

static void fh_post_listen(struct fh_call *c, int ret, int fd)
{
	char buf[128];
	size_t n = 0;
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	if (ret != 0)
		return;
	if (syscall(SYS_getsockname, fd, &ss, &sl) == 0)
		n = fh_fmt_sockaddr(buf, sizeof(buf), (struct sockaddr *)&ss, sl);
	if (n)
		fh_call_str(c, buf, n);
	fh_listening_add(fd, n ? buf : "");
}

/* ---- the expansion ----
 *
 * Each call expands twice from one body: the exported wrapper, and its chaos variant (cold,
 * out of line), which adds the chaos hooks (chaos.h) around the real call. The wrapper tests
 * fh_chaos_on once and jumps to the variant only while a plan is in force, so chaos mode off
 * costs one predictable branch per call and no code in the wrapper's path. */

#define FH_WRAP_BODY(name, ret_t, params, args, conv, flags, fdx, tmox, pre, post, fb, CHAOS) \
		typedef ret_t (*fh_fn_t) params;                                            \
		fh_fn_t real = (fh_fn_t)fh_real[FH_ID_##name];                              \
		if (FH_UNLIKELY(!real)) {                                                   \
			real = (fh_fn_t)fh_resolve(FH_ID_##name);                           \
			if (!real)                                                          \
				return (ret_t)(fb);                                         \
		}                                                                           \
		if (!(CHAOS) && FH_UNLIKELY(fh_chaos_on))                                   \
			return fh_chaos_v_##name args;                                      \
		struct fh_call c;                                                           \
		if (!fh_begin(&c, FH_ID_##name, (fdx)))                                     \
			return real args;                                                   \
		c.rec->timeout_ns = (tmox);                                                 \
		pre;                                                                        \
		if (CHAOS)                                                                  \
			fh_chaos_before(&c, FH_ID_##name, NULL);                            \
		if (((flags) & FHF_IDLE) && FH_UNLIKELY(fh_stack_at_entry(c.rec->timeout_ns))) \
			fh_stack_record(&c);                                                \
		ret_t ret = real args;                                                      \
		int fh_saved = errno;                                                       \
		fh_end(&c, (int64_t)ret, FHT_CONV_##conv, fh_saved);                        \
		post;                                                                       \
		fh_done(&c);                                                                \
		if (CHAOS)                                                                  \
			fh_chaos_after(&c, FH_ID_##name, NULL);                             \
		errno = fh_saved;                                                           \
		return ret;

#define FH_CALL(name, ret_t, params, args, cat, conv, flags, printer, fdx, tmox, pre, post, fb) \
	static __attribute__((noinline, cold)) ret_t fh_chaos_v_##name params;             \
	static ret_t fh_chaos_v_##name params                                               \
	{                                                                                   \
		FH_WRAP_BODY(name, ret_t, params, args, conv, flags, fdx, tmox, pre, post, fb, 1) \
	}                                                                                   \
	FH_EXPORT ret_t name params;                                                        \
	ret_t name params                                                                   \
	{                                                                                   \
		FH_WRAP_BODY(name, ret_t, params, args, conv, flags, fdx, tmox, pre, post, fb, 0) \
	}
#define FH_CUSTOM(name, ...)

#pragma GCC diagnostic ignored "-Wunused-parameter"
#include "calls.def"
