# SPDX-License-Identifier: MIT
"""Secret redaction of the free text the plugin writes into attempt records.

The same rules as analyzer/redact.c (analyzer/redact.h lists the shapes), so what a failure
message or a traceback source line carried never lands in RUN_DIR/attempts-*.jsonl either:
token shapes (sk-ant-..., ghp_..., AKIA..., JWTs, PEM private keys), bearer/basic credentials,
passwords in URLs, KEY=VALUE / KEY: VALUE / "key": "value" whose key says secret, token,
password, ..., and the ANTHROPIC_API_KEY of the environment as a literal; each becomes
[REDACTED]. redact.c scans left to right and, at each position, tries its matchers in a fixed
order; here each matcher is one branch of one compiled regex in that same order (re tries the
branches at the leftmost position first), written so that a branch matches exactly what the C
matcher consumes, in linear time, with the `re` syntax of every Python the package admits.
ASCII rules only, as in C.
tests/data/redact_cases.txt is shared by the C and the Python tests to keep the two in step.

Identities (nodeid, file, function, param id, frame paths) are left alone, as in the analyzer.
"""
import os
import re

MARK = "[REDACTED]"

_TOK = "A-Za-z0-9_-"                 # is_tok
_IDENT = "A-Za-z0-9_.-"              # is_ident
_ALNUM = "A-Za-z0-9"
_B64 = "A-Za-z0-9._~+/=-"            # is_b64tok
_WS = " \t\n\x0b\x0c\r"              # C isspace()

# (prefix, minimum body, body class), in redact.c's order.
_TOKEN_SHAPES = (
    ("sk-ant-", 16, _TOK), ("sk-proj-", 16, _TOK), ("sk-", 20, _TOK),
    ("ghp_", 20, _TOK), ("gho_", 20, _TOK), ("ghu_", 20, _TOK),
    ("ghs_", 20, _TOK), ("ghr_", 20, _TOK), ("github_pat_", 20, _TOK),
    ("xoxb-", 10, _TOK), ("xoxp-", 10, _TOK), ("xoxa-", 10, _TOK),
    ("xoxr-", 10, _TOK), ("xoxs-", 10, _TOK), ("glpat-", 16, _TOK),
    ("sk_live_", 16, _TOK), ("sk_test_", 16, _TOK), ("rk_live_", 16, _TOK),
    ("AIza", 30, _TOK), ("AKIA", 16, "A-Z0-9"), ("ASIA", 16, "A-Z0-9"),
)

# Words that make a KEY secret (matched in the key's first 127 characters, any case).
_SECRET_WORDS = (
    "secret", "token", "passw", "pwd", "apikey", "api_key", "api-key", "access_key",
    "accesskey", "private_key", "privatekey", "credential", "authorization", "auth_",
    "_auth", "auth-", "-auth", "cookie", "session_id", "sessionid",
)
_KEY_CUT = 127


def _secret_key_lookahead():
    by_len = {}
    for w in _SECRET_WORDS:
        by_len.setdefault(len(w), []).append(re.escape(w))
    alts = [f"[{_IDENT}]{{0,{_KEY_CUT - n}}}?(?:{'|'.join(ws)})" for n, ws in sorted(by_len.items())]
    alts.append(f"(?:auth|pass)(?![{_IDENT}])")
    return "(?=(?i:" + "|".join(alts) + "))"


# One branch per matcher of redact.c, in the syntax of every Python 3 `re` (no possessive
# quantifiers or atomic groups, which need 3.11). Each branch still matches exactly what the C
# matcher consumes and never backtracks more than a bounded distance per start position:
# - a greedy run of one character class followed by a character outside that class (a token
#   body then '.', blanks then a b64 character, a URL user then ':') cannot match any other way,
#   so giving up characters only fails again, once per character of the run;
# - where giving up characters would find a different, wrong match (the KV separator: after
#   "password==" a value "=" would appear if the second '=' were given back), the part is
#   written `(?=(?P<name>...))(?P=name)`: a lookahead is never re-entered once it matched, so
#   the back-reference consumes exactly the first match, as an atomic group would;
# - branches start with a literal or a lookbehind, so most positions fail on one character,
#   and the scans a start position may make are bounded (58 characters for the PEM header
#   word, 512 for a URL's user:password, 127 for a secret word in a key) or end at the match.
# The KV branch first checks cheaply that a '=' or ':' follows the key before it looks for a
# secret word in it.
_PEM = (r"-----BEGIN (?=(?:(?!-----)[\s\S]){0,58}?PRIVATE KEY)(?:(?!-----)[\s\S]){0,69}-----"
        r"(?:[\s\S]*?-----END (?:[\s\S]*?-----)?|[\s\S]*)")
_JWT = f"eyJ(?<![{_TOK}]eyJ)[{_TOK}]{{7,}}\\.[{_TOK}]{{4,}}\\.[{_TOK}]*"
_TOKEN = "|".join(f"{re.escape(p)}(?<![{_ALNUM}]{re.escape(p)})[{cls}]{{{n},}}"
                  for p, n, cls in _TOKEN_SHAPES)
