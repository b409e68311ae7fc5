#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Cost of the preload's lock tracking (`make bench`), printed side by side; no assertions.

The hang snapshot names who holds a CPython lock from the lock table (preload/locktab.h): every
successful sem_trywait (an uncontended threading.Lock acquire) claims and writes one entry
(a compare-and-swap) and sem_post (its release) clears it, and the acquire reads the Python frame it was made from. This measures
1,000,000 acquire/release pairs of one threading.Lock in a Python loop (`lock.acquire();
lock.release()`, and `with lock:`), in thread CPU time, best of REPS interleaved runs: plain,
under the preload (tracing on), and with FH_BENCH_LIB_BEFORE (an older libfhtrace.so) when set.
"added" is preloaded minus plain per pair (the wrapper budget is ~50 ns per wrapped call; a pair
is two calls). The loop's own Python overhead is in every column.
"""
import os
import pathlib
import subprocess
import tempfile

ROOT = pathlib.Path(__file__).resolve().parents[1]
BUILD = pathlib.Path(os.environ.get("FH_BUILD", ROOT / "build"))
LIB = pathlib.Path(os.environ.get("FH_LIB", BUILD / "libfhtrace.so"))
BEFORE = os.environ.get("FH_BENCH_LIB_BEFORE")
PYTHON = "/usr/bin/python3"
REPS = int(os.environ.get("FH_BENCH_REPS", "7"))
N = 1_000_000

LOOP = """
import threading, time, sys
lock = threading.Lock()
n = int(sys.argv[1])
acq, rel = lock.acquire, lock.release
t0 = time.thread_time_ns()
for _ in range(n):
    acq(); rel()
t1 = time.thread_time_ns()
for _ in range(n):
    with lock:
        pass
t2 = time.thread_time_ns()
print(t1 - t0, t2 - t1)
"""


def run(lib, trace):
    e = dict(os.environ)
    for k in ("LD_PRELOAD", "FH_TRACE_DIR", "FH_TRACE"):
        e.pop(k, None)
    if lib:
        e["LD_PRELOAD"] = str(lib)
        e["FH_TRACE_DIR"] = str(trace)
    out = subprocess.run([PYTHON, "-c", LOOP, str(N)], env=e, capture_output=True, text=True,
                         check=True).stdout.split()
    return int(out[0]) / N, int(out[1]) / N


def main():
    cols = [("plain", None), ("preload", LIB)]
    if BEFORE:
        cols.append(("before", pathlib.Path(BEFORE)))
    best = {name: [float("inf"), float("inf")] for name, _ in cols}
    with tempfile.TemporaryDirectory(prefix="fh-bench-locks-") as tmp:
        for rep in range(REPS):
            for name, lib in cols:
                a, w = run(lib, pathlib.Path(tmp) / f"{name}-{rep}")
                best[name][0] = min(best[name][0], a)
                best[name][1] = min(best[name][1], w)
    print(f"threading.Lock, {N:,} acquire/release pairs, ns per pair (thread CPU, best of {REPS})")
    head = f"{'loop':28}" + "".join(f"{name:>10}" for name, _ in cols) + f"{'ratio':>8}{'added':>8}"
    print(head)
    for i, label in enumerate(("acquire(); release()", "with lock: pass")):
        plain, pre = best["plain"][i], best["preload"][i]
        row = f"{label:28}" + "".join(f"{best[name][i]:10.1f}" for name, _ in cols)
        print(row + f"{pre / plain:8.2f}x{pre - plain:7.1f}")


if __name__ == "__main__":
    main()
