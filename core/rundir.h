/* SPDX-License-Identifier: MIT */
/*
 * Loading a run directory (docs/FORMATS.md) into the model: run_load() is the whole job, for
 * the run directory of one pytest session and for a merged one (`fh-analyze merge`):
 *
 *     MERGED/meta.json            {"schema": "flakehunter-merged/1", "run_id", "sources": [...]}
 *     MERGED/sources/<id>/        one source's run directory as its pytest session wrote it:
 *                                 meta.json, attempts-*.jsonl, trace/ (traces, module maps)
 *
 * Sources are read in the order of their ids (names under sources/), so a merged run is the
 * same whatever order its sources were merged in. Each attempt keeps the index of its source
 * (attempt->source): clocks, pids and module maps are per machine.
 */
#ifndef FH_RUNDIR_H
#define FH_RUNDIR_H

#include <stdbool.h>

#include "model.h"
#include "records.h"

#define FH_MERGED_SCHEMA "flakehunter-merged/1"
#define FH_RUN_SCHEMA "flakehunter-run/1"

/* True when DIR holds a sources/ directory (a merged run). */
bool sources_is_merged(const char *dir);

/* Reads RUN_DIR into run (zeroed first): meta.json and every attempts-*.jsonl, or every source
 * of a merged run directory. 0, or -errno after one error line (the directory cannot be read). */
int run_load(const char *run_dir, struct fh_run *run);
/* Frees everything run_load() allocated (the run's arena) and zeroes run. */
void run_free(struct fh_run *run);

/* Parses every DIR/attempts-*.jsonl (by name) into rec, giving the attempts source index
 * `source`. Returns the number of record files, or -errno when DIR cannot be listed. */
int records_add_dir(struct fh_records *rec, const char *dir, int source);

/* run_load() of a merged run directory: run->run_dir is set, the rest of *run zeroed. Reads
 * every sources/<id>/ (meta.json and records; a source that cannot be read is skipped with a
 * warning), fills run->sources and run->meta (the merged run id; hosts, versions joined;
 * branch and commit when every source agrees). 0, or -errno after one error line. */
int sources_load(struct fh_run *run);

#endif
