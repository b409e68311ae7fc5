/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the hostile-input parsers of analyzer/ai.c: Messages API response bodies
 * (good, thinking + text, error objects, wrong types everywhere, truncated, huge, control
 * characters) and .env contents (export, quotes, comments, CRLF, NUL bytes, invalid keys).
 */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ai.h"
#include "buf.h"
#include "fh_check.h"
#include "util.h"

struct pcase {
	const char *body;
	const char *text;   /* expected text, or NULL when parsing must fail */
	const char *model;  /* expected model (NULL: none) or a substring of the reason */
};

static const struct pcase pcases[] = {
	{ "{\"model\":\"claude-x\",\"content\":[{\"type\":\"text\",\"text\":\"  Hypo\\nthesis \"}]}",
	  "Hypo\nthesis", "claude-x" },
	{ "{\"content\":[{\"type\":\"thinking\",\"thinking\":\"t\"},{\"type\":\"text\",\"text\":\"a\"},"
	  "{\"type\":\"text\",\"text\":\"b\"}]}", "a\nb", NULL },
	{ "{\"model\":\"bad model\\r\\nx: y\",\"content\":[{\"type\":\"text\",\"text\":\"ok\"}]}",
	  "ok", NULL },
	{ "{\"model\":7,\"content\":[{\"type\":\"text\",\"text\":\"a\\u0000b\\u001bc\"}]}", "a", NULL },
	{ "{\"content\":[{\"type\":\"text\",\"text\":\"x\\u0007y\"}]}", "x y", NULL },
	{ "{\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}",
	  NULL, "overloaded_error: Overloaded" },
	{ "{\"type\":\"error\",\"error\":\"nope\"}", NULL, "answered with an error" },
	{ "{\"content\":[{\"type\":\"tool_use\"}],\"stop_reason\":\"tool_use\"}", NULL,
	  "no text content (stop_reason: tool_use)" },
	{ "{\"content\":[{\"type\":\"text\",\"text\":17}]}", NULL, "no text content" },
	{ "{\"content\":[\"text\",null,1,[],{\"type\":[\"text\"],\"text\":\"x\"}]}", NULL,
	  "no text content" },
	{ "{\"content\":\"text\"}", NULL, "no text content" },
	{ "{\"content\":{\"type\":\"text\",\"text\":\"x\"}}", NULL, "no text content" },
	{ "{\"content\":[{\"type\":\"text\",\"text\":\"   \\n\\t \"}]}", NULL, "no text content" },
	{ "{\"content\":[{\"type\":\"text\",\"te", NULL, "malformed JSON" },
	{ "[1,2,3]", NULL, "malformed JSON" },
	{ "\"text\"", NULL, "malformed JSON" },
	{ "", NULL, "malformed JSON in the API response (0 bytes)" },
	{ "<html>502 Bad Gateway</html>", NULL, "malformed JSON" },
};

START_TEST(test_response_cases)
{
	const struct pcase *c = &pcases[_i];
	struct ai_answer a;
	char why[256];
	int r = ai_parse_response(c->body, strlen(c->body), &a, why, sizeof(why));

	if (c->text) {
		ck_assert_msg(r == 0, "'%s' failed: %s", c->body, why);
		ck_assert_str_eq(a.text, c->text);
		if (c->model)
			ck_assert_str_eq(a.model, c->model);
		else
			ck_assert_ptr_null(a.model);
		free(a.text);
		free(a.model);
	} else {
		ck_assert_int_eq(r, -EBADMSG);
		ck_assert_ptr_null(a.text);
		ck_assert_msg(strstr(why, c->model), "'%s': reason '%s' lacks '%s'", c->body, why,
			      c->model);
		ck_assert_ptr_null(strchr(why, '\n'));
	}
}
END_TEST

/* The length is honoured: bytes past len are never read; a NULL body is malformed. */
START_TEST(test_response_length)
{
	const char *body = "{\"content\":[{\"type\":\"text\",\"text\":\"ok\"}]}GARBAGE";
	struct ai_answer a;
	char why[256];

	ck_assert_int_eq(ai_parse_response(body, strlen(body) - 7, &a, why, sizeof(why)), 0);
	ck_assert_str_eq(a.text, "ok");
	free(a.text);
	ck_assert_int_eq(ai_parse_response(body, 20, &a, why, sizeof(why)), -EBADMSG);
	ck_assert_int_eq(ai_parse_response(NULL, 5, &a, why, sizeof(why)), -EBADMSG);
}
END_TEST

/* A huge answer is cut to 16 KiB; invalid UTF-8 becomes '?'. */
START_TEST(test_response_huge)
{
	struct buf b = BUF_INIT(1 << 22);
	struct ai_answer a;
	char why[256];
	int i;

	buf_puts(&b, "{\"content\":[{\"type\":\"text\",\"text\":\"\xff");
	for (i = 0; i < 100000; i++)
		buf_puts(&b, "word ");
	buf_puts(&b, "\"},{\"type\":\"text\",\"text\":\"more\"}]}");
	ck_assert_int_eq(ai_parse_response(buf_str(&b), buf_len(&b), &a, why, sizeof(why)), 0);
	ck_assert_uint_le(strlen(a.text), 16 * 1024);
	ck_assert_int_eq(a.text[0], '?');
	free(a.text);
	buf_free(&b);
}
END_TEST

struct dcase {
	const char *data;
	size_t len;       /* 0: strlen */
	const char *key;  /* expected, or NULL */
};

