/* SPDX-License-Identifier: MIT */
/*
 * Secret redaction (see redact.h for what counts as secret). One left-to-right pass: at each
 * position the matchers are tried in a fixed order (literals, PEM blocks, JWTs, token
 * prefixes, bearer/basic credentials, URL passwords, KEY=VALUE pairs); the first that matches
 * appends its replacement and moves past what it consumed, otherwise one byte is copied. Every
 * matcher looks only at bytes before the terminating NUL, so any input is safe.
 */
#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "model.h"
#include "redact.h"

struct scan {
	const char *s;
	size_t i;
	struct buf *out;
	int count;
};

static bool is_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

/* Characters of API tokens. */
static bool is_tok(char c)
{
	return is_alnum(c) || c == '_' || c == '-';
}

/* Characters of a KEY in KEY=VALUE. */
static bool is_ident(char c)
{
	return is_tok(c) || c == '.';
}

/* Characters of a bearer credential (RFC 6750 b64token). */
static bool is_b64tok(char c)
{
	return is_alnum(c) || strchr("-._~+/=", c) != NULL;
}

static bool starts_ci(const char *s, const char *word)
{
	for (; *word; s++, word++)
		if (tolower((unsigned char)*s) != *word)
			return false;
	return true;
}

static void mark(struct scan *sc)
{
	buf_puts(sc->out, REDACT_MARK);
	sc->count++;
}

static size_t span(const char *s, bool (*cls)(char))
{
	size_t n = 0;

	while (s[n] && cls(s[n]))
		n++;
	return n;
}

static bool match_literal(struct scan *sc, const char *const *lits)
{
	for (; lits && *lits; lits++) {
		size_t n = strlen(*lits);

		if (n >= 4 && !strncmp(sc->s + sc->i, *lits, n)) {
			mark(sc);
			sc->i += n;
			return true;
		}
	}
	return false;
}

/* -----BEGIN ... PRIVATE KEY----- up to the matching END line (or the end of the input). */
static bool match_pem(struct scan *sc)
{
	const char *p = sc->s + sc->i, *eol, *end;

	if (strncmp(p, "-----BEGIN ", 11))
		return false;
	eol = strstr(p + 11, "-----");
	if (!eol || eol - p > 80 || !memmem(p, (size_t)(eol - p), "PRIVATE KEY", 11))
		return false;
	end = strstr(eol + 5, "-----END ");
	if (end) {
		const char *close = strstr(end + 9, "-----");

		end = close ? close + 5 : end + 9;
	} else {
		end = p + strlen(p);
	}
	mark(sc);
	sc->i += (size_t)(end - p);
	return true;
}

static bool match_jwt(struct scan *sc)
{
	const char *p = sc->s + sc->i;
	size_t a, b, c;

	if (strncmp(p, "eyJ", 3) || (sc->i && is_tok(sc->s[sc->i - 1])))
		return false;
	a = span(p, is_tok);
	if (a < 10 || p[a] != '.')
		return false;
	b = span(p + a + 1, is_tok);
	if (b < 4 || p[a + 1 + b] != '.')
		return false;
	c = span(p + a + 2 + b, is_tok);
	mark(sc);
	sc->i += a + 2 + b + c;
	return true;
}

