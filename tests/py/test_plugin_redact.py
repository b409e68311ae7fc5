# SPDX-License-Identifier: MIT
"""The plugin's redactor (plugin/pytest_flakehunter/redact.py): the cases shared with
analyzer/redact.c (tests/data/redact_cases.txt, also read by tests/c/analyzer/test_redact.c), and a real
`pytest --fh` whose failures carry secrets in messages, exception types, hard-coded source
lines and an xdist-style crash record, with ANTHROPIC_API_KEY set: the attempt records keep the
identities and the shape of each failure, but no secret and not the key, and no file under the
test's directory holds them either."""
import json
import os
import pathlib
import re
import subprocess

import pytest

from pytest_flakehunter import records
from pytest_flakehunter.redact import MARK, redact, redact_count, scrub

CASES = pathlib.Path(__file__).resolve().parents[1] / "data" / "redact_cases.txt"
PLUGIN_DIR = pathlib.Path(__file__).resolve().parents[2] / "plugin"
_ESC = {"\\": "\\", "n": "\n", "t": "\t", "r": "\r"}


def _unescape(text, where):
    out, i = [], 0
    while i < len(text):
        c = text[i]
        if c == "\\":
            e = text[i + 1:i + 2]
            if e in _ESC:
                c, i = _ESC[e], i + 1
            elif e == "x" and len(text) >= i + 4:
                c, i = chr(int(text[i + 2:i + 4], 16)), i + 3
                assert c != "\0", where
            else:
                raise AssertionError(f"{where}: bad escape")
        out.append(c)
        i += 1
    return "".join(out)


def _field(line, tag):
    if not line.startswith(tag + ":"):
        return None
    v = line[len(tag) + 1:]
    return v[1:] if v.startswith(" ") else v


def shared_cases():
    """[(lineno, literal, in, out, count)] of tests/data/redact_cases.txt, parsed strictly."""
    cases, cur = [], {}
    for n, line in enumerate(CASES.read_text(encoding="utf-8").split("\n"), 1):
        where = f"{CASES}:{n}"
        if not line or line.startswith("#"):
            continue
        for tag in ("literal", "in", "out", "count"):
            v = _field(line, tag)
            if v is not None:
                break
        else:
            raise AssertionError(f"{where}: unknown line {line!r}")
        if tag == "count":
            assert "in" in cur and "out" in cur, where
            cases.append((n, cur.get("literal"), cur["in"], cur["out"], int(v)))
            cur = {}
            continue
        assert tag not in cur and (tag != "literal" or not cur), where
        cur[tag] = _unescape(v, where)
    assert not cur, f"{CASES}: a case at the end has no count"
    return cases


def test_shared_cases_as_in_c():
    cases = shared_cases()
    assert len(cases) >= 90
    bad = []
    for n, lit, text, want, count in cases:
        got = redact_count(text, lit)
        if got != (want, count):
            bad.append(f"line {n}: {text!r} -> {got!r}, want {(want, count)!r}")
    assert not bad, "\n".join(bad)


def test_scrub_fields_and_inputs(monkeypatch):
    monkeypatch.setenv("ANTHROPIC_API_KEY", "envkey-0123456789")
    error = {"type": "ValueError", "message": "db password=hunter2, key envkey-0123456789"}
    frames = [{"path": "tests/test_token.py", "line": 7, "function": "test_token",
               "source": 'conn = connect(password="s3cr3t-pw")'},
              {"path": "src/app.py", "line": 9, "function": "connect", "source": "x = 1"}]
    e2, f2 = scrub(error, frames)
    assert e2 == {"type": "ValueError", "message": f"db password={MARK}, key {MARK}"}
    assert f2[0] == {"path": "tests/test_token.py", "line": 7, "function": "test_token",
                     "source": f'conn = connect(password="{MARK}")'}
    assert f2[1] is frames[1]
    # The caller's dicts (what pytest's own reporting uses) are left alone.
    assert error["message"].endswith("envkey-0123456789") and "s3cr3t-pw" in frames[0]["source"]
    # Nothing to redact: the very same objects come back.
    clean = {"type": "AssertionError", "message": "assert 3 == 4"}
    assert scrub(clean, frames[1:]) == (clean, frames[1:])
    assert scrub(clean, frames[1:])[0] is clean
    assert scrub(None, []) == (None, [])
    # A short key is not a literal (as in redact_run()).
    monkeypatch.setenv("ANTHROPIC_API_KEY", "abc")
    assert redact("abc stays") == "abc stays"


