# SPDX-License-Identifier: MIT
"""--fh-order=rounds through real pytest runs: round k runs attempt k of every test in an order
shuffled per round from --fh-seed; modules, then classes, then tests stay together (a module's
fixtures are set up once per module per round); the same seed gives the same orders; records
carry round and position; xdist workers shuffle their own share; budgets, --fh-runs auto,
pytest-timeout and bad input."""
import json

import pytest

from fh_plugin import fh, needs_autoload  # noqa: F401

SUITE_A = """
import os, pytest
LOG = os.path.join(os.path.dirname(os.path.abspath(__file__)), "log.txt")
def _log(what):
    with open(LOG, "a") as f:
        f.write(what + "\\n")
@pytest.fixture(scope="module")
def modfix():
    _log("setup-a")
    yield
    _log("teardown-a")
def test_a1(modfix): pass
def test_a2(modfix): pass
def test_a3(modfix): pass
class TestK:
    def test_k1(self, modfix): pass
    def test_k2(self, modfix): pass
"""

SUITE_B = """
import pytest
@pytest.mark.parametrize("v", ["x y", "q'uote", "b[r]", "\\u00e9"])
def test_b(v): pass
def test_b2(): pass
"""


def _suite(fh):
    fh.pytester.makepyfile(test_ra=SUITE_A, test_rb=SUITE_B)


def _rundir(r):
    """The run directory a run printed (run ids of one second sort by their random part)."""
    import pathlib
    for line in r.stdout.lines:
        if line.startswith("flakehunter: run directory "):
            return pathlib.Path(line[len("flakehunter: run directory "):])
    raise AssertionError("no run directory line")


def _orders(fh, run_dir=None):
    """{(worker, round): [nodeid by position]}"""
    out = {}
    for r in fh.records(run_dir):
        out.setdefault((r["worker"], r["round"]), []).append((r["position"], r["nodeid"]))
    return {k: [n for _, n in sorted(v)] for k, v in out.items()}


def test_rounds_shuffle_and_seed(fh):
    _suite(fh)
    r = fh.run("--fh", "--fh-order=rounds", "--fh-runs=4", "--fh-seed=1234")
    r.assert_outcomes(passed=4 * 10)
    assert "flakehunter: order rounds, seed 1234" in r.stdout.str()
    meta = fh.meta()
    assert meta["order"] == {"mode": "rounds", "seed": 1234}
    recs = fh.records()
    tests = {x["nodeid"] for x in recs}
    assert len(tests) == 10
    orders = _orders(fh)
    assert sorted(k[1] for k in orders) == [1, 2, 3, 4]
    for (_, rnd), seq in orders.items():
        assert sorted(seq) == sorted(tests), "every test once per round"
        # modules, then classes, stay together
        mods = [n.split("::")[0] for n in seq]
        assert mods == sorted(mods, key=mods.index)
        assert len([i for i in range(1, len(mods)) if mods[i] != mods[i - 1]]) == 1
        k = [i for i, n in enumerate(seq) if "::TestK::" in n]
        assert k == list(range(k[0], k[0] + 2))
    for x in recs:
        assert x["attempt"] == x["round"]
    # shuffled: the rounds do not all have one order
    assert len({tuple(v) for v in orders.values()}) > 1
    # a module fixture is set up once per module per round (or once for two rounds when one
    # ends and the next starts in that module: its fixtures stay up)
    seq = [n.startswith("test_ra.py") for rnd in (1, 2, 3, 4) for n in orders[("main", rnd)]]
    runs = sum(1 for i, a in enumerate(seq) if a and (i == 0 or not seq[i - 1]))
    log = fh.log_lines()
    assert 3 <= runs <= 4 and log == ["setup-a", "teardown-a"] * runs
    first = orders

    # the same seed, the same orders; another seed, others
    r = fh.run("--fh", "--fh-order=rounds", "--fh-runs=4", "--fh-seed=1234")
    r.assert_outcomes(passed=40)
    assert _orders(fh, _rundir(r)) == first
    r = fh.run("--fh", "--fh-order=rounds", "--fh-runs=4", "--fh-seed=99")
    assert _orders(fh, _rundir(r)) != first


def test_rounds_default_seed_and_ini(fh):
    _suite(fh)
    r = fh.run("--fh", "--fh-order=rounds", "--fh-runs=2")
    seed = fh.meta()["order"]["seed"]
    assert isinstance(seed, int) and f"order rounds, seed {seed}" in r.stdout.str()
    fh.pytester.makeini("[pytest]\nfh = true\nfh_order = rounds\nfh_seed = 7\nfh_runs = 2\n")
    r = fh.run()
    r.assert_outcomes(passed=20)
    assert fh.meta(_rundir(r))["order"] == {"mode": "rounds", "seed": 7}
    assert all(x["round"] in (1, 2) for x in fh.records(_rundir(r)))


