/* SPDX-License-Identifier: MIT */
/*
 * run_load(): reads RUN_DIR/meta.json and every RUN_DIR/attempts-*.jsonl (docs/FORMATS.md)
 * into the model, grouping attempts per test by nodeid. Each record line is parsed with cJSON
 * and copied into run->arena at once; the cJSON tree never leaves this file. Everything read is
 * hostile (see records.h for what is skipped and what is capped).
 */
#include "records.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

struct tbuild {
	const char *nodeid;
	uint64_t hash;
	struct fh_attempt *att;
	size_t n, cap;
	struct fh_test proto; /* file, function, param_id, fixtures from the first record */
};

struct fh_records {
	struct fh_run *run;
	struct tbuild *tests;
	size_t ntests, cap;
	size_t *slots;        /* open addressing: index + 1, 0 = empty */
	size_t nslots;
	int max_runs;
};

/* ---- small cJSON accessors that never trust types ---- */

static const cJSON *get(const cJSON *o, const char *key)
{
	return cJSON_GetObjectItemCaseSensitive(o, key);
}

static const char *get_str(const cJSON *o, const char *key)
{
	const cJSON *v = get(o, key);

	return cJSON_IsString(v) && v->valuestring ? v->valuestring : NULL;
}

static double get_num(const cJSON *o, const char *key, double dflt)
{
	const cJSON *v = get(o, key);
	double d;

	if (!cJSON_IsNumber(v))
		return dflt;
	d = v->valuedouble;
	return d == d ? d : dflt;
}

static int clamp_int(double d, int dflt)
{
	if (!(d == d))
		return dflt;
	if (d > INT_MAX)
		return INT_MAX;
	if (d < INT_MIN)
		return INT_MIN;
	return (int)d;
}

static int get_int(const cJSON *o, const char *key, int dflt)
{
	const cJSON *v = get(o, key);

	return cJSON_IsNumber(v) ? clamp_int(v->valuedouble, dflt) : dflt;
}

static int64_t get_i64(const cJSON *o, const char *key)
{
	double d = get_num(o, key, 0);

	if (d >= 9.2e18 || d <= -9.2e18)
		return 0;
	return (int64_t)d;
}

static double get_dur(const cJSON *o, const char *key)
{
	double d = get_num(o, key, 0);

	return d >= 0 && d < 1e9 ? d : 0;
}

static bool get_bool(const cJSON *o, const char *key, bool dflt)
{
	const cJSON *v = get(o, key);

	return cJSON_IsBool(v) ? cJSON_IsTrue(v) : dflt;
}

/* Copies a string into the arena, capped at max bytes (cut on a UTF-8 boundary). */
static const char *dup_capped(struct arena *a, const char *s, size_t max)
{
	size_t n;

	if (!s)
		return NULL;
	n = strnlen(s, max + 1);
	if (n > max) {
		n = max;
		while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
			n--;
	}
	return arena_strndup(a, s, n);
}

/* ---- meta.json ---- */

static void meta_defaults(struct fh_run *run)
{
	struct fh_run_meta *m = &run->meta;
	const char *base = NULL;

	if (run->run_dir) {
		const char *end = run->run_dir + strlen(run->run_dir);

		while (end > run->run_dir && end[-1] == '/')
			end--;
		base = end;
		while (base > run->run_dir && base[-1] != '/')
			base--;
		m->run_id = arena_strndup(&run->arena, base, (size_t)(end - base));
	}
	if (!m->run_id || !*m->run_id)
		m->run_id = "unknown";
	m->started_utc = "";
	m->host = m->os = m->python = m->pytest = m->plugin_version = "";
	m->cpu_count = 0;
	m->runs_per_test = 0;
	m->tracing = false;
}

static const char *meta_str(struct fh_run *run, const cJSON *o, const char *key, const char *dflt)
{
	const char *s = get_str(o, key);

	return s ? dup_capped(&run->arena, s, 1024) : dflt;
}

