/* SPDX-License-Identifier: MIT */
/*
 * The AI stage (issue 7): for every flaky or broken test, ask the Anthropic Messages API for a
 * root-cause hypothesis grounded in the evidence, and keep the answer in test->ai.
 *
 * Flow: key and base URL from the environment (and ./.env when asked for); one prompt per test
 * (prompt.c), redacted (redact.c, the key itself included); the cache RUN_DIR/ai-cache/<sha256
 * of model and prompt>.json answers what was asked before; the rest goes out over one curl
 * multi handle, at most `concurrency` requests at a time, each with connect and total
 * timeouts; 429, 500, 503 and 529 are retried with exponential backoff that honours
 * retry-after, a bounded number of times; the whole stage has a time budget. Every outcome is
 * one of: an answer (ok, text, model), or a one-line reason. Nothing here fails the report.
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

#include "files.h"
#include "prompt.h"
#include "redact.h"
#include "sha256.h"
#include "stages.h"

#include "ai.h"

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
#define AI_RETRY_AFTER_MAX_MS 60000L
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
	char cache_path[PATH_MAX];
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

static bool model_valid(const char *m)
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
static void fail(struct ai_ctx *c, struct fh_test *t, const char *fmt, ...) FH_PRINTF(3, 4);
static void fail(struct ai_ctx *c, struct fh_test *t, const char *fmt, ...)
{
	struct buf raw = BUF_INIT(4096), red = BUF_INIT(8192);
	va_list ap;
	size_t i;

	va_start(ap, fmt);
	buf_vprintf(&raw, fmt, ap);
	va_end(ap);
	redact(&red, buf_str(&raw), c->lits);
	for (i = 0; i < red.len; i++)
		if ((unsigned char)red.data[i] < 0x20 || red.data[i] == 0x7f)
			red.data[i] = ' ';
	if (red.len > AI_MAX_REASON) {
		red.len = AI_MAX_REASON;
		while (red.len && ((unsigned char)red.data[red.len - 1] & 0xc0) == 0x80)
			red.len--;
		if (red.len && (unsigned char)red.data[red.len - 1] >= 0xc0)
			red.len--;
		red.data[red.len] = '\0';
		buf_puts(&red, "...");
	}
	if (red.data)
		utf8_sanitize(red.data);
	t->ai->ok = false;
	t->ai->reason = arena_strdup(&c->run->arena, buf_str(&red));
	c->failed++;
	buf_free(&raw);
	buf_free(&red);
}

static void succeed(struct ai_ctx *c, struct fh_test *t, const char *text, const char *model,
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
static char *clean_text(const char *s, size_t max)
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
	unsigned char d[32];
	char hex[65];
	int i;

	sha256_init(&s);
	sha256_update(&s, c->model, strlen(c->model));
	sha256_update(&s, "\n", 1);
	sha256_update(&s, j->prompt, strlen(j->prompt));
	sha256_final(&s, d);
	for (i = 0; i < 32; i++) {
		hex[2 * i] = "0123456789abcdef"[d[i] >> 4];
		hex[2 * i + 1] = "0123456789abcdef"[d[i] & 15];
	}
	hex[64] = '\0';
	if ((size_t)snprintf(j->cache_path, sizeof(j->cache_path), "%s/ai-cache/%s.json",
			     c->run->run_dir, hex) >= sizeof(j->cache_path))
		j->cache_path[0] = '\0'; /* a path too long: no cache for this run */
}

