# SPDX-License-Identifier: MIT
"""Stacks of slow calls and signals in a real Python 3.11 process under the real preload:
the Python file:line of the blocked call, native frames through the right libc and
python3.11 functions, signal deliveries carrying the stack of the call they cut, an untouched fd
table, the module map, and the visible switch-off for an untested interpreter."""
import os
import pathlib
import re
import subprocess
import time

import pytest

from fh_stacks import PY, dump, run, with_stack, write_script


def python_frame(path, line, func):
    return f"python {path}:{line} in {func}"


def check_native(ev, libc_func, py_func):
    native = " | ".join(ev.native)
    assert re.search(rf"native libc\.so\.6 (__libc_|__)?{libc_func}\b", native), ev
    assert re.search(rf"native python3\.11 {py_func}\b", native), ev
    # innermost first: the libc entry of the wrapped call comes before python3.11's frames
    assert ev.native[0].startswith("native libc.so.6"), ev


def test_recv_stack(tmp_path, fh_paths):
    prog, marks = write_script(tmp_path, """
        import socket, threading, time
        a, b = socket.socketpair()
        def later():
            time.sleep(0.15)
            b.send(b"hi")
        def fetch_rows(sock):
            return sock.recv(10)  # @recv
        threading.Thread(target=later).start()
        print(fetch_rows(a))  # @call
    """)
    proc, trace = run([PY, prog], tmp_path, fh_paths["lib"])
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "b'hi'"
    events, text = dump(fh_paths["analyze"], trace)
    evs = with_stack(events, "recv(")
    assert len(evs) == 1, text
    ev = evs[0]
    assert ev.python[0] == python_frame(prog, marks["recv"], "fetch_rows"), ev
    assert ev.python[1] == python_frame(prog, marks["call"], "<module>"), ev
    check_native(ev, "recv", "_PyEval_EvalFrameDefault")
    maps = list(trace.glob("*.maps"))
    assert maps and "pystack on 3.11.2" in maps[0].read_text()


def test_sem_clockwait_stack(tmp_path, fh_paths):
    prog, marks = write_script(tmp_path, """
        import threading
        class Pool:
            def __init__(self):
                self.lock = threading.Lock()
            def take(self):
                return self.lock.acquire(timeout=0.12)  # @acquire
        p = Pool()
        p.lock.acquire()
        print(p.take())  # @call
    """)
    proc, trace = run([PY, prog], tmp_path, fh_paths["lib"])
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "False"
    events, text = dump(fh_paths["analyze"], trace)
    evs = with_stack(events, "sem_clockwait(")
    assert len(evs) == 1, text
    ev = evs[0]
    assert ev.python[0] == python_frame(prog, marks["acquire"], "Pool.take"), ev
    assert ev.python[1] == python_frame(prog, marks["call"], "<module>"), ev
    check_native(ev, "sem_clockwait", "PyThread_acquire_lock_timed")


def test_clock_nanosleep_cut_by_sigalrm(tmp_path, fh_paths):
    prog, marks = write_script(tmp_path, """
        import signal, time
        class Cut(Exception):
            pass
        def on_alarm(sig, frame):
            raise Cut()
        signal.signal(signal.SIGALRM, on_alarm)
        def nap():
            time.sleep(5)  # @sleep
        signal.setitimer(signal.ITIMER_REAL, 0.1)
        try:
            nap()  # @call
        except Cut:
            print("cut")
    """)
    proc, trace = run([PY, prog], tmp_path, fh_paths["lib"])
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "cut"
    events, text = dump(fh_paths["analyze"], trace)
    sleeps = with_stack(events, "clock_nanosleep(")
    assert len(sleeps) == 1, text
    ev = sleeps[0]
    assert "EINTR" in ev.line, ev
    assert ev.python[0] == python_frame(prog, marks["sleep"], "nap"), ev
    assert ev.python[1] == python_frame(prog, marks["call"], "<module>"), ev
    check_native(ev, "clock_nanosleep", "_PyEval_EvalFrameDefault")
    sigs = with_stack(events, "SIGALRM")
    assert len(sigs) == 1, text
    assert "interrupted clock_nanosleep" in sigs[0].line
    assert sigs[0].frames == ev.frames


