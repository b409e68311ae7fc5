#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""`make bench`: times `fh-analyze report` on a synthetic run of 1,000 tests x 100 attempts with
5% failures (bench/gen_run.py), and prints the split per stage (FH_TIMING=1) beside the goal
(0.5 s for analysis and rendering together) and the seed's Python report (2.2 s here).

    bench_analyzer.py [--tests N] [--runs R] [--fail-rate F] [--repeat K]

Four configurations: --no-history; a fresh history dir (creates 1,000 CSV files: mostly the
file system's inode allocation); a history that already has the files (reads them, appends
100,000 rows: the steady state); re-rendering the same run (reads, appends nothing).
Median of K runs each, with the CPU time (user + sys, less sensitive to a busy machine) and
the split per stage; "1 thread" sets FH_THREADS=1 (records parsed on one thread).
"""
import argparse
import os
import pathlib
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parent
FH_ANALYZE = os.environ.get("FH_ANALYZE", str(ROOT / "build" / "fh-analyze"))
SEED_S = 2.2
GOAL_S = 0.5


def timed(cmd, cwd, threads=None):
    env = dict(os.environ, FH_TIMING="1")
    if threads:
        env["FH_THREADS"] = threads
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)
    if proc.returncode not in (0, 1):
        sys.exit(f"fh-analyze failed ({proc.returncode}): {proc.stderr[-2000:]}")
    stages = {m.group(1): float(m.group(2)) / 1000 for m in
              re.finditer(r"timing: (\S+)\s+([\d.]+) ms", proc.stderr)}
    stages["cpu"] = cpu
    return wall, stages, proc


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--tests", type=int, default=1000)
    ap.add_argument("--runs", type=int, default=100)
    ap.add_argument("--fail-rate", type=float, default=0.05)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    if not pathlib.Path(FH_ANALYZE).exists():
        sys.exit(f"{FH_ANALYZE} missing: run make")
    with tempfile.TemporaryDirectory(prefix="fh-bench-") as tmp:
        tmp = pathlib.Path(tmp)
        run = tmp / "run"
        t0 = time.perf_counter()
        subprocess.run([sys.executable, str(HERE / "gen_run.py"), str(run), "--tests",
                        str(args.tests), "--runs", str(args.runs), "--fail-rate",
                        str(args.fail_rate), "--seed", "1"], check=True)
        size = sum(p.stat().st_size for p in run.glob("attempts-*.jsonl"))
        print(f"synthetic run: {args.tests} tests x {args.runs} attempts, "
              f"{args.fail_rate:.0%} failures, {size / 1e6:.1f} MB of records "
              f"(generated in {time.perf_counter() - t0:.1f} s)")
        base = [FH_ANALYZE, "report", str(run), "--out", str(tmp / "r.html"), "--quiet"]
        configs = []
        results = [timed(base + ["--no-history"], tmp) for _ in range(args.repeat)]
        configs.append(("no history", results))
        results = [timed(base + ["--no-history"], tmp, threads="1") for _ in range(args.repeat)]
        configs.append(("no history, 1 thread", results))
        results = []
        for i in range(args.repeat):
            marker = run / "history-appended"
            if marker.exists():
                marker.unlink()
            results.append(timed(base + ["--history-dir", str(tmp / f"hist{i}")], tmp))
        configs.append(("history, first append", results))
        results = []
        for i in range(args.repeat):
            (run / "history-appended").unlink()
            results.append(timed(base + ["--history-dir", str(tmp / "hist0")], tmp))
        configs.append(("history, next run", results))
        results = [timed(base + ["--history-dir", str(tmp / "hist0")], tmp)
                   for _ in range(args.repeat)]
        configs.append(("history, re-render", results))

        html = tmp / "r.html"
        js = tmp / "r.json"
        rendered = html.exists()
        print(f"\n{'configuration':<24}{'wall s':>9}{'vs goal':>9}{'vs seed':>9}   stages (s)")
        for name, res in configs:
            walls = [w for w, _, _ in res]
            med = statistics.median(walls)
            stages = res[walls.index(med)][1]
            split = " ".join(f"{k}={v:.3f}" for k, v in stages.items()
                             if v >= 0.0005 and k != "cpu")
            split = f"cpu={stages['cpu']:.3f} | " + split
            print(f"{name:<24}{med:>9.3f}{med / GOAL_S:>8.2f}x{med / SEED_S:>8.2f}x   {split}")
        print(f"\ngoal {GOAL_S} s (analysis + rendering); seed's Python report {SEED_S} s")
        print(f"JSON summary: {js.stat().st_size / 1e6:.1f} MB" if js.exists() else
              "JSON summary: not written")
        print(f"HTML report: {html.stat().st_size / 1e6:.1f} MB" if rendered else
              "HTML report: not rendered yet (report/ placeholder): the times above exclude it")
    return 0


if __name__ == "__main__":
    sys.exit(main())
