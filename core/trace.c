/* SPDX-License-Identifier: MIT */
/*
 * The analyzer's reader of libfhtrace.so trace files (format: preload/fhtrace_format.h):
 * trace_index_open() finds the threads of a file (version 1: the file; version 2: the chunks of
 * each thread, found by walking the chunk headers), trace_index_load() gathers one thread's
 * chunks into one zeroed stream buffer and decodes it into struct fh_event like a version 1
 * file (hostile input: every count and length is checked against the bytes present, unknown
 * record types and call ids are tolerated), trace_load() is the first thread of a file,
 * trace_list() finds the files of a run (`fh-analyze dump` prints them: analyzer/dump.c). What a
 * call is comes from the call table (preload/fhtrace_calls.h), the one the library is built
 * with.
 */
#include "trace.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fhtrace_format.h"
#include "files.h"
#include "trace_int.h"
#include "trace_stacks.h"

#define STR_CAP 4096   /* longest string the reader assembles per event */

struct priv {
	char *strings;
	struct arena stacks;     /* trace_stacks.c: stack arrays and Python strings */
};

static const char *eai_name(int e)
{
	switch (e) {
	case EAI_BADFLAGS: return "EAI_BADFLAGS";
	case EAI_NONAME: return "EAI_NONAME";
	case EAI_AGAIN: return "EAI_AGAIN";
	case EAI_FAIL: return "EAI_FAIL";
	case EAI_FAMILY: return "EAI_FAMILY";
	case EAI_SOCKTYPE: return "EAI_SOCKTYPE";
	case EAI_SERVICE: return "EAI_SERVICE";
	case EAI_MEMORY: return "EAI_MEMORY";
	case EAI_SYSTEM: return "EAI_SYSTEM";
	case EAI_OVERFLOW: return "EAI_OVERFLOW";
	case EAI_NODATA: return "EAI_NODATA";
	case EAI_ADDRFAMILY: return "EAI_ADDRFAMILY";
	default: return "EAI_UNKNOWN";
	}
}

static const char *err_name(int conv, int err)
{
	if (!err)
		return NULL;
	if (conv == FHT_CONV_EAI && err < 0)
		return eai_name(err);
	const char *n = err > 0 ? strerrorname_np(err) : NULL;
	return n ? n : "EUNKNOWN";
}

static enum fh_category map_category(int raw, int fdkind)
{
	switch (raw) {
	case FHT_CAT_NET: return FH_CAT_NET;
	case FHT_CAT_DNS: return FH_CAT_DNS;
	case FHT_CAT_SLEEP: return FH_CAT_SLEEP;
	case FHT_CAT_LOCK: return FH_CAT_LOCK;
	case FHT_CAT_POLL: return FH_CAT_POLL;
	case FHT_CAT_PROC: return FH_CAT_PROC;
	case FHT_CAT_FILE: return FH_CAT_FILE;
	case FHT_CAT_FDIO:
		return fdkind == FHT_FD_SOCKET ? FH_CAT_NET : fdkind == FHT_FD_FILE ? FH_CAT_FILE :
			FH_CAT_OTHER;
	default: return FH_CAT_OTHER;
	}
}

void trace_copy_header_str(char *dst, size_t cap, const char *src, size_t n)
{
	size_t k = 0;
	while (k < n && k + 1 < cap && src[k])
		k++;
	memcpy(dst, src, k);
	dst[k] = 0;
}

