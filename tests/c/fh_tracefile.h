/* SPDX-License-Identifier: MIT */
/*
 * Helpers of the trace unit tests: trace files (preload/fhtrace_format.h) built by hand in
 * memory. Version 1: one thread's file image of 64 records (struct v1img). Version 2: a
 * process header, then chunks of thread streams appended in any order, and garbage pages.
 * Header-only (static functions). The caller writes the image (or f.b[0..f.len)) to a file.
 */
#ifndef FH_TRACEFILE_H
#define FH_TRACEFILE_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fhtrace_format.h"

/* A version 1 file of pid 100 (ppid 1) and thread tid with n records reserved. */
struct v1img {
	struct fht_header h;
	char pad[FHT_HEADER_SIZE - sizeof(struct fht_header)];
	struct fht_rec r[64];
};

static inline void v1_init(struct v1img *m, unsigned n, int tid)
{
	memset(m, 0, sizeof(*m));
	memcpy(m->h.magic, FHT_MAGIC, 8);
	m->h.version = FHT_VERSION;
	m->h.min_version = FHT_MIN_VERSION;
	m->h.header_size = FHT_HEADER_SIZE;
	m->h.rec_size = FHT_REC_SIZE;
	m->h.capacity = 64;
	m->h.allocated = 64;
	m->h.reserved = n;
	m->h.pid = 100;
	m->h.ppid = 1;
	m->h.tid = tid;
	m->h.mono_anchor_ns = 1000;
	m->h.proc_start_ns = 1000;
}

/* The id of a call of the table by name (tests build records the way the preload names them);
 * -1 when the table has no such call. */
static inline int call_id(const char *name)
{
	for (unsigned i = 0; i < FH_NCALLS; i++)
		if (!strcmp(fht_calls[i].name, name))
			return (int)i;
	return -1;
}

struct v2 {
	unsigned char *b;
	size_t len;
};

static inline void v2_init(struct v2 *f, int pid, int ppid, uint32_t flags)
{
	f->b = calloc(1, FHT_HEADER_SIZE);
	f->len = FHT_HEADER_SIZE;
	struct fht_proc_header *h = (void *)f->b;
	memcpy(h->magic, FHT_MAGIC2, 8);
	h->version = FHT_VERSION;
	h->min_version = FHT_MIN_VERSION;
	h->header_size = FHT_HEADER_SIZE;
	h->rec_size = FHT_REC_SIZE;
	h->thread_cap = 1 << 20;
	h->pid = pid;
	h->ppid = ppid;
	h->flags = flags;
	h->mono_anchor_ns = 1000;
	h->real_anchor_ns = 5000;
	h->proc_start_ns = 900;
	strcpy(h->exe, "/usr/bin/python3.11");
}

static inline void v2_grow(struct v2 *f, size_t n)
{
	f->b = realloc(f->b, f->len + n);
	memset(f->b + f->len, 0, n);
	f->len += n;
}

/* Appends a chunk of thread tid holding stream indices [first, first + nslots), filled from
 * stream[first...] (up to nstream); returns its offset. */
static inline size_t v2_chunk(struct v2 *f, int tid, uint32_t seq, uint64_t first, uint64_t nslots,
		       uint64_t dropped, uint8_t flags, const struct fht_rec *stream, size_t nstream)
{
	size_t off = f->len;
	size_t span = (size_t)((1 + nslots) * FHT_REC_SIZE + FHT_CHUNK_ALIGN - 1) /
		FHT_CHUNK_ALIGN * FHT_CHUNK_ALIGN;
	v2_grow(f, span);
	struct fht_chunk *c = (void *)(f->b + off);
	c->type = FHT_REC_CHUNK;
	c->flags = flags;
	c->magic = FHT_CHUNK_MAGIC;
	c->self_off = off;
	c->tid = tid;
	c->seq = seq;
	c->first = first;
	c->nslots = nslots;
	c->dropped = dropped;
	for (uint64_t i = 0; i < nslots && first + i < nstream; i++)
		memcpy(f->b + off + (1 + i) * FHT_REC_SIZE, &stream[first + i], FHT_REC_SIZE);
	((struct fht_proc_header *)f->b)->next_off = f->len;
	return off;
}

static inline void v2_garbage(struct v2 *f)
{
	size_t off = f->len;
	v2_grow(f, FHT_CHUNK_ALIGN);
	memset(f->b + off, 0x55, FHT_CHUNK_ALIGN);
	((struct fht_proc_header *)f->b)->next_off = f->len;
}

#endif
