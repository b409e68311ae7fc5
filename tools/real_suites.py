#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Runs real test suites that Debian ships, as a new user would, and prints what changed.

For each suite: plain pytest (no preload, no --fh), then `LD_PRELOAD=libfhtrace.so pytest --fh
--fh-runs R`, then the same with `-n 2` (xdist). Printed: pytest's outcome line of each run, and
for the hunts every flaky or broken test with its diagnosis kind and first evidence line, and
whether the evidence names a thread or process of the background (which it never should).

The suites (installed with apt-get install libpython3.11-testsuite python3-psutil
python3-twisted): CPython's test_asyncio.test_events and test_socket, psutil's test_process and
test_misc, twisted's test_process. Choose with arguments (names below); R with FH_SUITE_RUNS
(default 3). Everything is written under one temporary directory, removed at the end unless
FH_SUITE_KEEP=1. Uses FH_LIB and FH_ANALYZE (make sets them; defaults: build/).

    FH_BUILD=build /usr/bin/python3 tools/real_suites.py asyncio socket psutil twisted
"""
import json
import os
import pathlib
import re
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
# absolute: the suites run in directories of their own, and LD_PRELOAD must name the library
BUILD = pathlib.Path(os.environ.get("FH_BUILD", ROOT / "build")).resolve()
LIB = pathlib.Path(os.environ.get("FH_LIB", BUILD / "libfhtrace.so")).resolve()
ANALYZE = pathlib.Path(os.environ.get("FH_ANALYZE", BUILD / "fh-analyze")).resolve()
PYTHON = "/usr/bin/python3"
RUNS = int(os.environ.get("FH_SUITE_RUNS", "3"))

SUITES = {
    "asyncio": ["/usr/lib/python3.11/test/test_asyncio/test_events.py"],
    "socket": ["/usr/lib/python3.11/test/test_socket.py"],
    "psutil": ["/usr/lib/python3/dist-packages/psutil/tests/test_process.py",
               "/usr/lib/python3/dist-packages/psutil/tests/test_misc.py"],
    "twisted": ["/usr/lib/python3/dist-packages/twisted/test/test_process.py"],
}
# Tests deselected per suite, with the reason: on a Firecracker VM the vsock device exists,
# and test_socket's VSOCK stream test blocks in accept() for ever (plain pytest, no preload).
DESELECT = {"socket": ("not VSOCK", "AF_VSOCK tests hang in accept() on this VM, without us too")}
TIMEOUT = 2400


def env(preload):
    e = dict(os.environ)
    for k in ("LD_PRELOAD", "FH_TRACE_DIR", "PYTEST_ADDOPTS", "PYTHONPATH"):
        e.pop(k, None)
    e["PYTHONPATH"] = str(ROOT / "plugin")
    e["PYTHONDONTWRITEBYTECODE"] = "1"
    e["FH_ANALYZE"] = str(ANALYZE)
    if preload:
        e["LD_PRELOAD"] = str(LIB)
    return e


def outcome_line(out):
    for line in reversed(out.splitlines()):
        if re.search(r"\b(passed|failed|error|skipped)\b.* in [0-9.]+s", line):
            return line.strip("= ").strip()
    return "(no outcome line)"


def run(name, files, work, mode):
    d = work / f"{name}-{mode}"
    d.mkdir()
    # pytest-timeout turns a test that hangs into a failure instead of a lost run
    args = [PYTHON, "-m", "pytest", "-p", "no:cacheprovider", "-q", "-rN", "--timeout=300",
            "--rootdir", str(d), "-o", "addopts=", *files]
    fh = mode != "plain"
    if name in DESELECT:
        args += ["-k", DESELECT[name][0]]
    if fh:
        args += ["-p", "pytest_flakehunter", "--fh", f"--fh-runs={RUNS}",
                 f"--fh-report={d / 'report.html'}", f"--fh-json={d / 'summary.json'}",
                 f"--fh-history-dir={d / 'history'}", f"--fh-run-dir={d / 'runs'}"]
    if mode == "fh-n2":
        args += ["-n", "2"]
    t0 = time.monotonic()
    try:
        p = subprocess.run(args, cwd=d, env=env(fh), capture_output=True, text=True,
                           errors="replace", timeout=TIMEOUT)
        out, rc = p.stdout + p.stderr, p.returncode
    except subprocess.TimeoutExpired as e:
        out, rc = (e.stdout or b"").decode(errors="replace") if isinstance(e.stdout, bytes) \
            else (e.stdout or ""), "timeout"
    wall = time.monotonic() - t0
    print(f"{name:<8} {mode:<6} rc={rc} {wall:6.0f} s  {outcome_line(out)}")
    if not fh:
        return
    js = d / "summary.json"
    if not js.exists():
        print(f"    no JSON summary; the run printed:\n{out[-1500:]}")
        return
    s = json.loads(js.read_text())
    tests = s.get("tests", [])
    bad = [t for t in tests if t.get("verdict") in ("flaky", "broken")]
    counts = {}
    for t in tests:
        counts[t.get("verdict")] = counts.get(t.get("verdict"), 0) + 1
    print(f"    {len(tests)} tests: " + ", ".join(f"{v} {k}" for k, v in sorted(counts.items())))
    for t in bad:
        dg = t.get("diagnosis") or {}
        ev = (dg.get("evidence") or [""])[0]
        bg = any("background" in x or "started before" in x for x in dg.get("evidence") or [])
        print(f"    {t['verdict']:<6} {dg.get('kind', '?'):<11} {t['nodeid']}\n"
              f"           {ev[:200]}" + ("\n           (evidence cites the background)"
                                         if bg else ""))


def main(argv):
    names = argv or list(SUITES)
    for n in names:
        if n not in SUITES:
            print(f"real_suites: unknown suite {n!r}; known: {', '.join(SUITES)}")
            return 2
    missing = [f for n in names for f in SUITES[n] if not os.path.exists(f)]
    if missing:
        print("real_suites: missing " + ", ".join(missing) + "\n  apt-get install -y "
              "libpython3.11-testsuite python3-psutil python3-twisted")
        return 2
    if not LIB.exists() or not ANALYZE.exists():
        print("real_suites: build first (make)")
        return 2
    work = pathlib.Path(tempfile.mkdtemp(prefix="fh-suites-"))
    try:
        for n in names:
            if n in DESELECT:
                print(f"{n}: -k {DESELECT[n][0]!r}: {DESELECT[n][1]}")
            for mode in ("plain", "fh", "fh-n2"):
                run(n, SUITES[n], work, mode)
    finally:
        if os.environ.get("FH_SUITE_KEEP") == "1":
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
