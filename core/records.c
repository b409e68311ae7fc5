/* SPDX-License-Identifier: MIT */
/*
 * run_load(): reads RUN_DIR/meta.json and every RUN_DIR/attempts-*.jsonl (docs/FORMATS.md)
 * into the model, grouping attempts per test by nodeid. Each record line is parsed with cJSON
 * and copied into run->arena at once; the cJSON tree never leaves this file. Everything read is
 * hostile (see records.h for what is skipped and what is capped).
 */
#include "records.h"
#include "chaos_rec.h"
#include "foot_rec.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "files.h"
#include "hmap.h"
#include "jsonval.h"

struct tbuild {
	const char *nodeid;
	struct fh_attempt *att;
	size_t n, cap;
	struct fh_test proto; /* file, function, param_id, fixtures from the first record */
};

struct fh_records {
	struct fh_run *run;
	struct tbuild *tests;
	size_t ntests, cap;
	struct hmap index;    /* nodeid -> index into tests */
	size_t last;          /* index + 1 of the last test found: attempts come in runs */
	int max_runs;
	int source;           /* run->sources index given to the attempts parsed now */
};

/* ---- a per-line scratch allocator for cJSON ----
 * Each record line is parsed into a throwaway tree; bump-allocating its nodes from one reused
 * block (reset after each line) instead of malloc/free per node halves the parse time. The hooks
 * are installed only while records_add_buffer() runs; the block is per thread. */

#define SCRATCH_SIZE (1u << 20)

struct scratch_big {
	struct scratch_big *next;
	_Alignas(16) unsigned char mem[];
};

static _Thread_local struct {
	unsigned char *mem;
	size_t used;
	struct scratch_big *big;
} scratch;

static void *scratch_malloc(size_t n)
{
	void *p;

	n = (n + 15) & ~(size_t)15;
	if (!scratch.mem)
		scratch.mem = xmalloc(SCRATCH_SIZE);
	if (n <= SCRATCH_SIZE - scratch.used) {
		p = scratch.mem + scratch.used;
		scratch.used += n;
		return p;
	}
	{
		struct scratch_big *b = malloc(sizeof(*b) + n);

		if (!b)
			return NULL;
		b->next = scratch.big;
		scratch.big = b;
		return b->mem;
	}
}

static void scratch_free(void *p)
{
	(void)p;
}

static void scratch_reset(void)
{
	while (scratch.big) {
		struct scratch_big *next = scratch.big->next;

		free(scratch.big);
		scratch.big = next;
	}
	scratch.used = 0;
}

static void scratch_release(void)
{
	scratch_reset();
	free(scratch.mem);
	scratch.mem = NULL;
}

/* ---- attempt records ---- */

struct fh_records *records_begin(struct fh_run *run)
{
	struct fh_records *rec = xcalloc(1, sizeof(*rec));

	rec->run = run;
	return rec;
}

static struct tbuild *find_test(struct fh_records *rec, const char *nodeid, bool *created)
{
	struct hmap_slot *slot;
	struct tbuild *t;

	*created = false;
	if (rec->last && !strcmp(rec->tests[rec->last - 1].nodeid, nodeid))
		return &rec->tests[rec->last - 1];
	slot = hmap_str(&rec->index, nodeid, true, created);
	if (!*created) {
		rec->last = slot->val + 1;
		return &rec->tests[slot->val];
	}
	GROW(rec->tests, rec->cap, rec->ntests + 1);
	t = &rec->tests[rec->ntests];
	memset(t, 0, sizeof(*t));
	t->nodeid = arena_strdup(&rec->run->arena, nodeid);
	slot->key = t->nodeid;   /* the map keeps the copy, not the caller's string */
	slot->val = rec->ntests++;
	rec->last = rec->ntests;
	return t;
}

/* "fixture_setups": [[name, scope, begin_ns, end_ns], ...]; entries that are not that shape
 * (or end before they begin) are skipped, at most FH_MAX_FIXTURE_SETUPS kept. */
