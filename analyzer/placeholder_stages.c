/* SPDX-License-Identifier: MIT */
/*
 * TEMPORARY placeholders for stages still being built, so the tree links while they are. Each
 * owner deletes its function from this file when the real module lands; the file is deleted
 * when empty. Nothing here may ship.
 */
#include "stages.h"

int evidence_attach(struct fh_run *run)
{
	run->meta.tracing = false;
	return 0;
}

void diagnose_run(struct fh_run *run)
{
	(void)run;
}

int ai_run(struct fh_run *run, const struct fh_ai_options *opt)
{
	(void)run; (void)opt;
	return error("AI hypotheses not built yet");
}

int report_write(const struct fh_run *run, const char *html_path)
{
	(void)run; (void)html_path;
	return error("HTML report not built yet");
}
