/* SPDX-License-Identifier: MIT */
/*
 * What the merge's files share (merge.h is the command's interface): merge.c collects and
 * chooses the sources and runs the command, merge_read.c inspects a candidate source,
 * merge_write.c writes the chosen ones into OUT.
 */
#ifndef FH_MERGE_INT_H
#define FH_MERGE_INT_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>

#include "merge.h"
#include "util.h"

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
	char *out_real;      /* OUT resolved (realpath); owned */
	bool out_exists;
	size_t linked, copied;
};

/* merge.c: small file helpers, a candidate's memory. */
void merge_cand_free(struct cand *c);
int merge_cmp_str(const void *a, const void *b);
char *merge_path_join(const char *a, const char *b);
bool merge_is_dir(const char *path);
bool merge_is_regular(const char *dir, const char *name, uint64_t *size);
bool merge_is_records_name(const char *name);
/* merge_read.c: inspecting inputs; merge_bad() prints one error line for a source that
 * cannot be merged and counts it. */
void merge_bad(struct merge *m, const char *origin, const char *fmt, ...) FH_PRINTF(3, 4);
void merge_add_merged(struct merge *m, const char *dir, const char *origin, bool in_out);
void merge_add_input(struct merge *m, const char *arg_in);
/* merge_write.c: OUT prepared, a source installed, OUT/meta.json; warnings about sources
 * of different commits. */
/* 0, or -errno after one error line naming the source and the path that failed. */
int merge_install_source(struct merge *m, const struct cand *c, const char *sdir);
int merge_write_meta(struct merge *m, const char *out);
void merge_warn_commits(const struct merge *m);
int merge_prepare_out(struct merge *m);

#endif