#define FH_MAX_FIXTURE_SETUPS 256
static void parse_fixture_setups(struct arena *a, const cJSON *v, struct fh_attempt *at)
{
	const cJSON *e;
	size_t n = 0;

	if (!cJSON_IsArray(v))
		return;
	cJSON_ArrayForEach(e, v)
		n++;
	if (!n)
		return;
	if (n > FH_MAX_FIXTURE_SETUPS)
		n = FH_MAX_FIXTURE_SETUPS;
	at->fixture_setups = arena_alloc(a, n * sizeof(*at->fixture_setups));
	cJSON_ArrayForEach(e, v) {
		const char *name, *scope;
		int64_t b, x;

		if (at->nfixture_setups >= n)
			break;
		if (!cJSON_IsArray(e) || cJSON_GetArraySize(e) != 4)
			continue;
		name = json_str(cJSON_GetArrayItem(e, 0));
		scope = json_str(cJSON_GetArrayItem(e, 1));
		b = json_i64(cJSON_GetArrayItem(e, 2));
		x = json_i64(cJSON_GetArrayItem(e, 3));
		if (!name || !name[0] || !scope || b <= 0 || x < b)
			continue;
		at->fixture_setups[at->nfixture_setups++] = (struct fh_fixture_setup){
			arena_strdup_capped(a, name, 256), arena_strdup_capped(a, scope, 16), b, x };
	}
}

static void parse_frames(struct arena *a, const cJSON *arr, struct fh_attempt *at)
{
	const cJSON *f;
	struct jcur fc;
	size_t n = 0, skip, i = 0;

	if (!cJSON_IsArray(arr))
		return;
	cJSON_ArrayForEach(f, arr)
		if (cJSON_IsObject(f))
			n++;
	if (!n)
		return;
	skip = n > FH_MAX_FRAMES ? n - FH_MAX_FRAMES : 0;
	at->nframes = n - skip;
	at->frames = arena_alloc(a, at->nframes * sizeof(*at->frames));
	n = 0;
	cJSON_ArrayForEach(f, arr) {
		struct fh_frame *fr;
		const char *p, *fn;

		if (!cJSON_IsObject(f) || n++ < skip)
			continue;
		fr = &at->frames[i++];
		fc.obj = f;
		fc.last = NULL;
		p = json_str(json_cursor_get(&fc, "path"));
		fr->line = json_int(json_cursor_get(&fc, "line"), 0);
		fn = json_str(json_cursor_get(&fc, "function"));
		fr->source = arena_strdup_capped(a, json_str(json_cursor_get(&fc, "source")), 512);
		fr->path = p ? arena_strdup_capped(a, p, 1024) : "?";
		fr->function = fn ? arena_strdup_capped(a, fn, 512) : "?";
		if (fr->line < 0)
			fr->line = 0;
	}
}

static void fill_test_proto(struct fh_records *rec, struct tbuild *t, struct jcur *o)
{
	struct arena *a = &rec->run->arena;
	const char *s;
	const cJSON *fx, *it;
	size_t n = 0;

	s = json_str(json_cursor_get(o, "file"));
	if (!s) {
		const char *sep = strstr(t->nodeid, "::");

		t->proto.file = sep ? arena_strndup(a, t->nodeid, (size_t)(sep - t->nodeid)) : t->nodeid;
	} else {
		t->proto.file = arena_strdup_capped(a, s, 1024);
	}
	s = json_str(json_cursor_get(o, "function"));
	if (!s) {
		const char *sep = strrchr(t->nodeid, ':');
		const char *br;

		s = sep ? sep + 1 : t->nodeid;
		br = strchr(s, '[');
		t->proto.function = br ? arena_strndup(a, s, (size_t)(br - s)) : arena_strdup(a, s);
	} else {
		t->proto.function = arena_strdup_capped(a, s, 1024);
	}
	t->proto.param_id = arena_strdup_capped(a, json_str(json_cursor_get(o, "param_id")), 1024);
	fx = json_cursor_get(o, "fixtures");
	if (cJSON_IsArray(fx)) {
		cJSON_ArrayForEach(it, fx)
			if (cJSON_IsString(it) && n < 256)
				n++;
		if (n) {
			t->proto.fixtures = arena_alloc(a, n * sizeof(*t->proto.fixtures));
			cJSON_ArrayForEach(it, fx) {
				if (!cJSON_IsString(it) || t->proto.nfixtures >= n)
					continue;
				t->proto.fixtures[t->proto.nfixtures++] = arena_strdup_capped(a, it->valuestring, 256);
			}
		}
	}
}

