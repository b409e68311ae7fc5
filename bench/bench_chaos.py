#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Chaos mode against rare flakes (`make bench`), printed side by side; no assertions.

The suite bench/rare_flakes/ holds four tests that fail naturally about 1 time in 100 or less: a
race between two threads with a window of a few microseconds, a client timeout slightly above
the server's usual latency, a check-then-act on a file between two processes, and an asyncio
ordering assumption. Per trial, one hunt runs the whole suite under the preload without chaos
(`--fh-runs NATURAL`) and one with `--fh-chaos[=MODE] --fh-chaos-seed TRIAL` (`--fh-runs
CHAOS`); the attempt number of each test's first failure is read from the attempt records.

Printed per test: the mean attempts to the first failure without and with chaos and their
ratio. A trial without any failure within its bound counts as the bound, so a mean with ">="
is a lower bound (the true figure is larger) and the ratio is then a lower bound too. Also the
failure rate of all attempts without chaos, and of the perturbed attempts with chaos.

Environment: FH_BENCH_TRIALS (default 3), FH_BENCH_NATURAL (default 200),
FH_BENCH_CHAOS (default 30), FH_BENCH_CHAOS_MODE (default guided).
"""
import json
import os
import pathlib
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
BUILD = pathlib.Path(os.environ.get("FH_BUILD", ROOT / "build"))
LIB = pathlib.Path(os.environ.get("FH_LIB", BUILD / "libfhtrace.so"))
SUITE = ROOT / "bench" / "rare_flakes"
PYTHON = "/usr/bin/python3"
TRIALS = int(os.environ.get("FH_BENCH_TRIALS", "3"))
NATURAL = int(os.environ.get("FH_BENCH_NATURAL", "200"))
CHAOS = int(os.environ.get("FH_BENCH_CHAOS", "30"))
MODE = os.environ.get("FH_BENCH_CHAOS_MODE", "guided")


def hunt(work, runs, chaos_args):
    """One hunt of the suite; {nodeid: [(attempt, outcome, perturbed)]} and its wall time."""
    env = dict(os.environ)
    for k in ("FH_TRACE_DIR", "FH_CHAOS"):
        env.pop(k, None)
    env.update(LD_PRELOAD=str(LIB), PYTHONPATH=str(ROOT / "plugin"),
               PYTHONDONTWRITEBYTECODE="1")
    cmd = [PYTHON, "-m", "pytest", "-p", "pytest_flakehunter", "-p", "no:cacheprovider", "-q",
           "--fh", "--fh-runs", str(runs), "--fh-no-report", *chaos_args]
    t0 = time.monotonic()
    p = subprocess.run(cmd, cwd=work, env=env, capture_output=True, text=True, timeout=3600)
    wall = time.monotonic() - t0
    runs_dir = work / ".flakehunter" / "runs"
    if not runs_dir.exists():
        sys.exit(f"bench_chaos: the hunt wrote no run directory:\n{p.stdout[-2000:]}\n"
                 f"{p.stderr[-2000:]}")
    out = {}
    for f in sorted(runs_dir.glob("*/attempts-*.jsonl")):
        for line in f.read_text().splitlines():
            r = json.loads(line)
            pert = bool((r.get("chaos") or {}).get("perturbed"))
            out.setdefault(r["nodeid"], []).append((r["attempt"], r["outcome"], pert))
    shutil.rmtree(runs_dir)
    return out, wall


def first_failure(atts):
    fails = [a for a, o, _ in sorted(atts) if o in ("failed", "error")]
    return fails[0] if fails else None


def mean_first(vals, bound):
    """(mean with censored trials at the bound, censored count)."""
    cens = sum(v is None for v in vals)
    return sum(bound if v is None else v for v in vals) / len(vals), cens


def main():
    if not LIB.exists():
        sys.exit(f"bench_chaos: {LIB} missing: run make")
    tmp = pathlib.Path(tempfile.mkdtemp(prefix="fh-bench-chaos-"))
    try:
        work = tmp / "rare_flakes"
        shutil.copytree(SUITE, work)
        nat, cha = {}, {}
        nat_rate, cha_rate = {}, {}
        walls = [0.0, 0.0]
        for trial in range(1, TRIALS + 1):
            n, w1 = hunt(work, NATURAL, [])
            c, w2 = hunt(work, CHAOS, [f"--fh-chaos={MODE}", "--fh-chaos-seed", str(trial)])
            walls[0] += w1
            walls[1] += w2
            for nodeid, atts in n.items():
                nat.setdefault(nodeid, []).append(first_failure(atts))
                f = sum(o in ("failed", "error") for _, o, _ in atts)
                r = nat_rate.setdefault(nodeid, [0, 0])
                r[0] += f
                r[1] += len(atts)
            for nodeid, atts in c.items():
                cha.setdefault(nodeid, []).append(first_failure(atts))
                pert = [(a, o) for a, o, p in atts if p]
                r = cha_rate.setdefault(nodeid, [0, 0])
                r[0] += sum(o in ("failed", "error") for _, o in pert)
                r[1] += len(pert)
            print(f"trial {trial}: without chaos {w1:.1f} s, with chaos {w2:.1f} s", flush=True)
        print(f"\nrare-flake suite: {TRIALS} trials, bounds {NATURAL} attempts without chaos and "
              f"{CHAOS} with --fh-chaos={MODE} (seeds 1..{TRIALS}); both under the preload")
        print(f"{'test':<52} {'without':>10} {'with':>8} {'ratio':>8} {'goal':>5}  "
              f"{'rate without':>13} {'rate perturbed':>15}")
        for nodeid in sorted(set(nat) | set(cha)):
            nm, ncens = mean_first(nat.get(nodeid, [None]), NATURAL)
            cm, ccens = mean_first(cha.get(nodeid, [None]), CHAOS)
            lower = ">=" if ncens else ""
            ratio = nm / cm if cm else float("inf")
            goal = "yes" if not ccens and cm <= 10 and ratio >= 5 else "no"
            nr = nat_rate.get(nodeid, [0, 1])
            cr = cha_rate.get(nodeid, [0, 1])
            print(f"{nodeid:<52} {lower + format(nm, '.1f'):>10} "
                  f"{('>=' if ccens else '') + format(cm, '.1f'):>8} "
                  f"{lower + format(ratio, '.1f') + 'x':>8} {goal:>5}  "
                  f"{nr[0]:>5}/{nr[1]:<7} {cr[0]:>6}/{cr[1]:<8}")
        print(f"\n(mean attempts to the first failure; '>=': some trials saw no failure within "
              f"the bound and count as the bound; goal: within 10 attempts with chaos and at "
              f"least 5x fewer; wall time {walls[0]:.0f} s without, {walls[1]:.0f} s with)")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
