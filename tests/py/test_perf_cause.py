# SPDX-License-Identifier: MIT
"""Performance flakes explained, through real pytest, the real preload and the real analyzer:
each suite has slow attempts on a known schedule (every third attempt) and the JSON summary
must say where the extra time went (perf.cause, its evidence, the per-attempt "where"):
extra CPU in one Python function (named with its line by the profiler), a wait on a slow peer
(named), CPU contention from a busy sibling pinned to the test's CPU (run-queue delay),
page faults from touching a large fresh mapping, a garbage-collection pause over many
objects; and steady tests on a machine kept busy are not called performance flakes."""
import os
import subprocess
import sys

import pytest

from fh_diag import SERVER, run_fh

RUNS = 9


def perf(r, name):
    return r.test(name)["perf"]


def slow_fast(r, name):
    t = r.test(name)
    slow = set(t["perf"]["slow_attempts"])
    log = [a for a in t["attempt_log"] if a["outcome"] == "passed"]
    return ([a for a in log if a["attempt"] in slow], [a for a in log if a["attempt"] not in slow])


CPU = """
import itertools
_n = itertools.count(1)

def crunch(n):
    s = 0
    for i in range(n):
        s += i * i      # the hot line
    return s

def test_cpu():
    crunch(3_000_000 if next(_n) % 3 == 0 else 30_000)
"""


def test_cpu_in_one_function_named_with_its_line(tmp_path):
    r = run_fh(tmp_path, {"test_c.py": CPU}, "--fh-profile", runs=RUNS)
    p = perf(r, "::test_cpu")
    assert p["flake"] is True and p["cause"] == "cpu", p
    assert set(p["slow_attempts"]) == {3, 6, 9}, p
    src = CPU.splitlines()
    lines = {src.index("    for i in range(n):") + 1, src.index("        s += i * i      # the hot line") + 1}
    top = p["lines"][0]
    assert top["path"] == "test_c.py" and top["function"] == "crunch" and top["line"] in lines, p
    assert top["caller"].startswith("test_c.py:") and top["caller"].endswith(" test_cpu"), top
    assert top["slow_s"] > 0.02 and top["fast_s"] < top["slow_s"] / 5, top
    crunch = [x for x in p["lines"] if x["function"] == "crunch"]
    # the loop's two lines hold most of the slow attempts' CPU (the samples' weight)
    assert sum(x["slow_s"] for x in crunch) > 0.5 * p["parts"]["cpu"]["slow_s"], (crunch, p)
    assert sum(x["fast_s"] for x in crunch) < 0.03, crunch
    text = "\n".join(p["cause_evidence"])
    assert f"test_c.py:{top['line']} crunch, called from test_c.py:" in text, text
    assert p["profiled_slow"] == 3 and p["profiled_fast"] == 6, p
    html = (tmp_path / "report.html").read_text()
    assert "<strong>Cause: cpu</strong>" in html
    assert "CPU by Python line, mean per profiled attempt (3 slow, 6 fast)" in html
    assert f"test_c.py:{top['line']}</code> crunch" in html
    assert "the test thread&#39;s time: each bar is the attempt&#39;s duration" in html or \
        "the test thread's time: each bar is the attempt's duration" in html
    slow, fast = slow_fast(r, "::test_cpu")
    for a in slow:
        w = a["where"]
        assert w["measured"] and w["profiled"] and w["samples"] >= 3, w
        # the parts add up to the duration (the remainder is what is left, never negative)
        total = w["cpu_s"] + w["wait_s"] + (w["run_delay_s"] or 0) + w["other_s"]
        assert abs(total - a["duration_s"]) < 0.01 + 0.05 * a["duration_s"], (w, a["duration_s"])


def test_without_the_profiler_cpu_is_named_but_no_line(tmp_path):
    # --fh-no-auto-profile: the profiler never runs; the cause still comes from the figures
    r = run_fh(tmp_path, {"test_c.py": CPU}, "--fh-no-auto-profile", runs=RUNS)
    p = perf(r, "::test_cpu")
    assert p["cause"] == "cpu" and p["lines"] == [] and p["profiled_slow"] == 0, p
    assert any("--fh-profile" in e for e in p["cause_evidence"]), p
    assert not any(a["where"]["profiled"] for a in r.test("::test_cpu")["attempt_log"])