static void decode(struct fh_event *e, const struct fht_rec *r, int pid, int tid)
{
	memset(e, 0, sizeof(*e));
	e->pid = pid;
	e->tid = tid;
	e->start_ns = r->start_ns;
	e->done = r->flags & FHT_F_DONE;
	e->end_ns = e->done ? r->end_ns : 0;
	e->flags = r->flags;
	e->stack_ref = r->stack_ref;
	e->fd = -1;
	e->timeout_ns = -1;
	e->interrupted_call = -1;
	e->cpu_ns = -1;
	e->fds = e->threads = -1;
	e->call = -1;
	e->arg2 = r->arg2;
	e->fdkind = (r->flags & FHT_F_FDKIND_MASK) >> FHT_F_FDKIND_SHIFT;
	switch (r->type) {
	case FHT_REC_CALL:
		e->type = FH_EV_CALL;
		e->call = r->call;
		if (fht_call(r->call)) {
			e->call_name = fht_calls[r->call].name;
			e->raw_category = fht_calls[r->call].category;
			e->conv = fht_calls[r->call].conv;
			e->cflags = fht_calls[r->call].flags;
		} else {
			e->call_name = "unknown";
			e->raw_category = -1;
			e->conv = FHT_CONV_ERRNO;
		}
		e->category = map_category(e->raw_category, e->fdkind);
		e->fd = r->fd;
		e->timeout_ns = r->timeout_ns;
		e->arg = r->arg;
		if (e->done) {
			e->result = r->result;
			e->err = r->err;
			e->err_name = err_name(e->conv, r->err);
		}
		break;
	case FHT_REC_SIGNAL:
		e->type = FH_EV_SIGNAL;
		e->signo = r->fd;
		e->si_code = r->err;
		e->sender_pid = (int)r->arg;
		e->interrupted_call = r->call == 0xffff ? -1 : r->call;
		e->category = FH_CAT_OTHER;
		e->raw_category = FHT_CAT_SIGNAL;
		break;
	case FHT_REC_MARK:
		e->type = FH_EV_MARK;
		e->mark = r->call < FH_MARK_KIND_COUNT ? (enum fh_mark_kind)r->call : FH_MARK_PHASE_END;
		e->attempt = (int)r->arg;
		e->phase = (int)r->arg2;
		e->outcome = (int)r->result;
		e->cpu_ns = r->timeout_ns;
		e->fds = r->fd;
		e->threads = r->err;
		e->done = true;
		e->end_ns = e->start_ns;
		break;
	case FHT_REC_PROC:
		e->type = FH_EV_PROC;
		e->arg = r->arg;
		e->done = true;
		e->end_ns = e->start_ns;
		break;
	case FHT_REC_SNAP:
		e->type = FH_EV_SNAP;
		e->snap = r->call;
		e->fd = r->fd;
		e->arg = r->arg;
		e->result = r->result;
		e->err = r->err;
		e->timeout_ns = r->timeout_ns;
		e->category = FH_CAT_OTHER;
		e->end_ns = e->snap == FHT_SNAP_HEAD ? r->end_ns : 0;
		e->done = e->snap != FHT_SNAP_HEAD || r->end_ns > 0;
		if (e->end_ns && e->end_ns < e->start_ns)
			e->end_ns = e->start_ns;
		break;
	case FHT_REC_FOOT:
		e->type = FH_EV_FOOT;
		e->foot = r->call;
		e->fd = r->fd;
		e->arg = r->arg;
		e->done = true;
		e->end_ns = e->start_ns;
		break;
	case FHT_REC_CHAOS:
		e->type = FH_EV_CHAOS;
		e->chaos = r->fd;
		e->call = r->call == 0xffff ? -1 : r->call;
		e->call_name = fht_call(r->call) ? fht_calls[r->call].name : NULL;
		e->fd = -1;
		e->timeout_ns = r->timeout_ns;
		e->arg = r->arg;
		e->result = r->result;
		e->err = r->err;
		e->category = FH_CAT_OTHER;
		e->raw_category = -1;
		e->end_ns = e->done ? r->end_ns : 0;
		if (e->end_ns && e->end_ns < e->start_ns)
			e->end_ns = e->start_ns;
		break;
	case FHT_REC_SAMPLE:
		e->type = FH_EV_SAMPLE;
		e->sample = r->call;
		e->fd = r->fd;
		e->arg = r->arg;
		e->result = r->result;
		e->interrupted_call = r->err >= 0 && fht_call((unsigned)r->err) ? r->err : -1;
		e->category = FH_CAT_OTHER;
		e->done = true;
		e->end_ns = e->start_ns;
		if (e->sample == FHT_SAMPLE_CPU && r->arg > 0 && r->arg <= 10000000000LL &&
		    r->arg2 >= 0 && r->arg2 < 1000000)
			e->weight_ns = r->arg * (1 + r->arg2);
		break;
	}
}

static void decode_res(struct fh_event *e, const struct fht_res *r, int pid, int tid,
		       struct arena *a)
{
	int n = r->n > FHT_RES_NV ? FHT_RES_NV : r->n;
	int64_t *v = arena_alloc(a, sizeof(*v) * FHT_RES_NV);

