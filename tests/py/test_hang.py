# SPDX-License-Identifier: MIT
"""Hung attempts, through the real path: real pytest with --fh under the real preload, real
sockets, threads and children. A hung attempt gets its hang snapshot in the trace (read back with
fh-analyze dump), is stopped, is recorded with "hung": true, and the hunt goes on; a test thread
that cannot be interrupted ends the session with a report; SIGINT/SIGTERM stop the session with a
report. Every attempt of every test must be in the records and the JSON summary, and no child of
a test may be left running."""
import json
import os
import re
import signal
import subprocess
import sys
import textwrap
import time

import pytest

import fh_preload as fp
from conftest import FH_ANALYZE, FH_LIB, ROOT
from fh_plugin import needs_autoload

# Each test file gets a unique sleep length so leftover children can be found by command line.
HANGS = """
import os, socket, subprocess, sys, threading, time
import pytest

SLEEP = "{sleep}"

def test_recv_silent_peer():
    a, b = socket.socketpair()
    a.recv(10)

def test_child_never_exits():
    p = subprocess.Popen(["sleep", SLEEP])
    p.wait()

def test_deadlock():
    a = threading.Lock()
    b = threading.Lock()
    def one():
        with a:
            time.sleep(0.05)
            with b:
                pass
    def two():
        with b:
            time.sleep(0.05)
            with a:
                pass
    t1 = threading.Thread(target=one, name="worker-one", daemon=True)
    t2 = threading.Thread(target=two, name="worker-two", daemon=True)
    t1.start(); t2.start()
    t1.join()

def test_long_sleep():
    time.sleep(60)

@pytest.fixture
def slow_setup():
    time.sleep(60)
    yield

def test_setup_hangs(slow_setup):
    pass

@pytest.fixture
def slow_teardown():
    yield
    a, b = socket.socketpair()
    a.recv(1)

def test_teardown_hangs(slow_teardown):
    pass

def test_after():
    pass
"""

NAMES = ["test_recv_silent_peer", "test_child_never_exits", "test_deadlock", "test_long_sleep",
         "test_setup_hangs", "test_teardown_hangs", "test_after"]


def run_pytest(suite, *args, preload=True, timeout=240, runs=2):
    env = dict(os.environ)
    for k in ("FH_TRACE_DIR", "LD_PRELOAD", "PYTEST_ADDOPTS", "FH_STACK_MS"):
        env.pop(k, None)
    if preload:
        env["LD_PRELOAD"] = str(FH_LIB)
    env["FH_ANALYZE"] = str(FH_ANALYZE)
    env["PYTHONPATH"] = str(ROOT / "plugin")
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    cmd = ["/usr/bin/python3", "-m", "pytest", "-p", "pytest_flakehunter", "-p",
           "no:cacheprovider", "-q", "--fh", "--fh-runs", str(runs), "--fh-no-history",
           "--fh-report", str(suite / "report.html"), *args]
    t0 = time.monotonic()
    p = subprocess.run(cmd, cwd=suite, env=env, capture_output=True, text=True,
                       timeout=timeout)
    p.elapsed = time.monotonic() - t0
    return p


def write_suite(tmp_path, src, name="test_hangs.py", **fmt):
    suite = tmp_path / "suite"
    suite.mkdir(exist_ok=True)
    (suite / name).write_text(textwrap.dedent(src).format(**fmt) if fmt else
                              textwrap.dedent(src))
    return suite


def records(suite):
    runs = sorted((suite / ".flakehunter" / "runs").iterdir())
    out = {}
    for f in sorted(runs[-1].glob("attempts-*.jsonl")):
        for line in f.read_text().splitlines():
            rec = json.loads(line)
            out.setdefault(rec["nodeid"].split("::")[-1], []).append(rec)
    return runs[-1], out


