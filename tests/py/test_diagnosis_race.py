# SPDX-License-Identifier: MIT
"""Diagnosis `race` under the real preload: a fixed sleep used to wait for a worker thread or
a child process that is sometimes slower."""
import pytest

from fh_diag import run_fh

THREAD = """
    import itertools, threading, time
    runs = itertools.count(1)

    def test_sync():
        slow = next(runs) % 3 == 0
        box = {}
        def work():
            time.sleep(0.5 if slow else 0.001)
            box["v"] = 1
        t = threading.Thread(target=work)
        t.start()
        time.sleep(0.2)
        try:
            assert box.get("v") == 1
        finally:
            t.join()
"""

PROCESS = """
    import itertools, os, subprocess, sys, time
    runs = itertools.count(1)

    def test_sync(tmp_path):
        slow = next(runs) % 3 == 0
        flag = tmp_path / "ready"
        code = f"import time; time.sleep({1.8 if slow else 0}); open({str(flag)!r}, 'w')"
        p = subprocess.Popen([sys.executable, "-c", code])
        time.sleep(0.9)
        try:
            assert flag.exists()
        finally:
            p.wait()
"""


@pytest.mark.parametrize("src,who", [(THREAD, "thread"), (PROCESS, "process")],
                         ids=["thread", "process"])
def test_sleep_as_synchronization(tmp_path, src, who):
    r = run_fh(tmp_path, {"test_sync.py": src})
    assert r.outcomes("::test_sync") == "ppfppf"
    d = r.diag("::test_sync")
    assert d["kind"] == "race", d
    assert "2/2 failing attempts: the test thread slept a fixed" in d["evidence"][0]
    assert f"went on while {who}" in d["evidence"][0]
    assert "clock_nanosleep" in d["evidence"][0]