def test_writer_redacts_records(tmp_path):
    """Both writers of records.py: attempt lines and whole records (the crash record)."""
    w = records.Writer(str(tmp_path))
    head, tail = records.item_parts("t.py::test_token[auth=x]", 2, "main", "t.py", "test_token",
                                    "auth=x", [], False)
    w.write_attempt(head, 1, "failed", False, "call", 1, 2, 0.0, {"call": 0.1},
                    {"type": "E", "message": "token=abc123"},
                    [{"path": "t.py", "line": 1, "function": "f", "source": "pwd = 'zz9'"}],
                    2, None, {"stdout": records.cut_output("login with password=hunter22\n")}, tail)
    w.write({"v": 1, "nodeid": "t.py::test_token[auth=x]", "attempt": 2,
             "error": {"type": "WorkerCrashed", "message": "crashed: Bearer abcdefgh12345678"},
             "frames": []}, pid=1, tid=1)
    w.close()
    recs = [json.loads(x) for x in pathlib.Path(w.path).read_text().splitlines()]
    assert recs[0]["error"] == {"type": "E", "message": f"token={MARK}"}
    assert recs[0]["frames"][0]["source"] == f"pwd = '{MARK}'"
    assert recs[0]["output"] == {"stdout": f"login with password={MARK}\n"}
    assert recs[1]["error"]["message"] == f"crashed: Bearer {MARK}"
    # Identities stay as they are, even when they look like KEY=VALUE.
    assert all(r["nodeid"] == "t.py::test_token[auth=x]" for r in recs)
    assert recs[0]["param_id"] == "auth=x"


FAKE_KEY = "sk-ant-api03-PLUGINfakeKEY0123456789abcdefQQ"
SECRETS = ["hunter2-Pl4gin", "pgpass-plugin-42", "ghp_PLUGINfakeTOKEN0123456789abcd",
           "src-hardcoded-pw-77"]

SUITE = '''
import itertools
import os

import pytest

_n = itertools.count()


class Bad_token_Error(Exception):
    pass


@pytest.fixture
def db():
    raise ConnectionError("postgres://app:pgpass-plugin-42@db:5432/app refused")


def test_flaky_login():
    if next(_n) % 2:
        raise TimeoutError("login with password=hunter2-Pl4gin and token "
                           "ghp_PLUGINfakeTOKEN0123456789abcd timed out, key "
                           + os.environ["ANTHROPIC_API_KEY"])


def test_hardcoded():
    conn = {"password": "src-hardcoded-pw-77"}; raise RuntimeError(f"no db ({len(conn)})")


def test_setup_error(db):
    pass


@pytest.mark.parametrize("mode", ["token_a"])
def test_token_ids(mode):
    raise Bad_token_Error("plain failure")
'''


def test_pytest_fh_records_hold_no_secret(fh_env, tmp_path):
    proj = tmp_path / "proj"
    proj.mkdir()
    (proj / "test_secrets.py").write_text(SUITE)
    env = dict(fh_env)
    env["ANTHROPIC_API_KEY"] = FAKE_KEY
    env.pop("ANTHROPIC_BASE_URL", None)
    p = subprocess.run(["/usr/bin/python3", "-m", "pytest", "-p", "pytest_flakehunter",
                        "-p", "no:cacheprovider", "--fh", "--fh-runs", "3", "-q",
                        "test_secrets.py"],
                       cwd=proj, env=env, capture_output=True, text=True, timeout=120)
    assert p.returncode == 1, p.stdout + p.stderr
    files = sorted(proj.rglob("attempts-*.jsonl"))
    assert files, p.stdout + p.stderr
    recs = [json.loads(x) for f in files for x in f.read_text().splitlines()]
    by = {}
    for r in recs:
        by.setdefault(r["nodeid"], []).append(r)
    assert sorted(by) == ["test_secrets.py::test_flaky_login", "test_secrets.py::test_hardcoded",
                          "test_secrets.py::test_setup_error",
                          "test_secrets.py::test_token_ids[token_a]"]
    flaky = [r for r in by["test_secrets.py::test_flaky_login"] if r["outcome"] == "failed"]
    assert flaky and all(r["error"]["message"] == f"login with password={MARK} and token {MARK} "
                         f"timed out, key {MARK}" for r in flaky)
    hard = by["test_secrets.py::test_hardcoded"][0]
    assert hard["frames"][-1]["source"] == ('conn = {"password": "' + MARK
                                            + '"}; raise RuntimeError(f"no db ({len(conn)})")')
    setup = by["test_secrets.py::test_setup_error"][0]
    assert setup["outcome"] == "error"
    assert setup["error"]["message"] == f"postgres://app:{MARK}@db:5432/app refused"
    ids = by["test_secrets.py::test_token_ids[token_a]"][0]
    assert ids["param_id"] == "token_a" and ids["error"]["type"] == "Bad_token_Error"
    # Nothing under the test's directory holds a secret or the key, except the suite's source
    # that the test itself wrote: not the records, the run's other files, the report, the JSON.
    needles = [FAKE_KEY.encode()] + [s.encode() for s in SECRETS]
    walked = 0
    for path in tmp_path.rglob("*"):
        if not path.is_file() or path == proj / "test_secrets.py":
            continue
        walked += 1
        data = path.read_bytes()
        for n in needles:
            assert n not in data, (path, n)
    assert walked >= len(files) + 1  # meta.json at least


