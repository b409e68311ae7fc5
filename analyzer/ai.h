/* SPDX-License-Identifier: MIT */
/*
 * The two parsers of the AI stage (analyzer/ai.c) that read hostile input, exposed so unit
 * tests and fuzz targets can drive them without a network or a working directory. ai_run()
 * itself is declared in stages.h.
 */
#ifndef FH_AI_H
#define FH_AI_H

#include <stddef.h>
#include <time.h>

struct ai_answer {
	char *text;   /* the hypothesis: trimmed, control characters and invalid UTF-8 replaced,
		       * at most 16 KiB; caller frees */
	char *model;  /* the response's "model" when it is a plausible model id; may be NULL;
		       * caller frees */
};

/* Parses a Messages API response body (any bytes, len of them). Returns 0 with out filled,
 * or -EBADMSG with a one-line reason in why (malformed JSON, an error object, no text
 * content). */
int ai_parse_response(const char *data, size_t len, struct ai_answer *out, char *why,
		      size_t whysz);

/* A cached answer's contents (any bytes, len of them; someone may have edited the file):
 * {"model": a plausible model id, "text": non-empty once cleaned}. Returns 0 with *text (the
 * cleaned text) and *model set (caller frees both), or -EBADMSG. */
int ai_cache_parse(const char *data, size_t len, char **text, char **model);

/* The retry delay in ms a response header line (any bytes, len of them, as the HTTP library
 * gives it: "Name: value\r\n") sets: retry-after (seconds or an HTTP date), retry-after-ms
 * (milliseconds), at most AI_RETRY_AFTER_MAX_MS; a status line ("HTTP/...") resets it to -1
 * (none); any other line leaves it (returns cur). now: the current time, for dates. */
#define AI_RETRY_AFTER_MAX_MS 60000L
long ai_retry_after(const char *line, size_t len, long cur, time_t now);

/* The ANTHROPIC_API_KEY of a .env file's contents (any bytes, len of them): lines
 * `[export ]ANTHROPIC_API_KEY=VALUE`, VALUE optionally quoted with ' or ", unquoted values
 * end at whitespace or '#'; the last valid assignment wins; a key is 1-512 visible ASCII
 * characters. Returns the key (caller wipes and frees) or NULL with *why set. */
char *ai_dotenv_parse(const char *data, size_t len, const char **why);

#endif
