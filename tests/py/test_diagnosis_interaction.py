# SPDX-License-Identifier: MIT
"""Ownership by interaction, under the real preload: a session fixture's worker thread is not
the test's, but a test that hands it work (through a queue, which wakes it through a
condition, or through a pipe) and then waits a fixed time for the result races with it:
`race`, naming the worker's call. A child the fixture started, which the test hands the go to
and waits for, is the test's when it dies: `crash`. A worker the test never talks to stays background and never
decides the test's kind. (A first test sets the fixtures up: a thread created during an
attempt belongs to it.)"""
from fh_diag import run_fh

CONFTEST = """
    import os, queue, threading, time
    import pytest

    def _worker(get):
        def run():
            while True:
                job = get()
                if job is None:
                    return
                time.sleep(job["delay"])
                job["v"] = 1
                job["done"].set()
        t = threading.Thread(target=run, daemon=True)
        t.start()
        return t

    @pytest.fixture(scope="session")
    def queue_worker():
        q = queue.Queue()
        t = _worker(q.get)
        yield q
        q.put(None)
        t.join()

    @pytest.fixture(scope="session")
    def pipe_worker():
        r, w = os.pipe()
        jobs = []

        def get():
            if not os.read(r, 1):
                return None
            return jobs.pop(0)

        t = _worker(get)
        yield jobs, w
        os.close(w)
        t.join()
        os.close(r)

    # one child per attempt of test_child_crash, all started once by a session fixture; each
    # waits for the test's go, and every third then dies by a signal
    CHILD = ("import os, signal, sys; sys.stdin.buffer.read(1); "
             "k = int(sys.argv[1]); k % 3 or os.kill(os.getpid(), signal.SIGABRT)")

    @pytest.fixture(scope="session")
    def child_pool():
        import subprocess, sys
        kids = [subprocess.Popen([sys.executable, "-c", CHILD, str(k)], stdin=subprocess.PIPE)
                for k in range(1, 7)]
        yield kids
        for p in kids:
            if p.poll() is None:
                p.kill()
                p.wait()

    @pytest.fixture(scope="session")
    def idle_worker():
        # a worker of its own queue that nobody feeds here: it waits, and now and then works
        q = queue.Queue()
        stop = threading.Event()

        def tick():
            while not stop.wait(0.03):
                time.sleep(0.05)
        t = threading.Thread(target=tick, daemon=True)
        t.start()
        yield q
        stop.set()
        t.join()
"""

SUITE = """
    import itertools, os, threading, time
    a, b, c, d = (itertools.count(1) for _ in range(4))

    def test_a_start(queue_worker, pipe_worker, idle_worker, child_pool):
        # sets the session fixtures up: their threads run before every attempt below
        pass

    def job(n):
        return {"delay": 0.45 if n % 3 == 0 else 0.001, "done": threading.Event()}

    def test_queue_race(queue_worker):
        j = job(next(a))
        queue_worker.put(j)
        time.sleep(0.2)            # a fixed sleep as synchronization
        try:
            assert j.get("v") == 1
        finally:
            j["done"].wait(2)

    def test_pipe_race(pipe_worker):
        jobs, w = pipe_worker
        j = job(next(b))
        jobs.append(j)
        os.write(w, b"x")
        time.sleep(0.2)
        try:
            assert j.get("v") == 1
        finally:
            j["done"].wait(2)

    def test_child_crash(child_pool):
        # the fixture's child it hands the go to and waits for
        p = child_pool[next(d) - 1]
        p.stdin.write(b"x")
        p.stdin.close()
        assert p.wait() == 0

    def test_assert_beside_worker(idle_worker):
        # fails on its own; the worker beside it sleeps through the failure, untouched
        time.sleep(0.1)
        assert next(c) % 3 != 0
"""


def test_race_with_fixture_worker(tmp_path):
    r = run_fh(tmp_path, {"conftest.py": CONFTEST, "test_talk.py": SUITE}, runs=6)
    out = r.proc.stdout[-3000:]
    for name in ("::test_queue_race", "::test_pipe_race"):
        assert r.outcomes(name) == "ppfppf", (name, out)
        d = r.diag(name)
        assert d["kind"] == "race", (name, d)
        # the worker's own call, the sleep it was still in after the test's fixed sleep
        assert d["evidence"][0].startswith("2/2 failing attempts: the test thread slept a "
                                           "fixed"), (name, d)
        assert "still in clock_nanosleep" in d["evidence"][0] or \
            "still in nanosleep" in d["evidence"][0], (name, d)
    # a child of the session fixture, waited for by the test, died by a signal: the test's
    d = r.diag("::test_child_crash")
    assert r.outcomes("::test_child_crash") == "ppfppf", out
    assert d["kind"] == "crash", d
    assert "SIGABRT" in d["evidence"][0], d
    for att in r.failing("::test_child_crash"):
        kids = att["trace"]["children"]
        assert [k["signal"] for k in kids] == ["SIGABRT"], kids
    d = r.diag("::test_assert_beside_worker")
    assert d["kind"] != "race", d
    assert not any("still in" in x for x in d["evidence"]), d
