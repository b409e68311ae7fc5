/* SPDX-License-Identifier: MIT */
/* Creating and appending history CSVs safely among concurrent analyzers (histfile.h). */
#include "histfile.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "files.h"

/* The file is open (O_RDWR | O_APPEND): lock it, look at it, append. */
static int locked_append(int fd, histfile_fill_fn fill, void *ctx, struct buf *out)
{
	struct stat st;
	int r;

	/* a FIFO or device where a history file should be: never written (a write could block) */
	if (fstat(fd, &st) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode))
		return -EINVAL;
	while (flock(fd, LOCK_EX) < 0)
		if (errno != EINTR)
			return -errno;
	if (fstat(fd, &st) < 0) {
		r = -errno;
		goto out;
	}
	buf_reset(out);
	r = fill(ctx, out, fd, st.st_size);
	if (r || !buf_len(out))
		goto out;
	if (buf_failed(out)) {
		r = -ENOBUFS;
		goto out;
	}
	r = write_all(fd, buf_str(out), buf_len(out));
	/* Whatever part of the rows went in is taken out again: the next append starts on a
	 * clean line end, and no reader sees half a row. */
	if (r) {
		int t = ftruncate(fd, st.st_size);

		(void)t; /* the write's error is the one to report */
	}
out:
	flock(fd, LOCK_UN);
	return r;
}

static int append_existing(const char *path, int flags, histfile_fill_fn fill, void *ctx,
			   struct buf *out)
{
	int fd = open(path, O_RDWR | O_APPEND | O_CLOEXEC | O_NONBLOCK | flags, 0644), r;

	if (fd < 0)
		return -errno;
	r = locked_append(fd, fill, ctx, out);
	if (close(fd) < 0 && !r)
		r = -errno;
	return r;
}

/* A new file: the whole content in a temporary file, linked to path. -EEXIST when path
 * appeared meanwhile (append to it then); 1 when this file system has no hard links. */
static int create_whole(const char *path, histfile_fill_fn fill, void *ctx, struct buf *out)
{
	static unsigned counter;
	struct buf tmp = BUF_INIT(PATH_MAX);
	int fd, r, e;

	buf_reset(out);
	r = fill(ctx, out, -1, 0);
	if (r || !buf_len(out))
		return r;
	if (buf_failed(out))
		return -ENOBUFS;
	buf_printf(&tmp, "%s.tmp.%ld.%u", path, (long)getpid(),
		   __atomic_fetch_add(&counter, 1, __ATOMIC_RELAXED));
	if (buf_failed(&tmp)) {
		buf_free(&tmp);
		return -ENAMETOOLONG;
	}
	fd = open(buf_str(&tmp), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0) {
		r = -errno;
		buf_free(&tmp);
		return r;
	}
	r = write_all(fd, buf_str(out), buf_len(out));
	if (close(fd) < 0 && !r)
		r = -errno;
	if (!r) {
		e = link(buf_str(&tmp), path) < 0 ? errno : 0;
		if (e == EEXIST)
			r = -EEXIST;
		else if (e == EPERM || e == EOPNOTSUPP || e == ENOSYS || e == EMLINK || e == EXDEV)
			r = 1;
		else if (e)
			r = -e;
	}
	unlink(buf_str(&tmp));
	buf_free(&tmp);
	return r;
}

int histfile_append(const char *path, histfile_fill_fn fill, void *ctx, struct buf *out)
{
	for (int tries = 0; tries < 16; tries++) {
		int r = append_existing(path, 0, fill, ctx, out);

		if (r != -ENOENT)
			return r;
		r = create_whole(path, fill, ctx, out);
		if (r == 1) /* no hard links here: create in place; the lock orders the header */
			return append_existing(path, O_CREAT, fill, ctx, out);
		if (r != -EEXIST)
			return r;
		/* created by another analyzer meanwhile: append to it (it may also have been
		 * removed again before the open: then create it once more) */
	}
	return -EAGAIN;
}
