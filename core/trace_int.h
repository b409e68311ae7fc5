/* SPDX-License-Identifier: MIT */
/*
 * What the trace reader's files share (trace.h is its interface): trace_index.c finds the
 * threads and chunks of a file, trace.c decodes and loads them.
 */
#ifndef FH_TRACE_INT_H
#define FH_TRACE_INT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "fhtrace_format.h"
#include "trace.h"

/* The per-file index (version 2: threads and their chunks). */

/* Stream slots allowed beyond those the chunks hold (gaps: chunks lost to damage), in bytes of
 * records: per thread, and for the whole file on top of one per slot present. A gap is zeroed
 * memory that is decoded like records, so without the file-wide bound a file of empty chunks,
 * each a thread whose stream starts far ahead, cost 256 MB and a decode of 65,536 records per
 * 4 KB chunk. */
#define GAP_SLACK_BYTES ((uint64_t)4 << 20)


struct ix_chunk {
	uint64_t off;             /* file offset of the chunk header */
	uint64_t first;           /* stream index of its slot 1 */
	uint64_t nslots;          /* slots present in the file (clipped at its end and the bound) */
};

struct ix_thread {
	int tid;
	struct ix_chunk *c; size_t nc, cap;
	uint64_t n;               /* stream length: max first + nslots */
	uint64_t dropped;
	unsigned reason;          /* of its last chunk that dropped events */
	bool full, truncated;
	bool seq0;                /* its seq 0 chunk was seen */
	int creator;              /* from its chunk headers: who created it, when; 0 unknown */
	int64_t born_ns;
};

struct trace_index {
	char *path;
	int version;
	int pid, ppid;
	int64_t mono_anchor_ns, real_anchor_ns, proc_start_ns;
	uint32_t flags, rec_size;
	uint64_t drops[FHT_DROP_NREASONS];   /* the header's, when FHT_H_DROPS */
	uint32_t map_reason;
	bool truncated;           /* garbage skipped: any thread may have lost records */
	char *exe;
	struct ix_thread *t; size_t nt, tcap;
};

/* trace.c: checks and reads both kinds of file share; each prints its one error line. */
void trace_copy_header_str(char *dst, size_t cap, const char *src, size_t n);
/* What the checks of every header kind share (the file's magic, format versions, sizes), in
 * the order they are reported. */
struct header_check {
	const char *magic, *want_magic;   /* 8 bytes each */
	size_t min_header;                /* the header struct of the kind */
	uint32_t version, min_version, lowest_version;
	uint32_t header_size, rec_size, header_align;
};
/* 0, or -errno after one error line naming the file and the offset. */
int trace_check_header(const char *path, size_t size, const struct header_check *h);
/* The version 1 header's (size is the file's). */
int trace_v1_check(const char *path, const struct fht_header *h, size_t size);
int trace_open(const char *path, size_t min, size_t *size);
ssize_t trace_pread_full(int fd, void *p, size_t n, uint64_t off);
#endif
