/* SPDX-License-Identifier: MIT */
/*
 * The per-file index of a trace file (trace.h): a version 1 file is one thread; a version 2
 * process file is walked chunk header by chunk header, without decoding records, damaged
 * pages skipped with a warning, each thread's stream bounded by the records the file holds.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hmap.h"
#include "trace_int.h"

void trace_index_close(struct trace_index *ix)
{
	if (!ix)
		return;
	for (size_t i = 0; i < ix->nt; i++)
		free(ix->t[i].c);
	free(ix->t);
	free(ix->exe);
	free(ix->path);
	free(ix);
}

size_t trace_index_nthreads(const struct trace_index *ix)
{
	return ix->nt;
}

void trace_index_origin(const struct trace_index *ix, size_t t, int *creator, int64_t *born_ns)
{
	*creator = t < ix->nt ? ix->t[t].creator : 0;
	*born_ns = t < ix->nt ? ix->t[t].born_ns : 0;
}

void trace_index_thread(const struct trace_index *ix, size_t t, int *pid, int *tid)
{
	*pid = ix->pid;
	*tid = t < ix->nt ? ix->t[t].tid : 0;
}

const char *trace_index_path(const struct trace_index *ix)
{
	return ix->path;
}

static void garbage_done(struct trace_index *ix, uint64_t *start, uint64_t end)
{
	if (*start == UINT64_MAX)
		return;
	warning("trace '%s': no valid chunk header at offset %llu (%llu bytes skipped)", ix->path,
		(unsigned long long)*start, (unsigned long long)(end - *start));
	ix->truncated = true;
	*start = UINT64_MAX;
}

/* Adds a valid chunk header found at off (present: its slots in the file) to its thread. */
static struct ix_thread *add_chunk(struct trace_index *ix, struct hmap *tids,
				   const struct fht_chunk *c, uint64_t off, uint64_t present)
{
	uint64_t key = (uint64_t)(int64_t)c->tid;
	size_t k = 0;
	bool seen = c->tid && hmap_int_get(tids, key, &k); /* tid 0 is never one thread */
	struct ix_thread *t;

	/* A second seq 0 chunk of a tid is a new thread that reuses the tid. Not "a seq 0 chunk
	 * after any chunk of it": a thread's chunks are in the file in the order they were
	 * claimed except one, the fd-free reserve (preload/procfile.c), claimed early by whichever
	 * thread and taken later as some thread's chunk k > 0. (A reserve taken by a thread that
	 * reused the tid of one that ended after the reserve was made is counted as the earlier
	 * thread's: both rare enough to leave.) */
	if (!seen || (c->seq == 0 && ix->t[k].seq0)) {
		GROW(ix->t, ix->tcap, ix->nt + 1);
		memset(&ix->t[ix->nt], 0, sizeof(ix->t[0]));
		ix->t[ix->nt].tid = c->tid;
		if (c->tid)
			hmap_int(tids, key, true, NULL)->val = ix->nt;
		t = &ix->t[ix->nt++];
	} else {
		t = &ix->t[k];
	}
	t->seq0 |= c->seq == 0;
	GROW(t->c, t->cap, t->nc + 1);
	t->c[t->nc++] = (struct ix_chunk){ off, c->first, present };
	t->dropped = c->dropped > UINT64_MAX - t->dropped ? UINT64_MAX : t->dropped + c->dropped;
	if (c->dropped && c->reason)
		t->reason = c->reason < FHT_DROP_NREASONS ? c->reason : FHT_DROP_NREASONS - 1;
	t->full |= c->flags & FHT_C_FULL;
	if (c->creator > 0 && c->creator <= INT_MAX && c->born_ns > 0 &&
	    c->born_ns <= (uint64_t)INT64_MAX / 4 && !t->creator) {
		t->creator = (int)c->creator;
		t->born_ns = (int64_t)c->born_ns;
	}
	return t;
}

/* Bounds each thread's stream by the slots its chunks hold plus a gap (GAP_SLACK_BYTES of
 * records at most, and what is left of the file's gap budget; INT32_MAX in all at most): a
 * chunk starting beyond is ignored, one reaching beyond is cut. */
