/* SPDX-License-Identifier: MIT */
/*
 * Micro-benchmark loop for bench/bench_preload.py: `bench_loop write|poll N` makes N calls
 * (write of one byte to /dev/null, or poll with no fds and a zero timeout) and prints the
 * nanoseconds of this thread's CPU time per call (CPU time, not wall time: the benchmark
 * machines are shared, and preemption would otherwise swamp a difference of tens of ns);
 * `bench_loop KIND N wall` measures wall time instead (for strace, whose cost is the time the
 * tracee spends stopped). On stderr: "hwm KB", the process's peak resident set (VmHWM; unlike
 * ru_maxrss it does not carry over the size of the process that forked it).
 */
#include <fcntl.h>
#include <poll.h>
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
	long long t0 = now();
	if (!strcmp(argv[1], "write")) {
		for (long i = 0; i < n; i++)
			if (write(fd, "x", 1) != 1)
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
