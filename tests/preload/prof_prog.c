/* SPDX-License-Identifier: MIT */
/*
 * The CPU profiler seen from the program (tests/py/test_preload_profile.py): run under the
 * preload with FH_PROFILE set, each mode checks that the program cannot tell.
 *
 *   prof_prog eintr SECONDS   two threads alternate CPU work (user and system time) with short
 *                             waits (nanosleep, poll on a pipe, sem_timedwait, read of a pipe
 *                             with a timeout, pthread_cond_timedwait); prints "eintr N" (waits
 *                             cut by a signal) and "rounds N"
 *   prof_prog takeover        prints the dispositions the program sees for the real-time
 *                             signals ("dfl N of M"), burns CPU, installs a handler on every
 *                             real-time signal, burns CPU again, prints "stray N" (handler
 *                             calls nobody asked for), raises each one and prints "raised N"
 *   prof_prog sigwait         blocks every signal, burns CPU (a profiler signal is now
 *                             pending), prints what sigtimedwait on the full set returns
 *                             ("wait -1 EAGAIN": not the profiler's signal)
 *   prof_prog exec            blocks every signal, burns CPU, prints how many real-time
 *                             signals are pending ("pending before exec: 1"), then execs
 *                             `cat /proc/self/status` (the new program must inherit none)
 *   prof_prog itimer MS       the program's own SIGPROF profiler: setitimer(ITIMER_PROF) every
 *                             MS ms, burns 400 ms of CPU, prints "sigprof N"
 *   prof_prog burn MS         burns MS ms of CPU in main (for the cost figures)
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static volatile unsigned long sink;

static long long cpu_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static long long mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void burn_user(long long ns)
{
	long long end = cpu_ns() + ns;
	while (cpu_ns() < end)
		for (int i = 0; i < 20000; i++)
			sink += (unsigned long)i * 2654435761u;
}

/* CPU time spent inside the kernel: reads of /dev/zero. */
static void burn_sys(int fd, long long ns)
{
	static __thread char buf[1 << 16];
	long long end = cpu_ns() + ns;
	while (cpu_ns() < end)
		if (read(fd, buf, sizeof(buf)) < 0)
			break;
}

static volatile int stop;
static int eintr_count;
static long rounds;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;

static void note(int r, int err)
{
	if (r < 0 && err == EINTR)
		__atomic_add_fetch(&eintr_count, 1, __ATOMIC_RELAXED);
}

static void *waiter(void *arg)
{
	int pfd[2], zero = open("/dev/zero", O_RDONLY);
	sem_t sem;
	(void)arg;
	if (pipe(pfd) || zero < 0)
		return NULL;
	sem_init(&sem, 0, 0);
	while (!stop) {
		struct timespec d = { 0, 1000000 }, abs;
		burn_user(1500000);
		burn_sys(zero, 1500000);
		note(nanosleep(&d, NULL), errno);
		burn_sys(zero, 800000);
		struct pollfd p = { pfd[0], POLLIN, 0 };
		note(poll(&p, 1, 1), errno);
		burn_user(800000);
		clock_gettime(CLOCK_REALTIME, &abs);
		abs.tv_nsec += 1000000;
		if (abs.tv_nsec >= 1000000000) {
			abs.tv_sec++;
			abs.tv_nsec -= 1000000000;
		}
		note(sem_timedwait(&sem, &abs), errno);
		burn_sys(zero, 800000);
		pthread_mutex_lock(&mu);
		int r = pthread_cond_timedwait(&cv, &mu, &abs);
		pthread_mutex_unlock(&mu);
		if (r == EINTR)
			__atomic_add_fetch(&eintr_count, 1, __ATOMIC_RELAXED);
		__atomic_add_fetch(&rounds, 1, __ATOMIC_RELAXED);
	}
	close(zero);
	return NULL;
}

static volatile int stray, raised_seen;
static volatile int expect_raise;

static void rt_handler(int sig)
{
	(void)sig;
	if (expect_raise)
		raised_seen++;
	else
		stray++;
}