static void bound_streams(struct trace_index *ix)
{
	uint64_t slack = GAP_SLACK_BYTES / ix->rec_size, budget = slack;

	for (size_t i = 0; i < ix->nt; i++)
		for (size_t k = 0; k < ix->t[i].nc; k++)
			budget += ix->t[i].c[k].nslots; /* <= file size / rec_size: no overflow */
	for (size_t i = 0; i < ix->nt; i++) {
		struct ix_thread *t = &ix->t[i];
		uint64_t total = 0, limit, gap = budget < slack ? budget : slack;

		for (size_t k = 0; k < t->nc; k++)
			total += t->c[k].nslots;
		limit = total + gap > INT32_MAX ? INT32_MAX : total + gap;
		t->n = 0;
		for (size_t k = 0; k < t->nc; k++) {
			struct ix_chunk *c = &t->c[k];
			if (c->first >= limit) {
				if (c->nslots)
					warning("trace '%s': chunk at offset %llu of thread %d starts at record "
						"%llu, beyond the %llu its chunks can hold; ignored", ix->path,
						(unsigned long long)c->off, t->tid,
						(unsigned long long)c->first, (unsigned long long)limit);
				t->truncated |= c->nslots != 0;
				c->nslots = 0;
				continue;
			}
			if (c->nslots > limit - c->first) {
				warning("trace '%s': chunk at offset %llu of thread %d reaches past record "
					"%llu; cut", ix->path, (unsigned long long)c->off, t->tid,
					(unsigned long long)limit);
				c->nslots = limit - c->first;
				t->truncated = true;
			}
			if (c->first + c->nslots > t->n)
				t->n = c->first + c->nslots;
		}
		if (t->n > total)
			budget -= t->n - total < budget ? t->n - total : budget;
	}
}

/* Walks the chunk headers of a version 2 file from hdr->header_size. */
static int index_v2(struct trace_index *ix, int fd, size_t size, const struct fht_proc_header *h)
{
	struct hmap tids = HMAP_INIT;   /* tid -> latest thread with that tid */
	uint64_t rs = h->rec_size, off = h->header_size, garbage = UINT64_MAX;
	uint64_t claimed = h->next_off >= h->header_size && h->next_off < size ? h->next_off : size;
	int ret = 0;

	while (off + rs <= size) {
		struct fht_chunk c;
		ssize_t r = trace_pread_full(fd, &c, sizeof(c), off);
		if (r < 0) {
			ret = (int)r;
			error("cannot read trace '%s' at offset %llu: %s", ix->path,
			      (unsigned long long)off, strerror(-ret));
			goto out;
		}
		if (r < (ssize_t)sizeof(c) || c.type != FHT_REC_CHUNK || c.magic != FHT_CHUNK_MAGIC ||
		    c.self_off != off || c.tid <= 0 || c.nslots > FHT_CHUNK_MAX_SLOTS) {
			/* Pages past next_off were never claimed, and a zero slot is a hole (the
			 * tail of a segment the writer skipped, a claim that failed, a writer that
			 * died before its header): not damage. */
			static const struct fht_chunk zero;
			bool hole = r == (ssize_t)sizeof(c) && !memcmp(&c, &zero, sizeof(c));
			if (garbage == UINT64_MAX && off < claimed && !hole)
				garbage = off;
			off += FHT_CHUNK_ALIGN;
			continue;
		}
		garbage_done(ix, &garbage, off);
		uint64_t present = (size - off) / rs - 1;
		uint64_t span = (1 + c.nslots) * rs;
		span = (span + FHT_CHUNK_ALIGN - 1) / FHT_CHUNK_ALIGN * FHT_CHUNK_ALIGN;
		if (present > c.nslots)
			present = c.nslots;
		struct ix_thread *t = add_chunk(ix, &tids, &c, off, present);
		if (present < c.nslots) {
			warning("trace '%s': chunk at offset %llu of thread %d holds %llu records, %llu "
				"present; file truncated at offset %zu", ix->path, (unsigned long long)off,
				c.tid, (unsigned long long)c.nslots, (unsigned long long)present, size);
			t->truncated = true;
		}
		off += span;
	}
	garbage_done(ix, &garbage, off < size ? off : size);
	bound_streams(ix);
out:
	hmap_free(&tids);
	return ret;
}

