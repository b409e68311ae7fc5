/* SPDX-License-Identifier: MIT */
/*
 * `fh-analyze merge RUN_DIR... --out RUN_DIR`: one merged run directory from the run
 * directories of many pytest sessions (CI shards, machines of a matrix), each kept whole as a
 * source under OUT/sources/<id>/ (layout: sources.h, docs/FORMATS.md). `fh-analyze report OUT`
 * then reads them as one run.
 *
 * Identity and idempotence: a source is its run id (meta.json; without one, the directory name
 * when it looks like a run id, else "nometa-" and its content hash) plus a SHA-256 content
 * hash over its files' names and sizes and the bytes of meta.json and the attempt records
 * (trace files by name and size only: they are a by-product of the same session, and reading
 * them all would cost more than the merge itself). Inputs are flattened (a merged directory
 * given as input contributes its sources), OUT's own sources join the set, and the result
 * depends only on that set: the same source twice adds nothing; two different contents under
 * one run id keep the one with more record bytes (then the smaller hash) and report the other
 * as an error. The merged run id is a hash of the set, and OUT/meta.json lists the sources in
 * id order with no time stamp of its own, so any order of the same inputs gives the same
 * bytes.
 *
 * Failure handling: an input that is not a run directory, has an unknown or newer format
 * version, or conflicts as above gets one error line naming it and is skipped; the rest is
 * merged (with `strict`, nothing is written). Damage inside a source (a cut record line, a
 * truncated trace) is a warning: the source is merged as it is, and the report reads what is
 * intact. Files are hard-linked when OUT is on the same filesystem (run directories are never
 * written after their session ends), else copied in 1 MiB pieces; each source is assembled
 * under OUT/sources/.incoming-* and renamed into place, so a crash leaves no half source.
 */
#ifndef FH_MERGE_H
#define FH_MERGE_H

#include <stdbool.h>
#include <stddef.h>

struct merge_opts {
	char **inputs;       /* the RUN_DIR arguments (borrowed) */
	size_t ninputs;
	const char *out;
	bool strict;         /* any source that cannot be merged: write nothing */
};

/* Runs the merge and prints a one-line summary on stdout. Returns the exit status: 0 written
 * (errors about skipped sources may have been printed), 1 nothing written (no usable source,
 * --strict with a bad source, OUT unusable or a write failed). */
int merge_run(const struct merge_opts *o);

#endif
