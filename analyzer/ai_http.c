/* SPDX-License-Identifier: MIT */
/*
 * The AI stage's requests (ai_int.h): one curl multi handle, at most `concurrency` requests at
 * a time, each with connect and total timeouts; 429, 500, 503 and 529 retried with
 * exponential backoff that honours retry-after; the response parsed as hostile input.
 */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>
#include <curl/curl.h>

#include "ai_int.h"
#include "redact.h"

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
long ai_retry_after(const char *p, size_t len, long cur, time_t now)
{
	char val[64];
	size_t k, v;
	bool ms = false;

	if (len >= 5 && !strncmp(p, "HTTP/", 5))
		return -1;
	if (header_is(p, len, "retry-after-ms"))
		k = 15, ms = true;
	else if (header_is(p, len, "retry-after"))
		k = 12;
	else
		return cur;
	while (k < len && (p[k] == ' ' || p[k] == '\t'))
		k++;
	for (v = 0; k < len && v + 1 < sizeof(val) && p[k] != '\r' && p[k] != '\n'; k++)
		val[v++] = p[k];
	val[v] = '\0';
	if (v && !memchr(val, '\0', v)) {
		char *end;
		double d;

		errno = 0;
		d = strtod(val, &end);
		if (!errno && end != val && *end == '\0' && d >= 0 && d < 1e7) {
			cur = (long)(ms ? d : d * 1000);
		} else {
			time_t when = curl_getdate(val, NULL);

			/* compared in seconds first: a date far ahead must not overflow the ms */
			if (when > 0)
				cur = when <= now ? 0 : when - now > AI_RETRY_AFTER_MAX_MS / 1000 ?
					AI_RETRY_AFTER_MAX_MS : (long)(when - now) * 1000;
		}
		if (cur > AI_RETRY_AFTER_MAX_MS)
			cur = AI_RETRY_AFTER_MAX_MS;
	}
	return cur;
}

/* retry-after: seconds or an HTTP date; retry-after-ms: milliseconds. */
static size_t on_header(char *p, size_t size, size_t n, void *ud)
{
	struct job *j = ud;
	size_t len = size * n;

	j->retry_after_ms = ai_retry_after(p, len, j->retry_after_ms, time(NULL));
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
	cJSON *root = cJSON_ParseWithLength(buf_str(&j->resp), buf_len(&j->resp));

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
		if (buf_len(&text))
			buf_putc(&text, '\n');
		n = strlen(tx->valuestring);
		room = buf_len(&text) < AI_MAX_TEXT ? AI_MAX_TEXT - buf_len(&text) : 0;
		buf_add(&text, tx->valuestring, n < room ? n : room);
	}
	out->text = ai_clean_text(buf_str(&text), AI_MAX_TEXT);
	if (!out->text[0]) {
		stop = cJSON_GetObjectItemCaseSensitive(root, "stop_reason");
		snprintf(why, whysz, "the API response has no text content (stop_reason: %.40s)",
			 cJSON_IsString(stop) ? stop->valuestring : "none");
		free(out->text);
		out->text = NULL;
		goto out;
	}
	model = cJSON_GetObjectItemCaseSensitive(root, "model");
	if (cJSON_IsString(model) && ai_model_valid(model->valuestring))
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

	if (ai_parse_response(buf_str(&j->resp), buf_len(&j->resp), &a, why, sizeof(why))) {
		ai_fail(c, j->test, "%s", why);
		return;
	}
	ai_succeed(c, j->test, a.text, a.model ? a.model : c->model, false);
	ai_cache_write(c, j, a.text, a.model ? a.model : c->model);
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
			ai_fail(c, j->test, "timed out connecting to the API (connect timeout %ld ms)",
				c->timeout_ms < AI_CONNECT_TIMEOUT_MS ? c->timeout_ms : AI_CONNECT_TIMEOUT_MS);
		else
			ai_fail(c, j->test, "timed out after %ld ms waiting for the API (try %d)",
				c->timeout_ms, j->tries);
		return;
	}
	if (rc == CURLE_WRITE_ERROR && j->overflow) {
		ai_fail(c, j->test, "the API response is larger than %d bytes", AI_MAX_RESPONSE);
		return;
	}
	if (rc != CURLE_OK) {
		ai_fail(c, j->test, "%s error: %s%s%s", transport_kind(rc), curl_easy_strerror(rc),
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
		ai_fail(c, j->test, "HTTP %ld from the API%s%s%s%s", status, tries,
			past_budget ? " (the next try would pass the time budget)" : "",
			e[0] ? ": " : "", e);
		return;
	}
	parse_answer(c, j);
}

void ai_run_jobs(struct ai_ctx *c)
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
				ai_fail(c, c->jobs[k].test, "cannot start libcurl");
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
				ai_fail(c, j->test, "cannot start a request");
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
			ai_fail(c, j->test, "not answered within the AI stage's time budget of %ld ms",
				c->budget_ms);
		}
	}
	curl_multi_cleanup(multi);
}