static const struct dcase dcases[] = {
	{ "ANTHROPIC_API_KEY=sk-ant-1", 0, "sk-ant-1" },
	{ "export ANTHROPIC_API_KEY=abc\n", 0, "abc" },
	{ "  export   ANTHROPIC_API_KEY  =  'quoted key-no'  # c\r\n", 0, NULL },
	{ "ANTHROPIC_API_KEY=\"k-1\"\r\n", 0, "k-1" },
	{ "ANTHROPIC_API_KEY=abc # comment\r\n", 0, "abc" },
	{ "ANTHROPIC_API_KEY=abc\r\n", 0, "abc" },
	{ "ANTHROPIC_API_KEY=a\nANTHROPIC_API_KEY=b\n", 0, "b" },
	{ "ANTHROPIC_API_KEY=a\nANTHROPIC_API_KEY=\n", 0, "a" },
	{ "ANTHROPIC_API_KEY=\"unterminated\n", 0, NULL },
	{ "ANTHROPIC_API_KEY=bad\x01key\n", 0, NULL },
	{ "ANTHROPIC_API_KEY=\n", 0, NULL },
	{ "# ANTHROPIC_API_KEY=commented\n", 0, NULL },
	{ "ANTHROPIC_API_KEYX=no\n", 0, NULL },
	{ "MY_ANTHROPIC_API_KEY=no\n", 0, NULL },
	{ "ANTHROPIC_API_KEY", 0, NULL },
	{ "ANTHROPIC_API_KEY=ab\0cd\n", 24, NULL },
	{ "\0\0\0ANTHROPIC_API_KEY=x\n", 0, NULL },
	{ "X=1\n\0\nANTHROPIC_API_KEY=x\n", 26, "x" },
	{ "", 0, NULL },
};

START_TEST(test_dotenv_cases)
{
	const struct dcase *c = &dcases[_i];
	const char *why = NULL;
	char *key = ai_dotenv_parse(c->data, c->len ? c->len : strlen(c->data), &why);

	if (c->key) {
		ck_assert_msg(key != NULL, "case %d: no key (%s)", _i, why);
		ck_assert_str_eq(key, c->key);
	} else {
		ck_assert_msg(key == NULL, "case %d: got key '%s'", _i, key);
		ck_assert_ptr_nonnull(why);
	}
	free(key);
}
END_TEST

/* Header lines as the HTTP library hands them to the callback; now = 2026-01-01T00:00:00Z. */
static const struct { const char *line; long cur, want; } hcases[] = {
	{ "retry-after: 3\r\n", -1, 3000 },
	{ "Retry-After:   0.5\r\n", -1, 500 },
	{ "retry-after-ms: 1500\r\n", -1, 1500 },
	{ "retry-after: 120\r\n", -1, 60000 },                       /* at most a minute */
	{ "retry-after: Thu, 01 Jan 2026 00:00:07 GMT\r\n", -1, 7000 },
	{ "retry-after: Wed, 31 Dec 2025 23:00:00 GMT\r\n", -1, 0 },  /* past: now */
	{ "retry-after: Fri, 31 Dec 9999 23:59:59 GMT\r\n", -1, 60000 }, /* no overflow */
	{ "retry-after: soon\r\n", 250, 250 },                      /* unparsable: kept */
	{ "retry-after: -5\r\n", 250, 250 },
	{ "retry-after:\r\n", 250, 250 },
	{ "content-type: application/json\r\n", 250, 250 },
	{ "HTTP/1.1 429 Too Many Requests\r\n", 250, -1 },            /* a new response */
};

START_TEST(test_retry_after_cases)
{
	const char *l = hcases[_i].line;

	ck_assert_int_eq(ai_retry_after(l, strlen(l), hcases[_i].cur, (time_t)1767225600),
			 hcases[_i].want);
}
END_TEST

START_TEST(test_cache_parse)
{
	const char *good = "{\"model\":\"claude-sonnet-4-5\",\"text\":\"waits on a socket\"}";
	const char *bad[] = { "", "{}", "[]", "{\"model\":\"a b\",\"text\":\"x\"}",
			      "{\"model\":\"claude\",\"text\":\"\"}", "{\"model\":1,\"text\":\"x\"}" };
	char *text, *model;

	ck_assert_int_eq(ai_cache_parse(good, strlen(good), &text, &model), 0);
	ck_assert_str_eq(text, "waits on a socket");
	ck_assert_str_eq(model, "claude-sonnet-4-5");
	free(text);
	free(model);
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		ck_assert_int_eq(ai_cache_parse(bad[i], strlen(bad[i]), &text, &model), -EBADMSG);
		ck_assert_ptr_null(text);
		ck_assert_ptr_null(model);
	}
}
END_TEST

static Suite *ai_parse_suite(void)
{
	Suite *s = suite_create("ai_parse");
	TCase *tc = tcase_create("parse");

	tcase_add_loop_test(tc, test_response_cases, 0, (int)ARRAY_SIZE(pcases));
	tcase_add_test(tc, test_response_length);
	tcase_add_test(tc, test_response_huge);
	tcase_add_loop_test(tc, test_dotenv_cases, 0, (int)ARRAY_SIZE(dcases));
	tcase_add_loop_test(tc, test_retry_after_cases, 0, (int)ARRAY_SIZE(hcases));
	tcase_add_test(tc, test_cache_parse);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return fh_check_run(ai_parse_suite());
}
