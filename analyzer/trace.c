/* SPDX-License-Identifier: MIT */
/*
 * The analyzer's reader of libfhtrace.so trace files (format: preload/fhtrace_format.h):
 * trace_load() decodes one file into struct fh_event (hostile input: every count and length is
 * checked against the bytes present, unknown record types and call ids are tolerated),
 * trace_list() finds the files of a run, and trace_dump() prints one event per line, strace-like,
 * for `fh-analyze dump`. The call table comes from preload/calls.def, as in the library.
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
#include <sys/wait.h>
#include <unistd.h>

#include "fhtrace_format.h"
#include "trace_stacks.h"

const struct fht_call_info fht_calls[] = {
#define FH_CALL(name, ret, params, args, cat, conv, ...) { #name, FHT_CAT_##cat, FHT_CONV_##conv },
#define FH_CUSTOM(name, cat, conv) { #name, FHT_CAT_##cat, FHT_CONV_##conv },
#include "calls.def"
#undef FH_CALL
#undef FH_CUSTOM
};
const unsigned fht_ncalls = sizeof(fht_calls) / sizeof(fht_calls[0]);

#define STR_CAP 4096   /* longest string the reader assembles per event */

struct priv {
	char *strings;
	struct arena stacks;     /* trace_stacks.c: stack arrays and Python strings */
};

static const char *const mark_names[] = {
	"attempt_begin", "attempt_end", "phase_begin", "phase_end"
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

static void copy_header_str(char *dst, size_t cap, const char *src, size_t n)
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
		if (r->call < fht_ncalls) {
			e->call_name = fht_calls[r->call].name;
			e->raw_category = fht_calls[r->call].category;
			e->conv = fht_calls[r->call].conv;
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
	}
}

