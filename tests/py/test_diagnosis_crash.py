# SPDX-License-Identifier: MIT
"""Diagnosis `crash` under the real preload: a helper process (subprocess, or os.fork) that
sometimes dies by a signal, and a pytest worker SIGKILLed mid-attempt while blocked in a call:
the report still shows that attempt and the call it was blocked in."""
import pytest

from conftest import BUILD
from fh_diag import run_fh


def test_subprocess_segfault(tmp_path):
    r = run_fh(tmp_path, {"test_conv.py": """
        import itertools, subprocess, sys
        runs = itertools.count(1)
        CODE = "import sys, ctypes\\nif sys.argv[1] == 'bad': ctypes.string_at(0)"

        def test_convert():
            arg = "bad" if next(runs) % 3 == 0 else "good"
            assert subprocess.run([sys.executable, "-c", CODE, arg]).returncode == 0
    """})
    assert r.outcomes("::test_convert") == "ppfppf"
    d = r.diag("::test_convert")
    assert d["kind"] == "crash", d
    assert "died by SIGSEGV" in d["evidence"][0] and "2/2 failing" in d["evidence"][0]
    for a in r.failing("::test_convert"):
        assert any(k["signal"] == "SIGSEGV" and "python" in (k["exe"] or "")
                   for k in a["trace"]["children"])


def test_forked_child_aborts(tmp_path):
    r = run_fh(tmp_path, {"test_fork.py": """
        import itertools, os
        runs = itertools.count(1)

        def test_fork():
            bad = next(runs) % 2 == 0
            pid = os.fork()
            if pid == 0:
                if bad:
                    os.abort()
                os._exit(0)
            _, st = os.waitpid(pid, 0)
            assert os.WIFEXITED(st)
    """})
    assert r.outcomes("::test_fork") == "pfpfpf"
    d = r.diag("::test_fork")
    assert d["kind"] == "crash", d
    assert "died by SIGABRT" in d["evidence"][0]


def test_worker_sigkilled_mid_attempt(tmp_path):
    """xdist worker killed by SIGKILL while its test blocks in recv on a silent server."""
    r = run_fh(tmp_path, {"test_kill.py": """
        import itertools, os, signal, socket, threading
        runs = itertools.count(1)

        def test_blocked():
            srv = socket.socket()
            srv.bind(("127.0.0.1", 0))
            srv.listen(1)
            c = socket.create_connection(srv.getsockname())
            if next(runs) == 3:
                threading.Timer(0.3, os.kill, (os.getpid(), signal.SIGKILL)).start()
                c.recv(10)          # the server never answers
            c.close()
            srv.close()
    """}, "-n", "1", runs=5)
    t = r.test("::test_blocked")
    killed = [a for a in t["attempt_log"] if a["attempt"] == 3]
    assert len(killed) == 1, t["attempt_log"]
    a = killed[0]
    assert a["outcome"] in ("error", "failed")   # the plugin may record the crash itself
    lb = a["trace"]["last_block"]
    assert lb["call"] in ("recv", "recvfrom", "poll") and lb["ended"] == "in_flight", lb
    assert lb["target"] and lb["target"].startswith("127.0.0.1:"), lb
    assert 0.2 < lb["waited_s"] < 30, lb          # blocked from its start until the kill
    assert any(f["call"] == lb["call"] for f in a["trace"]["in_flight"])
    d = t["diagnosis"]
    assert d["kind"] == "crash", d
    assert "died while blocked in " + lb["call"] in d["evidence"][0]


def test_untraced_child_is_named_by_its_exec(tmp_path):
    """A child that dies before making one traced call writes no trace of its own; its program
    is still named, from the exec the parent's vfork child recorded in the parent's stream."""
    prog = BUILD / "tests" / "preload" / "crash_now"
    r = run_fh(tmp_path, {"test_c.py": f"""
        import itertools, subprocess
        runs = itertools.count(1)

        def test_c():
            arg = "segv" if next(runs) % 3 == 0 else "ok"
            assert subprocess.run([{str(prog)!r}, arg]).returncode == 0
    """})
    assert r.outcomes("::test_c") == "ppfppf"
    d = r.diag("::test_c")
    assert d["kind"] == "crash", d
    for a in r.failing("::test_c"):
        kids = a["trace"]["children"]
        assert any(k["signal"] == "SIGSEGV" and k["exe"] == str(prog) for k in kids), kids
    for a in r.passing("::test_c"):
        assert all(k["exe"] == str(prog) and k["exit_code"] == 0
                   for k in a["trace"]["children"]), a["trace"]["children"]