static int mode_takeover(void)
{
	int dfl = 0, n = 0;
	for (int s = SIGRTMIN; s <= SIGRTMAX; s++) {
		struct sigaction a;
		if (sigaction(s, NULL, &a) == 0 && !(a.sa_flags & SA_SIGINFO) && a.sa_handler == SIG_DFL)
			dfl++;
		n++;
	}
	printf("dfl %d of %d\n", dfl, n);
	burn_user(300000000);
	for (int s = SIGRTMIN; s <= SIGRTMAX; s++) {
		struct sigaction a;
		memset(&a, 0, sizeof(a));
		a.sa_handler = rt_handler;
		sigemptyset(&a.sa_mask);
		if (sigaction(s, &a, NULL) != 0)
			printf("sigaction %d failed: %s\n", s, strerror(errno));
	}
	burn_user(300000000);
	printf("stray %d\n", stray);
	expect_raise = 1;
	for (int s = SIGRTMIN; s <= SIGRTMAX; s++)
		raise(s);
	printf("raised %d of %d\n", raised_seen, n);
	return 0;
}

static int mode_sigwait(void)
{
	sigset_t all;
	siginfo_t si;
	struct timespec zero = { 0, 0 };
	burn_user(100000000);
	sigfillset(&all);
	sigprocmask(SIG_BLOCK, &all, NULL);
	burn_user(200000000);
	int r = sigtimedwait(&all, &si, &zero);
	printf("wait %d %s\n", r, r < 0 ? (errno == EAGAIN ? "EAGAIN" : strerror(errno)) : "signal");
	return 0;
}

static int mode_exec(void)
{
	sigset_t all, pend;
	burn_user(100000000);
	sigfillset(&all);
	sigprocmask(SIG_BLOCK, &all, NULL);
	burn_user(200000000);
	/* what is pending now, before the exec: the profiler's signal */
	sigpending(&pend);
	int n = 0;
	for (int s = SIGRTMIN; s <= SIGRTMAX; s++)
		n += sigismember(&pend, s) == 1;
	printf("pending before exec: %d\n", n);
	fflush(stdout);
	execl("/bin/cat", "cat", "/proc/self/status", (char *)NULL);
	perror("execl");
	return 1;
}

static volatile int sigprof_count;

static void on_prof(int sig)
{
	(void)sig;
	sigprof_count++;
}

static int mode_itimer(int ms)
{
	struct sigaction a;
	struct itimerval it;
	memset(&a, 0, sizeof(a));
	a.sa_handler = on_prof;
	a.sa_flags = SA_RESTART;
	sigaction(SIGPROF, &a, NULL);
	it.it_interval.tv_sec = 0;
	it.it_interval.tv_usec = ms * 1000;
	it.it_value = it.it_interval;
	setitimer(ITIMER_PROF, &it, NULL);
	burn_user(400000000);
	memset(&it, 0, sizeof(it));
	setitimer(ITIMER_PROF, &it, NULL);
	printf("sigprof %d\n", sigprof_count);
	return 0;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc < 2)
		return 2;
	if (!strcmp(argv[1], "eintr")) {
		double secs = argc > 2 ? strtod(argv[2], NULL) : 2.0;
		pthread_t a, b;
		long long end = mono_ns() + (long long)(secs * 1e9);
		pthread_create(&a, NULL, waiter, NULL);
		pthread_create(&b, NULL, waiter, NULL);
		while (mono_ns() < end)
			usleep(20000);
		stop = 1;
		pthread_join(a, NULL);
		pthread_join(b, NULL);
		printf("eintr %d\nrounds %ld\n", eintr_count, rounds);
		return 0;
	}
	if (!strcmp(argv[1], "takeover"))
		return mode_takeover();
	if (!strcmp(argv[1], "sigwait"))
		return mode_sigwait();
	if (!strcmp(argv[1], "exec"))
		return mode_exec();
	if (!strcmp(argv[1], "itimer"))
		return mode_itimer(argc > 2 ? (int)strtol(argv[2], NULL, 10) : 5);
	if (!strcmp(argv[1], "burn")) {
		burn_user((argc > 2 ? strtoll(argv[2], NULL, 10) : 200) * 1000000LL);
		return 0;
	}
	return 2;
}