def test_wait_on_a_slow_peer_is_named(tmp_path):
    r = run_fh(tmp_path, {"fhserver.py": SERVER, "test_w.py": """
        import pytest
        from fhserver import Server, ask

        @pytest.fixture(scope="module")
        def srv():
            return Server(every=3, delay=0.4)

        def test_wait(srv):
            assert ask(srv.port, timeout=3) == b"ok\\n"
    """}, runs=RUNS)
    p = perf(r, "::test_wait")
    assert p["cause"] == "wait", p
    assert p["parts"]["wait"]["slow_s"] > 0.3 > p["parts"]["wait"]["fast_s"], p
    assert any("most of the extra wait" in e and "127.0.0.1:" in e for e in p["cause_evidence"]), p


def test_cpu_contention_from_a_pinned_sibling_is_scheduling(tmp_path):
    if not os.path.exists("/proc/thread-self/schedstat"):
        pytest.skip("no per-thread scheduler statistics on this kernel")
    r = run_fh(tmp_path, {"test_s.py": """
        import itertools, os, subprocess, sys
        _n = itertools.count(1)

        def work():
            s = 0
            for i in range(1_500_000):
                s += i
            return s

        def test_sched():
            cpu = min(os.sched_getaffinity(0))
            before = os.sched_getaffinity(0)
            os.sched_setaffinity(0, {cpu})
            hogs = []
            try:
                if next(_n) % 3 == 0:
                    for _ in range(3):
                        hogs.append(subprocess.Popen([sys.executable, "-c", "while True: pass"]))
                        os.sched_setaffinity(hogs[-1].pid, {cpu})
                work()
            finally:
                for hog in hogs:
                    hog.kill()
                    hog.wait()
                os.sched_setaffinity(0, before)
    """}, runs=RUNS)
    p = perf(r, "::test_sched")
    assert p["cause"] == "scheduling", p
    assert p["parts"]["run_delay"]["slow_s"] > 2 * p["parts"]["run_delay"]["fast_s"] + 0.03, p
    assert any("run-queue delay" in e for e in p["cause_evidence"]), p
    assert any("involuntary context switches" in e for e in p["cause_evidence"]), p


def test_page_faults_of_a_large_fresh_mapping_are_memory(tmp_path):
    r = run_fh(tmp_path, {"test_m.py": """
        import ctypes, itertools, mmap
        _n = itertools.count(1)

        def test_mem():
            if next(_n) % 3 == 0:
                size = 256 << 20
                m = mmap.mmap(-1, size)
                buf = (ctypes.c_char * size).from_buffer(m)
                ctypes.memset(buf, 1, size)     # every page faulted in, zero-filled
                del buf
                m.close()
    """}, runs=RUNS)
    p = perf(r, "::test_mem")
    assert p["cause"] == "memory", p
    slow, fast = slow_fast(r, "::test_mem")
    assert min(a["where"]["minor_faults"] for a in slow) > 50000, slow
    assert max(a["where"]["minor_faults"] for a in fast) < 5000, fast
    assert any("page faults" in e for e in p["cause_evidence"]), p


def test_gc_pause_over_many_objects_is_gc(tmp_path):
    r = run_fh(tmp_path, {"test_g.py": """
        import gc, itertools
        _n = itertools.count(1)
        # many container objects that live on: a full collection walks them all
        KEEP = [[i] for i in range(1_500_000)]

        def test_gc():
            if next(_n) % 3 == 0:
                gc.collect()
    """}, runs=RUNS)
    p = perf(r, "::test_gc")
    assert p["cause"] == "gc", p
    slow, fast = slow_fast(r, "::test_gc")
    assert all(a["where"]["gc_collections"] >= 1 and a["where"]["gc_s"] > 0.04 for a in slow), slow
    assert any("garbage collection" in e for e in p["cause_evidence"]), p


STEADY = """
def work():
    s = 0
    for i in range(400_000):
        s += i
    return s

def test_a():
    work()

def test_b():
    work()

def test_c():
    work()

def test_d():
    work()
"""


