# SPDX-License-Identifier: MIT
"""The whole path: a real `pytest --fh --fh-ai` on a small suite whose flaky test fails with a
secret and the API key in its message, the plugin running the real fh-analyze, which asks the fake Messages API
(tests/py/fh_ai.py). The hypothesis reaches the JSON and the HTML, pytest's exit status is the
suite's own, and neither the API key nor the failure message's secrets appear in any file the
run wrote: the whole test directory is walked, the plugin's attempt records included (the
plugin redacts them with the analyzer's rules), only the suite's source that the test itself
wrote is left out."""
import json
import re
import os
import subprocess
import sys

from fh_ai import ANSWER, MODEL_ANSWERED, FakeMessagesAPI

sys.path.insert(0, os.path.dirname(__file__))
from test_ai_api import FAKE_KEY, SECRET_MESSAGE, SECRETS  # noqa: E402

SUITE = f'''
import itertools
import os
_n = itertools.count()

def test_scn_good_flaky():
    if next(_n) % 2:
        raise TimeoutError({SECRET_MESSAGE!r} + " key " + os.environ["ANTHROPIC_API_KEY"])

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
    assert FAKE_KEY.encode() not in api.requests[0]["raw"]
    html = (proj / "flakehunter_report.html").read_text()
    assert "AI hypothesis" in html and MODEL_ANSWERED in html

    needles = [FAKE_KEY.encode()] + [s.encode() for s in SECRETS]
    records = set()
    files = 0
    for path in tmp_path.rglob("*"):
        if not path.is_file() or path == proj / "test_suite.py":
            continue
        files += 1
        if path.name.startswith("attempts-") and path.suffix == ".jsonl":
            records.add(path)
        data = path.read_bytes()
        for n in needles:
            assert n not in data, (path, n)
    assert records and files > 5
    # The records keep the failure, redacted.
    failed = [json.loads(x) for r in records for x in r.read_text().splitlines()
              if '"outcome":"failed"' in x]
    assert failed and all("password=[REDACTED]" in f["error"]["message"] for f in failed)
    # pytest itself prints the failure as raised (the test put the key and the secrets in
    # it); what flakehunter prints, its terminal section, holds none of them.
    assert FAKE_KEY in p.stdout
    ours = p.stdout.split("= flakehunter =", 1)
    assert len(ours) == 2, p.stdout
    # Our section ends where pytest's next one ("short test summary info") begins; pytest
    # prints the raised message there in full when CI is set.
    section = re.split(r"\n=+ ", ours[1], maxsplit=1)[0]
    assert "report" in section, p.stdout
    for n in needles:
        assert n.decode() not in section and n.decode() not in p.stderr
