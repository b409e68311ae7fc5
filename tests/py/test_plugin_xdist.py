# SPDX-License-Identifier: MIT
"""xdist: one run directory for the controller and every worker, one analyzer call (by the
controller), and a worker killed mid-run keeps the attempts it had already recorded."""
from fh_plugin import LIFETIME_SUITE, fh  # noqa: F401

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
    r = fh.run("--fh", "--fh-runs=5", "-n", "2")
    assert r.ret == 1
    assert "crashed" in r.stdout.str()
    tests = fh.by_test()
    killer = tests["test_kill.py::test_killer"]
    assert [x["attempt"] for x in killer] == [1, 2, 3]
    assert all(x["outcome"] == "passed" for x in killer)
    # The other tests all ran (on the surviving or the replacement worker).
    assert sum(len(v) for k, v in tests.items() if "test_many" in k) == 8 * 5
    assert len(fh.analyzer_calls()) == 1
