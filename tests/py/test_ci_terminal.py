# SPDX-License-Identifier: MIT
"""What a hunt prints: one character or line per test, one short-summary line per test and
failure cluster, a bounded number of tracebacks, pytest's counts unchanged, and a progress
line only on a terminal (a pseudo-terminal here), also under xdist."""
import os
import pty
import re
import select
import subprocess
import sys

import pytest

from fh_plugin import PLUGIN, fh, needs_autoload  # noqa: F401

SUITE = """
import pytest
N = {}
@pytest.mark.parametrize("k", range(40))
def test_t(k):
    N[k] = N.get(k, 0) + 1
    if k % 4 == 0:
        assert N[k] % 5, f"fifth attempt of {k}"
    if k == 1:
        raise KeyError("always")
def test_skip():
    pytest.skip("no")
"""


def test_output_grows_with_tests_not_attempts(fh):
    fh.pytester.makepyfile(test_t=SUITE)
    fh.mp.setenv("COLUMNS", "80")
    r10 = fh.run("--fh", "--fh-runs=10")
    r10.assert_outcomes(passed=10 * 39 - 20, failed=10 + 20, skipped=10)
    r100 = fh.run("--fh", "--fh-runs=100")
    r100.assert_outcomes(passed=100 * 39 - 200, failed=100 + 200, skipped=100)
    size10, size100 = len(r10.stdout.str()), len(r100.stdout.str())
    assert size100 < size10 * 1.1, (size10, size100)
    out = r100.stdout.str()
    # one line per test and cluster: 10 flaky tests, 1 broken
    lines = [x for x in out.splitlines() if x.startswith("FAILED ")]
    assert len(lines) == 11
    assert "FAILED test_t.py::test_t[1] - 100/100 attempts, cluster " in out
    assert "FAILED test_t.py::test_t[0] - 20/100 attempts, cluster " in out
    # one character per test: f flaky, F broken, . stable, s skipped
    progress = re.search(r"^test_t\.py ([.fFs]+) +\[100%\]$", out, re.M)
    assert progress and progress.group(1) == "fF..f...f...f...f...f...f...f...f...f...s", out
    # full tracebacks for 10 of the 11 clusters, then a note
    assert out.count("fifth attempt of") >= 10
    assert sum(1 for x in out.splitlines() if re.match(r"^_+ test_t\[\d+\] _+$", x)) == 10
    assert "full tracebacks above for the first 10 of 11 failure clusters" in out


def test_verbose_lines_per_test(fh):
    fh.pytester.makepyfile(test_t=SUITE)
    r = fh.run("--fh", "--fh-runs=10", "-v", "-k", "t[0] or t[1] or t[2] or skip")
    out = r.stdout.str()
    assert "test_t.py::test_t[0]  FLAKY (2/10 attempts failed)" in out
    assert "test_t.py::test_t[1]  BROKEN (10/10 attempts failed)" in out
    assert "test_t.py::test_t[2]  STABLE (10 attempts)" in out
    assert "test_t.py::test_skip  SKIPPED (10 attempts)" in out
    assert " PASSED" not in out


def test_letters_blanked_with_a_third_party_teststatus(fh):
    """Another plugin answers pytest_report_teststatus: its categories count, its letters
    are not printed per attempt."""
    fh.pytester.makeconftest("""
        def pytest_report_teststatus(report, config):
            if report.when == "call" and report.passed:
                return "passed", "P", "PASSED-ISH"
    """)
    fh.pytester.makepyfile(test_x="def test_a():\n    pass\ndef test_b():\n    assert 0\n")
    r = fh.run("--fh", "--fh-runs=7")
    r.assert_outcomes(passed=7, failed=7)
    assert re.search(r"^test_x\.py \.F +\[100%\]$", r.stdout.str(), re.M), r.stdout.str()
    assert "PP" not in r.stdout.str() and "PASSED-ISH" not in r.stdout.str()


def run_pty(cmd, cwd, env):
    pid, fd = pty.fork()
    if pid == 0:  # the child: exec right away
        os.chdir(cwd)
        os.execve(cmd[0], cmd, env)
    out = b""
    while True:
        try:
            r, _, _ = select.select([fd], [], [], 120)
        except InterruptedError:
            continue
        if not r:
            break
        try:
            d = os.read(fd, 65536)
        except OSError:
            break
        if not d:
            break
        out += d
    os.close(fd)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status), out.decode("utf-8", "replace")


@pytest.mark.parametrize("xdist", [False, pytest.param(True, marks=needs_autoload("pytest-xdist"))])
def test_progress_line_on_a_terminal_only(fh, xdist):
    fh.pytester.makepyfile(test_p="""
        import time, pytest
        @pytest.mark.parametrize("i", range(8))
        def test_p(i):
            time.sleep(0.01)
    """)
    # the fh fixture put plugin/ first on PYTHONPATH (and kept the pytest this runs under)
    env = dict(os.environ, TERM="xterm", COLUMNS="120")
    assert env["PYTHONPATH"].split(os.pathsep)[0] == str(PLUGIN)
    args = [sys.executable, "-m", "pytest", "-p", "pytest_flakehunter", "-p", "no:cacheprovider",
            "--fh", "--fh-runs=20", *(["-n", "2"] if xdist else [])]
    rc, out = run_pty(args, fh.path, env)
    assert rc == 0, out
    status = re.findall(r"\x1b7 ([\d,]+)/([\d,]+) attempts, ([\d.]+s) elapsed, ETA ([^\x1b]+)"
                        r"\x1b8", out)
    assert status, out
    done, planned = (int(x.replace(",", "")) for x in status[-1][:2])
    assert 0 < done <= planned == 160
    assert "\x1b[K" in out  # erased before anything else is written
    assert re.search(r"160 passed", out)
    # the same run into a pipe: no status, no escape sequences of ours
    p = subprocess.run(args, cwd=fh.path, env=env, capture_output=True, text=True)
    assert p.returncode == 0
    assert "\x1b7" not in p.stdout and "attempts, " not in p.stdout and "ETA" not in p.stdout
