# SPDX-License-Identifier: MIT
"""fh-analyze report --ai against a fake Messages API on 127.0.0.1 (tests/py/fh_ai.py): every
answer the API can give ends as specified, ten tests are asked concurrently in one run, the
request carries the right headers and body, answers are cached, and neither the key nor a
secret from a failure message reaches any file the run wrote."""
import json
import os
import pathlib
import socket
import subprocess

import pytest
from pytest_flakehunter import records

from fh_ai import ANSWER, MODEL_ANSWERED, FakeMessagesAPI, write_run

FAKE_KEY = "sk-ant-api03-FAKEkeyFORtests0123456789abcdefXYZ"
SECRETS = ["hunter2-Secr3t-pw", "pgpass-77-zz", "ghp_FAKEgithubTOKEN0123456789abcdef",
           "AKIAFAKEFAKEFAKE1234"]
SECRET_MESSAGE = ("login failed for postgres://app:pgpass-77-zz@db:5432/app with "
                  "password=hunter2-Secr3t-pw, token ghp_FAKEgithubTOKEN0123456789abcdef, "
                  "aws AKIAFAKEFAKEFAKE1234, timed out after 250 ms")
MODEL = "claude-test-model-1"


def run_env(tmp_path, api=None, key=FAKE_KEY):
    env = dict(os.environ)
    for k in ("ANTHROPIC_API_KEY", "ANTHROPIC_BASE_URL", "http_proxy", "https_proxy",
              "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "all_proxy"):
        env.pop(k, None)
    if key is not None:
        env["ANTHROPIC_API_KEY"] = key
    if api is not None:
        env["ANTHROPIC_BASE_URL"] = api.base_url
    env["FH_AI_TIMEOUT_MS"] = "1500"
    env["FH_AI_BACKOFF_MS"] = "50"
    env["FH_AI_MAX_TRIES"] = "3"
    env["HOME"] = str(tmp_path / "home")
    return env


def analyze(fh_paths, tmp_path, env, *extra, cwd=None):
    run_dir = tmp_path / "run"
    out = tmp_path / "out" / "report.html"
    out.parent.mkdir(exist_ok=True)
    p = subprocess.run([str(fh_paths["analyze"]), "report", str(run_dir), "--out", str(out),
                        "--history-dir", str(tmp_path / "history"), "--ai", *extra],
                       env=env, cwd=cwd or tmp_path, capture_output=True, text=True, timeout=60)
    js = out.with_suffix(".json")
    assert js.exists(), p.stderr
    summary = json.loads(js.read_text())
    return p, {t["nodeid"]: t for t in summary["tests"]}


def report_ok(p):
    """The AI stage never fails the report: exit 0, no error line."""
    assert "Sanitizer" not in p.stderr and "runtime error" not in p.stderr, p.stderr
    assert p.returncode == 0, p.stderr
    assert "error:" not in p.stderr, p.stderr


SCENARIOS = ["good", "good2", "good3", "r429", "o529", "e500", "stall", "malformed", "notext",
             "trunc"]


def scenario_tests():
    tests = []
    for s in SCENARIOS:
        msg = {"good": SECRET_MESSAGE, "good3": "db_password=hunter2-Secr3t-pw timed out"}.get(
            s, f"timed out after 250 ms ({s})")
        tests.append((f"tests/test_api.py::test_scn_{s}", "pfpf", msg))
    return tests


def test_ten_tests_every_answer_concurrently(fh_paths, tmp_path):
    write_run(tmp_path / "run", scenario_tests() + [("tests/test_api.py::test_stable", "pppp", "")])
    with FakeMessagesAPI(expect_concurrency=True) as api:
        p, tests = analyze(fh_paths, tmp_path, run_env(tmp_path, api), "--ai-model", MODEL)
    report_ok(p)
    ai = {s: tests[f"tests/test_api.py::test_scn_{s}"]["ai"] for s in SCENARIOS}
    hyp = {s: tests[f"tests/test_api.py::test_scn_{s}"]["ai_hypothesis"] for s in SCENARIOS}

    for s in ("good", "good2", "good3", "r429"):
        assert ai[s]["ok"] is True, ai[s]
        assert hyp[s] == ANSWER
        assert ai[s]["model"] == MODEL_ANSWERED
        assert ai[s]["cached"] is False
    assert ai["good"]["redacted"] is True
    assert ai["good2"]["redacted"] is False
    assert ai["good3"]["redacted"] is True  # only KEY=VALUE, already redacted while loading
    assert "429" not in (ai["r429"].get("reason") or "")

    def failed(s, *words):
        assert ai[s]["ok"] is False and hyp[s] is None, ai[s]
        reason = ai[s]["reason"]
        assert "\n" not in reason and len(reason) < 300
        for w in words:
            assert w in reason, (s, reason)

    failed("o529", "HTTP 529 from the API after 3 tries: overloaded_error: Overloaded")
    failed("e500", "HTTP 500 from the API after 3 tries: api_error")
    failed("stall", "timed out after 1500 ms")
    failed("malformed", "malformed JSON")
    failed("notext", "no text content", "tool_use")
    failed("trunc", "truncated response")
    assert "ai" not in tests["tests/test_api.py::test_stable"] or \
        tests["tests/test_api.py::test_stable"]["ai"] is None

    # Retries: bounded, and the 429 honoured retry-after: 1 before asking again.
    assert len(api.by_scenario("o529")) == 3
    assert len(api.by_scenario("e500")) == 3
    assert len(api.by_scenario("malformed")) == 1
    assert len(api.by_scenario("stall")) == 1
    r429 = api.by_scenario("r429")
    assert len(r429) == 2
    assert r429[1]["t"] - r429[0]["t"] >= 0.95
    # Concurrency: more than one request at a time, never more than the bound.
    assert 2 <= api.max_in_flight <= 4
    assert not [t for t in tests.values() if t["verdict"] == "stable" and t.get("ai")]

    # Headers and body of every request.
    assert len(api.requests) == 3 + 2 + 3 + 3 + 1 + 1 + 1 + 1
    for r in api.requests:
        h = r["headers"]
        assert r["method"] == "POST" and r["path"] == "/v1/messages"
        assert h["x-api-key"] == FAKE_KEY
        assert h["anthropic-version"] == "2023-06-01"
        assert h["content-type"] == "application/json"
        b = r["body"]
        assert b["model"] == MODEL
        assert isinstance(b["max_tokens"], int) and 100 <= b["max_tokens"] <= 8192
        assert [m["role"] for m in b["messages"]] == ["user"]
        content = b["messages"][0]["content"]
        assert content.startswith("Test: tests/test_api.py::test_scn_")
        assert "Flake rate: 50.0% (95% Wilson interval" in content
        assert "exception: TimeoutError" in content
        assert "src/app/db.py:88 in fetch" in content
        assert "Failing attempt 2: failed in call" in content
        assert "Passing attempt 1: passed" in content
        assert "SOURCE_LINE_MUST_NOT_BE_SENT" not in content
        assert FAKE_KEY.encode() not in r["raw"]
        for s in SECRETS:
            assert s.encode() not in r["raw"]
    # The report shows the answers escaped, the model, the reasons, and that redaction happened.
    html = (tmp_path / "out" / "report.html").read_text()
    assert "<script>alert('x')</script>" not in html
    assert "&lt;script&gt;alert(" in html
    assert MODEL_ANSWERED in html
    assert "timed out after 1500 ms" in html and "HTTP 529" in html
    assert "redacted from the prompt" in html
    good = api.by_scenario("good")[0]["body"]["messages"][0]["content"]
    assert "password=[REDACTED]" in good
    assert "postgres://app:[REDACTED]@db:5432/app" in good
    assert "timed out after 250 ms" in good


def test_no_secret_in_any_file(fh_paths, tmp_path):
    write_run(tmp_path / "run", [("tests/test_db.py::test_scn_good", "fpff", SECRET_MESSAGE),
                                 ("tests/test_db.py::test_scn_e500", "ffff", SECRET_MESSAGE)])
    # The attempt records go through the plugin's own writer, as in a real run (it redacts
    # them with the analyzer's rules; test_ai_plugin.py runs the real pytest --fh).
    attempts = tmp_path / "run" / "attempts-4242.jsonl"
    recs = [json.loads(x) for x in attempts.read_text().splitlines()]
    assert SECRETS[0] in recs[0]["error"]["message"]
    attempts.unlink()
    writer = records.Writer(str(tmp_path / "run"))
    for rec in recs:
        writer.write(rec, pid=4242, tid=4242)
    writer.close()
    # A .env with the same key in the working directory, read on request.
    (tmp_path / ".env").write_text(f"# keys\nexport ANTHROPIC_API_KEY='{FAKE_KEY}'\n")
    with FakeMessagesAPI() as api:
        env = run_env(tmp_path, api, key=None)
        p, tests = analyze(fh_paths, tmp_path, env, "--ai-dotenv")
    report_ok(p)
    assert tests["tests/test_db.py::test_scn_good"]["ai"]["ok"] is True
    assert tests["tests/test_db.py::test_scn_good"]["ai"]["redacted"] is True
    assert tests["tests/test_db.py::test_scn_e500"]["ai"]["ok"] is False
    assert api.requests and all(r["headers"]["x-api-key"] == FAKE_KEY for r in api.requests)
    assert (tmp_path / "run" / "ai-cache").is_dir()
    needles = [FAKE_KEY.encode()] + [s.encode() for s in SECRETS]
    # The run itself (attempt records included), the report, the JSON, the history, the cache:
    # nothing holds the key or a secret of the failure message. Only the user's .env holds
    # the key.
    checked = 0
    for path in tmp_path.rglob("*"):
        if not path.is_file() or path == tmp_path / ".env":
            continue
        checked += 1
        data = path.read_bytes()
        for n in needles:
            assert n not in data, (path, n)
    assert checked >= 6
    for stream in (p.stdout, p.stderr):
        for n in needles:
            assert n.decode() not in stream


def test_cache_answers_a_rerender(fh_paths, tmp_path):
    write_run(tmp_path / "run", [("tests/test_c.py::test_scn_good", "pfpf", "boom"),
                                 ("tests/test_c.py::test_scn_malformed", "pfff", "boom")])
    with FakeMessagesAPI() as api:
        env = run_env(tmp_path, api)
        _, first = analyze(fh_paths, tmp_path, env, "--ai-model", MODEL)
        assert len(api.by_scenario("good")) == 1
        # Failures are not cached: the malformed one is asked again, the good one is not.
        _, second = analyze(fh_paths, tmp_path, env, "--ai-model", MODEL)
        assert len(api.by_scenario("good")) == 1
        assert len(api.by_scenario("malformed")) == 2
        assert second["tests/test_c.py::test_scn_malformed"]["ai"]["ok"] is False
        a1 = first["tests/test_c.py::test_scn_good"]
        a2 = second["tests/test_c.py::test_scn_good"]
        assert a1["ai"]["cached"] is False and a2["ai"]["cached"] is True
        assert a2["ai_hypothesis"] == a1["ai_hypothesis"] == ANSWER
        assert a2["ai"]["model"] == MODEL_ANSWERED
        # A re-render without a key still shows the cached answer.
        _, third = analyze(fh_paths, tmp_path, run_env(tmp_path, api, key=None),
                           "--ai-model", MODEL)
        assert third["tests/test_c.py::test_scn_good"]["ai"]["cached"] is True
        # Another model is another question.
        _, fourth = analyze(fh_paths, tmp_path, env, "--ai-model", "claude-other-model")
        assert len(api.by_scenario("good")) == 2
        assert fourth["tests/test_c.py::test_scn_good"]["ai"]["cached"] is False
    cache = list((tmp_path / "run" / "ai-cache").glob("*.json"))
    assert len(cache) == 2 and all(len(c.stem) == 64 for c in cache)
    # A corrupt cache entry is asked again, not trusted.
    for c in cache:
        c.write_text('{"model": 5, "text": ')
    with FakeMessagesAPI() as api:
        _, fifth = analyze(fh_paths, tmp_path, run_env(tmp_path, api), "--ai-model", MODEL)
        assert len(api.by_scenario("good")) == 1
        assert fifth["tests/test_c.py::test_scn_good"]["ai"]["ok"] is True


def test_no_key_never_asks(fh_paths, tmp_path):
    write_run(tmp_path / "run", [("tests/test_k.py::test_scn_good", "pfpf", "boom")])
    (tmp_path / ".env").write_text(f"ANTHROPIC_API_KEY={FAKE_KEY}\n")
    with FakeMessagesAPI() as api:
        p, tests = analyze(fh_paths, tmp_path, run_env(tmp_path, api, key=None))
        assert api.requests == []
    report_ok(p)
    ai = tests["tests/test_k.py::test_scn_good"]["ai"]
    assert ai["ok"] is False and "no ANTHROPIC_API_KEY" in ai["reason"]
    assert "--ai-dotenv" in ai["reason"]


@pytest.mark.parametrize("content,ok", [
    (b"\x00\xff garbage\nANTHROPIC_API_KEY=\n", False),
    (b"ANTHROPIC_API_KEY=\"unterminated\n", False),
    (b"ANTHROPIC_API_KEY=bad\x01key\n", False),
    (b"OTHER=1\r\n  export  ANTHROPIC_API_KEY = " + FAKE_KEY.encode() + b"  # comment\r\n", True),
    (b"ANTHROPIC_API_KEY=first\nANTHROPIC_API_KEY=\"" + FAKE_KEY.encode() + b"\"\n", True),
    (b"A" * 70000, False),
])
def test_dotenv_is_parsed_as_hostile_input(fh_paths, tmp_path, content, ok):
    write_run(tmp_path / "run", [("tests/test_d.py::test_scn_good", "pfpf", "boom")])
    (tmp_path / ".env").write_bytes(content)
    with FakeMessagesAPI() as api:
        p, tests = analyze(fh_paths, tmp_path, run_env(tmp_path, api, key=None), "--ai-dotenv")
    report_ok(p)
    ai = tests["tests/test_d.py::test_scn_good"]["ai"]
    assert ai["ok"] is ok, ai
    if ok:
        assert [r["headers"]["x-api-key"] for r in api.requests] == [FAKE_KEY]
    else:
        assert api.requests == [] and ai["reason"]


def test_transport_failures_leave_a_reason(fh_paths, tmp_path):
    write_run(tmp_path / "run", [("tests/test_t.py::test_scn_good", "pfpf", "boom")])
    # Connection refused: a port nobody listens on.
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    env = run_env(tmp_path)
    env["ANTHROPIC_BASE_URL"] = f"http://127.0.0.1:{port}"
    p, tests = analyze(fh_paths, tmp_path, env)
    report_ok(p)
    assert "connect error" in tests["tests/test_t.py::test_scn_good"]["ai"]["reason"]
    # TLS against a plain HTTP server.
    with FakeMessagesAPI() as api:
        env["ANTHROPIC_BASE_URL"] = f"https://127.0.0.1:{api.port}"
        p, tests = analyze(fh_paths, tmp_path, env)
    report_ok(p)
    assert "TLS error" in tests["tests/test_t.py::test_scn_good"]["ai"]["reason"]
    # DNS: a name that cannot resolve (RFC 6761 .invalid).
    env["ANTHROPIC_BASE_URL"] = "http://flakehunter-test.invalid"
    p, tests = analyze(fh_paths, tmp_path, env)
    report_ok(p)
    assert "DNS error" in tests["tests/test_t.py::test_scn_good"]["ai"]["reason"]
    # Not a URL at all.
    env["ANTHROPIC_BASE_URL"] = "file:///etc/passwd"
    p, tests = analyze(fh_paths, tmp_path, env)
    report_ok(p)
    assert "must be an http" in tests["tests/test_t.py::test_scn_good"]["ai"]["reason"]
    for stream in (p.stdout, p.stderr):
        assert FAKE_KEY not in stream


def test_hostile_response_types(fh_paths, tmp_path):
    write_run(tmp_path / "run", [("tests/test_h.py::test_scn_badtypes", "pfpf", "boom")])
    with FakeMessagesAPI() as api:
        p, tests = analyze(fh_paths, tmp_path, run_env(tmp_path, api))
    report_ok(p)
    ai = tests["tests/test_h.py::test_scn_badtypes"]["ai"]
    assert ai["ok"] is False and "no text content" in ai["reason"]


def test_time_budget_and_test_bound(fh_paths, tmp_path):
    write_run(tmp_path / "run", [("tests/test_b.py::test_scn_stall", "ffff", "boom"),
                                 ("tests/test_b.py::test_scn_good", "fpfp", "boom"),
                                 ("tests/test_b.py::test_scn_good2", "fppp", "boom")])
    with FakeMessagesAPI() as api:
        env = run_env(tmp_path, api)
        env["FH_AI_TIMEOUT_MS"] = "20000"
        env["FH_AI_BUDGET_MS"] = "1500"
        env["FH_AI_MAX_TESTS"] = "2"
        p, tests = analyze(fh_paths, tmp_path, env)
    report_ok(p)
    # Report order is worst first: the broken stall, then the 50% test; the third is not asked.
    stall = tests["tests/test_b.py::test_scn_stall"]["ai"]
    assert stall["ok"] is False and "time budget of 1500 ms" in stall["reason"]
    assert tests["tests/test_b.py::test_scn_good"]["ai"]["ok"] is True
    third = tests["tests/test_b.py::test_scn_good2"]["ai"]
    assert third["ok"] is False and "only the first 2" in third["reason"]
    assert {r["scenario"] for r in api.requests} == {"stall", "good"}


def test_invalid_model_id(fh_paths, tmp_path):
    write_run(tmp_path / "run", [("tests/test_m.py::test_scn_good", "pfpf", "boom")])
    with FakeMessagesAPI() as api:
        p, tests = analyze(fh_paths, tmp_path, run_env(tmp_path, api), "--ai-model",
                           "bad model\r\nx-injected: 1")
        assert api.requests == []
    report_ok(p)
    assert "invalid model id" in tests["tests/test_m.py::test_scn_good"]["ai"]["reason"]


def test_retry_after_forms(fh_paths, tmp_path):
    write_run(tmp_path / "run", [("tests/test_r.py::test_scn_r429ms", "pfpf", "boom"),
                                 ("tests/test_r.py::test_scn_r429date", "pfpf", "boom")])
    with FakeMessagesAPI() as api:
        env = run_env(tmp_path, api)
        env["FH_AI_BACKOFF_MS"] = "0"
        p, tests = analyze(fh_paths, tmp_path, env)
    report_ok(p)
    for s, gap in (("r429ms", 0.28), ("r429date", 0.9)):
        assert tests[f"tests/test_r.py::test_scn_{s}"]["ai"]["ok"] is True
        reqs = api.by_scenario(s)
        assert len(reqs) == 2
        assert reqs[1]["t"] - reqs[0]["t"] >= gap, s