int trace_load(const char *path, struct fh_trace_file *out)
{
	int ret = 0;
	int fd = -1;
	void *map = MAP_FAILED;
	size_t size = 0;
	int32_t *slot_ev = NULL;
	uint32_t *slen = NULL;
	struct stat st;

	memset(out, 0, sizeof(*out));
	out->path = path;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		ret = -errno;
		error("cannot open trace '%s': %s", path, strerror(errno));
		goto out;
	}
	if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
		ret = -EINVAL;
		error("trace '%s': not a regular file", path);
		goto out;
	}
	size = (size_t)st.st_size;
	if (size < sizeof(struct fht_header)) {
		ret = -EINVAL;
		error("trace '%s': %zu bytes, shorter than a header", path, size);
		goto out;
	}
	map = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
	if (map == MAP_FAILED) {
		ret = -errno;
		error("cannot map trace '%s': %s", path, strerror(errno));
		goto out;
	}
	const struct fht_header *h = map;
	if (memcmp(h->magic, FHT_MAGIC, 8)) {
		ret = -EINVAL;
		error("trace '%s': bad magic at offset 0", path);
		goto out;
	}
	if (h->min_version > FHT_VERSION || h->version < 1) {
		ret = -EPROTO;
		error("trace '%s': format version %u needs a reader of version %u (this is %d)", path,
		      h->version, h->min_version, FHT_VERSION);
		goto out;
	}
	if (h->header_size < sizeof(struct fht_header) || h->header_size > size ||
	    h->rec_size < FHT_REC_SIZE || h->rec_size > 4096) {
		ret = -EINVAL;
		error("trace '%s': bad header or record size (%u, %u) at offset 16", path,
		      h->header_size, h->rec_size);
		goto out;
	}
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
	out->full = h->flags & FHT_H_FULL;
	out->main_file = h->flags & FHT_H_MAIN;

	/* Pass 1: events and string lengths. */
	slot_ev = xmalloc((n ? n : 1) * sizeof(*slot_ev));
	size_t nev = 0;
	const char *base = (const char *)map + h->header_size;
	for (uint64_t i = 0; i < n; i++) {
		const struct fht_rec *r = (const void *)(base + i * h->rec_size);
		slot_ev[i] = -1;
		if (r->type == FHT_REC_CALL || r->type == FHT_REC_SIGNAL || r->type == FHT_REC_MARK ||
		    r->type == FHT_REC_PROC)
			slot_ev[i] = (int32_t)nev++;
	}
	out->events = xcalloc(nev ? nev : 1, sizeof(struct fh_event));
	slen = xcalloc(nev ? nev : 1, sizeof(*slen));
	size_t pool = 0;
	for (uint64_t i = 0; i < n; i++) {
		const struct fht_str *s = (const void *)(base + i * h->rec_size);
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
		const struct fht_rec *r = (const void *)(base + i * h->rec_size);
		if (slot_ev[i] >= 0) {
			decode(&out->events[slot_ev[i]], r, h->pid, h->tid);
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
	out->nevents = nev;
	trace_stacks_decode(base, h->rec_size, n, out, &pv->stacks);
	char exe[sizeof(h->exe) + 1];
	copy_header_str(exe, sizeof(exe), h->exe, sizeof(h->exe));
	out->exe = exe[0] ? xstrdup(exe) : NULL;
out:
	free(slot_ev);
	free(slen);
	if (map != MAP_FAILED)
		munmap(map, size);
	if (fd >= 0)
		close(fd);
	if (ret)
		trace_free(out);
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

/* ---- dump ---- */

static void put_escaped(FILE *out, const char *s)
{
	fputc('"', out);
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;
		if (ch == '"' || ch == '\\')
			fprintf(out, "\\%c", ch);
		else if (ch < 0x20 || ch >= 0x7f)
			fprintf(out, "\\x%02x", ch);
		else
			fputc(ch, out);
	}
	fputc('"', out);
}

static void put_sig(FILE *out, int sig)
{
	const char *n = (sig > 0 && sig < 65) ? sigabbrev_np(sig) : NULL;
	if (n)
		fprintf(out, "SIG%s", n);
	else
		fprintf(out, "signal %d", sig);
}

static void put_status(FILE *out, int64_t st)
{
	int s = (int)st;
	if (st < 0)
		return;
	if (WIFEXITED(s))
		fprintf(out, " {exited %d}", WEXITSTATUS(s));
	else if (WIFSIGNALED(s)) {
		fputs(" {killed ", out);
		put_sig(out, WTERMSIG(s));
		fputs(WCOREDUMP(s) ? " core}" : "}", out);
	} else
		fprintf(out, " {status 0x%x}", s);
}

static bool name_is(const struct fh_event *e, const char *n)
{
	return e->call_name && !strcmp(e->call_name, n);
}

static void dump_call(FILE *out, const struct fh_event *e)
{
	int sep = 0;
	fprintf(out, "%s(", e->call_name);
#define SEP() (sep++ ? fputs(", ", out) : 0)
	if (e->fd >= 0) {
		SEP();
		fprintf(out, "%d", e->fd);
	}
	if (e->target) {
		SEP();
		put_escaped(out, e->target);
	}
	if (name_is(e, "kill") || name_is(e, "killpg") || name_is(e, "raise") ||
	    name_is(e, "pthread_kill") || name_is(e, "sigaction") || name_is(e, "signal")) {
		SEP();
		put_sig(out, (int)e->arg);
		if (name_is(e, "kill") || name_is(e, "killpg"))
			fprintf(out, ", pid=%lld", (long long)e->arg2);
	}
	if (name_is(e, "waitpid") || name_is(e, "wait4") || name_is(e, "waitid")) {
		SEP();
		fprintf(out, "pid=%lld", (long long)e->arg2);
	}
	if (e->timeout_ns > 0 || (e->timeout_ns == 0 && (e->category == FH_CAT_POLL ||
	    e->category == FH_CAT_SLEEP || e->category == FH_CAT_LOCK))) {
		SEP();
		fprintf(out, "timeout=%.6fs", e->timeout_ns / 1e9);
	}
#undef SEP
	fputs(")", out);
	if (!e->done) {
		fputs(" <unfinished ...>\n", out);
		return;
	}
	fprintf(out, " = %lld", (long long)e->result);
	if (e->err_name)
		fprintf(out, " %s (%s)", e->err_name,
			e->conv == FHT_CONV_EAI && e->err < 0 ? gai_strerror(e->err) : strerror(e->err));
	if (!strncmp(e->call_name, "wait", 4))
		put_status(out, e->arg);
	if (name_is(e, "fork") || name_is(e, "posix_spawn") || name_is(e, "posix_spawnp"))
		fprintf(out, " {child %lld}", (long long)e->arg);
	fprintf(out, " <%.6f>\n", ((double)e->end_ns - (double)e->start_ns) / 1e9);
}

int trace_dump(const char *path, FILE *out)
{
	struct fh_trace_file tf;
	int r = trace_load(path, &tf);
	if (r)
		return r;
	fprintf(out, "# %s: pid %d ppid %d tid %d exe ", path, tf.pid, tf.ppid, tf.tid);
	put_escaped(out, tf.exe ? tf.exe : "?");
	fprintf(out, " events %zu dropped %llu%s%s\n", tf.nevents, (unsigned long long)tf.dropped,
		tf.full ? " full" : "", tf.truncated ? " truncated" : "");
	int64_t t0 = tf.proc_start_ns ? tf.proc_start_ns : tf.mono_anchor_ns;
	struct trace_stack_printer *sp = NULL;
	for (size_t i = 0; i < tf.nevents; i++) {
		const struct fh_event *e = &tf.events[i];
		fprintf(out, "%+.6f %d/%d ", ((double)e->start_ns - (double)t0) / 1e9, e->pid, e->tid);
		switch (e->type) {
		case FH_EV_CALL:
			dump_call(out, e);
			break;
		case FH_EV_SIGNAL:
			fputs("--- ", out);
			put_sig(out, e->signo);
			fprintf(out, " {si_code=%d, si_pid=%d}", e->si_code, e->sender_pid);
			if (e->interrupted_call >= 0)
				fprintf(out, " interrupted %s", (unsigned)e->interrupted_call < fht_ncalls ?
					fht_calls[e->interrupted_call].name : "unknown");
			if (e->done)
				fprintf(out, " --- <handler %.6f>\n", ((double)e->end_ns - (double)e->start_ns) / 1e9);
			else
				fputs(" --- <handler unfinished ...>\n", out);
			break;
		case FH_EV_MARK:
			fprintf(out, "=== %s", mark_names[e->mark]);
			if (e->nodeid) {
				fputc(' ', out);
				put_escaped(out, e->nodeid);
			}
			if (e->mark == FH_MARK_ATTEMPT_BEGIN || e->mark == FH_MARK_ATTEMPT_END)
				fprintf(out, " attempt=%d", e->attempt);
			else
				fprintf(out, " phase=%d", e->phase);
			if (e->mark == FH_MARK_ATTEMPT_END || e->mark == FH_MARK_PHASE_END)
				fprintf(out, " result=%d", e->outcome);
			fprintf(out, " cpu=%.6fs fds=%d threads=%d ===\n", e->cpu_ns / 1e9, e->fds,
				e->threads);
			break;
		case FH_EV_PROC:
			fprintf(out, "+++ process %lld parent %lld exe ", (long long)e->arg,
				(long long)e->arg2);
			put_escaped(out, e->target ? e->target : "?");
			fputs(" +++\n", out);
			break;
		default:
			break;
		}
		if (e->nstack > 0 || e->npystack > 0) {
			if (!sp)
				sp = trace_stack_printer_new(path, tf.pid);
			trace_stack_print(sp, out, e);
		}
	}
	trace_stack_printer_free(sp);
	trace_free(&tf);
	return 0;
}
