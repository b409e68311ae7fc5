# SPDX-License-Identifier: MIT
"""The preload's CPU profiler and resource figures (preload/profile.c, resources.c), through the
real preload and `fh-analyze dump`: samples name the Python function and line where CPU went
(threads started later too) and add up to the CPU used; nothing without FH_PROFILE or under
FH_TRACE=0; the program cannot tell (no wait cut by EINTR, its view of the signal stays
SIG_DFL, taking the signal over works and gets no stray call, sigwait never returns it, an exec
inherits nothing pending, its own ITIMER_PROF/SIGPROF profiler keeps counting); attempt markers
carry thread, process, children (and machine) figures; a thread's and a process's exit
figures."""
import os
import re
import subprocess

import pytest

import fh_preload as fp

PROG = fp.PROGS / "prof_prog"

HOT = """
import sys, threading, time

def hot(n):
    s = 0
    for i in range(n):
        s += i * i          # HOT LINE
    return s

def warm(n):
    return hot(n)

def bg():
    hot(1_500_000)

t0 = time.thread_time()
warm(4_000_000)
th = threading.Thread(target=bg, name="bg")
th.start()
th.join()
print("cpu", time.thread_time() - t0)
"""


def hot_line():
    return HOT.splitlines().index("        s += i * i          # HOT LINE") + 1