/* Parses one line; returns 0 or a static reason for the warning. */
static const char *parse_record(struct fh_records *rec, const char *name, unsigned lineno,
				const char *line, size_t len)
{
	struct arena *a = &rec->run->arena;
	const char *nodeid, *end = NULL, *reason = NULL;
	const cJSON *v, *err, *at_v, *runs_v;
	struct fh_attempt *at;
	struct tbuild *t;
	bool created;
	struct jcur c;
	cJSON *o;
	enum fh_outcome outcome;

	o = cJSON_ParseWithLengthOpts(line, len, &end, 0);
	if (!o)
		return "not valid JSON";
	if (end != line + len) {
		reason = "trailing data after the JSON object";
		goto out;
	}
	if (!cJSON_IsObject(o)) {
		reason = "not a JSON object";
		goto out;
	}
	c.obj = o;
	c.last = NULL;
	v = json_cursor_get(&c, "v");
	if (cJSON_IsNumber(v) && v->valuedouble > 1) {
		reason = "record version newer than this analyzer";
		goto out;
	}
	nodeid = json_str(json_cursor_get(&c, "nodeid"));
	if (!nodeid || !*nodeid) {
		reason = "record without \"nodeid\"";
		goto out;
	}
	at_v = json_cursor_get(&c, "attempt");
	runs_v = json_cursor_get(&c, "runs");
	if (!fh_outcome_parse(json_str(json_cursor_get(&c, "outcome")), &outcome)) {
		reason = "record without a known \"outcome\"";
		goto out;
	}
	t = find_test(rec, nodeid, &created);
	if (created)
		fill_test_proto(rec, t, &c);
	if (!t->cap) {
		/* Sized by the record's planned runs: grow_array()'s first 8 slots, for every test
		 * of a run of 100,000 tests x 1 attempt, were 300 MB of mostly empty arrays. */
		int runs = json_int(runs_v, 1);

		t->cap = runs < 1 ? 1 : runs > 64 ? 64 : (size_t)runs;
		t->att = xmalloc(t->cap * sizeof(*t->att));
	}
	GROW(t->att, t->cap, t->n + 1);
	at = &t->att[t->n++];
	memset(at, 0, sizeof(*at));
	at->attempt = json_int(at_v, (int)t->n);
	if (at->attempt < 1)
		at->attempt = (int)t->n;
	at->source_attempt = at->attempt;
	at->source = rec->source;
	at->outcome = outcome;
	at->xfail = json_bool(json_cursor_get(&c, "xfail"), false);
	at->when = arena_strdup_capped(a, json_str(json_cursor_get(&c, "when")), 32);
	at->start_ns = json_i64(json_cursor_get(&c, "start_ns"));
	at->stop_ns = json_i64(json_cursor_get(&c, "stop_ns"));
	at->wall_start = json_num(json_cursor_get(&c, "wall"), 0);
	at->duration_s = json_dur(json_cursor_get(&c, "duration_s"));
	v = json_cursor_get(&c, "phases");
	if (cJSON_IsObject(v)) {
		at->setup_s = json_get_dur(v, "setup");
		at->call_s = json_get_dur(v, "call");
		at->teardown_s = json_get_dur(v, "teardown");
	}
	if (!at->duration_s)
		at->duration_s = at->setup_s + at->call_s + at->teardown_s;
	at->pid = json_int(json_cursor_get(&c, "pid"), 0);
	at->tid = json_int(json_cursor_get(&c, "tid"), 0);
	at->worker = arena_strdup_capped(a, json_str(json_cursor_get(&c, "worker")), 64);
	if (!at->worker)
		at->worker = "main";
	err = json_cursor_get(&c, "error");
	if (cJSON_IsObject(err)) {
		at->error_type = arena_strdup_capped(a, json_get_str(err, "type"), 256);
		at->error_message = arena_strdup_capped(a, json_get_str(err, "message"), FH_MAX_MESSAGE);
	}
	parse_frames(a, json_cursor_get(&c, "frames"), at);
	at->planned = json_int(runs_v, 0);
	at->stop = arena_strdup_capped(a, json_str(json_cursor_get(&c, "stop")), 32);
	v = json_cursor_get(&c, "output");
	if (cJSON_IsObject(v)) {
		at->out_stdout = arena_strdup_capped(a, json_get_str(v, "stdout"), FH_MAX_OUTPUT);
		at->out_stderr = arena_strdup_capped(a, json_get_str(v, "stderr"), FH_MAX_OUTPUT);
		at->out_log = arena_strdup_capped(a, json_get_str(v, "log"), FH_MAX_OUTPUT);
	}
	at->hung = json_bool(json_cursor_get(&c, "hung"), false);
	at->interrupted = json_bool(json_cursor_get(&c, "interrupted"), false);
	v = json_cursor_get(&c, "hang");
	if (cJSON_IsObject(v)) {
		at->hang_by = arena_strdup_capped(a, json_get_str(v, "by"), 32);
		at->hang_limit_s = json_get_dur(v, "limit_s");
		at->hang_stopped = json_get_bool(v, "stopped", false);
		at->hang_snapshot = json_get_bool(v, "snapshot", false);
		at->hang_ended = arena_strdup_capped(a, json_get_str(v, "ended"), 16);
	}
	at->round = json_int(json_cursor_get(&c, "round"), 0);
	at->position = json_int(json_cursor_get(&c, "position"), 0);
	if (at->round < 0 || at->position < 0 || at->round > 10000000 || at->position > 100000000)
		at->round = at->position = 0;
	at->foot = footprint_from_record(a, json_cursor_get(&c, "footprint"));
	at->chaos = chaos_from_record(a, json_cursor_get(&c, "chaos"));
	at->gc_s = -1;
	v = json_cursor_get(&c, "gc");
	if (cJSON_IsObject(v)) {
		double gs = json_num(json_get(v, "pause_s"), -1);
		double gm = json_num(json_get(v, "max_pause_s"), 0);
		int gn = json_get_int(v, "collections", -1);
		if (gs >= 0 && gs < 1e6 && gn >= 0 && gm >= 0 && gm <= gs + 1e-9) {
			at->gc_s = gs;
			at->gc_max_s = gm;
			at->gc_collections = gn;
		}
	}
	at->profiled = cJSON_IsObject(json_cursor_get(&c, "profile"));
	parse_fixture_setups(a, json_cursor_get(&c, "fixture_setups"), at);
	at->fds_end = at->threads_end = -1;
	at->record_file = name;
	at->record_line = lineno;
	if (cJSON_IsNumber(runs_v) && runs_v->valuedouble > rec->max_runs &&
	    runs_v->valuedouble < 1e7)
		rec->max_runs = (int)runs_v->valuedouble;
out:
	/* Nodes live in the scratch block: scratch_reset() frees them all at once. */
	return reason;
}

