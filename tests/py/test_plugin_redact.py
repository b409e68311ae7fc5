# SPDX-License-Identifier: MIT
"""The plugin's redactor (plugin/pytest_flakehunter/redact.py): the cases shared with
analyzer/redact.c (tests/data/redact_cases.txt, also read by tests/c/test_redact.c), and a real
`pytest --fh` whose failures carry secrets in messages, exception types, hard-coded source
lines and an xdist-style crash record, with ANTHROPIC_API_KEY set: the attempt records keep the
identities and the shape of each failure, but no secret and not the key, and no file under the
test's directory holds them either."""
import json
import os
import pathlib
import subprocess

import pytest

from pytest_flakehunter import records
from pytest_flakehunter.redact import MARK, redact, redact_count, scrub

CASES = pathlib.Path(__file__).resolve().parents[1] / "data" / "redact_cases.txt"
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
                    [{"path": "t.py", "line": 1, "function": "f", "source": "pwd = 'zz9'"}], tail)
    w.write({"v": 1, "nodeid": "t.py::test_token[auth=x]", "attempt": 2,
             "error": {"type": "WorkerCrashed", "message": "crashed: Bearer abcdefgh12345678"},
             "frames": []}, pid=1, tid=1)
    w.close()
    recs = [json.loads(x) for x in pathlib.Path(w.path).read_text().splitlines()]
    assert recs[0]["error"] == {"type": "E", "message": f"token={MARK}"}
    assert recs[0]["frames"][0]["source"] == f"pwd = '{MARK}'"
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
