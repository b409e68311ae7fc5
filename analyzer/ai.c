/* SPDX-License-Identifier: MIT */
/*
 * The AI stage: for every flaky or broken test, ask the Anthropic Messages API for a
 * root-cause hypothesis grounded in the evidence, and keep the answer in test->ai.
 *
 * Flow: key and base URL from the environment (and ./.env when asked for); one prompt per test
 * (prompt.c), redacted (redact.c, the key itself included); the cache RUN_DIR/ai-cache/<sha256
 * of model and prompt>.json answers what was asked before; the rest goes out over one curl
 * multi handle, at most `concurrency` requests at a time, each with connect and total
 * timeouts; 429, 500, 503 and 529 are retried with exponential backoff that honours
 * retry-after, a bounded number of times; the whole stage has a time budget. Every outcome is
 * one of: an answer (ok, text, model), or a one-line reason. Nothing here fails the report.
 * This file prepares the jobs and records their outcomes; ai_http.c runs them.
 *
 * The key lives in one malloc'd string and the x-api-key header; both are wiped before they
 * are freed; every reason line is passed through redact() with the key as a literal, so the key
 * cannot reach the report, the JSON, the cache or stderr.
 *
 * Knobs (environment; docs/AI.md): FH_AI_TIMEOUT_MS (total per request, default 60000),
 * FH_AI_BACKOFF_MS (first retry delay without retry-after, default 1000), FH_AI_MAX_TRIES
 * (default 4), FH_AI_BUDGET_MS (whole stage, default 180000), FH_AI_MAX_TESTS (tests asked
 * per run, worst first, default 30: a cost bound), FH_AI_CONCURRENCY (default 4).
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <curl/curl.h>

#include "ai_int.h"
#include "files.h"
#include "prompt.h"
#include "redact.h"
#include "sha256.h"
#include "stages.h"

static long env_long(const char *name, long def, long lo, long hi)
{
	const char *s = getenv(name);
	char *end;
	long v;

	if (!s || !*s)
		return def;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end || v < lo || v > hi) {
		warning("ignoring %s='%.20s': not a number in [%ld, %ld]", name, s, lo, hi);
		return def;
	}
	return v;
}

static void wipe_free(char *s)
{
	if (s) {
		explicit_bzero(s, strlen(s));
		free(s);
	}
}

/* A usable key: 1..KEY_MAX visible ASCII characters (no spaces, no CR/LF: it goes in a
 * header). */
static bool key_valid(const char *k, size_t n)
{
	size_t i;

	if (!n || n > KEY_MAX)
		return false;
	for (i = 0; i < n; i++)
		if ((unsigned char)k[i] <= 0x20 || (unsigned char)k[i] >= 0x7f)
			return false;
	return true;
}

char *ai_dotenv_parse(const char *data, size_t len, const char **why)
{
	char *key = NULL;
	size_t i = 0;

	*why = "no ANTHROPIC_API_KEY in the environment or in ./.env";
	while (i < len) {
		size_t eol = i, p, vs, ve;

		while (eol < len && data[eol] != '\n')
			eol++;
		p = i;
		i = eol + 1;
		while (p < eol && (data[p] == ' ' || data[p] == '\t'))
			p++;
		if (eol - p > 7 && !memcmp(data + p, "export ", 7))
			for (p += 7; p < eol && data[p] == ' '; p++)
				;
		if (eol - p < 17 || memcmp(data + p, "ANTHROPIC_API_KEY", 17))
			continue;
		p += 17;
		while (p < eol && (data[p] == ' ' || data[p] == '\t'))
			p++;
		if (p >= eol || data[p] != '=')
			continue;
		for (p++; p < eol && (data[p] == ' ' || data[p] == '\t'); p++)
			;
		if (p < eol && (data[p] == '"' || data[p] == '\'')) {
			char q = data[p++];

			vs = ve = p;
			while (ve < eol && data[ve] != q)
				ve++;
			if (ve >= eol) {
				*why = "./.env: unterminated quote in ANTHROPIC_API_KEY";
				continue;
			}
		} else {
			vs = ve = p;
			while (ve < eol && data[ve] != ' ' && data[ve] != '\t' && data[ve] != '\r' &&
			       data[ve] != '#')
				ve++;
		}
		if (!key_valid(data + vs, ve - vs)) {
			*why = "./.env: ANTHROPIC_API_KEY is empty or has characters a key cannot have";
			continue;
		}
		wipe_free(key);
		key = xmalloc(ve - vs + 1);
		memcpy(key, data + vs, ve - vs);
		key[ve - vs] = '\0';
	}
	return key;
}

