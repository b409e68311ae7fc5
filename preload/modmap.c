/* SPDX-License-Identifier: MIT */
/*
 * Writes TRACE_DIR/<pid>.maps (format in modmap.h) from dl_iterate_phdr: path, load span,
 * bias and GNU build-id (read from the PT_NOTE segments in memory) of every loaded object.
 * All I/O is raw syscalls on an fd that is opened, written and closed in one go; lines are
 * formatted by hand into stack buffers (no stdio, no malloc). A small spin lock, owned by pid
 * so a fork child never waits for a lock its parent's other thread held, serializes updates.
 */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <link.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fhtrace_int.h"
#include "modmap.h"
#include "pystack.h"
#include "stacks.h"

#define SEEN_MAX 1024

struct seen { uintptr_t bias, lo; };

static char dir[PATH_MAX];
static int map_pid;                  /* pid whose file the seen table describes */
static struct seen seen[SEEN_MAX];
static int nseen;
static unsigned long long last_adds; /* glibc's dlpi_adds at the last full scan */
static int batch;                    /* seen[batch..nseen) are the modules queued in obuf */
static atomic_int lock_pid;

struct line { char b[PATH_MAX + 160]; size_t n; };

/* Module lines of one scan, written together (one open/write/close per scan, not per line). */
static char obuf[16384];
static size_t olen;

static void put_s(struct line *l, const char *s)
{
	for (; s && *s && l->n < sizeof(l->b) - 2; s++)
		l->b[l->n++] = (*s == '\n' || *s == '\r') ? '?' : *s;
}

static void put_raw(struct line *l, const char *s)
{
	for (; *s && l->n < sizeof(l->b) - 2; s++)
		l->b[l->n++] = *s;
}

static void put_u(struct line *l, unsigned long long v, unsigned base)
{
	char t[24];
	int k = 0;

	do {
		t[k++] = "0123456789abcdef"[v % base];
		v /= base;
	} while (v && k < 24);
	while (k && l->n < sizeof(l->b) - 2)
		l->b[l->n++] = t[--k];
}

/*
 * Appends n bytes (whole lines) to the map with one write(), or nothing: the write must not
 * grow the file past RLIMIT_FSIZE (SIGXFSZ would kill the program) nor into the disk floor,
 * and a short write (disk full meanwhile) is cut back to where the file was, so a reader never
 * sees half a line. 0 or the enum fht_drop_reason why nothing was written.
 */
static unsigned file_write(const char *b, size_t n, bool trunc)
{
	char path[PATH_MAX + 32];
	struct line p = { .n = 0 };
	struct stat st;
	unsigned reason = 0;
	long fd;

	put_s(&p, dir);
	put_s(&p, "/");
	put_u(&p, (unsigned long long)syscall(SYS_getpid), 10);
	put_s(&p, ".maps");
	if (p.n >= sizeof(path))
		return FHT_DROP_IO;
	memcpy(path, p.b, p.n);
	path[p.n] = 0;
	/* A new file is checked before it is created: no empty map left behind. */
	if (trunc && (reason = fh_may_grow(-1, dir, n, n)))
		return reason;
	fd = fh_open_own(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW |
			 (trunc ? O_TRUNC : 0), 0644, &reason);
	if (fd < 0)
		return reason;
	if (fd <= 2) { /* never write into stdin/stdout/stderr slots: they were closed */
		syscall(SYS_close, fd);
		return FHT_DROP_NO_FD;
	}
	if (syscall(SYS_fstat, fd, &st) != 0) {
		reason = FHT_DROP_IO;
		goto out;
	}
	if ((reason = fh_may_grow(fd, NULL, (uint64_t)st.st_size + n, n)))
		goto out;
	long w = syscall(SYS_write, fd, b, n);
	if (w != (long)n) {
		reason = w < 0 ? fh_reason_of(errno) : FHT_DROP_DISK_FULL;
		if (w > 0)
			syscall(SYS_ftruncate, fd, (long)st.st_size);
	}
out:
	syscall(SYS_close, fd);
	return reason;
}

/* Writes the queued module lines; they describe seen[batch..nseen). On failure those modules
 * are forgotten again (nseen = batch), so that the next update writes them. */
static unsigned flush(void)
{
	unsigned reason = 0;

	if (olen)
		reason = file_write(obuf, olen, false);
	if (reason)
		nseen = batch;
	batch = nseen;
	olen = 0;
	return reason;
}

static void lock(void)
{
	int me = (int)syscall(SYS_getpid);

	for (;;) {
		int cur = 0;
		if (atomic_compare_exchange_weak(&lock_pid, &cur, me))
			return;
		if (cur != me && cur != 0 && atomic_compare_exchange_weak(&lock_pid, &cur, me))
			return; /* held by our parent before fork: no thread here will release it */
		syscall(SYS_sched_yield);
	}
}

static void unlock(void)
{
	atomic_store(&lock_pid, 0);
}