def test_steady_tests_on_a_busy_machine_are_not_perf_flakes(tmp_path):
    # a busy process on the CPU pytest is pinned to, for the whole run: every attempt is
    # slowed alike, which is the machine, not the tests
    cpu = min(os.sched_getaffinity(0))
    hog = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        os.sched_setaffinity(hog.pid, {cpu})
        r = run_fh(tmp_path, {"test_q.py": STEADY}, "--fh-profile",
                   runs=RUNS, pin=cpu)
    finally:
        hog.kill()
        hog.wait()
    for name in ("::test_a", "::test_b", "::test_c", "::test_d"):
        p = perf(r, name)
        assert p["cause"] is None and p["flake"] is False, (name, p)
        assert p["noise_floor"] >= 0
        log = r.test(name)["attempt_log"]
        # the contention is visible per attempt: run-queue delay was measured
        assert all(a["where"]["run_delay_s"] is not None for a in log), log


def test_duration_regression_over_three_recorded_runs(tmp_path):
    hist = tmp_path / "history"
    suite = """
import time

def test_grows():
    time.sleep(%s)

def test_same():
    time.sleep(0.01)
"""
    for delay in ("0.01", "0.01", "0.08"):    # the same suite directory: the same node ids
        r = run_fh(tmp_path, {"pytest.ini": "[pytest]\n", "test_h.py": suite % delay}, runs=5,
                   history=hist)
    g = perf(r, "::test_grows")["regression"]
    assert g is not None and g["flagged"] is True, g
    assert g["recent_runs"] == 1 and g["earlier_runs"] == 2, g
    assert g["recent_median_s"] > 0.07 and g["earlier_median_s"] < 0.05, g
    assert 0 < g["change_ci95"][0] <= g["change_s"] <= g["change_ci95"][1], g
    s = perf(r, "::test_same")["regression"]
    assert s is not None and s["flagged"] is False, s
    html = (tmp_path / "report.html").read_text()
    assert "Duration across runs</h3><div class=\"kind\">Regression</div>" in html
    assert "No regression</div>" in html            # test_same's box
    assert 'aria-label="median duration per run' in html
    runs = r.test("::test_grows")["history"]["runs"]
    assert len(runs) == 3 and runs[-1]["median_s"] > 0.07 > runs[0]["median_s"], runs


def test_profiler_switches_itself_on_once_attempts_vary(tmp_path):
    r = run_fh(tmp_path, {"test_c.py": CPU}, runs=RUNS)
    log = r.test("::test_cpu")["attempt_log"]
    prof = [a["attempt"] for a in log if a["where"]["profiled"]]
    # attempt 3 is the first slow one: the test varies from then on (on a busy machine two
    # fast attempts may already differ enough); never the first attempt, then every one after
    first = prof[0] if prof else None
    assert first is not None and 2 < first <= 4 and prof == list(range(first, RUNS + 1)), prof
    d = [a["duration_s"] for a in log[:first - 1]]
    assert max(d) >= 1.5 * min(d) and max(d) - min(d) >= 0.02, d   # the plugin's rule
    p = perf(r, "::test_cpu")
    assert p["profiled_slow"] >= 2 and p["profiled_fast"] >= 3, p
    assert p["lines"] and p["lines"][0]["function"] == "crunch", p


def test_hostile_gc_figures_in_records_are_ignored(tmp_path):
    import json as _json
    from conftest import FH_ANALYZE
    from fh_summary import gen_run, run_report
    run = gen_run(tmp_path / "run", tests=1, runs=6, fail_rate=0)
    bad = [{"pause_s": "x", "collections": 1}, {"pause_s": -1, "collections": 2}, [1, 2],
           {"pause_s": 1e308, "collections": 1}, {"pause_s": 0.5, "collections": -3},
           {"pause_s": 0.25, "collections": 3, "max_pause_s": 0.2}]
    for f in run.glob("attempts-*.jsonl"):
        lines = f.read_text().splitlines()
        out = []
        for i, line in enumerate(lines):
            rec = _json.loads(line)
            rec["gc"] = bad[i % len(bad)]
            out.append(_json.dumps(rec))
        f.write_text("\n".join(out) + "\n")
    proc, _, js = run_report(FH_ANALYZE, run, tmp_path, "--no-history")
    log = _json.loads(js.read_text())["tests"][0]["attempt_log"]
    gcs = [a.get("gc") for a in log]
    assert gcs[:5] == [None] * 5, gcs
    assert gcs[5] == {"pause_s": 0.25, "collections": 3}, gcs
