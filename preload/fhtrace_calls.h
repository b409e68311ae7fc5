/* SPDX-License-Identifier: MIT */
/*
 * The call table: every call libfhtrace.so wraps, expanded from preload/calls.def here and
 * nowhere else, and used alike by the library (ids, names, which symbol version to resolve,
 * which calls capture their stack at entry), the analyzer (what a call means) and
 * `fh-analyze dump` (how its arguments print). Included by fhtrace_format.h.
 *
 * What a call *is* lives in the table: code outside it tests FHF_* flags, the category, the
 * printer or an FH_ID_* id, never the call's name (names are output only). Adding a call is one
 * line in calls.def plus one test (docs/HOWTO_ADD_CALL.md).
 */
#ifndef FHTRACE_CALLS_H
#define FHTRACE_CALLS_H

#include <stdint.h>

/* Call ids, FH_ID_<name>: the position in calls.def, written into every record (on disk:
 * append only). */
enum fh_call_id {
#define FH_CALL(name, ...) FH_ID_##name,
#define FH_CUSTOM(name, ...) FH_ID_##name,
#include "calls.def"
#undef FH_CALL
#undef FH_CUSTOM
	FH_NCALLS
};

/* Categories as stored in calls.def (FHT_CAT_FDIO: net for sockets, file for files). */
enum fht_category {
	FHT_CAT_NET, FHT_CAT_DNS, FHT_CAT_SLEEP, FHT_CAT_LOCK, FHT_CAT_POLL, FHT_CAT_PROC,
	FHT_CAT_FILE, FHT_CAT_SIGNAL, FHT_CAT_FDIO,
	FHT_CAT_STATE,    /* changes or reads process state (environment, cwd, umask, limits,
			   * locale): time counts as "other" */
	FHT_CAT_NCATS
};

/* How a call reports failure (calls.def "conv"). */
enum fht_conv {
	FHT_CONV_ERRNO,   /* -1 (or NULL) and errno */
	FHT_CONV_ERRNUM,  /* returns 0 or a positive error number (pthread_*, clock_nanosleep) */
	FHT_CONV_EAI,     /* getaddrinfo/getnameinfo: 0 or an EAI_* code (negative) */
	FHT_CONV_NONE,    /* cannot fail (alarm, sleep) */
};

/*
 * What a call means (calls.def "flags", or-ed; 0 for none). The analyzer's decisions rest on
 * these, so a flag says exactly what the record then holds.
 */
#define FHF_KILL   0x0001u /* signals another process or thread: arg = the signal */
#define FHF_WAIT   0x0002u /* reaps a child: result = its pid (> 0), arg = its wait status */
#define FHF_EXEC   0x0004u /* replaces the program; arg = the pid of a vfork child that made it */
#define FHF_SPAWN  0x0008u /* creates a process or a thread: EAGAIN means a limit was hit */
#define FHF_RETFD  0x0010u /* returns a new fd (result), which the call's target names */
#define FHF_NETIO  0x0020u /* connects, sends or receives on a socket: ETIMEDOUT is a network
			    * error (not sendfile: its fds may be anything) */
#define FHF_LOCK   0x0040u /* waits for a lock, a condition or a thread: ETIMEDOUT means the
			    * timeout it was given ran out, not a failure */
#define FHF_POLL   0x0080u /* waits on a set of fds: 0 returned means its timeout ran out; the
			    * record's fd kind is the kind all of them share (fhtrace_format.h) */
#define FHF_IDLE   0x0100u /* only waits (sleeps, child and signal waits): its stack is captured
			    * at entry when it will wait at least FH_STACK_MS (or for ever) */
#define FHF_SOERR  0x0200u /* reports a socket's pending error as its own (getsockopt SO_ERROR) */
#define FHF_PAIR   0x0400u /* makes two connected fds (pipe, socketpair): arg and arg2 are they,
			    * the target names the channel ("pipe:[inode]", "socketpair:[inode]") */
#define FHF_WAKE   0x0800u /* released a lock another thread holds (sem_post of a semaphore that
			    * thread acquired: a condition's waiter, an event): arg = the lock's
			    * address, arg2 = that thread's tid, the thread it wakes */
#define FHF_HOLDER 0x1000u /* a lock wait whose arg2 is the thread that held the lock when the
			    * wait began (the lock table, preload/hang.c); 0 unknown */

/*
 * What a call does to state that outlives it (an attempt's footprint: what a test leaves behind
 * for the tests after it, and what it looks at). Bits 16-23 of the flags hold one enum
 * fht_foot; the record then holds (targets are FHT_REC_STR strings, paths as the program gave
 * them; a path relative to a directory fd is made absolute from /proc/self/fd):
 */
