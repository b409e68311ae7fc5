/* SPDX-License-Identifier: MIT */
/*
 * Makes every call of preload/calls.def once (some twice, success and failure) and prints, for
 * each, the record the preload must have written, one line per expectation on stdout:
 *
 *   EXPECT name|result|errno-name|target-substring|min-duration-us
 *   SIGNAL signame|interrupted-call
 *
 * ("*" matches anything, "-" means none; an empty target means "not checked").
 * tests/py/test_preload_calls.py runs it under the preload and checks each line against
 * `fh-analyze dump`. Usage: calls_all SCRATCH_DIR
 */
#include <arpa/inet.h>
#include <dlfcn.h>
#include <errno.h>
#include <locale.h>
#include <sys/stat.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/file.h>
#include <sys/pidfd.h>
#include <sys/resource.h>
#include <sys/select.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/timerfd.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;
int __open_2(const char *, int);
int __open64_2(const char *, int);
int __openat_2(int, const char *, int);
int __openat64_2(int, const char *, int);
ssize_t __read_chk(int, void *, size_t, size_t);
ssize_t __pread64_chk(int, void *, size_t, off_t, size_t);
ssize_t __recv_chk(int, void *, size_t, size_t, int);
ssize_t __recvfrom_chk(int, void *, size_t, size_t, int, struct sockaddr *, socklen_t *);
int __poll_chk(struct pollfd *, nfds_t, int, size_t);
int __ppoll_chk(struct pollfd *, nfds_t, const struct timespec *, const sigset_t *, size_t);

static void expect(const char *name, const char *result, const char *err, const char *target,
		   int min_us)
{
	printf("EXPECT %s|%s|%s|%s|%d\n", name, result, err, target ? target : "", min_us);
}

static void expect_l(const char *name, long result, const char *err, const char *target, int min_us)
{
	char r[32];
	snprintf(r, sizeof(r), "%ld", result);
	expect(name, r, err, target, min_us);
}

static const char *ename(int e)
{
	const char *n = strerrorname_np(e);
	return n ? n : "?";
}

static volatile int got;
static void on_sig(int sig)
{
	(void)sig;
	got++;
}

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int flag;

static void *signaller(void *arg)
{
	(void)arg;
	usleep(2000);
	pthread_mutex_lock(&mu);
	flag = 1;
	pthread_cond_signal(&cv);
	pthread_mutex_unlock(&mu);
	return NULL;
}

static void *nothing(void *arg)
{
	return arg;
}

static int clone_child(void *arg)
{
	(void)arg;
	return 7;   /* no wrapped call here: a raw clone child shares the parent's trace state */
}

static void abs_in(clockid_t clk, struct timespec *ts, long ns)
{
	clock_gettime(clk, ts);
	ts->tv_nsec += ns;
	while (ts->tv_nsec >= 1000000000) {
		ts->tv_nsec -= 1000000000;
		ts->tv_sec++;
	}
}

