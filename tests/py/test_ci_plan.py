# SPDX-License-Identifier: MIT
"""--fh-budget and --fh-runs auto: attempts planned from durations, early stops by the
sequential rule, the cap, planned and actual attempts in records and summary, and fixtures
torn down at the right level although the last attempt is only known once it ran."""
import json
import time

import pytest

from fh_plugin import LIFETIME_SUITE, fh, needs_autoload  # noqa: F401
from pytest_flakehunter import plan

AUTO_SUITE = """
import pytest
N = {}
def bump(k):
    N[k] = N.get(k, 0) + 1
    return N[k]
def test_stable():
    pass
def test_flaky():
    assert bump("f") % 2
def test_rare():
    assert bump("r") != 2
def test_broken():
    assert 0
@pytest.mark.skip(reason="off")
def test_skipped():
    pass
"""


def by_test(fh, run_dir=None):
    return {k.split("::", 1)[1]: v for k, v in fh.by_test(run_dir).items()}


def test_runs_auto_stops_when_settled(fh):
    fh.use_real_analyzer()
    fh.pytester.makepyfile(test_a=AUTO_SUITE)
    r = fh.run("--fh", "--fh-runs=auto", "--fh-no-history")
    tests = by_test(fh)
    n = {k: len(v) for k, v in tests.items()}
    # stable: 59 passes bound the failure rate below 5%; broken: the same for passes
    assert n["test_stable"] == n["test_broken"] == plan.STABLE_PASSES == 59
    # flaky (every other attempt): stops once its interval is at most 0.3 wide
    lo, hi = plan.wilson(n["test_flaky"] // 2, n["test_flaky"])
    assert 6 <= n["test_flaky"] < 100 and hi - lo <= plan.FLAKY_WIDTH
    lo, hi = plan.wilson((n["test_flaky"] - 2) // 2, n["test_flaky"] - 2)
    assert hi - lo > plan.FLAKY_WIDTH
    # one failure in a hundred never settles: it runs to the cap
    assert n["test_rare"] == 100 and n["test_skipped"] == 1
    stops = {k: [x["stop"] for x in v] for k, v in tests.items()}
    assert stops["test_stable"] == [None] * 58 + ["stable"]
    assert stops["test_broken"][-1] == "broken" and stops["test_flaky"][-1] == "flaky"
    assert stops["test_rare"][-1] == "planned" and stops["test_skipped"] == ["skipped"]
    assert all(x["runs"] == 100 for v in tests.values() for x in v)
    # pytest's counts are every attempt
    fl = sum(x["outcome"] == "failed" for x in tests["test_flaky"])
    assert fl == n["test_flaky"] // 2
    r.assert_outcomes(passed=59 + n["test_flaky"] - fl + 99, failed=59 + fl + 1, skipped=1)
    summary = json.loads((fh.path / "flakehunter_report.json").read_text())
    st = {t["nodeid"].split("::")[1]: t for t in summary["tests"]}
    assert (st["test_stable"]["attempts"], st["test_stable"]["planned_attempts"],
            st["test_stable"]["stop_reason"]) == (59, 100, "stable")
    assert (st["test_rare"]["attempts"], st["test_rare"]["stop_reason"]) == (100, "planned")
    assert summary["runs_mode"] == "auto" and summary["max_runs"] == 100
    assert summary["runs_per_test"] == 100
    assert "--fh-runs auto: 5 tests" in r.stdout.str()
    assert "4 stopped early once settled, 1 ran to the cap of 100" in r.stdout.str()


@pytest.mark.parametrize("ini", ["fh_runs = auto", "fh_runs_auto = true"])
def test_runs_auto_from_ini(fh, ini):
    if ini == "fh_runs = auto" and pytest.version_tuple[:1] >= (9,):
        pytest.skip("pytest 9 types fh_runs as an int: its ini spelling is fh_runs_auto")
    fh.pytester.makepyfile(test_a="def test_a():\n    pass\n")
    fh.pytester.makeini(f"[pytest]\nfh = true\n{ini}\nfh_max_runs = 80\n")
    fh.run().assert_outcomes(passed=59)
    assert fh.meta()["runs_mode"] == "auto" and fh.meta()["max_runs"] == 80


def test_runs_auto_with_a_cap(fh):
    fh.pytester.makepyfile(test_a=AUTO_SUITE)
    fh.run("--fh", "--fh-runs=auto", "--fh-max-runs=20")
    n = {k: len(v) for k, v in by_test(fh).items()}
    assert n == {"test_stable": 20, "test_broken": 20, "test_rare": 20, "test_skipped": 1,
                 "test_flaky": 20}


@pytest.mark.parametrize("mode", [["--fh-runs=auto"],
                                  pytest.param(["--fh-runs=auto", "-p", "xdist", "-n", "2"],
                                               marks=needs_autoload("pytest-xdist")),
                                  ["--fh-budget=2s", "--fh-max-runs=7"],
                                  ["--fh-runs=auto", "--fh-isolate"]])
def test_fixture_lifetimes_with_adaptive_counts(fh, mode):
    """Whether an attempt is the last is known only after it ran; session, module and class
    fixtures must still be set up once and torn down once, at the right time."""
    fh.pytester.makepyfile(test_life=LIFETIME_SUITE)
    r = fh.run("--fh", "--fh-max-runs=60", *mode)
    assert r.ret == 0, r.stdout.str()
    log = fh.log_lines()
    n = {k: len(v) for k, v in by_test(fh).items()}
    if "--fh-isolate" in mode:
        assert log.count("sess-up") == log.count("sess-down") == sum(n.values())
        return
    if "-n" not in mode:
        assert log.count("sess-up") == log.count("mod-up") == 1
        assert log.count("cls-up") == 1 and log.count("cls-down") == 1
        assert log[-1] == "sess-down" and log[-2] == "mod-down"
        assert log.index("cls-down") < log.index("t3")
    assert log.count("fn-up") == log.count("fn-down") == sum(n.values())
    assert log.count("sess-up") == log.count("sess-down")
    assert log.count("mod-up") == log.count("mod-down")


def test_budget_is_honoured(fh):
    """Tests of known durations: the session ends within 10% of the budget, every test gets
    about the same share of it."""
    fh.use_real_analyzer()
    fh.pytester.makepyfile(test_d="""
        import time, pytest
        @pytest.mark.parametrize("d", [0.01, 0.02, 0.05, 0.03, 0.08, 0.015])
        def test_sleep(d):
            time.sleep(d)
    """)
    budget = 4.0
    t0 = time.monotonic()
    r = fh.run("--fh", "--fh-budget=4s", "--fh-max-runs=1000")
    wall = time.monotonic() - t0
    assert r.ret == 0
    recs = fh.records()
    span = (max(x["stop_ns"] for x in recs) - min(x["start_ns"] for x in recs)) / 1e9
    # The budget counts from pytest's configuration; attempts fill all but the start-up.
    assert budget * 0.85 <= span <= budget * 1.1, span
    assert wall < budget * 1.1 + 3  # interpreter start-up and the analyzer come on top
    shares = {}
    for x in recs:
        shares[x["nodeid"]] = shares.get(x["nodeid"], 0) + x["duration_s"]
    assert max(shares.values()) < 2 * min(shares.values()), shares
    tests = fh.by_test()
    for v in tests.values():
        assert v[-1]["stop"] in ("planned", "budget") and all(x["stop"] is None for x in v[:-1])
        assert v[-1]["runs"] >= len(v) - (v[-1]["stop"] == "planned")
    assert len(tests["test_d.py::test_sleep[0.01]"]) > 3 * len(tests["test_d.py::test_sleep[0.08]"])
    line = [x for x in r.stdout.lines if x.startswith("flakehunter: budget 4.00s: 6 tests")]
    assert line and "attempts per test" in line[0], r.stdout.str()
    meta = fh.meta()
    assert meta["budget_s"] == 4.0 and meta["max_runs"] == 1000


def test_budget_smaller_than_one_pass(fh):
    fh.pytester.makepyfile(test_d="""
        import time, pytest
        @pytest.mark.parametrize("i", range(5))
        def test_sleep(i):
            time.sleep(0.1)
    """)
    r = fh.run("--fh", "--fh-budget=100ms")
    assert r.ret == 0
    assert {len(v) for v in fh.by_test().values()} == {1}
    assert "tests ran once only: the budget was used up (every test runs at least once)" \
        in r.stdout.str()


@pytest.mark.parametrize("arg,msg", [
    ("--fh-budget=10 minutes", "not a duration"), ("--fh-budget=0s", "must be positive"),
    ("--fh-budget=5x", "not a duration"), ("--fh-runs=sometimes", "not an integer or 'auto'"),
    ("--fh-max-runs=0", "must be at least 1"),
])
def test_bad_plan_options(fh, arg, msg):
    fh.pytester.makepyfile(test_x="def test_x():\n    pass\n")
    r = fh.run("--fh", arg)
    assert r.ret == 4 and msg in r.stderr.str(), r.stderr.str()


def test_parse_duration():
    assert plan.parse_duration("10m") == 600
    assert plan.parse_duration("1h30m") == 5400
    assert plan.parse_duration("2.5m") == 150
    assert plan.parse_duration(" 90 ") == 90
    assert plan.parse_duration("500ms") == 0.5
    for bad in ("", "m", "10q", "1h 30", "-5s", "nan", "inf"):
        with pytest.raises(ValueError):
            plan.parse_duration(bad)
