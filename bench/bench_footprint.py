#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The footprint and the rounds (`make bench`), printed side by side; no assertions on time.

1. ns per call, plain and under the preload, best of REPS runs of N calls in thread CPU time
   (tests/preload/bench_loop.c): a call that does not touch the footprint (write to /dev/null,
   the figure bench_preload.py tracks), then the footprint calls: getenv of one name (recorded
   once per attempt: the repeated read is what a hot loop pays), getenv of 64 names in turn,
   getenv of a new name every call (every read recorded), setenv, a file created with
   open(O_CREAT) + close + unlink (three calls; the open pays one faccessat to know whether it
   created the file), stat.
2. A hunt of 500 trivial tests (10 modules of 50, each module with a module-scoped fixture) x
   10 attempts, back to back against --fh-order=rounds, interleaved, SUITE_REPS runs each,
   median and min of wall time, the whole run (pytest, records, analyzer); goal: rounds at
   most 1.2x. Also how often the module fixtures were set up in each mode.

FH_BENCH_LIB_BEFORE=/path/to/an/older/libfhtrace.so adds its column to 1 (run in turn with the
others): the figures of calls that do not touch the footprint must not move.

The machine is shared: noise only ever adds time, so the min row is the steadier estimate.
"""
import os
import pathlib
import statistics
import subprocess
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
BUILD = pathlib.Path(os.environ.get("FH_BUILD", ROOT / "build"))
LIB = pathlib.Path(os.environ.get("FH_LIB", BUILD / "libfhtrace.so"))
LOOP = BUILD / "tests" / "preload" / "bench_loop"
PYTHON = "/usr/bin/python3"
REPS = int(os.environ.get("FH_BENCH_REPS", "5"))
SUITE_REPS = int(os.environ.get("FH_BENCH_SUITE_REPS", "5"))
BEFORE = os.environ.get("FH_BENCH_LIB_BEFORE")

KINDS = [("write", 1_000_000, "write(/dev/null): no footprint"),
         ("getenv", 1_000_000, "getenv, same name"),
         ("getenv64", 1_000_000, "getenv, 64 names in turn"),
         ("getenvnew", 200_000, "getenv, a new name each"),
         ("setenv", 1_000_000, "setenv, same variable"),
         ("create", 50_000, "open(O_CREAT)+close+unlink"),
         ("stat", 1_000_000, "stat(/dev/null)")]


def env(trace=None, lib=None):
    e = dict(os.environ)
    for k in ("LD_PRELOAD", "FH_TRACE_DIR", "FH_TRACE", "PYTEST_ADDOPTS"):
        e.pop(k, None)
    e["PYTHONPATH"] = str(ROOT / "plugin")
    e["PYTHONDONTWRITEBYTECODE"] = "1"
    e.setdefault("FH_ANALYZE", str(BUILD / "fh-analyze"))
    if trace is not None:
        e["LD_PRELOAD"] = str(lib or LIB)
        e["FH_TRACE_DIR"] = str(trace)
    return e


def loop(kind, n, trace=None, lib=None):
    best = None
    for _ in range(REPS):
        r = subprocess.run([str(LOOP), kind, str(n)], env=env(trace, lib), capture_output=True,
                           text=True, check=True)
        v = float(r.stdout.split()[-1])
        best = v if best is None else min(best, v)
        if trace is not None:
            for f in pathlib.Path(trace).glob("*"):
                f.unlink()
    return best


SUITE = """
import os, pytest
LOG = os.path.join(os.path.dirname(os.path.abspath(__file__)), "setups.txt")
@pytest.fixture(scope="module")
def modfix():
    with open(LOG, "a") as f:
        f.write("x\\n")
    yield
{tests}
"""


def hunt(d, args):
    t0 = time.monotonic()
    r = subprocess.run([PYTHON, "-m", "pytest", "-p", "pytest_flakehunter", "-p",
                        "no:cacheprovider", "-q", "--fh", "--fh-runs=10", "--fh-no-history",
                        *args], cwd=d, env=env(), capture_output=True, text=True)
    wall = time.monotonic() - t0
    if r.returncode != 0:
        print(r.stdout[-2000:], r.stderr[-2000:])
    log = pathlib.Path(d) / "setups.txt"
    setups = len(log.read_text().splitlines()) if log.exists() else 0
    if log.exists():
        log.unlink()
    return wall, setups


def main():
    if not LOOP.exists() or not LIB.exists():
        print("build first: make && make build-tests")
        return 1
    print(f"{'ns per call (CPU)':<32}{'plain':>10}{'preload':>10}{'added':>10}"
          + (f"{'before':>10}{'added':>10}" if BEFORE else ""))
    with tempfile.TemporaryDirectory(prefix="fh-bench-fp-") as tmp:
        trace = pathlib.Path(tmp) / "trace"
        trace.mkdir()
        for kind, n, what in KINDS:
            plain = loop(kind, n)
            pre = loop(kind, n, trace)
            line = f"{what:<32}{plain:>10.1f}{pre:>10.1f}{pre - plain:>10.1f}"
            if BEFORE:
                old = loop(kind, n, trace, BEFORE)
                line += f"{old:>10.1f}{old - plain:>10.1f}"
            print(line)
        if BEFORE:
            print("(before: the library FH_BENCH_LIB_BEFORE names, which does not wrap the "
                  "footprint calls:\n its 'added' for them is the cost of the call itself "
                  "passing through unrecorded)")
        d = pathlib.Path(tmp) / "suite"
        d.mkdir()
        for m in range(10):
            tests = "\n".join(f"def test_{i}(modfix): pass" for i in range(50))
            (d / f"test_mod{m}.py").write_text(SUITE.format(tests=tests))
        modes = {"back-to-back": [], "rounds": []}
        setups = {}
        for _ in range(SUITE_REPS):
            for mode, args in (("back-to-back", []), ("rounds", ["--fh-order=rounds",
                                                                  "--fh-seed=1"])):
                wall, n = hunt(d, args)
                modes[mode].append(wall)
                setups[mode] = n
    a, b = modes["back-to-back"], modes["rounds"]
    print(f"\npytest --fh, 500 trivial tests (10 modules) x 10 attempts, wall, {SUITE_REPS} "
          f"runs each, interleaved:")
    for stat, f in (("median", statistics.median), ("min", min)):
        print(f"  {stat:<8} back-to-back {f(a):6.2f} s   rounds {f(b):6.2f} s = "
              f"{f(b) / f(a):.2f}x (goal: at most 1.2x)")
    print(f"  module fixture set-ups: back-to-back {setups['back-to-back']}, rounds "
          f"{setups['rounds']} (10 modules x 10 rounds at most)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