/* A cached answer (hostile: someone may have edited it): {"model": str, "text": str}. */
static bool cache_read(struct ai_ctx *c, struct job *j)
{
	char *data = NULL;
	size_t len;
	cJSON *root;
	const cJSON *text, *model;
	bool ok = false;

	if (!j->cache_path[0] || read_file(j->cache_path, AI_MAX_RESPONSE, &data, &len))
		return false;
	root = cJSON_ParseWithLength(data, len);
	text = cJSON_GetObjectItemCaseSensitive(root, "text");
	model = cJSON_GetObjectItemCaseSensitive(root, "model");
	if (cJSON_IsObject(root) && cJSON_IsString(text) && cJSON_IsString(model) &&
	    text->valuestring[0] && model_valid(model->valuestring)) {
		char *t = clean_text(text->valuestring, AI_MAX_TEXT);

		if (*t) {
			succeed(c, j->test, t, model->valuestring, true);
			ok = true;
		}
		free(t);
	}
	if (!ok)
		warning("%s: not a usable cached answer; asking again", j->cache_path);
	cJSON_Delete(root);
	free(data);
	return ok;
}

static void cache_write(struct ai_ctx *c, struct job *j, const char *text, const char *model)
{
	cJSON *root = cJSON_CreateObject();
	char *json = NULL, dir[PATH_MAX];
	int r;

	if (!j->cache_path[0] || !root || !cJSON_AddStringToObject(root, "model", model) ||
	    !cJSON_AddStringToObject(root, "requested_model", c->model) ||
	    !cJSON_AddStringToObject(root, "text", text) ||
	    !(json = cJSON_Print(root)))
		goto out;
	snprintf(dir, sizeof(dir), "%s/ai-cache", c->run->run_dir);
	r = mkdir_p(dir, 0700);
	if (!r)
		r = write_file_atomic(j->cache_path, json, strlen(json));
	if (r)
		warning("%s: cannot cache the answer: %s", j->cache_path, strerror(-r));
out:
	free(json);
	cJSON_Delete(root);
}

/* ---- HTTP ---- */

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
	struct job *j = ud;

	if (buf_add(&j->resp, p, size * n)) {
		j->overflow = 1;
		return 0;
	}
	return size * n;
}

static bool header_is(const char *p, size_t n, const char *name)
{
	size_t k = strlen(name);

	return n > k && p[k] == ':' && !strncasecmp(p, name, k);
}

/* retry-after: seconds or an HTTP date; retry-after-ms: milliseconds. */
static size_t on_header(char *p, size_t size, size_t n, void *ud)
{
	struct job *j = ud;
	size_t len = size * n;
	char val[64];
	size_t k, v;
	bool ms = false;

	if (len >= 5 && !strncmp(p, "HTTP/", 5)) {
		j->retry_after_ms = -1;
		return len;
	}
	if (header_is(p, len, "retry-after-ms"))
		k = 15, ms = true;
	else if (header_is(p, len, "retry-after"))
		k = 12;
	else
		return len;
	while (k < len && (p[k] == ' ' || p[k] == '\t'))
		k++;
	for (v = 0; k < len && v + 1 < sizeof(val) && p[k] != '\r' && p[k] != '\n'; k++)
		val[v++] = p[k];
	val[v] = '\0';
	if (v) {
		char *end;
		double d;

		errno = 0;
		d = strtod(val, &end);
		if (!errno && end != val && *end == '\0' && d >= 0 && d < 1e7) {
			j->retry_after_ms = (long)(ms ? d : d * 1000);
		} else {
			time_t when = curl_getdate(val, NULL);

			if (when > 0) {
				time_t now = time(NULL);

				j->retry_after_ms = when > now ? (long)(when - now) * 1000 : 0;
			}
		}
		if (j->retry_after_ms > AI_RETRY_AFTER_MAX_MS)
			j->retry_after_ms = AI_RETRY_AFTER_MAX_MS;
	}
	return len;
}

static int job_start(struct ai_ctx *c, CURLM *multi, struct job *j)
{
	CURL *e = curl_easy_init();

	if (!e)
		return -ENOMEM;
	buf_reset(&j->resp);
	j->overflow = 0;
	j->retry_after_ms = -1;
	j->errbuf[0] = '\0';
	j->tries++;
	curl_easy_setopt(e, CURLOPT_URL, c->url);
	curl_easy_setopt(e, CURLOPT_POST, 1L);
	curl_easy_setopt(e, CURLOPT_POSTFIELDS, j->body);
	curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, (long)strlen(j->body));
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, c->headers);
	curl_easy_setopt(e, CURLOPT_USERAGENT, "flakehunter/" FH_VERSION);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, j);
	curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(e, CURLOPT_HEADERDATA, j);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, j->errbuf);
	curl_easy_setopt(e, CURLOPT_PRIVATE, j);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS,
			 c->timeout_ms < AI_CONNECT_TIMEOUT_MS ? c->timeout_ms : AI_CONNECT_TIMEOUT_MS);
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, c->timeout_ms);
	curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, "");
