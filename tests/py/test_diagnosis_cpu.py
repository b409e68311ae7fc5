# SPDX-License-Identifier: MIT
"""Diagnosis `cpu` under the real preload: some runs take a CPU-heavy path and miss a time
budget; a slow-but-waiting variant must not be called cpu."""
from fh_diag import run_fh


def test_cpu_heavy_path(tmp_path):
    r = run_fh(tmp_path, {"test_cpu.py": """
        import itertools, time
        runs = itertools.count(1)

        def test_budget():
            n = 8_000_000 if next(runs) % 3 == 1 else 10_000  # well over 0.1 s of CPU
            t0 = time.monotonic()
            h = 0
            for i in range(n):
                h = (h * 31 + i) & 0xFFFF
            assert time.monotonic() - t0 < 0.1
    """})
    assert r.outcomes("::test_budget") == "fppfpp"
    d = r.diag("::test_budget")
    assert d["kind"] == "cpu", d
    assert d["evidence"][0].startswith("2/2 failing attempts used over")
    for a in r.failing("::test_budget"):
        assert a["trace"]["cpu_s"] > 0.1


def test_slow_waiting_is_not_cpu(tmp_path):
    r = run_fh(tmp_path, {"test_wait.py": """
        import itertools, time
        runs = itertools.count(1)

        def test_budget():
            t0 = time.monotonic()
            time.sleep(0.15 if next(runs) % 3 == 1 else 0.001)
            assert time.monotonic() - t0 < 0.1
    """})
    assert r.outcomes("::test_budget") == "fppfpp"
    assert r.diag("::test_budget")["kind"] != "cpu"


def test_reporting_a_failure_is_not_the_tests_cpu(tmp_path):
    """pytest formats a test's first failure inside the attempt, re-parsing its source file:
    in a big module that is tens of ms of CPU the test never used. The attempt's CPU for
    `cpu` is its phases' (setup, call, teardown), and the JSON keeps both figures."""
    filler = "\n".join(f"def helper_{i}(x):\n    return x + {i}\n" for i in range(3000))
    r = run_fh(tmp_path, {"test_big.py": filler + """
import itertools
runs = itertools.count(1)

def test_flip():
    assert next(runs) != 2
"""})
    assert r.outcomes("::test_flip") == "pfpppp"
    bad = r.failing("::test_flip")[0]["trace"]
    # formatting the failure cost CPU in the attempt, outside its phases
    assert bad["cpu_attempt_s"] > bad["cpu_s"] + 0.005, bad
    assert bad["cpu_s"] < 0.02, bad
    assert r.diag("::test_flip")["kind"] != "cpu", r.diag("::test_flip")
    for a in r.test("::test_flip")["attempt_log"]:
        assert a["trace"]["cpu_attempt_s"] >= a["trace"]["cpu_s"]