def snapshots(run_dir):
    """The snapshot records of every trace file: a list of snapshots, each a dict with the
    head line and its thread/lock/child lines (with their stack lines)."""
    p = subprocess.run([str(FH_ANALYZE), "dump", *map(str, fp.trace_files(run_dir / "trace"))],
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    snaps, cur, last = [], None, None
    for line in p.stdout.splitlines():
        if "### hang snapshot" in line:
            cur = {"head": line, "lines": []}
            snaps.append(cur)
            last = None
        elif "### " in line and cur is not None:
            last = {"line": line.split("### ", 1)[1], "stack": []}
            cur["lines"].append(last)
        elif line.startswith("    at ") and last is not None:
            last["stack"].append(line.strip())
        elif not line.startswith("    at "):
            last = None
    return snaps


def hang_once(tmp_path, src, limit, name):
    """Runs a suite whose one test `name` hangs, once, under --fh-timeout limit; returns the
    suite's directory and the hung attempt's snapshot."""
    suite = write_suite(tmp_path, src)
    p = run_pytest(suite, "--fh-timeout", str(limit), runs=1)
    assert p.returncode == 1, p.stdout[-3000:] + p.stderr[-3000:]
    run_dir, recs = records(suite)
    assert recs[name][0]["hung"] is True
    snaps = snapshots(run_dir)
    assert len(snaps) == 1, [s["head"] for s in snaps]
    return suite, snaps[0]


def leftover(marker):
    """Processes whose command line holds marker (children a hung attempt left behind)."""
    out = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                cmd = f.read().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if marker in cmd and "pytest" not in cmd:
            out.append((pid, cmd))
    return out


def line_of(suite, text, name="test_hangs.py", after=0):
    """The line number of the first line of the suite file after line `after` that contains
    text."""
    for i, line in enumerate((suite / name).read_text().splitlines(), 1):
        if i > after and text in line:
            return i
    raise AssertionError(text)


def check_all_attempts(recs, names, runs):
    for n in names:
        assert [r["attempt"] for r in recs.get(n, [])] == list(range(1, runs + 1)), (n, recs.get(n))


def test_fh_timeout_stops_every_kind_of_hang(tmp_path):
    sleep = "97.%d" % (os.getpid() % 1000)
    suite = write_suite(tmp_path, HANGS, sleep=sleep)
    p = run_pytest(suite, "--fh-timeout", "1")
    assert p.returncode == 1, p.stdout[-3000:] + p.stderr[-3000:]
    # 6 hanging tests x 2 attempts at ~1 s each, plus the 1 s grace the children get: well under
    # the 60 s any of them would take on its own
    assert p.elapsed < 45, p.elapsed
    run_dir, recs = records(suite)
    check_all_attempts(recs, NAMES, 2)
    for n in NAMES[:-1]:
        for r in recs[n]:
            assert r["hung"] is True and r["hang"]["by"] == "fh-timeout", r
            assert r["hang"]["stopped"] and r["hang"]["snapshot"] and r["hang"]["limit_s"] == 1.0
            assert r["error"]["type"] == "AttemptTimeout" and "Timeout >1s" in r["error"]["message"]
            assert r["duration_s"] < 10
    assert [r["outcome"] for r in recs["test_after"]] == ["passed", "passed"]
    assert "hung" not in recs["test_after"][0]
    assert {r["outcome"] + "/" + r["when"] for r in recs["test_setup_hangs"]} == {"error/setup"}
    assert {r["outcome"] + "/" + r["when"] for r in recs["test_teardown_hangs"]} == {"error/teardown"}
    assert {r["outcome"] + "/" + r["when"] for r in recs["test_recv_silent_peer"]} == {"failed/call"}
    # the frames end in the test, not in the plugin's handler
    assert recs["test_recv_silent_peer"][0]["frames"][-1]["source"] == "a.recv(10)"
    # pytest's counts: 4 failed calls x 2, 2 errors x 2 (setup and teardown), 1 + 1 passed
    # (teardown errors come with a passed call)
    assert "8 failed" in p.stdout and "4 errors" in p.stdout, p.stdout[-1500:]
    assert not leftover("sleep " + sleep)
    # the JSON summary has every attempt
    summary = json.loads((suite / "report.json").read_text())
    by = {t["nodeid"].split("::")[-1]: t for t in summary["tests"]}
    for n in NAMES:
        assert by[n]["attempts"] == 2 and len(by[n]["attempt_log"]) == 2
    # one snapshot per hung attempt, each naming what the test thread was blocked in
    snaps = snapshots(run_dir)
    assert len(snaps) == 12, [s["head"] for s in snaps]
    assert all("(fh-timeout, limit 1.000s)" in s["head"] for s in snaps)

    def main_line(s):
        return next(x for x in s["lines"] if '"MainThread"' in x["line"])
    recv, child, dead, slp, setup, tear = (snaps[i] for i in (0, 2, 4, 6, 8, 10))
    assert "in recvfrom call recv" in main_line(recv)["line"]
    L = lambda text: line_of(suite, text)  # noqa: E731
    assert any(f"test_hangs.py:{L('a.recv(10)')} in test_recv_silent_peer" in f
               for f in main_line(recv)["stack"])
    assert any(f.startswith("at native libc.so.6 __recv") or "recv" in f.split(" in ")[0]
               for f in main_line(recv)["stack"]), main_line(recv)["stack"]
    assert "in wait4 call waitpid" in main_line(child)["line"]
    kid = [x for x in child["lines"] if x["line"].startswith("child ")]
    assert len(kid) == 1 and '"/usr/bin/sleep" argv0="sleep" in clock_nanosleep' in kid[0]["line"], kid
    assert "in clock_nanosleep call clock_nanosleep" in main_line(slp)["line"] or \
        "call sleep" in main_line(slp)["line"] or "nanosleep" in main_line(slp)["line"]
    assert any("in slow_setup" in f for f in main_line(setup)["stack"])
    assert any("in slow_teardown" in f for f in main_line(tear)["stack"])
    # the deadlock: each worker waits for a lock the other holds, with where each acquired it
    one = next(x for x in dead["lines"] if '"worker-one"' in x["line"])
    two = next(x for x in dead["lines"] if '"worker-two"' in x["line"])
    tid1 = one["line"].split()[1].split("/")[1]
    tid2 = two["line"].split()[1].split("/")[1]
    locks = [x for x in dead["lines"] if x["line"].startswith("lock ")]
    held = {(x["line"].split()[4], x["line"].split()[7]): x["stack"] for x in locks}
    assert (tid1, tid2) in held and (tid2, tid1) in held, dead
    src = (suite / "test_hangs.py").read_text().splitlines()
    one_a = next(i for i, x in enumerate(src, 1) if x.strip() == "with a:")
    two_b = next(i for i, x in enumerate(src, 1) if x.strip() == "with b:" and i > one_a + 3)
    one_b = one_a + 2
    two_a = two_b + 2
    assert any(f"test_hangs.py:{two_b} in test_deadlock.<locals>.two" in f for f in held[(tid1, tid2)])
    assert any(f"test_hangs.py:{one_a} in test_deadlock.<locals>.one" in f for f in held[(tid2, tid1)])
    assert any(f"test_hangs.py:{one_b} in test_deadlock.<locals>.one" in f for f in one["stack"])
    assert any(f"test_hangs.py:{two_a} in test_deadlock.<locals>.two" in f for f in two["stack"])

    # the analysis: every hanging test is diagnosed `hang`, with what its test thread waited for
    diag = {n: by[n]["diagnosis"] for n in NAMES}
    want = {"test_recv_silent_peer": "net", "test_child_never_exits": "proc",
            "test_deadlock": "lock", "test_long_sleep": "sleep", "test_setup_hangs": "sleep",
            "test_teardown_hangs": "net"}
    for n, on in want.items():
        assert (diag[n]["kind"], diag[n]["blocked_on"]) == ("hang", on), (n, diag[n])
        assert diag[n]["deadlock"] is (n == "test_deadlock"), diag[n]
        assert diag[n]["evidence"][-1 if n != "test_deadlock" else 1].startswith("2/2 hung attempts: ")
        for a in by[n]["attempt_log"]:
            assert a["hung"] is True
            h = a["trace"]["hang"]
            assert h["by"] == "fh-timeout" and h["limit_s"] == 1 and 0.9 < h["after_s"] < 3
            assert h["threads"][0]["main"] and h["threads"][0]["name"] == "MainThread"
    assert diag["test_after"]["kind"] == "stable"
    assert by["test_after"]["attempt_log"][0]["hung"] is False
    sentence = (f"Thread worker-one holds lock A (test_hangs.py:{one_a}) and waits for lock B, "
                f"held by worker-two (taken at test_hangs.py:{two_b}), which waits for A: a "
                f"deadlock.")
    assert diag["test_deadlock"]["evidence"][0] == sentence, diag["test_deadlock"]
    h = by["test_deadlock"]["attempt_log"][0]["trace"]["hang"]
    assert h["deadlock"] and h["sentence"] == sentence
    w1 = next(t for t in h["threads"] if t["name"] == "worker-one")
    w2 = next(t for t in h["threads"] if t["name"] == "worker-two")
    assert h["cycle"] == [w1["tid"], w2["tid"]]
    assert (w1["call"], w1["category"]) == ("sem_wait", "lock") and w1["waited_s"] > 0.5
    assert w1["holder"]["tid"] == w2["tid"] and w1["holder"]["name"] == "worker-two"
    assert w1["holder"]["site"]["line"] == two_b and w2["holder"]["site"]["line"] == one_a
    assert 0.5 < w1["holder"]["since_s"] < 3 and w1["holder"]["stack"] == w2["stack"]
    # the recv: the test thread's call and its stacks, Python and native
    r0 = by["test_recv_silent_peer"]["attempt_log"][0]["trace"]["hang"]["threads"][0]
    assert (r0["call"], r0["category"], r0["syscall"]) == ("recv", "net", "recvfrom")
    kinds = {f["kind"] for f in r0["stack"]}
    assert kinds == {"python", "native"}, r0["stack"]
    ev = diag["test_recv_silent_peer"]["evidence"][0]
    # a socketpair's peer is an unnamed unix socket ("unix:", resolved when the recv ended)
    # the recv starts a little after the attempt, whose 1 s limit the snapshot ends: on a busy
    # machine that little is 10 ms or more ("waited 0.99 s")
    waited = re.search(r"waited (\d+(?:\.\d+)?) s with no reply", ev)
    assert ev.startswith("2/2 hung attempts: recv ") and waited and \
        0.9 <= float(waited.group(1)) <= 1.5, ev
    # the child: its own call, named in the evidence
    c0 = by["test_child_never_exits"]["attempt_log"][0]["trace"]["hang"]
    kid = c0["children"][0]
    assert (kid["exe"], kid["argv0"], kid["category"]) == ("/usr/bin/sleep", "sleep", "sleep")
    assert kid["call"] in ("nanosleep", "clock_nanosleep") and kid["waited_s"] > 0.5
    assert "itself in " + kid["call"] + " (sleep)" in diag["test_child_never_exits"]["evidence"][0]
    assert "asked to sleep 60 s" in diag["test_long_sleep"]["evidence"][0]
    # the terminal names the hung tests first, the deadlock by its sentence
    lines = [l for l in p.stdout.splitlines() if l.startswith("  hung   ") or
             l.startswith("  broken ")]
    assert lines[0].startswith("  hung   ") and len([l for l in lines if "hung" in l[:9]]) == 6
    assert any(sentence in l for l in lines if "test_deadlock" in l)
    # the report's hang view
    html = (suite / "report.html").read_text()
    assert html.count('<section class="hang">') == 6
    assert sentence in html and 'class="waitfor cycle"' in html


STORM = """
import threading, time

def test_deadlock_in_a_storm():
    a = threading.Lock()
    b = threading.Lock()
    many = [threading.Lock() for _ in range(20000)]
    def one():
        with a:
            time.sleep(0.05)
            with b:
                pass
    def two():
        with b:
            time.sleep(0.05)
            with a:
                pass
    def storm():
        time.sleep(0.3)   # the two are deadlocked by now
        for lock in many:
            with lock:
                pass
    t1 = threading.Thread(target=one, name="worker-one", daemon=True)
    t2 = threading.Thread(target=two, name="worker-two", daemon=True)
    t3 = threading.Thread(target=storm, name="storm")
    t1.start(); t2.start(); t3.start()
    t3.join()
    t1.join()
"""


def test_deadlock_named_amid_a_lock_storm(tmp_path):
    # 20,000 other locks taken and released after the deadlock's two (each address meets the
    # deadlock's in the lock table's sets many times over): both holders still named, with
    # where they took their lock, and the cycle found
    suite, snap = hang_once(tmp_path, STORM, 2, "test_deadlock_in_a_storm")
    tids = {}
    for x in snap["lines"]:
        m = re.match(r'thread \d+/(\d+) "(worker-one|worker-two)"', x["line"])
        if m:
            tids[m.group(2)] = m.group(1)
    held = {(x["line"].split()[4], x["line"].split()[7]): x["stack"]
            for x in snap["lines"] if x["line"].startswith("lock ")}
    one, two = tids["worker-one"], tids["worker-two"]
    assert (one, two) in held and (two, one) in held, snap
    one_a = line_of(suite, "with a:")
    two_b = line_of(suite, "with b:", after=one_a + 3)
    assert any(f"test_hangs.py:{one_a} in " in f for f in held[(two, one)]), held
    assert any(f"test_hangs.py:{two_b} in " in f for f in held[(one, two)]), held
    summary = json.loads((suite / "report.json").read_text())
    diag = summary["tests"][0]["diagnosis"]
    assert diag["kind"] == "hang" and diag["deadlock"] is True, diag


@needs_autoload("pytest-xdist")
def test_hang_inside_xdist_worker(tmp_path):
    sleep = "96.%d" % (os.getpid() % 1000)
    suite = write_suite(tmp_path, HANGS, sleep=sleep)
    p = run_pytest(suite, "--fh-timeout", "1", "-n", "2")
    assert p.returncode == 1, p.stdout[-3000:] + p.stderr[-3000:]
    run_dir, recs = records(suite)
    check_all_attempts(recs, NAMES, 2)
    assert all(r["hung"] for n in NAMES[:-1] for r in recs[n])
    assert {r["worker"] for n in NAMES for r in recs[n]} <= {"gw0", "gw1"}
    assert len(snapshots(run_dir)) == 12
    assert not leftover("sleep " + sleep)


SMALL = """
import socket, subprocess, time
SLEEP = "{sleep}"
def test_recv():
    a, b = socket.socketpair()
    a.recv(10)
def test_child():
    subprocess.Popen(["sleep", SLEEP]).wait()
def test_ok():
    pass
"""


@needs_autoload("pytest-timeout")
@pytest.mark.parametrize("method", ["signal", "thread"])
def test_pytest_timeout_hangs_are_snapshotted_and_the_hunt_goes_on(tmp_path, method):
    sleep = "95.%d" % (os.getpid() % 1000)
    suite = write_suite(tmp_path, SMALL, sleep=sleep)
    p = run_pytest(suite, "--timeout", "1", "--timeout-method", method)
    assert p.returncode == 1, p.stdout[-3000:] + p.stderr[-3000:]
    run_dir, recs = records(suite)
    check_all_attempts(recs, ["test_recv", "test_child", "test_ok"], 2)
    for n in ("test_recv", "test_child"):
        for r in recs[n]:
            assert r["hung"] and r["hang"]["by"] == "pytest-timeout", r
            assert "Timeout >1s" in r["error"]["message"]
    snaps = snapshots(run_dir)
    assert len(snaps) == 4 and all("pytest-timeout" in s["head"] for s in snaps)
    assert (suite / "report.json").exists(), p.stdout[-3000:] + p.stderr[-3000:]
    summary = json.loads((suite / "report.json").read_text())
    for t in summary["tests"]:
        if "test_ok" not in t["nodeid"]:
            assert t["diagnosis"]["kind"] == "hang", t["diagnosis"]
            assert "(pytest-timeout)" in t["diagnosis"]["summary"]
    assert not leftover("sleep " + sleep)


@needs_autoload("pytest-timeout")
def test_pytest_timeout_func_only(tmp_path):
    # func_only: the limit holds for the call phase only (a slow setup is not stopped)
    suite = write_suite(tmp_path, """
        import socket, time, pytest
        @pytest.fixture
        def slow():
            time.sleep(0.8)
        @pytest.mark.timeout(0.5, func_only=True)
        def test_call_hangs(slow):
            a, b = socket.socketpair()
            a.recv(1)
    """)
    p = run_pytest(suite, runs=2)
    _, recs = records(suite)
    for r in recs["test_call_hangs"]:
        assert r["hung"] and r["hang"]["by"] == "pytest-timeout", (r, p.stdout[-1500:])
        assert r["outcome"] == "failed" and r["when"] == "call"
        assert r["phases"]["setup"] > 0.7 and r["phases"]["call"] < 3


@needs_autoload("pytest-timeout")
def test_smaller_limit_wins(tmp_path):
    suite = write_suite(tmp_path, SMALL, sleep="94.5")
    p = run_pytest(suite, "--timeout", "5", "--fh-timeout", "0.5", "-k", "recv", runs=1)
    _, recs = records(suite)
    assert recs["test_recv"][0]["hang"]["by"] == "fh-timeout", p.stdout[-2000:]
    assert recs["test_recv"][0]["duration_s"] < 4
    p = run_pytest(suite, "--timeout", "0.5", "--fh-timeout", "5", "-k", "recv", runs=1)
    _, recs = records(suite)
    assert recs["test_recv"][0]["hang"]["by"] == "pytest-timeout"
    assert recs["test_recv"][0]["duration_s"] < 4


# A C loop that waits for ever and retries on EINTR (the GIL released: a ctypes call), as C
# libraries do; the interruption cannot stop it.
EINTR_C = r"""
#include <errno.h>
#include <time.h>
int wait_for_ever(void)
{
    for (;;) {
        struct timespec ts = { 3600, 0 };
        while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
            ;
    }
    return 0;
}
"""

STUCK = """
import ctypes, subprocess
LIB = {lib!r}
def test_before():
    pass
def test_stuck():
    subprocess.Popen(["sleep", "{sleep}"])
    ctypes.CDLL(LIB).wait_for_ever()
def test_never_reached():
    pass
"""

# the same hang in a fixture's setup: the record written for it says setup (read off the stack)
STUCK_IN_SETUP = """
import ctypes, subprocess, pytest
LIB = {lib!r}
@pytest.fixture
def stuck_fixture():
    subprocess.Popen(["sleep", "{sleep}"])
    ctypes.CDLL(LIB).wait_for_ever()
def test_before():
    pass
def test_stuck(stuck_fixture):
    pass
def test_never_reached():
    pass
"""


def build_eintr_lib(tmp_path):
    c = tmp_path / "eintr.c"
    c.write_text(EINTR_C)
    so = tmp_path / "libeintr.so"
    subprocess.run(["cc", "-shared", "-fPIC", "-O1", "-o", str(so), str(c)], check=True)
    return so


@pytest.mark.parametrize("phase", ["call", "setup"])
def test_uninterruptible_hang_ends_the_session_with_a_report(tmp_path, phase):
    sleep = "93.%d%d" % (os.getpid() % 1000, phase == "setup")
    so = build_eintr_lib(tmp_path)
    suite = write_suite(tmp_path, STUCK if phase == "call" else STUCK_IN_SETUP, lib=str(so),
                        sleep=sleep)
    p = run_pytest(suite, "--fh-timeout", "1", "-p", "no:randomly", timeout=120)
    assert p.returncode == 2, p.stdout[-3000:] + p.stderr[-3000:]
    assert "the hunt stopped at test_hangs.py::test_stuck attempt 1" in p.stdout
    assert "stuck in C code" in p.stdout
    run_dir, recs = records(suite)
    assert [r["outcome"] for r in recs["test_before"]] == ["passed", "passed"]
    stuck = recs["test_stuck"]
    assert len(stuck) == 1 and stuck[0]["hung"] and stuck[0]["hang"]["ended"] == "session"
    assert (stuck[0]["outcome"], stuck[0]["when"]) == (
        ("failed", "call") if phase == "call" else ("error", "setup"))
    assert "test_never_reached" not in recs
    summary = json.loads((suite / "report.json").read_text())
    assert {t["nodeid"].split("::")[-1] for t in summary["tests"]} == {"test_before", "test_stuck"}
    snaps = snapshots(run_dir)
    assert len(snaps) == 1
    main = next(x for x in snaps[0]["lines"] if '"MainThread"' in x["line"])
    assert "in nanosleep" in main["line"] or "in clock_nanosleep" in main["line"], main
    assert any("wait_for_ever" in f for f in main["stack"]), main["stack"]
    assert any(("in test_stuck" if phase == "call" else "in stuck_fixture") in f
               for f in main["stack"])
    assert not leftover("sleep " + sleep)
    d = next(t for t in summary["tests"] if t["nodeid"].endswith("test_stuck"))["diagnosis"]
    assert d["kind"] == "hang" and d["blocked_on"] == "sleep", d
    assert any("could not be interrupted" in e and "the session ended there" in e
               for e in d["evidence"]), d


@needs_autoload("pytest-xdist")
def test_uninterruptible_hang_in_a_worker_is_replaced(tmp_path):
    sleep = "92.%d" % (os.getpid() % 1000)
    so = build_eintr_lib(tmp_path)
    suite = write_suite(tmp_path, STUCK, lib=str(so), sleep=sleep)
    p = run_pytest(suite, "--fh-timeout", "1", "-n", "1", timeout=120)
    assert p.returncode == 1, p.stdout[-3000:] + p.stderr[-3000:]
    run_dir, recs = records(suite)
    stuck = recs["test_stuck"]
    assert len(stuck) == 1 and stuck[0]["hang"]["ended"] == "worker", stuck
    # the replacement worker ran the rest
    assert [r["outcome"] for r in recs["test_never_reached"]] == ["passed", "passed"]
    assert [r["outcome"] for r in recs["test_before"]] == ["passed", "passed"]
    assert not leftover("sleep " + sleep)


INTERRUPTED = """
import socket, time
def test_first():
    pass
def test_waits():
    a, b = socket.socketpair()
    open({flag!r}, "w").close()
    a.recv(10)
def test_never():
    pass
"""

# the same wait in a fixture's teardown: the interrupted record says teardown
INTERRUPTED_IN_TEARDOWN = """
import socket, time, pytest
@pytest.fixture
def waits_at_the_end():
    yield
    a, b = socket.socketpair()
    open({flag!r}, "w").close()
    a.recv(10)
def test_first():
    pass
def test_waits(waits_at_the_end):
    pass
def test_never():
    pass
"""


@pytest.mark.parametrize("sig, phase", [(signal.SIGINT, "call"), (signal.SIGTERM, "call"),
                                        (signal.SIGINT, "teardown")])
def test_sigint_sigterm_stop_the_hunt_with_a_report(tmp_path, sig, phase):
    flag = tmp_path / "started"
    suite = write_suite(tmp_path, INTERRUPTED if phase == "call" else INTERRUPTED_IN_TEARDOWN,
                        flag=str(flag))
    env = dict(os.environ)
    for k in ("FH_TRACE_DIR", "PYTEST_ADDOPTS"):
        env.pop(k, None)
    env.update(LD_PRELOAD=str(FH_LIB), FH_ANALYZE=str(FH_ANALYZE),
               PYTHONPATH=str(ROOT / "plugin"), PYTHONDONTWRITEBYTECODE="1")
    cmd = ["/usr/bin/python3", "-m", "pytest", "-p", "pytest_flakehunter", "-p",
           "no:cacheprovider", "-q", "--fh", "--fh-runs", "2", "--fh-no-history",
           "--fh-report", str(suite / "report.html")]
    proc = subprocess.Popen(cmd, cwd=suite, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        for _ in range(300):
            if flag.exists():
                break
            time.sleep(0.05)
        time.sleep(0.3)
        proc.send_signal(sig)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 2, out[-2000:] + err[-2000:]
    run_dir, recs = records(suite)
    assert [r["outcome"] for r in recs["test_first"]] == ["passed", "passed"]
    w = recs["test_waits"]
    assert len(w) == 1 and w[0]["interrupted"] is True and w[0]["hung"] is False
    assert w[0]["error"]["type"] == "KeyboardInterrupt"
    assert (w[0]["outcome"], w[0]["when"]) == (
        ("failed", "call") if phase == "call" else ("error", "teardown"))
    assert f"during {phase}" in w[0]["error"]["message"]
    name = signal.Signals(sig).name
    assert w[0]["hang"]["by"] == name and w[0]["hang"]["snapshot"] is True
    assert (suite / "report.json").exists() and (suite / "report.html").exists()
    snaps = snapshots(run_dir)
    assert len(snaps) == 1 and f"({name}" in snaps[0]["head"]


def test_fh_timeout_option_checks(tmp_path):
    suite = write_suite(tmp_path, "def test_x():\n    pass\n")
    for bad in ("0", "-1", "abc", "inf"):
        p = run_pytest(suite, "--fh-timeout", bad, preload=False, runs=1)
        assert p.returncode == 4 and "--fh-timeout" in p.stderr, (bad, p.stderr)
    (suite / "pytest.ini").write_text("[pytest]\nfh_timeout = 0.25\n")
    (suite / "test_hangs.py").write_text("import time\ndef test_x():\n    time.sleep(30)\n")
    p = run_pytest(suite, preload=False, runs=1)
    _, recs = records(suite)
    r = recs["test_x"][0]
    # without the preload: stopped and recorded, no snapshot
    assert r["hung"] and r["hang"]["limit_s"] == 0.25 and r["hang"]["snapshot"] is False
    assert p.returncode == 1
    d = json.loads((suite / "report.json").read_text())["tests"][0]["diagnosis"]
    assert d["kind"] == "hang" and d["blocked_on"] is None
    assert "no hang snapshot" in d["evidence"][0]


def test_faulthandler_timeout_takes_the_snapshot(tmp_path):
    # pytest's faulthandler_timeout dumps stacks and lets the test go on; under --fh the
    # attempt that passes it gets the snapshot and "hung": true, and finishes on its own
    suite = write_suite(tmp_path, """
        import time
        def test_slow():
            time.sleep(1.2)
    """)
    p = run_pytest(suite, "-o", "faulthandler_timeout=0.4", runs=1)
    assert p.returncode == 0, p.stdout[-2000:] + p.stderr[-2000:]
    run_dir, recs = records(suite)
    r = recs["test_slow"][0]
    assert r["outcome"] == "passed" and r["hung"] is True, r
    assert r["hang"] == {"by": "faulthandler", "limit_s": 0.4, "stopped": False,
                         "snapshot": True}
    snaps = snapshots(run_dir)
    assert len(snaps) == 1 and "(faulthandler" in snaps[0]["head"]
    d = json.loads((suite / "report.json").read_text())["tests"][0]["diagnosis"]
    assert d["kind"] == "stable"   # it finished on its own: not a hang


MUTEX = """
import ctypes, threading, time
libc = ctypes.CDLL(None)
M = ctypes.create_string_buffer(40)          # a pthread_mutex_t, PTHREAD_MUTEX_INITIALIZER

def holder():
    libc.pthread_mutex_lock(M)
    time.sleep(60)

def test_waits_on_a_c_mutex():
    h = threading.Thread(target=holder, name="mutex-holder", daemon=True)
    h.start()
    time.sleep(0.1)
    w = threading.Thread(target=lambda: libc.pthread_mutex_lock(M), name="mutex-waiter",
                         daemon=True)
    w.start()
    w.join()
"""


def test_mutex_holder_from_the_owner_field(tmp_path):
    # a thread blocked in pthread_mutex_lock (C, no wrapped call): the holder comes from the
    # mutex's owner field
    suite, snap = hang_once(tmp_path, MUTEX, 1, "test_waits_on_a_c_mutex")
    waiter = next(x for x in snap["lines"] if '"mutex-waiter"' in x["line"])
    holder = next(x for x in snap["lines"] if '"mutex-holder"' in x["line"])
    assert "in futex" in waiter["line"] and " call " not in waiter["line"], waiter
    htid = holder["line"].split()[1].split("/")[1]
    wtid = waiter["line"].split()[1].split("/")[1]
    lock = [x["line"] for x in snap["lines"] if x["line"].startswith(f"lock ") and
            f" wanted by {wtid} " in x["line"]]
    assert len(lock) == 1 and f"held by {htid} (mutex owner)" in lock[0], snap["lines"]
    summary = json.loads((suite / "report.json").read_text())
    h = summary["tests"][0]["attempt_log"][0]["trace"]["hang"]
    w = next(t for t in h["threads"] if t["name"] == "mutex-waiter")
    assert w["holder"]["source"] == "mutex owner" and w["holder"]["name"] == "mutex-holder"
    assert w["call"] == "futex" and w["category"] == "lock"
