/* SPDX-License-Identifier: MIT */
/*
 * Inspecting a candidate source of a merge (merge_int.h): its files, its content hash, its
 * meta.json and records (validated, counted), its id; inputs flattened (a merged directory
 * given as input contributes its sources).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "escape.h"
#include "files.h"
#include "merge_int.h"
#include "model.h"
#include "rundir.h"
#include "sha256.h"
#include "trace.h"

/* ---- reading a source ---- */

/* The files of a run directory that make it up (what is hashed and copied): meta.json, the
 * attempt records, quarantine.json (with --fh-quarantine), lost.json (records the plugin
 * could not write), and every regular file in trace/. Symbolic links and other files are left
 * out: a source is data, never a pointer elsewhere. */
static int list_files(const char *dir, char ***files, size_t *n)
{
	size_t cap = 0;
	struct dirent *de;
	char *tdir;
	DIR *d;

	*files = NULL;
	*n = 0;
	d = opendir(dir);
	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		if ((strcmp(de->d_name, "meta.json") && strcmp(de->d_name, "quarantine.json") &&
		     strcmp(de->d_name, "lost.json") && !merge_is_records_name(de->d_name)) || !merge_is_regular(dir, de->d_name, NULL))
			continue;
		GROW(*files, cap, *n + 1);
		(*files)[(*n)++] = xstrdup(de->d_name);
	}
	closedir(d);
	tdir = merge_path_join(dir, "trace");
	d = tdir ? opendir(tdir) : NULL;
	while (d && (de = readdir(d))) {
		struct buf rel = BUF_INIT(PATH_MAX);

		if (de->d_name[0] == '.' || !merge_is_regular(tdir, de->d_name, NULL))
			continue;
		buf_printf(&rel, "trace/%s", de->d_name);
		GROW(*files, cap, *n + 1);
		(*files)[(*n)++] = buf_detach(&rel);
	}
	if (d)
		closedir(d);
	free(tdir);
	if (*n)
		qsort(*files, *n, sizeof(**files), merge_cmp_str);
	return 0;
}

/* The content hash (merge.h): per file, its relative path, its size, and for everything but
 * trace/ its bytes. */
static int hash_source(struct cand *c)
{
	unsigned char *chunk = xmalloc(COPY_CHUNK);
	struct sha256 h;
	int ret = 0;

	sha256_init(&h);
	c->record_bytes = c->bytes = 0;
	for (size_t i = 0; i < c->nfiles && !ret; i++) {
		char *p = merge_path_join(c->path, c->files[i]), num[32];
		uint64_t size = 0;
		struct stat st;
		int fd;

		if (!p || !merge_is_regular(c->path, c->files[i], &size)) {
			free(p);
			ret = -ENOENT;
			break;
		}
		sha256_update(&h, c->files[i], strlen(c->files[i]) + 1);
		snprintf(num, sizeof(num), "%" PRIu64 "\n", size);
		sha256_update(&h, num, strlen(num));
		c->bytes += size;
		if (merge_is_records_name(c->files[i]))
			c->record_bytes += size;
		if (!strncmp(c->files[i], "trace/", 6)) {
			free(p);
			continue;
		}
		fd = open_read(p, &st);
		if (fd < 0) {
			ret = fd;
		} else {
			ssize_t r;

			while ((r = read_some(fd, chunk, COPY_CHUNK)) > 0)
				sha256_update(&h, chunk, (size_t)r);
			if (r < 0)
				ret = (int)r;
			close(fd);
		}
		free(p);
	}
	sha256_final_hex(&h, c->hash);
	free(chunk);
	return ret;
}

/* "flakehunter-run/1" style: the version after prefix, -ENOENT when s has another prefix, 0
 * when the version is not a number. */
static long schema_version(const char *s, const char *prefix)
{
	size_t n = strlen(prefix);
	char *end;
	long v;

	if (strncmp(s, prefix, n))
		return -ENOENT;
	errno = 0;
	v = strtol(s + n, &end, 10);
	if (errno || end == s + n || *end || v < 1)
		return 0;
	return v;
}

/* The "schema" of DIR/meta.json: NULL when there is no readable JSON object (*meta_state 0:
 * no file, -1 unreadable or not an object); caller frees. */
