# SPDX-License-Identifier: MIT
"""A wait is named by what it waited for, and every output says the same: under the real
preload and a real `pytest --fh --fh-ai`, a test that times out in a poll on the socket to a
local server (Python's socket timeout) and one that times out in a poll on the pipe from its
child (subprocess' communicate with a timeout). For each failing attempt the JSON's
trace.blocked_on, the heatmap's "blocked on" cell, the diagnosis and the prompt the LLM gets
name the same category: net for the socket, proc for the child's pipe (the child as target);
`poll` is the call, never a category."""
import re

import fh_report as R
from fh_ai import FakeMessagesAPI
from fh_diag import SERVER, run_fh
from test_report_features import heat_rows

SUITE = {
    "fhserver.py": SERVER,
    "test_waits.py": """
        import itertools, subprocess, sys
        import pytest
        from fhserver import Server, ask

        a, b = itertools.count(1), itertools.count(1)

        @pytest.fixture(scope="module")
        def srv():
            return Server(every=3, delay=0.8)

        def test_sock(srv):
            assert ask(srv.port, timeout=0.3) == b"ok\\n"

        def test_child():
            slow = next(b) % 3 == 0
            p = subprocess.Popen([sys.executable, "-c",
                                  "import time; time.sleep(%s); print('ok')" % (3 if slow else 0)],
                                 stdout=subprocess.PIPE)
            try:
                out, _ = p.communicate(timeout=1.0)
            finally:
                p.kill()
                p.wait()
            assert out == b"ok\\n"
    """,
}


def test_every_output_names_the_same_wait(tmp_path, monkeypatch):
    for k in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(k, raising=False)
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-wait-test-0000000000")
    monkeypatch.setenv("FH_AI_TIMEOUT_MS", "10000")
    with FakeMessagesAPI() as api:
        monkeypatch.setenv("ANTHROPIC_BASE_URL", api.base_url)
        r = run_fh(tmp_path, SUITE, "--fh-ai")
    html = (tmp_path / "report.html").read_text()
    cards = {c.attrs["data-name"]: c for c in R.parse(html).find_all("details") if "card" in c.cls()}
    prompts = [q["body"]["messages"][0]["content"] for q in api.requests]
    for name, want, target in (("::test_sock", "net", r"127\.0\.0\.1:\d+"),
                               ("::test_child", "proc", r"child \d+ /usr/bin/python3")):
        t = r.test(name)
        assert r.outcomes(name) == "ppfppf", r.proc.stdout[-3000:]
        d = t["diagnosis"]
        assert (d["kind"], d["blocked_on"]) == ("timeout", want), d
        rows = heat_rows(cards[t["nodeid"]], "blocked on")
        for a in r.failing(name):
            tr = a["trace"]
            lb = tr["last_block"]
            assert (lb["call"], lb["ended"]) == ("poll", "timeout"), lb
            assert (tr["blocked_on"], lb["category"]) == (want, want), tr
            assert re.fullmatch(target, lb["target"]), lb
            assert tr["time_s"][want] >= 0.29 and "poll" not in tr["time_s"], tr["time_s"]
            assert rows == {want: {x["attempt"] for x in r.failing(name)}}, rows
        # the evidence line names the target, the prompt the same category as all the above
        assert re.search(target, d["evidence"][0]), d
        p = [x for x in prompts if f"Test: {t['nodeid']}" in x]
        assert len(p) == 1, [x[:80] for x in prompts]
        assert f"last blocking call, how it ended: poll ({want}) timeout in 2/2" in p[0]
        assert re.search(rf"last blocking call of the test's thread: poll on {target}, "
                         rf"blocked on {want}, ", p[0]), p[0]
        assert f"kind timeout, blocked on {want}" in p[0]


def test_eventfd_and_timerfd_named_by_their_creator(tmp_path):
    """A poll on an eventfd is named by the thread that created it (other); on a timerfd, a
    timer: sleep. The fds come from the libc calls the preload wraps (os.eventfd, and
    timerfd_create through ctypes on the process's own symbols)."""
    r = run_fh(tmp_path, {"test_fds.py": """
        import ctypes, itertools, os, select
        a, b = itertools.count(1), itertools.count(1)

        def test_eventfd():
            fd = os.eventfd(0)
            try:
                slow = next(a) % 3 == 0
                if not slow:
                    os.eventfd_write(fd, 1)
                p = select.poll()
                p.register(fd, select.POLLIN)
                assert p.poll(300), "nothing signalled the eventfd"
            finally:
                os.close(fd)

        def test_timerfd():
            fd = ctypes.CDLL(None).timerfd_create(1, 0)   # CLOCK_MONOTONIC, never armed
            try:
                p = select.poll()
                p.register(fd, select.POLLIN)
                assert next(b) % 3 != 0 or p.poll(300), "the timer did not fire"
            finally:
                os.close(fd)
    """})
    for name, want, target in (("::test_eventfd", "other", r"eventfd created by thread \d+"),
                               ("::test_timerfd", "sleep", r"timerfd created by thread \d+")):
        assert r.outcomes(name) == "ppfppf", r.proc.stdout[-3000:]
        for a in r.failing(name):
            tr = a["trace"]
            lb = tr["last_block"]
            assert (lb["call"], lb["ended"], tr["blocked_on"]) == ("poll", "timeout", want), tr
            assert re.fullmatch(target, lb["target"]), lb
        d = r.diag(name)
        assert (d["kind"], d["blocked_on"]) == ("timeout", want), d


LOOP_SUITE = {
    "fhserver.py": SERVER,
    "test_loop.py": """
        import asyncio
        import pytest
        from fhserver import Server

        @pytest.fixture(scope="module")
        def srv():
            return Server(every=3, delay=0.8)

        async def ask(port):
            r, w = await asyncio.open_connection("127.0.0.1", port)
            try:
                w.write(b"get\\n")
                await w.drain()
                return await asyncio.wait_for(r.read(100), 0.3)
            finally:
                w.close()

        def test_loop(srv):
            assert asyncio.run(ask(srv.port)) == b"ok\\n"
    """,
}


def test_an_event_loop_wait_is_named_by_its_socket(tmp_path):
    # asyncio waits in epoll_wait, whose set is in the kernel: the preload keeps it from
    # epoll_ctl, so the wait is net on the peer (+1: the loop's wake-up socket), like a poll
    r = run_fh(tmp_path, LOOP_SUITE)
    name = "::test_loop"
    assert r.outcomes(name) == "ppfppf", r.proc.stdout[-3000:]
    d = r.test(name)["diagnosis"]
    assert (d["kind"], d["blocked_on"]) == ("timeout", "net"), d
    for a in r.failing(name):
        tr = a["trace"]
        lb = tr["last_block"]
        assert (lb["call"], lb["ended"]) == ("epoll_wait", "timeout"), lb
        assert (tr["blocked_on"], lb["category"]) == ("net", "net"), tr
        assert re.fullmatch(r"127\.0\.0\.1:\d+ \+1", lb["target"]), lb
        assert tr["time_s"]["net"] >= 0.29, tr["time_s"]
    assert re.search(r"127\.0\.0\.1:\d+", d["evidence"][0]), d