@pytest.mark.parametrize("text", ["", "plain", "x" * 5000, "a=b " * 1000, "\x00password=\x00"])
def test_total_on_odd_input(text):
    out, n = redact_count(text)
    assert isinstance(out, str) and n >= 0
    assert redact(out) == out  # redacting twice changes nothing more


# ---- every Python the package admits; linear time ----

def _patterns():
    """Every pattern redact.py compiles: each matcher's branch and the assembled patterns."""
    from pytest_flakehunter import redact as mod
    branches = {name: getattr(mod, name) for name in ("_PEM", "_JWT", "_TOKEN", "_BEARER",
                                                      "_URL", "_KV_SEP", "_KV")}
    branches["assembled"] = mod._pattern(None).pattern
    branches["assembled with literal"] = mod._pattern("lit(eral)+key").pattern
    return branches


def _newer_syntax(pattern):
    """Places in a pattern's source that only Python 3.11's `re` accepts: possessive
    quantifiers (`*+`, `++`, `?+`, `{m,n}+`) and atomic groups `(?>...)`. Escapes and character
    classes are skipped, so `\\++` (a literal '+', repeated) and `[+]` are not reported."""
    found, i, n, after_quant = [], 0, len(pattern), False
    while i < n:
        c = pattern[i]
        if c == "\\":
            i, after_quant = i + 2, False
            continue
        if c == "[":
            j = i + 1
            if j < n and pattern[j] == "^":
                j += 1
            if j < n and pattern[j] == "]":
                j += 1  # a ']' first in a class is literal
            while j < n and pattern[j] != "]":
                j += 2 if pattern[j] == "\\" else 1
            i, after_quant = j + 1, False
            continue
        if pattern.startswith("(?>", i):
            found.append((i, "atomic group"))
        if c in "*+?" or (c == "{" and re.match(r"\{\d*(?:,\d*)?\}", pattern[i:])):
            if c == "+" and after_quant == "quant":
                found.append((i, "possessive quantifier"))
                after_quant = False
            elif c == "?" and after_quant == "quant":
                after_quant = "lazy"
            elif c == "?" and pattern[i - 1:i] == "(":
                after_quant = False  # a group's (?...
            else:
                if c == "{":
                    i = pattern.index("}", i)
                after_quant = "quant"
            i += 1
            continue
        after_quant = False
        i += 1
    return found


def _parsed_ops(pattern):
    """Opcode names in `re`'s own parse of the pattern (3.11+: its parser knows the new ones)."""
    import re._parser as parser  # only used where it exists: Python 3.11 and later

    def walk(seq):
        for op, av in seq:
            yield str(op)
            stack = [av]
            while stack:
                x = stack.pop()
                if isinstance(x, parser.SubPattern):
                    yield from walk(x)
                elif isinstance(x, (tuple, list)):
                    stack.extend(x)
    return set(walk(parser.parse(pattern)))


