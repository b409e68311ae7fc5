/* SPDX-License-Identifier: MIT */
/*
 * The library's own files within the program's limits: opening a trace or module map file
 * without taking the last fds below RLIMIT_NOFILE, and deciding whether such a file may grow
 * (RLIMIT_FSIZE, the disk floor FH_TRACE_MIN_FREE). Used by fhtrace.c (the process file) and
 * modmap.c (the module map); prototypes in fhtrace_int.h.
 *
 * Why: the preload must never make the program see an error it would not see without it. A
 * trace that takes a filesystem's last free space gives the program ENOSPC; growing a file past
 * RLIMIT_FSIZE raises SIGXFSZ, whose default action kills the program; an fd opened while the
 * table is nearly full makes another thread's open fail with EMFILE. So the library checks
 * first and stops (counting what it drops, by reason) instead. Async-signal-safe: raw syscalls.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "fhtrace_int.h"

/* The disk floor: the larger of a byte count and basis points of the filesystem's size. */
static uint64_t floor_bytes = 256ULL << 20;
static uint32_t floor_bp = 200;

uint64_t fh_fsize_limit(void)
{
	struct rlimit rl;
	if (syscall(SYS_prlimit64, 0, RLIMIT_FSIZE, NULL, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY)
		return rl.rlim_cur;
	return UINT64_MAX;
}

unsigned fh_reason_of(int err)
{
	switch (err) {
	case EMFILE: case ENFILE: return FHT_DROP_NO_FD;
	case ENOSPC: case EDQUOT: return FHT_DROP_DISK_FULL;
	case EFBIG: return FHT_DROP_RLIMIT;
	case ENOMEM: case EAGAIN: return FHT_DROP_NO_MEMORY;
	default: return FHT_DROP_IO;
	}
}

bool fh_fd_crowded(long fd)
{
	struct rlimit rl;
	return syscall(SYS_prlimit64, 0, RLIMIT_NOFILE, NULL, &rl) == 0 &&
		rl.rlim_cur != RLIM_INFINITY && (uint64_t)fd + FH_FD_HEADROOM >= rl.rlim_cur;
}

long fh_open_own(const char *path, int flags, unsigned mode, unsigned *reason)
{
	long fd = syscall(SYS_openat, AT_FDCWD, path, flags, mode);
	if (fd < 0) {
		*reason = fh_reason_of(errno);
		return -1;
	}
	/* The lowest free fd was fd: when it is this close to the limit, the program may need the
	 * last ones (another thread opening right now would get EMFILE because of us). */
	if (fh_fd_crowded(fd)) {
		syscall(SYS_close, fd);
		*reason = FHT_DROP_NO_FD;
		return -1;
	}
	return fd;
}

uint64_t fh_disk_floor(uint64_t total)
{
	uint64_t pct = (uint64_t)((unsigned __int128)total * floor_bp / 10000);
	return pct > floor_bytes ? pct : floor_bytes;
}

bool fh_disk_floor_on(void)
{
	return floor_bytes || floor_bp;
}

static uint64_t fs_unit(const struct statfs *sf)
{
	return sf->f_frsize ? (uint64_t)sf->f_frsize : (uint64_t)sf->f_bsize;
}

uint64_t fh_disk_floor_of(const char *path)
{
	struct statfs sf;
	if (!fh_disk_floor_on() || syscall(SYS_statfs, path, &sf) != 0)
		return 0;
	return fh_disk_floor((uint64_t)sf.f_blocks * fs_unit(&sf));
}

unsigned fh_may_grow(long fd, const char *path, uint64_t end, uint64_t grow)
{
	struct statfs sf;
	/* Growing past RLIMIT_FSIZE would raise SIGXFSZ in the program (or EFBIG if it ignores
	 * that signal), whose default action kills it. */
	if (end > fh_fsize_limit())
		return FHT_DROP_RLIMIT;
	if (!fh_disk_floor_on())
		return 0;
	if ((fd >= 0 ? syscall(SYS_fstatfs, fd, &sf) : syscall(SYS_statfs, path, &sf)) != 0)
		return 0;       /* no figure to go by: the allocation itself will tell */
	/* f_bavail: what an unprivileged program can still get (root may get a little more). */
	uint64_t avail = (uint64_t)sf.f_bavail * fs_unit(&sf), total = (uint64_t)sf.f_blocks * fs_unit(&sf);
	if (avail < grow || avail - grow < fh_disk_floor(total))
		return FHT_DROP_DISK_FLOOR;
	return 0;
}

bool fh_parse_min_free(const char *v)
{
	uint64_t b = 0;
	uint32_t p = 0;
	int terms = 0;
	for (;;) {
		uint64_t n = 0, frac = 0;
		int digits = 0, fdigits = 0;
		if (terms == 2)
			return false;
		for (; *v >= '0' && *v <= '9'; v++, digits++) {
			if (n > (UINT64_MAX - 9) / 10)
				return false;
			n = n * 10 + (uint64_t)(*v - '0');
		}
		if (*v == '.')
			for (v++; *v >= '0' && *v <= '9'; v++, fdigits++)
				if (fdigits < 2)
					frac = frac * 10 + (uint64_t)(*v - '0');
		if (!digits && !fdigits)
			return false;
		if (*v == '%') {
			v++;
			uint64_t x = n > 100 ? 10001 : n * 100 + (fdigits == 1 ? frac * 10 : frac);
			if (x > 10000)
				return false;
			if (x > p)
				p = (uint32_t)x;
		} else {
			int shift = 0;
			switch (*v) {
			case 'k': case 'K': shift = 10; break;
			case 'm': case 'M': shift = 20; break;
			case 'g': case 'G': shift = 30; break;
			case 't': case 'T': shift = 40; break;
			default: break;
			}
			if (shift)
				v++;
			if (fdigits || (n && n > (UINT64_MAX >> shift)))
				return false;
			if (n << shift > b)
				b = n << shift;
		}
		terms++;
		if (!*v)
			break;
		if (*v++ != ',')
			return false;
	}
	floor_bytes = b;
	floor_bp = p;
	return true;
}
