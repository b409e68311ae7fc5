/* SPDX-License-Identifier: MIT */
/*
 * The JSON summary rendered into a buffer (summary_write() in stages.h writes it to a file):
 * used by tests and benchmarks that want the text without a file.
 */
#ifndef FH_SUMMARY_H
#define FH_SUMMARY_H

#include "model.h"

/* Appends the whole summary to b; 0, or -ENOBUFS when b's cap was hit. */
int summary_render(const struct fh_run *run, struct buf *b);

#endif