#if LIBCURL_VERSION_NUM >= 0x075500
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
#else
	curl_easy_setopt(e, CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
	if (curl_multi_add_handle(multi, e) != CURLM_OK) {
		curl_easy_cleanup(e);
		return -ENOMEM;
	}
	j->easy = e;
	j->state = JOB_RUNNING;
	return 0;
}

static void job_finish(CURLM *multi, struct job *j, enum job_state next)
{
	if (j->easy) {
		curl_multi_remove_handle(multi, j->easy);
		curl_easy_cleanup(j->easy);
		j->easy = NULL;
	}
	j->state = next;
}

/* The error object of an answer: "type: message", or "" when there is none. */
static void error_object(const cJSON *root, char *out, size_t outsz)
{
	const cJSON *err = cJSON_GetObjectItemCaseSensitive(root, "error");
	const cJSON *type = cJSON_GetObjectItemCaseSensitive(err, "type");
	const cJSON *msg = cJSON_GetObjectItemCaseSensitive(err, "message");

	out[0] = '\0';
	if (cJSON_IsObject(err))
		snprintf(out, outsz, "%.60s%s%.160s", cJSON_IsString(type) ? type->valuestring : "",
			 cJSON_IsString(msg) ? ": " : "", cJSON_IsString(msg) ? msg->valuestring : "");
}

static void api_error(const struct job *j, char *out, size_t outsz)
{
	cJSON *root = cJSON_ParseWithLength(j->resp.data ? j->resp.data : "", j->resp.len);

	error_object(root, out, outsz);
	cJSON_Delete(root);
}

int ai_parse_response(const char *data, size_t len, struct ai_answer *out, char *why,
		      size_t whysz)
{
	cJSON *root = cJSON_ParseWithLength(data ? data : "", data ? len : 0);
	const cJSON *content, *item, *model, *stop, *type;
	struct buf text = BUF_INIT(AI_MAX_TEXT + 1);
	int ret = -EBADMSG;

	out->text = out->model = NULL;
	why[0] = '\0';
	if (!root || !cJSON_IsObject(root)) {
		snprintf(why, whysz, "malformed JSON in the API response (%zu bytes)", len);
		goto out;
	}
	type = cJSON_GetObjectItemCaseSensitive(root, "type");
	if (cJSON_IsString(type) && !strcmp(type->valuestring, "error")) {
		char e[256];

		error_object(root, e, sizeof(e));
		snprintf(why, whysz, "the API answered with an error: %s", e);
		goto out;
	}
	content = cJSON_GetObjectItemCaseSensitive(root, "content");
	if (!cJSON_IsArray(content))
		content = NULL;
	cJSON_ArrayForEach(item, content) {
		const cJSON *it = cJSON_GetObjectItemCaseSensitive(item, "type");
		const cJSON *tx = cJSON_GetObjectItemCaseSensitive(item, "text");
		size_t n, room;

		if (!cJSON_IsObject(item) || !cJSON_IsString(it) || strcmp(it->valuestring, "text") ||
		    !cJSON_IsString(tx))
			continue;
		if (text.len)
			buf_putc(&text, '\n');
		n = strlen(tx->valuestring);
		room = text.len < AI_MAX_TEXT ? AI_MAX_TEXT - text.len : 0;
		buf_add(&text, tx->valuestring, n < room ? n : room);
	}
	out->text = clean_text(buf_str(&text), AI_MAX_TEXT);
	if (!out->text[0]) {
		stop = cJSON_GetObjectItemCaseSensitive(root, "stop_reason");
		snprintf(why, whysz, "the API response has no text content (stop_reason: %.40s)",
			 cJSON_IsString(stop) ? stop->valuestring : "none");
		free(out->text);
		out->text = NULL;
		goto out;
	}
	model = cJSON_GetObjectItemCaseSensitive(root, "model");
	if (cJSON_IsString(model) && model_valid(model->valuestring))
		out->model = xstrdup(model->valuestring);
	ret = 0;
out:
	for (char *w = why; *w; w++)
		if ((unsigned char)*w < 0x20 || *w == 0x7f)
			*w = ' ';
	buf_free(&text);
	cJSON_Delete(root);
	return ret;
}

