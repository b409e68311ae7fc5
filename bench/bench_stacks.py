#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""`make bench`: what stack capture costs.

0. Native only: build/tests/preload/stack_prog capturing 100,000 times (libunwind's
   unw_backtrace, about 8 frames).
1. One capture: a Python loop of os.write() to /dev/null (one wrapped write each) at a
   pytest-like Python depth, under the preload with FH_STACK_MS=0 (a native + Python stack for
   every call) and with FH_STACK_MS=-1 (capture off); the difference per call is the cost of
   one capture (libunwind, Python frames, records).
2. Whole suite: a generated syscall-heavy pytest suite (sockets, locks with timeouts, short and
   slow sleeps, subprocess) run plain, under the preload with stacks at the default threshold,
   and with stacks off. Goal: preload with stacks <= 1.05x plain.
Best of several runs each; figures printed side by side.
"""
import os
import pathlib
import subprocess
import sys
import tempfile
import textwrap
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
BUILD = pathlib.Path(os.environ.get("FH_BUILD", ROOT / "build"))
LIB = pathlib.Path(os.environ.get("FH_LIB", BUILD / "libfhtrace.so"))
PY = "/usr/bin/python3"

LOOP = """
import os, sys, time
N = int(sys.argv[1])
fd = os.open("/dev/null", os.O_WRONLY)
def deep(d):
    if d:
        return deep(d - 1)
    t = time.perf_counter_ns()
    for _ in range(N):
        os.write(fd, b"x")
    return time.perf_counter_ns() - t
print(deep(int(sys.argv[2])))
"""

SUITE = """
import socket, subprocess, threading, time
import pytest

@pytest.mark.parametrize("i", range(40))
def test_socket_roundtrip(i):
    a, b = socket.socketpair()
    for _ in range(200):
        a.sendall(b"x" * 64)
        assert b.recv(64)
    a.close(); b.close()

@pytest.mark.parametrize("i", range(20))
def test_lock_timeout(i):
    lock = threading.Lock()
    lock.acquire()
    assert not lock.acquire(timeout=0.015)

@pytest.mark.parametrize("i", range(20))
def test_sleeps(i):
    for _ in range(50):
        time.sleep(0.0001)
    time.sleep(0.02)

@pytest.mark.parametrize("i", range(5))
def test_subprocess(i):
    assert subprocess.run(["true"]).returncode == 0
"""


def env(preload, stack_ms=None, trace=None):
    e = dict(os.environ)
    for k in ("LD_PRELOAD", "FH_TRACE_DIR", "FH_STACK_MS"):
        e.pop(k, None)
    e["PYTHONDONTWRITEBYTECODE"] = "1"
    if preload:
        e["LD_PRELOAD"] = str(LIB)
        e["FH_TRACE_DIR"] = str(trace)
        if stack_ms is not None:
            e["FH_STACK_MS"] = str(stack_ms)
    return e


def fresh_trace(base, name):
    d = pathlib.Path(tempfile.mkdtemp(prefix=name, dir=base))
    return d


def capture_cost(tmp):
    prog = pathlib.Path(tmp) / "loop.py"
    prog.write_text(LOOP)
    n, depth = 20000, 40
    res = {}
    for label, ms in (("off", -1), ("every call", 0)):
        best = None
        for _ in range(3):
            trace = fresh_trace(tmp, "t")
            out = subprocess.run([PY, str(prog), str(n), str(depth)], env=env(True, ms, trace),
                                 capture_output=True, text=True, check=True)
            ns = int(out.stdout) / n
            best = ns if best is None else min(best, ns)
        res[label] = best
    cost = res["every call"] - res["off"]
    print(f"os.write(/dev/null) at Python depth {depth}: stacks off {res['off']:.0f} ns/call, "
          f"stack on every call {res['every call']:.0f} ns/call")
    print(f"one capture (native + {depth + 2} Python frames + records): {cost / 1000:.1f} us")
    return cost


def native_cost(tmp):
    prog = BUILD / "tests" / "preload" / "stack_prog"
    times = {}
    for n in (1, 100001):
        best = None
        for _ in range(3):
            d = tempfile.mkdtemp(dir=tmp)
            t = time.perf_counter()
            subprocess.run([str(prog), d, str(n)], stdout=subprocess.DEVNULL, check=True)
            dt = time.perf_counter() - t
            best = dt if best is None else min(best, dt)
        times[n] = best
    per = (times[100001] - times[1]) / 100000
    print(f"native-only capture (unw_backtrace, C program, ~8 frames, incl. its printf): "
          f"{per * 1e9:.0f} ns")


def suite_overhead(tmp):
    suite = pathlib.Path(tmp) / "suite"
    suite.mkdir()
    (suite / "test_heavy.py").write_text(SUITE)
    runs = [("plain", False, None), ("preload, stacks off", True, -1),
            ("preload, stacks default", True, None)]
    best = {}
    for _ in range(3):
        for label, preload, ms in runs:
            trace = fresh_trace(tmp, "s")
            t = time.perf_counter()
            subprocess.run([PY, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(suite)],
                           env=env(preload, ms, trace), capture_output=True, check=True,
                           cwd=suite)
            dt = time.perf_counter() - t
            best[label] = min(best.get(label, dt), dt)
    base = best["plain"]
    print("whole suite (best of 3): " + ", ".join(
        f"{label} {best[label]:.2f} s ({best[label] / base:.3f}x)" for label, _, _ in runs))
    ratio = best["preload, stacks default"] / base
    print(f"stacks at the default threshold vs stacks off: "
          f"{best['preload, stacks default'] / best['preload, stacks off']:.3f}x")
    print(f"goal <= 1.05x with stacks at the default threshold: "
          f"{'met' if ratio <= 1.05 else 'NOT met'} ({ratio:.3f}x)")


def main():
    if not LIB.exists():
        print(f"{LIB} missing: run make", file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory(prefix="fh-bench-stacks-") as tmp:
        native_cost(tmp)
        capture_cost(tmp)
        suite_overhead(tmp)
    return 0


if __name__ == "__main__":
    sys.exit(main())
