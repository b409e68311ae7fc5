/* SPDX-License-Identifier: MIT */
/*
 * history_update(): the per-test CSV history (format and trend definitions in history.h).
 * For each test: read its CSV (hostile: corrupt rows are skipped with a warning), add this
 * run's attempts from the model, compute the trends into test->hist, and append this run's rows
 * unless RUN_DIR/history-appended says they are already there. Appends are one write() per
 * test on an O_APPEND descriptor; existing bytes are never touched (a file whose last row was
 * cut short gets a newline first, so the cut row stays a single corrupt row).
 */
#include "files.h"
#include "history_int.h"
#include "history_tail.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "history_seed.h"
#include "sources.h"
#include "stages.h"
struct hist_job {
	struct fh_hist_acc *acc;
	struct buf warn;
	int append_err;
};

struct hist_ctx {
	struct fh_run *run;
	const char *dir;
	struct hist_job *jobs;
	bool append;
	bool read;              /* the history dir is usable */
	size_t next;            /* next test to take (atomic) */
	int write_failed;       /* atomic: stop appending after the first failure */
};

#define HIST_THREADS_MIN_TESTS 64
#define HIST_MAX_THREADS 8

static void hist_one(struct hist_ctx *ctx, size_t i, struct buf *path, struct buf *rows)
{
	struct fh_run *run = ctx->run;
	struct fh_test *t = &run->tests[i];
	struct hist_job *job = &ctx->jobs[i];
	bool *found = xcalloc(run->nsources + 1, sizeof(*found));
	struct skip_set sk = { NULL, run, found };
	struct buf seed = BUF_INIT(FH_HISTORY_MAX_FILE), seed_name = BUF_INIT(PATH_MAX);
	char *data = NULL;
	size_t len = 0, ncols = 0, max = history_max_bytes();
	long long left_out = 0;
	bool not_file;
	int r;

	job->acc = hist_acc_new(t->nodeid);
	buf_init(&job->warn, 1u << 24);
	hist_acc_set_warn(job->acc, &job->warn);
	if (!ctx->read) {
		hist_acc_add_run(job->acc, run, t);
		goto out;
	}
	buf_reset(path);
	buf_printf(path, "%s/", ctx->dir);
	history_file_name(path, t->nodeid);
	r = history_read_newest(buf_str(path), max, &data, &len, &left_out);
	if (r != 0 && r != -ENOENT)
		hist_acc_warn(job->acc, "%s: cannot read history: %s", buf_str(path), fh_strerror(r));
	if (left_out) {
		/* Trends from the newest rows: dropping them all (as reading nothing would) hides
		 * exactly the history that matters most. */
		hist_acc_warn(job->acc, "%s: history file over the %zu MB cap: trends from its newest "
			      "%zu bytes of rows, %lld older rows left out", buf_str(path), max >> 20,
			      len, left_out);
		hist_acc_set_left_out(job->acc, left_out);
	}
	/* Appending to a FIFO would block until a reader comes; to anything else that is not a
	 * regular file, would write where no history is kept. */
	not_file = r == -FH_ENOTREG || r == -EISDIR;
	/* pytest-flakehunter's file of the test first: its rows are older than ours (runs stay in
	 * time order); runs already imported into ours are left out of it. */
	if (history_seed_read(ctx->dir, t->nodeid, data, len, &seed, &seed_name, &job->warn) > 0)
		hist_add_buffer(job->acc, buf_str(&seed_name), buf_str(&seed), buf_len(&seed), &sk);
	if (data) {
		hist_add_buffer(job->acc, buf_str(path), data, len, &sk);
		ncols = history_header_prefix(data, len);
		free(data);
	}
	hist_acc_add_run(job->acc, run, t);
	if (ctx->append && !not_file && !__atomic_load_n(&ctx->write_failed, __ATOMIC_RELAXED)) {
		r = hist_append_rows(run, t, buf_str(path), rows, ncols, found);
		if (r) {
			hist_acc_warn(job->acc, "%s: cannot append history: %s", buf_str(path),
				      strerror(-r));
			job->append_err = r;
			__atomic_store_n(&ctx->write_failed, 1, __ATOMIC_RELAXED);
		}
	}
out:
	buf_free(&seed);
	buf_free(&seed_name);
	free(found);
}