	memset(e, 0, sizeof(*e));
	e->type = FH_EV_RES;
	e->pid = pid;
	e->tid = tid;
	e->start_ns = r->start_ns;
	e->end_ns = r->start_ns;
	e->done = true;
	e->fd = -1;
	e->call = -1;
	e->interrupted_call = -1;
	e->cpu_ns = -1;
	e->fds = e->threads = -1;
	e->category = FH_CAT_OTHER;
	e->res_kind = r->kind;
	e->res_exit = r->flags & FHT_RES_F_EXIT;
	e->owner = r->owner;
	for (int i = 0; i < FHT_RES_NV; i++)
		v[i] = i < n && r->v[i] >= 0 ? r->v[i] : -1;
	e->resv = v;
	e->nresv = n;
}

/*
 * Decodes the n records of rec_size bytes at base (one thread's stream, indexed by slot; hostile)
 * into out->events, with out->pid and out->tid already set: pass 1 finds the events and the
 * length of each one's string, pass 2 decodes them and appends string chunks by owner; then the
 * stacks. n <= INT32_MAX. Allocates out->priv.
 */
static void decode_stream(const char *base, uint32_t rec_size, uint64_t n,
			  struct fh_trace_file *out)
{
	int32_t *slot_ev = xmalloc((n ? n : 1) * sizeof(*slot_ev));
	size_t nev = 0;

	for (uint64_t i = 0; i < n; i++) {
		const struct fht_rec *r = (const void *)(base + i * rec_size);
		slot_ev[i] = -1;
		if (r->type == FHT_REC_CALL || r->type == FHT_REC_SIGNAL || r->type == FHT_REC_MARK ||
		    r->type == FHT_REC_PROC || r->type == FHT_REC_SNAP ||
		    r->type == FHT_REC_FOOT || r->type == FHT_REC_CHAOS || r->type == FHT_REC_RES ||
		    r->type == FHT_REC_SAMPLE)
			slot_ev[i] = (int32_t)nev++;
	}
	out->events = xcalloc(nev ? nev : 1, sizeof(struct fh_event));
	uint32_t *slen = xcalloc(nev ? nev : 1, sizeof(*slen));
	size_t pool = 0;
	for (uint64_t i = 0; i < n; i++) {
		const struct fht_str *s = (const void *)(base + i * rec_size);
		if (s->type != FHT_REC_STR || s->owner >= i || slot_ev[s->owner] < 0)
			continue;
		uint32_t k = s->len > FHT_STR_CHUNK ? FHT_STR_CHUNK : s->len;
		uint32_t *l = &slen[slot_ev[s->owner]];
		if (*l + k > STR_CAP)
			k = STR_CAP - *l;
		*l += k;
		pool += k;
	}
	struct priv *pv = xcalloc(1, sizeof(*pv));
	out->priv = pv;
	pv->strings = xmalloc(pool + nev + 1);
	size_t off = 0;
	for (size_t e = 0; e < nev; e++) {
		size_t len = slen[e];
		slen[e] = (uint32_t)off;    /* now: start offset; filled below */
		off += len + 1;
	}
	/* Pass 2: decode records, append string chunks in order. */
	uint32_t *fill = xcalloc(nev ? nev : 1, sizeof(*fill));
	for (uint64_t i = 0; i < n; i++) {
		const struct fht_rec *r = (const void *)(base + i * rec_size);
		if (slot_ev[i] >= 0) {
			struct fh_event *ev = &out->events[slot_ev[i]];
			if (r->type == FHT_REC_RES)
				decode_res(ev, (const struct fht_res *)r, out->pid, out->tid, &pv->stacks);
			else
				decode(ev, r, out->pid, out->tid);
			ev->slot = (uint32_t)i;
			continue;
		}
		const struct fht_str *s = (const void *)r;
		if (s->type != FHT_REC_STR || s->owner >= i || slot_ev[s->owner] < 0)
			continue;
		int32_t e = slot_ev[s->owner];
		uint32_t k = s->len > FHT_STR_CHUNK ? FHT_STR_CHUNK : s->len;
		size_t cap = (e + 1 < (int32_t)nev ? slen[e + 1] : pool + nev) - 1 - slen[e];
		if (fill[e] + k > cap)
			k = (uint32_t)(cap - fill[e]);
		memcpy(pv->strings + slen[e] + fill[e], s->data, k);
		fill[e] += k;
	}
	for (size_t e = 0; e < nev; e++) {
		char *str = pv->strings + slen[e];
		str[fill[e]] = 0;
		if (!fill[e])
			continue;
		/* A NUL inside a string ends it; the reader never trusts lengths beyond that. */
		struct fh_event *ev = &out->events[e];
		if (ev->type == FH_EV_MARK)
			ev->nodeid = str;
		else
			ev->target = str;
	}
	free(fill);
	free(slen);
	free(slot_ev);
	out->nevents = nev;
	out->nslots = n;
	trace_stacks_decode(base, rec_size, n, out, &pv->stacks);
}

