/* SPDX-License-Identifier: MIT */
/*
 * Helpers of the libFuzzer targets whose parser reads a file by path (the trace reader): the
 * input goes into one memfd, reused for every input, named by its /proc/self/fd path (a
 * regular file, as the reader requires); and the trace targets' one body. Header-only.
 */
#ifndef FH_FUZZ_FILE_H
#define FH_FUZZ_FILE_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

/* One trace-reader input: the data with its first 8 bytes forced to magic (so every input
 * exercises that version's reader), indexed, every thread loaded and decoded (strings,
 * stacks), and dumped, as `fh-analyze dump` and the evidence stage read a trace. The two
 * versions' targets differ only in the magic. Needs trace.h, dump.h and util.h first. */
static inline void fuzz_trace_input(const uint8_t *data, size_t size, const char magic[8])
{
	static FILE *devnull;
	size_t n = size > 8 ? size : 8;
	uint8_t *copy = calloc(1, n);
	struct trace_index *ix;
	const char *path;

	if (!copy)
		abort();
	fh_quiet = 1;
	if (!devnull)
		devnull = fopen("/dev/null", "w");
	memcpy(copy, data, size);
	memcpy(copy, magic, 8);
	path = fuzz_file(copy, n);
	free(copy);
	if (trace_index_open(path, &ix) == 0) {
		size_t nt = trace_index_nthreads(ix);

		for (size_t t = 0; t < (nt ? nt : 1); t++) {
			struct fh_trace_file tf;

			if (trace_index_load(ix, t, &tf) == 0)
				trace_free(&tf);
		}
		trace_index_close(ix);
	}
	trace_dump(path, devnull);
}

#endif