def test_fast_calls_have_no_stack_and_threshold_env(tmp_path, fh_paths):
    prog, _ = write_script(tmp_path, """
        import time
        for _ in range(50):
            time.sleep(0.001)
        time.sleep(0.6)
    """)
    # FH_STACK_MS=500: the 1 ms sleeps stay far below it, the 0.6 s one is captured (at entry,
    # since it asks for more than the threshold).
    proc, trace = run([PY, prog], tmp_path, fh_paths["lib"], env_extra={"FH_STACK_MS": "500"})
    assert proc.returncode == 0, proc.stderr
    events, text = dump(fh_paths["analyze"], trace)
    sleeps = [e for e in events if "clock_nanosleep(" in e.line]
    assert len(sleeps) == 51, text
    for e in sleeps:  # a stack exactly when asked for >= 0.5 s or lasted >= 0.5 s (a loaded machine)
        asked = float(re.search(r"timeout=([0-9.]+)s", e.line).group(1))
        took = float(re.search(r"<([0-9.]+)>$", e.line).group(1))
        assert bool(e.frames) == (asked >= 0.5 or took >= 0.5), e
    assert sleeps[-1].frames and sleeps[-1].python, text
    # FH_STACK_MS=0 captures every blocking call; a negative value switches capture off.
    (tmp_path / "t0").mkdir()
    proc, trace0 = run([PY, prog], tmp_path / "t0", fh_paths["lib"], env_extra={"FH_STACK_MS": "0"})
    events, text = dump(fh_paths["analyze"], trace0)
    assert len(with_stack(events, "clock_nanosleep(")) == 51, text
    (tmp_path / "off").mkdir()
    proc, trace_off = run([PY, prog], tmp_path / "off", fh_paths["lib"],
                          env_extra={"FH_STACK_MS": "-1"})
    events, text = dump(fh_paths["analyze"], trace_off)
    assert not with_stack(events, "clock_nanosleep("), text
    # No stack, nothing to symbolize: the module map is written only before a first stack.
    assert not list(trace_off.glob("*.maps"))


FD_PROG = """
    import os, socket, threading, time
    def fds():
        return sorted(os.listdir("/proc/self/fd"))
    before = fds()
    a, b = socket.socketpair()
    threading.Timer(0.05, lambda: b.send(b"x")).start()
    a.recv(1)
    for _ in range(5):
        time.sleep(0.02)
    a.close(); b.close()
    time.sleep(0.05)
    after = fds()
    print(before == after, " ".join(before))
"""


def test_fd_table_unchanged(tmp_path, fh_paths):
    prog, _ = write_script(tmp_path, FD_PROG)
    traced, trace = run([PY, prog], tmp_path, fh_paths["lib"])
    assert traced.returncode == 0, traced.stderr
    plain, _ = run([PY, prog], tmp_path, fh_paths["lib"], preload=False)
    assert plain.returncode == 0, plain.stderr
    # same before and after the captures, and the same table as without the preload
    assert traced.stdout.startswith("True "), traced.stdout
    assert traced.stdout == plain.stdout
    events, text = dump(fh_paths["analyze"], trace)
    assert len(with_stack(events, "clock_nanosleep(")) == 6, text