static void net(void)
{
	char buf[64], tgt[64];
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t al = sizeof(a);

	int c = socket(AF_INET, SOCK_STREAM, 0);
	expect_l("socket", c, "-", NULL, 0);
	a.sin_port = htons(1);
	int r = connect(c, (struct sockaddr *)&a, sizeof(a));
	expect_l("connect", r, ename(errno), "127.0.0.1:1", 0);
	close(c);

	int l = socket(AF_INET, SOCK_STREAM, 0);
	expect_l("socket", l, "-", NULL, 0);
	a.sin_port = 0;
	bind(l, (struct sockaddr *)&a, sizeof(a));
	listen(l, 8);
	getsockname(l, (struct sockaddr *)&a, &al);
	snprintf(tgt, sizeof(tgt), "127.0.0.1:%d", ntohs(a.sin_port));
	c = socket(AF_INET, SOCK_STREAM, 0);
	expect_l("socket", c, "-", NULL, 0);
	r = connect(c, (struct sockaddr *)&a, sizeof(a));
	expect_l("connect", r, "-", tgt, 0);
	struct sockaddr_in p;
	socklen_t pl = sizeof(p);
	int s = accept(l, (struct sockaddr *)&p, &pl);
	expect_l("accept", s, "-", "127.0.0.1:", 0);
	int c2 = socket(AF_INET, SOCK_STREAM, 0);
	connect(c2, (struct sockaddr *)&a, sizeof(a));
	expect("socket", "*", "-", NULL, 0);
	expect("connect", "0", "-", tgt, 0);
	pl = sizeof(p);
	int s2 = accept4(l, (struct sockaddr *)&p, &pl, SOCK_CLOEXEC);
	expect_l("accept4", s2, "-", "127.0.0.1:", 0);
	fcntl(l, F_SETFL, O_NONBLOCK);
	r = accept(l, NULL, NULL);
	expect_l("accept", r, ename(errno), NULL, 0);

	expect_l("send", send(c, "hello", 5, 0), "-", NULL, 0);
	expect_l("recv", recv(s, buf, 5, 0), "-", NULL, 0);
	expect_l("sendto", sendto(c, "hello", 5, 0, NULL, 0), "-", NULL, 0);
	expect_l("recvfrom", recvfrom(s, buf, 5, 0, NULL, NULL), "-", NULL, 0);
	struct iovec iov = { buf, 5 };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1 };
	expect_l("sendmsg", sendmsg(c, &m, 0), "-", NULL, 0);
	expect_l("recvmsg", recvmsg(s, &m, 0), "-", NULL, 0);
	send(c, "helloworld", 10, 0);
	expect("send", "10", "-", NULL, 0);
	expect_l("__recv_chk", __recv_chk(s, buf, 5, sizeof(buf), 0), "-", NULL, 0);
	expect_l("__recvfrom_chk", __recvfrom_chk(s, buf, 5, sizeof(buf), 0, NULL, NULL), "-", NULL, 0);
	r = recv(s, buf, 5, MSG_DONTWAIT);
	expect_l("recv", r, ename(errno), NULL, 0);
	/* A slow call (over FH_SLOW_US, 1 ms by default) gets its fd's target resolved at exit. */
	struct timeval rt = { 0, 3000 };
	setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &rt, sizeof(rt));
	r = recv(s, buf, 5, 0);
	expect_l("recv", r, ename(errno), "127.0.0.1:", 2000);
	struct mmsghdr mm = { .msg_hdr = { .msg_iov = &iov, .msg_iovlen = 1 } };
	iov.iov_len = 3;
	expect_l("sendmmsg", sendmmsg(c, &mm, 1, 0), "-", NULL, 0);
	struct timespec mts = { 1, 0 };
	expect_l("recvmmsg", recvmmsg(s, &mm, 1, 0, &mts), "-", NULL, 0);
	int e = -1;
	socklen_t el = sizeof(e);
	expect_l("getsockopt", getsockopt(c, SOL_SOCKET, SO_ERROR, &e, &el), "-", NULL, 0);
	expect_l("shutdown", shutdown(c, SHUT_WR), "-", NULL, 0);
	int sv[2];
	expect_l("socketpair", socketpair(AF_UNIX, SOCK_STREAM, 0, sv), "-", "socketpair:[", 0);
	/* A read on a socketpair end is categorised as a socket read (fd kind). */
	write(sv[0], "x", 1);
	expect("write", "1", "-", NULL, 0);
	close(sv[0]); close(sv[1]);
	close(c); close(c2); close(s); close(s2); close(l);

	/* Non-blocking connect refused, reported through SO_ERROR. */
	c = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	expect("socket", "*", "-", NULL, 0);
	a.sin_port = htons(1);
	r = connect(c, (struct sockaddr *)&a, sizeof(a));
	expect_l("connect", r, r ? ename(errno) : "-", "127.0.0.1:1", 0);
	struct pollfd pf = { c, POLLOUT, 0 };
	expect_l("poll", poll(&pf, 1, 1000), "-", NULL, 0);
	el = sizeof(e);
	getsockopt(c, SOL_SOCKET, SO_ERROR, &e, &el);
	expect("getsockopt", "0", ename(e), "127.0.0.1:1", 0);
	close(c);
}

