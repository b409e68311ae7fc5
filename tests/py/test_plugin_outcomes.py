# SPDX-License-Identifier: MIT
"""Outcomes as pytest reports them and as the attempt records carry them: passes, failures,
skips, xfails, parametrized ids; one full traceback per failure cluster; truthful counts."""
import json
import os
import re

import pytest

from fh_plugin import fh  # noqa: F401

SUITE = """
import os, pytest
COUNT = {}
def bump(k):
    COUNT[k] = COUNT.get(k, 0) + 1
    return COUNT[k]
def test_pass():
    pass
def test_flaky():
    n = bump("flaky")
    assert n % 2 == 0, f"odd attempt {n}"
@pytest.mark.skip(reason="not today")
def test_skip_mark():
    pass
def test_skip_call():
    pytest.skip("skipped inside")
@pytest.mark.xfail(reason="known bug")
def test_xfail():
    assert 0
@pytest.mark.xfail(reason="sometimes fixed")
def test_xpass():
    pass
@pytest.mark.xfail(reason="strict", strict=True)
def test_xpass_strict():
    pass
@pytest.mark.parametrize("db,n", [("sqlite", 1), ("my-sql", 2)], ids=["lite-1", "my-2"])
def test_param(db, n, tmp_path):
    assert n in (1, 2)
class TestK:
    def test_m(self):
        pass
"""


def test_outcomes_and_records(fh):
    fh.pytester.makepyfile(test_o=SUITE)
    r = fh.run("--fh", "--fh-runs", "4")
    # pytest's own counts are per attempt: 10 tests x 4 attempts.
    r.assert_outcomes(passed=4 + 2 + 2 * 4 + 4, failed=2 + 4, skipped=8, xfailed=4, xpassed=4)
    assert r.ret == 1
    tests = fh.by_test()
    assert len(tests) == 10 and all(len(v) == 4 for v in tests.values())
    for nodeid, recs in tests.items():
        assert [x["attempt"] for x in recs] == [1, 2, 3, 4]
        assert all(x["runs"] == 4 and x["worker"] == "main" for x in recs)
        assert all(x["pid"] == recs[0]["pid"] for x in recs)
        starts = [x["start_ns"] for x in recs]
        assert starts == sorted(starts)
    fl = tests["test_o.py::test_flaky"]
    assert [x["outcome"] for x in fl] == ["failed", "passed", "failed", "passed"]
    assert fl[0]["when"] == "call" and fl[0]["error"]["type"] == "AssertionError"
    assert fl[2]["error"]["message"].startswith("odd attempt 3")
    fr = fl[0]["frames"][-1]
    assert fr == {"path": "test_o.py", "line": 10, "function": "test_flaky",
                  "source": 'assert n % 2 == 0, f"odd attempt {n}"'}
    sm = tests["test_o.py::test_skip_mark"]
    assert {(x["outcome"], x["when"], x["xfail"]) for x in sm} == {("skipped", "setup", False)}
    sc = tests["test_o.py::test_skip_call"]
    assert {(x["outcome"], x["when"]) for x in sc} == {("skipped", "call")}
    xf = tests["test_o.py::test_xfail"]
    assert {(x["outcome"], x["xfail"]) for x in xf} == {("skipped", True)}
    xp = tests["test_o.py::test_xpass"]
    assert {(x["outcome"], x["xfail"]) for x in xp} == {("passed", True)}
    xs = tests["test_o.py::test_xpass_strict"]
    assert {(x["outcome"], x["xfail"], x["when"]) for x in xs} == {("failed", True, "call")}
    assert xs[0]["error"]["type"] == "XPASS(strict)"
    p1 = tests["test_o.py::test_param[lite-1]"]
    assert p1[0]["param_id"] == "lite-1" and p1[0]["function"] == "test_param"
    assert {"db", "n", "tmp_path", "tmp_path_factory"} <= set(p1[0]["fixtures"])
    assert tests["test_o.py::test_param[my-2]"][0]["param_id"] == "my-2"
    m = tests["test_o.py::TestK::test_m"][0]
    assert m["function"] == "test_m" and m["param_id"] is None and m["file"] == "test_o.py"
    assert tests["test_o.py::test_pass"][0]["phases"].keys() == {"setup", "call", "teardown"}


