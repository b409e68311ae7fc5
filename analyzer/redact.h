/* SPDX-License-Identifier: MIT */
/*
 * Secret redaction: everything the analyzer sends to an outside service (the LLM prompt of
 * analyzer/ai.c) and every reason line it keeps from one goes through redact() first. It
 * replaces what looks secret with the marker REDACT_MARK and counts what it replaced:
 *
 *   - known token shapes: Anthropic/OpenAI keys (sk-ant-..., sk-...), GitHub tokens (ghp_,
 *     gho_, ghu_, ghs_, ghr_, github_pat_), Slack (xox?-), GitLab (glpat-), Stripe (sk_live_,
 *     rk_live_), Google (AIza...), AWS access key ids (AKIA/ASIA + 16), JWTs (eyJ...x.y.z),
 *     PEM private key blocks;
 *   - bearer/basic credentials ("Bearer abc...": the word stays, the token goes);
 *   - passwords in URLs ("scheme://user:PASSWORD@host": the user stays);
 *   - KEY=VALUE, KEY: VALUE, "KEY": "VALUE", 'KEY': 'VALUE' where KEY (any case) contains one
 *     of secret, token, passw, pwd, apikey, api_key, api-key, access_key, accesskey,
 *     private_key, privatekey, credential, authorization, auth, cookie, session_id: the value
 *     goes;
 *   - caller-supplied literals (the API key itself), wherever they occur.
 *
 * It errs on the side of redacting too much. Input is any NUL-terminated bytes; output is
 * appended to a struct buf.
 *
 * The pytest plugin applies the same rules to the attempt records it writes
 * (plugin/pytest_flakehunter/redact.py). A rule change goes into both, with a case in
 * tests/data/redact_cases.txt, which tests/c/analyzer/test_redact.c and tests/py/test_plugin_redact.py
 * both check.
 */
#ifndef FH_REDACT_H
#define FH_REDACT_H

#include "buf.h"

#define REDACT_MARK "[REDACTED]"

/* Appends in, redacted, to out. literals: NULL-terminated array of exact strings to redact
 * (may be NULL; entries shorter than 4 bytes are ignored). Returns the number of
 * redactions (>= 0), or -ENOBUFS when out overflowed. */
int redact(struct buf *out, const char *in, const char *const *literals);

/* Convenience: a redacted copy of in (caller frees); *count gets the number of redactions
 * when count is not NULL. Never NULL. */
char *redact_dup(const char *in, const char *const *literals, int *count);

/*
 * Redacts, in the model, the strings that come from what tests printed or raised (attempt
 * error messages and types, which clusters borrow, the source lines of traceback frames,
 * which may hold a hard-coded secret, and the captured output of failing attempts), so no writer (JSON, HTML, history, prompt)
 * sees a secret from a failure message. ANTHROPIC_API_KEY from the environment is redacted as a
 * literal too. Call it right after run_load(). Replaced strings are allocated from run->arena.
 * Returns the number of redactions.
 */
struct fh_run;
int redact_run(struct fh_run *run);

#endif