static void dns(void)
{
	struct addrinfo hints = { .ai_flags = AI_NUMERICHOST | AI_NUMERICSERV, .ai_family = AF_INET };
	struct addrinfo *res = NULL;
	int r = getaddrinfo("127.0.0.1", "80", &hints, &res);
	expect_l("getaddrinfo", r, "-", "127.0.0.1:80", 0);
	if (!r)
		freeaddrinfo(res);
	r = getaddrinfo("not a number", "80", &hints, &res);
	expect_l("getaddrinfo", r, "EAI_NONAME", "not a number:80", 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(80),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	char h[64], s[16];
	r = getnameinfo((struct sockaddr *)&a, sizeof(a), h, sizeof(h), s, sizeof(s),
			NI_NUMERICHOST | NI_NUMERICSERV);
	expect_l("getnameinfo", r, "-", "127.0.0.1:80", 0);
	struct hostent he, *hp;
	char buf[4096];
	int herr;
	r = gethostbyname_r("localhost", &he, buf, sizeof(buf), &hp, &herr);
	expect_l("gethostbyname_r", r, hp ? "-" : "*", "localhost", 0);
	struct in_addr lo = { htonl(INADDR_LOOPBACK) };
	r = gethostbyaddr_r(&lo, sizeof(lo), AF_INET, &he, buf, sizeof(buf), &hp, &herr);
	expect_l("gethostbyaddr_r", r, "*", "127.0.0.1", 0);
}

static void sleeps(void)
{
	struct timespec ts = { 0, 1000000 };
	expect_l("nanosleep", nanosleep(&ts, NULL), "-", NULL, 1000);
	expect_l("clock_nanosleep", clock_nanosleep(CLOCK_MONOTONIC, 0, &ts, NULL), "-", NULL, 1000);
	abs_in(CLOCK_MONOTONIC, &ts, 2000000);
	expect_l("clock_nanosleep", clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL), "-",
		 NULL, 1000);
	ts.tv_nsec = -1;
	int r = clock_nanosleep(CLOCK_MONOTONIC, 0, &ts, NULL);
	expect_l("clock_nanosleep", r, ename(r), NULL, 0);   /* returns the error number */
	expect_l("sleep", sleep(0), "-", NULL, 0);
	expect_l("usleep", usleep(1000), "-", NULL, 1000);
}

static sem_t taken;
static pid_t taker_tid;

static void *taker(void *arg)
{
	(void)arg;
	taker_tid = gettid();
	sem_trywait(&taken);
	return NULL;
}

static void locks(const char *dir)
{
	sem_t s;
	struct timespec ts;
	pthread_t th;
	char path[512];

	sem_init(&s, 0, 1);
	expect_l("sem_wait", sem_wait(&s), "-", NULL, 0);
	abs_in(CLOCK_REALTIME, &ts, 1000000);
	int r = sem_timedwait(&s, &ts);
	expect_l("sem_timedwait", r, ename(errno), NULL, 500);
	abs_in(CLOCK_MONOTONIC, &ts, 1000000);
	r = sem_clockwait(&s, CLOCK_MONOTONIC, &ts);
	expect_l("sem_clockwait", r, ename(errno), NULL, 500);
	/* destroyed while held, and a new semaphore at the same address: the lock table forgot the
	 * old one's holder, so this wait names none (test_preload_calls.py checks) */
	sem_destroy(&s);
	sem_init(&s, 0, 0);
	abs_in(CLOCK_REALTIME, &ts, 1000000);
	r = sem_timedwait(&s, &ts);
	expect_l("sem_timedwait", r, ename(errno), NULL, 500);
	sem_destroy(&s);
	/* a semaphore another thread took (sem_trywait): a wait names it as the holder; released
	 * here: the record of a wake (FHF_WAKE) */
	sem_init(&taken, 0, 1);
	pthread_create(&th, NULL, taker, NULL);
	pthread_join(th, NULL);
	snprintf(path, sizeof(path), "holder=%d", (int)taker_tid);
	abs_in(CLOCK_REALTIME, &ts, 1000000);
	r = sem_timedwait(&taken, &ts);
	expect_l("sem_timedwait", r, ename(errno), path, 500);
	expect_l("sem_post", sem_post(&taken), "-", NULL, 0);
	sem_destroy(&taken);

	pthread_mutex_lock(&mu);
	expect_l("pthread_create", pthread_create(&th, NULL, signaller, NULL), "-", NULL, 0);
	while (!flag)
		r = pthread_cond_wait(&cv, &mu);
	expect_l("pthread_cond_wait", r, "-", NULL, 0);
	abs_in(CLOCK_REALTIME, &ts, 1000000);
	r = pthread_cond_timedwait(&cv, &mu, &ts);
	expect_l("pthread_cond_timedwait", r, ename(r), NULL, 500);
	abs_in(CLOCK_MONOTONIC, &ts, 1000000);
	r = pthread_cond_clockwait(&cv, &mu, CLOCK_MONOTONIC, &ts);
	expect_l("pthread_cond_clockwait", r, ename(r), NULL, 500);
	pthread_mutex_unlock(&mu);
	expect_l("pthread_join", pthread_join(th, NULL), "-", NULL, 0);
	pthread_create(&th, NULL, nothing, NULL);
	abs_in(CLOCK_REALTIME, &ts, 1000000000);
	expect_l("pthread_timedjoin_np", pthread_timedjoin_np(th, NULL, &ts), "-", NULL, 0);
	pthread_create(&th, NULL, nothing, NULL);
	abs_in(CLOCK_MONOTONIC, &ts, 1000000000);
	expect_l("pthread_clockjoin_np", pthread_clockjoin_np(th, NULL, CLOCK_MONOTONIC, &ts), "-", NULL, 0);
	abs_in(CLOCK_REALTIME, &ts, 1000000);
	expect_l("pthread_mutex_timedlock", pthread_mutex_timedlock(&mu, &ts), "-", NULL, 0);
	pthread_mutex_unlock(&mu);

	/* Thread creation at a limit returns EAGAIN: a child whose address space cannot hold
	 * another thread stack (RLIMIT_AS binds root, RLIMIT_NPROC does not). Its first traced
	 * call maps its trace file before the limit is set. */
	pid_t pid = fork();
	if (pid == 0) {
		long pages = 0;
		FILE *f = fopen("/proc/self/statm", "r");
		usleep(1);
		if (!f || fscanf(f, "%ld", &pages) != 1)
			_exit(2);
		fclose(f);
		struct rlimit rl = { (rlim_t)pages * 4096 + (2 << 20), RLIM_INFINITY };
		if (setrlimit(RLIMIT_AS, &rl))
			_exit(3);
		pthread_attr_t at;   /* bigger than the stacks glibc cached for the threads above */
		pthread_attr_init(&at);
		pthread_attr_setstacksize(&at, 16 << 20);
		_exit(pthread_create(&th, &at, nothing, NULL) == EAGAIN ? 0 : 1);
	}
	int st = -1;
	waitpid(pid, &st, 0);
	expect("fork", "*", "-", NULL, 0);
	expect("waitpid", "*", "-", NULL, 0);
	if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
		expect_l("pthread_create", EAGAIN, "EAGAIN", NULL, 0);
	else
		printf("QUERY pthread_create-limit-failed %d\n", st);

	snprintf(path, sizeof(path), "%s/lockfile", dir);
	int fd = open(path, O_RDWR | O_CREAT, 0600);
	expect_l("open", fd, "-", "lockfile", 0);
	expect_l("flock", flock(fd, LOCK_EX), "-", NULL, 0);
	expect_l("lockf", lockf(fd, F_LOCK, 0), "-", NULL, 0);
	expect_l("lockf64", lockf64(fd, F_ULOCK, 0), "-", NULL, 0);
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET };
	expect_l("fcntl", fcntl(fd, F_SETLKW, &fl), "-", NULL, 0);
	fl.l_type = F_UNLCK;
	expect_l("fcntl64", fcntl64(fd, F_SETLK, &fl), "-", NULL, 0);
	close(fd);
}

