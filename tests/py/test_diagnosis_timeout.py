# SPDX-License-Identifier: MIT
"""Diagnosis `timeout` under the real preload: a server that sometimes answers late (with and
without xdist, with --fh-isolate), a lock held too long, a sleep cut by SIGALRM, a child
process killed after subprocess' timeout."""
import pytest

from fh_diag import SERVER, run_fh

NET = {
    "fhserver.py": SERVER,
    "test_net.py": """
        import pytest
        from fhserver import Server, ask

        @pytest.fixture(scope="module")
        def srv():
            return Server(every=3, delay=0.8)

        def test_fetch(srv):
            assert ask(srv.port, timeout=0.3) == b"ok\\n"
    """,
}


@pytest.mark.parametrize("args", [(), ("-n", "2"), ("--fh-isolate",)],
                         ids=["plain", "xdist", "isolate"])
def test_net_timeout(tmp_path, args):
    r = run_fh(tmp_path, NET, *args)
    assert r.outcomes("::test_fetch") == "ppfppf"
    d = r.diag("::test_fetch")
    assert (d["kind"], d["blocked_on"]) == ("timeout", "net"), d
    assert "2/2 failing attempts: poll on 127.0.0.1:" in d["evidence"][0]
    assert "timed out; 0/4 passing attempts waited over" in d["evidence"][0]
    for a in r.failing("::test_fetch"):
        lb = a["trace"]["last_block"]
        assert (lb["call"], lb["ended"]) == ("poll", "timeout")
        assert lb["target"].startswith("127.0.0.1:")
        assert 0.29 < lb["waited_s"] < 0.6
    for a in r.passing("::test_fetch"):
        assert a["trace"]["last_block"]["ended"] == "returned"


def test_lock_held_too_long(tmp_path):
    r = run_fh(tmp_path, {"test_lock.py": """
        import itertools, threading, time
        lock = threading.Lock()
        runs = itertools.count(1)

        def hold(s):
            with lock:
                time.sleep(s)

        def test_lock():
            s = 0.8 if next(runs) % 3 == 0 else 0.001
            t = threading.Thread(target=hold, args=(s,))
            t.start()
            time.sleep(0.02)
            try:
                assert lock.acquire(timeout=0.3), "lock busy"
                lock.release()
            finally:
                t.join()
    """})
    d = r.diag("::test_lock")
    assert (d["kind"], d["blocked_on"]) == ("timeout", "lock"), d
    for a in r.failing("::test_lock"):
        assert a["trace"]["last_block"]["ended"] == "timeout"
        assert a["trace"]["last_block"]["call"] in ("sem_clockwait", "sem_timedwait",
                                                   "pthread_cond_clockwait")


def test_sleep_cut_by_alarm(tmp_path):
    r = run_fh(tmp_path, {"test_alarm.py": """
        import itertools, signal, time
        runs = itertools.count(1)

        def on_alarm(sig, frame):
            raise TimeoutError("took too long")

        def test_alarm():
            slow = next(runs) % 2 == 0
            signal.signal(signal.SIGALRM, on_alarm)
            signal.setitimer(signal.ITIMER_REAL, 0.2)
            try:
                time.sleep(0.6 if slow else 0.001)
            finally:
                signal.setitimer(signal.ITIMER_REAL, 0)
    """})
    assert r.outcomes("::test_alarm") == "pfpfpf"
    d = r.diag("::test_alarm")
    assert (d["kind"], d["blocked_on"]) == ("timeout", "sleep"), d
    for a in r.failing("::test_alarm"):
        tr = a["trace"]
        assert tr["last_block"]["ended"] == "signal"
        assert any(s["signal"] == "SIGALRM" and s["interrupted"] == "clock_nanosleep"
                   for s in tr["signals"]), tr["signals"]


def test_child_killed_after_timeout(tmp_path):
    r = run_fh(tmp_path, {"test_child.py": """
        import itertools, subprocess
        runs = itertools.count(1)

        def test_child():
            slow = next(runs) % 3 == 0
            subprocess.run(["sleep", "3" if slow else "0"], timeout=1.0)
    """})
    d = r.diag("::test_child")
    assert (d["kind"], d["blocked_on"]) == ("timeout", "proc"), d
    for a in r.failing("::test_child"):
        kids = a["trace"]["children"]
        assert any(k["signal"] == "SIGKILL" for k in kids), kids
    for a in r.passing("::test_child"):
        assert all(k["exit_code"] == 0 for k in a["trace"]["children"])