int trace_check_header(const char *path, size_t size, const struct header_check *h)
{
	if (memcmp(h->magic, h->want_magic, 8)) {
		error("trace '%s': bad magic at offset 0", path);
		return -EINVAL;
	}
	if (size < h->min_header) {
		error("trace '%s': %zu bytes, shorter than a header", path, size);
		return -EINVAL;
	}
	if (h->min_version > FHT_VERSION || h->version < h->lowest_version) {
		error("trace '%s': format version %u needs a reader of version %u (this is %d)", path,
		      h->version, h->min_version, FHT_VERSION);
		return -EPROTO;
	}
	if (h->header_size < h->min_header || h->header_size > size ||
	    h->header_size % h->header_align || h->rec_size < FHT_REC_SIZE || h->rec_size > 4096 ||
	    h->rec_size % 8) { /* records are read as aligned structs */
		error("trace '%s': bad header or record size (%u, %u) at offset 16", path,
		      h->header_size, h->rec_size);
		return -EINVAL;
	}
	return 0;
}

int trace_v1_check(const char *path, const struct fht_header *h, size_t size)
{
	struct header_check c = { h->magic, FHT_MAGIC, sizeof(struct fht_header), h->version,
				  h->min_version, 1, h->header_size, h->rec_size, 8 };

	return trace_check_header(path, size, &c);
}

/* Opens path read-only, checks it is a regular file at least min bytes long. */
int trace_open(const char *path, size_t min, size_t *size)
{
	struct stat st;
	int fd = open_read(path, &st);

	if (fd == -FH_ENOTREG || fd == -EISDIR) {
		error("trace '%s': not a regular file", path);
		return -EINVAL;
	}
	if (fd < 0) {
		error("cannot open trace '%s': %s", path, strerror(-fd));
		return fd;
	}
	*size = (size_t)st.st_size;
	if (*size < min) {
		error("trace '%s': %zu bytes, shorter than a header", path, *size);
		close(fd);
		return -EINVAL;
	}
	return fd;
}

/* Reads up to n bytes at off; returns the bytes read (short at end of file) or -errno. */
ssize_t trace_pread_full(int fd, void *p, size_t n, uint64_t off)
{
	size_t got = 0;

	if (off > (uint64_t)INT64_MAX - n)
		return 0;
	while (got < n) {
		ssize_t r = pread(fd, (char *)p + got, n - got, (off_t)(off + got));
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		if (r == 0)
			break;
		got += (size_t)r;
	}
	return (ssize_t)got;
}