def run_py(tmp_path, code, **extra):
    trace = tmp_path / "trace"
    script = tmp_path / "hot.py"
    script.write_text(code)
    p = subprocess.run([fp.PYTHON, str(script)], env=fp.env(trace, **extra), capture_output=True,
                       text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    return trace, script, p


def samples(files):
    return [e for e in fp.all_events(files, "sample") if e["cpu"]]


def test_samples_name_the_python_line_and_add_up(tmp_path):
    trace, script, p = run_py(tmp_path, HOT, FH_PROFILE="1")
    cpu = float(p.stdout.split()[1])
    files = fp.dump_dir(trace)
    on = [e for e in fp.all_events(files, "sample") if e["what"].startswith("profiler on")]
    assert len(on) == 1 and "every 0.010000s of CPU" in on[0]["what"]
    main = [f for f in files if f["tid"] == f["pid"]][0]
    ss = [e for e in main["events"] if e["kind"] == "sample" and e["cpu"]]
    assert len(ss) >= 5, ss
    where = f"{script}:{hot_line()} in hot"
    ours = [e for e in ss if e.get("stack") and any(str(script) in f for f in e["stack"])]
    in_hot = [e for e in ours if re.fullmatch(rf"python {re.escape(str(script))}:\d+ in hot",
                                               e["stack"][0])]
    # nearly all of the main thread's CPU after start-up is in hot(), called from warm(), on
    # the line that computes or the loop's own line
    assert len(in_hot) >= 0.8 * len(ours)
    lines = {e["stack"][0] for e in in_hot}
    assert f"python {where}" in lines
    assert lines <= {f"python {where}", f"python {script}:{hot_line() - 1} in hot"}
    assert all(len(e["stack"]) > 1 and e["stack"][1].startswith(f"python {script}:") and
               e["stack"][1].endswith(" in warm") for e in in_hot)
    # the thread started later was given a timer too
    bg = [f for f in files if f["tid"] != f["pid"] and
          any(e["kind"] == "sample" and e["cpu"] for e in f["events"])]
    assert bg and any(e.get("stack") and e["stack"][0] == f"python {where}"
                      for e in bg[0]["events"] if e["kind"] == "sample")
    # each sample stands for the CPU since the last: they add up to what the threads used
    total = sum(e["weight"] for e in ss)
    assert 0.6 * cpu <= total + sum(e["weight"] for e in samples(bg)) <= 1.6 * cpu + 0.05


def test_off_unless_asked_and_under_fh_trace_0(tmp_path):
    trace, _, _ = run_py(tmp_path, HOT)
    files = fp.dump_dir(trace)
    assert files and not list(fp.all_events(files, "sample"))
    # FH_TRACE=0: no trace at all, and the API says the profiler cannot start
    code = ("import ctypes; lib = ctypes.CDLL(None); "
            "print(lib.fh_profile(1, 10000), lib.fh_active())")
    for extra in ({"FH_TRACE": "0", "FH_PROFILE": "1"}, {}):
        p = subprocess.run([fp.PYTHON, "-c", code], env=fp.env(tmp_path / "t0", **extra),
                           capture_output=True, text=True, timeout=60)
        assert p.returncode == 0, p.stderr
        r, active = map(int, p.stdout.split())
        if extra:
            assert r < 0 and active == 0
            assert not fp.trace_files(tmp_path / "t0")
        else:
            assert r >= 1 and active == 1   # armed this thread


def test_no_wait_is_cut_by_the_profiler(tmp_path):
    """Two threads alternating CPU (user and kernel) with short waits of every kind, sampled
    every 2 ms for 3 s: not one EINTR."""
    trace = tmp_path / "trace"
    p = fp.run([PROG, "eintr", "3"], trace, env_extra={"FH_PROFILE": "2"})
    out = dict(line.split() for line in p.stdout.splitlines())
    assert int(out["rounds"]) > 100
    assert int(out["eintr"]) == 0
    # the profiler fired throughout (how often depends on the CPU the threads got: the
    # machine may be shared)
    assert len(samples(fp.dump_dir(trace))) > 50


def test_program_takes_the_signal_over(tmp_path):
    trace = tmp_path / "trace"
    p = fp.run([PROG, "takeover"], trace, env_extra={"FH_PROFILE": "2"})
    lines = p.stdout.splitlines()
    n = int(lines[0].split()[3])
    assert lines[0] == f"dfl {n} of {n}"       # every RT signal looks untouched
    assert lines[1] == "stray 0"                # no profiler signal reached its handlers
    assert lines[2] == f"raised {n} of {n}"     # and each handler works for its own signal
    ev = [e["what"] for e in fp.all_events(fp.dump_dir(trace), "sample")]
    assert any(w.startswith("profiler off: the program took") for w in ev)
    i = next(k for k, w in enumerate(ev) if w.startswith("profiler off"))
    assert any(w.startswith("cpu sample") for w in ev[:i])


def test_sigwait_never_returns_the_profilers_signal(tmp_path):
    trace = tmp_path / "trace"
    p = fp.run([PROG, "sigwait"], trace, env_extra={"FH_PROFILE": "2"})
    assert p.stdout.strip() == "wait -1 EAGAIN"
    assert samples(fp.dump_dir(trace))


def test_exec_inherits_no_pending_signal(tmp_path):
    trace = tmp_path / "trace"
    p = fp.run([PROG, "exec"], trace, env_extra={"FH_PROFILE": "2"})
    # (sigpending sees it: the known gap the module's comment names; an exec must end it)
    assert p.stdout.splitlines()[0] == "pending before exec: 1"
    status = dict(line.split(":", 1) for line in p.stdout.splitlines()[1:] if ":" in line)
    assert int(status["SigPnd"].strip(), 16) == 0 and int(status["ShdPnd"].strip(), 16) == 0
    assert int(status["SigBlk"].strip(), 16) != 0   # the signals were blocked: it was pending


def test_programs_own_sigprof_profiler_keeps_counting(tmp_path):
    counts = []
    for extra in ({}, {"FH_PROFILE": "2"}):
        p = fp.run([PROG, "itimer", "5"], tmp_path / f"t{len(counts)}", env_extra=extra)
        counts.append(int(p.stdout.split()[1]))
    plain, profiled = counts
    assert plain >= 40 and 0.7 * plain <= profiled <= 1.3 * plain, counts


MARKED = """
import ctypes, mmap, os, subprocess, sys, threading
lib = ctypes.CDLL(None)
lib.fh_attempt_begin(b"t::faults", 1)
m = mmap.mmap(-1, 64 << 20)
for off in range(0, 64 << 20, 4096):
    m[off] = 1
lib.fh_attempt_end(b"t::faults", 1, 0)
lib.fh_attempt_begin(b"t::child", 1)
th = threading.Thread(target=lambda: sum(i for i in range(300000)), name="worker")
th.start(); th.join()
subprocess.run([sys.executable, "-c", "sum(i for i in range(500000))"], check=True)
lib.fh_attempt_end(b"t::child", 1, 0)
"""


def test_resource_figures_at_markers_and_exits(tmp_path):
    trace, _, _ = run_py(tmp_path, MARKED)
    files = fp.dump_dir(trace)
    main = [f for f in files if f["tid"] == f["pid"] and f["ppid"] != 0 and
            any(e["kind"] == "mark" for e in f["events"])][0]
    evs = main["events"]
    marks = [i for i, e in enumerate(evs) if e["kind"] == "mark" and
             e["mark"] in ("attempt_begin", "attempt_end")]
    assert len(marks) == 4

    def figures(i):
        out = {}
        for e in evs[i + 1:]:
            if e["kind"] != "res":
                break
            out[e["res"]] = e["v"]
        return out
    b, e = figures(marks[0]), figures(marks[1])
    assert set(b) == {"thread", "thread_ctx", "process", "children"}   # machine: detail only
    assert e["thread_ctx"]["minflt"] - b["thread_ctx"]["minflt"] >= 14000   # 16384 pages
    assert e["thread"]["tid"] == main["tid"]
    assert e["thread"]["on_cpu"] >= e["thread"]["user"] > 0
    assert e["thread"]["run_delay"] is not None
    b2, e2 = figures(marks[2]), figures(marks[3])
    # the child was waited for: its CPU is in the children's figures
    assert e2["children"]["user"] + e2["children"]["sys"] > \
        b2["children"]["user"] + b2["children"]["sys"]
    # the thread left its life's figures when it ended
    worker = [f for f in files if f["pid"] == main["pid"] and f["tid"] != main["tid"]]
    ex = [ev for f in worker for ev in f["events"] if ev["kind"] == "res" and ev["exit"]]
    assert {ev["res"] for ev in ex} == {"thread", "thread_ctx"}
    assert [ev for ev in ex if ev["res"] == "thread"][0]["v"]["user"] > 0
    # the child process left its own when it exited
    child = [f for f in files if f["pid"] != main["pid"]]
    cx = {ev["res"]: ev["v"] for f in child for ev in f["events"] if ev["kind"] == "res" and
          ev["exit"]}
    assert cx["process"]["user"] > 0 and cx["process_sched"]["threads"] >= 1


def test_machine_figures_with_perf_detail(tmp_path):
    trace, _, _ = run_py(tmp_path, MARKED, FH_PROFILE="1")
    res = [e for e in fp.all_events(fp.dump_dir(trace), "res") if e["res"] == "machine"]
    assert len(res) == 4
    for e in res:
        assert e["v"]["total"] > 0 and e["v"]["steal"] is not None and e["v"]["cpus"] >= 1