static int hex4(const char *s, unsigned *v)
{
	*v = 0;
	for (int i = 0; i < 4; i++) {
		char c = s[i];
		unsigned d = c >= '0' && c <= '9' ? (unsigned)(c - '0') :
			     c >= 'a' && c <= 'f' ? (unsigned)(c - 'a' + 10) :
			     c >= 'A' && c <= 'F' ? (unsigned)(c - 'A' + 10) : 16u;

		if (d > 15)
			return 0;
		*v = *v << 4 | d;
	}
	return 1;
}

/* The text policy on a record's JSON text, before cJSON sees it: the escape \u0000 (which
 * would end the C string and cut an identifier: two tests could merge) becomes the text
 * \x00; a lone surrogate escape (invalid Unicode, which cJSON refuses: the whole record was
 * lost) becomes the text \xNN for U+DC80-U+DCFF (a byte Python's surrogateescape kept) and
 * U+FFFD otherwise. Surrogate pairs and everything else are copied. 1 when out holds a
 * rewritten line. */
static int fix_json_text(const char *s, size_t n, struct buf *out)
{
	static const char hexd[] = "0123456789ABCDEF";
	size_t i = 0, run = 0;
	int changed = 0;

	while (i < n) {
		unsigned v, w;

		if (s[i] != '\\' || i + 1 >= n) {
			i++;
			continue;
		}
		if (s[i + 1] != 'u' || i + 6 > n || !hex4(s + i + 2, &v)) {
			i += 2;   /* any other escape pair, copied */
			continue;
		}
		if (v >= 0xd800 && v <= 0xdbff && i + 12 <= n && s[i + 6] == '\\' &&
		    s[i + 7] == 'u' && hex4(s + i + 8, &w) && w >= 0xdc00 && w <= 0xdfff) {
			i += 12;
			continue;
		}
		if (v != 0 && (v < 0xd800 || v > 0xdfff)) {
			i += 6;
			continue;
		}
		if (!changed)
			buf_reset(out);
		changed = 1;
		buf_add(out, s + run, i - run);
		if (v == 0) {
			buf_puts(out, "\\\\x00");
		} else if (v >= 0xdc80 && v <= 0xdcff) {
			buf_puts(out, "\\\\x");
			buf_putc(out, hexd[(v >> 4) & 15]);
			buf_putc(out, hexd[v & 15]);
		} else {
			buf_puts(out, "\\ufffd");
		}
		i += 6;
		run = i;
	}
	if (changed)
		buf_add(out, s + run, n - run);
	return changed && !buf_failed(out);
}