static bool is_upper_alnum(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

static const struct {
	const char *prefix;
	size_t min_body;
	bool (*cls)(char);
} token_shapes[] = {
	{ "sk-ant-", 16, is_tok }, { "sk-proj-", 16, is_tok }, { "sk-", 20, is_tok },
	{ "ghp_", 20, is_tok }, { "gho_", 20, is_tok }, { "ghu_", 20, is_tok },
	{ "ghs_", 20, is_tok }, { "ghr_", 20, is_tok }, { "github_pat_", 20, is_tok },
	{ "xoxb-", 10, is_tok }, { "xoxp-", 10, is_tok }, { "xoxa-", 10, is_tok },
	{ "xoxr-", 10, is_tok }, { "xoxs-", 10, is_tok }, { "glpat-", 16, is_tok },
	{ "sk_live_", 16, is_tok }, { "sk_test_", 16, is_tok }, { "rk_live_", 16, is_tok },
	{ "AIza", 30, is_tok }, { "AKIA", 16, is_upper_alnum }, { "ASIA", 16, is_upper_alnum },
};

static bool match_token(struct scan *sc)
{
	const char *p = sc->s + sc->i;
	size_t k;

	if (sc->i && is_alnum(sc->s[sc->i - 1]))
		return false;
	for (k = 0; k < ARRAY_SIZE(token_shapes); k++) {
		size_t n = strlen(token_shapes[k].prefix), body;

		if (strncmp(p, token_shapes[k].prefix, n))
			continue;
		body = span(p + n, token_shapes[k].cls);
		if (body < token_shapes[k].min_body)
			continue;
		mark(sc);
		sc->i += n + body;
		return true;
	}
	return false;
}

/* "Bearer <token>" / "Basic <token>": the scheme word stays. */
static bool match_bearer(struct scan *sc)
{
	const char *p = sc->s + sc->i;
	size_t w, sp, t;

	if (sc->i && is_alnum(sc->s[sc->i - 1]))
		return false;
	if (starts_ci(p, "bearer"))
		w = 6;
	else if (starts_ci(p, "basic"))
		w = 5;
	else
		return false;
	for (sp = 0; p[w + sp] == ' ' || p[w + sp] == '\t'; sp++)
		;
	if (!sp)
		return false;
	t = span(p + w + sp, is_b64tok);
	if (t < 8)
		return false;
	buf_add(sc->out, p, w + sp);
	mark(sc);
	sc->i += w + sp + t;
	return true;
}

/* scheme://user:PASSWORD@host: the user stays. */
static bool match_url_password(struct scan *sc)
{
	const char *p = sc->s + sc->i, *colon = NULL;
	size_t k;

	if (strncmp(p, "://", 3))
		return false;
	for (k = 3; k < 3 + 512 && p[k]; k++) {
		char c = p[k];

		if (c == '@')
			break;
		if (c == ':' && !colon)
			colon = p + k;
		if (isspace((unsigned char)c) || strchr("/?#\"'<>", c))
			return false;
	}
	if (p[k] != '@' || !colon || colon + 1 == p + k)
		return false;
	buf_add(sc->out, p, (size_t)(colon + 1 - p));
	mark(sc);
	buf_putc(sc->out, '@');
	sc->i += k + 1;
	return true;
}

static bool secret_key(const char *key, size_t n)
{
	static const char *const words[] = {
		"secret", "token", "passw", "pwd", "apikey", "api_key", "api-key", "access_key",
		"accesskey", "private_key", "privatekey", "credential", "authorization", "auth_",
		"_auth", "auth-", "-auth", "cookie", "session_id", "sessionid",
	};
	char low[128];
	size_t k;

	if (n >= sizeof(low))
		n = sizeof(low) - 1;
	for (k = 0; k < n; k++)
		low[k] = (char)tolower((unsigned char)key[k]);
	low[n] = '\0';
	if (!strcmp(low, "auth") || !strcmp(low, "pass"))
		return true;
	for (k = 0; k < ARRAY_SIZE(words); k++)
		if (strstr(low, words[k]))
			return true;
	return false;
}

/* KEY=VALUE, KEY: VALUE, "KEY": "VALUE", KEY == 'VALUE' with a secret-sounding KEY. */
static bool match_key_value(struct scan *sc)
{
	const char *p = sc->s + sc->i;
	size_t key, k, v, vlen = 0;
	char quote = 0;

	if (sc->i && is_ident(sc->s[sc->i - 1]))
		return false;
	key = span(p, is_ident);
	if (!key || !secret_key(p, key))
		return false;
	k = key;
	for (int q = 0; q < 2 && (p[k] == '"' || p[k] == '\'' || p[k] == '\\'); q++)
		k++;
	while (p[k] == ' ' || p[k] == '\t')
		k++;
	if (p[k] != '=' && p[k] != ':')
		return false;
	if (p[k] == ':') {
		size_t d = 0;

		/* "a::b" is a scope, "file.py:42" a line, "host:8080" a port: not secrets. */
		if (p[k + 1] == ':')
			return false;
		while (p[k + 1 + d] >= '0' && p[k + 1 + d] <= '9')
			d++;
		if (d && !is_ident(p[k + 1 + d]))
			return false;
	}
	k++;
	if (p[k] == '=' || p[k] == '>')
		k++;
	while (p[k] == ' ' || p[k] == '\t')
		k++;
	if (p[k] == '\\' && (p[k + 1] == '"' || p[k + 1] == '\''))
		k++;
	if (p[k] == '"' || p[k] == '\'')
		quote = p[k++];
	v = k;
	if (quote) {
		while (p[v + vlen] && p[v + vlen] != quote && p[v + vlen] != '\\' &&
		       p[v + vlen] != '\n')
			vlen++;
	} else {
		if (starts_ci(p + v, "bearer "))
			vlen = 7;
		else if (starts_ci(p + v, "basic "))
			vlen = 6;
		while (p[v + vlen] && !isspace((unsigned char)p[v + vlen]) &&
		       !strchr(",;&)}]\"'", p[v + vlen]))
			vlen++;
	}
	if (!vlen || !strncmp(p + v, REDACT_MARK, strlen(REDACT_MARK)))
		return false;
	buf_add(sc->out, p, v);
	mark(sc);
	sc->i += v + vlen;
	return true;
}

int redact(struct buf *out, const char *in, const char *const *literals)
{
	struct scan sc = { in ? in : "", 0, out, 0 };

	while (sc.s[sc.i]) {
		if (match_literal(&sc, literals) || match_pem(&sc) || match_jwt(&sc) ||
		    match_token(&sc) || match_bearer(&sc) || match_url_password(&sc) ||
		    match_key_value(&sc))
			continue;
		buf_putc(out, sc.s[sc.i++]);
	}
	return buf_failed(out) ? -ENOBUFS : sc.count;
}

char *redact_dup(const char *in, const char *const *literals, int *count)
{
	struct buf b = BUF_INIT(SIZE_MAX / 2);
	int n = redact(&b, in, literals);

	if (count)
		*count = n < 0 ? 0 : n;
	return buf_detach(&b);
}

static int redact_field(struct fh_run *run, const char **field, const char *const *lits)
{
	struct buf b = BUF_INIT(1 << 24);
	int n;

	if (!*field)
		return 0;
	n = redact(&b, *field, lits);
	if (n > 0)
		*field = arena_strndup(&run->arena, buf_str(&b), buf_len(&b));
	buf_free(&b);
	return n > 0 ? n : 0;
}

int redact_run(struct fh_run *run)
{
	const char *key = getenv("ANTHROPIC_API_KEY");
	const char *lits[2] = { key && strlen(key) >= 8 ? key : NULL, NULL };
	size_t t, a;
	int n = 0;

	for (t = 0; t < run->ntests; t++) {
		struct fh_test *ft = &run->tests[t];

		for (a = 0; a < ft->nattempts; a++) {
			struct fh_attempt *at = &ft->attempts[a];
			size_t f;

			n += redact_field(run, &at->error_message, lits);
			n += redact_field(run, &at->error_type, lits);
			for (f = 0; f < at->nframes; f++)
				n += redact_field(run, &at->frames[f].source, lits);
			n += redact_field(run, &at->out_stdout, lits);
			n += redact_field(run, &at->out_stderr, lits);
			n += redact_field(run, &at->out_log, lits);
		}
		for (a = 0; a < ft->nclusters; a++) {
			n += redact_field(run, &ft->clusters[a].message, lits);
			n += redact_field(run, &ft->clusters[a].error_type, lits);
		}
	}
	return n;
}
