/* SPDX-License-Identifier: MIT */
/*
 * Model helpers of the analyzer's unit tests. Header-only (static functions).
 */
#ifndef FH_TEST_MODEL_H
#define FH_TEST_MODEL_H

#include <string.h>

#include "model.h"

/* The test of run named nodeid; NULL when there is none. */
static inline const struct fh_test *fh_find_test(const struct fh_run *run, const char *nodeid)
{
	for (size_t i = 0; i < run->ntests; i++)
		if (!strcmp(run->tests[i].nodeid, nodeid))
			return &run->tests[i];
	return NULL;
}

#endif
