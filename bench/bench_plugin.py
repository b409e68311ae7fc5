#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Plugin benchmarks (`make bench`), printed side by side; no assertions on time.

1. 500 trivial tests: `pytest --fh --fh-runs=10` (attempt records and the analyzer run
   included) against pytest-repeat's `--count=10` (Debian's python3-pytest-repeat), alternating,
   median of REPS runs each, and the ratio (goal: at most 0.80x).
2. The hunt of 1,000 tests x 100 runs with 5% failures, end to end (pytest, records, terminal
   summary, fh-analyze): wall time (goal: under 60 s; the seed took 885 s).

Uses FH_ANALYZE (set by the Makefile) and plugin/ on PYTHONPATH. Set FH_BENCH_QUICK=1 to run
the big hunt with 10 runs instead of 100.
"""
import os
import pathlib
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
PYTHON = "/usr/bin/python3"
REPS = int(os.environ.get("FH_BENCH_REPS", "3"))


def env():
    e = dict(os.environ)
    e["PYTHONPATH"] = str(ROOT / "plugin")
    e["PYTHONDONTWRITEBYTECODE"] = "1"
    e.setdefault("FH_ANALYZE", str(ROOT / "build" / "fh-analyze"))
    for k in ("LD_PRELOAD", "FH_TRACE_DIR", "PYTEST_ADDOPTS"):
        e.pop(k, None)
    return e


def write_suite(d, modules, per_module, body):
    d.mkdir(parents=True, exist_ok=True)
    for m in range(modules):
        (d / f"test_m{m:03d}.py").write_text(
            "import random\n\n" + "".join(f"def test_{i}():\n    {body}\n\n"
                                          for i in range(per_module)))


def cpu_children():
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def timed(args, cwd):
    """(wall s, CPU s of pytest and its children, exit status, output)."""
    c0 = cpu_children()
    t0 = time.perf_counter()
    r = subprocess.run([PYTHON, "-m", "pytest", "-p", "no:cacheprovider", "-q", *args],
                       cwd=cwd, env=env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    dt = time.perf_counter() - t0
    return dt, cpu_children() - c0, r.returncode, r.stdout.decode("utf-8", "replace")


def bench_vs_repeat(tmp):
    suite = tmp / "trivial"
    write_suite(suite, 10, 50, "pass")
    fh_args = ["-p", "pytest_flakehunter", "--fh", "--fh-runs=10"]
    rep_args = ["--count=10"]
    res = {"fh": ([], []), "repeat": ([], [])}
    for _ in range(REPS):
        for name, args in (("fh", fh_args), ("repeat", rep_args)):
            dt, cpu, rc, out = timed(args, suite)
            if rc != 0:
                print(f"{name} run failed (exit {rc}):\n{out[-2000:]}")
                return
            res[name][0].append(dt)
            res[name][1].append(cpu)
    plain, plain_cpu, _, _ = timed([], suite)
    med = {k: (statistics.median(w), statistics.median(c)) for k, (w, c) in res.items()}
    print(f"500 trivial tests x 10 attempts (median of {REPS} alternating runs each):")
    print(f"  {'':32} {'wall s':>8} {'CPU s':>8}")
    print(f"  {'plain pytest, 1 run each':32} {plain:8.2f} {plain_cpu:8.2f}")
    for label, k in (("pytest-repeat --count=10", "repeat"),
                     ("flakehunter --fh --fh-runs=10", "fh")):
        w, c = med[k]
        runs = " ".join(f"{x:.2f}" for x in res[k][0])
        print(f"  {label:32} {w:8.2f} {c:8.2f}   (wall runs: {runs})")
    print(f"  ratio flakehunter / pytest-repeat: wall {med['fh'][0] / med['repeat'][0]:.2f}x, "
          f"CPU {med['fh'][1] / med['repeat'][1]:.2f}x   (goal <= 0.80x, analyzer included)")


def bench_hunt(tmp):
    runs = 10 if os.environ.get("FH_BENCH_QUICK") else 100
    suite = tmp / "hunt"
    write_suite(suite, 20, 50, 'assert random.random() >= 0.05, "unlucky draw"')
    dt, cpu, rc, out = timed(["-p", "pytest_flakehunter", "--fh", f"--fh-runs={runs}"], suite)
    summary = [x for x in out.splitlines() if " passed" in x or " failed" in x][-1:]
    analyzer = [x for x in out.splitlines() if x.startswith("flakehunter: ")][:1]
    print(f"hunt: 1000 tests x {runs} runs, 5% failures, end to end (pytest + fh-analyze):")
    print(f"  wall {dt:7.2f} s, CPU {cpu:7.2f} s   exit {rc}   "
          f"{summary[0].strip('= ') if summary else '?'}")
    if analyzer:
        print(f"  analyzer: {analyzer[0]}")
    print("  goal < 60 s (the seed: 885 s)")


def main():
    tmp = pathlib.Path(tempfile.mkdtemp(prefix="fh-bench-plugin-"))
    try:
        bench_vs_repeat(tmp)
        bench_hunt(tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
