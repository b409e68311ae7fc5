/* SPDX-License-Identifier: MIT */
/*
 * run_load(): a run directory into the model (rundir.h). An unmerged run is its meta.json and
 * every attempts-*.jsonl (parsed by records.c); a merged one (written by `fh-analyze merge`)
 * is every sources/<id>/ read the same way, each source's attempts tagged with its index.
 */
#include "rundir.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "files.h"
#include "records.h"

#define JOINED_MAX 240 /* bytes of a joined list of hosts or versions in run->meta */

/* ---- the run directory ---- */

static int is_records_file(const char *name)
{
	size_t n = strlen(name);

	return !strncmp(name, "attempts-", 9) && n > 15 && !strcmp(name + n - 6, ".jsonl");
}

/* Maps a records file read-only (no copy of 50 MB through read()); *data is NULL for an empty
 * file. Caller unmaps with munmap(*data, *len) when *data is not NULL. */
static int map_file(const char *path, const char **data, size_t *len)
{
	struct stat st;
	void *p;
	int fd, ret = 0;

	*data = NULL;
	*len = 0;
	fd = open_read(path, &st);
	if (fd < 0)
		return fd;
	if ((uint64_t)st.st_size > FH_MAX_RECORD_FILE) {
		ret = -EFBIG;
		goto out;
	}
	if (st.st_size == 0)
		goto out;
	p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0);
	if (p == MAP_FAILED) {
		ret = -errno;
		goto out;
	}
	*data = p;
	*len = (size_t)st.st_size;
out:
	close(fd);
	return ret;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int records_add_dir(struct fh_records *rec, const char *dir, int source)
{
	struct buf path = BUF_INIT(PATH_MAX);
	char **names = NULL;
	const char *map;
	size_t n = 0, cap = 0, i, len;
	struct dirent *de;
	DIR *d;
	int r;

	d = opendir(dir);
	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		if (!is_records_file(de->d_name))
			continue;
		GROW(names, cap, n + 1);
		names[n++] = xstrdup(de->d_name);
	}
	closedir(d);
	if (n)
		qsort(names, n, sizeof(*names), cmp_str);
	records_set_source(rec, source);
	for (i = 0; i < n; i++) {
		buf_reset(&path);
		buf_printf(&path, "%s/%s", dir, names[i]);
		r = map_file(buf_str(&path), &map, &len);
		if (r) {
			warning("%s: cannot read: %s; file skipped", buf_str(&path), fh_strerror(r));
		} else if (map) {
			records_add_buffer(rec, buf_str(&path), map, len);
			munmap((void *)map, len);
		}
		free(names[i]);
	}
	free(names);
	buf_free(&path);
	return (int)n;
}

int run_load(const char *run_dir, struct fh_run *run)
{
	struct fh_records *rec;
	struct fh_source *src;
	int n;

	memset(run, 0, sizeof(*run));
	run->run_dir = arena_strdup(&run->arena, run_dir);
	run->history_enabled = true;
	if (sources_is_merged(run_dir))
		return sources_load(run);

	meta_load_dir(run, run_dir, &run->meta);
	rec = records_begin(run);
	n = records_add_dir(rec, run_dir, 0);
	if (n < 0) {
		int e = -n;

		records_finish(rec);
		return error("cannot open run directory '%s': %s", run_dir, strerror(e));
	}
	records_finish(rec);
	if (!n)
		warning("%s: no attempts-*.jsonl records", run_dir);
	/* One source: the run directory itself. */
	src = arena_alloc(&run->arena, sizeof(*src));
	src->id = "";
	src->dir = run->run_dir;
	src->meta = run->meta;
	run->lost_records = run->meta.lost_records;
	for (size_t i = 0; i < run->ntests; i++)
		src->attempts += (int)run->tests[i].nattempts;
	run->sources = src;
	run->nsources = 1;
	return 0;
}

void run_free(struct fh_run *run)
{
	arena_free(&run->arena);
	memset(run, 0, sizeof(*run));
}

/* ---- merged run directories ---- */

bool sources_is_merged(const char *dir)
{
	struct buf p = BUF_INIT(PATH_MAX);
	struct stat st;
	bool yes;

	buf_printf(&p, "%s/sources", dir);
	yes = !buf_failed(&p) && stat(buf_str(&p), &st) == 0 && S_ISDIR(st.st_mode);
	buf_free(&p);
	return yes;
}