static void polls(void)
{
	int p[2];
	pipe(p);
	expect("pipe", "0", "-", "pipe:[", 0);
	struct pollfd pf = { p[0], POLLIN, 0 };
	expect_l("poll", poll(&pf, 1, 2), "-", NULL, 1000);
	expect_l("__poll_chk", __poll_chk(&pf, 1, 0, sizeof(pf)), "-", NULL, 0);
	struct timespec ts = { 0, 1000000 };
	expect_l("__ppoll_chk", __ppoll_chk(&pf, 1, &ts, NULL, sizeof(pf)), "-", NULL, 500);
	expect_l("ppoll", ppoll(&pf, 1, &ts, NULL), "-", NULL, 500);
	/* fds a wait is named by (what created them) */
	int efd = eventfd(0, EFD_CLOEXEC);
	expect_l("eventfd", efd, "-", NULL, 0);
	int tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC);
	expect_l("timerfd_create", tfd, "-", NULL, 0);
	close(efd);
	close(tfd);
	fd_set rs;
	FD_ZERO(&rs);
	FD_SET(p[0], &rs);
	struct timeval tv = { 0, 1000 };
	expect_l("select", select(p[0] + 1, &rs, NULL, NULL, &tv), "-", NULL, 500);
	FD_SET(p[0], &rs);
	expect_l("pselect", pselect(p[0] + 1, &rs, NULL, NULL, &ts, NULL), "-", NULL, 500);
	int ep = epoll_create1(0);
	struct epoll_event ev = { .events = EPOLLIN }, out;
	epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &ev);
	expect_l("epoll_wait", epoll_wait(ep, &out, 1, 1), "-", NULL, 500);
	expect_l("epoll_pwait2", epoll_pwait2(ep, &out, 1, &ts, NULL), "-", NULL, 500);
	write(p[1], "x", 1);
	expect("write", "1", "-", NULL, 0);
	expect_l("epoll_pwait", epoll_pwait(ep, &out, 1, 1, NULL), "-", NULL, 0);
	close(ep);
	close(p[0]);
	close(p[1]);
}

