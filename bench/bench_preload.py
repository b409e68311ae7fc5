#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Preload benchmarks (`make bench`), printed side by side; no assertions on time.

1. ns per call for 1,000,000 write(1 byte) to /dev/null and 1,000,000 poll(NULL, 0, 0):
   plain, under the preload, and under `strace -f` (100,000 calls: strace is slow; wall
   time, since a traced process's cost is the time it is stopped), best of
   REPS runs, in thread CPU time; "added" is preload minus plain (goal: at most 50 ns).
2. A Python loop of 1,000,000 os.write to /dev/null, plain and preloaded (thread CPU time).
3. A syscall-heavy pytest suite run with `pytest --fh --fh-runs=10` (plugin/ on PYTHONPATH)
   without the preload, with it (traces in the run directory, as the plugin sets it), and with
   it tracing into /dev/shm; alternating, median of REPS runs, wall and CPU time (goal: at
   most 1.05x). The machines are shared: compare the CPU column when wall time is noisy.
"""
import os
import pathlib
import resource
import shutil
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
N = 1_000_000
RUNS = int(os.environ.get("FH_BENCH_RUNS", "10"))


def env(trace=None, plugin_dir=False):
    e = dict(os.environ)
    for k in ("LD_PRELOAD", "FH_TRACE_DIR", "FH_TRACE", "PYTEST_ADDOPTS"):
        e.pop(k, None)
    e["PYTHONPATH"] = str(ROOT / "plugin")
    e["PYTHONDONTWRITEBYTECODE"] = "1"
    e.setdefault("FH_ANALYZE", str(BUILD / "fh-analyze"))
    if trace is not None:
        e["LD_PRELOAD"] = str(LIB)
        if not plugin_dir:
            e["FH_TRACE_DIR"] = str(trace)
    return e


def loop(kind, n, trace=None, strace=False):
    best = None
    for _ in range(REPS if not strace else 1):
        argv = [str(LOOP), kind, str(n)]
        if strace:
            argv = ["strace", "-f", "-o", "/dev/null"] + argv + ["wall"]
        out = subprocess.run(argv, env=env(trace), capture_output=True, text=True, check=True)
        v = float(out.stdout.split()[-1])
        best = v if best is None else min(best, v)
        if trace is not None:
            for f in pathlib.Path(trace).glob("*.fht"):
                f.unlink()
    return best


def py_write(trace=None):
    code = ("import os, time\nfd = os.open('/dev/null', os.O_WRONLY)\nt = time.thread_time_ns()\n"
            f"for _ in range({N}): os.write(fd, b'x')\n"
            f"print((time.thread_time_ns() - t) / {N})\n")
    best = None
    for _ in range(REPS):
        out = subprocess.run([PYTHON, "-c", code], env=env(trace), capture_output=True, text=True,
                             check=True)
        v = float(out.stdout.split()[-1])
        best = v if best is None else min(best, v)
        if trace is not None:
            for f in pathlib.Path(trace).glob("*.fht"):
                f.unlink()
    return best


SUITE = '''
import os, socket, subprocess, threading, time, queue, select

def _pair():
    return socket.socketpair()

def test_socket_pingpong_{i}():
    a, b = _pair()
    for _ in range(300):
        a.sendall(b"x"); assert b.recv(1) == b"x"
    a.close(); b.close()

def test_files_{i}(tmp_path):
    p = tmp_path / "f"
    for k in range(100):
        p.write_bytes(b"%d" % k)
        assert p.read_bytes() == b"%d" % k

def test_threads_queue_{i}():
    q = queue.Queue()
    ts = [threading.Thread(target=lambda: [q.put(1) for _ in range(200)]) for _ in range(4)]
    [t.start() for t in ts]; [t.join() for t in ts]
    assert q.qsize() == 800

def test_poll_sleep_{i}():
    r, w = os.pipe()
    for _ in range(200):
        select.select([r], [], [], 0)
    time.sleep(0.001)
    os.close(r); os.close(w)

def test_subprocess_{i}():
    assert subprocess.run(["/bin/true"]).returncode == 0
'''


def pytest_suite(d, trace, plugin_dir=False):
    # tmp_path on /dev/shm when there is one: ext4 O_TRUNC opens on this shared machine take
    # milliseconds at random and would drown the difference being measured.
    base = pathlib.Path("/dev/shm") if pathlib.Path("/dev/shm").is_dir() else d
    basetemp = base / f"fh-bench-basetemp-{os.getpid()}"
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    c0 = ru.ru_utime + ru.ru_stime
    t0 = time.perf_counter()
    r = subprocess.run([PYTHON, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p",
                        "pytest_flakehunter", "--fh", f"--fh-runs={RUNS}", "--fh-no-history",
                        f"--basetemp={basetemp}", "."],
                       cwd=d, env=env(trace, plugin_dir), stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT)
    dt = time.perf_counter() - t0
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = ru.ru_utime + ru.ru_stime - c0
    shutil.rmtree(basetemp, ignore_errors=True)
    if r.returncode not in (0, 1):
        print(r.stdout.decode()[-2000:])
    return dt, cpu


def main():
    if not LOOP.exists() or not LIB.exists():
        print("build first: make")
        return 1
    tmp = pathlib.Path(tempfile.mkdtemp(prefix="fh-bench-preload-"))
    try:
        trace = tmp / "trace"
        trace.mkdir()
        have_strace = shutil.which("strace") is not None
        shm = pathlib.Path(tempfile.mkdtemp(prefix="fh-bench-", dir="/dev/shm")) \
            if pathlib.Path("/dev/shm").is_dir() else trace
        print(f"{'ns per call':<22}{'plain':>10}{'preload':>10}{'added':>10}{'added(shm)':>12}"
              f"{'strace -f':>12}{'strace/plain':>14}")
        for kind in ("write", "poll"):
            plain = loop(kind, N)
            pre = loop(kind, N, trace)
            pre_shm = loop(kind, N, shm)
            st = loop(kind, N // 10, strace=True) if have_strace else float("nan")
            print(f"{kind + ' x1,000,000':<22}{plain:>10.1f}{pre:>10.1f}{pre - plain:>10.1f}"
                  f"{pre_shm - plain:>12.1f}{st:>12.1f}{st / plain:>13.0f}x")
        if shm != trace:
            shutil.rmtree(shm, ignore_errors=True)
        print("(added: trace directory on the disk, as a run directory is; added(shm): on "
              "/dev/shm, i.e. the wrapper without the cost of dirtying file pages)")
        plain = py_write()
        pre = py_write(trace)
        print(f"{'python os.write loop':<22}{plain:>10.1f}{pre:>10.1f}{pre - plain:>10.1f}")
        suite = tmp / "suite"
        suite.mkdir()
        for m in range(4):
            (suite / f"test_heavy{m}.py").write_text(
                SUITE.replace("{i}", "a") + SUITE.replace("{i}", "b").split("\n", 2)[2])
        runs_plain, runs_pre, runs_shm = [], [], []
        shm = pathlib.Path("/dev/shm") / f"fh-bench-trace-{os.getpid()}"
        for _ in range(REPS):
            runs_plain.append(pytest_suite(suite, None))
            shutil.rmtree(trace)
            trace.mkdir()
            # FH_TRACE_DIR unset: the plugin's fh_start() traces into the run directory (disk)
            runs_pre.append(pytest_suite(suite, trace, plugin_dir=True))
            shutil.rmtree(shm, ignore_errors=True)
            shm.mkdir()
            runs_shm.append(pytest_suite(suite, shm))
        nfiles = len(list(suite.rglob("*.fht")))
        shutil.rmtree(shm, ignore_errors=True)
        print(f"pytest --fh, syscall-heavy suite (40 tests x {RUNS} runs, median of {REPS}; "
              f"{nfiles // REPS} trace files per traced run); goal <= 1.05x")
        for i, what in ((0, "wall"), (1, "CPU (pytest + children)")):
            a, b, c = (statistics.median(x[i] for x in runs)
                       for runs in (runs_plain, runs_pre, runs_shm))
            print(f"  {what:<24} plain {a:6.2f} s   preload {b:6.2f} s = {b / a:.3f}x   "
                  f"preload, traces on /dev/shm {c:6.2f} s = {c / a:.3f}x")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
