# SPDX-License-Identifier: MIT
"""Traces of two machines in one merged run: each source's attempts are joined with its own
trace files and its stacks symbolized with its own module maps, even when both machines'
pytest processes had the same pid. Two real hunts run in fresh PID namespaces (so both
pytest processes are pid 1) under the preload with stack capture on; address space layout
randomisation puts libc at a different address in each, so a map of the wrong machine would
resolve the other's native frames wrongly."""
import json
import re
import shutil

import pytest

from fh_merge import hunt, merge, report

SUITE = r'''
import os, time

def wait_on_alpha():
    time.sleep(0.03)

def wait_on_beta():
    time.sleep(0.03)

def test_wait():
    {"alpha": wait_on_alpha, "beta": wait_on_beta}[os.environ["FH_HOST"]]()
    # Failing right after the wait makes it the last blocking call before the failure (a
    # passing attempt's last one is whatever blocked last before its end, e.g. a slow write).
    assert False, "after the wait"
'''


def libc_base(run):
    maps = (run / "trace" / "1.maps").read_text()
    m = re.search(r"^mod (0x[0-9a-f]+|[0-9a-f]+) \S+ \S+ \S+ (\S*libc\.so\.6)$", maps, re.M)
    assert m, maps
    return m.group(1)


@pytest.mark.skipif(not shutil.which("unshare"), reason="unshare (util-linux) missing")
def test_two_sources_same_pid_symbolized(tmp_path):
    runs = {}
    for host in ("alpha", "beta"):
        suite = tmp_path / f"suite-{host}"
        suite.mkdir()
        (suite / "test_w.py").write_text(SUITE)
        runs[host] = hunt(suite, tmp_path / f"run-{host}", host, "--fh-stack-ms=1", runs=3,
                          prefix=("unshare", "--pid", "--fork"))
    pids = set()
    for run in runs.values():
        for line in next(run.glob("attempts-*.jsonl")).read_text().splitlines():
            pids.add(json.loads(line)["pid"])
        assert (run / "trace" / "1.fht").exists() and (run / "trace" / "1.maps").exists()
    assert pids == {1}, pids                      # the two machines' processes share a pid
    if libc_base(runs["alpha"]) == libc_base(runs["beta"]):
        pytest.skip("libc at the same address in both runs (no ASLR): a mix-up would not show")
    merge(tmp_path / "M", runs["alpha"], runs["beta"])
    _, doc = report(tmp_path / "M", tmp_path / "m", "--no-history")
    t = doc["tests"][0]
    assert len(t["attempt_log"]) == 6
    for a in t["attempt_log"]:
        block = a["trace"]["last_block"]
        assert block and block["call"] == "clock_nanosleep", a
        frames = block["stack"]
        py = [f["function"] for f in frames if f["kind"] == "python"]
        native = [f for f in frames if f["kind"] == "native"]
        # joined with its own source's events: the Python frames of its own host's function
        assert f"wait_on_{a['host']}" in py, (a["host"], py)
        # symbolized with its own source's module map: libc's sleep resolves by name
        assert any(f["module"] == "libc.so.6" and "nanosleep" in (f["function"] or "")
                   for f in native), (a["host"], native)
