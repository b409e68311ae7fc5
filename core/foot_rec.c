/* SPDX-License-Identifier: MIT */
/*
 * The footprint's entries and the attempt record's "footprint" (foot_rec.h): the part of the
 * footprint the record loader needs, below the stage that adds the trace's calls.
 */
#include <string.h>

#include "foot_rec.h"
#include "jsonval.h"

/* ---- building ---- */

void foot_add_left(struct arena *A, struct fh_footprint *f, enum fh_key_kind kind,
		   const char *key, const char *what, const char *value)
{
	struct fh_foot_left *n;

	if (!key || f->nleft >= FH_FOOT_MAX_LEFT)
		return;
	for (size_t i = 0; i < f->nleft; i++)
		if (f->left[i].kind == kind && !strcmp(f->left[i].key, key))
			return;   /* the first source (the plugin's) wins */
	n = arena_alloc(A, sizeof(*n) * (f->nleft + 1));
	if (f->nleft)
		memcpy(n, f->left, sizeof(*n) * f->nleft);
	n[f->nleft] = (struct fh_foot_left){ kind, arena_strdup(A, key), what,
		value ? arena_strdup(A, value) : NULL };
	f->left = n;
	f->nleft++;
}

/* Reads go into a growing array in the arena: chunks double, old ones stay (arena). */
static bool has_read(const struct fh_footprint *f, enum fh_key_kind kind, const char *key)
{
	for (size_t i = 0; i < f->nreads; i++)
		if (f->reads[i].kind == kind && !strcmp(f->reads[i].key, key))
			return true;
	return false;
}

void foot_add_read(struct arena *A, struct fh_footprint *f, size_t *cap, enum fh_key_kind kind,
		   const char *key, const char *how, int found)
{
	if (!key || has_read(f, kind, key))
		return;
	if (f->nreads >= FH_FOOT_MAX_READS) {
		f->reads_dropped++;
		return;
	}
	if (f->nreads >= *cap) {
		size_t nc = *cap ? 2 * *cap : 16;
		struct fh_foot_read *n = arena_alloc(A, sizeof(*n) * nc);
		if (f->nreads)
			memcpy(n, f->reads, sizeof(*n) * f->nreads);
		f->reads = n;
		*cap = nc;
	}
	f->reads[f->nreads++] = (struct fh_foot_read){ kind, arena_strdup(A, key), how, found };
}

size_t foot_reads_cap(const struct fh_footprint *f)
{
	return f->nreads;   /* a fresh chunk is allocated on the next add */
}

/* ---- the plugin's footprint ---- */

const char *foot_cut(struct arena *A, const char *s, size_t max)
{
	if (!s)
		return NULL;
	return strlen(s) > max ? arena_strndup(A, s, max) : arena_strdup(A, s);
}

struct fh_footprint *footprint_from_record(struct arena *A, const cJSON *fp)
{
	struct fh_footprint *f;
	const cJSON *v, *it;
	size_t cap = 0;
	int n;

	if (!fp)
		return NULL;
	f = arena_alloc(A, sizeof(*f));
	f->python = true;
	if (!cJSON_IsObject(fp))
		return f;   /* null: the plugin saw nothing */
	v = json_get(fp, "env_set");
	n = 0;
	v = cJSON_IsObject(v) ? v : NULL;
	cJSON_ArrayForEach(it, v) {
		if (n++ >= 64 || !it->string || !strcmp(it->string, FH_FOOT_IGNORED_VAR))
			continue;
		foot_add_left(A, f, FH_KEY_ENV, foot_cut(A, it->string, 256), "set",
			 cJSON_IsString(it) ? foot_cut(A, it->valuestring, 256) : NULL);
	}
	v = json_get(fp, "env_unset");
	n = 0;
	v = cJSON_IsArray(v) ? v : NULL;
	cJSON_ArrayForEach(it, v)
		if (n++ < 64 && cJSON_IsString(it) && strcmp(it->valuestring, FH_FOOT_IGNORED_VAR))
			foot_add_left(A, f, FH_KEY_ENV, foot_cut(A, it->valuestring, 256), "unset", NULL);
	if (json_get_str(fp, "cwd"))
		foot_add_left(A, f, FH_KEY_CWD, "cwd", "changed", foot_cut(A, json_get_str(fp, "cwd"), 1024));
	v = json_get(fp, "threads");
	if (cJSON_IsArray(v) && cJSON_GetArraySize(v) > 0) {
		struct buf b = BUF_INIT(1024);
		n = 0;
		cJSON_ArrayForEach(it, v)
			if (cJSON_IsString(it) && n++ < 8)
				buf_printf(&b, "%s%s", n > 1 ? ", " : "", it->valuestring);
		foot_add_left(A, f, FH_KEY_THREAD, "threads", "left running", buf_str(&b));
		buf_free(&b);
	}
	v = json_get(fp, "modules");
	n = 0;
	v = cJSON_IsArray(v) ? v : NULL;
	cJSON_ArrayForEach(it, v)
		if (n++ < 16 && cJSON_IsString(it))
			foot_add_left(A, f, FH_KEY_MODULE, foot_cut(A, it->valuestring, 256), "imported", NULL);
	v = json_get(fp, "env_read");
	n = 0;
	v = cJSON_IsArray(v) ? v : NULL;
	cJSON_ArrayForEach(it, v)
		if (n++ < 64 && cJSON_IsString(it) && strcmp(it->valuestring, FH_FOOT_IGNORED_VAR))
			foot_add_read(A, f, &cap, FH_KEY_ENV, foot_cut(A, it->valuestring, 256), "os.environ", -1);
	return f;
}