/* ANTHROPIC_API_KEY from ./.env: a regular file (never a FIFO or device: opened non-blocking
 * and checked) of at most DOTENV_MAX bytes, parsed by ai_dotenv_parse(). */
static char *dotenv_key(const char **why)
{
	char *data, *key;
	struct stat st;
	size_t len = 0;
	int fd;

	*why = "no ANTHROPIC_API_KEY in the environment or in ./.env";
	fd = open(".env", O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return NULL;
	if (fstat(fd, &st) || !S_ISREG(st.st_mode) || st.st_size > DOTENV_MAX) {
		*why = "./.env is not a regular file of at most 64 KiB; not read";
		close(fd);
		return NULL;
	}
	data = xmalloc((size_t)st.st_size + 1);
	while (len < (size_t)st.st_size) {
		ssize_t r = read(fd, data + len, (size_t)st.st_size - len);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		len += (size_t)r;
	}
	close(fd);
	key = ai_dotenv_parse(data, len, why);
	explicit_bzero(data, len);
	free(data);
	return key;
}

static char *get_key(bool use_dotenv, const char **why)
{
	const char *env = getenv("ANTHROPIC_API_KEY");

	if (env && *env) {
		if (!key_valid(env, strlen(env))) {
			*why = "ANTHROPIC_API_KEY has characters a key cannot have";
			return NULL;
		}
		return xstrdup(env);
	}
	if (use_dotenv)
		return dotenv_key(why);
	*why = "no ANTHROPIC_API_KEY in the environment (or use --ai-dotenv to read ./.env)";
	return NULL;
}

/* {base}/v1/messages, base from ANTHROPIC_BASE_URL: http(s), visible ASCII, bounded. */
static char *make_url(const char **why)
{
	const char *base = getenv("ANTHROPIC_BASE_URL");
	size_t n, i;
	char *url;

	if (!base || !*base)
		base = AI_DEFAULT_BASE;
	n = strlen(base);
	if (n > 2048 || (strncmp(base, "https://", 8) && strncmp(base, "http://", 7))) {
		*why = "ANTHROPIC_BASE_URL must be an http:// or https:// URL";
		return NULL;
	}
	for (i = 0; i < n; i++)
		if ((unsigned char)base[i] <= 0x20 || (unsigned char)base[i] >= 0x7f) {
			*why = "ANTHROPIC_BASE_URL has characters a URL cannot have";
			return NULL;
		}
	while (n && base[n - 1] == '/')
		n--;
	url = xmalloc(n + sizeof("/v1/messages"));
	memcpy(url, base, n);
	memcpy(url + n, "/v1/messages", sizeof("/v1/messages"));
	return url;
}

bool ai_model_valid(const char *m)
{
	size_t n = strlen(m), i;

	if (!n || n > 100)
		return false;
	for (i = 0; i < n; i++)
		if (!isalnum((unsigned char)m[i]) && !strchr("-._:@/", m[i]))
			return false;
	return true;
}

/* Records a one-line reason: flattened, redacted (the key included), bounded. */
void ai_fail(struct ai_ctx *c, struct fh_test *t, const char *fmt, ...)
{
	struct buf raw = BUF_INIT(4096), red = BUF_INIT(8192);
	va_list ap;
	size_t i;

	va_start(ap, fmt);
	buf_vprintf(&raw, fmt, ap);
	va_end(ap);
	redact(&red, buf_str(&raw), c->lits);
	for (i = 0; i < buf_len(&red); i++) {
		char *d = buf_data(&red);

		if ((unsigned char)d[i] < 0x20 || d[i] == 0x7f)
			d[i] = ' ';
	}
	if (buf_len(&red) > AI_MAX_REASON) {
		buf_truncate(&red, AI_MAX_REASON);
		buf_chop_utf8_tail(&red);
		buf_puts(&red, "...");
	}
	if (buf_data(&red))
		utf8_sanitize(buf_data(&red));
	t->ai->ok = false;
	t->ai->reason = arena_strdup(&c->run->arena, buf_str(&red));
	c->failed++;
	buf_free(&raw);
	buf_free(&red);
}

void ai_succeed(struct ai_ctx *c, struct fh_test *t, const char *text, const char *model,
		bool cached)
{
	t->ai->ok = true;
	t->ai->reason = NULL;
	t->ai->text = arena_strdup(&c->run->arena, text);
	t->ai->model = arena_strdup(&c->run->arena, model);
	t->ai->cached = cached;
	if (cached)
		c->cached++;
	else
		c->answered++;
}

/* A string field of the response that we show: visible, bounded, valid UTF-8. */
char *ai_clean_text(const char *s, size_t max)
{
	size_t n = strlen(s), b = 0, e;
	char *out;

	while (b < n && isspace((unsigned char)s[b]))
		b++;
	e = n;
	while (e > b && isspace((unsigned char)s[e - 1]))
		e--;
	if (e - b > max)
		e = b + max;
	out = xmalloc(e - b + 1);
	memcpy(out, s + b, e - b);
	out[e - b] = '\0';
	for (n = 0; out[n]; n++)
		if ((unsigned char)out[n] < 0x20 && out[n] != '\n' && out[n] != '\t')
			out[n] = ' ';
	utf8_sanitize(out);
	return out;
}

/* ---- cache ---- */

static void cache_name(struct ai_ctx *c, struct job *j)
{
	struct sha256 s;
	char hex[65];

	sha256_init(&s);
	sha256_update(&s, c->model, strlen(c->model));
	sha256_update(&s, "\n", 1);
	sha256_update(&s, j->prompt, strlen(j->prompt));
	sha256_final_hex(&s, hex);
	j->cache_path = path_printf("%s/ai-cache/%s.json", c->run->run_dir, hex);
}

/* A cached answer (hostile: someone may have edited it): {"model": str, "text": str}. */
static bool cache_read(struct ai_ctx *c, struct job *j)
{
	char *data = NULL, *text, *model;
	size_t len;
	bool ok = false;

	if (!j->cache_path || read_file(j->cache_path, AI_MAX_RESPONSE, &data, &len))
		return false;
	if (ai_cache_parse(data, len, &text, &model) == 0) {
		ai_succeed(c, j->test, text, model, true);
		ok = true;
		free(text);
		free(model);
	}
	if (!ok)
		warning("%s: not a usable cached answer; asking again", j->cache_path);
	free(data);
	return ok;
}

int ai_cache_parse(const char *data, size_t len, char **text_out, char **model_out)
{
	cJSON *root = cJSON_ParseWithLength(data, len);
	const cJSON *text = cJSON_GetObjectItemCaseSensitive(root, "text");
	const cJSON *model = cJSON_GetObjectItemCaseSensitive(root, "model");
	int ret = -EBADMSG;

	*text_out = *model_out = NULL;
	if (cJSON_IsObject(root) && cJSON_IsString(text) && cJSON_IsString(model) &&
	    text->valuestring[0] && ai_model_valid(model->valuestring)) {
		char *t = ai_clean_text(text->valuestring, AI_MAX_TEXT);

		if (*t) {
			*text_out = t;
			*model_out = xstrdup(model->valuestring);
			ret = 0;
		} else {
			free(t);
		}
	}
	cJSON_Delete(root);
	return ret;
}

void ai_cache_write(struct ai_ctx *c, struct job *j, const char *text, const char *model)
{
	cJSON *root = cJSON_CreateObject();
	char *json = NULL, *dir = NULL;
	int r;

	if (!j->cache_path || !root || !cJSON_AddStringToObject(root, "model", model) ||
	    !cJSON_AddStringToObject(root, "requested_model", c->model) ||
	    !cJSON_AddStringToObject(root, "text", text) ||
	    !(json = cJSON_Print(root)))
		goto out;
	dir = path_printf("%s/ai-cache", c->run->run_dir);
	r = dir ? mkdir_p(dir, 0700) : -ENAMETOOLONG;
	if (!r)
		r = write_file_atomic(j->cache_path, json, strlen(json));
	if (r)
		warning("%s: cannot cache the answer: %s", j->cache_path, strerror(-r));
out:
	free(dir);
	free(json);
	cJSON_Delete(root);
}

int ai_run(struct fh_run *run, const struct fh_ai_options *opt)
{
	struct ai_ctx c = { 0 };
	const char *key_why = NULL, *url_why = NULL;
	struct buf hdr = BUF_INIT(KEY_MAX + 64);
	size_t k, nwant = 0, nask = 0;

	c.run = run;
	run->ai_requested = true;
	c.model = opt && opt->model && *opt->model ? opt->model : AI_DEFAULT_MODEL;
	c.concurrency = opt && opt->concurrency > 0 ? opt->concurrency :
		(int)env_long("FH_AI_CONCURRENCY", AI_CONCURRENCY, 1, 16);
	c.timeout_ms = opt && opt->timeout_ms > 0 ? opt->timeout_ms :
		env_long("FH_AI_TIMEOUT_MS", AI_TIMEOUT_MS, 1, 3600000);
	c.backoff_ms = env_long("FH_AI_BACKOFF_MS", AI_BACKOFF_MS, 0, 600000);
	c.max_tries = (int)env_long("FH_AI_MAX_TRIES", AI_MAX_TRIES, 1, 10);
	c.max_tests = (int)env_long("FH_AI_MAX_TESTS", AI_MAX_TESTS, 0, 100000);
	c.budget_ms = env_long("FH_AI_BUDGET_MS", AI_BUDGET_MS, 1, 86400000);

	for (k = 0; k < run->ntests; k++)
		if (run->tests[k].verdict == FH_FLAKY || run->tests[k].verdict == FH_BROKEN)
			nwant++;
	if (!nwant)
		return 0;
	c.key = get_key(opt && opt->use_dotenv, &key_why);
	c.lits[0] = c.key;
	c.jobs = xcalloc(nwant, sizeof(*c.jobs));
	for (k = 0; k < run->ntests; k++) {
		struct fh_test *t = &run->tests[k];
		struct job *j;
		int nred = 0;

		if (t->verdict != FH_FLAKY && t->verdict != FH_BROKEN)
			continue;
		t->ai = arena_alloc(&run->arena, sizeof(*t->ai));
		t->ai->model = arena_strdup(&run->arena, c.model);
		j = &c.jobs[c.njobs++];
		j->test = t;
		buf_init(&j->resp, AI_MAX_RESPONSE);
		j->state = JOB_DONE;
		if (!ai_model_valid(c.model)) {
			ai_fail(&c, t, "invalid model id given to --ai-model");
			continue;
		}
		j->prompt = prompt_make(run, t, c.lits, &nred);
		if (!j->prompt) {
			ai_fail(&c, t, "the prompt would exceed %d bytes", PROMPT_MAX_BYTES);
			continue;
		}
		/* Also what redact_run() replaced while loading: the marker is in the prompt. */
		t->ai->redacted = nred > 0 || strstr(j->prompt, REDACT_MARK) != NULL;
		cache_name(&c, j);
		if (cache_read(&c, j))
			continue;
		if (!c.key) {
			ai_fail(&c, t, "not asked: %s", key_why);
			continue;
		}
		if ((int)nask >= c.max_tests) {
			ai_fail(&c, t, "not asked: only the first %d flaky or broken tests (worst first) are "
				"asked; FH_AI_MAX_TESTS changes it", c.max_tests);
			continue;
		}
		j->state = JOB_QUEUED;
		nask++;
	}
	if (nask) {
		c.url = make_url(&url_why);
		buf_printf(&hdr, "x-api-key: %s", c.key);
		if (!c.url || curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
			for (k = 0; k < c.njobs; k++)
				if (c.jobs[k].state == JOB_QUEUED) {
					c.jobs[k].state = JOB_DONE;
					ai_fail(&c, c.jobs[k].test, "not asked: %s",
						url_why ? url_why : "cannot initialise libcurl");
				}
		} else {
			c.headers = curl_slist_append(c.headers, buf_str(&hdr));
			c.headers = curl_slist_append(c.headers, "anthropic-version: " AI_API_VERSION);
			c.headers = curl_slist_append(c.headers, "content-type: application/json");
			c.headers = curl_slist_append(c.headers, "accept: application/json");
			c.headers = curl_slist_append(c.headers, "Expect:");
			c.deadline = now_ns() + c.budget_ms * 1000000LL;
			for (k = 0; k < c.njobs; k++) {
				struct job *j = &c.jobs[k];

				if (j->state != JOB_QUEUED)
					continue;
				j->body = prompt_request_body(c.model, PROMPT_MAX_TOKENS, j->prompt);
				if (!j->body) {
					j->state = JOB_DONE;
					ai_fail(&c, j->test, "cannot build the request body");
				}
			}
			if (c.headers)
				ai_run_jobs(&c);
			for (struct curl_slist *h = c.headers; h; h = h->next)
				explicit_bzero(h->data, strlen(h->data));
			curl_slist_free_all(c.headers);
			curl_global_cleanup();
		}
	}
	if (c.failed)
		warning("AI: %d of %zu hypotheses not available, %d answered, %d from the cache "
			"(reasons are in the report)", c.failed, c.njobs, c.answered, c.cached);
	for (k = 0; k < c.njobs; k++) {
		free(c.jobs[k].prompt);
		free(c.jobs[k].body);
		free(c.jobs[k].cache_path);
		buf_free(&c.jobs[k].resp);
	}
	free(c.jobs);
	free(c.url);
	buf_wipe(&hdr);
	buf_free(&hdr);
	wipe_free(c.key);
	return 0;
}
