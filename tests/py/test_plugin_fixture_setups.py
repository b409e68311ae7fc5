# SPDX-License-Identifier: MIT
"""Which fixture started a thread: while tracing, the plugin records every fixture setup (name,
scope, CLOCK_MONOTONIC begin and end) in the attempt records (docs/FORMATS.md,
"fixture_setups"), and the analyzer names the fixture whose setup was running when a thread
that is not the test's was created (trace.background.started_by). Run under pytest 7.2 and,
by test_plugin_pytest9.py, under pytest 9; the second test under xdist."""
import json

import pytest

from fh_plugin import BUILD, REAL_ANALYZE, fh, needs_autoload  # noqa: F401

LIB = BUILD / "libfhtrace.so"
needs_lib = pytest.mark.skipif(not LIB.exists(), reason="build/libfhtrace.so not built")

SUITE = """
    import socket, threading, time
    import pytest

    @pytest.fixture(scope="session")
    def slow_server():
        srv = socket.socket()
        srv.bind(("127.0.0.1", 0))
        srv.listen(4)
        srv.settimeout(0.02)    # Python polls before accept: the thread waits all the time
        stop = []

        def serve():
            while not stop:
                try:
                    srv.accept()[0].close()
                except socket.timeout:
                    pass

        t = threading.Thread(target=serve, daemon=True)
        t.start()
        yield srv.getsockname()
        stop.append(1)
        t.join()

    @pytest.fixture
    def fn():
        return 1

    def test_a(slow_server, fn):
        time.sleep(0.1)

    def test_b(slow_server):
        time.sleep(0.1)
"""


@needs_lib
def test_fixture_setups_name_the_background(fh, tmp_path):
    fh.mp.setenv("LD_PRELOAD", str(LIB))
    fh.use_real_analyzer()
    fh.pytester.makepyfile(test_fx=SUITE)
    report = tmp_path / "r.html"
    r = fh.run("--fh", "--fh-runs=2", "--fh-no-history", f"--fh-report={report}")
    r.assert_outcomes(passed=4)
    recs = {(x["nodeid"].split("::")[1], x["attempt"]): x for x in fh.records()}
    first = recs[("test_a", 1)]
    setups = {(n, s): (t0, t1) for n, s, t0, t1 in first["fixture_setups"]}
    # its own setup phase's fixtures, inside the attempt
    assert ("slow_server", "session") in setups and ("fn", "function") in setups, setups
    for t0, t1 in setups.values():
        assert first["start_ns"] <= t0 <= t1 <= first["stop_ns"]
    # set up once per session: later attempts set up only the function fixture again
    assert [x[:2] for x in recs[("test_a", 2)]["fixture_setups"]] == [["fn", "function"]]
    assert "slow_server" not in json.dumps(recs[("test_b", 1)].get("fixture_setups", []))
    # the analyzer names the fixture that started the server's thread in every later attempt
    summary = json.loads(report.with_suffix(".json").read_text())
    for t in summary["tests"]:
        for a in t["attempt_log"]:
            if t["nodeid"].endswith("test_a") and a["attempt"] == 1:
                continue    # its own setup started the thread: the attempt's own
            bg = a["trace"]["background"]
            assert bg["fixture"] == "slow_server" and bg["fixture_scope"] == "session", bg
            assert bg["started_by"][0]["text"] == \
                "1 thread started by session fixture `slow_server`", bg
            assert bg["category"] == "net", bg     # the poll before accept, on the socket


@needs_lib
@needs_autoload("pytest-xdist")
def test_fixture_setups_per_worker(fh):
    fh.mp.setenv("LD_PRELOAD", str(LIB))
    fh.pytester.makepyfile(test_fx=SUITE)
    r = fh.run("--fh", "--fh-runs=2", "-n", "2")
    r.assert_outcomes(passed=4)
    by_pid = {}
    for x in fh.records():
        by_pid.setdefault(x["pid"], []).append(x)
    for recs in by_pid.values():
        recs.sort(key=lambda x: x["start_ns"])
        named = [fx for x in recs for fx in x.get("fixture_setups", [])]
        # each worker sets the session fixture up once, in its first attempt
        assert [fx[:2] for fx in named].count(["slow_server", "session"]) == 1, named
        assert "slow_server" in json.dumps(recs[0]["fixture_setups"])