static void parse_answer(struct ai_ctx *c, struct job *j)
{
	struct ai_answer a;
	char why[256];

	if (ai_parse_response(j->resp.data, j->resp.len, &a, why, sizeof(why))) {
		fail(c, j->test, "%s", why);
		return;
	}
	succeed(c, j->test, a.text, a.model ? a.model : c->model, false);
	cache_write(c, j, a.text, a.model ? a.model : c->model);
	free(a.text);
	free(a.model);
}

static bool retryable(long status)
{
	return status == 429 || status == 500 || status == 503 || status == 529;
}

static const char *transport_kind(CURLcode rc)
{
	switch (rc) {
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_RESOLVE_PROXY:
		return "DNS";
	case CURLE_COULDNT_CONNECT:
		return "connect";
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CIPHER:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_ISSUER_ERROR:
		return "TLS";
	case CURLE_PARTIAL_FILE:
	case CURLE_RECV_ERROR:
	case CURLE_GOT_NOTHING:
		return "truncated response";
	default:
		return "transfer";
	}
}

static void on_done(struct ai_ctx *c, CURLM *multi, struct job *j, CURLcode rc)
{
	long status = 0;
	long sent = 0;
	bool past_budget = false;

	curl_easy_getinfo(j->easy, CURLINFO_RESPONSE_CODE, &status);
	/* Bytes of request sent: 0 means the connection was never made (reused ones count). */
	curl_easy_getinfo(j->easy, CURLINFO_REQUEST_SIZE, &sent);
	job_finish(multi, j, JOB_DONE);
	if (rc == CURLE_OPERATION_TIMEDOUT) {
		if (!sent)
			fail(c, j->test, "timed out connecting to the API (connect timeout %ld ms)",
			     c->timeout_ms < AI_CONNECT_TIMEOUT_MS ? c->timeout_ms : AI_CONNECT_TIMEOUT_MS);
		else
			fail(c, j->test, "timed out after %ld ms waiting for the API (try %d)",
			     c->timeout_ms, j->tries);
		return;
	}
	if (rc == CURLE_WRITE_ERROR && j->overflow) {
		fail(c, j->test, "the API response is larger than %d bytes", AI_MAX_RESPONSE);
		return;
	}
	if (rc != CURLE_OK) {
		fail(c, j->test, "%s error: %s%s%s", transport_kind(rc), curl_easy_strerror(rc),
		     j->errbuf[0] ? ": " : "", j->errbuf);
		return;
	}
	if (retryable(status) && j->tries < c->max_tries) {
		long delay = j->retry_after_ms;

		if (delay < 0) {
			delay = c->backoff_ms << (j->tries - 1);
			delay += rand() % (c->backoff_ms / 2 + 1);
			if (delay > AI_RETRY_AFTER_MAX_MS)
				delay = AI_RETRY_AFTER_MAX_MS;
		}
		if (now_ns() + delay * 1000000LL < c->deadline) {
			j->not_before = now_ns() + delay * 1000000LL;
			j->state = JOB_QUEUED;
			return;
		}
		past_budget = true;
	}
	if (status != 200) {
		char e[256], tries[64] = "";

		api_error(j, e, sizeof(e));
		if (j->tries > 1)
			snprintf(tries, sizeof(tries), " after %d tries", j->tries);
		fail(c, j->test, "HTTP %ld from the API%s%s%s%s", status, tries,
		     past_budget ? " (the next try would pass the time budget)" : "",
		     e[0] ? ": " : "", e);
		return;
	}
	parse_answer(c, j);
}

