/* SPDX-License-Identifier: MIT */
/*
 * Runs made of several sources in the pipeline: the evidence join source by source, and what a
 * merged run adds to every test (attempt numbers across sources, per-host counts). Reading a
 * merged run directory (written by `fh-analyze merge`, merge.h) into the model is the core's
 * (rundir.h).
 *
 * A merged run directory (docs/FORMATS.md "Merged run directories"):
 *
 *     MERGED/meta.json            {"schema": "flakehunter-merged/1", "run_id", "sources": [...]}
 *     MERGED/sources/<id>/        one source's run directory as its pytest session wrote it:
 *                                 meta.json, attempts-*.jsonl, trace/ (traces, module maps)
 *
 * Sources are read in the order of their ids (names under sources/), so a merged run is the
 * same whatever order its sources were merged in. Monotonic clocks are per machine: the join of
 * attempt intervals with trace events runs once per source, over that source's attempts and
 * trace/ only, and module maps are looked up in that source's trace/ (symbolize.c keys them by
 * directory), so two sources' pid 1234 never meet.
 */
#ifndef FH_SOURCES_H
#define FH_SOURCES_H

#include <stdbool.h>

#include "model.h"

/* quarantine_load() (quarantine.h) for the run: a merged run takes the quarantine.json of its
 * first source (by id) that has one; 0 or -1 as quarantine_load(). */
int sources_quarantine(struct fh_run *run);

/* The evidence stage (replaces evidence_attach() in the pipeline): an unmerged run is joined
 * as before; a merged one source by source, each over its own trace/ with only its attempts.
 * run->meta.tracing ends true when any source had trace files. */
int sources_evidence(struct fh_run *run);

/* After the evidence: a merged run's attempts are numbered 1..n per test in (source, recorded
 * number) order (attempt->source_attempt keeps the recorded one); every test gets its per-host
 * counts (test->hosts). */
void sources_finish(struct fh_run *run);

#endif
