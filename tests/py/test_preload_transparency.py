# SPDX-License-Identifier: MIT
"""Transparency: a pytest suite exercising sockets, subprocess, signals, threads, asyncio and
files gives identical per-test outcomes with and without the preload (and with the preload
but FH_TRACE=0), and the traced run leaves trace files for the pytest process and its children."""
import subprocess

import fh_preload as fp

SUITE = r'''
import asyncio, errno, os, signal, socket, subprocess, sys, threading, time, queue, fcntl
import pytest

def test_tcp_echo():
    srv = socket.socket(); srv.bind(("127.0.0.1", 0)); srv.listen()
    port = srv.getsockname()[1]
    def serve():
        c, _ = srv.accept()
        c.sendall(c.recv(100).upper()); c.close()
    t = threading.Thread(target=serve); t.start()
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(b"hello"); assert s.recv(100) == b"HELLO"
    t.join(); srv.close()

def test_refused():
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", 1), timeout=2)

def test_recv_timeout():
    a, b = socket.socketpair(); a.settimeout(0.01)
    with pytest.raises(socket.timeout):
        a.recv(1)
    a.close(); b.close()

def test_udp():
    a = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); a.bind(("127.0.0.1", 0))
    b = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    b.sendto(b"x", a.getsockname()); assert a.recvfrom(10)[0] == b"x"

def test_subprocess_outputs():
    r = subprocess.run([sys.executable, "-c", "import sys; print('hi'); sys.exit(3)"],
                       capture_output=True, text=True)
    assert (r.returncode, r.stdout) == (3, "hi\n")

def test_subprocess_shell_pipe():
    assert subprocess.check_output("echo a | tr a b", shell=True) == b"b\n"

def test_subprocess_timeout_kill():
    with pytest.raises(subprocess.TimeoutExpired):
        subprocess.run(["sleep", "5"], timeout=0.1)

def test_child_killed_by_signal():
    p = subprocess.Popen(["sleep", "5"]); p.send_signal(signal.SIGTERM)
    assert p.wait() == -signal.SIGTERM

def test_fork_exit_status():
    pid = os.fork()
    if pid == 0:
        os._exit(5)
    assert os.waitpid(pid, 0)[1] >> 8 == 5

def test_signal_handler_and_getsignal():
    got = []
    old = signal.signal(signal.SIGUSR1, lambda s, f: got.append(s))
    assert signal.getsignal(signal.SIGUSR1) is not old
    os.kill(os.getpid(), signal.SIGUSR1); time.sleep(0.01)
    assert got == [signal.SIGUSR1]
    signal.signal(signal.SIGUSR1, old)

def test_alarm_interrupts_sleep():
    class Boom(Exception): pass
    def h(s, f): raise Boom()
    old = signal.signal(signal.SIGALRM, h)
    signal.setitimer(signal.ITIMER_REAL, 0.02)
    with pytest.raises(Boom):
        time.sleep(2)
    signal.signal(signal.SIGALRM, old)

def test_sigint_default_handler_is_python():
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler

def test_ignored_signal():
    old = signal.signal(signal.SIGUSR2, signal.SIG_IGN)
    os.kill(os.getpid(), signal.SIGUSR2)
    assert signal.getsignal(signal.SIGUSR2) == signal.SIG_IGN
    signal.signal(signal.SIGUSR2, old)

def test_threads_lock_queue_event():
    lock = threading.Lock(); q = queue.Queue(); ev = threading.Event()
    def work(i):
        with lock: q.put(i)
        ev.wait(2)
    ts = [threading.Thread(target=work, args=(i,)) for i in range(20)]
    [t.start() for t in ts]; ev.set(); [t.join() for t in ts]
    assert sorted(q.get() for _ in range(20)) == list(range(20))
    lock.acquire(); assert lock.acquire(timeout=0.01) is False; lock.release()
    with pytest.raises(queue.Empty):
        q.get(timeout=0.01)

def test_asyncio_server():
    async def main():
        async def handle(r, w):
            w.write((await r.readline()).upper()); await w.drain(); w.close()
        srv = await asyncio.start_server(handle, "127.0.0.1", 0)
        port = srv.sockets[0].getsockname()[1]
        r, w = await asyncio.open_connection("127.0.0.1", port)
        w.write(b"abc\n"); line = await r.readline(); w.close()
        srv.close(); await srv.wait_closed()
        await asyncio.sleep(0.01)
        return line
    assert asyncio.run(main()) == b"ABC\n"

def test_asyncio_subprocess_and_timeout():
    async def main():
        p = await asyncio.create_subprocess_exec("echo", "x", stdout=asyncio.subprocess.PIPE)
        out, _ = await p.communicate()
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(asyncio.sleep(1), 0.01)
        return out
    assert asyncio.run(main()) == b"x\n"

def test_files(tmp_path):
    p = tmp_path / "f"
    p.write_bytes(b"abc" * 1000)
    with open(p, "rb") as f:
        assert f.read() == b"abc" * 1000
    fd = os.open(p, os.O_RDWR); fcntl.flock(fd, fcntl.LOCK_EX); os.pwrite(fd, b"Z", 0)
    assert os.pread(fd, 2, 0) == b"Zb"; os.fsync(fd); os.close(fd)
    with pytest.raises(FileNotFoundError):
        open(tmp_path / "missing")
    with pytest.raises(OSError) as e:
        os.read(9999, 1)
    assert e.value.errno == errno.EBADF

def test_dup2_over_stdout(tmp_path):
    saved = os.dup(1)
    fd = os.open(tmp_path / "o", os.O_WRONLY | os.O_CREAT)
    os.dup2(fd, 1); os.write(1, b"to-file"); os.dup2(saved, 1)
    assert (tmp_path / "o").read_bytes() == b"to-file"

def test_expected_failure():
    assert socket.gethostbyname("localhost") == "nonsense"
'''


def run_suite(tmp_path, tag, trace=None, preload=True, **extra):
    d = tmp_path / tag
    d.mkdir()
    (d / "test_suite.py").write_text(SUITE)
    env = fp.env(trace, preload=preload, **extra)
    p = subprocess.run([fp.PYTHON, "-m", "pytest", "-q", "-rA", "-p", "no:cacheprovider",
                        "-p", "no:randomly", "test_suite.py"], cwd=d, env=env, capture_output=True,
                       text=True, timeout=300)
    outcomes = sorted(l.split(" - ")[0] for l in p.stdout.splitlines()
                      if l.startswith(("PASSED ", "FAILED ", "ERROR ")))
    return p.returncode, outcomes


def test_identical_outcomes_with_and_without_preload(tmp_path):
    trace = tmp_path / "trace"
    trace.mkdir()
    plain = run_suite(tmp_path, "plain", preload=False)
    traced = run_suite(tmp_path, "traced", trace=trace)
    off = run_suite(tmp_path, "off", trace=tmp_path / "unused", FH_TRACE="0")
    assert plain[1] and len(plain[1]) == SUITE.count("\ndef test_")
    assert plain == traced == off
    assert "FAILED test_suite.py::test_expected_failure" in plain[1]
    files = fp.dump_dir(trace)
    assert len({f["pid"] for f in files}) > 5     # pytest plus children, each traced
    assert not (tmp_path / "unused").exists()