static void run_jobs(struct ai_ctx *c)
{
	CURLM *multi = curl_multi_init();
	size_t k, left = 0;

	for (k = 0; k < c->njobs; k++)
		if (c->jobs[k].state == JOB_QUEUED)
			left++;
	if (!multi) {
		for (k = 0; k < c->njobs; k++)
			if (c->jobs[k].state == JOB_QUEUED) {
				c->jobs[k].state = JOB_DONE;
				fail(c, c->jobs[k].test, "cannot start libcurl");
			}
		return;
	}
	while (left) {
		int64_t now = now_ns(), wake = now + 1000000000LL;
		int running = 0, inq;
		bool finished = false;
		CURLMsg *m;

		if (now >= c->deadline)
			break;
		for (k = 0; k < c->njobs; k++)
			if (c->jobs[k].state == JOB_RUNNING)
				running++;
		for (k = 0; k < c->njobs && running < c->concurrency; k++) {
			struct job *j = &c->jobs[k];

			if (j->state != JOB_QUEUED)
				continue;
			if (j->not_before > now) {
				if (j->not_before < wake)
					wake = j->not_before;
				continue;
			}
			if (job_start(c, multi, j)) {
				j->state = JOB_DONE;
				fail(c, j->test, "cannot start a request");
				left--;
				continue;
			}
			running++;
		}
		if (wake > c->deadline)
			wake = c->deadline;
		curl_multi_perform(multi, &running);
		while ((m = curl_multi_info_read(multi, &inq))) {
			struct job *j = NULL;

			if (m->msg != CURLMSG_DONE)
				continue;
			curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&j);
			if (!j)
				continue;
			on_done(c, multi, j, m->data.result);
			if (j->state == JOB_DONE)
				left--;
			finished = true;
		}
		if (!left)
			break;
		if (finished)
			continue; /* a slot is free: start the next request before waiting */
		now = now_ns();
		curl_multi_poll(multi, NULL, 0, wake > now ? (int)((wake - now) / 1000000 + 1) : 0,
				NULL);
	}
	for (k = 0; k < c->njobs; k++) {
		struct job *j = &c->jobs[k];

		if (j->state != JOB_DONE) {
			job_finish(multi, j, JOB_DONE);
			fail(c, j->test, "not answered within the AI stage's time budget of %ld ms",
			     c->budget_ms);
		}
	}
	curl_multi_cleanup(multi);
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
		if (!model_valid(c.model)) {
			fail(&c, t, "invalid model id given to --ai-model");
			continue;
		}
		j->prompt = prompt_make(run, t, c.lits, &nred);
		if (!j->prompt) {
			fail(&c, t, "the prompt would exceed %d bytes", PROMPT_MAX_BYTES);
			continue;
		}
		/* Also what redact_run() replaced while loading: the marker is in the prompt. */
		t->ai->redacted = nred > 0 || strstr(j->prompt, REDACT_MARK) != NULL;
		cache_name(&c, j);
		if (cache_read(&c, j))
			continue;
		if (!c.key) {
			fail(&c, t, "not asked: %s", key_why);
			continue;
		}
		if ((int)nask >= c.max_tests) {
			fail(&c, t, "not asked: only the first %d flaky or broken tests (worst first) are "
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
					fail(&c, c.jobs[k].test, "not asked: %s",
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
					fail(&c, j->test, "cannot build the request body");
				}
			}
			if (c.headers)
				run_jobs(&c);
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
		buf_free(&c.jobs[k].resp);
	}
	free(c.jobs);
	free(c.url);
	if (hdr.data)
		explicit_bzero(hdr.data, hdr.cap);
	buf_free(&hdr);
	wipe_free(c.key);
	return 0;
}