int meta_parse_buffer(struct fh_run *run, const char *name, const char *data, size_t len)
{
	struct fh_run_meta *m = &run->meta;
	const cJSON *git;
	cJSON *root;

	root = cJSON_ParseWithLength(data, len);
	if (!cJSON_IsObject(root)) {
		cJSON_Delete(root);
		warning("%s:1: not a JSON object; using defaults", name);
		return -EINVAL;
	}
	m->run_id = meta_str(run, root, "run_id", m->run_id);
	m->started_utc = meta_str(run, root, "started_utc", m->started_utc);
	m->host = meta_str(run, root, "host", m->host);
	m->os = meta_str(run, root, "os", m->os);
	m->python = meta_str(run, root, "python", m->python);
	m->pytest = meta_str(run, root, "pytest", m->pytest);
	m->plugin_version = meta_str(run, root, "plugin_version", m->plugin_version);
	m->rootdir = meta_str(run, root, "rootdir", m->rootdir);
	m->runs_per_test = get_int(root, "runs_per_test", m->runs_per_test);
	if (m->runs_per_test < 0)
		m->runs_per_test = 0;
	m->cpu_count = get_int(root, "cpu_count", m->cpu_count);
	m->ram_bytes = get_i64(root, "ram_bytes");
	m->isolate = get_bool(root, "isolate", m->isolate);
	m->xdist = get_bool(root, "xdist", m->xdist);
	m->tracing = get_bool(root, "tracing", m->tracing);
	git = get(root, "git");
	if (cJSON_IsObject(git)) {
		m->branch = meta_str(run, git, "branch", NULL);
		m->commit = meta_str(run, git, "commit", NULL);
		m->dirty = get_bool(git, "dirty", false);
	}
	cJSON_Delete(root);
	return 0;
}

/* ---- attempt records ---- */

struct fh_records *records_begin(struct fh_run *run)
{
	struct fh_records *rec = xcalloc(1, sizeof(*rec));

	rec->run = run;
	rec->nslots = 1024;
	rec->slots = xcalloc(rec->nslots, sizeof(*rec->slots));
	return rec;
}

static void rehash(struct fh_records *rec)
{
	size_t i, nslots = rec->nslots * 2;
	size_t *slots = xcalloc(nslots, sizeof(*slots));

	for (i = 0; i < rec->ntests; i++) {
		size_t s = rec->tests[i].hash & (nslots - 1);

		while (slots[s])
			s = (s + 1) & (nslots - 1);
		slots[s] = i + 1;
	}
	free(rec->slots);
	rec->slots = slots;
	rec->nslots = nslots;
}

static struct tbuild *find_test(struct fh_records *rec, const char *nodeid, bool *created)
{
	uint64_t h = fnv64(FNV64_INIT, nodeid, strlen(nodeid));
	size_t s = h & (rec->nslots - 1);
	struct tbuild *t;

	*created = false;
	while (rec->slots[s]) {
		t = &rec->tests[rec->slots[s] - 1];
		if (t->hash == h && !strcmp(t->nodeid, nodeid))
			return t;
		s = (s + 1) & (rec->nslots - 1);
	}
	GROW(rec->tests, rec->cap, rec->ntests + 1);
	t = &rec->tests[rec->ntests];
	memset(t, 0, sizeof(*t));
	t->nodeid = dup_capped(&rec->run->arena, nodeid, 4096);
	t->hash = h;
	rec->slots[s] = ++rec->ntests;
	*created = true;
	if (rec->ntests * 2 > rec->nslots)
		rehash(rec);
	return &rec->tests[rec->ntests - 1];
}

static int parse_outcome(const char *s)
{
	int i;

	if (!s)
		return -1;
	for (i = 0; i < FH_OUTCOME_COUNT; i++)
		if (!strcmp(s, fh_outcome_names[i]))
			return i;
	return -1;
}