static void procs(void)
{
	char *argv[] = { "true", NULL };
	pid_t pid = fork();
	if (pid == 0)
		_exit(3);
	expect_l("fork", pid, "-", NULL, 0);
	int st;
	expect_l("waitpid", waitpid(pid, &st, 0), "-", NULL, 0);
	int r = execve("/nonexistent/fh", argv, environ);
	expect_l("execve", r, ename(errno), "/nonexistent/fh", 0);
	r = execv("/nonexistent/fh", argv);
	expect_l("execv", r, ename(errno), "/nonexistent/fh", 0);
	r = execvp("fh-no-such-command", argv);
	expect_l("execvp", r, ename(errno), "fh-no-such-command", 0);
	r = execvpe("fh-no-such-command", argv, environ);
	expect_l("execvpe", r, ename(errno), "fh-no-such-command", 0);
	r = fexecve(-1, argv, environ);
	expect_l("fexecve", r, "*", NULL, 0);
	r = posix_spawn(&pid, "/bin/true", NULL, NULL, argv, environ);
	expect_l("posix_spawn", r, "-", "/bin/true", 0);
	expect_l("wait", wait(&st), "-", NULL, 0);
	r = posix_spawnp(&pid, "true", NULL, NULL, argv, environ);
	expect_l("posix_spawnp", r, "-", "true", 0);
	expect_l("wait3", wait3(&st, 0, NULL), "-", NULL, 0);
	r = system("exit 3");
	expect_l("system", r, "-", "exit 3", 0);
	pid = fork();
	if (pid == 0)
		_exit(0);
	expect("fork", "*", "-", NULL, 0);
	expect_l("wait4", wait4(pid, &st, 0, NULL), "-", NULL, 0);
	pid = fork();
	if (pid == 0)
		_exit(0);
	expect("fork", "*", "-", NULL, 0);
	siginfo_t si;
	expect_l("waitid", waitid(P_PID, pid, &si, WEXITED), "-", NULL, 0);
	r = waitpid(-1, &st, WNOHANG);
	expect_l("waitpid", r, ename(errno), NULL, 0);
	/* clone, recorded in the caller; the child runs clone_child on its own stack. */
	size_t ssz = 64 << 10;
	char *stk = malloc(ssz);
	pid = clone(clone_child, stk + ssz, SIGCHLD, NULL);
	expect_l("clone", pid, "-", NULL, 0);
	expect_l("waitpid", waitpid(pid, &st, 0), "-", NULL, 0);
	printf("QUERY clone-exit %d\n", WIFEXITED(st) ? WEXITSTATUS(st) : -1);
	free(stk);
	r = clone(clone_child, NULL, SIGCHLD, NULL);
	expect_l("clone", r, ename(errno), NULL, 0);
}