static void *hist_worker(void *arg)
{
	struct hist_ctx *ctx = arg;
	struct buf path = BUF_INIT(PATH_MAX), rows = BUF_INIT(FH_HISTORY_MAX_FILE);
	size_t i;

	while ((i = __atomic_fetch_add(&ctx->next, 1, __ATOMIC_RELAXED)) < ctx->run->ntests)
		hist_one(ctx, i, &path, &rows);
	buf_free(&path);
	buf_free(&rows);
	return NULL;
}

static int hist_threads(size_t ntests)
{
	return fh_thread_count(ntests < HIST_THREADS_MIN_TESTS, HIST_MAX_THREADS);
}

/*
 * Two analyzers reporting the same run directory at once (a CI step and a developer, or a
 * retried job) would both find no history-appended marker and both append the run. So the
 * check, the appends and the marker are done under an exclusive flock on RUN_DIR/history.lock:
 * the second analyzer waits for the first and then finds the marker. The wait is bounded
 * (RUN_LOCK_WAIT_S): an analyzer that holds the lock for longer is stuck, and the waiting one
 * goes on without the lock, as before this lock existed, rather than hang. A run directory
 * where the lock cannot be created (read-only) is reported without it too. The lock file's fd
 * or -1.
 */
#define RUN_LOCK_WAIT_S 120

static int run_lock(const char *run_dir)
{
	struct buf path = BUF_INIT(PATH_MAX);
	int fd;

	if (!run_dir)
		return -1;
	buf_printf(&path, "%s/history.lock", run_dir);
	fd = open(buf_str(&path), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK, 0644);
	if (fd >= 0) {
		struct timespec pause = { 0, 50 * 1000 * 1000 };
		int tries = RUN_LOCK_WAIT_S * 20;

		while (flock(fd, LOCK_EX | LOCK_NB) < 0) {
			if ((errno != EWOULDBLOCK && errno != EINTR) || --tries <= 0) {
				warning("%s: %s; appending this run's history without it",
					buf_str(&path), errno == EWOULDBLOCK
					? "another analyzer has held it for 2 minutes"
					: strerror(errno));
				break;
			}
			nanosleep(&pause, NULL);
		}
	}
	buf_free(&path);
	return fd;
}

int history_update(struct fh_run *run, const char *dir)
{
	struct buf marker = BUF_INIT(PATH_MAX);
	struct hist_ctx ctx = { run, dir, NULL, false, true, 0, 0 };
	struct stat st;
	pthread_t threads[HIST_MAX_THREADS];
	bool started[HIST_MAX_THREADS] = { false };
	int nthreads = hist_threads(run->ntests), k, r, ret = 0, lock;
	size_t i;

	buf_printf(&marker, "%s/history-appended", run->run_dir ? run->run_dir : ".");
	lock = run_lock(run->run_dir);
	ctx.append = access(buf_str(&marker), F_OK) != 0;
	r = mkdir_p(dir, 0755);
	if (!r && (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode)))
		r = -ENOTDIR;
	if (r) {
		warning("cannot use history dir '%s': %s; history not kept", dir, strerror(-r));
		ctx.append = false;
		ctx.read = false;
	}
	ctx.jobs = xcalloc(run->ntests ? run->ntests : 1, sizeof(*ctx.jobs));
	for (k = 1; k < nthreads; k++)
		started[k] = !pthread_create(&threads[k], NULL, hist_worker, &ctx);
	hist_worker(&ctx);
	for (k = 1; k < nthreads; k++)
		if (started[k])
			pthread_join(threads[k], NULL);
	for (i = 0; i < run->ntests; i++) {
		struct hist_job *job = &ctx.jobs[i];
		const char *w = buf_str(&job->warn), *nl;

		for (; (nl = strchr(w, '\n')); w = nl + 1)
			warning("%.*s", (int)(nl - w), w);
		buf_free(&job->warn);
		hist_acc_set_warn(job->acc, NULL);
		hist_acc_finish(job->acc, run, &run->tests[i]);
		if (job->append_err && !ret)
			ret = job->append_err;
	}
	free(ctx.jobs);
	hist_fill_params(run);
	if (ctx.append && !ctx.write_failed && run->run_dir) {
		int fd = open(buf_str(&marker), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);

		if (fd < 0)
			warning("%s: cannot create marker: %s (history may be appended again)",
				buf_str(&marker), strerror(errno));
		else
			close(fd);
	}
	buf_free(&marker);
	if (lock >= 0)
		close(lock);   /* releases the flock */
	return ret;
}
