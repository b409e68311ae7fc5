# SPDX-License-Identifier: MIT
"""Diagnosis `resource` under the real preload: leaked sockets or files until EMFILE, with the
fd count at attempt start growing across attempts."""
import pytest

from fh_diag import run_fh

SUITE = """
    import os, resource, socket
    import pytest
    leaked = []

    @pytest.fixture(scope="module", autouse=True)
    def limit():
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        resource.setrlimit(resource.RLIMIT_NOFILE, (len(os.listdir("/proc/self/fd")) + 130, hard))
        yield
        for x in leaked:
            x.close() if hasattr(x, "close") else os.close(x)
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))

    def test_leak(tmp_path_factory):
        for i in range(40):
            leaked.append(OPEN())
"""


@pytest.mark.parametrize("opener,call", [
    ("lambda: socket.socket()", "socket"),
    ("lambda: os.open('/dev/null', os.O_RDONLY)", "open"),
], ids=["sockets", "files"])
def test_leak_until_emfile(tmp_path, opener, call):
    import textwrap
    r = run_fh(tmp_path, {"test_leak.py": textwrap.dedent(SUITE) + f"OPEN = {opener}\n"})
    out = r.outcomes("::test_leak")
    assert out.startswith("ppp") and out.endswith("f"), out
    d = r.diag("::test_leak")
    assert d["kind"] == "resource", d
    assert "failed with EMFILE" in d["evidence"][0]
    assert any(line.startswith("open fds at attempt start grew") for line in d["evidence"])
    # At the limit the preload cannot grow its trace file (it holds no fds and must reopen it):
    # later attempts may have no trace at all, and counts go over traced attempts.
    attempts = r.test("::test_leak")["attempt_log"]
    fds = [a["trace"]["resources"]["fds"] for a in attempts if a.get("trace")]
    known = [n for n in fds if n is not None]
    assert len(known) >= 3 and known == sorted(known) and known[-1] - known[0] >= 80, fds
    traced_failing = [a for a in r.failing("::test_leak") if a.get("trace")]
    assert traced_failing
    for a in traced_failing:
        assert any(e["errno"] == "EMFILE" for e in a["trace"]["errors"]), a["trace"]["errors"]
    assert any(e["errno"] == "EMFILE" and e["call"].startswith(call)
               for a in traced_failing for e in a["trace"]["errors"])


THREADS = """
    import os, resource, threading
    import pytest
    leaked = []
    stop = threading.Event()

    def vm_bytes():
        with open("/proc/self/statm") as f:
            return int(f.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")

    @pytest.fixture(scope="module", autouse=True)
    def limit():
        # RLIMIT_AS, not RLIMIT_NPROC: root is exempt from the process limit. Worker stacks
        # of 256 MiB dominate what the address space holds (a thread's malloc arena is 64 MiB).
        soft, hard = resource.getrlimit(resource.RLIMIT_AS)
        size = threading.stack_size(256 << 20)
        resource.setrlimit(resource.RLIMIT_AS, (vm_bytes() + (700 << 20), hard))
        yield
        stop.set()
        for t in leaked:
            t.join()
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))
        threading.stack_size(size)

    def test_pool():
        t = threading.Thread(target=stop.wait, daemon=True)
        t.start()                 # bug: the pool's worker is never stopped
        leaked.append(t)
"""


def test_thread_leak_until_eagain(tmp_path):
    """pthread_create returns EAGAIN when no thread stack fits any more: the real pytest under
    the real preload, the wrapper's record, the analyzer's resource rule."""
    r = run_fh(tmp_path, {"test_pool.py": THREADS})
    out = r.outcomes("::test_pool")
    assert out.startswith("pp") and out.endswith("ff"), out
    d = r.diag("::test_pool")
    assert d["kind"] == "resource", d
    assert "pthread_create failed with EAGAIN" in d["evidence"][0], d
    assert any(line.startswith("threads at attempt start grew") for line in d["evidence"]), d
    for a in r.failing("::test_pool"):
        assert any(e["call"] == "pthread_create" and e["errno"] == "EAGAIN"
                   for e in a["trace"]["errors"]), a
    for a in r.passing("::test_pool"):
        assert not any(e["call"] == "pthread_create" for e in a["trace"]["errors"]), a