def test_cxx_exceptions_same_with_and_without_preload(tmp_path, fh_paths):
    so = fh_paths["build"] / "tests" / "preload" / "libstack_cxx_ext.so"
    assert so.exists(), f"{so} missing: run make"
    prog, _ = write_script(tmp_path, f"""
        import ctypes, time
        time.sleep(0.02)          # a capture first: libunwind has been used
        ext = ctypes.CDLL("{so}")
        buf = ctypes.create_string_buffer(512)
        ext.fh_cxx_unwinder(buf, 512)
        print(ext.fh_cxx_run(3000), buf.value.decode())
        time.sleep(0.02)          # a capture after the dlopen: the module map gains the object
    """)
    traced, trace = run([PY, prog], tmp_path, fh_paths["lib"])
    plain, _ = run([PY, prog], tmp_path, fh_paths["lib"], preload=False)
    assert traced.returncode == 0 and plain.returncode == 0, traced.stderr + plain.stderr
    assert traced.stdout == plain.stdout
    total, unwinder = traced.stdout.split()
    assert int(total) > 0
    assert "libgcc_s" in unwinder, unwinder
    events, text = dump(fh_paths["analyze"], trace)
    assert len(with_stack(events, "clock_nanosleep(")) == 2, text
    maps = next(trace.glob("*.maps")).read_text()
    assert str(so) in maps and maps.index(str(so)) > maps.index("libc.so.6"), maps


def test_libunwind_not_exported(fh_paths):
    out = subprocess.run(["nm", "-D", "--defined-only", str(fh_paths["lib"])],
                         capture_output=True, text=True, check=True).stdout
    names = [line.split()[-1] for line in out.splitlines() if line.strip()]
    leaked = [n for n in names if n.startswith(("_Unwind_", "unw_", "_U", "_UL", "__libunwind"))]
    assert not leaked, leaked
    assert "fh_version" in names


def test_unsupported_python_switches_off_visibly(tmp_path, fh_paths):
    other = pathlib.Path(os.path.expanduser("~/.pyenv/versions/3.12.1/bin/python3.12"))
    if not other.exists():
        pytest.skip("no second CPython (3.12) on this machine")
    prog, _ = write_script(tmp_path, """
        import time
        time.sleep(0.03)
    """)
    proc, trace = run([other, prog], tmp_path, fh_paths["lib"])
    assert proc.returncode == 0, proc.stderr
    maps = next(trace.glob("*.maps")).read_text()
    assert "pystack off: unsupported Python 3.12.1" in maps
    events, text = dump(fh_paths["analyze"], trace)
    evs = with_stack(events, "clock_nanosleep(")
    assert evs and not evs[0].python and evs[0].native, text


def test_second_tested_python_311(tmp_path, fh_paths):
    other = pathlib.Path(os.path.expanduser("~/.pyenv/versions/3.11.7/bin/python3.11"))
    if not other.exists():
        pytest.skip("no pyenv CPython 3.11.7 on this machine")
    prog, marks = write_script(tmp_path, """
        import time
        def nap():
            time.sleep(0.03)  # @sleep
        nap()  # @call
    """)
    proc, trace = run([other, prog], tmp_path, fh_paths["lib"])
    assert proc.returncode == 0, proc.stderr
    assert "pystack on 3.11.7" in next(trace.glob("*.maps")).read_text()
    events, text = dump(fh_paths["analyze"], trace)
    evs = with_stack(events, "clock_nanosleep(")
    assert len(evs) == 1, text
    assert evs[0].python[:2] == [python_frame(prog, marks["sleep"], "nap"),
                                 python_frame(prog, marks["call"], "<module>")], evs[0]


