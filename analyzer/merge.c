/* SPDX-License-Identifier: MIT */
/*
 * merge_run(): `fh-analyze merge` (what it guarantees: merge.h). Three steps: collect the
 * candidate sources (OUT's own, then every input, flattened and inspected), choose one per run
 * id, then write what is new into OUT/sources/ and OUT/meta.json. Only this step writes, so
 * --strict can refuse before anything changes.
 */
#include "merge.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "escape.h"
#include "files.h"
#include "model.h"
#include "rundir.h"
#include "sha256.h"
#include "trace.h"

#define COPY_CHUNK (1u << 20)
#define MAX_META (16u << 20)
#define MAX_ID 100

struct cand {
	char *path;          /* the source's run directory */
	char *origin;        /* the argument it came from, for messages */
	char *run_id, *id;
	char hash[65];
	char **files;        /* relative paths, sorted: meta.json, attempts-*.jsonl, trace/... */
	size_t nfiles;
	uint64_t record_bytes, bytes;
	bool in_out;         /* already OUT/sources/<id> */
	bool keep;           /* part of the result */
	/* from its meta.json and records */
	char *host, *started, *branch, *commit;
	bool has_git, dirty, tracing;
	int runs_per_test, attempts, tests;
};

struct merge {
	const struct merge_opts *o;
	struct cand *c;
	size_t n, cap;
	int bad;             /* sources that could not be merged */
	char out_real[PATH_MAX];
	bool out_exists;
	size_t linked, copied;
};

