# SPDX-License-Identifier: MIT
"""Faults around the plugin's own writes, through real pytest sessions: a run directory on a
small tmpfs that fills up in the middle of a hunt (records lost, counted and reported, never
raised into pytest; what was written stays readable)."""
import json
import os
import pathlib
import subprocess
import sys

import pytest

from fh_plugin import needs_autoload

PYTHON = "/usr/bin/python3"
ROOT_ONLY = pytest.mark.skipif(os.geteuid() != 0, reason="needs root for a private tmpfs mount")
# the pytest 9 run of this file (test_plugin_pytest9.py) has no xdist
XDIST = pytest.param(True, id="xdist", marks=needs_autoload("pytest-xdist"))

# The suite: test_c fills the run directory's filesystem on its first attempt (when FILL is set),
# test_e frees it again on its last attempt once it has been full for half a second, test_d
# fails every time (exit status 1 either way) with a long message so its records are big. (Under
# xdist the other worker could otherwise free it within milliseconds of the fill, while the
# records written meanwhile still fit in the files' last pages, and nothing would be refused.
# test_c's own later attempts come right after its fill: their records are refused.)
SUITE = r'''
import itertools, os, time

FILL = os.environ.get("FILL")
E_ATTEMPTS = itertools.count(1)

def test_a():
    pass

def test_c():
    if FILL and not os.path.exists(FILL):
        fd = os.open(FILL, os.O_WRONLY | os.O_CREAT, 0o600)
        try:
            while True:
                os.write(fd, b"x" * 4096)
        except OSError:
            pass
        try:
            while True:
                os.write(fd, b"x")
        except OSError:
            pass
        os.close(fd)

def test_d():
    assert False, "d fails " + "y" * 3000

def test_e():
    if next(E_ATTEMPTS) == 10 and FILL and os.path.exists(FILL) and os.path.getsize(FILL) > 0:
        time.sleep(max(0.0, os.path.getmtime(FILL) + 0.5 - time.time()))
        os.truncate(FILL, 0)

def test_f():
    pass
'''

# Mounts a tmpfs at MNT in a private mount namespace, runs pytest with its run directory there,
# and prints what it needs from the tmpfs before the unmount.
DRIVER = r'''
import json, os, subprocess, sys
mnt, env, argv, cwd = sys.argv[1], json.loads(sys.argv[2]), json.loads(sys.argv[3]), sys.argv[4]
subprocess.run(["mount", "-t", "tmpfs", "-o", sys.argv[5], "tmpfs", mnt], check=True)
try:
    p = subprocess.run(argv, env=env, cwd=cwd, capture_output=True, text=True, timeout=300)
    run = os.path.join(mnt, "run")
    files = {}
    for name in sorted(os.listdir(run)) if os.path.isdir(run) else []:
        path = os.path.join(run, name)
        if os.path.isfile(path):
            with open(path, "rb") as f:
                files[name] = f.read().decode("latin-1")
    print(json.dumps({"rc": p.returncode, "out": p.stdout, "err": p.stderr, "files": files}))
finally:
    subprocess.run(["umount", mnt], check=True)
'''


def hunt_on_tmpfs(tmp_path, fh_env, name, fill, extra=(), mount="size=128k"):
    d = tmp_path / name
    d.mkdir()
    (d / "test_suite.py").write_text(SUITE)
    mnt = tmp_path / (name + "-mnt")
    mnt.mkdir()
    env = dict(fh_env)
    if fill:
        env["FILL"] = str(mnt / "filler")
    argv = [PYTHON, "-m", "pytest", "-p", "pytest_flakehunter", "-p", "no:cacheprovider",
            "--fh", "--fh-runs", "10", "--fh-no-history", "--fh-run-dir", str(mnt / "run"),
            "--fh-report", str(d / "report.html"), "-q", "test_suite.py", *extra]
    r = subprocess.run(["unshare", "-m", PYTHON, "-c", DRIVER, str(mnt), json.dumps(env),
                        json.dumps(argv), str(d), mount], capture_output=True, text=True,
                       timeout=600)
    assert r.returncode == 0, r.stderr
    got = json.loads(r.stdout)
    got["dir"] = d
    return got


