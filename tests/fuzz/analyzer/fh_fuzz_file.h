/* SPDX-License-Identifier: MIT */
/*
 * Helper of the libFuzzer targets whose parser reads a file by path (the trace reader): the
 * input goes into one memfd, reused for every input, named by its /proc/self/fd path (a
 * regular file, as the reader requires). Header-only.
 */
#ifndef FH_FUZZ_FILE_H
#define FH_FUZZ_FILE_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

/* Replaces the memfd's contents with data; returns its path (static storage). */
static inline const char *fuzz_file(const uint8_t *data, size_t size)
{
	static int fd = -1;
	static char path[64];

	if (fd < 0) {
		fd = memfd_create("fh-fuzz", MFD_CLOEXEC);
		if (fd < 0)
			abort();
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	}
	if (ftruncate(fd, 0) || (size && pwrite(fd, data, size, 0) != (ssize_t)size))
		abort();
	return path;
}

#endif