static void files(const char *dir)
{
	char path[512], buf[64];
	snprintf(path, sizeof(path), "%s/f1", dir);
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	expect_l("open", fd, "-", "/f1", 0);
	expect_l("write", write(fd, "abcdef", 6), "-", NULL, 0);
	expect_l("pwrite", pwrite(fd, "xy", 2, 0), "-", NULL, 0);
	expect_l("pwrite64", pwrite64(fd, "xy", 2, 2), "-", NULL, 0);
	struct iovec iov = { buf, 3 };
	expect_l("writev", writev(fd, &iov, 1), "-", NULL, 0);
	expect_l("pread", pread(fd, buf, 2, 0), "-", NULL, 0);
	expect_l("pread64", pread64(fd, buf, 2, 0), "-", NULL, 0);
	lseek(fd, 0, SEEK_SET);
	expect_l("readv", readv(fd, &iov, 1), "-", NULL, 0);
	expect_l("read", read(fd, buf, 2), "-", NULL, 0);
	expect_l("__read_chk", __read_chk(fd, buf, 2, sizeof(buf)), "-", NULL, 0);
	expect_l("__pread64_chk", __pread64_chk(fd, buf, 2, 0, sizeof(buf)), "-", NULL, 0);
	struct iovec v2 = { buf, 2 };
	expect_l("preadv", preadv(fd, &v2, 1, 0), "-", NULL, 0);
	expect_l("pwritev", pwritev(fd, &v2, 1, 0), "-", NULL, 0);
	expect_l("preadv64", preadv64(fd, &v2, 1, 0), "-", NULL, 0);
	expect_l("pwritev64", pwritev64(fd, &v2, 1, 0), "-", NULL, 0);
	expect_l("preadv2", preadv2(fd, &v2, 1, 0, 0), "-", NULL, 0);
	expect_l("pwritev2", pwritev2(fd, &v2, 1, 0, 0), "-", NULL, 0);
	expect_l("preadv64v2", preadv64v2(fd, &v2, 1, 0, 0), "-", NULL, 0);
	expect_l("pwritev64v2", pwritev64v2(fd, &v2, 1, 0, 0), "-", NULL, 0);
	expect_l("fsync", fsync(fd), "-", NULL, 0);
	expect_l("fdatasync", fdatasync(fd), "-", NULL, 0);
	int r = read(-5, buf, 1);
	expect_l("read", r, ename(errno), NULL, 0);
	close(fd);
	fd = open64(path, O_RDONLY);
	expect_l("open64", fd, "-", "/f1", 0);
	close(fd);
	fd = openat(AT_FDCWD, path, O_RDONLY);
	expect_l("openat", fd, "-", "/f1", 0);
	close(fd);
	fd = openat64(AT_FDCWD, path, O_RDONLY);
	expect_l("openat64", fd, "-", "/f1", 0);
	close(fd);
	fd = __open_2(path, O_RDONLY);
	expect_l("__open_2", fd, "-", "/f1", 0);
	close(fd);
	fd = __open64_2(path, O_RDONLY);
	expect_l("__open64_2", fd, "-", "/f1", 0);
	close(fd);
	fd = __openat_2(AT_FDCWD, path, O_RDONLY);
	expect_l("__openat_2", fd, "-", "/f1", 0);
	close(fd);
	fd = __openat64_2(AT_FDCWD, path, O_RDONLY);
	expect_l("__openat64_2", fd, "-", "/f1", 0);
	r = open("/nonexistent/fh-file", O_RDONLY);
	expect_l("open", r, ename(errno), "/nonexistent/fh-file", 0);
	snprintf(path, sizeof(path), "%s/f2", dir);
	int fd2 = creat(path, 0600);
	expect_l("creat", fd2, "-", "/f2", 0);
	expect_l("sendfile", sendfile(fd2, fd, NULL, 4), "-", NULL, 0);
	off_t off = 0;
	expect_l("sendfile64", sendfile64(fd2, fd, &off, 4), "-", NULL, 0);
	off_t o1 = 0, o2 = 8;
	expect_l("copy_file_range", copy_file_range(fd, &o1, fd2, &o2, 4, 0), "-", NULL, 0);
	int p[2];
	expect_l("pipe2", pipe2(p, O_CLOEXEC), "-", NULL, 0);
	close(p[0]); close(p[1]);
	close(fd); close(fd2);
}