/* A version 1 thread file: maps it and decodes its records. */
static int load_v1(const char *path, struct fh_trace_file *out)
{
	int ret = 0;
	void *map = MAP_FAILED;
	size_t size = 0;

	memset(out, 0, sizeof(*out));
	out->path = path;
	int fd = trace_open(path, sizeof(struct fht_header), &size);
	if (fd < 0)
		return fd;
	map = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
	if (map == MAP_FAILED) {
		ret = -errno;
		error("cannot map trace '%s': %s", path, strerror(errno));
		goto out;
	}
	const struct fht_header *h = map;
	ret = trace_v1_check(path, h, size);
	if (ret)
		goto out;
	uint64_t present = (size - h->header_size) / h->rec_size;
	uint64_t n = h->reserved;
	if (n > h->allocated)
		n = h->allocated;
	if (n > h->capacity)
		n = h->capacity;
	if (n > present) {
		out->truncated = true;
		warning("trace '%s': %llu records claimed, %llu present; file truncated at offset %zu",
			path, (unsigned long long)n, (unsigned long long)present, size);
		n = present;
	}
	if (n > INT32_MAX) {
		n = INT32_MAX;
		out->truncated = true;
	}
	out->version = (int)h->version;
	out->pid = h->pid;
	out->ppid = h->ppid;
	out->tid = h->tid;
	out->mono_anchor_ns = h->mono_anchor_ns;
	out->real_anchor_ns = h->real_anchor_ns;
	out->proc_start_ns = h->proc_start_ns;
	out->dropped = h->dropped;
	out->file_dropped = h->dropped;
	out->file_drops[FHT_DROP_UNKNOWN] = h->dropped;
	out->full = h->flags & FHT_H_FULL;
	out->main_file = h->flags & FHT_H_MAIN;
	decode_stream((const char *)map + h->header_size, h->rec_size, n, out);
	char exe[sizeof(h->exe) + 1];
	trace_copy_header_str(exe, sizeof(exe), h->exe, sizeof(h->exe));
	out->exe = exe[0] ? xstrdup(exe) : NULL;
out:
	if (map != MAP_FAILED)
		munmap(map, size);
	close(fd);
	if (ret)
		trace_free(out);
	return ret;
}

/* ---- loading a thread of an indexed file ---- */

