/* SPDX-License-Identifier: MIT */
/*
 * The footprint of an attempt, the parts that need state of their own (the call table's
 * FHF_FOOT flags say what each wrapped call leaves behind or looks at; fhtrace_calls.h):
 * whether an O_CREAT open created its file, the listening sockets still open when an attempt
 * ends, and the getenv wrappers, which record only the first read of each name per attempt
 * (getenv is hot in some programs: a repeated read costs a hash of the name and one load).
 *
 * Everything here is async-signal-safe: raw syscalls, no locks (the small tables are written
 * with plain atomic stores; two threads racing on one slot lose at worst a duplicate or an
 * entry, never memory).
 */
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>

#include "fhtrace_int.h"

unsigned fh_attempt_gen = 1;

/* The path of dirfd + "/" + p into out (cap bytes); p alone when it is absolute or dirfd is
 * AT_FDCWD (a relative path then means: relative to the working directory). */
size_t fh_at_path(char *out, size_t cap, int dirfd, const char *p)
{
	size_t o = 0;
	if (dirfd != AT_FDCWD && p[0] != '/') {
		char link[40];
		size_t k = fh_strlcpy(link, sizeof(link), "/proc/self/fd/");
		fh_fmt_long(link + k, sizeof(link) - k, dirfd);
		long n = syscall(SYS_readlinkat, AT_FDCWD, link, out, cap - 2);
		if (n > 0 && out[0] == '/') {
			o = (size_t)n;
			if (p[0]) {
				if (out[o - 1] != '/')
					out[o++] = '/';
			}
		}
	}
	out[o] = 0;
	return o + fh_strlcpy(out + o, cap - o, p);
}


int64_t fh_open_precheck(int dirfd, const char *p, int fl)
{
	if (!(fl & O_CREAT) || !p)
		return 0;
	if (fl & O_EXCL)
		return FHT_OPEN_CREATED;
	int saved = errno;
	long r = syscall(SYS_faccessat, dirfd, p, F_OK);
	int e = errno;
	errno = saved;
	return FHT_OPEN_CHECKED | (r != 0 && e == ENOENT ? FHT_OPEN_CREATED : 0);
}

/* ---- listening sockets ---- */

#define FH_LISTEN_MAX 32
#define FH_LISTEN_ADDR 64
static struct {
	int fd1;                  /* fd + 1; 0: free */
	uint64_t dev, ino;
	char addr[FH_LISTEN_ADDR];
} listening[FH_LISTEN_MAX];

void fh_listening_add(int fd, const char *addr)
{
	struct stat st;
	int saved = errno;
	if (syscall(SYS_fstat, fd, &st) != 0) {
		errno = saved;
		return;
	}
	errno = saved;
	int free_slot = -1;
	for (int i = 0; i < FH_LISTEN_MAX; i++) {
		int f = __atomic_load_n(&listening[i].fd1, __ATOMIC_RELAXED);
		if (f == fd + 1 || (!f && free_slot < 0))
			free_slot = i;
		if (f == fd + 1)
			break;
	}
	if (free_slot < 0)
		return;
	listening[free_slot].dev = st.st_dev;
	listening[free_slot].ino = st.st_ino;
	fh_strlcpy(listening[free_slot].addr, FH_LISTEN_ADDR, addr);
	__atomic_store_n(&listening[free_slot].fd1, fd + 1, __ATOMIC_RELEASE);
}

void fh_foot_attempt_end(struct fh_thr *t, int attempt)
{
	int saved = errno;
	for (int i = 0; i < FH_LISTEN_MAX; i++) {
		int f = __atomic_load_n(&listening[i].fd1, __ATOMIC_ACQUIRE);
		struct stat st;
		if (!f)
			continue;
		if (syscall(SYS_fstat, f - 1, &st) != 0 || !S_ISSOCK(st.st_mode) ||
		    st.st_ino != listening[i].ino || st.st_dev != listening[i].dev) {
			__atomic_store_n(&listening[i].fd1, 0, __ATOMIC_RELEASE);
			continue;
		}
		uint64_t idx;
		struct fht_rec *r = fh_reserve(t, &idx);
		if (!r)
			break;
		r->call = FHT_FOOTM_LISTENING;
		r->fd = f - 1;
		r->arg = attempt;
		r->start_ns = r->end_ns = fh_now();
		r->flags = FHT_F_DONE;
		__atomic_store_n(&r->type, FHT_REC_FOOT, __ATOMIC_RELEASE);
		fh_put_str(t, r, idx, listening[i].addr, fh_strnlen(listening[i].addr, FH_LISTEN_ADDR));
	}
	errno = saved;
}

/* ---- getenv ---- */

#define FH_GETENV_SLOTS 512
static uint64_t getenv_seen[FH_GETENV_SLOTS];   /* generation << 32 | name hash */

typedef char *(*getenv_fn)(const char *);

static char *do_getenv(unsigned id, const char *name)
{
	getenv_fn real = (getenv_fn)fh_real[id];
	if (FH_UNLIKELY(!real)) {
		real = (getenv_fn)fh_resolve(id);
		if (!real)
			return NULL;
	}
	if (!fh_on || !name)
		return real(name);
	uint32_t h = 2166136261u;
	size_t n = 0;
	for (; name[n] && n < 256; n++) {
		h ^= (unsigned char)name[n];
		h *= 16777619u;
	}
	uint64_t key = (uint64_t)__atomic_load_n(&fh_attempt_gen, __ATOMIC_RELAXED) << 32 | h;
	uint64_t *slot = &getenv_seen[h % FH_GETENV_SLOTS];
	if (__atomic_load_n(slot, __ATOMIC_RELAXED) == key)
		return real(name);
	struct fh_call c;
	if (!fh_begin(&c, id, -1))
		return real(name);
	c.rec->timeout_ns = 0;
	fh_call_str(&c, name, n);
	char *ret = real(name);
	int saved = errno;
	fh_end(&c, 0, FHT_CONV_NONE, saved);
	c.rec->arg = ret != NULL;
	fh_done(&c);
	__atomic_store_n(slot, key, __ATOMIC_RELAXED);
	errno = saved;
	return ret;
}

FH_EXPORT char *getenv(const char *name);
char *getenv(const char *name)
{
	return do_getenv(FH_ID_getenv, name);
}

FH_EXPORT char *secure_getenv(const char *name);
char *secure_getenv(const char *name)
{
	return do_getenv(FH_ID_secure_getenv, name);
}

/* ---- tzset: returns nothing, so it cannot be a generated wrapper ---- */

typedef void (*tzset_fn)(void);

FH_EXPORT void tzset(void);
void tzset(void)
{
	tzset_fn real = (tzset_fn)fh_real[FH_ID_tzset];
	struct fh_call c;
	if (FH_UNLIKELY(!real)) {
		real = (tzset_fn)fh_resolve(FH_ID_tzset);
		if (!real)
			return;
	}
	if (!fh_begin(&c, FH_ID_tzset, -1)) {
		real();
		return;
	}
	c.rec->timeout_ns = 0;
	real();
	int saved = errno;
	fh_end(&c, 0, FHT_CONV_NONE, saved);
	fh_done(&c);
	errno = saved;
}