static void parse_frames(struct arena *a, const cJSON *arr, struct fh_attempt *at)
{
	const cJSON *f;
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
		p = get_str(f, "path");
		fn = get_str(f, "function");
		fr->path = p ? dup_capped(a, p, 1024) : "?";
		fr->function = fn ? dup_capped(a, fn, 512) : "?";
		fr->line = get_int(f, "line", 0);
		if (fr->line < 0)
			fr->line = 0;
		fr->source = dup_capped(a, get_str(f, "source"), 512);
	}
}

static void fill_test_proto(struct fh_records *rec, struct tbuild *t, const cJSON *o)
{
	struct arena *a = &rec->run->arena;
	const char *s;
	const cJSON *fx, *it;
	size_t n = 0;

	s = get_str(o, "file");
	if (!s) {
		const char *sep = strstr(t->nodeid, "::");

		t->proto.file = sep ? arena_strndup(a, t->nodeid, (size_t)(sep - t->nodeid)) : t->nodeid;
	} else {
		t->proto.file = dup_capped(a, s, 1024);
	}
	s = get_str(o, "function");
	if (!s) {
		const char *sep = strrchr(t->nodeid, ':');
		const char *br;

		s = sep ? sep + 1 : t->nodeid;
		br = strchr(s, '[');
		t->proto.function = br ? arena_strndup(a, s, (size_t)(br - s)) : arena_strdup(a, s);
	} else {
		t->proto.function = dup_capped(a, s, 1024);
	}
	t->proto.param_id = dup_capped(a, get_str(o, "param_id"), 1024);
	fx = get(o, "fixtures");
	if (cJSON_IsArray(fx)) {
		cJSON_ArrayForEach(it, fx)
			if (cJSON_IsString(it) && n < 256)
				n++;
		if (n) {
			t->proto.fixtures = arena_alloc(a, n * sizeof(*t->proto.fixtures));
			cJSON_ArrayForEach(it, fx) {
				if (!cJSON_IsString(it) || t->proto.nfixtures >= n)
					continue;
				t->proto.fixtures[t->proto.nfixtures++] = dup_capped(a, it->valuestring, 256);
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
	const cJSON *v, *err;
	struct fh_attempt *at;
	struct tbuild *t;
	bool created;
	cJSON *o;
	int outcome;

	o = cJSON_ParseWithLengthOpts(line, len, &end, 0);
	if (!o)
		return "not valid JSON";
	if (!cJSON_IsObject(o)) {
		reason = "not a JSON object";
		goto out;
	}
	v = get(o, "v");
	if (cJSON_IsNumber(v) && v->valuedouble > 1) {
		reason = "record version newer than this analyzer";
		goto out;
	}
	nodeid = get_str(o, "nodeid");
	if (!nodeid || !*nodeid) {
		reason = "record without \"nodeid\"";
		goto out;
	}
	outcome = parse_outcome(get_str(o, "outcome"));
	if (outcome < 0) {
		reason = "record without a known \"outcome\"";
		goto out;
	}
	t = find_test(rec, nodeid, &created);
	if (created)
		fill_test_proto(rec, t, o);
	GROW(t->att, t->cap, t->n + 1);
	at = &t->att[t->n++];
	memset(at, 0, sizeof(*at));
	at->attempt = get_int(o, "attempt", (int)t->n);
	if (at->attempt < 1)
		at->attempt = (int)t->n;
	at->outcome = (enum fh_outcome)outcome;
	at->xfail = get_bool(o, "xfail", false);
	at->when = dup_capped(a, get_str(o, "when"), 32);
	at->start_ns = get_i64(o, "start_ns");
	at->stop_ns = get_i64(o, "stop_ns");
	at->wall_start = get_num(o, "wall", 0);
	at->duration_s = get_dur(o, "duration_s");
	v = get(o, "phases");
	if (cJSON_IsObject(v)) {
		at->setup_s = get_dur(v, "setup");
		at->call_s = get_dur(v, "call");
		at->teardown_s = get_dur(v, "teardown");
	}
	if (!at->duration_s)
		at->duration_s = at->setup_s + at->call_s + at->teardown_s;
	at->pid = get_int(o, "pid", 0);
	at->tid = get_int(o, "tid", 0);
	at->worker = dup_capped(a, get_str(o, "worker"), 64);
	if (!at->worker)
		at->worker = "main";
	err = get(o, "error");
	if (cJSON_IsObject(err)) {
		at->error_type = dup_capped(a, get_str(err, "type"), 256);
		at->error_message = dup_capped(a, get_str(err, "message"), FH_MAX_MESSAGE);
	}
	parse_frames(a, get(o, "frames"), at);
	at->record_file = name;
	at->record_line = lineno;
	v = get(o, "runs");
	if (cJSON_IsNumber(v) && v->valuedouble > rec->max_runs && v->valuedouble < 1e7)
		rec->max_runs = (int)v->valuedouble;
out:
	cJSON_Delete(o);
	return reason;
}

int records_add_buffer(struct fh_records *rec, const char *name, const char *data, size_t len)
{
	const char *p = data, *end = data + len;
	const char *fname = arena_strdup(&rec->run->arena, name);
	unsigned lineno = 0;
	int accepted = 0;

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
		} else {
			reason = parse_record(rec, fname, lineno, s, (size_t)(e - s));
			if (reason && !nl)
				reason = "truncated record (no newline at end of file)";
		}
		if (reason) {
			rec->run->malformed_records++;
			warning("%s:%u: %s; line skipped", name, lineno, reason);
		} else {
			accepted++;
		}
	}
	return accepted;
}

static int cmp_attempt(const void *a, const void *b)
{
	const struct fh_attempt *x = a, *y = b;

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
	}
	if (run->meta.runs_per_test <= 0)
		run->meta.runs_per_test = rec->max_runs;
	free(rec->tests);
	free(rec->slots);
	free(rec);
}