/* The merged meta.json: its run id, and the source ids it lists (to name missing ones). */
static void merged_meta(struct fh_run *run, char ***ids, size_t *nids)
{
	struct buf path = BUF_INIT(PATH_MAX);
	const cJSON *v, *it;
	size_t len, cap = 0;
	char *data;
	cJSON *root;
	int r;

	*ids = NULL;
	*nids = 0;
	buf_printf(&path, "%s/meta.json", run->run_dir);
	r = read_file(buf_str(&path), 16 << 20, &data, &len);
	if (r) {
		if (r != -ENOENT)
			warning("%s: cannot read: %s", buf_str(&path), fh_strerror(r));
		buf_free(&path);
		return;
	}
	root = cJSON_ParseWithLength(data, len);
	free(data);
	if (!cJSON_IsObject(root)) {
		warning("%s:1: not a JSON object; run id from the directory name", buf_str(&path));
		cJSON_Delete(root);
		buf_free(&path);
		return;
	}
	v = cJSON_GetObjectItemCaseSensitive(root, "run_id");
	if (cJSON_IsString(v) && v->valuestring[0] && strlen(v->valuestring) < 256)
		run->meta.run_id = arena_strdup(&run->arena, v->valuestring);
	v = cJSON_GetObjectItemCaseSensitive(root, "sources");
	if (!cJSON_IsArray(v))
		v = NULL;
	cJSON_ArrayForEach(it, v) {
		const cJSON *id = cJSON_GetObjectItemCaseSensitive(it, "id");

		if (!cJSON_IsString(id) || *nids >= 100000)
			continue;
		GROW(*ids, cap, *nids + 1);
		(*ids)[(*nids)++] = xstrdup(id->valuestring);
	}
	cJSON_Delete(root);
	buf_free(&path);
}

/* Directory names under sources/ (sorted); names starting with '.' are copies in progress. */
static int list_sources(const char *dir, char ***names, size_t *n)
{
	struct buf path = BUF_INIT(PATH_MAX);
	struct dirent *de;
	size_t cap = 0;
	DIR *d;

	*names = NULL;
	*n = 0;
	buf_printf(&path, "%s/sources", dir);
	d = opendir(buf_str(&path));
	if (!d) {
		int e = errno;

		buf_free(&path);
		return -e;
	}
	while ((de = readdir(d))) {
		struct stat st;
		size_t base;

		if (de->d_name[0] == '.')
			continue;
		base = buf_len(&path);
		buf_printf(&path, "/%s", de->d_name);
		if (stat(buf_str(&path), &st) == 0 && S_ISDIR(st.st_mode)) {
			GROW(*names, cap, *n + 1);
			(*names)[(*n)++] = xstrdup(de->d_name);
		}
		buf_truncate(&path, base);
	}
	closedir(d);
	buf_free(&path);
	if (*n)
		qsort(*names, *n, sizeof(**names), cmp_str);
	return 0;
}

/* The distinct non-empty values of one meta field over the sources, joined with ", " (capped),
 * or NULL when there is none. *count gets how many distinct values there are. */
static const char *joined(struct fh_run *run, size_t off, int *count)
{
	const char **vals = xcalloc(run->nsources + 1, sizeof(*vals));
	struct buf b = BUF_INIT(1 << 16);
	size_t n = 0, i, k, shown = 0;
	const char *out = NULL;

	for (i = 0; i < run->nsources; i++) {
		const char *v = *(const char *const *)((const char *)&run->sources[i].meta + off);

		if (!v || !*v)
			continue;
		for (k = 0; k < n && strcmp(vals[k], v); k++)
			;
		if (k == n)
			vals[n++] = v;
	}
	qsort(vals, n, sizeof(*vals), cmp_str);
	for (i = 0; i < n; i++) {
		if (buf_len(&b) + strlen(vals[i]) > JOINED_MAX) {
			buf_printf(&b, " and %zu more", n - shown);
			break;
		}
		if (i)
			buf_puts(&b, ", ");
		buf_puts(&b, vals[i]);
		shown++;
	}
	if (n)
		out = arena_strdup(&run->arena, buf_str(&b));
	*count = (int)n;
	buf_free(&b);
	free(vals);
	return out;
}

#define META_OFF(field) offsetof(struct fh_run_meta, field)

