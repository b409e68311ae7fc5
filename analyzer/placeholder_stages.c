/* SPDX-License-Identifier: MIT */
/*
 * TEMPORARY placeholders for stages still being built, so the tree links while they are. Each
 * owner deletes its function from this file when the real module lands; the file is deleted
 * when empty. Nothing here may ship.
 */
#include <errno.h>

#include "stages.h"
#include "trace.h"

int evidence_attach(struct fh_run *run)
{
	run->meta.tracing = false;
	return 0;
}

void diagnose_run(struct fh_run *run)
{
	(void)run;
}

int trace_load(const char *path, struct fh_trace_file *out)
{
	(void)path; (void)out;
	return -ENOSYS;
}

void trace_free(struct fh_trace_file *tf)
{
	(void)tf;
}

int trace_list(const char *trace_dir, char ***paths, size_t *n)
{
	(void)trace_dir;
	*paths = NULL;
	*n = 0;
	return 0;
}

int trace_dump(const char *path, FILE *out)
{
	(void)path; (void)out;
	return -ENOSYS;
}
