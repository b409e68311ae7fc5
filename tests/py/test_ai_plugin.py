# SPDX-License-Identifier: MIT
"""The whole path: a real `pytest --fh --fh-ai` on a small suite whose flaky test fails with a
secret in its message, the plugin running the real fh-analyze, which asks the fake Messages API
(tests/py/fh_ai.py). The hypothesis reaches the JSON and the HTML, pytest's exit status is the
suite's own, and the API key appears in no file the run wrote. The failure message's secrets
appear in no file the analyzer wrote; the plugin's own attempt records are checked separately
(they keep what pytest reported)."""
import json
import os
import subprocess
import sys

from fh_ai import ANSWER, MODEL_ANSWERED, FakeMessagesAPI

sys.path.insert(0, os.path.dirname(__file__))
from test_ai_api import FAKE_KEY, SECRET_MESSAGE, SECRETS  # noqa: E402

SUITE = f'''
import itertools
_n = itertools.count()

def test_scn_good_flaky():
    if next(_n) % 2:
        raise TimeoutError({SECRET_MESSAGE!r})

def test_stable():
    pass
'''


def test_pytest_fh_ai_end_to_end(fh_paths, fh_env, tmp_path):
    proj = tmp_path / "proj"
    proj.mkdir()
    (proj / "test_suite.py").write_text(SUITE)
    env = dict(fh_env)
    for k in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY",
              "all_proxy", "ANTHROPIC_API_KEY"):
        env.pop(k, None)
    env["FH_AI_TIMEOUT_MS"] = "5000"
    with FakeMessagesAPI() as api:
        env["ANTHROPIC_BASE_URL"] = api.base_url
        env["ANTHROPIC_API_KEY"] = FAKE_KEY
        p = subprocess.run(["/usr/bin/python3", "-m", "pytest", "-p", "pytest_flakehunter",
                            "-p", "no:cacheprovider", "--fh", "--fh-runs", "4", "--fh-ai",
                            "--fh-ai-model", "claude-e2e-model", "-q", "test_suite.py"],
                           cwd=proj, env=env, capture_output=True, text=True, timeout=120)
    # The suite has a flaky test: pytest's exit status is its own, not the AI stage's.
    assert p.returncode in (0, 1), p.stdout + p.stderr
    summary = json.loads((proj / "flakehunter_report.json").read_text())
    tests = {t["nodeid"]: t for t in summary["tests"]}
    flaky = tests["test_suite.py::test_scn_good_flaky"]
    assert flaky["verdict"] == "flaky"
    assert flaky["ai_hypothesis"] == ANSWER, flaky.get("ai")
    assert flaky["ai"]["model"] == MODEL_ANSWERED and flaky["ai"]["redacted"] is True
    assert tests["test_suite.py::test_stable"].get("ai") is None
    assert len(api.requests) == 1
    body = api.requests[0]["body"]
    assert body["model"] == "claude-e2e-model"
    content = body["messages"][0]["content"]
    assert "Test: test_suite.py::test_scn_good_flaky" in content
    assert "password=[REDACTED]" in content
    html = (proj / "flakehunter_report.html").read_text()
    assert "AI hypothesis" in html and MODEL_ANSWERED in html

    key = FAKE_KEY.encode()
    secrets = [s.encode() for s in SECRETS]
    records = set()
    files = 0
    for path in tmp_path.rglob("*"):
        if not path.is_file():
            continue
        files += 1
        data = path.read_bytes()
        assert key not in data, path
        if path.name.startswith("attempts-") and path.suffix == ".jsonl":
            records.add(path)
            continue
        if path == proj / "test_suite.py":
            continue
        for s in secrets:
            assert s not in data, (path, s)
    assert records and files > 5
    # pytest itself prints the failure (secrets included); the key is never printed.
    for stream in (p.stdout, p.stderr):
        assert FAKE_KEY not in stream
