/* SPDX-License-Identifier: MIT */
/*
 * What the AI stage's files share (stages.h has ai_run(), ai.h its parsers): ai.c prepares
 * the jobs (key, prompts, cache) and records outcomes, ai_http.c runs them over curl.
 */
#ifndef FH_AI_INT_H
#define FH_AI_INT_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>

#include <curl/curl.h>

#include "ai.h"
#include "model.h"

#define AI_DEFAULT_MODEL "claude-sonnet-5-5"
#define AI_DEFAULT_BASE "https://api.anthropic.com"
#define AI_API_VERSION "2023-06-01"
#define AI_CONCURRENCY 4
#define AI_TIMEOUT_MS 60000L
#define AI_CONNECT_TIMEOUT_MS 10000L
#define AI_BACKOFF_MS 1000L
#define AI_MAX_TRIES 4
#define AI_BUDGET_MS 180000L
#define AI_MAX_TESTS 30
#define AI_MAX_RESPONSE (1024 * 1024)
#define AI_MAX_TEXT (16 * 1024)
#define AI_MAX_REASON 240
#define DOTENV_MAX (64 * 1024)
#define KEY_MAX 512

enum job_state { JOB_QUEUED, JOB_RUNNING, JOB_DONE };

struct job {
	struct fh_test *test;
	char *prompt;            /* redacted; owned */
	char *body;              /* request JSON; owned */
	char *cache_path;        /* owned; NULL: no cache for this job (a path too long) */
	enum job_state state;
	int tries;
	int64_t not_before;      /* monotonic ns */
	CURL *easy;
	struct buf resp;
	int overflow;
	long retry_after_ms;     /* -1: none in the last response */
	char errbuf[CURL_ERROR_SIZE];
};

struct ai_ctx {
	struct fh_run *run;
	const char *model;
	char *key;               /* owned, wiped; NULL without a key */
	const char *lits[2];     /* { key, NULL } for redact() */
	char *url;               /* owned */
	struct curl_slist *headers;
	long timeout_ms, backoff_ms, budget_ms;
	int max_tries, concurrency, max_tests;
	int64_t deadline;
	struct job *jobs;
	size_t njobs;
	int answered, cached, failed;
};

/* ai.c: checks, outcomes, the cache. */
bool ai_model_valid(const char *m);
void ai_fail(struct ai_ctx *c, struct fh_test *t, const char *fmt, ...) FH_PRINTF(3, 4);
void ai_succeed(struct ai_ctx *c, struct fh_test *t, const char *text, const char *model,
		bool cached);
char *ai_clean_text(const char *s, size_t max);
void ai_cache_write(struct ai_ctx *c, struct job *j, const char *text, const char *model);
/* ai_http.c: every job to an outcome, within the budget. */
void ai_run_jobs(struct ai_ctx *c);

#endif
