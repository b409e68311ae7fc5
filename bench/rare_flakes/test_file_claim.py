# SPDX-License-Identifier: MIT
"""A check-then-act on a file between two processes: a child and the test both claim a job by
creating a marker file when it does not exist yet. The child says it is about to claim; the
test does its own bookkeeping first, so the child has claimed by the time the test looks,
unless the child is held up between its check and its create."""
import os
import subprocess
import sys

CHILD = r"""
import os, sys
marker, ready = sys.argv[1], int(sys.argv[2])
os.write(ready, b"r")
if not os.path.exists(marker):
    fd = os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
    os.write(fd, b"child")
    os.close(fd)
"""


def test_job_claimed_once(tmp_path):
    marker = tmp_path / "claimed"
    r, w = os.pipe()
    child = subprocess.Popen([sys.executable, "-S", "-c", CHILD, str(marker), str(w)],
                             pass_fds=(w,))
    os.close(w)
    try:
        assert os.read(r, 1) == b"r"    # the child is about to claim
        sum(range(100000))              # the test's own bookkeeping (a few milliseconds)
        if not marker.exists():
            fd = os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            os.write(fd, b"test")
            os.close(fd)
    finally:
        os.close(r)
        status = child.wait()
    assert status == 0, "the child found the job claimed between its check and its create"
