/* SPDX-License-Identifier: MIT */
/*
 * Hang analysis (hang.c): the hang snapshots of hung attempts joined with what the trace says
 * (their words for the diagnosis, the terminal and the report: core/hangtext.h).
 */
#ifndef FH_HANG_H
#define FH_HANG_H

#include "hangtext.h"
#include "model.h"

/* attempt->trace->hang for every hung or interrupted traced attempt (model.h); 0 or -errno. */
int hang_attach(struct fh_run *run);

#endif
