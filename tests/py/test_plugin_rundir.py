# SPDX-License-Identifier: MIT
"""The plugin's options for CI shards: --fh-run-dir puts the run directory where CI uploads it
from, --fh-no-report records without running the analyzer (no report, no history), and
$FH_HOST names the host in meta.json."""
import os
import socket

from fh_plugin import fh  # noqa: F401  (fixture)

SUITE = """
def test_a():
    pass
def test_b():
    assert 1
"""


def test_run_dir_option(fh, tmp_path):
    fh.pytester.makepyfile(test_s=SUITE)
    fh.mp.setenv("FH_HOST", "ci-runner-7")
    target = tmp_path / "upload" / "shard-1"
    r = fh.run("--fh", "--fh-runs=3", f"--fh-run-dir={target}")
    assert r.ret == 0, r.stdout.str()
    assert not fh.run_dirs()                    # not under .flakehunter/runs
    meta = fh.meta(target)
    assert meta["host"] == "ci-runner-7"
    assert meta["schema"] == "flakehunter-run/1"
    recs = fh.records(target)
    assert len(recs) == 6 and (target / "trace").is_dir()
    call = fh.analyzer_calls()[0]
    assert call["argv"][:2] == ["report", str(target)]
    # one session per directory: a second hunt into it is refused before anything runs
    r = fh.run("--fh", "--fh-runs=3", f"--fh-run-dir={target}")
    assert r.ret == 4
    assert "--fh-run-dir" in r.stderr.str() and "not empty" in r.stderr.str()
    assert len(fh.records(target)) == 6
    # the ini twin, relative to the ini file
    fh.pytester.makeini("[pytest]\nfh_run_dir = from-ini\n")
    r = fh.run("--fh", "--fh-runs=2")
    assert r.ret == 0
    assert len(fh.records(fh.path / "from-ini")) == 4


def test_no_report(fh, tmp_path):
    fh.pytester.makepyfile(test_s=SUITE)
    target = tmp_path / "shard"
    hist = tmp_path / "hist"
    r = fh.run("--fh", "--fh-runs=2", f"--fh-run-dir={target}", "--fh-no-report",
               f"--fh-history-dir={hist}")
    assert r.ret == 0
    assert fh.analyzer_calls() == []            # the analyzer never ran
    out = r.stdout.str()
    assert f"run directory {target}" in out and "fh-analyze merge" in out
    assert not (fh.path / "flakehunter_report.html").exists() and not hist.exists()
    assert len(fh.records(target)) == 4
    assert fh.meta(target)["host"] == (os.environ.get("FH_HOST") or socket.gethostname())


def test_host_override_is_sanitised(fh):
    fh.pytester.makepyfile(test_s=SUITE)
    fh.mp.setenv("FH_HOST", "evil\nhost\x1b[31m" + "x" * 400)
    r = fh.run("--fh", "--fh-runs=1", "--fh-no-report")
    assert r.ret == 0
    host = fh.meta()["host"]
    assert host.startswith("evilhost[31mx") and len(host) == 255 and host.isprintable()
