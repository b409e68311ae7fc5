# SPDX-License-Identifier: MIT
"""Diagnosis `network` under the real preload: a service that is sometimes not listening yet,
seen through getsockopt(SO_ERROR) (connect with a timeout) and through connect's errno
(blocking connect), also under xdist."""
import textwrap

import pytest

from fh_diag import run_fh

SUITE = """
    import itertools, socket, threading, time
    runs = itertools.count(1)

    def start(delay):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        def later():
            time.sleep(delay)
            s.listen(1)
        t = threading.Thread(target=later)
        t.start()
        if not delay:
            t.join()
        return s, t

    def test_health():
        s, t = start(0.5 if next(runs) % 2 == 0 else 0)
        try:
            port = s.getsockname()[1]
            if TIMEOUT is None:
                c = socket.socket()
                c.connect(("127.0.0.1", port))
            else:
                c = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)
            c.close()
        finally:
            t.join()
            s.close()
"""


@pytest.mark.parametrize("timeout,call,args", [
    ("1.0", "getsockopt", ()),
    ("None", "connect", ()),
    ("1.0", "getsockopt", ("-n", "2")),
], ids=["so_error", "connect_errno", "xdist"])
def test_refused_sometimes(tmp_path, timeout, call, args):
    r = run_fh(tmp_path, {"test_svc.py": f"TIMEOUT = {timeout}\n" + textwrap.dedent(SUITE)}, *args)
    assert r.outcomes("::test_health") == "pfpfpf"
    d = r.diag("::test_health")
    assert (d["kind"], d["blocked_on"]) == ("network", "net"), d
    assert f"3/3 failing attempts: {call}" in d["evidence"][0]
    assert "ECONNREFUSED" in d["evidence"][0] and "0/3 passing attempts" in d["evidence"][0]
    for a in r.failing("::test_health"):
        errs = a["trace"]["errors"]
        assert any(e["call"] == call and e["errno"] == "ECONNREFUSED" and
                   e["target"].startswith("127.0.0.1:") for e in errs), errs
    for a in r.passing("::test_health"):
        assert not any(e["errno"] == "ECONNREFUSED" for e in a["trace"]["errors"])
