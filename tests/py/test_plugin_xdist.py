# SPDX-License-Identifier: MIT
"""xdist: one run directory for the controller and every worker, one analyzer call (by the
controller), and a worker killed mid-run keeps the attempts it had already recorded."""
import json

from fh_plugin import LIFETIME_SUITE, fh, needs_autoload  # noqa: F401

pytestmark = needs_autoload("pytest-xdist")

MANY = """
import pytest
@pytest.mark.parametrize("i", range(8))
def test_many(i):
    pass
"""


def test_two_workers_one_run(fh):
    fh.pytester.makepyfile(test_many=MANY, test_life=LIFETIME_SUITE)
    r = fh.run("--fh", "--fh-runs=3", "-n", "2")
    r.assert_outcomes(passed=(8 + 3) * 3)
    assert r.ret == 0
    assert len(fh.run_dirs()) == 1
    meta = fh.meta()
    assert meta["xdist"] is True
    tests = fh.by_test()
    assert len(tests) == 11 and all(len(v) == 3 for v in tests.values())
    files = list(fh.run_dir().glob("attempts-*.jsonl"))
    workers = {x["worker"] for x in fh.records()}
    assert workers <= {"gw0", "gw1"} and len(files) == len(workers) >= 1
    for recs in tests.values():
        assert len({x["pid"] for x in recs}) == 1 and [x["attempt"] for x in recs] == [1, 2, 3]
    calls = fh.analyzer_calls()
    assert len(calls) == 1 and calls[0]["argv"][1] == str(fh.run_dir())
    assert r.stdout.str().count("FAKE-ANALYZER-SUMMARY") == 1
    # Fixture lifetimes hold per worker: every set-up has exactly one tear-down.
    log = fh.log_lines()
    for name in ("sess", "mod", "cls", "fn"):
        assert log.count(f"{name}-up") == log.count(f"{name}-down") > 0
    assert log.count("fn-up") == 9


def test_killed_worker_keeps_earlier_attempts(fh):
    fh.pytester.makepyfile(test_kill="""
        import os, signal
        N = [0]
        def test_killer():
            N[0] += 1
            if N[0] == 4:
                os.kill(os.getpid(), signal.SIGKILL)
    """, test_many=MANY)
    fh.use_real_analyzer()
    r = fh.run("--fh", "--fh-runs=5", "-n", "2", "--fh-no-history")
    assert r.ret == 1
    assert "crashed" in r.stdout.str()
    tests = fh.by_test()
    killer = sorted(tests["test_kill.py::test_killer"], key=lambda x: x["attempt"])
    assert [x["attempt"] for x in killer] == [1, 2, 3, 4]
    assert all(x["outcome"] == "passed" for x in killer[:3])
    # The attempt in progress is recorded by the controller, with the dead worker's pid.
    crash = killer[3]
    assert crash["outcome"] == "failed" and crash["error"]["type"] == "WorkerCrashed"
    assert "crashed while running 'test_kill.py::test_killer'" in crash["error"]["message"]
    assert crash["pid"] == killer[0]["pid"] and crash["worker"] == killer[0]["worker"]
    assert crash["start_ns"] == killer[2]["stop_ns"] and crash["function"] == "test_killer"
    # The other tests all ran (on the surviving or the replacement worker).
    assert sum(len(v) for k, v in tests.items() if "test_many" in k) == 8 * 5
    # The analyzer (run once, by the controller) sees every attempt, the crashed one too.
    summary = json.loads((fh.path / "flakehunter_report.json").read_text())
    st = {t["nodeid"]: t for t in summary["tests"]}
    assert (st["test_kill.py::test_killer"]["attempts"],
            st["test_kill.py::test_killer"]["failed"]) == (4, 1)
    assert len(st) == 9


def test_one_traceback_per_cluster_under_xdist(fh):
    fh.pytester.makepyfile(test_c="""
        def test_always():
            x = 41
            assert x == 42
    """, test_many=MANY)
    r = fh.run("--fh", "--fh-runs=5", "-n", "2")
    r.assert_outcomes(failed=5, passed=40)
    out = r.stdout.str()
    assert out.count("    def test_always():") == 1
    assert "same failure as attempt" not in out
    # The controller's scoreboard (fed by the workers' report tags): one summary line, one
    # character per test in the progress line.
    assert [x for x in out.splitlines() if x.startswith("FAILED")] == [
        x for x in out.splitlines() if x.startswith("FAILED test_c.py::test_always - 5/5 "
                                                   "attempts, cluster ")]
    assert out.count("FAILED") == 1
    progress = [x for x in out.splitlines() if x.endswith("[100%]")]
    assert progress and progress[0].split()[0] in ("F........", "........F") or \
        sorted(progress[0].split()[0]) == sorted("F" + "." * 8), progress
    recs = fh.by_test()["test_c.py::test_always"]
    assert [x["outcome"] for x in recs] == ["failed"] * 5
    assert all(x["frames"][-1]["source"] == "assert x == 42" for x in recs)