def test_back_to_back_unchanged(fh):
    _suite(fh)
    r = fh.run("--fh", "--fh-runs=3", "--fh-seed=5")
    r.assert_outcomes(passed=30)
    assert "--fh-seed has no effect without --fh-order=rounds" in r.stdout.str()
    assert fh.meta()["order"] == {"mode": "back-to-back", "seed": None}
    recs = fh.records()
    assert all(x["round"] is None and x["position"] is None for x in recs)
    seq = [x["nodeid"] for x in recs]
    assert seq == [n for i, n in enumerate(seq) if i % 3 == 0 for _ in range(3)]
    assert fh.log_lines().count("setup-a") == 1


@pytest.mark.parametrize("args, needle", [
    (["--fh-order=sideways"], "--fh-order (ini fh_order): one of back-to-back, rounds, got "
                              "'sideways'"),
    (["--fh-order=rounds", "--fh-seed=12abc"], "--fh-seed (ini fh_seed): not an integer: "
                                               "'12abc'"),
    (["--fh-order=rounds", "--fh-seed=-3"], "--fh-seed (ini fh_seed): must be between 0 and"),
])
def test_bad_order_options(fh, args, needle):
    _suite(fh)
    r = fh.run("--fh", *args)
    assert r.ret == pytest.ExitCode.USAGE_ERROR
    assert needle in r.stderr.str()
    assert not fh.run_dirs()


def test_rounds_footprint_in_records(fh):
    fh.pytester.makepyfile(test_fp="""
import os, threading, time
EVT = threading.Event()
def test_env():
    os.environ["FH_TEST_MODE"] = "maintenance"
    os.environ.pop("FH_TEST_GONE", None)
def test_reader():
    assert os.environ.get("FH_TEST_READ", "x") == "x"
    assert "FH_TEST_OTHER" not in os.environ
def test_cwd():
    os.chdir(os.path.dirname(os.path.abspath(__file__)) + "/sub")
def test_thread():
    threading.Thread(target=EVT.wait, name="fh-leaked", daemon=True).start()
def test_module():
    import json.tool  # noqa: F401
def test_clean():
    pass
""")
    (fh.path / "sub").mkdir()
    fh.mp.setenv("FH_TEST_GONE", "1")
    r = fh.run("--fh", "--fh-order=rounds", "--fh-runs=2", "--fh-seed=3")
    r.assert_outcomes(passed=12)
    by = {}
    for x in fh.records():
        by.setdefault(x["nodeid"].split("::")[1], []).append(x)
    first = {k: sorted(v, key=lambda x: x["attempt"])[0]["footprint"] for k, v in by.items()}
    assert first["test_env"]["env_set"] == {"FH_TEST_MODE": "maintenance"}
    assert first["test_env"]["env_unset"] == ["FH_TEST_GONE"]
    assert first["test_reader"] == {"env_read": ["FH_TEST_OTHER", "FH_TEST_READ"]}
    assert first["test_cwd"]["cwd"] == str(fh.path / "sub")
    assert first["test_thread"]["threads"] == ["fh-leaked"]
    assert "json.tool" in first["test_module"]["modules"]
    assert first["test_clean"] is None
    # the second attempt of test_env changes nothing new (the variable is set already)
    second = sorted(by["test_env"], key=lambda x: x["attempt"])[1]["footprint"]
    assert second is None or "env_set" not in second


@needs_autoload("pytest-xdist")
def test_rounds_xdist_each_worker_shuffles_its_share(fh):
    _suite(fh)
    r = fh.run("--fh", "--fh-order=rounds", "--fh-runs=3", "--fh-seed=11", "-n", "2")
    r.assert_outcomes(passed=30)
    assert "each xdist worker shuffles its own share" in r.stdout.str()
    recs = fh.records()
    workers = {x["worker"] for x in recs}
    assert workers <= {"gw0", "gw1"} and len({x["nodeid"] for x in recs}) == 10
    per = {}
    for x in recs:
        per.setdefault(x["nodeid"], []).append(x)
    for n, xs in per.items():
        assert sorted(x["round"] for x in xs) == [1, 2, 3]
        assert len({x["worker"] for x in xs}) == 1, "a test's rounds run in one worker"
    orders = _orders(fh)
    for w in workers:
        share = {n for (ww, _), seq in orders.items() if ww == w for n in seq}
        for rnd in (1, 2, 3):
            assert sorted(orders[(w, rnd)]) == sorted(share)


