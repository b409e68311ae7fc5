/* SPDX-License-Identifier: MIT */
/*
 * The one runner of the C unit tests: runs a Check suite (each case forks, with the timeout of
 * CK_DEFAULT_TIMEOUT) and gives main()'s exit status. Tests whose hostile-input cases provoke
 * warnings on purpose set fh_quiet first.
 */
#ifndef FH_CHECK_H
#define FH_CHECK_H

#include <check.h>
#include <stdlib.h>

static inline int fh_check_run(Suite *s)
{
	SRunner *sr = srunner_create(s);
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

#endif
