# SPDX-License-Identifier: MIT
"""Concurrent sessions and analyzers sharing a rootdir or a history directory: a session's run
directory is locked for its life and pruning leaves it alone; analyzers creating the same new
history files at once write one header per file and whole rows."""
import csv
import io
import json
import os
import pathlib
import subprocess
import sys
import time

import pytest

from fh_summary import gen_run

PYTHON = "/usr/bin/python3"
# Runs argv[2:] at the wall-clock time argv[1] (a start gate: processes started one after the
# other begin their work together, so they meet on the same files)
GATE = ("import os, sys, time\n"
        "t = float(sys.argv[1])\n"
        "time.sleep(max(0.0, t - time.time() - 0.005))\n"
        "while time.time() < t:\n"
        "    pass\n"
        "os.execv(sys.argv[2], sys.argv[2:])\n")


# ---- history files created and appended by concurrent analyzers -------------------------

def check_history_file(path, want_rows):
    text = path.read_text(encoding="utf-8")
    rows = list(csv.reader(io.StringIO(text, newline="")))
    header = rows[0]
    assert header[0] == "run_id", path
    assert sum(1 for r in rows if r and r[0] == "run_id") == 1, f"{path}: more than one header"
    body = rows[1:]
    assert all(len(r) == len(header) for r in body), f"{path}: a row of the wrong shape"
    assert len(body) == want_rows, (path, len(body), want_rows)
    return body


def test_concurrent_analyzers_create_the_same_history_files(fh_paths, tmp_path):
    # N analyzers, N different runs of the same 40 tests, one fresh history directory, started
    # together: every file is new to all of them. Before the files were created whole and the
    # appends locked, two analyzers both wrote the header in about a third of such races.
    n, tests, runs, trials = 6, 200, 2, 8
    env = dict(os.environ)
    rundirs = [gen_run(tmp_path / f"run{i}", tests=tests, runs=runs, fail_rate=0.3, seed=i,
                       run_id=f"R{i}", started=f"2026-11-0{i + 1}T10:00:00Z")
               for i in range(n)]
    for trial in range(trials):
        hist = tmp_path / f"history{trial}"
        gate = str(time.time() + 0.3 + 0.02 * n)
        procs = [subprocess.Popen([PYTHON, "-c", GATE, gate, str(fh_paths["analyze"]), "report", str(rd), "--out",
                                   str(tmp_path / f"r{trial}-{i}.html"), "--history-dir",
                                   str(hist), "--quiet"], stdout=subprocess.DEVNULL,
                                  stderr=subprocess.PIPE, env=env)
                 for i, rd in enumerate(rundirs)]
        for p in procs:
            _, err = p.communicate(timeout=300)
            assert p.returncode == 0, err
        files = sorted(hist.glob("*.csv"))
        assert len(files) == tests
        assert not [f for f in hist.iterdir() if ".tmp." in f.name], "temporary files left"
        for f in files:
            body = check_history_file(f, n * runs)
            assert {r[0] for r in body} == {f"R{i}" for i in range(n)}
        for rd in rundirs:
            (rd / "history-appended").unlink()
    # and a later report reads them without a warning
    p = subprocess.run([str(fh_paths["analyze"]), "report", str(rundirs[0]), "--out",
                        str(tmp_path / "again.html"), "--history-dir",
                        str(tmp_path / "history0")], capture_output=True, text=True, timeout=120)
    assert p.returncode == 0 and "corrupt" not in p.stderr and "header" not in p.stderr, p.stderr


