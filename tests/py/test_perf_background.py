# SPDX-License-Identifier: MIT
"""Performance-flake attribution counts only the attempt's own threads, under the real preload
and profiler: a test that is slow on every third attempt because of its own CPU work runs
beside a session fixture's thread that polls and burns CPU the whole session. The
background's waits never appear in perf.extra_s_by_category or the calls, and its CPU samples
never in perf.lines or any attempt's where.lines: the cause is the test's own function."""
from fh_diag import run_fh

RUNS = 9

CONFTEST = """
    import hashlib, os, select, threading, time
    import pytest

    BLOCK = bytes(1 << 20)

    def spin(sec):
        # CPU without the GIL (hashlib lets go of it for large buffers), so the test thread
        # does not wait for the GIL because of it: that wait would be the test's own
        t0 = time.thread_time()
        while time.thread_time() - t0 < sec:
            hashlib.sha256(BLOCK).digest()   # the background's hot line

    @pytest.fixture(scope="session")
    def busy_background():
        r, w = os.pipe()
        stop = []

        def run():
            while not stop:
                select.select([r], [], [], 0.02)   # polls, nothing ever comes
                spin(0.01)
        # not joined at the end: pytest finalizes a session fixture in the last test's
        # teardown, and a join there would be that attempt's own wait
        threading.Thread(target=run, daemon=True).start()
        yield
        stop.append(1)
"""

SUITE = """
    import itertools
    _n = itertools.count(1)

    def test_a_start(busy_background):
        # sets the fixture up: its thread is running before every attempt below
        pass

    def crunch(n):
        s = 0
        for i in range(n):
            s += i * i      # the test's hot line
        return s

    def test_cpu(busy_background):
        crunch(3_000_000 if next(_n) % 3 == 0 else 30_000)
"""


def test_background_thread_is_not_the_tests_slowness(tmp_path):
    r = run_fh(tmp_path, {"conftest.py": CONFTEST, "test_bgperf.py": SUITE}, "--fh-profile",
               runs=RUNS)
    t = r.test("::test_cpu")
    p = t["perf"]
    assert p["flake"] is True and p["cause"] == "cpu", p
    assert set(p["slow_attempts"]) == {3, 6, 9}, p
    # the background polled through the slow attempts' extra time (a third of a second in
    # each): none of it is the test's, whose thread waits for nothing but the GIL (its own
    # waits, in `lock`, longer when the background holds the GIL at times)
    extra = p["extra_s_by_category"]
    assert all(abs(v) < 0.01 for k, v in extra.items() if k not in ("cpu", "lock")), extra
    assert not any(c in p["extra_s_by_call"] for c in ("select", "poll")), p["extra_s_by_call"]
    # its CPU samples are not the test's: every sampled line is the test module's or pytest's
    assert p["lines"] and p["lines"][0]["function"] == "crunch", p["lines"]
    assert not any(x["path"] == "conftest.py" for x in p["lines"]), p["lines"]
    for a in t["attempt_log"]:
        w = a["where"]
        assert w["profiled"], a
        assert not any(x["path"] == "conftest.py" for x in w["lines"]), (a["attempt"], w["lines"])
    # the background was there through every slow attempt, shown apart
    bg = [a["trace"].get("background") for a in t["attempt_log"] if a["attempt"] in (3, 6, 9)]
    assert all(b and b["threads"] == 1 and b["time_s"] > 0.01 for b in bg), bg
