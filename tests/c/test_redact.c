/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of analyzer/redact.c: each case is data (input, expected output, expected count),
 * covering every secret shape redact.h promises, what must stay untouched (paths with line
 * numbers, host:port, test ids, ordinary prose), and hostile input (truncated shapes, huge
 * lines, every byte value).
 */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "model.h"
#include "redact.h"

struct rcase {
	const char *in, *out;
	int count;
};

static const struct rcase cases[] = {
	/* Token shapes. */
	{ "key sk-ant-api03-AbCdEf0123456789_xyz-QQ end", "key [REDACTED] end", 1 },
	{ "sk-proj-abcdefghijklmnop1234", "[REDACTED]", 1 },
	{ "openai sk-abcdefghijklmnopqrstuvwx", "openai [REDACTED]", 1 },
	{ "gh ghp_0123456789abcdefghijABCDEFGHIJ.", "gh [REDACTED].", 1 },
	{ "github_pat_11ABCDEFG0123456789_abcdefghijkl", "[REDACTED]", 1 },
	{ "slack xoxb-1234567890-abcdef", "slack [REDACTED]", 1 },
	{ "gitlab glpat-abcdefghij0123456789", "gitlab [REDACTED]", 1 },
	{ "aws AKIAIOSFODNN7EXAMPLE ok", "aws [REDACTED] ok", 1 },
	{ "aws ASIAIOSFODNN7EXAMPLE", "aws [REDACTED]", 1 },
	{ "google AIzaSyA-abcdefghijklmnopqrstuvwxyz012345", "google [REDACTED]", 1 },
	{ "stripe sk_live_abcdefghijklmnop", "stripe [REDACTED]", 1 },
	{ "jwt eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.sig-nature_x here",
	  "jwt [REDACTED] here", 1 },
	{ "-----BEGIN RSA PRIVATE KEY-----\nMIIEabc\n-----END RSA PRIVATE KEY----- after",
	  "[REDACTED] after", 1 },
	{ "-----BEGIN CERTIFICATE-----", "-----BEGIN CERTIFICATE-----", 0 },
	/* Bearer and basic credentials. */
	{ "sent Bearer abc.def-ghi_jkl", "sent Bearer [REDACTED]", 1 },
	{ "basic dXNlcjpwYXNzd29yZA==", "basic [REDACTED]", 1 },
	{ "a bearer of bad news", "a bearer of bad news", 0 },
	/* Passwords in URLs. */
	{ "postgres://app:s3cret@db:5432/x", "postgres://app:[REDACTED]@db:5432/x", 1 },
	{ "https://user:p%40ss@h/", "https://user:[REDACTED]@h/", 1 },
	{ "https://user@host/x", "https://user@host/x", 0 },
	{ "http://host:8080/a@b", "http://host:8080/a@b", 0 },
	/* KEY=VALUE and friends. */
	{ "password=hunter2 next", "password=[REDACTED] next", 1 },
	{ "DB_PASSWORD = 'hunter2'", "DB_PASSWORD = '[REDACTED]'", 1 },
	{ "{\"api_key\": \"abc123\", \"user\": \"bob\"}",
	  "{\"api_key\": \"[REDACTED]\", \"user\": \"bob\"}", 1 },
	{ "{'client_secret': 'xyz', 'n': 1}", "{'client_secret': '[REDACTED]', 'n': 1}", 1 },
	{ "Authorization: Bearer abcdefgh12345678", "Authorization: [REDACTED]", 1 },
	{ "X-Auth-Token: t0k3n;", "X-Auth-Token: [REDACTED];", 1 },
	{ "SECRET_KEY=abc&user=x", "SECRET_KEY=[REDACTED]&user=x", 1 },
	{ "assert token == 'abc'", "assert token == '[REDACTED]'", 1 },
	{ "apikey:xyz", "apikey:[REDACTED]", 1 },
	{ "escaped {\\\"token\\\": \\\"val\\\"}", "escaped {\\\"token\\\": \\\"[REDACTED]\\\"}", 1 },
	{ "session_id=42abc", "session_id=[REDACTED]", 1 },
	{ "password=", "password=", 0 },
	{ "password=[REDACTED]", "password=[REDACTED]", 0 },
	/* Things that only look like keys. */
	{ "tests/test_token.py:42 in test_auth", "tests/test_token.py:42 in test_auth", 0 },
	{ "tests/test_auth.py::test_token_refresh", "tests/test_auth.py::test_token_refresh", 0 },
	{ "token-server:8080 refused", "token-server:8080 refused", 0 },
	{ "the token expired", "the token expired", 0 },
	{ "risk-assessment-tool", "risk-assessment-tool", 0 },
	{ "task-abcdefghijklmnopqrstuvwxyz", "task-abcdefghijklmnopqrstuvwxyz", 0 },
	{ "xAKIAIOSFODNN7EXAMPLE", "xAKIAIOSFODNN7EXAMPLE", 0 },
	{ "AKIA123", "AKIA123", 0 },
	{ "sk-short", "sk-short", 0 },
	{ "eyJhbGciOi.x", "eyJhbGciOi.x", 0 },
	{ "", "", 0 },
	/* Several in one line. */
	{ "u=postgres://a:b@h token=t ghp_0123456789abcdefghijABCD",
	  "u=postgres://a:[REDACTED]@h token=[REDACTED] [REDACTED]", 3 },
};

