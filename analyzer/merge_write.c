/* SPDX-License-Identifier: MIT */
/*
 * Writing a merge (merge_int.h): each new source assembled under OUT/sources/.incoming-*
 * (hard links, else copies in COPY_CHUNK pieces) and renamed into place, then OUT/meta.json.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "escape.h"
#include "files.h"
#include "merge_int.h"
#include "model.h"
#include "rundir.h"
#include "sha256.h"

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

	struct stat st;

	in = open_read(from, &st);
	if (in < 0)
		return in;
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
		ssize_t r = read_some(in, chunk, COPY_CHUNK);

		if (r <= 0) {
			ret = (int)r;
			break;
		}
		ret = write_all(out, chunk, (size_t)r);
		if (ret)
			break;
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
int merge_install_source(struct merge *m, const struct cand *c, const char *sdir)
{
	struct buf tmp = BUF_INIT(PATH_MAX), dst = BUF_INIT(PATH_MAX), where = BUF_INIT(PATH_MAX);
	int ret = 0;

	buf_printf(&tmp, "%s/.incoming-%s-%ld", sdir, c->id, (long)getpid());
	buf_printf(&dst, "%s/%s", sdir, c->id);
	buf_puts(&where, buf_str(&tmp));
	if (buf_failed(&tmp) || buf_failed(&dst)) {
		ret = -ENAMETOOLONG;
		goto out;
	}
	remove_tree(buf_str(&tmp));
	if (mkdir(buf_str(&tmp), 0755) < 0) {
		ret = -errno;
		goto out;
	}
	for (size_t i = 0; i < c->nfiles && !ret; i++) {
		char *from = merge_path_join(c->path, c->files[i]);
		char *to = merge_path_join(buf_str(&tmp), c->files[i]);

		buf_reset(&where);
		buf_printf(&where, "%s/%s", buf_str(&tmp), c->files[i]);
		if (!from || !to) {
			ret = -ENAMETOOLONG;
		} else {
			if (!strncmp(c->files[i], "trace/", 6)) {
				char *td = merge_path_join(buf_str(&tmp), "trace");

				if (td && mkdir(td, 0755) < 0 && errno != EEXIST)
					ret = -errno;
				free(td);
			}
			if (!ret)
				ret = link_or_copy(m, from, to);
		}
		free(from);
		free(to);
	}
	if (!ret) {
		buf_reset(&where);
		buf_puts(&where, buf_str(&dst));
		ret = remove_tree(buf_str(&dst));
		if (!ret && rename(buf_str(&tmp), buf_str(&dst)) < 0)
			ret = -errno;
	}
	if (ret)
		remove_tree(buf_str(&tmp));
out:
	if (ret)
		error("merge: %s: cannot write %s: %s; not merged", c->origin, buf_str(&where),
		      fh_strerror(ret));
	buf_free(&tmp);
	buf_free(&dst);
	buf_free(&where);
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
int merge_write_meta(struct merge *m, const char *out)
{
	struct buf b = BUF_INIT(64u << 20);
	const struct cand *first = NULL;
	struct sha256 h;
	unsigned char dig[32];
	char hex[13];
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
	hex_encode(dig, 6, hex);
	buf_puts(&b, "{\n \"schema\": \"" FH_MERGED_SCHEMA "\",\n \"run_id\": \"merged-");
	buf_puts(&b, hex);
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
	path = merge_path_join(out, "meta.json");
	if (buf_failed(&b) || !path)
		ret = -ENOBUFS;
	else
		ret = write_file_atomic(path, buf_str(&b), buf_len(&b));
	if (ret)
		error("merge: cannot write %s/meta.json: %s", out, strerror(-ret));
	free(path);
	buf_free(&b);
	return ret;
}

/* One warning line when the kept sources were built from different commits. */
void merge_warn_commits(const struct merge *m)
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

int merge_prepare_out(struct merge *m)
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
	m->out_real = realpath(out, NULL);
	if (!m->out_real)
		return error("merge: --out %s: %s", out, strerror(errno));
	m->out_exists = true;
	if (sources_is_merged(out)) {
		merge_add_merged(m, out, out, true);
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
