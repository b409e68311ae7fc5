/* SPDX-License-Identifier: MIT */
/*
 * Small file helpers (files.h): whole files in and out, atomic and streamed writes, mkdir -p.
 */
#include "files.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- files ---- */

int open_read(const char *path, struct stat *st)
{
	int fd = open_stat(path, O_RDONLY | O_NONBLOCK | O_NOCTTY, st), fl;

	if (fd < 0)
		return fd;
	if (!S_ISREG(st->st_mode)) {
		close(fd);
		return S_ISDIR(st->st_mode) ? -EISDIR : -FH_ENOTREG;
	}
	/* Regular files ignore O_NONBLOCK today; cleared so that no reader ever sees EAGAIN. */
	fl = fcntl(fd, F_GETFL);
	if (fl >= 0)
		(void)fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
	return fd;
}

const char *fh_strerror(int err)
{
	if (err < 0)
		err = -err;
	return err == FH_ENOTREG ? "not a regular file" : strerror(err);
}

int open_stat(const char *path, int flags, struct stat *st)
{
	int fd = open(path, flags | O_CLOEXEC, 0644);

	if (fd < 0)
		return -errno;
	if (fstat(fd, st) < 0) {
		int e = errno;

		close(fd);
		return -e;
	}
	return fd;
}

ssize_t read_some(int fd, void *buf, size_t n)
{
	for (;;) {
		ssize_t r = read(fd, buf, n);

		if (r >= 0)
			return r;
		if (errno != EINTR)
			return -errno;
	}
}

int read_file(const char *path, size_t max, char **out, size_t *len)
{
	struct stat st;
	char *data = NULL;
	size_t cap, n = 0;
	int fd, ret = 0;

	*out = NULL;
	if (len)
		*len = 0;
	fd = open_read(path, &st);
	if (fd < 0)
		return fd;
	cap = st.st_size > 0 ? (size_t)st.st_size + 1 : 4096;
	if (cap > max + 1)
		cap = max + 1;
	data = xmalloc(cap);
	for (;;) {
		ssize_t r;

		if (n + 1 >= cap) {
			if (cap > max) {
				ret = -EFBIG;
				goto out;
			}
			cap = cap * 2 > max + 1 ? max + 1 : cap * 2;
			data = xrealloc(data, cap);
		}
		r = read_some(fd, data + n, cap - n - 1);
		if (r < 0) {
			ret = (int)r;
			goto out;
		}
		if (r == 0)
			break;
		n += (size_t)r;
		if (n > max) {
			ret = -EFBIG;
			goto out;
		}
	}
	data[n] = '\0';
	*out = data;
	data = NULL;
	if (len)
		*len = n;
out:
	free(data);
	close(fd);
	return ret;
}

int write_all(int fd, const void *data, size_t len)
{
	const char *p = data;

	while (len) {
		ssize_t w = write(fd, p, len);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += w;
		len -= (size_t)w;
	}
	return 0;
}

int write_file_atomic(const char *path, const void *data, size_t len)
{
	struct buf tmp = BUF_INIT(8192);
	int fd, ret = 0;

	buf_printf(&tmp, "%s.tmp.%ld", path, (long)getpid());
	fd = open(buf_str(&tmp), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		ret = -errno;
		goto out;
	}
	ret = write_all(fd, data, len);
	if (ret) {
		close(fd);
		unlink(buf_str(&tmp));
		goto out;
	}
	if (close(fd) < 0 || rename(buf_str(&tmp), path) < 0) {
		ret = -errno;
		unlink(buf_str(&tmp));
	}
out:
	buf_free(&tmp);
	return ret;
}

int buf_flush_fd(struct buf *b, int fd)
{
	int r;

	if (fd < 0 || buf_failed(b))
		return 0;
	r = write_all(fd, buf_str(b), buf_len(b));
	if (!r)
		buf_reset(b);
	return r;
}

int write_file_streamed(const char *path, size_t max,
			int (*render)(const void *ctx, struct buf *b, int fd), const void *ctx)
{
	struct buf b = BUF_INIT(max);
	struct buf tmp = BUF_INIT(8192);
	int fd, r;

	buf_printf(&tmp, "%s.tmp.%ld", path, (long)getpid());
	if (buf_failed(&tmp)) {
		r = -ENAMETOOLONG;
		goto out;
	}
	fd = open(buf_str(&tmp), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		r = -errno;
		goto out;
	}
	r = render(ctx, &b, fd);
	if (!r && buf_failed(&b))
		r = -ENOBUFS;
	if (close(fd) < 0 && !r)
		r = -errno;
	if (!r && rename(buf_str(&tmp), path) < 0)
		r = -errno;
	if (r)
		unlink(buf_str(&tmp));
out:
	buf_free(&b);
	buf_free(&tmp);
	return r;
}

int mkdir_p(const char *path, unsigned mode)
{
	char *p, *s = xstrdup(path);
	int ret = 0;

	for (p = s + 1; ; p++) {
		if (*p == '/' || *p == '\0') {
			char c = *p;

			*p = '\0';
			if (mkdir(s, mode) < 0 && errno != EEXIST) {
				ret = -errno;
				break;
			}
			*p = c;
			if (!c)
				break;
		}
	}
	free(s);
	return ret;
}

int mkdir_parent(const char *path)
{
	const char *slash = strrchr(path, '/');
	char *dir;
	int r;

	if (!slash || slash == path)
		return 0;
	dir = xstrdup(path);
	dir[slash - path] = '\0';
	r = mkdir_p(dir, 0755);
	free(dir);
	return r;
}

char *path_printf(const char *fmt, ...)
{
	struct buf b = BUF_INIT(PATH_MAX - 1);
	va_list ap;

	va_start(ap, fmt);
	buf_vprintf(&b, fmt, ap);
	va_end(ap);
	if (buf_failed(&b)) {
		buf_free(&b);
		return NULL;
	}
	return buf_detach(&b);
}