static void put_build_id(struct line *l, const struct dl_phdr_info *info)
{
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		const unsigned char *p, *end;
		if (ph->p_type != PT_NOTE || info->dlpi_addr + ph->p_vaddr == 0)
			continue;
		p = (const unsigned char *)(info->dlpi_addr + ph->p_vaddr);
		end = p + ph->p_memsz;
		while (p + 12 <= end) {
			ElfW(Nhdr) nh;
			size_t name_sz, desc_sz;
			memcpy(&nh, p, sizeof(nh));
			name_sz = (nh.n_namesz + 3u) & ~3u;
			desc_sz = (nh.n_descsz + 3u) & ~3u;
			if ((size_t)(end - p) < 12 + name_sz + desc_sz)
				break;
			if (nh.n_type == NT_GNU_BUILD_ID && nh.n_namesz == 4 &&
			    !memcmp(p + 12, "GNU", 4) && nh.n_descsz > 0 && nh.n_descsz <= 64) {
				const unsigned char *d = p + 12 + name_sz;
				for (unsigned k = 0; k < nh.n_descsz; k++) {
					l->b[l->n++] = "0123456789abcdef"[d[k] >> 4];
					l->b[l->n++] = "0123456789abcdef"[d[k] & 15];
				}
				return;
			}
			p += 12 + name_sz + desc_sz;
		}
	}
	put_s(l, "-");
}

static int module_cb(struct dl_phdr_info *info, size_t size, void *arg)
{
	struct line l = { .n = 0 };
	uintptr_t lo = UINTPTR_MAX, hi = 0;
	const char *name = info->dlpi_name;
	char exe[PATH_MAX];
	unsigned *reason = arg;

	(void)size;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		if (ph->p_type != PT_LOAD)
			continue;
		if (info->dlpi_addr + ph->p_vaddr < lo)
			lo = info->dlpi_addr + ph->p_vaddr;
		if (info->dlpi_addr + ph->p_vaddr + ph->p_memsz > hi)
			hi = info->dlpi_addr + ph->p_vaddr + ph->p_memsz;
	}
	if (hi == 0)
		return 0;
	for (int i = 0; i < nseen; i++)
		if (seen[i].bias == info->dlpi_addr && seen[i].lo == lo)
			return 0;
	/* Whole lines only in obuf: what it holds goes out before a line that may not fit. */
	if (olen + sizeof(l.b) > sizeof(obuf) && (*reason = flush()))
		return 1;
	if (nseen < SEEN_MAX)
		seen[nseen++] = (struct seen){ info->dlpi_addr, lo };
	if (!name || !*name) {
		long n = syscall(SYS_readlink, "/proc/self/exe", exe, sizeof(exe) - 1);
		exe[n > 0 ? n : 0] = 0;
		name = exe;
	} else if (!strncmp(name, "linux-vdso", 10)) {
		name = "[vdso]";
	}
	put_s(&l, "mod ");
	put_u(&l, lo, 16);
	put_s(&l, " ");
	put_u(&l, hi, 16);
	put_s(&l, " ");
	put_u(&l, info->dlpi_addr, 16);
	put_s(&l, " ");
	put_build_id(&l, info);
	put_s(&l, " ");
	put_s(&l, name);
	l.b[l.n++] = '\n';
	memcpy(obuf + olen, l.b, l.n);
	olen += l.n;
	return 0;
}

static int adds_cb(struct dl_phdr_info *info, size_t size, void *arg)
{
	if (size >= offsetof(struct dl_phdr_info, dlpi_subs))
		*(unsigned long long *)arg = info->dlpi_adds;
	return 1;
}

static unsigned write_header(void)
{
	struct line l = { .n = 0 };

	put_raw(&l, "fhmaps 1\npid ");
	put_u(&l, (unsigned long long)syscall(SYS_getpid), 10);
	put_s(&l, " ");
	put_u(&l, (unsigned long long)syscall(SYS_getppid), 10);
	put_raw(&l, "\nstack ");
	put_s(&l, fh_stack_status());
	put_raw(&l, "\npystack ");
	put_s(&l, fh_pystack_status());
	l.b[l.n++] = '\n';
	return file_write(l.b, l.n, true);
}

/* Caller holds the lock. 0 or -EIO; a write that was refused or failed is noted in the
 * process file's header (fh_note_map), and the modules it held are written by a later update. */
static int scan(void)
{
	unsigned long long adds = 0;
	unsigned reason = 0;
	int me = (int)syscall(SYS_getpid);

	if (!dir[0])
		return -ENOENT;
	if (me != map_pid) {
		nseen = batch = 0;
		olen = 0;
		last_adds = 0;
		if ((reason = write_header()))
			goto out;
		map_pid = me;   /* only once the header is there: otherwise it is tried again */
	}
	dl_iterate_phdr(adds_cb, &adds);
	if (nseen > 0 && adds == last_adds)
		return 0;
	olen = 0;
	batch = nseen;
	dl_iterate_phdr(module_cb, &reason);
	if (!reason)
		reason = flush();
	olen = 0;
	if (!reason)
		last_adds = adds;
out:
	fh_note_map(reason);
	return reason ? -EIO : 0;
}

int fh_modmap_start(const char *trace_dir)
{
	size_t n;
	int err;

	if (!trace_dir || !*trace_dir)
		return -EINVAL;
	n = strlen(trace_dir);
	if (n >= sizeof(dir))
		return -ENAMETOOLONG;
	/* The file is written at the first update (before the first stack is written), not here:
	 * creating a file costs as much as creating the trace file itself on ext4, and most
	 * processes (a shell, /bin/true) never record a stack that needs the map. */
	lock();
	memcpy(dir, trace_dir, n + 1);
	map_pid = 0;
	err = 0;
	unlock();
	return err;
}

int fh_modmap_update(void)
{
	int err;

	lock();
	err = scan();
	unlock();
	return err;
}
