# SPDX-License-Identifier: MIT
"""The history on a disk that fills up: an append the file system cuts short is cut off
again, so every history file keeps whole rows (the rows of a run are in a file entirely or
not at all) and the next report reads it without a warning."""
import csv
import io
import json
import os
import subprocess

import pytest

from fh_summary import gen_run

PYTHON = "/usr/bin/python3"

# In a private mount namespace: a small tmpfs at MNT holds the history; a first report creates
# the files, a filler takes the rest of the space, a second report's appends fail. Prints
# every history file's text and both reports' status and stderr.
DRIVER = r'''
import json, os, subprocess, sys
mnt, analyze, run0, run1, out = sys.argv[1:6]
subprocess.run(["mount", "-t", "tmpfs", "-o", "size=512k", "tmpfs", mnt], check=True)
try:
    hist = os.path.join(mnt, "hist")
    def report(run, name):
        p = subprocess.run([analyze, "report", run, "--out", os.path.join(out, name + ".html"),
                            "--history-dir", hist], capture_output=True, text=True)
        return {"rc": p.returncode, "err": p.stderr}
    first = report(run0, "r0")
    fd = os.open(os.path.join(mnt, "filler"), os.O_WRONLY | os.O_CREAT, 0o600)
    for block in (4096, 1):
        try:
            while True:
                os.write(fd, b"x" * block)
        except OSError:
            pass
    os.close(fd)
    second = report(run1, "r1")
    os.unlink(os.path.join(mnt, "filler"))
    third = report(run0, "r2")   # reads the files back (run0's rows are there already)
    files = {f: open(os.path.join(hist, f), encoding="utf-8").read()
             for f in sorted(os.listdir(hist))}
    print(json.dumps({"first": first, "second": second, "third": third, "files": files}))
finally:
    subprocess.run(["umount", mnt], check=True)
'''


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root for a private tmpfs mount")
def test_history_append_on_a_full_disk_keeps_whole_rows(fh_paths, tmp_path):
    run0 = gen_run(tmp_path / "run0", tests=40, runs=2, seed=1, run_id="R0")
    run1 = gen_run(tmp_path / "run1", tests=40, runs=12, seed=2, run_id="R1",
                   started="2026-11-20T10:00:00Z")
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    d = subprocess.run(["unshare", "-m", PYTHON, "-c", DRIVER, str(mnt), str(fh_paths["analyze"]),
                        str(run0), str(run1), str(tmp_path)], capture_output=True, text=True,
                       timeout=300)
    assert d.returncode == 0, d.stderr
    got = json.loads(d.stdout)
    assert got["first"]["rc"] == 0, got["first"]["err"]
    assert "No space left on device" in got["second"]["err"], got["second"]["err"]
    assert len(got["files"]) == 40
    counts = set()
    for name, text in got["files"].items():
        assert text.endswith("\n"), f"{name}: a cut row at the end: {text[-80:]!r}"
        rows = list(csv.reader(io.StringIO(text, newline="")))
        assert rows[0][0] == "run_id" and all(len(r) == len(rows[0]) for r in rows), name
        by_run = {}
        for r in rows[1:]:
            by_run[r[0]] = by_run.get(r[0], 0) + 1
        counts.add(by_run.get("R1", 0))
        assert by_run["R0"] == 2 and by_run.get("R1", 0) in (0, 12), (name, by_run)
    assert 0 in counts, "the disk never ran out: the test proves nothing"
    third = got["third"]
    assert third["rc"] == 0 and "corrupt" not in third["err"], third["err"]
