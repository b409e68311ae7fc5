# SPDX-License-Identifier: MIT
"""Evidence that stays right on a suite full of threads that are not the test's, under the
real preload: a session fixture's server thread polling `accept` for the whole session, a
module fixture's thread pool busy between tests, an asyncio loop in a thread. Tests that fail
for other reasons are each diagnosed by their own cause, and the background shows apart
(trace.background, naming the fixture that started each) instead of in their in-flight calls
and time; a test that really races
with its own thread is still `race`, and one whose own wait on the fixture's server ran out
is `timeout` on that server's address."""
from fh_diag import run_fh

CONFTEST = """
    import asyncio, concurrent.futures, socket, threading, time
    import pytest

    @pytest.fixture(scope="session")
    def slow_server():
        srv = socket.socket()
        srv.bind(("127.0.0.1", 0))
        srv.listen(8)
        srv.settimeout(0.05)     # Python polls before accept: a poll that never ends
        state = {"n": 0, "stop": False}

        def serve():
            while not state["stop"]:
                try:
                    conn, _ = srv.accept()
                except socket.timeout:
                    continue
                with conn:
                    conn.recv(100)
                    state["n"] += 1
                    time.sleep(0.6 if state["n"] % 3 == 0 else 0.001)
                    conn.sendall(b"ok")

        t = threading.Thread(target=serve, daemon=True)
        t.start()
        yield srv.getsockname()
        state["stop"] = True
        t.join()

    @pytest.fixture(scope="module")
    def pool():
        ex = concurrent.futures.ThreadPoolExecutor(2)
        stop = threading.Event()

        def churn():
            while not stop.wait(0.02):
                time.sleep(0.005)

        for _ in range(2):
            ex.submit(churn)
        yield ex
        stop.set()
        ex.shutdown()

    @pytest.fixture(scope="session")
    def loop():
        lp = asyncio.new_event_loop()
        t = threading.Thread(target=lp.run_forever, daemon=True)
        t.start()

        def tick():             # a loop with timers: it waits and wakes all the time
            lp.call_later(0.02, tick)

        lp.call_soon_threadsafe(tick)
        yield lp
        lp.call_soon_threadsafe(lp.stop)
        t.join()

"""

SUITE = """
    import itertools, socket, threading, time
    a, b, c, d, e = (itertools.count(1) for _ in range(5))

    # a thread started at collection (the module's import), outside every test and fixture
    def _ticker():
        while True:
            time.sleep(0.02)

    threading.Thread(target=_ticker, daemon=True).start()

    def test_cpu(slow_server, pool, loop):
        # fails when it burns CPU past its budget; no wait of its own
        slow = next(a) % 2 == 0
        t0 = time.process_time()
        while slow and time.process_time() - t0 < 0.15:
            pass
        assert time.process_time() - t0 < 0.05

    def test_assert(slow_server, pool, loop):
        time.sleep(0.05)
        assert next(b) % 3 != 0

    def test_own_race(slow_server, pool, loop):
        slow = next(c) % 3 == 0
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

    def test_fixture_race(slow_server):
        # the server answers late every third request; the test gives it a fixed 0.2 s
        s = socket.create_connection(slow_server)
        s.sendall(b"hi")
        s.settimeout(0.2)
        try:
            assert s.recv(10) == b"ok"
        except socket.timeout:
            raise AssertionError("no answer in time")
        finally:
            s.close()
"""


def test_background_never_decides(tmp_path):
    r = run_fh(tmp_path, {"conftest.py": CONFTEST, "test_bg.py": SUITE}, runs=6)
    out = r.proc.stdout[-3000:]
    # test_cpu: its own CPU, never the server's poll or the pool's sleeps
    d = r.diag("::test_cpu")
    assert r.outcomes("::test_cpu") == "pfpfpf", out
    assert d["kind"] == "cpu", d
    # Attempt 1 set the fixtures up: their threads were created during it and belong to it.
    # Every later attempt (and test) finds them running: background.
    for att in r.test("::test_cpu")["attempt_log"][1:]:
        tr = att["trace"]
        if att["outcome"] == "failed":   # long enough to see the background's calls start
            assert tr["background"]["threads"] >= 3, tr.get("background")
            fx = [o for o in tr["background"]["started_by"] if o["fixture"]]
            assert fx and all(o["started_during"].endswith("::test_cpu") and
                              o["started_phase"] == "setup" for o in fx), tr["background"]
        assert not tr["in_flight"], tr["in_flight"]
        assert tr["time_s"]["net"] == 0 and tr["time_s"]["sleep"] == 0, tr["time_s"]
        # time_s holds DESIGN's categories only: poll is a call, not one
        assert set(tr["time_s"]) == {"net", "dns", "sleep", "lock", "proc", "file", "other"}
    # Who started each background thread, by the fixture whose setup was running (the
    # attempt records' fixture_setups): the server's thread, the pool's two workers, the
    # loop's thread; the ticker started at collection, outside every test and fixture.
    att = r.failing("::test_cpu")[-1]
    bg = att["trace"]["background"]
    by = {(o["fixture"], o["fixture_scope"]): o for o in bg["started_by"]}
    assert ("slow_server", "session") in by and ("pool", "module") in by, bg
    assert ("loop", "session") in by, bg
    assert by[("pool", "module")]["threads"] == 2, bg
    assert by[("slow_server", "session")]["text"] == \
        "1 thread started by session fixture `slow_server`", bg
    assert by[("pool", "module")]["text"] == "2 threads started by module fixture `pool`", bg
    assert by[("loop", "session")]["started_during"].endswith("::test_cpu"), bg
    assert by[(None, None)]["started_during"] is None, bg
    assert "outside every test" in by[(None, None)]["text"], bg
    assert "session fixture `slow_server`" in bg["text"] and "fixture `loop`" in bg["text"], bg
    # the report shows it with the attempt's evidence
    html = (tmp_path / "report.html").read_text()
    assert "started by module fixture `pool`" in html.replace("&#96;", "`")
    # test_assert: a plain assertion; the background busy at its end is not a race
    d = r.diag("::test_assert")
    assert d["kind"] != "race", d
    assert not any("still in" in x for x in d["evidence"]), d
    # a thread of its own that is slower than the fixed sleep: race, naming that thread
    d = r.diag("::test_own_race")
    assert d["kind"] == "race", d
    assert "the test thread slept a fixed" in d["evidence"][0], d
    # the fixture's server it talks to, late: its own wait on the server's address ran out
    fx = r.test("::test_fixture_race")
    assert "f" in r.outcomes("::test_fixture_race"), out
    assert fx["diagnosis"]["kind"] == "timeout", fx["diagnosis"]
    assert "127.0.0.1:" in fx["diagnosis"]["evidence"][0], fx["diagnosis"]