_BEARER = f"(?P<b>[bB](?<![{_ALNUM}][bB])(?i:earer|asic)[ \\t]+)[{_B64}]{{8,}}"
_URLSTOP = f"@{_WS}/?#\"'<>"
_URL = (f"(?P<u>://(?=[^{_URLSTOP}]{{1,512}}@)[^{_URLSTOP}:]*:)[^{_URLSTOP}]+@")
_VSTOP = f"{_WS},;&)}}\\]\"'"
# up to two quotes/backslashes after the key, blanks, then '=' or ':' ('::' is a scope, ':42'
# a line, ':8080' a port), an optional '=' or '>', blanks, an optional \ before a quote
_KV_SEP = (r"""["'\\]{0,2}[ \t]*(?:=|:(?!:)(?![0-9]+(?![""" + _IDENT + r"""])))[=>]?"""
           r"""[ \t]*(?:\\(?=["']))?""")
_KV = (f"(?P<kv>(?<![{_IDENT}])(?=[{_IDENT}]+[\"'\\\\]{{0,2}}[ \t]*[=:])"
       f"{_secret_key_lookahead()}[{_IDENT}]+"
       f"(?=(?P<kvsep>{_KV_SEP}))(?P=kvsep))"
       # an optional opening quote, then the value: up to the closing quote, a backslash or the
       # end of the line when quoted, else up to a blank or , ; & ) } ] " ' ("bearer " and
       # "basic " belong to the value); never a value that is already [REDACTED]
       r"""(?:(?P<q>")(?!\[REDACTED\])|(?P<s>')(?!\[REDACTED\])|(?!\[REDACTED\]))"""
       r"""(?(q)[^"\\\n]+|(?(s)[^'\\\n]+|(?:(?i:bearer |basic )[^""" + _VSTOP + r"""]*"""
       r"""|[^""" + _VSTOP + r"""]+)))""")

# A string with none of these (and no ':' or '=', and no bearer/basic in any case) cannot match:
# plain substring tests are far cheaper than the regex.
_TRIGGERS = ("eyJ", "sk-", "sk_", "ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_", "xox",
             "glpat-", "rk_live_", "AIza", "AKIA", "ASIA", "-----BEGIN ")


def _candidate(text):
    if ":" in text or "=" in text:
        return True
    for t in _TRIGGERS:
        if t in text:
            return True
    low = text.lower()
    return "bearer" in low or "basic" in low


_cache = {}


def _pattern(literal):
    pat = _cache.get(literal)
    if pat is None:
        branches = [_PEM, _JWT, _TOKEN, _BEARER, _URL, _KV]
        if literal:
            branches.insert(0, re.escape(literal))
        pat = re.compile("|".join(f"(?:{b})" for b in branches), re.ASCII)
        if len(_cache) > 8:
            _cache.clear()
        _cache[literal] = pat
    return pat


def _replace(m):
    g = m.group
    if m.lastgroup is None:
        # A literal or a whole-token branch.
        return MARK
    keep = g("kv")
    if keep is not None:
        return keep + (g("q") or g("s") or "") + MARK
    keep = g("b")
    if keep is not None:
        return keep + MARK
    keep = g("u")
    if keep is not None:
        return keep + MARK + "@"
    return MARK


def _env_literal():
    key = os.environ.get("ANTHROPIC_API_KEY")
    return key if key and len(key) >= 8 else None


def redact_count(text, literal=None):
    """(redacted text, number of redactions). literal: an exact string to redact as well
    (ignored when shorter than 4 characters, as in redact.c)."""
    if literal is not None and len(literal) < 4:
        literal = None
    if not text or (not _candidate(text) and (literal is None or literal not in text)):
        return text, 0
    return _pattern(literal).subn(_replace, text)


def redact(text, literal=None):
    """text with what looks secret replaced by [REDACTED]."""
    return redact_count(text, literal)[0]


def redact_env(text):
    """redact() with ANTHROPIC_API_KEY of the environment as a literal, as scrub() does."""
    return redact(text, _env_literal())


_memo = {}
_MEMO_MAX = 512


def _redact_memo(text, lit):
    """redact() with a small memo (a flaky test fails with the same message and the same source
    lines attempt after attempt); returns text itself when nothing was redacted."""
    key = (text, lit)
    r = _memo.get(key, key)
    if r is key:
        r = redact(text, lit)
        r = None if r == text else r
        if len(_memo) >= _MEMO_MAX:
            _memo.clear()
        _memo[key] = r
    return text if r is None else r


def scrub(error, frames):
    """(error, frames) of an attempt record with the error type and message and the frames'
    source lines redacted, ANTHROPIC_API_KEY of the environment included (the same fields as
    redact_run() in analyzer/redact.c). The arguments are not modified: the caller's dicts are
    also what pytest's terminal shows. Fast when nothing needs redacting."""
    if not error and not frames:
        return error, frames
    lit = _env_literal()
    if error:
        t = error.get("type")
        msg = error.get("message")
        t2 = _redact_memo(t, lit) if isinstance(t, str) else t
        msg2 = _redact_memo(msg, lit) if isinstance(msg, str) else msg
        if t2 is not t or msg2 is not msg:
            error = dict(error, type=t2, message=msg2)
    if frames:
        out = None
        for i, f in enumerate(frames):
            src = f.get("source")
            if isinstance(src, str) and src:
                src2 = _redact_memo(src, lit)
                if src2 != src:
                    if out is None:
                        out = list(frames)
                    out[i] = dict(f, source=src2)
        if out is not None:
            frames = out
    return error, frames