def test_analyzers_reporting_the_same_run_append_it_once(fh_paths, tmp_path):
    # Several analyzers report the same run directory into one history directory, started
    # together (a CI step and a retried job): the run's rows go in once. Before the run lock,
    # each found no history-appended marker and appended the run again.
    n, tests, runs, trials = 4, 60, 3, 4
    rd = gen_run(tmp_path / "run", tests=tests, runs=runs, fail_rate=0.3, seed=7, run_id="R7",
                 started="2026-11-07T10:00:00Z")
    for trial in range(trials):
        hist = tmp_path / f"history{trial}"
        gate = str(time.time() + 0.3 + 0.02 * n)
        procs = [subprocess.Popen([PYTHON, "-c", GATE, gate, str(fh_paths["analyze"]), "report",
                                   str(rd), "--out", str(tmp_path / f"s{trial}-{i}.html"),
                                   "--history-dir", str(hist), "--quiet"],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
                 for i in range(n)]
        for p in procs:
            _, err = p.communicate(timeout=300)
            assert p.returncode == 0, err
        files = sorted(hist.glob("*.csv"))
        assert len(files) == tests
        for f in files:
            body = check_history_file(f, runs)
            assert {r[0] for r in body} == {"R7"}
        assert (rd / "history-appended").exists()
        (rd / "history-appended").unlink()


# ---- a session pruning while another one writes ----------------------------------------------

SLOW = r'''
import os, pathlib, time

def test_slow():
    here = pathlib.Path(__file__).parent
    (here / "STARTED").touch()
    t = time.monotonic()
    while not (here / "GO").exists():
        assert time.monotonic() - t < 120, "never released"
        time.sleep(0.02)
'''


def test_pruning_leaves_a_live_session_alone(tmp_path, fh_env):
    # Session A is in the middle of its hunt (its test waits) when session B starts in the same
    # rootdir with --fh-keep-runs 1: B deletes the old, finished runs but not A's, and A then
    # finishes and reports every attempt it made.
    proj = tmp_path / "proj"
    proj.mkdir()
    (proj / "test_slow.py").write_text(SLOW)
    (proj / "test_quick.py").write_text("def test_quick():\n    pass\n")
    runs = proj / ".flakehunter" / "runs"
    old = [runs / f"2020010{i}T000000Z-00000{i}" for i in range(1, 4)]
    for d in old:
        (d / "trace").mkdir(parents=True)
        (d / "meta.json").write_text("{}\n")
    # hidden directories of sessions that died before naming theirs: an old one is removed, a
    # young one may be a session's about to be locked and is left alone
    stale, young = runs / ".new-stale-1", runs / ".new-young-2"
    for d in (stale, young):
        (d / "trace").mkdir(parents=True)
    os.utime(stale, (time.time() - 7200, time.time() - 7200))
    base = [PYTHON, "-m", "pytest", "-p", "pytest_flakehunter", "-p", "no:cacheprovider",
            "--fh", "--fh-runs", "3", "--fh-no-history", "-q"]
    a = subprocess.Popen(base + ["--fh-report", str(tmp_path / "a.html"), "test_slow.py"],
                         cwd=proj, env=fh_env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True)
    try:
        t = time.monotonic()
        while not (proj / "STARTED").exists():
            assert a.poll() is None, a.communicate()
            assert time.monotonic() - t < 60
            time.sleep(0.02)
        mine = [d for d in runs.iterdir() if d not in old and not d.name.startswith(".new-")]
        assert len(mine) == 1
        a_dir = mine[0]
        b = subprocess.run(base + ["--fh-keep-runs", "1", "--fh-report", str(tmp_path / "b.html"),
                                   "test_quick.py"], cwd=proj, env=fh_env, capture_output=True,
                           text=True, timeout=120)
        assert b.returncode == 0, b.stdout + b.stderr
        assert not any(d.exists() for d in old), "the finished runs were not pruned"
        assert not stale.exists() and young.is_dir()
        assert a_dir.is_dir() and (a_dir / "meta.json").exists(), "a live session's run was pruned"
    finally:
        (proj / "GO").touch()
    out, err = a.communicate(timeout=120)
    assert a.returncode == 0, out + err
    assert "no attempts recorded" not in out, out
    summary = json.loads((tmp_path / "a.json").read_text())
    assert [(t["nodeid"], t["attempts"]) for t in summary["tests"]] == [("test_slow.py::test_slow", 3)]
    # A's session is over: the next pruning may take it
    c = subprocess.run(base + ["--fh-keep-runs", "1", "--fh-report", str(tmp_path / "c.html"),
                               "test_quick.py"], cwd=proj, env=fh_env, capture_output=True,
                       text=True, timeout=120)
    assert c.returncode == 0, c.stdout + c.stderr
    assert not a_dir.exists()
    assert [d.name for d in runs.iterdir() if d.name.startswith(".new-")] == [young.name]