static void signals(void)
{
	struct sigaction sa, old;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_sig;
	expect_l("sigaction", sigaction(SIGUSR1, &sa, NULL), "-", NULL, 0);
	/* A query returns the program's own handler, not the trampoline. */
	sigaction(SIGUSR1, NULL, &old);
	printf("QUERY %s\n", old.sa_handler == on_sig ? "own" : "trampoline");
	expect("signal", "*", "-", NULL, 0);
	if (signal(SIGUSR2, on_sig) == SIG_ERR)
		printf("QUERY signal-failed\n");
	expect_l("kill", kill(getpid(), SIGUSR1), "-", NULL, 0);
	printf("SIGNAL SIGUSR1|kill\n");
	expect_l("killpg", killpg(getpgrp(), 0), "-", NULL, 0);
	expect_l("raise", raise(SIGUSR2), "-", NULL, 0);
	printf("SIGNAL SIGUSR2|raise\n");
	expect_l("pthread_kill", pthread_kill(pthread_self(), SIGUSR1), "-", NULL, 0);
	printf("SIGNAL SIGUSR1|pthread_kill\n");
	expect_l("tgkill", tgkill(getpid(), gettid(), SIGUSR2), "-", NULL, 0);
	printf("SIGNAL SIGUSR2|tgkill\n");
	int pfd = pidfd_open(getpid(), 0);
	expect_l("pidfd_send_signal", pidfd_send_signal(pfd, SIGUSR1, NULL, 0), "-", NULL, 0);
	printf("SIGNAL SIGUSR1|pidfd_send_signal\n");
	close(pfd);
	int r0 = pidfd_send_signal(-1, SIGUSR1, NULL, 0);
	expect_l("pidfd_send_signal", r0, ename(errno), NULL, 0);
	signal(SIGALRM, on_sig);
	expect("signal", "*", "-", NULL, 0);
	expect_l("alarm", alarm(0), "-", NULL, 0);
	/* pause() cannot unblock a signal as it starts waiting, so the timer repeats every 2 ms
	 * until it returns: a one-shot timer that fired before the call began (a loaded machine,
	 * once in a few hundred runs) left it waiting for ever */
	struct itimerval it = { { 0, 2000 }, { 0, 2000 } }, off = { { 0, 0 }, { 0, 0 } };
	expect_l("setitimer", setitimer(ITIMER_REAL, &it, NULL), "-", NULL, 0);
	int r = pause();
	setitimer(ITIMER_REAL, &off, NULL);
	expect_l("pause", r, ename(errno), NULL, 0);
	printf("SIGNAL SIGALRM|pause\n");
	timer_t t;
	struct sigevent sev = { .sigev_notify = SIGEV_SIGNAL, .sigev_signo = SIGALRM };
	timer_create(CLOCK_MONOTONIC, &sev, &t);
	struct itimerspec its = { { 0, 0 }, { 0, 2000000 } };
	/* SIGALRM blocked until sigsuspend unblocks it as it starts waiting: the timer cannot fire
	 * before the wait */
	sigset_t empty, alrm, prev;
	sigemptyset(&empty);
	sigemptyset(&alrm);
	sigaddset(&alrm, SIGALRM);
	pthread_sigmask(SIG_BLOCK, &alrm, &prev);
	expect_l("timer_settime", timer_settime(t, 0, &its, NULL), "-", NULL, 0);
	r = sigsuspend(&empty);
	pthread_sigmask(SIG_SETMASK, &prev, NULL);
	expect_l("sigsuspend", r, ename(errno), NULL, 0);
	printf("SIGNAL SIGALRM|sigsuspend\n");
	timer_delete(t);
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGUSR2);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	raise(SIGUSR2);
	expect("raise", "0", "-", NULL, 0);
	int sig = 0;
	expect_l("sigwait", sigwait(&set, &sig), "-", NULL, 0);
	raise(SIGUSR2);
	expect("raise", "0", "-", NULL, 0);
	siginfo_t si;
	expect_l("sigwaitinfo", sigwaitinfo(&set, &si), "-", NULL, 0);
	struct timespec ts = { 0, 1000000 };
	r = sigtimedwait(&set, &si, &ts);
	expect_l("sigtimedwait", r, ename(errno), NULL, 500);
}