def test_one_traceback_per_cluster(fh):
    fh.pytester.makepyfile(test_c="""
        COUNT = [0]
        def helper(n):
            if n % 2:
                raise ValueError(f"odd {n}")
            raise KeyError(n)
        def test_two_clusters():
            COUNT[0] += 1
            helper(COUNT[0])
        def test_always():
            x = 41
            assert x == 42
    """)
    fh.mp.setenv("COLUMNS", "200")
    fh.use_real_analyzer()
    r = fh.run("--fh", "--fh-runs", "6", "--junitxml=pytest-junit.xml")
    r.assert_outcomes(failed=12)
    assert r.ret == 1
    out = r.stdout.str()
    # Full tracebacks: one per cluster (ValueError, KeyError, the assert), each once, and
    # nothing per repeated attempt.
    assert out.count("    def test_two_clusters():") == 2
    assert out.count("    def test_always():") == 1
    elines = [x.split(None, 1)[1] for x in out.splitlines() if x.startswith("E   ")]
    assert elines.count("ValueError: odd 1") == 1 and "ValueError: odd 3" not in elines
    assert elines.count("KeyError: 2") == 1 and "KeyError: 4" not in elines
    assert "same failure as attempt" not in out
    assert out.count("_ test_always _") == 1 and out.count("_ test_two_clusters _") == 2
    # The short summary: one line per test and failure cluster, named by the analyzer's
    # fingerprint of the cluster.
    summary = json.loads((fh.path / "flakehunter_report.json").read_text())
    fps = {t["nodeid"]: {c["fingerprint"][:6]: c["count"] for c in t["clusters"]}
           for t in summary["tests"]}
    lines = [x for x in out.splitlines() if x.startswith("FAILED ")]
    assert len(lines) == 3, lines
    got = {}
    for x in lines:
        m = re.match(r"FAILED (\S+) - (\d)/6 attempts, cluster ([0-9a-f]{6}): (\w+): ", x)
        assert m, x
        got.setdefault(m.group(1), {})[m.group(3)] = int(m.group(2))
    assert got == fps
    assert "FAILED test_c.py::test_always - 6/6 attempts, cluster " in out
    assert re.search(r"3/6 attempts, cluster [0-9a-f]{6}: ValueError: odd 1", out)
    assert re.search(r"3/6 attempts, cluster [0-9a-f]{6}: KeyError: 2", out)
    # pytest's own hooks still saw every failing attempt: its JUnit XML has all 12, the
    # repeats with the one-line report that names the attempt shown in full.
    xml = (fh.path / "pytest-junit.xml").read_text()
    assert xml.count("<failure ") == 12
    assert xml.count("same as attempt 1") == 5 + 2 and xml.count("same as attempt 2") == 2
    recs = fh.by_test()["test_c.py::test_two_clusters"]
    assert [x["error"]["type"] for x in recs] == ["ValueError", "KeyError"] * 3
    assert [x["frames"][-1]["function"] for x in recs] == ["helper"] * 6
    assert recs[1]["frames"][-2]["function"] == "test_two_clusters"


def test_without_fh_nothing_changes(fh):
    fh.pytester.makepyfile(test_n="def test_a():\n    pass\n")
    r = fh.run()
    r.assert_outcomes(passed=1)
    assert not (fh.path / ".flakehunter").exists()
    assert fh.analyzer_calls() == []


def test_exitfirst_stops_attempts(fh):
    fh.pytester.makepyfile(test_x="""
        def test_a():
            assert 0
        def test_b():
            pass
    """)
    r = fh.run("--fh", "--fh-runs", "5", "-x")
    r.assert_outcomes(failed=1)
    assert [x["nodeid"] for x in fh.records()] == ["test_x.py::test_a"]


def test_records_survive_sigkill_without_xdist(fh):
    fh.pytester.makepyfile(test_k="""
        import os, signal
        N = [0]
        def test_a():
            pass
        def test_killer():
            N[0] += 1
            if N[0] == 3:
                os.kill(os.getpid(), signal.SIGKILL)
    """)
    r = fh.run("--fh", "--fh-runs", "5")
    assert r.ret == -9
    recs = fh.records()
    assert [(x["nodeid"].split("::")[1], x["attempt"]) for x in recs] == \
        [("test_a", i) for i in range(1, 6)] + [("test_killer", 1), ("test_killer", 2)]
    assert os.path.getsize(fh.run_dir() / f"attempts-{recs[0]['pid']}.jsonl") > 0


