#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Preload benchmarks (`make bench`), printed side by side; no assertions on time.

1. ns per call for 1,000,000 write(1 byte) to /dev/null, 1,000,000 poll(NULL, 0, 0) and
   1,000,000 poll of one pipe fd (zero timeout; the set's kinds and naming fd read at exit):
   plain, under the preload, and under `strace -f` (100,000 calls: strace is slow; wall
   time, since a traced process's cost is the time it is stopped), best of
   REPS runs, in thread CPU time; "added" is preload minus plain (goal: at most 50 ns).
2. A Python loop of 1,000,000 os.write to /dev/null, plain and preloaded (thread CPU time).
3. A syscall-heavy pytest suite run with `pytest --fh --fh-runs=10` (plugin/ on PYTHONPATH)
   without the preload, with it (traces in the run directory, as the plugin sets it), and with
   it tracing into /dev/shm; interleaved, SUITE_REPS runs each, median and min of wall and CPU
   time (goal: at most 1.05x). The machines are shared and noise only ever adds time: the min
   row is the steadier estimate. The report stage (fh-analyze, which the plugin runs at the
   end) is timed apart on a plain and a traced run directory, then added for the whole run.
4. Peak resident memory of the pytest process in those same runs (ru_maxrss from wait4: the
   largest of pytest and the children it waited for, which is pytest), plain and preloaded
   (goal: at most 1.2x), and of the write loop of 1 (its VmHWM, 61 MiB of trace).

FH_BENCH_LIB_BEFORE=/path/to/an/older/libfhtrace.so adds a column for it to 1, 3 and 4, run
interleaved with the others (before/after figures measured in one run).
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
SUITE_REPS = int(os.environ.get("FH_BENCH_SUITE_REPS", "9"))
BEFORE = os.environ.get("FH_BENCH_LIB_BEFORE")


def env(trace=None, plugin_dir=False, lib=None):
    e = dict(os.environ)
    for k in ("LD_PRELOAD", "FH_TRACE_DIR", "FH_TRACE", "PYTEST_ADDOPTS"):
        e.pop(k, None)
    e["PYTHONPATH"] = str(ROOT / "plugin")
    e["PYTHONDONTWRITEBYTECODE"] = "1"
    e.setdefault("FH_ANALYZE", str(BUILD / "fh-analyze"))
    if trace is not None:
        e["LD_PRELOAD"] = str(lib or LIB)
        if not plugin_dir:
            e["FH_TRACE_DIR"] = str(trace)
    return e


def run_rusage(argv, **kw):
    """Runs argv; (stdout, rusage of the child): wait4 gives that one child's own figures."""
    p = subprocess.Popen(argv, stdout=subprocess.PIPE, **kw)
    out = p.stdout.read()
    p.stdout.close()
    _, status, ru = os.wait4(p.pid, 0)
    if os.waitstatus_to_exitcode(status) not in (0, 1):
        print(out.decode(errors="replace")[-2000:])
    return out, ru


def loop(kind, n, trace=None, strace=False, lib=None, rss=None):
    best = None
    for _ in range(REPS if not strace else 1):
        argv = [str(LOOP), kind, str(n)]
        if strace:
            argv = ["strace", "-f", "-o", "/dev/null"] + argv + ["wall"]
        r = subprocess.run(argv, env=env(trace, lib=lib), capture_output=True, text=True, check=True)
        v = float(r.stdout.split()[-1])
        best = v if best is None else min(best, v)
        if rss is not None:   # the loop's VmHWM (its stderr): ru_maxrss would include the forked python
            rss.append(int(r.stderr.split("hwm ")[-1].split()[0]) / 1024)
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


def pytest_suite(d, trace, plugin_dir=False, analyze=False, lib=None):
    """One `pytest --fh` run of the suite in d; (wall, CPU of pytest and its children, peak RSS
    of pytest in MB). The report stage (fh-analyze, run by the plugin at session end) is left
    out unless `analyze`: FH_ANALYZE=/bin/true; it is timed on its own (report_stage)."""
    # tmp_path on /dev/shm when there is one: ext4 O_TRUNC opens on this shared machine take
    # milliseconds at random and would drown the difference being measured.
    base = pathlib.Path("/dev/shm") if pathlib.Path("/dev/shm").is_dir() else d
    basetemp = base / f"fh-bench-basetemp-{os.getpid()}"
    e = env(trace, plugin_dir, lib=lib)
    if not analyze:
        e["FH_ANALYZE"] = "/bin/true"
    t0 = time.perf_counter()
    _, ru = run_rusage([PYTHON, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p",
                        "pytest_flakehunter", "--fh", f"--fh-runs={RUNS}", "--fh-no-history",
                        f"--basetemp={basetemp}", "."], cwd=d, env=e, stderr=subprocess.STDOUT)
    dt = time.perf_counter() - t0
    shutil.rmtree(basetemp, ignore_errors=True)
    return dt, ru.ru_utime + ru.ru_stime, ru.ru_maxrss / 1024


def report_stage(run_dir):
    """CPU seconds of `fh-analyze report` on a finished run directory (best of 3)."""
    best = None
    for _ in range(3):
        ru = resource.getrusage(resource.RUSAGE_CHILDREN)
        c0 = ru.ru_utime + ru.ru_stime
        subprocess.run([str(BUILD / "fh-analyze"), "report", str(run_dir)], env=env(),
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        ru = resource.getrusage(resource.RUSAGE_CHILDREN)
        v = ru.ru_utime + ru.ru_stime - c0
        best = v if best is None else min(best, v)
    return best


def latest_run(d):
    runs = sorted((d / ".flakehunter" / "runs").glob("*/"))
    return runs[-1] if runs else None


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
              f"{'strace -f':>12}{'strace/plain':>14}" + (f"{'before: added':>15}" if BEFORE else ""))
        rss = {"plain": [], "preload": [], "before": []}
        for kind in ("write", "poll", "poll1"):
            plain = loop(kind, N, rss=rss["plain"] if kind == "write" else None)
            pre = loop(kind, N, trace, rss=rss["preload"] if kind == "write" else None)
            pre_shm = loop(kind, N, shm)
            before = loop(kind, N, trace, lib=BEFORE, rss=rss["before"] if kind == "write" else None) \
                if BEFORE else None
            st = loop(kind, N // 10, strace=True) if have_strace else float("nan")
            print(f"{kind + ' x1,000,000':<22}{plain:>10.1f}{pre:>10.1f}{pre - plain:>10.1f}"
                  f"{pre_shm - plain:>12.1f}{st:>12.1f}{st / plain:>13.0f}x" +
                  (f"{before - plain:>15.1f}" if BEFORE else ""))
        if shm != trace:
            shutil.rmtree(shm, ignore_errors=True)
        print("(added: trace directory on the disk, as a run directory is; added(shm): on "
              "/dev/shm, for comparison)")
        a, b = statistics.median(rss["plain"]), statistics.median(rss["preload"])
        print(f"peak RSS (VmHWM) of the write loop (61 MiB of trace): plain {a:.1f} MB, preload {b:.1f} MB"
              + (f", before {statistics.median(rss['before']):.1f} MB" if BEFORE else ""))
        plain = py_write()
        pre = py_write(trace)
        print(f"{'python os.write loop':<22}{plain:>10.1f}{pre:>10.1f}{pre - plain:>10.1f}")
        suite = tmp / "suite"
        suite.mkdir()
        for m in range(4):
            (suite / f"test_heavy{m}.py").write_text(
                SUITE.replace("{i}", "a") + SUITE.replace("{i}", "b").split("\n", 2)[2])
        runs_plain, runs_pre, runs_shm, runs_before = [], [], [], []
        shm = pathlib.Path("/dev/shm") / f"fh-bench-trace-{os.getpid()}"
        for _ in range(SUITE_REPS):
            runs_plain.append(pytest_suite(suite, None))
            # FH_TRACE_DIR unset: the plugin's fh_start() traces into the run directory (disk)
            runs_pre.append(pytest_suite(suite, trace, plugin_dir=True))
            shutil.rmtree(shm, ignore_errors=True)
            shm.mkdir()
            runs_shm.append(pytest_suite(suite, shm))
            if BEFORE:
                runs_before.append(pytest_suite(suite, trace, plugin_dir=True, lib=BEFORE))
        shutil.rmtree(shm, ignore_errors=True)
        shutil.rmtree(suite / ".flakehunter", ignore_errors=True)
        pytest_suite(suite, None)
        plain_dir = latest_run(suite)
        pytest_suite(suite, trace, plugin_dir=True)
        traced_dir = latest_run(suite)
        nfiles = len(list(traced_dir.glob("trace/*.fht")))
        print(f"pytest --fh, syscall-heavy suite (40 tests x {RUNS} runs: {nfiles} trace file(s) per "
              f"traced run); {SUITE_REPS} runs of each, interleaved; goal <= 1.05x")
        print("  the run (tests, plugin, preload; the report stage timed apart, below):")
        for i, what in ((0, "wall"), (1, "CPU (pytest + children)")):
            for stat in ("median", "min"):
                f = statistics.median if stat == "median" else min
                a, b, c = (f(x[i] for x in runs) for runs in (runs_plain, runs_pre, runs_shm))
                print(f"    {what + ', ' + stat:<30} plain {a:6.2f} s   preload {b:6.2f} s = "
                      f"{b / a:.3f}x   traces on /dev/shm {c:6.2f} s = {c / a:.3f}x" +
                      (f"   before {f(x[i] for x in runs_before):6.2f} s = "
                       f"{f(x[i] for x in runs_before) / a:.3f}x" if BEFORE else ""))
        a, b = statistics.median(x[2] for x in runs_plain), statistics.median(x[2] for x in runs_pre)
        print(f"  peak RSS of pytest (ru_maxrss), median: plain {a:.1f} MB, preload {b:.1f} MB = "
              f"{b / a:.2f}x (goal <= 1.2x)" +
              (f", before {statistics.median(x[2] for x in runs_before):.1f} MB = "
               f"{statistics.median(x[2] for x in runs_before) / a:.2f}x" if BEFORE else ""))
        rp, rt = report_stage(plain_dir), report_stage(traced_dir)
        a = statistics.median(x[1] for x in runs_plain)
        b = statistics.median(x[1] for x in runs_pre)
        print(f"  the report stage (fh-analyze report, CPU): untraced run {rp:.2f} s, traced run "
              f"{rt:.2f} s (joining the traces, symbolizing stacks)")
        print(f"  whole run, CPU medians plus report: plain {a + rp:.2f} s, preload {b + rt:.2f} s"
              f" = {(b + rt) / (a + rp):.3f}x")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
