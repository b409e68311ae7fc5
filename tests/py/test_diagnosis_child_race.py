# SPDX-License-Identifier: MIT
"""A race with a child process, as psutil's test_cmdline meets it: the test starts a child and
reads its /proc/PID/cmdline, which is empty when the child has not finished its exec (the
kernel lets a vfork parent go on first) or has already ended. Under the real preload and a
real `pytest --fh`, the failing attempts read the entry empty, the passing ones did not: kind
race, the evidence names the /proc path and the child, and each failing attempt's JSON carries
the read. The third and sixth attempts let the child end (not reaped) before the read, which
makes the empty read certain; a test that never reads /proc beside it stays unexplained."""
import re

from fh_diag import run_fh

SUITE = {
    "test_child.py": """
        import itertools, os, subprocess, sys, time
        n, m = itertools.count(1), itertools.count(1)

        def start():
            return subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])

        def test_cmdline():
            late = next(n) % 3 == 0
            p = start()
            try:
                if late:
                    p.kill()
                    os.waitid(os.P_PID, p.pid, os.WEXITED | os.WNOWAIT)
                else:
                    time.sleep(0.05)
                with open("/proc/%d/cmdline" % p.pid, "rb") as f:
                    cmd = f.read()
            finally:
                p.kill()
                p.wait()
            assert cmd.split(b"\\0")[0] == sys.executable.encode()

        def test_unrelated():
            p = start()
            try:
                time.sleep(0.05)
            finally:
                p.kill()
                p.wait()
            assert next(m) % 3 != 0
    """,
}


def test_empty_proc_read_of_a_child_is_a_race(tmp_path):
    r = run_fh(tmp_path, SUITE)
    name = "::test_cmdline"
    assert r.outcomes(name) == "ppfppf", r.proc.stdout[-3000:]
    d = r.test(name)["diagnosis"]
    assert d["kind"] == "race", d
    assert re.search(r"2/2 failing attempts: read nothing from /proc/\d+/cmdline, .* after "
                     r"starting child \d+ .*; 0/4 passing attempts", d["evidence"][0]), d
    for a in r.failing(name):
        got = a["trace"]["empty_proc_read"]
        assert re.fullmatch(r"/proc/\d+/cmdline", got["path"]), got
        assert got["path"] == f"/proc/{got['pid']}/cmdline" and got["after_s"] > 0, got
    for a in r.passing(name):
        assert a["trace"]["empty_proc_read"] is None, a["trace"]["empty_proc_read"]
    # the same child, never read: nothing to say about it
    assert r.test("::test_unrelated")["diagnosis"]["kind"] == "unexplained"