static char *meta_schema(const char *dir, int *meta_state)
{
	char *p = merge_path_join(dir, "meta.json"), *data = NULL, *schema = NULL;
	const cJSON *v;
	cJSON *root;
	size_t len;
	int r;

	*meta_state = 0;
	r = p ? read_file(p, MAX_META, &data, &len) : -ENAMETOOLONG;
	free(p);
	if (r == -ENOENT)
		return NULL;
	*meta_state = -1;
	if (r)
		return NULL;
	root = cJSON_ParseWithLength(data, len);
	free(data);
	if (!cJSON_IsObject(root)) {
		cJSON_Delete(root);
		return NULL;
	}
	*meta_state = 1;
	v = cJSON_GetObjectItemCaseSensitive(root, "schema");
	schema = xstrdup(cJSON_IsString(v) ? v->valuestring : "");
	cJSON_Delete(root);
	return schema;
}

/* A directory name for a run id: the id itself when it is made of [A-Za-z0-9._-] (not starting
 * with '.') and short, else its safe characters and 16 hex digits of its hash, so different
 * ids never share a name. */
static char *source_id(const char *run_id)
{
	struct buf b = BUF_INIT(PATH_MAX);
	bool changed = false;
	size_t i;

	for (i = 0; run_id[i] && i < MAX_ID; i++) {
		char ch = run_id[i];
		bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
			  (ch >= '0' && ch <= '9') || ch == '-' || ch == '_' || (ch == '.' && i);

		buf_putc(&b, ok ? ch : '_');
		changed |= !ok;
	}
	if (run_id[i] || !i)
		changed = true;
	if (changed)
		buf_printf(&b, "-%016llx",
			   (unsigned long long)fnv64(FNV64_INIT, run_id, strlen(run_id)));
	return buf_detach(&b);
}

