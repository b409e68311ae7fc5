# SPDX-License-Identifier: MIT
"""Stacks through the whole path: real pytest --fh under the real preload, the
analyzer's evidence stage symbolizing the stack of each attempt's last blocking call into the
JSON summary (Python frames first, then native frames through libc and python3.11), and the
attempt's stack fingerprint."""
import re
import textwrap

from fh_diag import run_fh

SUITE = {"test_wait.py": """
    import itertools, socket, threading, time
    runs = itertools.count(1)

    def fetch(sock):
        return sock.recv(10)  # @recv

    def test_recv():
        a, b = socket.socketpair()
        late = next(runs) % 2 == 0
        threading.Timer(0.3 if late else 0.02, lambda: b.send(b"x")).start()
        a.settimeout(None)
        t0 = time.monotonic()
        assert fetch(a) == b"x"
        assert time.monotonic() - t0 < 0.2, "late"
"""}


def test_last_block_stack_in_json(tmp_path):
    r = run_fh(tmp_path, SUITE, runs=4)
    recv_line = next(i for i, l in enumerate(textwrap.dedent(SUITE["test_wait.py"]).splitlines(), 1)
                     if "# @recv" in l)
    t = r.test("::test_recv")
    assert r.outcomes("::test_recv") == "pfpf", r.proc.stdout[-2000:]
    fps = set()
    for a in r.failing("::test_recv"):
        lb = a["trace"]["last_block"]
        assert lb["call"] == "recv", lb
        st = lb["stack"]
        py = [f for f in st if f["kind"] == "python"]
        native = [f for f in st if f["kind"] == "native"]
        # Python frames first, innermost first: the line that blocked, then its caller
        assert st[0]["kind"] == "python" and st.index(native[0]) == len(py), st
        assert (py[0]["path"], py[0]["line"]) == ("test_wait.py", recv_line), py[0]
        assert py[0]["function"] == "fetch" and py[1]["function"] == "test_recv", py[:2]
        assert native[0]["module"] == "libc.so.6" and re.match(r"(__libc_|__)?recv$", native[0]["function"]), native[0]
        assert any(f["module"] == "python3.11" and f["function"] == "_PyEval_EvalFrameDefault"
                   for f in native), native
        fps.add(a["fingerprint"])
    assert t["clusters"] and len(fps) == 1
    # ... and the HTML report draws the same stack under the last blocking call
    html = (tmp_path / "report.html").read_text()
    assert "stack of the last blocking call" in html
    assert "_PyEval_EvalFrameDefault" in html and "test_wait.py" in html