/* Parses the lines of data; line numbers start after line_base. Warnings are printed, or
 * collected in warn as "LINE\tREASON\n" when warn is not NULL (worker threads). */
static int parse_lines(struct fh_records *rec, const char *name, const char *data, size_t len,
		       unsigned line_base, unsigned *nlines, struct buf *warn)
{
	const char *p = data, *end = data + len;
	unsigned lineno = line_base;
	int accepted = 0;
	struct buf fixed = BUF_INIT((size_t)1 << 31);

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *le = nl ? nl : end;
		const char *s = p, *e = le, *reason;

		lineno++;
		p = nl ? nl + 1 : end;
		while (s < e && (*s == ' ' || *s == '\t' || *s == '\r'))
			s++;
		while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
			e--;
		if (s == e)
			continue;
		if (memchr(s, '\0', (size_t)(e - s))) {
			reason = "NUL byte in record";
		} else if (memmem(s, (size_t)(e - s), "\\u", 2) &&
			   fix_json_text(s, (size_t)(e - s), &fixed)) {
			reason = parse_record(rec, name, lineno, buf_str(&fixed), buf_len(&fixed));
			scratch_reset();
			if (reason && !nl)
				reason = "truncated record (no newline at end of file)";
		} else {
			reason = parse_record(rec, name, lineno, s, (size_t)(e - s));
			scratch_reset();
			if (reason && !nl)
				reason = "truncated record (no newline at end of file)";
		}
		if (!reason) {
			accepted++;
			continue;
		}
		rec->run->malformed_records++;
		if (warn)
			buf_printf(warn, "%u\t%s\n", lineno, reason);
		else
			warning("%s:%u: %s; line skipped", name, lineno, reason);
	}
	buf_free(&fixed);
	scratch_release();
	*nlines = lineno - line_base;
	return accepted;
}

/* ---- parsing big files on several threads ----
 * A buffer over PARALLEL_MIN bytes is cut at line boundaries into one chunk per thread. Chunk 0
 * is parsed into rec by the calling thread; every other chunk into a private loader and arena,
 * merged into rec afterwards in chunk order, so tests, attempts and warnings come out exactly
 * as a single-threaded parse gives them. FH_THREADS=N overrides the thread count (1: none). */

#define PARALLEL_MIN (4u << 20)
#define MAX_THREADS 8

struct chunk_job {
	struct fh_run prun;        /* arena and malformed count of the chunk */
	struct fh_records *rec;
	const char *name, *data;
	size_t len;
	unsigned nlines;
	struct buf warn;
	int accepted;
	pthread_t thread;
	bool started;
};

static void *chunk_main(void *arg)
{
	struct chunk_job *job = arg;

	job->accepted = parse_lines(job->rec, job->name, job->data, job->len, 0, &job->nlines,
				    &job->warn);
	return NULL;
}

static int thread_count(size_t len)
{
	int n = fh_thread_count(len < PARALLEL_MIN, MAX_THREADS);

	if ((size_t)n > len / (PARALLEL_MIN / 4))
		n = (int)(len / (PARALLEL_MIN / 4));
	return n < 1 ? 1 : n;
}

static void merge_chunk(struct fh_records *rec, struct chunk_job *job, unsigned line_base)
{
	struct fh_records *part = job->rec;
	const char *w = buf_str(&job->warn);
	size_t i;

	for (i = 0; i < part->ntests; i++) {
		struct tbuild *src = &part->tests[i], *dst;
		bool created;
		size_t k;

		dst = find_test(rec, src->nodeid, &created);
		if (created)
			dst->proto = src->proto;
		if (!dst->cap && src->n) {
			dst->cap = src->n; /* exact, as in parse_record */
			dst->att = xmalloc(dst->cap * sizeof(*dst->att));
		}
		GROW(dst->att, dst->cap, dst->n + src->n);
		for (k = 0; k < src->n; k++) {
			struct fh_attempt *a = &dst->att[dst->n++];

			*a = src->att[k];
			a->record_line += line_base;
		}
		free(src->att);
	}
	if (part->max_runs > rec->max_runs)
		rec->max_runs = part->max_runs;
	rec->run->malformed_records += job->prun.malformed_records;
	while (*w) {
		const char *tab = strchr(w, '\t'), *nl = strchr(w, '\n');
		unsigned long ln = strtoul(w, NULL, 10);

		if (!tab || !nl)
			break;
		warning("%s:%lu: %.*s; line skipped", job->name, ln + line_base, (int)(nl - tab - 1),
			tab + 1);
		w = nl + 1;
	}
	buf_free(&job->warn);
	arena_adopt(&rec->run->arena, &job->prun.arena);
	free(part->tests);
	hmap_free(&part->index);
	free(part);
}

