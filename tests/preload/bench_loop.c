/* SPDX-License-Identifier: MIT */
/*
 * Micro-benchmark loop for bench/bench_preload.py: `bench_loop write|poll|poll1 N` makes N
 * calls (write of one byte to /dev/null, poll with no fds and a zero timeout, or poll of one
 * pipe fd with a zero timeout: the set is read at exit) and prints the
 * nanoseconds of this thread's CPU time per call (CPU time, not wall time: the benchmark
 * machines are shared, and preemption would otherwise swamp a difference of tens of ns);
 * `bench_loop KIND N wall` measures wall time instead (for strace, whose cost is the time the
 * tracee spends stopped). Footprint kinds (bench/bench_footprint.py): `getenv` (one name read
 * again and again: recorded once), `getenv64` (64 names in turn: the first read of each
 * recorded), `getenvnew` (a new name every call: every read recorded), `setenv` (one variable
 * set again and again), `create` (open O_CREAT of a new file, close, unlink: three calls),
 * `stat` (stat of an existing file). On stderr: "hwm KB", the process's peak resident set (VmHWM; unlike
 * ru_maxrss it does not carry over the size of the process that forked it).
 */
#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static clockid_t clk = CLOCK_THREAD_CPUTIME_ID;

static long long now(void)
{
	struct timespec ts;
	clock_gettime(clk, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

int main(int argc, char **argv)
{
	if (argc < 3)
		return 2;
	long n = strtol(argv[2], NULL, 10);
	if (argc > 3 && !strcmp(argv[3], "wall"))
		clk = CLOCK_MONOTONIC;   /* under strace the stopped time is the cost */
	int fd = open("/dev/null", O_WRONLY);
	static char names[64][16], path[64];
	char **fresh = NULL;
	volatile long sink = 0;
	struct stat sb;
	for (int i = 0; i < 64; i++)
		snprintf(names[i], sizeof(names[i]), "FH_BENCH_%d", i);
	if (!strcmp(argv[1], "getenvnew")) {
		fresh = malloc(sizeof(*fresh) * (size_t)n);
		for (long i = 0; fresh && i < n; i++) {
			fresh[i] = malloc(32); /* "FH_NEW_" and any long */
			snprintf(fresh[i], 32, "FH_NEW_%ld", i);
		}
		if (!fresh)
			return 1;
	}
	snprintf(path, sizeof(path), "/tmp/fh-bench-create-%d", (int)getpid());
	long long t0 = now();
	if (!strcmp(argv[1], "getenv")) {
		for (long i = 0; i < n; i++)
			sink += getenv("HOME") != NULL;
	} else if (!strcmp(argv[1], "getenv64")) {
		for (long i = 0; i < n; i++)
			sink += getenv(names[i & 63]) != NULL;
	} else if (!strcmp(argv[1], "getenvnew")) {
		for (long i = 0; i < n; i++)
			sink += getenv(fresh[i]) != NULL;
	} else if (!strcmp(argv[1], "setenv")) {
		for (long i = 0; i < n; i++)
			if (setenv("FH_BENCH_SET", "value", 1))
				return 1;
	} else if (!strcmp(argv[1], "create")) {
		for (long i = 0; i < n; i++) {
			int f = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
			if (f < 0)
				return 1;
			close(f);
			unlink(path);
		}
	} else if (!strcmp(argv[1], "stat")) {
		for (long i = 0; i < n; i++)
			if (stat("/dev/null", &sb))
				return 1;
	} else if (!strcmp(argv[1], "write")) {
		for (long i = 0; i < n; i++)
			if (write(fd, "x", 1) != 1)
				return 1;
	} else if (!strcmp(argv[1], "poll1")) {
		int p[2];
		if (pipe(p))
			return 1;
		struct pollfd pf = { p[0], POLLIN, 0 };
		for (long i = 0; i < n; i++)
			if (poll(&pf, 1, 0) != 0)
				return 1;
	} else {
		for (long i = 0; i < n; i++)
			if (poll(NULL, 0, 0) != 0)
				return 1;
	}
	long long t1 = now();
	printf("%.1f\n", (double)(t1 - t0) / (double)n);
	FILE *st = fopen("/proc/self/status", "r");
	char line[256];
	while (st && fgets(line, sizeof(line), st))
		if (!strncmp(line, "VmHWM:", 6))
			fprintf(stderr, "hwm %ld\n", strtol(line + 6, NULL, 10));
	if (st)
		fclose(st);
	return 0;
}