static void cand_free(struct cand *c)
{
	for (size_t i = 0; i < c->nfiles; i++)
		free(c->files[i]);
	free(c->files);
	free(c->path);
	free(c->origin);
	free(c->run_id);
	free(c->id);
	free(c->host);
	free(c->started);
	free(c->branch);
	free(c->commit);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static char *path_join(const char *a, const char *b)
{
	struct buf p = BUF_INIT(PATH_MAX);

	buf_printf(&p, "%s/%s", a, b);
	if (p.failed) {
		buf_free(&p);
		return NULL;
	}
	return buf_detach(&p);
}

static bool is_dir(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static bool is_regular(const char *dir, const char *name, uint64_t *size)
{
	char *p = path_join(dir, name);
	struct stat st;
	bool yes;

	yes = p && lstat(p, &st) == 0 && S_ISREG(st.st_mode);
	if (yes && size)
		*size = (uint64_t)st.st_size;
	free(p);
	return yes;
}

static bool is_records_name(const char *name)
{
	size_t n = strlen(name);

	return !strncmp(name, "attempts-", 9) && n > 15 && !strcmp(name + n - 6, ".jsonl");
}

/* ---- reading a source ---- */

/* The files of a run directory that make it up (what is hashed and copied): meta.json, the
 * attempt records, quarantine.json (with --fh-quarantine), and every regular file in trace/. Symbolic links and other files are left
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
		     !is_records_name(de->d_name)) || !is_regular(dir, de->d_name, NULL))
			continue;
		GROW(*files, cap, *n + 1);
		(*files)[(*n)++] = xstrdup(de->d_name);
	}
	closedir(d);
	tdir = path_join(dir, "trace");
	d = tdir ? opendir(tdir) : NULL;
	while (d && (de = readdir(d))) {
		struct buf rel = BUF_INIT(PATH_MAX);

		if (de->d_name[0] == '.' || !is_regular(tdir, de->d_name, NULL))
			continue;
		buf_printf(&rel, "trace/%s", de->d_name);
		GROW(*files, cap, *n + 1);
		(*files)[(*n)++] = buf_detach(&rel);
	}
	if (d)
		closedir(d);
	free(tdir);
	if (*n)
		qsort(*files, *n, sizeof(**files), cmp_str);
	return 0;
}

/* The content hash (merge.h): per file, its relative path, its size, and for everything but
 * trace/ its bytes. */
static int hash_source(struct cand *c)
{
	unsigned char *chunk = xmalloc(COPY_CHUNK), dig[32];
	struct sha256 h;
	int ret = 0;

	sha256_init(&h);
	c->record_bytes = c->bytes = 0;
	for (size_t i = 0; i < c->nfiles && !ret; i++) {
		char *p = path_join(c->path, c->files[i]), num[32];
		uint64_t size = 0;
		int fd;

		if (!p || !is_regular(c->path, c->files[i], &size)) {
			free(p);
			ret = -ENOENT;
			break;
		}
		sha256_update(&h, c->files[i], strlen(c->files[i]) + 1);
		snprintf(num, sizeof(num), "%" PRIu64 "\n", size);
		sha256_update(&h, num, strlen(num));
		c->bytes += size;
		if (is_records_name(c->files[i]))
			c->record_bytes += size;
		if (!strncmp(c->files[i], "trace/", 6)) {
			free(p);
			continue;
		}
		fd = open(p, O_RDONLY | O_CLOEXEC);
		if (fd < 0) {
			ret = -errno;
		} else {
			for (;;) {
				ssize_t r = read(fd, chunk, COPY_CHUNK);

				if (r < 0 && errno == EINTR)
					continue;
				if (r < 0)
					ret = -errno;
				if (r <= 0)
					break;
				sha256_update(&h, chunk, (size_t)r);
			}
			close(fd);
		}
		free(p);
	}
	sha256_final(&h, dig);
	for (int k = 0; k < 32; k++)
		snprintf(c->hash + 2 * k, 3, "%02x", dig[k]);
	free(chunk);
	return ret;
}

/* "flakehunter-run/1" style: the version after prefix, -1 when s has another prefix, 0 when the
 * version is not a number. */
static long schema_version(const char *s, const char *prefix)
{
	size_t n = strlen(prefix);
	char *end;
	long v;

	if (strncmp(s, prefix, n))
		return -1;
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
	char *p = path_join(dir, "meta.json"), *data = NULL, *schema = NULL;
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
	tdir = path_join(c->path, "trace");
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

static void bad(struct merge *m, const char *origin, const char *fmt, ...) FH_PRINTF(3, 4);

static void bad(struct merge *m, const char *origin, const char *fmt, ...)
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
			bad(m, origin, "unknown format '%.80s' in meta.json", schema);
			free(schema);
			return;
		}
		if (v > 1) {
			bad(m, origin, "format version %ld is newer than this fh-analyze reads (1)", v);
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
		nrec += is_records_name(c.files[i]);
	if (r || (state == 0 && !nrec)) {
		if (r)
			bad(m, origin, "cannot read: %s", strerror(-r));
		else
			bad(m, origin, "not a run directory (no meta.json, no attempts-*.jsonl)");
		cand_free(&c);
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
		bad(m, origin, "cannot read its files: %s", strerror(-r));
		cand_free(&c);
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
static void add_merged(struct merge *m, const char *dir, const char *origin, bool in_out)
{
	char *sdir = path_join(dir, "sources"), *schema;
	char **names = NULL;
	size_t n = 0, cap = 0;
	struct dirent *de;
	int state;
	DIR *d;

	schema = meta_schema(dir, &state);
	if (schema && *schema) {
		long v = schema_version(schema, "flakehunter-merged/");

		if (v == 0 || (v < 0 && schema_version(schema, "flakehunter-run/") < 0)) {
			bad(m, origin, "unknown format '%.80s' in meta.json", schema);
			goto out;
		}
		if (v > 1) {
			bad(m, origin, "merged format version %ld is newer than this fh-analyze reads (1)",
			    v);
			goto out;
		}
	}
	d = sdir ? opendir(sdir) : NULL;
	if (!d) {
		bad(m, origin, "cannot list its sources/: %s", strerror(errno));
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
		qsort(names, n, sizeof(*names), cmp_str);
	for (size_t i = 0; i < n; i++) {
		char *p = path_join(sdir, names[i]);

		if (p && is_dir(p)) {
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

static void add_input(struct merge *m, const char *arg_in)
{
	char real[PATH_MAX], *arg = xstrdup(arg_in);
	size_t n = strlen(arg);

	while (n > 1 && arg[n - 1] == '/') /* "shard-1/" from a shell glob */
		arg[--n] = '\0';
	if (!is_dir(arg))
		bad(m, arg, "not a directory");
	else if (realpath(arg, real) && m->out_exists && !strcmp(real, m->out_real))
		; /* OUT itself: its sources are candidates already */
	else if (sources_is_merged(arg))
		add_merged(m, arg, arg, false);
	else
		add_leaf(m, arg, arg, false);
	free(arg);
}

/* ---- choosing ---- */

/* By run id; within one, the one kept first: more record bytes, then the smaller hash, then
 * one already in OUT (same content: no copy). */
static int cmp_cand(const void *a, const void *b)
{
	const struct cand *x = a, *y = b;
	int c = strcmp(x->run_id, y->run_id);

	if (c)
		return c;
	if (x->record_bytes != y->record_bytes)
		return x->record_bytes > y->record_bytes ? -1 : 1;
	c = strcmp(x->hash, y->hash);
	if (c)
		return c;
	if (x->in_out != y->in_out)
		return x->in_out ? -1 : 1;
	return strcmp(x->origin, y->origin);
}

static void choose(struct merge *m)
{
	size_t i, j;

	if (m->n > 1)
		qsort(m->c, m->n, sizeof(*m->c), cmp_cand);
	for (i = 0; i < m->n; i = j) {
		m->c[i].keep = true;
		for (j = i + 1; j < m->n && !strcmp(m->c[j].run_id, m->c[i].run_id); j++) {
			if (!strcmp(m->c[j].hash, m->c[i].hash))
				continue; /* the same source again: adds nothing */
			if (m->c[j].in_out)
				warning("merge: %s: run id '%s' has different contents in %s; the merged "
					"copy is replaced by it", m->c[j].origin, m->c[j].run_id,
					m->c[i].origin);
			else
				bad(m, m->c[j].origin, "run id '%s' is also claimed by %s with different "
				    "contents (%" PRIu64 " vs %" PRIu64 " record bytes)", m->c[j].run_id,
				    m->c[i].origin, m->c[j].record_bytes, m->c[i].record_bytes);
		}
	}
}

/* ---- writing ---- */

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	if (flag == FTW_DP)
		return rmdir(path) < 0 && errno != ENOENT ? -1 : 0;
	return unlink(path) < 0 && errno != ENOENT ? -1 : 0;
}

static int remove_tree(const char *path)
{
	struct stat st;

	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : -errno;
	return nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS) ? -EIO : 0;
}

static int copy_file(const char *from, const char *to)
{
	int in, out, ret = 0;
	char *chunk = NULL;

	in = open(from, O_RDONLY | O_CLOEXEC);
	if (in < 0)
		return -errno;
	out = open(to, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (out < 0) {
		ret = -errno;
		close(in);
		return ret;
	}
	for (;;) {
		ssize_t r = copy_file_range(in, NULL, out, NULL, COPY_CHUNK, 0);

		if (r < 0 && errno == EINTR)
			continue;
		if (r == 0)
			goto done;
		if (r < 0)
			break;
	}
	/* copy_file_range unsupported here (old kernel, across some filesystems): plain I/O. */
	if (errno != EXDEV && errno != EINVAL && errno != ENOSYS && errno != EOPNOTSUPP) {
		ret = -errno;
		goto done;
	}
	chunk = xmalloc(COPY_CHUNK);
	for (;;) {
		ssize_t r = read(in, chunk, COPY_CHUNK), w = 0;

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			ret = -errno;
		if (r <= 0)
			break;
		while (w < r) {
			ssize_t k = write(out, chunk + w, (size_t)(r - w));

			if (k < 0 && errno == EINTR)
				continue;
			if (k < 0) {
				ret = -errno;
				goto done;
			}
			w += k;
		}
	}
done:
	free(chunk);
	close(in);
	if (close(out) < 0 && !ret)
		ret = -errno;
	return ret;
}

static int link_or_copy(struct merge *m, const char *from, const char *to)
{
	if (link(from, to) == 0) {
		m->linked++;
		return 0;
	}
	if (errno != EXDEV && errno != EPERM && errno != EMLINK && errno != ENOTSUP &&
	    errno != EACCES)
		return -errno;
	m->copied++;
	return copy_file(from, to);
}

/* Assembles c in OUT/sources/.incoming-<id>-<pid>, then renames it to OUT/sources/<id>
 * (replacing a different copy of the same run id). */
static int install_source(struct merge *m, const struct cand *c, const char *sdir)
{
	struct buf tmp = BUF_INIT(PATH_MAX), dst = BUF_INIT(PATH_MAX);
	int ret = 0;

	buf_printf(&tmp, "%s/.incoming-%s-%ld", sdir, c->id, (long)getpid());
	buf_printf(&dst, "%s/%s", sdir, c->id);
	if (tmp.failed || dst.failed) {
		ret = -ENAMETOOLONG;
		goto out;
	}
	remove_tree(buf_str(&tmp));
	if (mkdir(buf_str(&tmp), 0755) < 0) {
		ret = -errno;
		goto out;
	}
	for (size_t i = 0; i < c->nfiles && !ret; i++) {
		char *from = path_join(c->path, c->files[i]);
		char *to = path_join(buf_str(&tmp), c->files[i]);

		if (!from || !to) {
			ret = -ENAMETOOLONG;
		} else {
			if (!strncmp(c->files[i], "trace/", 6)) {
				char *td = path_join(buf_str(&tmp), "trace");

				if (td && mkdir(td, 0755) < 0 && errno != EEXIST)
					ret = -errno;
				free(td);
			}
			if (!ret)
				ret = link_or_copy(m, from, to);
			if (ret)
				error("merge: cannot copy %s to %s: %s", from, to, strerror(-ret));
		}
		free(from);
		free(to);
	}
	if (!ret) {
		ret = remove_tree(buf_str(&dst));
		if (!ret && rename(buf_str(&tmp), buf_str(&dst)) < 0)
			ret = -errno;
	}
	if (ret)
		remove_tree(buf_str(&tmp));
out:
	buf_free(&tmp);
	buf_free(&dst);
	return ret;
}

static void json_git(struct buf *b, const char *branch, const char *commit, bool dirty, bool any)
{
	if (!any) {
		buf_puts(b, "null");
		return;
	}
	buf_puts(b, "{\"branch\": ");
	buf_json_str(b, branch);
	buf_puts(b, ", \"commit\": ");
	buf_json_str(b, commit);
	buf_printf(b, ", \"dirty\": %s}", dirty ? "true" : "false");
}

static bool same(const char *a, const char *b)
{
	return (!a && !b) || (a && b && !strcmp(a, b));
}

/* OUT/meta.json: the merged run id (a hash of the kept sources' run ids and hashes) and the
 * sources in id order; a run's fields for readers that know only plain runs. */
static int write_meta(struct merge *m, const char *out)
{
	struct buf b = BUF_INIT(64u << 20);
	const struct cand *first = NULL;
	struct sha256 h;
	unsigned char dig[32];
	bool tracing = false, one_commit = true, dirty = false;
	int runs = 0;
	char *path;
	int ret;

	sha256_init(&h);
	for (size_t i = 0; i < m->n; i++) {
		const struct cand *c = &m->c[i];

		if (!c->keep)
			continue;
		sha256_update(&h, c->run_id, strlen(c->run_id) + 1);
		sha256_update(&h, c->hash, 64);
		if (!first)
			first = c;
		else if (!same(first->commit, c->commit))
			one_commit = false;
		tracing |= c->tracing;
		dirty |= c->dirty;
		if (c->runs_per_test > runs)
			runs = c->runs_per_test;
	}
	sha256_final(&h, dig);
	buf_puts(&b, "{\n \"schema\": \"" FH_MERGED_SCHEMA "\",\n \"run_id\": \"merged-");
	for (int k = 0; k < 6; k++)
		buf_printf(&b, "%02x", dig[k]);
	buf_printf(&b, "\",\n \"runs_per_test\": %d,\n \"tracing\": %s,\n \"git\": ", runs,
		   tracing ? "true" : "false");
	json_git(&b, first && one_commit ? first->branch : NULL, first ? first->commit : NULL, dirty,
		 first && one_commit && first->has_git);
	buf_puts(&b, ",\n \"sources\": [");
	{
		bool sep = false;

		for (size_t i = 0; i < m->n; i++) {
			const struct cand *c = &m->c[i];

			if (!c->keep)
				continue;
			buf_puts(&b, sep ? ",\n  {\"id\": " : "\n  {\"id\": ");
			sep = true;
			buf_json_str(&b, c->id);
			buf_puts(&b, ", \"run_id\": ");
			buf_json_str(&b, c->run_id);
			buf_puts(&b, ", \"host\": ");
			buf_json_str(&b, c->host);
			buf_puts(&b, ", \"started_utc\": ");
			buf_json_str(&b, c->started);
			buf_puts(&b, ", \"git\": ");
			json_git(&b, c->branch, c->commit, c->dirty, c->has_git);
			buf_printf(&b, ", \"tracing\": %s, \"runs_per_test\": %d, \"tests\": %d, "
				   "\"attempts\": %d, \"files\": %zu, \"bytes\": %" PRIu64 ", \"hash\": \"%s\"}",
				   c->tracing ? "true" : "false", c->runs_per_test, c->tests, c->attempts,
				   c->nfiles, c->bytes, c->hash);
		}
	}
	buf_puts(&b, "\n ]\n}\n");
	path = path_join(out, "meta.json");
	if (b.failed || !path)
		ret = -ENOBUFS;
	else
		ret = write_file_atomic(path, b.data, b.len);
	if (ret)
		error("merge: cannot write %s/meta.json: %s", out, strerror(-ret));
	free(path);
	buf_free(&b);
	return ret;
}

/* One warning line when the kept sources were built from different commits. */
static void warn_commits(const struct merge *m)
{
	struct buf b = BUF_INIT(4096);
	const char **seen = xcalloc(m->n + 1, sizeof(*seen));
	size_t nseen = 0;

	for (size_t i = 0; i < m->n; i++) {
		const struct cand *c = &m->c[i];
		size_t k;

		if (!c->keep)
			continue;
		for (k = 0; k < nseen && !same(seen[k], c->commit); k++)
			;
		if (k == nseen)
			seen[nseen++] = c->commit;
	}
	if (nseen > 1) {
		for (size_t k = 0; k < nseen; k++) {
			bool sep = false;

			buf_printf(&b, "%s%.12s (", k ? "; " : "", seen[k] ? seen[k] : "no git");
			for (size_t i = 0; i < m->n; i++) {
				const struct cand *c = &m->c[i];

				if (!c->keep || !same(seen[k], c->commit))
					continue;
				buf_printf(&b, "%s%s", sep ? ", " : "", c->host && *c->host ? c->host : c->id);
				sep = true;
			}
			buf_putc(&b, ')');
		}
		warning("merge: the sources were built from different git commits: %s; the merged "
			"report names no commit", buf_str(&b));
	}
	free(seen);
	buf_free(&b);
}

static int prepare_out(struct merge *m)
{
	const char *out = m->o->out;
	struct stat st;

	if (stat(out, &st) < 0) {
		if (errno != ENOENT)
			return error("merge: --out %s: %s", out, strerror(errno));
		return 0;
	}
	if (!S_ISDIR(st.st_mode))
		return error("merge: --out %s: not a directory", out);
	if (!realpath(out, m->out_real))
		return error("merge: --out %s: %s", out, strerror(errno));
	m->out_exists = true;
	if (sources_is_merged(out)) {
		add_merged(m, out, out, true);
		return 0;
	}
	{
		DIR *d = opendir(out);
		struct dirent *de;
		bool empty = true;

		if (!d)
			return error("merge: --out %s: %s", out, strerror(errno));
		while ((de = readdir(d)))
			if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
				empty = false;
		closedir(d);
		if (!empty)
			return error("merge: --out %s: exists and is not a merged run directory; "
				     "choose a new or empty directory", out);
	}
	return 0;
}

int merge_run(const struct merge_opts *o)
{
	struct merge m;
	char *sdir = NULL;
	size_t kept = 0, added = 0, tests = 0, attempts = 0;
	bool changed = false;
	int status = 0;

	memset(&m, 0, sizeof(m));
	m.o = o;
	if (prepare_out(&m) < 0)
		return 1;
	for (size_t i = 0; i < o->ninputs; i++)
		add_input(&m, o->inputs[i]);
	choose(&m);
	for (size_t i = 0; i < m.n; i++) {
		if (!m.c[i].keep)
			continue;
		kept++;
		tests += (size_t)m.c[i].tests;
		attempts += (size_t)m.c[i].attempts;
		if (!m.c[i].in_out)
			changed = true;
	}
	for (size_t i = 0; i < m.n; i++) /* a copy in OUT that lost to another */
		if (m.c[i].in_out && !m.c[i].keep) {
			bool dup = false;

			for (size_t k = 0; k < m.n; k++)
				dup |= m.c[k].keep && !strcmp(m.c[k].id, m.c[i].id) &&
				       !strcmp(m.c[k].hash, m.c[i].hash);
			changed |= !dup;
		}
	if (o->strict && m.bad) {
		error("merge: %d source%s could not be merged; nothing written (--strict)", m.bad,
		      m.bad == 1 ? "" : "s");
		status = 1;
		goto out;
	}
	if (!kept) {
		error("merge: nothing to merge");
		status = 1;
		goto out;
	}
	warn_commits(&m);
	sdir = path_join(o->out, "sources");
	if (!sdir || mkdir_p(sdir, 0755) < 0) {
		error("merge: cannot create %s/sources: %s", o->out, strerror(errno));
		status = 1;
		goto out;
	}
	for (size_t i = 0; i < m.n; i++) {
		if (!m.c[i].keep || m.c[i].in_out)
			continue;
		if (install_source(&m, &m.c[i], sdir) < 0) {
			error("merge: %s: could not be written into %s; not merged", m.c[i].origin,
			      o->out);
			m.c[i].keep = false;
			m.bad++;
			status = 1;
			continue;
		}
		added++;
	}
	if (changed) {
		/* New sources: the next report appends their history rows (history.c skips the
		 * run ids a history file already holds, so the others are not appended twice). */
		char *marker = path_join(o->out, "history-appended");

		if (marker)
			unlink(marker);
		free(marker);
	}
	if (write_meta(&m, o->out) < 0) {
		status = 1;
		goto out;
	}
	printf("fh-analyze merge: %s: %zu source%s (%zu new), %zu tests, %zu attempts; files: "
	       "%zu linked, %zu copied%s\n", o->out, kept,
	       kept == 1 ? "" : "s", added, tests, attempts, m.linked, m.copied,
	       m.bad ? "; some sources were not merged (see above)" : "");
out:
	free(sdir);
	for (size_t i = 0; i < m.n; i++)
		cand_free(&m.c[i]);
	free(m.c);
	return status;
}