/* The footprint calls (FHF_FOOT): what a call leaves behind or looks at. */
static void footprint(const char *dir)
{
	char p[512], q[512], pair[1100];
	struct rlimit rl;
	int r, fd;

	expect_l("setenv", setenv("FH_CALLS_VAR", "on", 1), "-", "FH_CALLS_VAR=on", 0);
	expect_l("putenv", putenv((char *)"FH_CALLS_PUT=1"), "-", "FH_CALLS_PUT=1", 0);
	expect_l("unsetenv", unsetenv("FH_CALLS_VAR"), "-", "FH_CALLS_VAR", 0);
	/* the first read of a name is recorded, a repeated one is not */
	expect("getenv", "0", "-", "FH_CALLS_PUT", 0);
	if (!getenv("FH_CALLS_PUT") || !getenv("FH_CALLS_PUT"))
		printf("getenv lost FH_CALLS_PUT\n");
	expect("secure_getenv", "0", "-", "FH_CALLS_SECURE", 0);
	(void)secure_getenv("FH_CALLS_SECURE");
	char **saved = environ;
	int n = 0;
	while (saved[n])
		n++;
	char **copy = calloc((size_t)n + 1, sizeof(*copy));
	memcpy(copy, saved, (size_t)n * sizeof(*copy));
	expect_l("clearenv", clearenv(), "-", NULL, 0);
	environ = copy;
	expect_l("chdir", chdir(dir), "-", dir, 0);
	fd = open(dir, O_RDONLY | O_DIRECTORY);
	expect_l("fchdir", fchdir(fd), "-", dir, 0);
	close(fd);
	expect_l("chdir", chdir("/nonexistent-fh-dir"), "ENOENT", "/nonexistent-fh-dir", 0);
	mode_t old = umask(027);
	expect_l("umask", old, "-", NULL, 0);
	umask(old);
	expect_l("umask", 027, "-", NULL, 0);
	getrlimit(RLIMIT_CORE, &rl);
	expect_l("setrlimit", setrlimit(RLIMIT_CORE, &rl), "-", NULL, 0);
	expect_l("setrlimit64", setrlimit64(RLIMIT_CORE, (struct rlimit64 *)&rl), "-", NULL, 0);
	expect_l("prlimit", prlimit(0, RLIMIT_CORE, NULL, &rl), "-", NULL, 0);
	expect_l("prlimit64", prlimit64(0, RLIMIT_CORE, NULL, (struct rlimit64 *)&rl), "-", NULL, 0);
	expect("setlocale", "*", "-", "C", 0);
	setlocale(LC_ALL, "C");
	expect("tzset", "0", "-", NULL, 0);
	tzset();
	snprintf(p, sizeof(p), "%s/fp-dir", dir);
	snprintf(q, sizeof(q), "%s/fp-dir2", dir);
	expect_l("mkdir", mkdir(p, 0700), "-", p, 0);
	expect_l("mkdir", mkdir(p, 0700), "EEXIST", p, 0);
	snprintf(pair, sizeof(pair), "%s\\x0a%s", p, q);
	expect_l("rename", rename(p, q), "-", pair, 0);
	expect_l("renameat", renameat(AT_FDCWD, q, AT_FDCWD, p), "-", NULL, 0);
	expect_l("renameat2", renameat2(AT_FDCWD, p, AT_FDCWD, q, 0), "-", NULL, 0);
	expect_l("rmdir", rmdir(q), "-", q, 0);
	fd = open(dir, O_RDONLY | O_DIRECTORY);
	expect_l("mkdirat", mkdirat(fd, "fp-rel", 0700), "-", "/fp-rel", 0);
	expect_l("fstatat", fstatat(fd, "fp-rel", &(struct stat){0}, 0), "-", "/fp-rel", 0);
	expect_l("fstatat64", fstatat64(fd, "fp-rel", &(struct stat64){0}, 0), "-", "/fp-rel", 0);
	expect_l("faccessat", faccessat(fd, "fp-rel", F_OK, 0), "-", "/fp-rel", 0);
	expect_l("unlinkat", unlinkat(fd, "fp-rel", AT_REMOVEDIR), "-", "/fp-rel", 0);
	close(fd);
	snprintf(p, sizeof(p), "%s/fp-file", dir);
	snprintf(q, sizeof(q), "%s/fp-link", dir);
	/* an open that creates its file says so, one of an existing file does not */
	fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	expect_l("open", fd, "-", p, 0);
	printf("CREATED %s\n", p);
	close(fd);
	fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	printf("EXISTED %s\n", p);
	close(fd);
	expect_l("symlink", symlink(p, q), "-", q, 0);
	expect_l("unlink", unlink(q), "-", q, 0);
	expect_l("link", link(p, q), "-", q, 0);
	expect_l("unlink", unlink(q), "-", q, 0);
	expect_l("stat", stat(p, &(struct stat){0}), "-", p, 0);
	expect_l("stat64", stat64(p, &(struct stat64){0}), "-", p, 0);
	expect_l("lstat", lstat(p, &(struct stat){0}), "-", p, 0);
	expect_l("lstat64", lstat64(p, &(struct stat64){0}), "-", p, 0);
	expect_l("access", access(p, R_OK), "-", p, 0);
	expect_l("unlink", unlink(p), "-", p, 0);
	r = stat(p, &(struct stat){0});
	expect_l("stat", r, "ENOENT", p, 0);
	int s = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	expect_l("bind", bind(s, (struct sockaddr *)&a, sizeof(a)), "-", "127.0.0.1:0", 0);
	expect_l("listen", listen(s, 4), "-", "127.0.0.1:", 0);
	printf("LISTENING %d\n", s);
	/* an attempt ends while the socket still listens, then one after it was closed */
	void (*begin)(const char *, int) = (void (*)(const char *, int))dlsym(RTLD_DEFAULT, "fh_attempt_begin");
	void (*end)(const char *, int, int) = (void (*)(const char *, int, int))dlsym(RTLD_DEFAULT, "fh_attempt_end");
	if (begin && end) {
		begin("calls::listen", 1);
		end("calls::listen", 1, 0);
		close(s);
		begin("calls::listen", 2);
		end("calls::listen", 2, 0);
	}
}

int main(int argc, char **argv)
{
	const char *dir = argc > 1 ? argv[1] : "/tmp";
	setvbuf(stdout, NULL, _IOLBF, 0);
	net();
	dns();
	sleeps();
	locks(dir);
	polls();
	procs();
	files(dir);
	signals();
	footprint(dir);
	printf("DONE\n");
	return 0;
}