def whole_lines(text, where):
    """Every line of an attempts file is a whole JSON record ending with a newline."""
    assert text.endswith("\n"), f"{where}: torn last line {text[-80:]!r}"
    recs = [json.loads(line) for line in text.splitlines()]
    return recs


@ROOT_ONLY
@pytest.mark.parametrize("xdist", [pytest.param(False, id="plain"), XDIST])
def test_run_dir_fills_up_mid_hunt(tmp_path, fh_env, xdist):
    extra = ("-n", "2") if xdist else ()
    ref = hunt_on_tmpfs(tmp_path, fh_env, "ref", fill=False, extra=extra)
    got = hunt_on_tmpfs(tmp_path, fh_env, "full", fill=True, extra=extra)
    for r in (ref, got):
        assert "INTERNALERROR" not in r["out"] + r["err"], (r["out"] + r["err"])[-3000:]
        assert "Traceback" not in r["err"], r["err"][-3000:]
    # the same exit status as without the write failures: test_d fails
    assert ref["rc"] == got["rc"] == 1, (got["out"] + got["err"])[-3000:]
    assert "5 tests x 10 runs" in ref["out"] or "flaky" in ref["out"]
    assert "lost_records" not in ref["out"]
    # what was written is whole; what was not is counted
    recs = []
    for name, text in got["files"].items():
        if name.startswith("attempts-"):
            recs += whole_lines(text, name)
    summary = json.loads((got["dir"] / "report.json").read_text())
    lost = summary["lost_records"]
    assert lost > 0 and summary["totals"]["lost_records"] == lost
    assert len(recs) + lost == 50, (len(recs), lost)
    assert sum(t["attempts"] for t in summary["tests"]) == len(recs)
    assert summary["totals"]["malformed_records"] == 0
    if not xdist:
        # the disk was freed: the records of the later tests are there again (under xdist
        # which worker fills and which frees is the scheduler's choice; the counts above come
        # from the workers, as the controller writes no record there)
        assert {r["nodeid"].split("::")[1] for r in recs if r["attempt"] == 10} >= {"test_f"}
    out = got["out"]
    assert f"flakehunter: {lost} records could not be written to" in out, out[-3000:]
    assert "ENOSPC (No space left on device)" in out
    html = (got["dir"] / "report.html").read_text()
    assert 'id="lost-records"' in html and f"<b>{lost} records could not be written</b>" in html
    # the reference run wrote everything and says nothing about losses
    ref_summary = json.loads((ref["dir"] / "report.json").read_text())
    assert ref_summary["lost_records"] == 0
    assert 'id="lost-records"' not in (ref["dir"] / "report.html").read_text()


@ROOT_ONLY
def test_no_room_for_meta_or_records(tmp_path, fh_env):
    # A file system with inodes for the run directory and trace/ only: meta.json and the
    # records file cannot even be created. The session still runs every attempt, exits as it
    # would, and says what it lost (here everything: no report).
    got = hunt_on_tmpfs(tmp_path, fh_env, "noinode", fill=False, mount="size=1m,nr_inodes=3")
    out = got["out"] + got["err"]
    assert "INTERNALERROR" not in out and "Traceback" not in out, out[-3000:]
    assert got["rc"] == 1, out[-3000:]
    assert got["files"] == {}
    assert "flakehunter: 51 records could not be written to" in out, out[-3000:]
    assert "51 ENOSPC (No space left on device)" in out
    assert "meta.json is missing" in out
    assert "no attempts recorded" in out