START_TEST(test_cases)
{
	const struct rcase *c = &cases[_i];
	struct buf b = BUF_INIT(1 << 20);
	int n = redact(&b, c->in, NULL);

	ck_assert_msg(!strcmp(buf_str(&b), c->out), "in '%s': got '%s', want '%s'", c->in,
		      buf_str(&b), c->out);
	ck_assert_int_eq(n, c->count);
	buf_free(&b);
}
END_TEST

START_TEST(test_literals)
{
	const char *lits[] = { "my-own-key-value", "abc", NULL };
	int n = 0;
	char *s = redact_dup("key my-own-key-value twice my-own-key-value; abc stays", lits, &n);

	ck_assert_str_eq(s, "key [REDACTED] twice [REDACTED]; abc stays");
	ck_assert_int_eq(n, 2);
	free(s);
}
END_TEST

START_TEST(test_overflow)
{
	struct buf b = BUF_INIT(8);

	ck_assert_int_eq(redact(&b, "password=hunter2 and more text", NULL), -ENOBUFS);
	buf_free(&b);
}
END_TEST

/* Hostile input: every byte value, truncated shapes at the end of the input, a long line. */
START_TEST(test_hostile)
{
	static const char *const tails[] = {
		"password", "password=", "password='", "\"token\": \"", "sk-ant-", "eyJ", "eyJabcdefghij.",
		"://", "://u:", "://u:p", "-----BEGIN ", "-----BEGIN RSA PRIVATE KEY-----", "Bearer",
		"Bearer ", "AKIA", "https://a:b", "token:\\", "x=\\\"",
	};
	char all[256];
	size_t k, len = 1 << 20;
	char *big = malloc(len + 1);
	int i;

	for (i = 1; i < 256; i++)
		all[i - 1] = (char)i;
	all[255] = '\0';
	free(redact_dup(all, NULL, NULL));
	for (k = 0; k < ARRAY_SIZE(tails); k++) {
		char *s = redact_dup(tails[k], NULL, NULL);

		ck_assert_ptr_nonnull(s);
		free(s);
	}
	for (k = 0; k < len; k++)
		big[k] = "password=x:// eyJ"[k % 17];
	big[len] = '\0';
	free(redact_dup(big, NULL, NULL));
	free(big);
}
END_TEST

/* redact_run() on a small model: messages of attempts and clusters, and the env key. */
START_TEST(test_run)
{
	struct fh_run run = { 0 };
	struct fh_test *t;
	struct fh_attempt *a;

	setenv("ANTHROPIC_API_KEY", "literal-key-0123456789", 1);
	run.tests = t = arena_alloc(&run.arena, sizeof(*t));
	run.ntests = 1;
	t->attempts = a = arena_alloc(&run.arena, 2 * sizeof(*a));
	t->nattempts = 2;
	a[0].error_message = "password=hunter2 with literal-key-0123456789";
	a[1].error_message = NULL;
	t->clusters = arena_alloc(&run.arena, sizeof(*t->clusters));
	t->nclusters = 1;
	t->clusters[0].message = "ghp_0123456789abcdefghijABCD";
	ck_assert_int_eq(redact_run(&run), 3);
	ck_assert_str_eq(a[0].error_message, "password=[REDACTED] with [REDACTED]");
	ck_assert_str_eq(t->clusters[0].message, "[REDACTED]");
	arena_free(&run.arena);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("redact");
	TCase *tc = tcase_create("redact");
	SRunner *sr;
	int failed;

	tcase_add_loop_test(tc, test_cases, 0, (int)ARRAY_SIZE(cases));
	tcase_add_test(tc, test_literals);
	tcase_add_test(tc, test_overflow);
	tcase_add_test(tc, test_hostile);
	tcase_add_test(tc, test_run);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
