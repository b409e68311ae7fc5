/* SPDX-License-Identifier: MIT */
/*
 * Hand-written wrappers (FH_CUSTOM in calls.def): the variadic open and fcntl families, fork
 * (the child gets its own trace file at its first event) and the exec family (the record is
 * completed before the exec, since a successful exec never returns; rewritten if it fails).
 * exec in a vfork child (same memory as the parent, different pid) is recorded in the stream
 * of the parent's suspended thread, with the child's pid in arg (see exec_begin).
 * vfork itself is deliberately not wrapped: a wrapper's stack frame cannot survive it.
 * clone is recorded on the caller's side only (see the wrapper).
 */
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

#include "chaos.h"
#include "fhtrace_int.h"

#define REAL(name, type) \
	type real = (type)fh_real[FH_ID_##name]; \
	if (FH_UNLIKELY(!real)) real = (type)fh_resolve(FH_ID_##name)

/* ---- open ---- */

typedef int (*open_fn)(const char *, int, ...);
typedef int (*openat_fn)(int, const char *, int, ...);

static int needs_mode(int fl)
{
	return (fl & O_CREAT) || (fl & O_TMPFILE) == O_TMPFILE;
}

static int do_open(unsigned id, open_fn real, int dirfd, openat_fn realat, const char *p, int fl,
		   mode_t mode)
{
	struct fh_call c;
	int ret;
	if (!fh_begin(&c, id, -1)) {
		if (realat)
			return realat(dirfd, p, fl, mode);
		if (real)
			return real(p, fl, mode);
		return (int)FH_SYS(SYS_openat, dirfd, p, fl, mode);
	}
	c.rec->timeout_ns = 0;
	c.rec->arg = fl;
	if (p) {
		if (dirfd != AT_FDCWD && p[0] != '/') {
			char buf[FHT_STR_MAX + 1];
			fh_call_str(&c, buf, fh_at_path(buf, sizeof(buf), dirfd, p));
		} else {
			fh_call_str(&c, p, fh_strnlen(p, FHT_STR_MAX + 1));
		}
	}
	/* Only an open that may create a file is a chaos point (a check-then-act's "act"); the
	 * delay comes before the existence check, so "created" stays true of the call itself. */
	bool chaos = FH_UNLIKELY(fh_chaos_on) && (fl & O_CREAT);
	if (chaos)
		fh_chaos_before(&c, id, p);
	c.rec->arg2 = fh_open_precheck(dirfd, p, fl);
	if (realat)
		ret = realat(dirfd, p, fl, mode);
	else if (real)
		ret = real(p, fl, mode);
	else
		ret = (int)FH_SYS(SYS_openat, dirfd, p, fl, mode);
	int saved = errno;
	fh_end(&c, ret, FHT_CONV_ERRNO, saved);
	if (ret < 0)
		c.rec->arg2 &= ~(int64_t)FHT_OPEN_CREATED;
	if (ret >= 0 && ret < 65536)
		fh_fdkind[ret] = FHT_FD_FILE;
	fh_done(&c);
	if (chaos)
		fh_chaos_after(&c, id, p);
	errno = saved;
	return ret;
}

/* The mode argument of an open-like call: only there with O_CREAT or O_TMPFILE. */
#define MODE_ARG(fl, mode)                      \
	do {                                    \
		if (needs_mode(fl)) {           \
			va_list ap;             \
			va_start(ap, fl);       \
			mode = va_arg(ap, mode_t); \
			va_end(ap);             \
		}                               \
	} while (0)

#define OPEN_WRAPPER(name)                                                       \
	FH_EXPORT int name(const char *p, int fl, ...);                          \
	int name(const char *p, int fl, ...)                                     \
	{                                                                        \
		mode_t mode = 0;                                                 \
		MODE_ARG(fl, mode);                                              \
		REAL(name, open_fn);                                             \
		return do_open(FH_ID_##name, real, AT_FDCWD, NULL, p, fl, mode); \
	}

#define OPENAT_WRAPPER(name)                                                     \
	FH_EXPORT int name(int d, const char *p, int fl, ...);                   \
	int name(int d, const char *p, int fl, ...)                              \
	{                                                                        \
		mode_t mode = 0;                                                 \
		MODE_ARG(fl, mode);                                              \
		REAL(name, openat_fn);                                           \
		return do_open(FH_ID_##name, NULL, d, real, p, fl, mode);        \
	}

OPEN_WRAPPER(open)
OPEN_WRAPPER(open64)
OPENAT_WRAPPER(openat)
OPENAT_WRAPPER(openat64)

/* ---- fcntl: only the lock commands are recorded ---- */

typedef int (*fcntl_fn)(int, int, ...);

static int is_lock_cmd(int cmd)
{
	return cmd == F_SETLKW || cmd == F_SETLK || cmd == F_OFD_SETLKW || cmd == F_OFD_SETLK;
}

static int do_fcntl(unsigned id, fcntl_fn real, int fd, int cmd, void *arg)
{
	struct fh_call c;
	if (!real)
		return (int)FH_SYS(SYS_fcntl, fd, cmd, arg);
	if (!is_lock_cmd(cmd) || !fh_begin(&c, id, fd))
		return real(fd, cmd, arg);
	c.rec->timeout_ns = (cmd == F_SETLKW || cmd == F_OFD_SETLKW) ? -1 : 0;
	c.rec->arg = cmd;
	if (!FH_UNLIKELY(fh_chaos_on))
		return fh_finish_errno(&c, real(fd, cmd, arg));
	fh_chaos_before(&c, id, NULL);
	int ret = real(fd, cmd, arg);
	int saved = errno;
	fh_end(&c, ret, FHT_CONV_ERRNO, saved);
	fh_done(&c);
	fh_chaos_after(&c, id, NULL);
	errno = saved;
	return ret;
}

#define FCNTL_WRAPPER(name)                                      \
	FH_EXPORT int name(int fd, int cmd, ...);                \
	int name(int fd, int cmd, ...)                           \
	{                                                        \
		va_list ap;                                      \
		va_start(ap, cmd);                               \
		void *arg = va_arg(ap, void *);                  \
		va_end(ap);                                      \
		REAL(name, fcntl_fn);                            \
		return do_fcntl(FH_ID_##name, real, fd, cmd, arg); \
	}

FCNTL_WRAPPER(fcntl)
FCNTL_WRAPPER(fcntl64)

/* ---- fork ---- */

typedef pid_t (*fork_fn)(void);
typedef int (*execve_fn)(const char *, char *const[], char *const[]);
typedef int (*execv_fn)(const char *, char *const[]);
typedef int (*fexecve_fn)(int, char *const[], char *const[]);

FH_EXPORT pid_t fork(void);
pid_t fork(void)
{
	REAL(fork, fork_fn);
	struct fh_call c;
	if (!real)
		return (pid_t)FH_SYS(SYS_fork);
	if (!fh_begin(&c, FH_ID_fork, -1))
		return real();
	c.rec->timeout_ns = 0;
	if (FH_UNLIKELY(fh_chaos_on))
		fh_chaos_before(&c, FH_ID_fork, NULL);
	pid_t ret = real();
	if (ret == 0)
		return 0;   /* child: the atfork handler gave it its own file */
	return fh_finish_spawn(&c, ret);
}

/* ---- exec ---- */

static bool exec_begin(struct fh_call *c, unsigned id, const char *target, int fd)
{
	if (!fh_on)
		return false;
	fh_profile_before_exec();
	int pid = fh_raw_getpid();
	if (!fh_begin(c, id, fd))
		return false;
	/* A vfork child runs on its parent's memory, on the thread (TLS, trace chunk) that is
	 * suspended until this exec: its exec goes into that thread's stream, with the child's pid
	 * in arg, so the parent's trace says what the child became even when the new program
	 * records nothing (no traced call, static, setuid). Nothing else writes there meanwhile. */
	c->rec->arg = pid != fh_pid ? pid : 0;
	c->rec->timeout_ns = 0;
	if (target)
		fh_call_str(c, target, fh_strnlen(target, FHT_STR_MAX + 1));
	/* (chaos never acts in a vfork child: it checks the pid) */
	if (FH_UNLIKELY(fh_chaos_on))
		fh_chaos_before(c, id, target);
	/* Complete it now: a successful exec never comes back. */
	c->rec->end_ns = c->rec->start_ns;
	c->rec->result = 0;
	c->t->cur_call = c->prev;
	fh_done(c);
	return true;
}

static void exec_failed(struct fh_call *c, int ret)
{
	int saved = errno;
	fh_profile_exec_failed();
	int64_t end = fh_now_t(c->t);
	c->rec->end_ns = end > c->rec->start_ns ? end : c->rec->start_ns;
	c->rec->err = saved;
	c->rec->result = ret;
	errno = saved;
}

/* An exec wrapper: the record is complete before the real call (a successful exec does not
 * return); a failure completes it again with the error. fallback: without the real function. */
#define EXEC_WRAPPER(name, type, params, args, target, fd, fallback)    \
	FH_EXPORT int name params;                                      \
	int name params                                                 \
	{                                                               \
		REAL(name, type);                                       \
		struct fh_call c;                                       \
		bool rec = exec_begin(&c, FH_ID_##name, target, fd);    \
		int ret = real ? real args : (fallback);                \
		if (rec)                                                \
			exec_failed(&c, ret);                           \
		return ret;                                             \
	}

EXEC_WRAPPER(execve, execve_fn, (const char *p, char *const argv[], char *const envp[]),
	     (p, argv, envp), p, -1, (int)FH_SYS(SYS_execve, p, argv, envp))
EXEC_WRAPPER(execv, execv_fn, (const char *p, char *const argv[]), (p, argv), p, -1,
	     (int)FH_SYS(SYS_execve, p, argv, environ))
EXEC_WRAPPER(execvp, execv_fn, (const char *f, char *const argv[]), (f, argv), f, -1,
	     (errno = ENOSYS, -1))
EXEC_WRAPPER(execvpe, execve_fn, (const char *f, char *const argv[], char *const envp[]),
	     (f, argv, envp), f, -1, (errno = ENOSYS, -1))
EXEC_WRAPPER(fexecve, fexecve_fn, (int fd, char *const argv[], char *const envp[]),
	     (fd, argv, envp), NULL, fd, (errno = ENOSYS, -1))

/* ---- clone ----
 *
 * Recorded on the caller's side only. glibc's clone() starts the child in fn on the stack it
 * was given and ends it with exit when fn returns: the child never comes back into this frame,
 * so nothing here runs in it, and nothing here may: a CLONE_VM child without CLONE_SETTLS
 * shares the caller's thread-local state (its trace position), and any stack use beyond fn's
 * is taken from a stack the caller sized. The three variadic arguments are passed through
 * whether or not flags use them, as glibc's own clone reads them (registers and the caller's
 * frame on x86-64). A raw child that makes wrapped calls without exec'ing (no atfork handler
 * runs for it) is a hazard of raw clone under the preload, wrapped or not.
 */

typedef int (*clone_fn)(int (*)(void *), void *, int, void *, ...);

FH_EXPORT int clone(int (*fn)(void *), void *stack, int flags, void *arg, ...);
int clone(int (*fn)(void *), void *stack, int flags, void *arg, ...)
{
	va_list ap;
	va_start(ap, arg);
	pid_t *ptid = va_arg(ap, pid_t *);
	void *tls = va_arg(ap, void *);
	pid_t *ctid = va_arg(ap, pid_t *);
	va_end(ap);
	REAL(clone, clone_fn);
	struct fh_call c;
	if (!real) {
		errno = ENOSYS;
		return -1;
	}
	if (!fh_begin(&c, FH_ID_clone, -1))
		return real(fn, stack, flags, arg, ptid, tls, ctid);
	c.rec->timeout_ns = 0;
	c.rec->arg2 = (unsigned)flags;
	return fh_finish_spawn(&c, real(fn, stack, flags, arg, ptid, tls, ctid));
}

/* ---- pthread_create ----
 *
 * Recorded on the creator's side like any call; besides, the new thread learns who created it
 * and when, through a trampoline, and writes both into its chunk headers (the analyzer's
 * ownership of threads: a thread created during an attempt belongs to it, one created by a
 * fixture or an earlier test does not). The trampoline's arguments travel in a fixed table
 * of hand-over slots claimed with a compare-and-swap, so the wrapper neither allocates nor
 * locks; when every slot is taken (more than FH_SPAWN_SLOTS threads starting at once) the
 * thread starts as it would without the library and its creator stays unknown. The
 * trampoline returns what the start routine returns, so pthread_join and pthread_exit see no
 * difference.
 */

#define FH_SPAWN_SLOTS 64

struct fh_spawn {
	int state;                /* 0 free, 1 taken until the new thread has read it */
	int creator;
	int64_t born_ns;
	void *(*start)(void *);
	void *data;
};

static struct fh_spawn fh_spawns[FH_SPAWN_SLOTS];

static void *fh_spawn_start(void *p)
{
	struct fh_spawn *s = p;
	void *(*start)(void *) = s->start;
	void *data = s->data;

	fh_thr.creator = s->creator;
	fh_thr.born_ns = s->born_ns;
	fh_thr.creator_gen = fh_fork_gen;
	__atomic_store_n(&s->state, 0, __ATOMIC_RELEASE);
	return start(data);
}

static struct fh_spawn *fh_spawn_claim(void *(*start)(void *), void *data)
{
	static unsigned next;
	unsigned k0 = __atomic_fetch_add(&next, 1, __ATOMIC_RELAXED);

	for (unsigned i = 0; i < FH_SPAWN_SLOTS; i++) {
		struct fh_spawn *s = &fh_spawns[(k0 + i) % FH_SPAWN_SLOTS];
		int free_ = 0;

		if (__atomic_compare_exchange_n(&s->state, &free_, 1, false, __ATOMIC_ACQUIRE,
						__ATOMIC_RELAXED)) {
			s->creator = (int)syscall(SYS_gettid);
			s->born_ns = fh_now();
			s->start = start;
			s->data = data;
			return s;
		}
	}
	return NULL;
}

typedef int (*pthread_create_fn)(pthread_t *, const pthread_attr_t *, void *(*)(void *), void *);

FH_EXPORT int pthread_create(pthread_t *th, const pthread_attr_t *at, void *(*start)(void *),
			     void *data);
int pthread_create(pthread_t *th, const pthread_attr_t *at, void *(*start)(void *), void *data)
{
	REAL(pthread_create, pthread_create_fn);
	struct fh_call c;
	struct fh_spawn *s = NULL;
	bool rec;
	int ret, saved;

	if (!real)
		return ENOSYS;
	if (fh_on)
		s = fh_spawn_claim(start, data);
	rec = fh_begin(&c, FH_ID_pthread_create, -1);
	if (rec)
		c.rec->timeout_ns = 0;
	ret = s ? real(th, at, fh_spawn_start, s) : real(th, at, start, data);
	saved = errno;
	if (ret && s)
		__atomic_store_n(&s->state, 0, __ATOMIC_RELEASE);   /* no thread will read it */
	/* created while the profiler is on: give it its timer now (a thread that runs Python
	 * code without any traced call would otherwise never get one) */
	if (rec && ret == 0 && FH_UNLIKELY(fh_profile_on()))
		fh_profile_new_thread();
	if (rec) {
		fh_end(&c, ret, FHT_CONV_ERRNUM, saved);
		fh_done(&c);
	}
	errno = saved;
	return ret;
}