def test_patterns_use_no_syntax_newer_than_requires_python():
    """pyproject.toml admits Python 3.9, whose `re` rejects possessive quantifiers and atomic
    groups with re.error at import. Python 3.9 and 3.10 are not installed here: the check
    reads the patterns' source, and on 3.11+ `re`'s own parse as well."""
    import sys
    import warnings
    assert re.search(r'requires-python\s*=\s*">=3\.9"',
                     (PLUGIN_DIR / "pyproject.toml").read_text()), "update this test"
    assert _newer_syntax(r"a++b") == [(2, "possessive quantifier")]
    assert _newer_syntax(r"(?>a|b)[x++]\++c{2,}+d?+") == [
        (0, "atomic group"), (20, "possessive quantifier"), (23, "possessive quantifier")]
    assert _newer_syntax(r"a*?b+?(?:c)?(?P<n>d)+[]+]\\") == []
    for name, pattern in _patterns().items():
        assert _newer_syntax(pattern) == [], name
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # FutureWarning on a possible nested set, ...
            re.compile(pattern, re.ASCII)
        if sys.version_info >= (3, 11):
            ops = _parsed_ops(pattern)
            assert not ops & {"POSSESSIVE_REPEAT", "ATOMIC_GROUP"}, (name, ops)


def test_plugin_source_parses_as_requires_python():
    """The package's own code in the grammar of the oldest Python pyproject.toml admits."""
    import ast
    for path in sorted((PLUGIN_DIR / "pytest_flakehunter").glob("*.py")):
        ast.parse(path.read_text(), str(path), feature_version=(3, 9))


# Inputs that make a backtracking pattern quadratic or worse: long runs a branch could start
# inside of, give characters back from, or rescan from every position. 1,000,000 characters
# each: linear matching takes seconds for all of them together, a quadratic
# branch minutes for one.
REDOS_SCRIPT = r'''
import sys
from pytest_flakehunter.redact import redact_count
n = 1_000_000
inputs = {
    "ident run then =": "x" * n + "=",
    "secret key run": "password" * (n // 8) + "=",
    "key then blanks": "password" + " " * n + "x",
    "key then quotes": "token" + '"' * n + "=",
    "digits after colon": "password:" + "1" * n + "x",
    "unclosed quote": 'password="' + "a" * n,
    "many short pairs": "a=b," * (n // 4),
    "many secret pairs": "token=" * (n // 6),
    "separators": "passwd=> " * (n // 9),
    "eyJ run": "eyJ" * (n // 3),
    "eyJ segments": "eyJaaaaaaaa." * (n // 12),
    "token prefixes": "sk-" * (n // 3),
    "short tokens": ("sk-" + "a" * 19 + " ") * (n // 23),
    "bearer blanks": "Bearer" + " " * n,
    "bearer words": "bearer " * (n // 7),
    "url without @": "://" + "a" * n,
    "url colons": "://a:" * (n // 5),
    "pem headers": "-----BEGIN " * (n // 11),
    "pem without end": "-----BEGIN RSA PRIVATE KEY-----" + "a" * n,
    "pem long header": "-----BEGIN " + "a" * n + "PRIVATE KEY-----",
    "backslashes": "\\" * n,
    "colons": ":" * n,
    "equals": "=" * n,
    "mixed": ('pass="x\\' + "' auth: Basic ://u:@eyJ.") * (n // 40),
}
for name, text in inputs.items():
    for lit in (None, "literal-key-" + "x" * 40):
        out, count = redact_count(text, lit)
        assert isinstance(out, str) and count >= 0
    print(name, flush=True)
print("done", flush=True)
'''


def test_no_catastrophic_backtracking():
    """Each hostile input runs in a child with a generous deadline (no timing is asserted:
    a linear run is far inside it, a quadratic one far outside); on a miss the input after
    the last one printed is the culprit."""
    import sys
    env = dict(os.environ, PYTHONPATH=str(PLUGIN_DIR))
    try:
        p = subprocess.run([sys.executable, "-c", REDOS_SCRIPT], env=env, capture_output=True,
                           text=True, timeout=120)
    except subprocess.TimeoutExpired as e:
        done = (e.stdout or b"").decode().split("\n") if isinstance(e.stdout, bytes) else \
            (e.stdout or "").split("\n")
        raise AssertionError(f"redaction did not finish; inputs done: {done}") from None
    assert p.returncode == 0 and p.stdout.endswith("done\n"), p.stdout + p.stderr
