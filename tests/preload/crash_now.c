/* SPDX-License-Identifier: MIT */
/*
 * A child that dies at once without one traced call (tests/py/test_diagnosis_crash.py): with
 * "segv" it dereferences NULL, otherwise it exits 0. It writes no trace file of its own, so
 * what it was is known only from the exec its parent's vfork child recorded.
 */
#include <string.h>

int main(int argc, char **argv)
{
	if (argc > 1 && !strcmp(argv[1], "segv")) {
		volatile int *p = (volatile int *)0;
		return *p;
	}
	return 0;
}
