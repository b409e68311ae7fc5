# SPDX-License-Identifier: MIT
"""Fixture lifetimes under the re-run protocol, counted: kept across attempts (default) and
torn down between attempts (--fh-isolate); errors in setup and teardown; raising fixtures."""
from fh_plugin import LIFETIME_SUITE, fh, needs_autoload  # noqa: F401


def test_default_keeps_higher_scopes(fh):
    fh.pytester.makepyfile(test_life=LIFETIME_SUITE)
    r = fh.run("--fh", "--fh-runs", "3")
    r.assert_outcomes(passed=9)
    log = fh.log_lines()
    assert log.count("sess-up") == 1 and log.count("sess-down") == 1
    assert log.count("mod-up") == 1 and log.count("mod-down") == 1
    assert log.count("cls-up") == 1 and log.count("cls-down") == 1
    assert log.count("fn-up") == 9 and log.count("fn-down") == 9
    # Torn down at the right time: the class after test_2's last attempt, the rest at the end.
    assert log[log.index("t3") - 2:log.index("t3")] == ["cls-down", "fn-up"]
    assert log.index("cls-down") > len(log) - 1 - log[::-1].index("t2")
    assert log[-2:] == ["mod-down", "sess-down"]
    # Every attempt of a test runs back to back.
    tests = [x for x in log if x.startswith("t")]
    assert tests == ["t1"] * 3 + ["t2"] * 3 + ["t3"] * 3


def test_isolate_tears_down_everything_between_attempts(fh):
    fh.pytester.makepyfile(test_life=LIFETIME_SUITE)
    r = fh.run("--fh", "--fh-runs", "3", "--fh-isolate")
    r.assert_outcomes(passed=9)
    log = fh.log_lines()
    assert log.count("fn-up") == 9 and log.count("fn-down") == 9
    assert log.count("sess-up") == log.count("sess-down")
    assert log.count("mod-up") == log.count("mod-down")
    assert log.count("cls-up") == log.count("cls-down")
    # Each attempt but a test's last starts from nothing: 2 fresh session set-ups per test
    # beyond the one shared with the previous test's last attempt.
    assert log.count("sess-up") == 7
    # Nothing of a previous attempt is alive when an attempt (not a test's first) starts.
    seq = " ".join(log)
    assert "t1 fn-down cls-down mod-down sess-down sess-up mod-up cls-up fn-up t1" in seq
    assert fh.meta()["isolate"] is True
    assert all(rec["isolate"] for rec in fh.records())


def test_fixture_error_in_setup_and_teardown(fh):
    fh.pytester.makepyfile(test_err="""
        import os, pytest
        LOG = os.path.join(os.path.dirname(os.path.abspath(__file__)), "log.txt")
        def log(s):
            with open(LOG, "a") as f:
                f.write(s + "\\n")
        @pytest.fixture(scope="module")
        def broken_mod():
            log("broken-mod-up")
            raise RuntimeError("module fixture broke")
        @pytest.fixture(scope="module")
        def bad_teardown_mod():
            log("btm-up"); yield; log("btm-down"); raise ValueError("module teardown broke")
        @pytest.fixture
        def bad_teardown_fn():
            yield; log("btf-down"); raise KeyError("fn teardown")
        def test_setup_fails(broken_mod):
            log("never")
        def test_teardown_fn(bad_teardown_fn):
            log("tf")
        def test_teardown_mod(bad_teardown_mod):
            log("tm")
    """)
    r = fh.run("--fh", "--fh-runs", "3")
    # 3 setup errors, 3 fn teardown errors, 1 module teardown error (exactly once, at the end).
    r.assert_outcomes(passed=6, errors=7)
    assert r.ret == 1
    log = fh.log_lines()
    assert log.count("broken-mod-up") == 1 and "never" not in log
    assert log.count("btf-down") == 3 and log.count("tf") == 3
    assert log.count("btm-up") == 1 and log.count("btm-down") == 1 and log.count("tm") == 3
    tests = fh.by_test()
    s = tests["test_err.py::test_setup_fails"]
    assert [x["outcome"] for x in s] == ["error"] * 3 and {x["when"] for x in s} == {"setup"}
    assert s[0]["error"]["type"] == "RuntimeError"
    assert s[0]["frames"][-1]["function"] == "broken_mod"
    t = tests["test_err.py::test_teardown_fn"]
    assert [x["outcome"] for x in t] == ["error"] * 3 and {x["when"] for x in t} == {"teardown"}
    m = tests["test_err.py::test_teardown_mod"]
    assert [x["outcome"] for x in m] == ["passed", "passed", "error"]
    assert m[2]["error"] == {"type": "ValueError", "message": "module teardown broke"}


def test_function_fixture_fresh_each_attempt(fh):
    fh.pytester.makepyfile(test_fresh="""
        import pytest
        SEEN = []
        @pytest.fixture
        def box():
            return []
        @pytest.fixture(scope="module")
        def shared():
            return []
        def test_it(box, shared):
            box.append(1); shared.append(1)
            SEEN.append((len(box), len(shared)))
            assert len(box) == 1
        def test_after():
            assert SEEN == [(1, 1), (1, 2), (1, 3), (1, 4)]
    """)
    r = fh.run("--fh", "--fh-runs", "4")
    r.assert_outcomes(passed=8)


@needs_autoload("pytest-timeout")
def test_pytest_timeout_applies_per_attempt(fh):
    fh.pytester.makepyfile(test_t="""
        import itertools, time, pytest
        N = itertools.count(1)
        @pytest.mark.timeout(0.6, method="signal")
        def test_slowish():
            time.sleep(0.25)
        @pytest.mark.timeout(0.6, method="signal")
        def test_also_slowish():
            time.sleep(0.25)
        @pytest.mark.timeout(0.6, method="signal")
        def test_hangs_once():
            if next(N) == 3:
                time.sleep(30)
        @pytest.mark.timeout(0.6, method="signal", func_only=True)
        def test_func_only():
            time.sleep(0.25)
    """)
    r = fh.run("--fh", "--fh-runs", "4")
    # 4 x 0.25 s would exceed one 0.6 s timer; each attempt gets its own, and the timer of a
    # later attempt is armed: the third attempt of test_hangs_once is stopped by it.
    r.assert_outcomes(passed=15, failed=1)
    hangs = fh.by_test()["test_t.py::test_hangs_once"]
    assert [x["outcome"] for x in hangs] == ["passed", "passed", "failed", "passed"]
    assert "Timeout" in hangs[2]["error"]["message"] and hangs[2]["duration_s"] < 10