def test_full_traceback_is_pytests_own(fh):
    """The first failure of a cluster is formatted by pytest exactly as without --fh."""
    fh.pytester.makepyfile(test_t="""
        import pytest
        def helper(d):
            return d["missing"]
        @pytest.fixture
        def data():
            return {"a": 1}
        def test_multi_line(data):
            x = [1,
                 2]
            assert helper(
                data) == x
        class TestK:
            def test_assert(self):
                assert {"a": 1} == {"a": 2}
    """)

    def failures(r):
        out = re.sub(r" at 0x[0-9a-f]+>", " at 0x?>", r.stdout.str())
        return out.split("= FAILURES =", 1)[1].split("short test summary", 1)[0] \
            .split("= flakehunter =", 1)[0]

    plain = failures(fh.run())
    hunted = failures(fh.run("--fh", "--fh-runs=1"))
    assert "KeyError" in plain and "def test_multi_line(data):" in plain
    assert hunted.rstrip("= \n") == plain.rstrip("= \n")


def test_unittest_and_doctest_items(fh):
    fh.pytester.makepyfile(test_u='''
        import unittest
        N = [0]
        class T(unittest.TestCase):
            @classmethod
            def setUpClass(cls):
                N.append("class-up")
            def test_a(self):
                N[0] += 1
                self.assertEqual(N[0] % 2, 0)
            @unittest.skip("no")
            def test_s(self):
                pass
        def f():
            """
            >>> 1 + 1
            2
            """
        def test_class_set_up_once():
            assert N.count("class-up") == 1
    ''')
    r = fh.run("--fh", "--fh-runs=4", "--doctest-modules")
    r.assert_outcomes(passed=2 + 4 + 4, failed=2, skipped=4)
    tests = fh.by_test()
    assert [x["outcome"] for x in tests["test_u.py::T::test_a"]] == ["failed", "passed"] * 2
    assert {x["outcome"] for x in tests["test_u.py::T::test_s"]} == {"skipped"}
    assert len(tests["test_u.py::test_u.f"]) == 4


def test_hostile_strings_in_records(fh):
    fh.pytester.makepyfile(test_h='''
        import pytest
        @pytest.mark.parametrize("s", ["100%d", 'q"uo\\\\te', "ünï\\ncode", "%s%%"])
        def test_h(s):
            raise ValueError(f"bad {s} 100% \\x00")
    ''')
    r = fh.run("--fh", "--fh-runs=2")
    r.assert_outcomes(failed=8)
    recs = fh.records()
    assert len(recs) == 8
    msgs = sorted({x["error"]["message"] for x in recs})
    assert msgs == sorted({f"bad {s} 100% \x00" for s in
                           ["100%d", 'q"uo\\te', "ünï\ncode", "%s%%"]})
    assert {x["param_id"] for x in recs} >= {"100%d", "%s%%"}


@pytest.mark.skipif(pytest.version_tuple[:1] < (9,),
                    reason=f"the subtests fixture is built into pytest 9; this is pytest "
                           f"{pytest.__version__} (tests/py/test_plugin_pytest9.py runs this "
                           f"file under pytest 9)")
def test_failed_subtest_fails_only_its_attempt(fh):
    """pytest 9 fails a test whose subtest failed by a count kept per test id for the session:
    each attempt starts from zero, so only the attempt whose subtest failed is a failure."""
    fh.pytester.makepyfile(test_sub="""
        import itertools
        N = itertools.count(1)
        def test_sub(subtests):
            n = next(N)
            with subtests.test(msg="second attempt fails", n=n):
                assert n != 2
    """)
    r = fh.run("--fh", "--fh-runs", "4")
    recs = fh.by_test()["test_sub.py::test_sub"]
    assert [x["outcome"] for x in recs] == ["passed", "failed", "passed", "passed"]
    assert recs[1]["error"] == {"type": "AssertionError", "message": "assert 2 != 2"}
    # one short-summary line for the test's one failure cluster (the subtest's assertion)
    assert r.stdout.str().count("FAILED test_sub.py::test_sub - 1/4 attempts, cluster ") == 1