static bool looks_like_run_id(const char *s)
{
	/* YYYYMMDDTHHMMSSZ-xxxxxx, as the plugin names run directories */
	size_t i;

	if (strlen(s) != 23 || s[8] != 'T' || s[15] != 'Z' || s[16] != '-')
		return false;
	for (i = 0; i < 23; i++) {
		if (i == 8 || i == 15 || i == 16)
			continue;
		if (i < 15 ? !(s[i] >= '0' && s[i] <= '9') :
			     !((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	}
	return true;
}

static char *dup_or_null(const char *s)
{
	return s && *s ? xstrdup(s) : NULL;
}

/* Reads the source's meta and records (the loader's warnings name damaged lines) for its run
 * id and the counts of OUT/meta.json; checks every trace file's structure (warnings name
 * damage). quiet: a source already in OUT, checked when it was merged. */
static void read_source(struct cand *c, bool quiet)
{
	int was_quiet = fh_quiet;
	struct fh_run run;
	char *tdir;

	if (quiet)
		fh_quiet = 1;
	if (run_load(c->path, &run) == 0) {
		const struct fh_run_meta *m = &run.meta;

		c->host = dup_or_null(m->host);
		c->started = dup_or_null(m->started_utc);
		c->branch = dup_or_null(m->branch);
		c->commit = dup_or_null(m->commit);
		c->has_git = m->branch || m->commit;
		c->dirty = m->dirty;
		c->tracing = m->tracing;
		c->runs_per_test = m->runs_per_test;
		c->tests = (int)run.ntests;
		for (size_t i = 0; i < run.ntests; i++)
			c->attempts += (int)run.tests[i].nattempts;
		if (!c->run_id && m->run_id && *m->run_id && strlen(m->run_id) <= 200)
			c->run_id = xstrdup(m->run_id);
		run_free(&run);
	}
	tdir = merge_path_join(c->path, "trace");
	if (!quiet && tdir) {
		char **paths = NULL;
		size_t np = 0;

		if (trace_list(tdir, &paths, &np) == 0) {
			for (size_t i = 0; i < np; i++) {
				struct trace_index *ix = NULL;

				if (trace_index_open(paths[i], &ix) == 0)
					trace_index_close(ix);
				free(paths[i]);
			}
		}
		free(paths);
	}
	free(tdir);
	fh_quiet = was_quiet;
}

void merge_bad(struct merge *m, const char *origin, const char *fmt, ...)
{
	struct buf b = BUF_INIT(8192);
	va_list ap;

	va_start(ap, fmt);
	buf_vprintf(&b, fmt, ap);
	va_end(ap);
	error("merge: %s: %s; not merged", origin, buf_str(&b));
	buf_free(&b);
	m->bad++;
}

/* Inspects one run directory (not a merged one) and adds it as a candidate. */
static void add_leaf(struct merge *m, const char *dir, const char *origin, bool in_out)
{
	struct cand c;
	char *schema;
	int state, r;
	size_t nrec = 0;

	memset(&c, 0, sizeof(c));
	schema = meta_schema(dir, &state);
	if (schema && *schema) {
		long v = schema_version(schema, "flakehunter-run/");

		if (v < 0 || v == 0) {
			merge_bad(m, origin, "unknown format '%.80s' in meta.json", schema);
			free(schema);
			return;
		}
		if (v > 1) {
			merge_bad(m, origin, "format version %ld is newer than this fh-analyze reads (1)", v);
			free(schema);
			return;
		}
	}
	free(schema);
	c.path = xstrdup(dir);
	c.origin = xstrdup(origin);
	c.in_out = in_out;
	r = list_files(dir, &c.files, &c.nfiles);
	for (size_t i = 0; i < c.nfiles; i++)
		nrec += merge_is_records_name(c.files[i]);
	if (r || (state == 0 && !nrec)) {
		if (r)
			merge_bad(m, origin, "cannot read: %s", fh_strerror(r));
		else
			merge_bad(m, origin, "not a run directory (no meta.json, no attempts-*.jsonl)");
		merge_cand_free(&c);
		return;
	}
	if (state < 0 && !in_out)
		warning("%s/meta.json: unreadable or not a JSON object; merged without its run's "
			"metadata (host, git, options)", origin);
	else if (state == 0 && !in_out)
		warning("%s: no meta.json; merged without its run's metadata (host, git, options)",
			origin);
	r = hash_source(&c);
	if (r) {
		merge_bad(m, origin, "cannot read its files: %s", fh_strerror(r));
		merge_cand_free(&c);
		return;
	}
	read_source(&c, in_out);
	if (state <= 0) { /* the loader's run id is the directory name: decided below */
		free(c.run_id);
		c.run_id = NULL;
	}
	if (!c.run_id) {
		const char *base = strrchr(dir, '/');

		base = base ? base + 1 : dir;
		if (looks_like_run_id(base)) {
			c.run_id = xstrdup(base);
		} else {
			struct buf b = BUF_INIT(64);

			buf_printf(&b, "nometa-%.12s", c.hash);
			c.run_id = buf_detach(&b);
		}
	}
	c.id = source_id(c.run_id);
	GROW(m->c, m->cap, m->n + 1);
	m->c[m->n++] = c;
}

/* A merged directory: every sources/<id>/ is a leaf candidate. */
void merge_add_merged(struct merge *m, const char *dir, const char *origin, bool in_out)
{
	char *sdir = merge_path_join(dir, "sources"), *schema;
	char **names = NULL;
	size_t n = 0, cap = 0;
	struct dirent *de;
	int state;
	DIR *d;

	schema = meta_schema(dir, &state);
	if (schema && *schema) {
		long v = schema_version(schema, "flakehunter-merged/");

		if (v == 0 || (v < 0 && schema_version(schema, "flakehunter-run/") < 0)) {
			merge_bad(m, origin, "unknown format '%.80s' in meta.json", schema);
			goto out;
		}
		if (v > 1) {
			merge_bad(m, origin, "merged format version %ld is newer than this fh-analyze reads (1)",
				  v);
			goto out;
		}
	}
	d = sdir ? opendir(sdir) : NULL;
	if (!d) {
		merge_bad(m, origin, "cannot list its sources/: %s", strerror(errno));
		goto out;
	}
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		GROW(names, cap, n + 1);
		names[n++] = xstrdup(de->d_name);
	}
	closedir(d);
	if (n)
		qsort(names, n, sizeof(*names), merge_cmp_str);
	for (size_t i = 0; i < n; i++) {
		char *p = merge_path_join(sdir, names[i]);

		if (p && merge_is_dir(p)) {
			struct buf o = BUF_INIT(PATH_MAX);

			buf_printf(&o, "%s/sources/%s", origin, names[i]);
			add_leaf(m, p, buf_str(&o), in_out);
			buf_free(&o);
		}
		free(p);
		free(names[i]);
	}
	free(names);
out:
	free(schema);
	free(sdir);
}

void merge_add_input(struct merge *m, const char *arg_in)
{
	char *real = NULL, *arg = xstrdup(arg_in);
	size_t n = strlen(arg);

	while (n > 1 && arg[n - 1] == '/') /* "shard-1/" from a shell glob */
		arg[--n] = '\0';
	if (!merge_is_dir(arg))
		merge_bad(m, arg, "not a directory");
	else if ((real = realpath(arg, NULL)) && m->out_exists && !strcmp(real, m->out_real))
		; /* OUT itself: its sources are candidates already */
	else if (sources_is_merged(arg))
		merge_add_merged(m, arg, arg, false);
	else
		add_leaf(m, arg, arg, false);
	free(real);
	free(arg);
}
