/* SPDX-License-Identifier: MIT */
/*
 * Stress and fault programs run under the preload by tests/py/test_preload_stress.py:
 *
 *   stress threads N M        N threads, each M write()s to /dev/null
 *   stress forks N            N forked children, each 3 write()s to /dev/null, then exit(7)
 *   stress chain K            exec itself K times (each image writes to /dev/null once)
 *   stress sigstorm K         3 threads block K times each in clock_nanosleep, poll and
 *                             sem_clockwait; each wait is cut by SIGUSR1 (handler calls write)
 *   stress block PIPEFD-DIR   prints "ready" then blocks forever in poll on a pipe
 *   stress closeall FILE      closes every fd, then uses files and a new thread
 *   stress many M             M write()s to /dev/null in the main thread
 *   stress manyblock M        the same, then as `block`
 *   stress limits FSIZE M [FIX]  lowers its own limits while it runs, SIGXFSZ left at its
 *                             default (kill): RLIMIT_FSIZE down to FSIZE: a 30 ms poll (its
 *                             stack needs the module map), dlopen libm, another poll, 4 threads
 *                             x M writes; then
 *                             RLIMIT_NOFILE down to 3 above the fds in use: a 30 ms poll, opens
 *                             until EMFILE, 2 threads x M/10 writes; limits back: a 30 ms poll
 *                             unless FIX is 0; RLIMIT_FSIZE down while main writes 40000 times,
 *                             back for M writes on a new fd. Prints "limits opened K late fd F
 *                             calls N ok": K fds before EMFILE, N wrapped calls it made
 *
 * Output is one summary line per run, compared by the tests with and without the preload.
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int devnull = -1;
static long per_thread;

static void *writer(void *arg)
{
	(void)arg;
	for (long i = 0; i < per_thread; i++)
		if (write(devnull, "x", 1) != 1)
			abort();
	return NULL;
}

static int threads(int n, long m)
{
	pthread_t th[1024];
	if (n > 1024)
		n = 1024;
	per_thread = m;
	for (int i = 0; i < n; i++)
		if (pthread_create(&th[i], NULL, writer, NULL))
			return 1;
	for (int i = 0; i < n; i++)
		pthread_join(th[i], NULL);
	printf("threads %d x %ld ok\n", n, m);
	return 0;
}

static int forks(int n)
{
	int bad = 0;
	for (int i = 0; i < n; i++) {
		pid_t p = fork();
		if (p == 0) {
			for (int k = 0; k < 3; k++)
				if (write(devnull, "c", 1) != 1)
					_exit(1);
			_exit(7);
		}
		if (p < 0)
			return 1;
	}
	for (int i = 0; i < n; i++) {
		int st;
		if (wait(&st) < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 7)
			bad++;
	}
	printf("forks %d bad %d\n", n, bad);
	return bad != 0;
}

static int chain(const char *self, int k)
{
	char num[16];
	if (write(devnull, "e", 1) != 1)
		return 1;
	if (k <= 0) {
		printf("chain done pid %d\n", (int)getpid());
		return 0;
	}
	snprintf(num, sizeof(num), "%d", k - 1);
	execl(self, self, "chain", num, (char *)NULL);
	return 1;
}

/* ---- signal storm ---- */

static volatile sig_atomic_t handled;
static volatile int entering[3], returned[3];
static int storm_k;
static int eintr[3], other[3];
static sem_t sem;

static void on_usr1(int sig)
{
	(void)sig;
	handled++;
	if (write(devnull, "h", 1) != 1)   /* a handler calling a wrapped function */
		abort();
}

