/* SPDX-License-Identifier: MIT */
/*
 * Parsing a run directory's files (docs/FORMATS.md) into the model: meta.json and the attempt
 * records of every pytest process. run_load() (rundir.h) reads the files; the functions below
 * parse their contents, so that tests and the fuzz targets can feed buffers directly.
 *
 * Input is hostile: a line that is not a JSON object, lacks "nodeid" or has an unknown
 * "outcome" is skipped with a one-line warning "FILE:LINE: ..." and counted in
 * run->malformed_records. A missing or unreadable meta.json gives defaults (run id from the
 * directory name, runs_per_test from the records). A test's planned attempts and stop reason
 * are its last record's ("runs", "stop"; planned at least the attempts present). Strings are capped (messages at
 * FH_MAX_MESSAGE bytes, frames at the innermost FH_MAX_FRAMES), never trusted for length.
 *
 * Speed: record files are memory-mapped (a file truncated by another process while it is read
 * would fault; run directories are written once, so this is not expected). cJSON nodes come
 * from a per-thread scratch block reset after every line. A buffer over 4 MB is parsed on
 * several threads (FH_THREADS, default: the CPUs online) and merged in order, so the result and
 * the warnings are the same as on one thread.
 */
#ifndef FH_RECORDS_H
#define FH_RECORDS_H

#include <stddef.h>

#include "model.h"

#define FH_MAX_MESSAGE 8192
#define FH_MAX_OUTPUT 16384 /* bytes of each captured stream of a failing attempt */
#define FH_MAX_FRAMES 100
#define FH_MAX_RECORD_FILE (1u << 30) /* bytes per attempts-*.jsonl */

/* Accumulates attempts of one run; run->tests is built by records_finish(). */
struct fh_records;

/* Starts loading into run (which must be zeroed or freshly run_free()d). Caller finishes with
 * records_finish(), which frees the loader. */
struct fh_records *records_begin(struct fh_run *run);
/* Parses one attempts-*.jsonl content (need not be NUL-terminated); name is used in warnings.
 * Returns the number of records accepted. */
int records_add_buffer(struct fh_records *rec, const char *name, const char *data, size_t len);
/* Groups the attempts into run->tests (attempts sorted by number) and frees rec. */
void records_finish(struct fh_records *rec);

/* meta.c: parses meta.json content into run->meta; 0, or -EINVAL (with a warning) when it is not a JSON
 * object (run->meta keeps its defaults then). */
int meta_parse_buffer(struct fh_run *run, const char *name, const char *data, size_t len);
/* Fills *m from DIR/meta.json (strings from run->arena): defaults first (run id from the
 * directory name), then what the file says; a missing file is silent, an unreadable or broken
 * one a warning. */
void meta_load_dir(struct fh_run *run, const char *dir, struct fh_run_meta *m);
/* The run->sources index given to the attempts parsed from now on (0 at first). */
void records_set_source(struct fh_records *rec, int source);

#endif
