# SPDX-License-Identifier: MIT
"""Performance flakes under the real preload: a test that always passes but sometimes waits
much longer for a local service; the perf object names the slow attempts and where the extra
time went. A steady test is not flagged."""
import re

from fh_diag import SERVER, run_fh


def test_perf_flake_names_the_wait(tmp_path):
    r = run_fh(tmp_path, {"fhserver.py": SERVER, "test_p.py": """
        import pytest
        from fhserver import Server, ask

        @pytest.fixture(scope="module")
        def srv():
            return Server(every=3, delay=0.5)

        def test_report(srv):
            assert ask(srv.port, timeout=3) == b"ok\\n"

        def test_steady():
            assert sum(range(1000)) == 499500
    """})
    t = r.test("::test_report")
    assert t["verdict"] == "stable" and t["diagnosis"]["kind"] == "stable"
    p = t["perf"]
    assert p["unstable"] is True, p
    assert {3, 6} <= set(p["slow_attempts"]), p
    assert p["extra_s_by_call"]["poll"] > 0.3, p
    # the poll was on the socket to the server (Python's socket timeout): net, not "poll"
    assert p["extra_s_by_category"]["net"] > 0.3, p
    # categories are DESIGN's seven; a call is named after its category, never as one
    assert set(p["extra_s_by_category"]) == {"net", "dns", "sleep", "lock", "proc", "file",
                                             "other", "cpu"}, p
    assert re.search(r"slow attempts spent \+0\.[3-6]\d* s in net \(poll\), fast ones",
                     p["summary"]), p["summary"]
    assert r.test("::test_steady")["perf"]["unstable"] is False
