/* SPDX-License-Identifier: MIT */
/*
 * The one main() of the C unit tests: runs a Check suite (each case forks, with the timeout of
 * CK_DEFAULT_TIMEOUT) and gives the exit status. quiet silences the analyzer's warnings, which
 * the hostile-input cases provoke on purpose.
 */
#ifndef FH_CHECK_H
#define FH_CHECK_H

#include <check.h>
#include <stdbool.h>
#include <stdlib.h>

#include "util.h"

static inline int fh_check_run(Suite *s, bool quiet)
{
	SRunner *sr = srunner_create(s);
	int failed;

	if (quiet)
		fh_quiet = 1;
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

#endif
