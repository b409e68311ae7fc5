/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of analyzer/redact.c. The cases (input, expected output, expected count) are data
 * in tests/data/redact_cases.txt, shared with the plugin's Python redactor so the two apply the
 * same rules: every secret shape redact.h promises, what must stay untouched (paths with line
 * numbers, host:port, test ids, ordinary prose), boundaries of each rule. Here also: literals,
 * overflow, hostile input (truncated shapes, huge lines, every byte value), redact_run().
 */
#include <check.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fh_check.h"
#include "model.h"
#include "redact.h"

#define CASES_FILE "tests/data/redact_cases.txt"

/* Decodes TEXT of a case line (escapes \\ \n \t \r \xHH) into a new string; NULL on a bad
 * escape. */
static char *unescape(const char *s)
{
	size_t n = strlen(s), i, o = 0;
	char *out = malloc(n + 1);

	for (i = 0; out && i < n; i++) {
		char c = s[i];

		if (c == '\\') {
			char e = s[++i];

			if (e == '\\')
				c = '\\';
			else if (e == 'n')
				c = '\n';
			else if (e == 't')
				c = '\t';
			else if (e == 'r')
				c = '\r';
			else if (e == 'x' && isxdigit((unsigned char)s[i + 1]) &&
				 isxdigit((unsigned char)s[i + 2])) {
				char hex[3] = { s[i + 1], s[i + 2], '\0' };

				c = (char)strtol(hex, NULL, 16);
				i += 2;
				if (!c)
					goto bad;
			} else {
				goto bad;
			}
		}
		out[o++] = c;
	}
	if (out)
		out[o] = '\0';
	return out;
bad:
	free(out);
	return NULL;
}

/* TEXT after "tag:" (and one blank), or NULL when line is not that tag. */
static const char *field(const char *line, const char *tag)
{
	size_t n = strlen(tag);

	if (strncmp(line, tag, n) || line[n] != ':')
		return NULL;
	line += n + 1;
	return *line == ' ' ? line + 1 : line;
}

/* The cases shared with the plugin's Python redactor (tests/py/test_plugin_redact.py). */
START_TEST(test_shared_cases)
{
	FILE *f = fopen(CASES_FILE, "r");
	char *line = NULL, *lit = NULL, *in = NULL, *want = NULL;
	size_t cap = 0;
	ssize_t len;
	int lineno = 0, ncases = 0, nfailed = 0;

	ck_assert_msg(f != NULL, "cannot open %s (run from the repository root)", CASES_FILE);
	while ((len = getline(&line, &cap, f)) >= 0) {
		const char *v;

		lineno++;
		if (len && line[len - 1] == '\n')
			line[--len] = '\0';
		if (!len || line[0] == '#')
			continue;
		if ((v = field(line, "literal"))) {
			free(lit);
			lit = unescape(v);
			ck_assert_msg(lit && !in, "%s:%d: bad literal line", CASES_FILE, lineno);
		} else if ((v = field(line, "in"))) {
			ck_assert_msg(!in, "%s:%d: 'in' without 'count' before", CASES_FILE, lineno);
			in = unescape(v);
			ck_assert_msg(in != NULL, "%s:%d: bad escape", CASES_FILE, lineno);
		} else if ((v = field(line, "out"))) {
			ck_assert_msg(in && !want, "%s:%d: 'out' out of place", CASES_FILE, lineno);
			want = unescape(v);
			ck_assert_msg(want != NULL, "%s:%d: bad escape", CASES_FILE, lineno);
		} else if ((v = field(line, "count"))) {
			const char *lits[] = { lit, NULL };
			struct buf b = BUF_INIT(1 << 20);
			char *end;
			long count = strtol(v, &end, 10);
			int n;

			ck_assert_msg(in && want && end != v && !*end, "%s:%d: bad count line",
				      CASES_FILE, lineno);
			n = redact(&b, in, lits);
			if (strcmp(buf_str(&b), want) || n != count) {
				fprintf(stderr, "%s:%d: got '%s' (%d), want '%s' (%ld)\n", CASES_FILE,
					lineno, buf_str(&b), n, want, count);
				nfailed++;
			}
			buf_free(&b);
			ncases++;
			free(lit);
			free(in);
			free(want);
			lit = in = want = NULL;
		} else {
			ck_abort_msg("%s:%d: unknown line '%s'", CASES_FILE, lineno, line);
		}
	}
	fclose(f);
	free(line);
	ck_assert_msg(!in && !lit, "%s: a case at the end has no count", CASES_FILE);
	ck_assert_msg(ncases >= 90, "%s: only %d cases", CASES_FILE, ncases);
	ck_assert_msg(!nfailed, "%d of %d shared cases failed (see stderr)", nfailed, ncases);
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

static Suite *redact_suite(void)
{
	Suite *s = suite_create("redact");
	TCase *tc = tcase_create("redact");

	tcase_add_test(tc, test_shared_cases);
	tcase_add_test(tc, test_literals);
	tcase_add_test(tc, test_overflow);
	tcase_add_test(tc, test_hostile);
	tcase_add_test(tc, test_run);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return fh_check_run(redact_suite());
}