#define FHF_FOOT_SHIFT 16
#define FHF_FOOT_MASK (0xffu << FHF_FOOT_SHIFT)
#define FHF_FOOT(k) ((unsigned)(k) << FHF_FOOT_SHIFT)
enum fht_foot {
	FHT_FOOT_NONE = 0,
	FHT_FOOT_ENV_SET,     /* setenv, putenv: target "NAME=value" (putenv's string; without
			       * '=' it removes NAME) */
	FHT_FOOT_ENV_UNSET,   /* unsetenv: target NAME */
	FHT_FOOT_ENV_CLEAR,   /* clearenv */
	FHT_FOOT_ENV_READ,    /* getenv, secure_getenv: target NAME, arg 1 when it was set; only
			       * the first read of a name per attempt is recorded */
	FHT_FOOT_CWD,         /* chdir, fchdir: target the new working directory (getcwd after a
			       * success; the argument when that fails) */
	FHT_FOOT_UMASK,       /* umask: arg the new mask, result the old one */
	FHT_FOOT_SIGNAL,      /* sigaction, signal: arg the signal, arg2 the handler (0 SIG_DFL,
			       * 1 SIG_IGN, else a function) */
	FHT_FOOT_RLIMIT,      /* setrlimit, prlimit: arg the resource, arg2 the new soft limit
			       * (-2: none given, a query), fd the pid (prlimit; 0 is itself) */
	FHT_FOOT_LOCALE,      /* setlocale: arg the category, target the locale (none: a query) */
	FHT_FOOT_TZ,          /* tzset: reads TZ */
	FHT_FOOT_OPEN,        /* open family: target path, arg the flags; arg2 FHT_OPEN_* */
	FHT_FOOT_UNLINK,      /* unlink, unlinkat: target path */
	FHT_FOOT_RMDIR,       /* rmdir (unlinkat with AT_REMOVEDIR): target path */
	FHT_FOOT_MKDIR,       /* mkdir, mkdirat: target path */
	FHT_FOOT_RENAME,      /* rename family: target "OLD\nNEW" */
	FHT_FOOT_LINK,        /* symlink, link: target the new name */
	FHT_FOOT_STAT,        /* stat, lstat, fstatat, access, faccessat: target path (a look) */
	FHT_FOOT_LISTEN,      /* listen: fd, target its local address */
	FHT_FOOT_BIND,        /* bind: fd, target the address asked for (EADDRINUSE: taken) */
	FHT_FOOT_COUNT
};
/* arg2 of an FHT_FOOT_OPEN record */
#define FHT_OPEN_CREATED 0x1  /* the open created the file (O_CREAT and it did not exist) */
#define FHT_OPEN_CHECKED 0x2  /* existence was checked before the call (O_CREAT) */

static inline unsigned fht_call_foot(unsigned flags)
{
	return (flags & FHF_FOOT_MASK) >> FHF_FOOT_SHIFT;
}

/* A real function glibc keeps in several versions whose default dlsym() does not return is
 * resolved with dlvsym() and the version named here (bits 24-27 of the flags). */
#define FHF_SYMVER_SHIFT 24
#define FHF_SYMVER_MASK (0xfu << FHF_SYMVER_SHIFT)
#define FHF_GLIBC_2_3_2 (1u << FHF_SYMVER_SHIFT) /* pthread_cond_*: the 2.3.2 ABI, not 2.2.5's */
static const char *const fht_symver_names[] = { NULL, "GLIBC_2.3.2" };

/* How `fh-analyze dump` prints a call's own arguments, after its fd and target (calls.def
 * "printer"): */
enum fht_printer {
	FHT_PR_NONE,      /* nothing more */
	FHT_PR_SIG,       /* the signal in arg */
	FHT_PR_SIG_PID,   /* the signal in arg, pid=arg2 (kill, killpg) */
	FHT_PR_SIG_TID,   /* the signal in arg, tid=arg2 (tgkill) */
	FHT_PR_WAIT,      /* after the result: the wait status in arg */
	FHT_PR_WAIT_PID,  /* pid=arg2; after the result: the wait status in arg */
	FHT_PR_CHILD,     /* after the result: {child arg} */
	FHT_PR_EXEC,      /* after the result: {child arg} when a vfork child made it (arg > 0) */
};

struct fht_call_info {
	const char *name;
	uint8_t category;         /* enum fht_category */
	uint8_t conv;             /* enum fht_conv */
	uint8_t printer;          /* enum fht_printer */
	uint32_t flags;           /* FHF_* */
};

/* id -> the call's facts. static: every user gets a copy it can fold constant ids into. */
static const struct fht_call_info fht_calls[FH_NCALLS] = {
#define FH_CALL(name, ret, params, args, cat, conv, flags, printer, ...) \
	{ #name, FHT_CAT_##cat, FHT_CONV_##conv, FHT_PR_##printer, (flags) },
#define FH_CUSTOM(name, cat, conv, flags, printer) \
	{ #name, FHT_CAT_##cat, FHT_CONV_##conv, FHT_PR_##printer, (flags) },
#include "calls.def"
#undef FH_CALL
#undef FH_CUSTOM
};

/* The facts of call id (from a file: hostile), NULL for an id this table does not have. */
static inline const struct fht_call_info *fht_call(unsigned id)
{
	return id < FH_NCALLS ? &fht_calls[id] : NULL;
}

/* The version to resolve call id's real function with, NULL for the default. */
static inline const char *fht_call_symver(unsigned id)
{
	unsigned v = id < FH_NCALLS ? (fht_calls[id].flags & FHF_SYMVER_MASK) >> FHF_SYMVER_SHIFT : 0;

	return v < sizeof(fht_symver_names) / sizeof(fht_symver_names[0]) ? fht_symver_names[v] : NULL;
}

#endif
