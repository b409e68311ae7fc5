/* SPDX-License-Identifier: MIT */
/*
 * fh-analyze: the command-line entry point. Subcommands:
 *   report RUN_DIR   analyse a run directory, write the JSON summary and the HTML report
 *   dump FILE...     print trace files one event per line
 * Only this file (and subcommand entry points) exit.
 */
#include <stdio.h>
#include <string.h>

#include "model.h"

static void usage(FILE *f)
{
	fprintf(f, "usage: fh-analyze <command> [options]\n"
		   "       fh-analyze --help | --version\n");
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		usage(stdout);
		return 0;
	}
	if (!strcmp(argv[1], "--version")) {
		printf("fh-analyze %s\n", FH_VERSION);
		return 0;
	}
	usage(stderr);
	return 2;
}