static void *waiter(void *arg)
{
	int kind = (int)(long)arg;
	for (int i = 0; i < storm_k; i++) {
		struct timespec ts;
		int r;
		__atomic_add_fetch(&entering[kind], 1, __ATOMIC_SEQ_CST);
		switch (kind) {
		case 0:
			clock_gettime(CLOCK_MONOTONIC, &ts);
			ts.tv_sec += 30;
			r = clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
			if (r == EINTR) eintr[0]++; else other[0]++;
			break;
		case 1: {
			int p[2];
			if (pipe(p))
				abort();
			struct pollfd pf = { p[0], POLLIN, 0 };
			r = poll(&pf, 1, 30000);
			if (r < 0 && errno == EINTR) eintr[1]++; else other[1]++;
			close(p[0]);
			close(p[1]);
			break;
		}
		default:
			clock_gettime(CLOCK_MONOTONIC, &ts);
			ts.tv_sec += 30;
			r = sem_clockwait(&sem, CLOCK_MONOTONIC, &ts);
			if (r < 0 && errno == EINTR) eintr[2]++; else other[2]++;
			break;
		}
		__atomic_add_fetch(&returned[kind], 1, __ATOMIC_SEQ_CST);
	}
	return NULL;
}

static int sigstorm(int k)
{
	pthread_t th[3];
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_usr1;   /* no SA_RESTART: every wait must come back with EINTR */
	sigaction(SIGUSR1, &sa, NULL);
	sem_init(&sem, 0, 0);
	storm_k = k;
	for (long i = 0; i < 3; i++)
		pthread_create(&th[i], NULL, waiter, (void *)i);
	int sent = 0;
	for (int i = 0; i < k; i++)
		for (int t = 0; t < 3; t++) {
			while (__atomic_load_n(&entering[t], __ATOMIC_SEQ_CST) < i + 1)
				usleep(100);
			/* A signal that lands before the thread blocks is handled and the wait goes on:
			 * send again until the wait has come back (a loaded machine can be that slow). */
			do {
				usleep(3000);
				pthread_kill(th[t], SIGUSR1);
				sent++;
				for (int w = 0; w < 50 && __atomic_load_n(&returned[t], __ATOMIC_SEQ_CST) < i + 1; w++)
					usleep(1000);
			} while (__atomic_load_n(&returned[t], __ATOMIC_SEQ_CST) < i + 1);
		}
	for (int t = 0; t < 3; t++)
		pthread_join(th[t], NULL);
	printf("sigstorm all-handled %d eintr %d %d %d other %d %d %d\n", sent == (int)handled,
	       eintr[0], eintr[1], eintr[2], other[0], other[1], other[2]);
	fprintf(stderr, "sent %d\n", sent);
	return 0;
}

static int block(void)
{
	int p[2];
	if (pipe(p))
		return 1;
	struct pollfd pf = { p[0], POLLIN, 0 };
	printf("ready\n");
	fflush(stdout);
	poll(&pf, 1, -1);
	return 0;
}

static void *closeall_thread(void *arg)
{
	const char *path = arg;
	int fd = open(path, O_WRONLY | O_APPEND);
	if (fd < 0 || write(fd, "T", 1) != 1)
		abort();
	close(fd);
	return NULL;
}

static int closeall(const char *path)
{
	for (int fd = 0; fd < 1024; fd++)
		close(fd);
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);   /* gets fd 0 */
	if (fd != 0)
		return 2;
	if (write(fd, "ABC", 3) != 3)
		return 3;
	pthread_t th;
	pthread_create(&th, NULL, closeall_thread, (void *)path);  /* the library maps a new file */
	pthread_join(th, NULL);
	int fd1 = open(path, O_RDONLY);   /* fd 1, now the program's */
	char buf[8] = { 0 };
	if (fd1 != 1 || read(fd1, buf, sizeof(buf)) != 4 || memcmp(buf, "ABCT", 4))
		return 4;
	return 0;
}

static int many(long m, bool then_block)
{
	for (long i = 0; i < m; i++)
		if (write(devnull, "m", 1) != 1)
			return 1;
	printf("many %ld ok\n", m);
	return then_block ? block() : 0;
}

static long limit_calls;      /* wrapped calls made by `limits` (write, open, poll, pthread_*,
			       * setrlimit) */

static int set_limit(int res, const struct rlimit *l)
{
	limit_calls++;
	return setrlimit(res, l);
}

static void *limits_writer(void *arg)
{
	long n = (long)arg;
	for (long i = 0; i < n; i++)
		if (write(devnull, "l", 1) != 1)
			abort();
	return NULL;
}

