#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The CPU profiler's cost (`make bench`), printed side by side; no assertions on time.

1. A pure-Python CPU loop (N_LOOP iterations, ~0.5 s) run plain, under the preload with the
   profiler off, and with the profiler on every 10 ms and every 1 ms of thread CPU
   (FH_PROFILE): best of REPS of the process's own CPU time for the loop (time.thread_time),
   then the cost per CPU-second ((on - off) / off, in ms of CPU per s), the samples written and
   the CPU they stand for.
2. ns per call of write(/dev/null) (tests/preload/bench_loop.c, the figure bench_preload.py
   tracks) under the preload with the profiler off and on: the per-call path does not change
   when it is off. FH_BENCH_LIB_BEFORE=/path/to/an/older/libfhtrace.so adds that library's
   column (a build without the profiler) to both tables.

The machine is shared: noise only ever adds time, so the best of REPS is the steadier figure.
"""
import os
import pathlib
import subprocess
import tempfile

ROOT = pathlib.Path(__file__).resolve().parents[1]
BUILD = pathlib.Path(os.environ.get("FH_BUILD", ROOT / "build"))
LIB = pathlib.Path(os.environ.get("FH_LIB", BUILD / "libfhtrace.so"))
ANALYZE = pathlib.Path(os.environ.get("FH_ANALYZE", BUILD / "fh-analyze"))
LOOP = BUILD / "tests" / "preload" / "bench_loop"
PYTHON = "/usr/bin/python3"
REPS = int(os.environ.get("FH_BENCH_REPS", "5"))
N_LOOP = int(os.environ.get("FH_BENCH_PROFILE_N", "6000000"))
BEFORE = os.environ.get("FH_BENCH_LIB_BEFORE")

CODE = f"""
import time
t0 = time.thread_time()
s = 0
for i in range({N_LOOP}):
    s += i
print(time.thread_time() - t0)
"""


def env(trace=None, lib=None, profile=None):
    e = dict(os.environ)
    for k in ("LD_PRELOAD", "FH_TRACE_DIR", "FH_TRACE", "FH_PROFILE"):
        e.pop(k, None)
    if trace is not None:
        e["LD_PRELOAD"] = str(lib or LIB)
        e["FH_TRACE_DIR"] = str(trace)
    if profile is not None:
        e["FH_PROFILE"] = str(profile)
    return e


def samples(trace):
    files = [str(f) for f in pathlib.Path(trace).glob("*.fht")]
    if not files:
        return 0
    out = subprocess.run([str(ANALYZE), "dump", *files], capture_output=True, text=True).stdout
    n, w = 0, 0.0
    for line in out.splitlines():
        if "*** cpu sample " in line:
            n += 1
            w += float(line.split("*** cpu sample ")[1].split("s")[0])
    return n, w


def clear(trace):
    for f in pathlib.Path(trace).glob("*"):
        f.unlink()


def cpu_loop(tmp, traced, lib=None, profile=None):
    best, nsamp = None, (0, 0.0)
    for _ in range(REPS):
        trace = tmp if traced else None
        r = subprocess.run([PYTHON, "-c", CODE], env=env(trace, lib, profile),
                           capture_output=True, text=True, check=True)
        v = float(r.stdout.split()[-1])
        if traced:
            nsamp = samples(tmp)
            clear(tmp)
        best = v if best is None else min(best, v)
    return best, nsamp


def call_ns(tmp, lib=None, profile=None):
    best = None
    for _ in range(REPS):
        r = subprocess.run([str(LOOP), "write", "1000000"], env=env(tmp, lib, profile),
                           capture_output=True, text=True, check=True)
        v = float(r.stdout.split()[-1])
        best = v if best is None else min(best, v)
        clear(tmp)
    return best


def main():
    with tempfile.TemporaryDirectory() as tmp:
        print(f"1. CPU loop of {N_LOOP} Python iterations: CPU seconds, best of {REPS}")
        plain, _ = cpu_loop(tmp, False)
        rows = [("plain (no preload)", plain, (0, 0.0))]
        if BEFORE:
            v, _ = cpu_loop(tmp, True, lib=BEFORE)
            rows.append(("preload before (FH_BENCH_LIB_BEFORE)", v, (0, 0.0)))
        off, _ = cpu_loop(tmp, True)
        rows.append(("preload, profiler off", off, (0, 0.0)))
        for ms in (10, 1):
            v, n = cpu_loop(tmp, True, profile=ms)
            rows.append((f"preload, profiler every {ms} ms", v, n))
        print(f"   {'':40s} {'CPU s':>8s} {'vs off':>8s} {'ms/CPU-s':>9s} {'samples':>8s} "
              f"{'sampled s':>9s}")
        for name, v, (n, w) in rows:
            print(f"   {name:40s} {v:8.4f} {v / off:7.3f}x {1000 * (v - off) / off:9.2f} {n:8d} "
                  f"{w:9.3f}")
        print("   (samples and their CPU weight: the last run's whole process, startup included;"
              " a sample\n    stands for interval x (1 + missed expirations): the kernel checks"
              " CPU timers at ticks)")
        print(f"\n2. write(/dev/null) under the preload: ns per call, best of {REPS}")
        cols = []
        if BEFORE:
            cols.append(("before", call_ns(tmp, lib=BEFORE)))
        cols.append(("profiler off", call_ns(tmp)))
        cols.append(("profiler on (10 ms)", call_ns(tmp, profile=10)))
        base = cols[-2][1]
        for name, v in cols:
            print(f"   {name:24s} {v:8.1f} ns  {v / base:6.3f}x")


if __name__ == "__main__":
    main()
