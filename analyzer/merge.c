/* SPDX-License-Identifier: MIT */
/*
 * merge_run(): `fh-analyze merge` (what it guarantees: merge.h). Three steps: collect the
 * candidate sources (OUT's own, then every input, flattened and inspected), choose one per run
 * id, then write what is new into OUT/sources/ and OUT/meta.json. Only this step writes, so
 * --strict can refuse before anything changes.
 */
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

#include "files.h"
#include "merge_int.h"
#include "model.h"

void merge_cand_free(struct cand *c)
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

int merge_cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

char *merge_path_join(const char *a, const char *b)
{
	struct buf p = BUF_INIT(PATH_MAX);

	buf_printf(&p, "%s/%s", a, b);
	if (buf_failed(&p)) {
		buf_free(&p);
		return NULL;
	}
	return buf_detach(&p);
}

bool merge_is_dir(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

bool merge_is_regular(const char *dir, const char *name, uint64_t *size)
{
	char *p = merge_path_join(dir, name);
	struct stat st;
	bool yes;

	yes = p && lstat(p, &st) == 0 && S_ISREG(st.st_mode);
	if (yes && size)
		*size = (uint64_t)st.st_size;
	free(p);
	return yes;
}

bool merge_is_records_name(const char *name)
{
	size_t n = strlen(name);

	return !strncmp(name, "attempts-", 9) && n > 15 && !strcmp(name + n - 6, ".jsonl");
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
				merge_bad(m, m->c[j].origin, "run id '%s' is also claimed by %s with different "
					  "contents (%" PRIu64 " vs %" PRIu64 " record bytes)", m->c[j].run_id,
					  m->c[i].origin, m->c[j].record_bytes, m->c[i].record_bytes);
		}
	}
}

int merge_run(const struct merge_opts *o)
{
	struct merge m;
	char *sdir = NULL;
	size_t kept = 0, added = 0, tests = 0, attempts = 0;
	bool changed = false;
	int r, status = 0;

	memset(&m, 0, sizeof(m));
	m.o = o;
	if (merge_prepare_out(&m) < 0)
		return 1;
	for (size_t i = 0; i < o->ninputs; i++)
		merge_add_input(&m, o->inputs[i]);
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
	merge_warn_commits(&m);
	sdir = merge_path_join(o->out, "sources");
	r = sdir ? mkdir_p(sdir, 0755) : -ENAMETOOLONG;
	if (r < 0) {
		error("merge: cannot create %s/sources: %s", o->out, strerror(-r));
		status = 1;
		goto out;
	}
	for (size_t i = 0; i < m.n; i++) {
		if (!m.c[i].keep || m.c[i].in_out)
			continue;
		if (merge_install_source(&m, &m.c[i], sdir) < 0) { /* it said why */
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
		char *marker = merge_path_join(o->out, "history-appended");

		if (marker)
			unlink(marker);
		free(marker);
	}
	if (merge_write_meta(&m, o->out) < 0) {
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
		merge_cand_free(&m.c[i]);
	free(m.c);
	free(m.out_real);
	return status;
}