int records_add_buffer(struct fh_records *rec, const char *name, const char *data, size_t len)
{
	const char *fname = arena_strdup(&rec->run->arena, name);
	cJSON_Hooks hooks = { scratch_malloc, scratch_free };
	struct chunk_job jobs[MAX_THREADS];
	int n = thread_count(len), i, accepted;
	size_t first_len = len;
	unsigned nlines, base;

	cJSON_InitHooks(&hooks);
	if (n > 1) {
		size_t step = len / (size_t)n, start = 0;

		memset(jobs, 0, sizeof(jobs));
		for (i = 0; i < n; i++) {
			size_t cut = i + 1 == n ? len : start + step;
			const char *nl;

			if (cut < start)
				cut = start;
			nl = cut < len ? memchr(data + cut, '\n', len - cut) : NULL;
			cut = i + 1 == n || !nl ? len : (size_t)(nl - data) + 1;
			jobs[i].data = data + start;
			jobs[i].len = cut - start;
			jobs[i].name = fname;
			buf_init(&jobs[i].warn, 1u << 26);
			start = cut;
		}
		first_len = jobs[0].len;
		for (i = 1; i < n; i++) {
			if (!jobs[i].len)
				continue;
			jobs[i].rec = records_begin(&jobs[i].prun);
			jobs[i].rec->source = rec->source;
			jobs[i].started = !pthread_create(&jobs[i].thread, NULL, chunk_main, &jobs[i]);
			if (!jobs[i].started)
				chunk_main(&jobs[i]); /* no thread: parse it here, same result */
		}
	}
	accepted = parse_lines(rec, fname, data, first_len, 0, &nlines, NULL);
	base = nlines;
	for (i = 1; i < n; i++) {
		if (!jobs[i].len)
			continue;
		if (jobs[i].started)
			pthread_join(jobs[i].thread, NULL);
		merge_chunk(rec, &jobs[i], base);
		accepted += jobs[i].accepted;
		base += jobs[i].nlines;
	}
	cJSON_InitHooks(NULL);
	return accepted;
}

static int cmp_attempt(const void *a, const void *b)
{
	const struct fh_attempt *x = a, *y = b;

	/* Each source's attempts stay together: the evidence join reads them source by source. */
	if (x->source != y->source)
		return x->source < y->source ? -1 : 1;
	if (x->attempt != y->attempt)
		return x->attempt < y->attempt ? -1 : 1;
	if (x->start_ns != y->start_ns)
		return x->start_ns < y->start_ns ? -1 : 1;
	return 0;
}

void records_finish(struct fh_records *rec)
{
	struct fh_run *run = rec->run;
	size_t i;

	run->ntests = rec->ntests;
	run->tests = arena_alloc(&run->arena, (rec->ntests ? rec->ntests : 1) * sizeof(*run->tests));
	for (i = 0; i < rec->ntests; i++) {
		struct tbuild *tb = &rec->tests[i];
		struct fh_test *t = &run->tests[i];

		*t = tb->proto;
		t->nodeid = tb->nodeid;
		t->nattempts = tb->n;
		t->attempts = arena_alloc(&run->arena, tb->n * sizeof(*t->attempts));
		memcpy(t->attempts, tb->att, tb->n * sizeof(*t->attempts));
		qsort(t->attempts, t->nattempts, sizeof(*t->attempts), cmp_attempt);
		free(tb->att);
		if (tb->n) {
			const struct fh_attempt *last = &t->attempts[tb->n - 1];

			t->planned = last->planned;
			t->stop = last->stop;
		}
		if (t->planned < (int)t->nattempts)
			t->planned = (int)t->nattempts;
	}
	if (run->meta.runs_per_test <= 0)
		run->meta.runs_per_test = rec->max_runs;
	if (run->meta.max_runs <= 0)
		run->meta.max_runs = run->meta.runs_per_test;
	free(rec->tests);
	hmap_free(&rec->index);
	free(rec);
}

void records_set_source(struct fh_records *rec, int source)
{
	rec->source = source;
}
