/* SPDX-License-Identifier: MIT */
/*
 * The HTML report: the report layer's one entry point. It draws the model (core/model.h) as
 * the stages left it; report/rep.h is the layer's internal interface.
 */
#ifndef FH_REPORT_H
#define FH_REPORT_H

#include "model.h"

/* Writes the self-contained HTML report of run to html_path (atomically). 0, or -errno after one
 * error line. */
int report_write(const struct fh_run *run, const char *html_path);

#endif
