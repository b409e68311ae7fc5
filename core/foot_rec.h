/* SPDX-License-Identifier: MIT */
/*
 * The model side of an attempt's footprint (model.h, struct fh_footprint): how an entry is
 * added (the first source to name a key wins; reads are bounded) and the attempt record's
 * "footprint" (what the plugin saw from Python), read when the records are loaded. The trace
 * side, which adds the calls' net effects, is the footprint stage (analyzer/footprint.h).
 */
#ifndef FH_FOOT_REC_H
#define FH_FOOT_REC_H

#include <cjson/cJSON.h>

#include "model.h"

#define FH_FOOT_MAX_READS 512   /* reads kept per attempt */
#define FH_FOOT_MAX_LEFT 256    /* left entries (and paths followed) per attempt */
/* pytest sets it around every test: a change of it is no footprint */
#define FH_FOOT_IGNORED_VAR "PYTEST_CURRENT_TEST"

/* The plugin's footprint of one record (a JSON object, or null/absent): NULL when absent. */
struct fh_footprint *footprint_from_record(struct arena *A, const cJSON *fp);

/* Adds what the attempt left (kept unless the key of that kind is there already; strings
 * copied into A). */
void foot_add_left(struct arena *A, struct fh_footprint *f, enum fh_key_kind kind,
		   const char *key, const char *what, const char *value);
/* Adds a read; *cap is the room of f->reads (start from foot_reads_cap(f)). */
void foot_add_read(struct arena *A, struct fh_footprint *f, size_t *cap, enum fh_key_kind kind,
		   const char *key, const char *how, int found);
size_t foot_reads_cap(const struct fh_footprint *f);
/* s copied into A, cut at max bytes; NULL stays NULL. */
const char *foot_cut(struct arena *A, const char *s, size_t max);

#endif
