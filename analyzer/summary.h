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

/* Appends v as a plain decimal with up to 6 fractional digits (trailing zeros trimmed); null
 * when not finite. Much cheaper than printf("%g"); shared with the history CSV. */
void buf_num6(struct buf *b, double v);

#endif