int trace_index_open(const char *path, struct trace_index **out)
{
	union {
		struct fht_header v1;
		struct fht_proc_header v2;
	} h;
	struct trace_index *ix = NULL;
	size_t size = 0;
	int ret = 0;

	*out = NULL;
	const size_t min = sizeof(struct fht_header) < sizeof(struct fht_proc_header) ?
		sizeof(struct fht_header) : sizeof(struct fht_proc_header);
	static const char unset[8];
	int fd = trace_open(path, 0, &size);
	if (fd < 0)
		return fd;
	memset(&h, 0, sizeof(h));
	ssize_t r = trace_pread_full(fd, &h, sizeof(h), 0);
	if (r < 0) {
		ret = (int)r;
		error("cannot read trace '%s': %s", path, strerror(-ret));
		goto out;
	}
	/*
	 * The preload creates the file, sizes it to one header, fills the header and writes the
	 * magic last. A file of at most a header without its magic is a process that ended (killed,
	 * or a fork child's _exit) while it set the file up: no chunk, so nothing recorded is in
	 * it. Said as what it is, not as a corrupt file.
	 */
	if (size <= FHT_HEADER_SIZE && !memcmp(h.v2.magic, unset, 8)) {
		if (size >= min && h.v2.pid > 0)
			warning("trace '%s': process %d ended while it set this file up; no events in it",
				path, h.v2.pid);
		else
			warning("trace '%s': its process ended while it set this file up (%zu bytes); "
				"no events in it", path, size);
		ret = -ENODATA;
		goto out;
	}
	if (size < min) {
		error("trace '%s': %zu bytes, shorter than a header", path, size);
		ret = -EINVAL;
		goto out;
	}
	ix = xcalloc(1, sizeof(*ix));
	ix->path = xstrdup(path);
	if (!memcmp(h.v1.magic, FHT_MAGIC, 8)) {
		ret = trace_v1_check(path, &h.v1, size);
		if (ret)
			goto out;
		ix->version = 1;
		ix->pid = h.v1.pid;
		ix->ppid = h.v1.ppid;
		ix->t = xcalloc(1, sizeof(*ix->t));
		ix->t[0].tid = h.v1.tid;
		ix->nt = ix->tcap = 1;
		goto out;
	}
	const struct fht_proc_header *p = &h.v2;
	struct header_check hc = { p->magic, FHT_MAGIC2, sizeof(struct fht_proc_header), p->version,
				   p->min_version, 2, p->header_size, p->rec_size, FHT_CHUNK_ALIGN };
	ret = trace_check_header(path, size, &hc);
	if (ret)
		goto out;
	ix->version = (int)p->version;
	ix->pid = p->pid;
	ix->ppid = p->ppid;
	ix->mono_anchor_ns = p->mono_anchor_ns;
	ix->real_anchor_ns = p->real_anchor_ns;
	ix->proc_start_ns = p->proc_start_ns;
	ix->flags = p->flags;
	ix->rec_size = p->rec_size;
	if (p->flags & FHT_H_DROPS) {
		memcpy(ix->drops, p->drops, sizeof(ix->drops));
		ix->map_reason = p->map_reason < FHT_DROP_NREASONS ? p->map_reason :
			FHT_DROP_NREASONS - 1;
	}
	char exe[sizeof(p->exe) + 1];
	trace_copy_header_str(exe, sizeof(exe), p->exe, sizeof(p->exe));
	ix->exe = exe[0] ? xstrdup(exe) : NULL;
	ret = index_v2(ix, fd, size, p);
out:
	close(fd);
	if (ret)
		trace_index_close(ix);
	else
		*out = ix;
	return ret;
}