def test_killed_in_flight_sleep_keeps_its_stack(tmp_path, fh_paths):
    """Waiting calls are captured at entry: a process SIGKILLed inside time.sleep() still shows
    the call in flight with its Python line."""
    prog, marks = write_script(tmp_path, """
        import sys, time
        def stuck():
            print("ready", flush=True)
            time.sleep(60)  # @sleep
        stuck()  # @call
    """)
    trace = tmp_path / "trace"
    trace.mkdir()
    env = dict(os.environ, LD_PRELOAD=str(fh_paths["lib"]), FH_TRACE_DIR=str(trace),
               PYTHONDONTWRITEBYTECODE="1")
    proc = subprocess.Popen([PY, str(prog)], env=env, stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "ready"
        deadline = time.monotonic() + 20
        while True:  # until the sleep's entry (and its stack) is in the trace
            events, text = dump(fh_paths["analyze"], trace)
            evs = with_stack(events, "clock_nanosleep(")
            if evs or time.monotonic() > deadline:
                break
            time.sleep(0.05)
    finally:
        proc.kill()
        proc.wait()
    events, text = dump(fh_paths["analyze"], trace)
    evs = with_stack(events, "clock_nanosleep(")
    assert len(evs) == 1, text
    assert "<unfinished" in evs[0].line, evs[0]
    assert evs[0].python[:2] == [python_frame(prog, marks["sleep"], "stuck"),
                                 python_frame(prog, marks["call"], "<module>")], evs[0]
    check_native(evs[0], "clock_nanosleep", "_PyEval_EvalFrameDefault")


def test_short_call_cut_by_signal_shares_stack(tmp_path, fh_paths):
    """A call captured at exit because a signal cut it (EINTR), however short: the signal
    record points at the same stack."""
    prog, marks = write_script(tmp_path, """
        import signal, socket
        class Cut(Exception):
            pass
        def on_alarm(sig, frame):
            raise Cut()
        signal.signal(signal.SIGALRM, on_alarm)
        a, b = socket.socketpair()
        signal.setitimer(signal.ITIMER_REAL, 0.002)
        try:
            a.recv(1)  # @recv
        except Cut:
            print("cut")
    """)
    proc, trace = run([PY, prog], tmp_path, fh_paths["lib"], env_extra={"FH_STACK_MS": "100000"})
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "cut"
    events, text = dump(fh_paths["analyze"], trace)
    recvs = with_stack(events, "recv(")
    assert len(recvs) == 1 and "EINTR" in recvs[0].line, text
    assert recvs[0].python[0] == python_frame(prog, marks["recv"], "<module>"), recvs[0]
    check_native(recvs[0], "recv", "_PyEval_EvalFrameDefault")
    sigs = with_stack(events, "SIGALRM")
    assert len(sigs) == 1 and sigs[0].frames == recvs[0].frames, text


@pytest.mark.parametrize("extra", [{"FH_TRACE": "0"}, {"FH_TRACE_DIR": ""}])
def test_untraced_process_loads_no_unwinder(tmp_path, fh_paths, extra):
    """Pass-through (FH_TRACE=0, or no trace dir) never loads libunwind nor captures."""
    prog, _ = write_script(tmp_path, """
        import time
        time.sleep(0.02)
        print("libunwind" in open("/proc/self/maps").read())
    """)
    proc, trace = run([PY, prog], tmp_path, fh_paths["lib"], env_extra=extra)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "False"
    assert not list(trace.glob("*.maps"))


def test_unwinder_loaded_at_first_capture(tmp_path, fh_paths):
    """A traced process loads libunwind at its first native stack, not at start (a short child
    that never blocks for long never pays for it); the first stack is still complete."""
    prog, marks = write_script(tmp_path, """
        import time
        before = "libunwind" in open("/proc/self/maps").read()
        time.sleep(0.001)
        fast = "libunwind" in open("/proc/self/maps").read()
        time.sleep(0.05)  # @sleep
        after = "libunwind" in open("/proc/self/maps").read()
        print(before, fast, after)
    """)
    proc, trace = run([PY, prog], tmp_path, fh_paths["lib"])
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["False", "False", "True"]
    events, text = dump(fh_paths["analyze"], trace)
    sleeps = with_stack(events, "clock_nanosleep(")
    assert len(sleeps) == 1, text
    assert sleeps[0].python[0] == python_frame(prog, marks["sleep"], "<module>"), sleeps[0]
    check_native(sleeps[0], "clock_nanosleep", "_PyEval_EvalFrameDefault")