static int writes(int fd, long n)
{
	for (long i = 0; i < n; i++, limit_calls++)
		if (write(fd, "w", 1) != 1)
			return 1;
	return 0;
}

static void threads_write(int n, long each)
{
	pthread_t th[8];
	for (int i = 0; i < n; i++) {
		pthread_create(&th[i], NULL, limits_writer, (void *)each);
		limit_calls += 1 + each;
	}
	for (int i = 0; i < n; i++, limit_calls++)
		pthread_join(th[i], NULL);
}

static void slow_call(void)
{
	poll(NULL, 0, 30);      /* a blocking call that long gets its stack: the module map */
	limit_calls++;
}

/* The phases are sized so that the main thread has room left in its current chunk until E
 * (its chunks hold 255, 511, ... 16383 records): A leaves it near record 20000 of the 32505 its
 * first seven chunks hold. */
static int limits(long fsize, long m, int fix)
{
	struct rlimit fs, nf;
	int fds[64], k = 0;

	if (writes(devnull, 20000) || getrlimit(RLIMIT_FSIZE, &fs) || getrlimit(RLIMIT_NOFILE, &nf))
		return 1;
	/* B: the file limit below the trace's size */
	struct rlimit low = { (rlim_t)fsize, fs.rlim_max };
	if (set_limit(RLIMIT_FSIZE, &low))
		return 1;
	slow_call();
	/* a module loaded meanwhile: the next stack's map update has something to add */
	if (!dlopen("libm.so.6", RTLD_NOW))
		return 4;
	slow_call();
	threads_write(4, m);
	if (writes(devnull, 1000) || set_limit(RLIMIT_FSIZE, &fs))
		return 1;
	/* C: the fd limit 3 above the fds in use (0-2 and devnull, 3) */
	struct rlimit nlow = { (rlim_t)devnull + 4, nf.rlim_max };
	if (set_limit(RLIMIT_NOFILE, &nlow))
		return 1;
	slow_call();
	for (;;) {
		int fd = open("/dev/null", O_RDONLY);
		limit_calls++;
		if (fd < 0) {
			if (errno != EMFILE)
				return 3;
			break;
		}
		if (k < 64)
			fds[k++] = fd;
	}
	for (int i = 0; i < k; i++)
		close(fds[i]);
	threads_write(2, m / 10);
	if (set_limit(RLIMIT_NOFILE, &nf))
		return 1;
	/* D: limits back */
	if (fix)
		slow_call();
	/* E: the main thread fills its chunk under the file limit, then goes on without it */
	if (set_limit(RLIMIT_FSIZE, &low) || writes(devnull, 40000) || set_limit(RLIMIT_FSIZE, &fs))
		return 1;
	int late = open("/dev/null", O_WRONLY | O_CLOEXEC);
	limit_calls++;
	if (writes(late, m))
		return 1;
	/* + 1: the open of /dev/null in main */
	printf("limits opened %d late fd %d calls %ld ok\n", k, late, limit_calls + 1);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 2)
		return 2;
	devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
	setvbuf(stdout, NULL, _IOLBF, 0);
	const char *cmd = argv[1];
	long a = argc > 2 ? strtol(argv[2], NULL, 10) : 0;
	long b = argc > 3 ? strtol(argv[3], NULL, 10) : 0;
	if (!strcmp(cmd, "threads"))
		return threads((int)a, b);
	if (!strcmp(cmd, "forks"))
		return forks((int)a);
	if (!strcmp(cmd, "chain"))
		return chain(argv[0], (int)a);
	if (!strcmp(cmd, "sigstorm"))
		return sigstorm((int)a);
	if (!strcmp(cmd, "block"))
		return block();
	if (!strcmp(cmd, "closeall") && argc > 2)
		return closeall(argv[2]);
	if (!strcmp(cmd, "many"))
		return many(a, false);
	if (!strcmp(cmd, "manyblock"))
		return many(a, true);
	if (!strcmp(cmd, "limits"))
		return limits(a, b, argc > 4 ? (int)strtol(argv[4], NULL, 10) : 1);
	return 2;
}
