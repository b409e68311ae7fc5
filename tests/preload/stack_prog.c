/* SPDX-License-Identifier: MIT */
/*
 * Test program for the stack capture and module map modules, built with -g (Makefile rule for
 * tests/preload). It compiles preload/stacks.c and preload/modmap.c (with limits.c and fmt.c)
 * into itself, so it tests them without the preload: `stack_prog DIR [N]` starts the module
 * map in DIR, captures N times (default 1) through main -> outer -> middle -> inner, and prints
 *
 *   line <function> <line>      the source line of each call on the way down
 *   pc <hex>                    the captured return addresses of the last capture, innermost first
 *   fds same|changed            whether the fd table is the same before init and after the captures
 *   stack <status>
 *
 * tests/c/analyzer/test_symbolize.c symbolizes the output with the analyzer and checks it against the
 * printed lines.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FH_STACKS_KEEP_SELF 1
#include "../../preload/stacks.c"
#include "../../preload/modmap.c"
#include "../../preload/limits.c"
#include "../../preload/fmt.c"

const char *fh_pystack_status(void)
{
	return "off: not a Python process";
}

void fh_note_map(unsigned reason)
{
	(void)reason;   /* no process file here */
}

static uint64_t pcs[FH_STACK_MAX];
static int npcs;
static volatile int sink;

static void fd_list(char *out, size_t cap)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	size_t n = 0;

	out[0] = 0;
	if (!d)
		return;
	while ((e = readdir(d)) && n + 16 < cap) {
		if (e->d_name[0] == '.' || strtol(e->d_name, NULL, 10) == dirfd(d))
			continue;
		n += (size_t)snprintf(out + n, cap - n, "%s ", e->d_name);
	}
	closedir(d);
}

__attribute__((noinline)) static int inner(void)
{
	npcs = fh_stack_capture(pcs, FH_STACK_MAX); printf("line inner %d\n", __LINE__);
	return npcs + sink;
}

__attribute__((noinline)) static int middle(void)
{
	int r = inner(); printf("line middle %d\n", __LINE__);
	return r + sink;
}

__attribute__((noinline)) static int outer(void)
{
	int r = middle(); printf("line outer %d\n", __LINE__);
	return r + sink;
}

int main(int argc, char **argv)
{
	char before[4096], after[4096];
	int times = argc > 2 ? (int)strtol(argv[2], NULL, 10) : 1;

	if (argc < 2) {
		fprintf(stderr, "usage: stack_prog DIR [N]\n");
		return 2;
	}
	setvbuf(stdout, NULL, _IOFBF, 1 << 16);
	fd_list(before, sizeof(before));
	if (fh_stack_init() < 0)
		printf("init failed\n");
	if (fh_modmap_start(argv[1]) < 0)
		printf("modmap failed\n");
	for (int i = 0; i < times; i++) {
		int r = outer(); printf("line main %d\n", __LINE__);
		sink += r & 0;
	}
	if (fh_modmap_update() < 0) /* as stackrec.c does before writing a stack */
		printf("modmap failed\n");
	fd_list(after, sizeof(after));
	for (int i = 0; i < npcs; i++)
		printf("pc %llx\n", (unsigned long long)pcs[i]);
	printf("fds %s\n", strcmp(before, after) ? "changed" : "same");
	printf("stack %s\n", fh_stack_status());
	return 0;
}
