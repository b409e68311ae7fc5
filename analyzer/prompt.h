/* SPDX-License-Identifier: MIT */
/*
 * The LLM prompt for one flaky or broken test, built from the in-memory model only (no
 * network, no files), so it can be tested offline: the test id, flake rate with its interval,
 * duration statistics, every failure cluster (exception, message, innermost frames), the
 * deterministic diagnosis with its evidence lines, the performance-flake summary, for a few
 * failing and passing attempts the last blocking call (with its stack), signals, failed
 * calls, calls in flight, children, time split and resource counts, and the history trends.
 * Never source code (struct fh_frame.source is left out on purpose). Every part is bounded in
 * length, so the prompt stays small whatever the run holds.
 */
#ifndef FH_PROMPT_H
#define FH_PROMPT_H

#include "model.h"

#define PROMPT_MAX_BYTES (64 * 1024)
#define PROMPT_MAX_TOKENS 2000 /* max_tokens: a short answer plus room for adaptive thinking */

/* The system prompt: role, the no-source-code situation, and the answer wanted. */
extern const char prompt_system[];

/* Appends the raw (not yet redacted) prompt of t to out. Returns 0 or -ENOBUFS. */
int prompt_build(const struct fh_run *run, const struct fh_test *t, struct buf *out);

/* The prompt to send: prompt_build(), then redact() with the given literals (e.g. the API
 * key; may be NULL), then invalid UTF-8 replaced by '?'. Caller frees. *nredacted gets the
 * number of redactions. NULL only when the prompt would not fit PROMPT_MAX_BYTES. */
char *prompt_make(const struct fh_run *run, const struct fh_test *t,
		  const char *const *literals, int *nredacted);

/* The Messages API request body: {"model", "max_tokens", "system", "messages": [{"role":
 * "user", "content": prompt}]}. Caller frees; NULL on allocation failure. */
char *prompt_request_body(const char *model, int max_tokens, const char *prompt);

/* Replaces every byte that is not part of valid UTF-8 with '?', in place. */
void utf8_sanitize(char *s);

#endif
