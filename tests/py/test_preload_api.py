# SPDX-License-Identifier: MIT
"""The fh_* API as the plugin uses it (ctypes.CDLL(None), the preloaded copy), markers in the
trace with CPU time and fd/thread counts, Python's own operations (sleep, connect,
queue waits, subprocess) recorded as the libc calls they make, calls made before the library's
constructor, and untraced static children."""
import os
import re
import shutil
import subprocess

import pytest

import fh_preload as fp

API = """
import ctypes, os, sys, threading, time
lib = ctypes.CDLL(None)
print("version", lib.fh_version(), "active", lib.fh_active())
print("start", lib.fh_start(sys.argv[1].encode()), "active", lib.fh_active())
print("again", lib.fh_start(sys.argv[1].encode()))
lib.fh_attempt_begin(b"tests/test_x.py::test_y[a-1]", 3)
lib.fh_phase_begin(1)
fds = [os.open("/dev/null", os.O_RDONLY) for _ in range(5)]
t = threading.Thread(target=time.sleep, args=(0.2,)); t.start()
x = sum(i * i for i in range(300000))
lib.fh_phase_end(1, 1)
lib.fh_attempt_end(b"tests/test_x.py::test_y[a-1]", 3, 1)
t.join()
"""


def test_api_markers_through_cdll_none(tmp_path):
    trace = tmp_path / "trace"
    trace.mkdir()
    p = subprocess.run([fp.PYTHON, "-c", API, str(trace)], env=fp.env(None), capture_output=True,
                       text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    assert p.stdout.splitlines() == ["version 1 active 0", "start 0 active 1", "again 0"]
    files = fp.dump_dir(trace)
    marks = list(fp.all_events(files, "mark"))
    assert [m["mark"] for m in marks] == ["attempt_begin", "phase_begin", "phase_end", "attempt_end"]
    assert '"tests/test_x.py::test_y[a-1]" attempt=3' in marks[0]["rest"]
    assert "result=1" in marks[3]["rest"]
    def field(m, k):
        return float(m["rest"].split(f" {k}=")[1].split()[0].rstrip("s"))
    assert field(marks[3], "cpu") > field(marks[0], "cpu")
    assert field(marks[0], "fds") >= 3 and field(marks[0], "threads") == 1
    # counts at the attempt's start and at its end (what it left open: the footprint)
    assert field(marks[3], "fds") >= 3 and field(marks[3], "threads") >= 1
    assert field(marks[1], "fds") == -1   # never at phase marks
    lib_code = API.replace("lib.fh_attempt_end(", "lib.fh_attempt_begin(b'x', 4)\nlib.fh_attempt_end(")
    trace2 = tmp_path / "trace2"
    trace2.mkdir()
    p = subprocess.run([fp.PYTHON, "-c", lib_code, str(trace2)], env=fp.env(None),
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    marks2 = [m for m in fp.all_events(fp.dump_dir(trace2), "mark") if m["mark"] == "attempt_begin"]
    assert field(marks2[1], "fds") >= field(marks2[0], "fds") + 5
    assert field(marks2[1], "threads") == field(marks2[0], "threads") + 1


def test_api_absent_without_preload():
    code = "import ctypes\ntry:\n    ctypes.CDLL(None).fh_version\n    print('found')\nexcept AttributeError:\n    print('absent')\n"
    p = subprocess.run([fp.PYTHON, "-c", code], env=fp.env(None, preload=False),
                       capture_output=True, text=True, timeout=60)
    assert p.stdout.strip() == "absent"


PYOPS = """
import socket, subprocess, threading, time, queue, signal, os
time.sleep(0.003)
try:
    socket.create_connection(("127.0.0.1", 1), timeout=1)
except ConnectionRefusedError:
    pass
l = threading.Lock(); l.acquire()
print(l.acquire(timeout=0.003))
q = queue.Queue()
try:
    q.get(timeout=0.003)
except queue.Empty:
    pass
subprocess.run(["/bin/true"])
socket.getaddrinfo("127.0.0.1", 80)
signal.signal(signal.SIGALRM, lambda *a: None)
signal.setitimer(signal.ITIMER_REAL, 0.01)
time.sleep(0.05)
"""


def test_python_operations_use_the_named_calls(tmp_path):
    trace = tmp_path / "trace"
    trace.mkdir()
    p = fp.run([fp.PYTHON, "-c", PYOPS], trace)
    assert p.stdout.strip() == "False"
    files = fp.dump_dir(trace)
    calls = list(fp.all_events(files, "call"))
    names = {c["name"] for c in calls}
    assert {"clock_nanosleep", "connect", "poll", "getsockopt", "sem_clockwait", "waitpid",
            "getaddrinfo", "setitimer"} <= names
    assert any(c["name"] == "getsockopt" and c["err"] == "ECONNREFUSED" and "127.0.0.1:1" in c["args"]
               for c in calls)
    assert any(c["name"] == "sem_clockwait" and c["err"] == "ETIMEDOUT" for c in calls)
    # the vfork child's exec is in the parent's stream, with the child's pid; the child itself
    # made no traced call, so it has no file of its own
    execs = [c for c in calls if c["name"].startswith("exec")]
    waited = {int(w["args"].split("=")[1]) for w in calls if w["name"] == "waitpid" and w["done"]}
    assert [c["args"] for c in execs] == ['"/bin/true"'], execs
    child = int(re.search(r"\{child (\d+)\}", execs[0]["line"]).group(1))
    assert child != execs[0]["pid"] and child in waited
    assert all(f["pid"] != child for f in files)
    sigs = list(fp.all_events(files, "signal"))
    assert any(s["sig"] == "SIGALRM" and s["intr"] == "clock_nanosleep" for s in sigs)


CTOR_LIB = r"""
#define _GNU_SOURCE
#include <dlfcn.h>
#include <signal.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>
static void h(int s) { (void)s; }
__attribute__((constructor)) static void early(void)
{
	int (*active)(void) = (int (*)(void))dlsym(RTLD_DEFAULT, "fh_active");
	if (active && !active())
		fprintf(stderr, "early: libfhtrace constructor not run yet\n");
	struct timespec ts = { 0, 1000 };
	nanosleep(&ts, NULL);
	signal(SIGUSR1, h);
	raise(SIGUSR1);
	write(-1, "", 0);
}
"""


@pytest.mark.skipif(shutil.which("gcc") is None, reason="gcc missing")
def test_calls_before_constructor_and_static_children(tmp_path):
    src = tmp_path / "ctor.c"
    src.write_text(CTOR_LIB)
    so = tmp_path / "libctor.so"
    subprocess.run(["gcc", "-shared", "-fPIC", "-o", str(so), str(src), "-ldl"], check=True)
    stat_src = tmp_path / "static.c"
    stat_src.write_text('#include <stdio.h>\nint main(void){puts("static ok");return 0;}\n')
    static = tmp_path / "static"
    r = subprocess.run(["gcc", "-static", "-o", str(static), str(stat_src)])
    trace = tmp_path / "trace"
    trace.mkdir()
    e = fp.env(trace)
    # Listed after libfhtrace.so, libctor.so is initialised first: its constructor's calls
    # reach the wrappers before the library's own constructor has run.
    e["LD_PRELOAD"] = f"{fp.FH_LIB} {so}"
    p = subprocess.run([str(fp.PROGS / "stress"), "many", "10"], env=e, capture_output=True,
                       text=True, timeout=60)
    assert p.returncode == 0 and "many 10 ok" in p.stdout
    assert "early: libfhtrace constructor not run yet" in p.stderr
    files = fp.dump_dir(trace)
    assert sum(1 for ev in fp.all_events(files, "call") if ev["name"] == "write") == 10
    if r.returncode == 0:
        before = set(fp.trace_files(trace))
        p = subprocess.run([str(static)], env=fp.env(trace), capture_output=True, text=True,
                           timeout=60)
        assert p.returncode == 0 and p.stdout == "static ok\n"
        assert set(fp.trace_files(trace)) == before


CLOCK = """
import ctypes, sys, time
lib = ctypes.CDLL(None)
time.sleep(0.03)                     # past the TSC calibration of the first 10 ms
for i in range(3):
    lib.fh_phase_begin(i)            # markers read CLOCK_MONOTONIC directly
    time.sleep(0.05)                 # the wrapper's time stamps come from the TSC
    lib.fh_phase_end(i, 0)
print(time.monotonic_ns())
"""


def test_wrapper_time_stamps_agree_with_clock_monotonic(tmp_path):
    trace = tmp_path / "trace"
    trace.mkdir()
    fp.run([fp.PYTHON, "-c", CLOCK], trace)
    files = [f for f in fp.dump_dir(trace) if any(e["kind"] == "mark" for e in f["events"])]
    assert len(files) == 1
    ev = files[0]["events"]
    for i, e in enumerate(ev):
        if e["kind"] == "mark" and e["mark"] == "phase_begin":
            sleep = ev[i + 1]
            end = next(x for x in ev[i + 2:] if x["kind"] == "mark")
            assert sleep["name"] == "clock_nanosleep"
            assert e["t"] <= sleep["t"]
            assert sleep["t"] + sleep["dur"] <= end["t"] + 2e-6
            assert 0.05 <= sleep["dur"] + 2e-6