/* run->meta of a merged run from its sources' metas (run_id is already set). */
static void aggregate_meta(struct fh_run *run)
{
	struct fh_run_meta *m = &run->meta;
	int n;

	m->started_utc = "";
	m->isolate = run->nsources > 0;
	m->runs_mode = "fixed";
	m->fail_on = NULL;
	m->order_mode = "back-to-back";
	m->order_seed = -1;
	for (size_t i = 0; i < run->nsources; i++) {
		const struct fh_run_meta *s = &run->sources[i].meta;

		if (s->started_utc && *s->started_utc &&
		    (!*m->started_utc || strcmp(s->started_utc, m->started_utc) < 0))
			m->started_utc = s->started_utc;
		if (s->runs_per_test > m->runs_per_test)
			m->runs_per_test = s->runs_per_test;
		m->isolate &= s->isolate;
		m->xdist |= s->xdist;
		m->tracing |= s->tracing;
		m->dirty |= s->dirty;
		if (!i || s->cpu_count < m->cpu_count)
			m->cpu_count = s->cpu_count; /* the smallest machine: what a CPU flake meets */
		if (!i || s->ram_bytes < m->ram_bytes)
			m->ram_bytes = s->ram_bytes;
		/* Options: adaptive when any shard was, the largest cap and budget, the one exit
		 * policy the shards shared (else the strictest, "any"). */
		if (s->runs_mode && !strcmp(s->runs_mode, "auto"))
			m->runs_mode = "auto";
		if (s->max_runs > m->max_runs)
			m->max_runs = s->max_runs;
		if (s->budget_s > m->budget_s)
			m->budget_s = s->budget_s;
		if (!i)
			m->fail_on = s->fail_on;
		else if (!m->fail_on || !s->fail_on || strcmp(m->fail_on, s->fail_on))
			m->fail_on = "any";
		/* rounds when any shard ran rounds; the seed only when they all shared one */
		if (s->order_mode && !strcmp(s->order_mode, "rounds")) {
			m->order_seed = !strcmp(m->order_mode ? m->order_mode : "", "rounds") &&
				m->order_seed != s->order_seed ? -1 : s->order_seed;
			m->order_mode = "rounds";
		}
	}
	if (!m->fail_on)
		m->fail_on = "any";
	m->host = joined(run, META_OFF(host), &n);
	m->os = joined(run, META_OFF(os), &n);
	m->python = joined(run, META_OFF(python), &n);
	m->pytest = joined(run, META_OFF(pytest), &n);
	m->plugin_version = joined(run, META_OFF(plugin_version), &n);
	/* A branch, commit or rootdir names the run only when every source agrees. */
	m->branch = joined(run, META_OFF(branch), &n);
	if (n != 1)
		m->branch = NULL;
	m->commit = joined(run, META_OFF(commit), &n);
	if (n != 1)
		m->commit = NULL;
	m->rootdir = joined(run, META_OFF(rootdir), &n);
	if (n != 1)
		m->rootdir = NULL;
	if (!m->host)
		m->host = "";
	if (!m->os)
		m->os = "";
	if (!m->python)
		m->python = "";
	if (!m->pytest)
		m->pytest = "";
	if (!m->plugin_version)
		m->plugin_version = "";
}

int sources_load(struct fh_run *run)
{
	struct fh_records *rec;
	char **names = NULL, **listed = NULL;
	size_t n = 0, nlisted = 0, i, k;
	struct buf dir = BUF_INIT(PATH_MAX);
	int r;

	run->merged = true;
	/* The merged meta.json reads as a run's (run id, or the directory name without one); the
	 * rest of run->meta is rebuilt from the sources below. */
	meta_load_dir(run, run->run_dir, &run->meta);
	merged_meta(run, &listed, &nlisted);
	r = list_sources(run->run_dir, &names, &n);
	if (r < 0) {
		for (k = 0; k < nlisted; k++)
			free(listed[k]);
		free(listed);
		return error("cannot list '%s/sources': %s", run->run_dir, strerror(-r));
	}
	for (k = 0; k < nlisted; k++) {
		if (!bsearch(&listed[k], names, n, sizeof(*names), cmp_str))
			warning("%s/meta.json: source '%s' is listed but %s/sources/%s is missing; "
				"its attempts are not in this report", run->run_dir, listed[k],
				run->run_dir, listed[k]);
		free(listed[k]);
	}
	free(listed);

	run->sources = arena_alloc(&run->arena, (n ? n : 1) * sizeof(*run->sources));
	rec = records_begin(run);
	for (i = 0; i < n; i++) {
		struct fh_source *s = &run->sources[run->nsources];
		int nfiles;

		buf_reset(&dir);
		buf_printf(&dir, "%s/sources/%s", run->run_dir, names[i]);
		s->id = arena_strdup(&run->arena, names[i]);
		s->dir = arena_strdup(&run->arena, buf_str(&dir));
		meta_load_dir(run, s->dir, &s->meta);
		run->lost_records += s->meta.lost_records;
		nfiles = records_add_dir(rec, s->dir, (int)run->nsources);
		if (nfiles < 0)
			warning("%s: cannot read: %s; source skipped", s->dir, strerror(-nfiles));
		else if (!nfiles)
			warning("%s: no attempts-*.jsonl records", s->dir);
		run->nsources++;
		free(names[i]);
	}
	free(names);
	buf_free(&dir);
	records_finish(rec);
	for (i = 0; i < run->ntests; i++)
		for (k = 0; k < run->tests[i].nattempts; k++)
			run->sources[run->tests[i].attempts[k].source].attempts++;
	if (!run->nsources) {
		/* Still a run: an empty report says so rather than failing. */
		warning("%s: merged run directory without sources", run->run_dir);
		run->sources = arena_alloc(&run->arena, sizeof(*run->sources));
		run->sources[0].id = "";
		run->sources[0].dir = run->run_dir;
		run->sources[0].meta = run->meta;
		run->nsources = 1;
		return 0;
	}
	{
		const char *id = run->meta.run_id;

		aggregate_meta(run);
		run->meta.run_id = id;
	}
	return 0;
}
