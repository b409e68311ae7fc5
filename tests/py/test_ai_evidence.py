# SPDX-License-Identifier: MIT
"""The prompt carries the system evidence: a real `pytest --fh --fh-ai` under the real preload
on a suite whose test sometimes times out waiting for a local server; the request the fake
Messages API (tests/py/fh_ai.py) receives holds the deterministic diagnosis with its evidence
line, the last blocking call of failing and passing attempts and how it ended, and the contrast
between them."""
from fh_ai import ANSWER, FakeMessagesAPI
from fh_diag import run_fh
from test_diagnosis_timeout import NET


def test_prompt_carries_trace_evidence(tmp_path, monkeypatch):
    for k in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(k, raising=False)
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-evidence-test-0000000000")
    monkeypatch.setenv("FH_AI_TIMEOUT_MS", "10000")
    with FakeMessagesAPI() as api:
        monkeypatch.setenv("ANTHROPIC_BASE_URL", api.base_url)
        r = run_fh(tmp_path, NET, "--fh-ai")
    assert r.outcomes("::test_fetch") == "ppfppf"
    t = r.test("::test_fetch")
    assert t["ai_hypothesis"] == ANSWER, t.get("ai")
    assert len(api.requests) == 1
    p = api.requests[0]["body"]["messages"][0]["content"]
    d = t["diagnosis"]
    assert "Diagnosis (deterministic, from the evidence): kind timeout, blocked on net" in p
    assert f"evidence: {d['evidence'][0]}" in p
    assert "system-call tracing on" in p
    assert "Failing attempts: 2, 2 with a trace" in p
    # the category the diagnosis, the heatmap and the JSON give (poll is a call, not one)
    assert "last blocking call, how it ended: poll (net) timeout in 2/2" in p
    assert "Passing attempts: 4, 4 with a trace" in p
    passing = p.split("Passing attempts: 4, 4 with a trace\n", 1)[1].split("\n", 1)[0]
    assert passing.startswith("  last blocking call, how it ended: ") and "returned in" in passing
    assert "timeout" not in passing
    assert "last blocking call of the test's thread: poll on 127.0.0.1:" in p
    assert ", blocked on net, started at" in p
    assert "ended: timeout" in p and "ended: returned" in p
    assert "time by category (s): cpu" in p