def test_rounds_auto_and_budget(fh):
    fh.pytester.makepyfile(test_ab="""
import random
def test_ok(): pass
def test_ok2(): pass
def test_flaky():
    assert random.random() < 0.5
""")
    r = fh.run("--fh", "--fh-order=rounds", "--fh-runs=auto", "--fh-max-runs=80", "--fh-seed=2")
    recs = fh.by_test(_rundir(r))
    ok = recs["test_ab.py::test_ok"]
    assert len(ok) == 59 and ok[-1]["stop"] == "stable"
    assert all(x["runs"] == 80 for x in ok)
    fl = recs["test_ab.py::test_flaky"]
    assert fl[-1]["stop"] in ("flaky", "planned") and len(fl) <= 80
    assert [x["round"] for x in fl] == list(range(1, len(fl) + 1))
    r = fh.run("--fh", "--fh-order=rounds", "--fh-budget=1s", "--fh-seed=2")
    recs = fh.by_test(_rundir(r))
    n = {len(v) for v in recs.values()}
    assert len(n) == 1, "a budget runs whole rounds"
    assert n.pop() == 100   # trivial tests: the cap (--fh-max-runs) comes first
    assert "flakehunter: exit status" in r.stdout.str()


@needs_autoload("pytest-timeout")
def test_rounds_rearm_pytest_timeout_per_attempt(fh):
    fh.pytester.makepyfile(test_to="""
import time, pytest
@pytest.mark.parametrize("i", range(12))
@pytest.mark.timeout(1)
def test_slowish(i):
    time.sleep(0.05)
""")
    r = fh.run("--fh", "--fh-order=rounds", "--fh-runs=3", "--fh-seed=1")
    # 36 attempts of 0.05 s: 1.8 s in all, over the 1 s limit of any one item
    r.assert_outcomes(passed=36)
    assert "Timeout" not in r.stdout.str()


def test_rounds_interrupted_by_maxfail(fh):
    fh.pytester.makepyfile(test_x="""
def test_bad(): assert 0
def test_good(): pass
def test_good2(): pass
""")
    r = fh.run("--fh", "--fh-order=rounds", "--fh-runs=5", "--fh-seed=4", "-x")
    recs = fh.records()
    bad = [x for x in recs if x["nodeid"].endswith("test_bad")]
    assert len(bad) == 1 and bad[0]["stop"] == "interrupted"
    assert all(x["round"] == 1 for x in recs)
    assert r.ret == 1
    out = r.stdout.str()
    assert json.dumps("x") and "F" in out


def test_rounds_ignore_collection_order(fh):
    """Another plugin reordering the collected items (pytest-randomly does, in
    pytest_collection_modifyitems) changes nothing: the same seed gives the same orders."""
    _suite(fh)
    r = fh.run("--fh", "--fh-order=rounds", "--fh-runs=3", "--fh-seed=77")
    first = _orders(fh, _rundir(r))
    fh.pytester.makeconftest("""
import random
def pytest_collection_modifyitems(items):
    random.Random(5).shuffle(items)
    items.reverse()
""")
    r = fh.run("--fh", "--fh-order=rounds", "--fh-runs=3", "--fh-seed=77")
    r.assert_outcomes(passed=30)
    assert _orders(fh, _rundir(r)) == first


def test_rounds_fail_on_and_junit(fh):
    fh.pytester.makepyfile(test_fj="""
import os
def test_sets():
    os.environ["FH_FJ"] = "1"
def test_victim():
    assert "FH_FJ" not in os.environ
""")
    fh.use_real_analyzer()
    junit = fh.path / "j.xml"
    r = fh.run("--fh", "--fh-order=rounds", "--fh-runs=3", "--fh-seed=1", "--fh-no-confirm",
               "--fh-fail-on=never", f"--fh-junit={junit}")
    assert r.ret == 0
    assert "--fh-fail-on=never" in r.stdout.str()
    xml = junit.read_text()
    assert 'name="test_victim"' in xml and 'name="test_sets"' in xml


def test_rounds_with_isolate(fh):
    _suite(fh)
    r = fh.run("--fh", "--fh-order=rounds", "--fh-runs=2", "--fh-seed=3", "--fh-isolate")
    r.assert_outcomes(passed=20)
    # every attempt tears everything down: the module fixture once per attempt of its tests
    log = fh.log_lines()
    assert log.count("setup-a") == 2 * 5 and log.count("teardown-a") == 2 * 5
    assert all(x["isolate"] for x in fh.records(_rundir(r)))


def test_rounds_with_fh_timeout(fh):
    """The hang watchdog stops a hung attempt in rounds mode too; the rounds go on."""
    fh.pytester.makepyfile(test_tw="""
import os, time
N = os.path.join(os.path.dirname(os.path.abspath(__file__)), "n.txt")
def test_sometimes_hangs():
    with open(N, "a") as f:
        f.write("x")
    if os.path.getsize(N) == 2:
        time.sleep(30)
def test_other():
    pass
""")
    r = fh.run("--fh", "--fh-order=rounds", "--fh-runs=3", "--fh-seed=1", "--fh-timeout=1")
    recs = fh.by_test(_rundir(r))
    hangs = recs["test_tw.py::test_sometimes_hangs"]
    assert [x["round"] for x in hangs] == [1, 2, 3]
    assert [bool(x.get("hung")) for x in hangs] == [False, True, False]
    assert [x["round"] for x in recs["test_tw.py::test_other"]] == [1, 2, 3]
