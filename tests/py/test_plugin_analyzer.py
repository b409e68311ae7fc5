# SPDX-License-Identifier: MIT
"""The plugin and the real analyzer end to end (plugin -> attempt records -> `fh-analyze
report` -> JSON summary), and the plugin's behaviour when the analyzer is missing or fails:
a one-line message, and pytest's exit status untouched."""
import json

import pytest

from fh_plugin import fh  # noqa: F401

FLAKY = """
import pytest
N = {}
def bump(k):
    N[k] = N.get(k, 0) + 1
    return N[k]
def test_stable():
    pass
def test_flaky():
    n = bump("f")
    assert n % 3 != 0, f"every third attempt fails ({n})"
def test_broken():
    raise ConnectionRefusedError("db down")
@pytest.mark.parametrize("p", ["a", "b"])
def test_param(p):
    if p == "b" and bump(p) == 2:
        raise TimeoutError("slow")
"""


def test_end_to_end_json_summary(fh):
    fh.use_real_analyzer()
    fh.pytester.makepyfile(test_f=FLAKY)
    r = fh.run("--fh", "--fh-runs=6", "--fh-no-history")
    r.assert_outcomes(passed=6 + 4 + 6 + 5, failed=2 + 6 + 1)
    assert r.ret == 1
    summary = json.loads((fh.path / "flakehunter_report.json").read_text())
    assert summary["schema"] == "flakehunter-summary/1"
    assert summary["run_id"] == fh.meta()["run_id"] and summary["runs_per_test"] == 6
    assert summary["tracing"] is False
    tests = {t["nodeid"]: t for t in summary["tests"]}
    assert set(tests) == {"test_f.py::test_stable", "test_f.py::test_flaky",
                          "test_f.py::test_broken", "test_f.py::test_param[a]",
                          "test_f.py::test_param[b]"}
    fl = tests["test_f.py::test_flaky"]
    assert (fl["attempts"], fl["passed"], fl["failed"]) == (6, 4, 2)
    assert fl["verdict"] == "flaky" and abs(fl["flake_rate"] - 2 / 6) < 1e-5
    lo, hi = fl["flake_rate_ci95"]
    assert lo < 2 / 6 < hi
    assert len(fl["clusters"]) == 1 and fl["clusters"][0]["attempts"] == [3, 6]
    assert fl["clusters"][0]["error_type"] == "AssertionError"
    assert tests["test_f.py::test_broken"]["verdict"] == "broken"
    assert tests["test_f.py::test_stable"]["verdict"] == "stable"
    pb = tests["test_f.py::test_param[b]"]
    assert pb["verdict"] == "flaky" and pb["clusters"][0]["error_type"] == "TimeoutError"
    log = {a["attempt"]: a for a in pb["attempt_log"]}
    assert log[2]["outcome"] == "failed" and log[2]["failed_at"]["function"] == "test_param"
    out = r.stdout.str()
    assert "= flakehunter =" in out.replace("=" * 5, "=")
    assert "test_f.py::test_flaky" in out.split("flakehunter ====")[-1]


def test_missing_analyzer_is_one_line_and_keeps_exit_status(fh):
    fh.mp.setenv("FH_ANALYZE", str(fh.path / "no-such-analyzer"))
    fh.pytester.makepyfile(test_ok="def test_a():\n    pass\n")
    r = fh.run("--fh", "--fh-runs=2")
    assert r.ret == 0
    lines = [x for x in r.stdout.lines if "fh-analyze not found" in x]
    assert len(lines) == 1
    assert f"fh-analyze report {fh.run_dir()}" in lines[0]


@pytest.mark.parametrize("suite,status", [("def test_a():\n    pass\n", 0),
                                          ("def test_a():\n    assert 0\n", 1)])
def test_failing_analyzer_keeps_exit_status(fh, suite, status):
    fh.mp.setenv("FAKE_ANALYZER_RC", "1")
    fh.mp.setenv("FAKE_ANALYZER_STDERR", "fh-analyze: error: cannot write x.html\n")
    fh.pytester.makepyfile(test_s=suite)
    r = fh.run("--fh", "--fh-runs=2")
    assert r.ret == status
    msg = [x for x in r.stdout.lines if "fh-analyze failed" in x]
    assert len(msg) == 1 and "cannot write x.html" in msg[0]
    assert f"re-render later with: fh-analyze report {fh.run_dir()}" in msg[0]


def test_analyzer_found_on_path(fh):
    fh.mp.delenv("FH_ANALYZE")
    bindir = fh.path.parent / f"{fh.path.name}-bin"
    bindir.mkdir()
    (bindir / "fh-analyze").symlink_to(fh.fake)
    import os
    fh.mp.setenv("PATH", str(bindir) + os.pathsep + os.environ["PATH"])
    fh.pytester.makepyfile(test_ok="def test_a():\n    pass\n")
    fh.run("--fh", "--fh-runs=1")
    assert len(fh.analyzer_calls()) == 1


def test_analyzer_warnings_are_capped(fh):
    fh.mp.setenv("FAKE_ANALYZER_STDERR", "".join(f"warning {i}\n" for i in range(50)))
    fh.pytester.makepyfile(test_ok="def test_a():\n    pass\n")
    r = fh.run("--fh", "--fh-runs=1")
    out = r.stdout.str()
    assert "warning 19" in out and "warning 20" not in out
    assert "30 more analyzer warnings" in out