static uint64_t add_sat(uint64_t a, uint64_t b)
{
	return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

/* The file's losses by reason: the header's counters (they include threads that never got a
 * chunk); what the chunks count beyond them (an older writer, a hand-made file) is unknown. */
static void file_losses(const struct trace_index *ix, struct fh_trace_file *out)
{
	uint64_t hdr = 0, chunks = 0;

	for (unsigned r = 0; r < FHT_DROP_NREASONS; r++) {
		out->file_drops[r] = ix->drops[r];
		hdr = add_sat(hdr, ix->drops[r]);
	}
	for (size_t i = 0; i < ix->nt; i++)
		chunks = add_sat(chunks, ix->t[i].dropped);
	if (chunks > hdr) {
		out->file_drops[FHT_DROP_UNKNOWN] = add_sat(out->file_drops[FHT_DROP_UNKNOWN],
							    chunks - hdr);
		hdr = chunks;
	}
	out->file_dropped = hdr;
	out->map_reason = ix->map_reason;
}

int trace_index_load(const struct trace_index *ix, size_t ti, struct fh_trace_file *out)
{
	char *buf = NULL;
	size_t size = 0;
	int ret = 0;

	if (ix->version == 1) {
		if (ti != 0)
			return -EINVAL;
		return load_v1(ix->path, out);
	}
	memset(out, 0, sizeof(*out));
	out->path = ix->path;
	if (ti >= ix->nt && ix->nt)
		return -EINVAL;
	out->version = ix->version;
	out->pid = ix->pid;
	out->ppid = ix->ppid;
	out->mono_anchor_ns = ix->mono_anchor_ns;
	out->real_anchor_ns = ix->real_anchor_ns;
	out->proc_start_ns = ix->proc_start_ns;
	out->full = ix->flags & FHT_H_FULL;
	out->truncated = ix->truncated;
	out->exe = ix->exe ? xstrdup(ix->exe) : NULL;
	if (ti == 0)
		file_losses(ix, out);
	if (!ix->nt) {   /* a process file without a chunk: its header only */
		out->events = xcalloc(1, sizeof(struct fh_event));
		out->priv = xcalloc(1, sizeof(struct priv));
		return 0;
	}
	const struct ix_thread *t = &ix->t[ti];
	out->tid = t->tid;
	out->creator_tid = t->creator;
	out->born_ns = t->born_ns;
	out->dropped = t->dropped;
	out->drop_reason = t->reason;
	out->full |= t->full;
	out->truncated |= t->truncated;
	int fd = trace_open(ix->path, 0, &size);
	if (fd < 0) {
		ret = fd;
		goto out;
	}
	/* n <= INT32_MAX and <= the slots the file holds + a bounded gap (bound_streams) */
	buf = calloc(t->n ? t->n : 1, ix->rec_size);
	if (!buf) {
		ret = -ENOMEM;
		error("trace '%s': no memory for %llu records of thread %d", ix->path,
		      (unsigned long long)t->n, t->tid);
		goto out;
	}
	for (size_t k = 0; k < t->nc; k++) {
		const struct ix_chunk *c = &t->c[k];
		size_t want = (size_t)c->nslots * ix->rec_size;
		if (!want)
			continue; /* an empty or ignored chunk: its first may be anything */
		ssize_t r = trace_pread_full(fd, buf + c->first * ix->rec_size, want, c->off + ix->rec_size);
		if (r < 0) {
			ret = (int)r;
			error("cannot read trace '%s' at offset %llu: %s", ix->path,
			      (unsigned long long)c->off, strerror(-ret));
			goto out;
		}
		if ((size_t)r < want) {   /* the file shrank since it was indexed */
			memset(buf + c->first * ix->rec_size + r, 0, want - (size_t)r);
			warning("trace '%s': chunk at offset %llu cut short; file truncated at offset %zu",
				ix->path, (unsigned long long)c->off, size);
			out->truncated = true;
		}
	}
	decode_stream(buf, ix->rec_size, t->n, out);
	for (size_t e = 0; e < out->nevents; e++)
		if (out->events[e].type == FH_EV_PROC)
			out->main_file = true;
out:
	free(buf);
	if (fd >= 0)
		close(fd);
	if (ret)
		trace_free(out);
	return ret;
}

int trace_load(const char *path, struct fh_trace_file *out)
{
	struct trace_index *ix;
	int ret;

	ret = trace_index_open(path, &ix);
	if (ret) {
		memset(out, 0, sizeof(*out));
		out->path = path;
		return ret;
	}
	ret = trace_index_load(ix, 0, out);
	out->path = path;
	trace_index_close(ix);
	return ret;
}

void trace_free(struct fh_trace_file *tf)
{
	struct priv *pv = tf->priv;
	if (pv) {
		arena_free(&pv->stacks);
		free(pv->strings);
		free(pv);
	}
	free(tf->events);
	free((char *)tf->exe);
	tf->events = NULL;
	tf->nevents = 0;
	tf->exe = NULL;
	tf->priv = NULL;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int trace_list(const char *trace_dir, char ***paths, size_t *n)
{
	DIR *d = opendir(trace_dir);
	size_t cap = 0;
	*paths = NULL;
	*n = 0;
	if (!d) {
		int e = errno;
		if (e == ENOENT)
			return 0;
		error("cannot list traces in '%s': %s", trace_dir, strerror(e));
		return -e;
	}
	struct dirent *de;
	while ((de = readdir(d))) {
		size_t l = strlen(de->d_name);
		if (l < 5 || strcmp(de->d_name + l - 4, ".fht") || de->d_name[0] == '.')
			continue;
		struct buf b = BUF_INIT(1 << 16);
		buf_printf(&b, "%s/%s", trace_dir, de->d_name);
		GROW(*paths, cap, *n + 1);
		(*paths)[(*n)++] = buf_detach(&b);
	}
	closedir(d);
	if (*n)
		qsort(*paths, *n, sizeof(**paths), cmp_str);
	return 0;
}

/* Names of the system calls a blocked thread is usually in (what a hang snapshot records: the
 * kernel's number); others print as "syscall N". */
const char *trace_syscall_name(int nr)
{
	static const struct { int nr; const char *name; } t[] = {
#define S(x) { SYS_##x, #x }
		S(read), S(write), S(poll), S(select), S(pselect6), S(ppoll), S(nanosleep),
		S(clock_nanosleep), S(wait4), S(waitid), S(futex), S(epoll_wait), S(epoll_pwait),
		S(recvfrom), S(recvmsg), S(sendto), S(sendmsg), S(accept), S(accept4), S(connect),
		S(pause), S(rt_sigsuspend), S(rt_sigtimedwait), S(flock), S(fcntl), S(readv),
		S(writev), S(pread64), S(pwrite64), S(openat), S(open), S(fsync), S(fdatasync),
		S(msgrcv), S(semop), S(semtimedop), S(sched_yield), S(ioctl), S(io_getevents),
		S(epoll_pwait2), S(recvmmsg), S(sendmmsg), S(restart_syscall), S(getrandom),
		S(sendfile), S(splice), S(tee), S(copy_file_range),
#undef S
	};
	static char buf[32];
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		if (t[i].nr == nr)
			return t[i].name;
	snprintf(buf, sizeof(buf), "syscall %d", nr);
	return buf;
}
