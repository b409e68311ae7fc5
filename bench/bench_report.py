#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""`make bench`: render time and size of the HTML report for a 1,000 tests x 100 attempts run
with 5% failures (bench/gen_run.py -> fh-analyze report, the html stage timed by FH_TIMING),
side by side with pytest-flakehunter 1.0.1's figures for the same run (2.2 s, 59 MB) and the
goals (0.5 s, 10 MB). Also the renderer alone on the all-flaky worst case of the C fixture, and
the size policy on large runs: 10,000 and 100,000 tests x 1 attempt, HTML size and the
analyzer's peak RSS (VmHWM, printed by FH_TIMING) side by side with the figures before the policy
(100,000 tests: no HTML, "report larger than 256 MB", 796 MB peak RSS on the same machine)."""
import os
import pathlib
import re
import subprocess
import sys
import tempfile

ROOT = pathlib.Path(__file__).resolve().parents[1]
BUILD = pathlib.Path(os.environ.get("FH_BUILD", ROOT / "build"))
FH_ANALYZE = pathlib.Path(os.environ.get("FH_ANALYZE", BUILD / "fh-analyze"))
ORIG_S, ORIG_MB, GOAL_S, GOAL_MB = 2.2, 59.0, 0.5, 10.0


def main():
    with tempfile.TemporaryDirectory() as tmp:
        tmp = pathlib.Path(tmp)
        subprocess.run([sys.executable, str(ROOT / "bench" / "gen_run.py"), str(tmp / "run"), "--tests",
                        "1000", "--runs", "100", "--fail-rate", "0.05"], check=True,
                       stdout=subprocess.DEVNULL)
        best = None
        for _ in range(3):
            r = subprocess.run([str(FH_ANALYZE), "report", str(tmp / "run"), "--out", str(tmp / "r.html"),
                                "--no-history", "--quiet"], capture_output=True, text=True,
                               env=dict(os.environ, FH_TIMING="1"))
            if r.returncode:
                print(r.stderr)
                return 1
            m = re.search(r"timing: html\s+([\d.]+) ms", r.stderr)
            ms = float(m.group(1)) if m else float("nan")
            best = ms if best is None or ms < best else best
        size_mb = (tmp / "r.html").stat().st_size / 1e6
        secs = best / 1000
        print("report, 1000 tests x 100 attempts, 5% failures (best of 3):")
        print(f"  render   {secs:7.3f} s   goal {GOAL_S} s ({secs / GOAL_S:.2f}x goal)   "
              f"pytest-flakehunter 1.0.1 {ORIG_S} s ({ORIG_S / secs:.0f}x faster)")
        print(f"  size     {size_mb:7.2f} MB  goal {GOAL_MB:.0f} MB ({size_mb / GOAL_MB:.2f}x goal)  "
              f"pytest-flakehunter 1.0.1 {ORIG_MB:.0f} MB ({ORIG_MB / size_mb:.1f}x smaller)")
        # The same size with a history of earlier runs (each a different synthetic suite run).
        for i in (1, 2, 3, 4):
            subprocess.run([sys.executable, str(ROOT / "bench" / "gen_run.py"), str(tmp / f"h{i}"), "--tests",
                            "1000", "--runs", "100", "--fail-rate", "0.05", "--seed", str(10 + i),
                            "--run-id", f"2026112{i}T120000Z-00000{i}"], check=True, stdout=subprocess.DEVNULL)
            r = subprocess.run([str(FH_ANALYZE), "report", str(tmp / f"h{i}"), "--out", str(tmp / "h.html"),
                                "--history-dir", str(tmp / "hist"), "--quiet"], capture_output=True, text=True,
                               env=dict(os.environ, FH_TIMING="1"))
            if r.returncode:
                print(r.stderr)
                return 1
        m = re.search(r"timing: html\s+([\d.]+) ms", r.stderr)
        print(f"  with 4 runs of history: render {float(m.group(1)) / 1000:.3f} s, "
              f"{(tmp / 'h.html').stat().st_size / 1e6:.2f} MB")
        tool = BUILD / "tests" / "test_report"
        if tool.exists():
            r = subprocess.run([str(tool), "--big", "1000", "100", "0.05", str(tmp / "worst.html")],
                               capture_output=True, text=True)
            m = re.search(r"render_s=([\d.]+) bytes=(\d+)", r.stdout)
            if m:
                print(f"  worst case (every test flaky, 2 clusters each, renderer alone): "
                      f"{float(m.group(1)):.3f} s, {int(m.group(2)) / 1e6:.2f} MB")
        large(tmp)
    return 0


BEFORE = {10000: (27.4, 88), 100000: (None, 796)}  # MB of HTML, MB peak RSS, before the policy


def large(tmp):
    print("size policy, N tests x 1 attempt, 5% failures (HTML size, analyzer peak RSS):")
    for n in (10000, 100000):
        d = tmp / f"large{n}"
        subprocess.run([sys.executable, str(ROOT / "bench" / "gen_run.py"), str(d), "--tests", str(n),
                        "--runs", "1", "--fail-rate", "0.05"], check=True, stdout=subprocess.DEVNULL)
        out = tmp / f"large{n}.html"
        r = subprocess.run([str(FH_ANALYZE), "report", str(d), "--out", str(out), "--no-history", "--quiet"],
                           capture_output=True, text=True, env=dict(os.environ, FH_TIMING="1"))
        rss = max((int(m) for m in re.findall(r"peak RSS (\d+) MB", r.stderr)), default=0)
        size = out.stat().st_size / 1e6 if out.exists() else None
        trimmed = re.search(r'id="report-trimmed">[^<]*', out.read_text()) if out.exists() else None
        bsize, brss = BEFORE[n]
        print(f"  {n:>6} tests: html {size if size is not None else float('nan'):6.1f} MB "
              f"(before: {'none' if bsize is None else f'{bsize:.1f} MB'}), peak RSS {rss} MB "
              f"(before: {brss} MB){'  [trimmed]' if trimmed else ''}")
        if r.returncode:
            print("   ", r.stderr.strip().splitlines()[-1])


if __name__ == "__main__":
    sys.exit(main())