/* ---- the run directory ---- */

static int is_records_file(const char *name)
{
	size_t n = strlen(name);

	return !strncmp(name, "attempts-", 9) && n > 15 && !strcmp(name + n - 6, ".jsonl");
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int run_load(const char *run_dir, struct fh_run *run)
{
	struct fh_records *rec;
	struct buf path = BUF_INIT(PATH_MAX);
	char **names = NULL, *data;
	size_t n = 0, cap = 0, i, len;
	struct dirent *de;
	DIR *d;
	int r;

	memset(run, 0, sizeof(*run));
	run->run_dir = arena_strdup(&run->arena, run_dir);
	run->history_enabled = true;
	meta_defaults(run);

	d = opendir(run_dir);
	if (!d)
		return error("cannot open run directory '%s': %s", run_dir, strerror(errno));
	while ((de = readdir(d))) {
		if (!is_records_file(de->d_name))
			continue;
		GROW(names, cap, n + 1);
		names[n++] = xstrdup(de->d_name);
	}
	closedir(d);
	if (n)
		qsort(names, n, sizeof(*names), cmp_str);

	buf_printf(&path, "%s/meta.json", run_dir);
	r = read_file(buf_str(&path), 16 << 20, &data, &len);
	if (r == 0) {
		meta_parse_buffer(run, buf_str(&path), data, len);
		free(data);
	} else if (r != -ENOENT) {
		warning("%s: cannot read: %s; using defaults", buf_str(&path), strerror(-r));
	}

	rec = records_begin(run);
	for (i = 0; i < n; i++) {
		buf_reset(&path);
		buf_printf(&path, "%s/%s", run_dir, names[i]);
		r = read_file(buf_str(&path), FH_MAX_RECORD_FILE, &data, &len);
		if (r) {
			warning("%s: cannot read: %s; file skipped", buf_str(&path), strerror(-r));
		} else {
			records_add_buffer(rec, buf_str(&path), data, len);
			free(data);
		}
		free(names[i]);
	}
	free(names);
	records_finish(rec);
	if (!n)
		warning("%s: no attempts-*.jsonl records", run_dir);
	buf_free(&path);
	return 0;
}

void run_free(struct fh_run *run)
{
	arena_free(&run->arena);
	memset(run, 0, sizeof(*run));
}