def test_torn_last_record_is_skipped_with_one_warning(tmp_path, fh_env):
    # A record cut in the middle by a crash (the plugin cuts its own torn records off again,
    # a SIGKILL between two writes cannot): the analyzer keeps every whole record and names
    # the torn one's file and line once.
    d = tmp_path / "p"
    d.mkdir()
    (d / "test_x.py").write_text("def test_x():\n    pass\n")
    r = subprocess.run([PYTHON, "-m", "pytest", "-p", "pytest_flakehunter", "-p",
                        "no:cacheprovider", "--fh", "--fh-runs", "3", "--fh-no-report",
                        "--fh-run-dir", str(d / "run"), "-q"], cwd=d, env=fh_env,
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    rec = next((d / "run").glob("attempts-*.jsonl"))
    data = rec.read_bytes()
    rec.write_bytes(data + data.splitlines(keepends=True)[0][:57])
    a = subprocess.run([fh_env["FH_ANALYZE"], "report", str(d / "run"), "--no-history", "--out",
                        str(d / "r.html")], capture_output=True, text=True, timeout=120)
    assert a.returncode == 0, a.stderr
    warn = [line for line in a.stderr.splitlines() if "attempts-" in line]
    assert warn == [f"fh-analyze: warning: {rec}:4: truncated record (no newline at end of "
                    f"file); line skipped"], a.stderr
    s = json.loads((d / "r.json").read_text())
    assert s["tests"][0]["attempts"] == 3 and s["totals"]["malformed_records"] == 1


def test_lost_records_from_lost_json_and_the_option(tmp_path, fh_env):
    # A later `fh-analyze report RUN_DIR` knows the count from RUN_DIR/lost.json; the option
    # the plugin passes wins.
    d = tmp_path / "p"
    d.mkdir()
    (d / "test_x.py").write_text("def test_x():\n    pass\n")
    r = subprocess.run([PYTHON, "-m", "pytest", "-p", "pytest_flakehunter", "-p",
                        "no:cacheprovider", "--fh", "--fh-runs", "2", "--fh-no-report",
                        "--fh-run-dir", str(d / "run"), "-q"], cwd=d, env=fh_env,
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    (d / "run" / "lost.json").write_text('{"lost_records": 7, "reasons": {"EIO": 7}}\n')

    def lost(*extra):
        a = subprocess.run([fh_env["FH_ANALYZE"], "report", str(d / "run"), "--no-history",
                            "--out", str(d / "r.html"), *extra], capture_output=True, text=True,
                           timeout=120)
        assert a.returncode == 0, a.stderr
        return json.loads((d / "r.json").read_text())["lost_records"]
    assert lost() == 7
    assert lost("--lost-records", "3") == 3
    bad = subprocess.run([fh_env["FH_ANALYZE"], "report", str(d / "run"), "--lost-records",
                          "x"], capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2 and "--lost-records" in bad.stderr


# A test that forks, and the child goes on inside pytest (it records the attempt, then leaves
# at the next test): the child's record goes to a file of its own with its own pid and thread
# id; the parent's file holds only the parent's records.
FORKS = r'''
import os

def test_forks():
    pid = os.fork()
    if pid == 0:
        os.environ["FH_FORKED_CHILD"] = "1"
        return
    _, st = os.waitpid(pid, 0)
    assert os.WIFEXITED(st) and os.WEXITSTATUS(st) == 7

def test_next():
    if os.environ.get("FH_FORKED_CHILD"):
        os._exit(7)
'''


def test_a_test_that_forks_back_into_pytest(tmp_path, fh_env):
    d = tmp_path / "p"
    d.mkdir()
    (d / "test_forks.py").write_text(FORKS)
    r = subprocess.run([PYTHON, "-m", "pytest", "-p", "pytest_flakehunter", "-p",
                        "no:cacheprovider", "--fh", "--fh-runs", "1", "--fh-no-report",
                        "--fh-run-dir", str(d / "run"), "-q"], cwd=d, env=fh_env,
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    files = {}
    for f in (d / "run").glob("attempts-*.jsonl"):
        files[int(f.name[len("attempts-"):-len(".jsonl")])] = whole_lines(f.read_text(), f)
    assert len(files) == 2, files
    child = next(pid for pid, recs in files.items() if len(recs) == 1)
    parent = next(pid for pid in files if pid != child)
    assert [(x["function"], x["outcome"], x["pid"], x["tid"]) for x in files[child]] == [
        ("test_forks", "passed", child, child)]
    assert [(x["function"], x["outcome"], x["pid"], x["tid"]) for x in files[parent]] == [
        ("test_forks", "passed", parent, parent), ("test_next", "passed", parent, parent)]
