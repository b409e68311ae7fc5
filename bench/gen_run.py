#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Writes a synthetic flakehunter run directory: meta.json + attempts-<pid>.jsonl in the exact
format the plugin writes (docs/FORMATS.md), for benchmarks and tests of fh-analyze.

    gen_run.py OUT_DIR --tests N --runs R --fail-rate F [--seed S] [--workers W] [--hostile]

The suite looks real: several modules, plain and parametrized tests (ids like "3-mysql"),
fixtures, and a few failure clusters (timeouts in a db client, connection refused, an assert in
the test itself, a KeyError deep in a library), each with its own frames and messages that carry
varying ids. About F of all attempts fail: most tests are stable, some are flaky at a higher rate,
a few are broken, a few are skipped. --hostile adds tests whose names and messages carry HTML,
CSV and formula injection, quotes, newlines and non-ASCII text, plus malformed and truncated
record lines. Deterministic for a given seed. Python 3 standard library only.
"""
import argparse
import datetime
import json
import os
import pathlib
import random
import sys

MODULES = ["api", "db", "cache", "auth", "jobs", "search", "billing", "upload"]
PARAMS = [None, None, ["1", "2", "3"], ["sqlite", "mysql", "postgres"], ["a-1", "b-2"],
          ["small", "large"]]
FIXTURES = [["tmp_path"], ["db"], ["client", "db"], ["monkeypatch"], [], ["event_loop", "client"]]

# Failure clusters: (error type, message template, frames below the test frame, when).
CLUSTERS = [
    ("TimeoutError", "timed out after {n} ms waiting for 127.0.0.1:5432",
     [("src/app/db.py", 88, "fetch", "rows = self.sock.recv(4096)"),
      ("/usr/lib/python3.11/socket.py", 705, "readinto", "return self._sock.recv_into(b)")],
     "call"),
    ("ConnectionRefusedError", "[Errno 111] Connection refused (attempt {n})",
     [("src/app/client.py", 41, "connect", "self.sock.connect((host, port))")],
     "call"),
    ("AssertionError", "assert {n} == 200",
     [], "call"),
    ("KeyError", "'session-{n}'",
     [("src/app/cache.py", 120, "get", "return self._data[key]"),
      ("/usr/lib/python3/dist-packages/cachetools/__init__.py", 76, "__getitem__",
       "return self.__missing__(key)")],
     "call"),
    ("RuntimeError", "fixture db not ready: pool exhausted ({n} in use)",
     [("tests/conftest.py", 23, "db", "pool.acquire(timeout=0.1)")],
     "setup"),
]

HOSTILE_NAMES = [
    "test_x[<script>alert(1)</script>]",
    'test_quote["a,b",c]',
    "test_formula[=HYPERLINK(\"http://x\")]",
    "test_unicode[é-漢字-🙂]",
    "test_newline[a\nb]",
    "test_plus[+1-@x]",
]
HOSTILE_MESSAGES = [
    "</script><img src=x onerror=alert(1)>",
    '=cmd|" /C calc"!A0',
    "line one\nline two, with comma, and \"quotes\"",
    "@SUM(1+1)",
    "-2+3",
    "x" * 20000,
    "tab\tand\rcarriage",
]


def test_plan(args, rng):
    tests = []
    for i in range(args.tests):
        mod = MODULES[i % len(MODULES)]
        path = f"tests/{mod}/test_{mod}_{i // 40}.py"
        params = PARAMS[i % len(PARAMS)]
        func = f"test_{mod}_case_{i}"
        pid = params[i % len(params)] if params else None
        nodeid = f"{path}::{func}" + (f"[{pid}]" if pid else "")
        tests.append({"nodeid": nodeid, "file": path, "function": func, "param_id": pid,
                      "fixtures": FIXTURES[i % len(FIXTURES)]})
    if args.hostile:
        for j, name in enumerate(HOSTILE_NAMES):
            func = name.split("[")[0]
            pid = name[len(func) + 1:-1] if "[" in name else None
            tests.append({"nodeid": f"tests/test_hostile.py::{name}", "file": "tests/test_hostile.py",
                          "function": func, "param_id": pid, "fixtures": ["tmp_path"],
                          "hostile": j})
    # Who flakes: F of all attempts fail overall.
    n = len(tests)
    broken = max(0, n // 200)
    skipped = max(0, n // 100)
    flaky_frac = min(1.0, 4 * args.fail_rate) if args.fail_rate > 0 else 0
    nflaky = int(round(flaky_frac * n))
    order = list(range(n))
    rng.shuffle(order)
    for k, idx in enumerate(order):
        t = tests[idx]
        if k < broken and args.fail_rate > 0:
            t["rate"] = 1.0
        elif k < broken + skipped:
            t["rate"] = 0.0
            t["skip"] = True
        elif k < broken + skipped + nflaky:
            t["rate"] = None  # set below
        else:
            t["rate"] = 0.0
        t["clusters"] = rng.sample(range(len(CLUSTERS)), rng.choice([1, 1, 2, 3]))
    budget = args.fail_rate * n - broken
    flaky = [t for t in tests if t["rate"] is None]
    per = max(0.0, min(0.95, budget / len(flaky))) if flaky else 0.0
    for t in flaky:
        t["rate"] = min(0.95, max(0.01, rng.uniform(0.5 * per, 1.5 * per)))
    for t in tests:
        if "hostile" in t:
            t["rate"] = 0.5
    return tests


def frames_for(test, cluster):
    etype, _, below, _ = CLUSTERS[cluster]
    top = [{"path": test["file"], "line": 10 + cluster, "function": test["function"],
            "source": "result = service.call()" if below else "assert resp.status == 200"}]
    return top + [{"path": p, "line": ln, "function": fn, "source": src}
                  for p, ln, fn, src in below]


def attempt_record(args, rng, test, attempt, pid, worker, clock):
    base = 0.002 + rng.random() * 0.01
    setup, teardown = base * 0.1, base * 0.05
    call = base
    failed = rng.random() < test["rate"]
    rec = {"v": 1, "nodeid": test["nodeid"], "attempt": attempt, "runs": args.runs}
    error = None
    frames = []
    when = None
    outcome = "passed"
    if test.get("skip"):
        outcome, when = "skipped", "setup"
        call = 0.0
    elif failed:
        cluster = rng.choice(test["clusters"])
        etype, msg, _, when = CLUSTERS[cluster]
        outcome = "failed" if when == "call" else "error"
        message = msg.format(n=rng.randint(1, 5000))
        if "hostile" in test:
            message = HOSTILE_MESSAGES[(test["hostile"] + attempt) % len(HOSTILE_MESSAGES)]
        if cluster == 0:
            call += 0.25
        error = {"type": etype, "message": message}
        frames = frames_for(test, cluster)
    dur = setup + call + teardown
    start = clock[0]
    clock[0] += int(dur * 1e9) + 50_000
    rec.update({
        "outcome": outcome, "xfail": False, "when": when,
        "start_ns": start, "stop_ns": start + int(dur * 1e9),
        "wall": args.wall0 + start / 1e9,
        "duration_s": round(dur, 6),
        "phases": {"setup": round(setup, 6), "call": round(call, 6),
                   "teardown": round(teardown, 6)},
        "pid": pid, "tid": pid, "worker": worker,
        "file": test["file"], "function": test["function"], "param_id": test["param_id"],
        "fixtures": test["fixtures"], "error": error, "frames": frames, "isolate": False,
    })
    return rec


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("out_dir")
    ap.add_argument("--tests", type=int, default=100)
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--fail-rate", type=float, default=0.05)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--hostile", action="store_true")
    ap.add_argument("--run-id", default=None)
    ap.add_argument("--host", default="bench-host")
    ap.add_argument("--branch", default="main")
    ap.add_argument("--started", default="2026-11-23T22:20:31Z")
    args = ap.parse_args(argv)
    if args.tests < 0 or args.runs < 1 or not 0 <= args.fail_rate <= 1 or args.workers < 1:
        ap.error("need --tests >= 0, --runs >= 1, 0 <= --fail-rate <= 1, --workers >= 1")
    try:
        args.wall0 = datetime.datetime.strptime(args.started, "%Y-%m-%dT%H:%M:%SZ").replace(
            tzinfo=datetime.timezone.utc).timestamp()
    except ValueError:
        ap.error("--started must look like 2026-11-23T22:20:31Z")
    rng = random.Random(args.seed)
    out = pathlib.Path(args.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    run_id = args.run_id or f"20261123T222031Z-{args.seed & 0xffffff:06x}"
    meta = {"schema": "flakehunter-run/1", "run_id": run_id, "started_utc": args.started,
            "runs_per_test": args.runs, "isolate": False, "xdist": args.workers > 1,
            "tracing": False, "host": args.host, "os": "Linux-6.1.0-bench-x86_64",
            "python": "3.11.2", "pytest": "7.2.1", "plugin_version": "0.1.0", "cpu_count": 2,
            "ram_bytes": 25275219968,
            "git": {"branch": args.branch, "commit": "0123456789abcdef0123456789abcdef01234567",
                    "dirty": False},
            "rootdir": "/home/bench/project", "args": ["tests/", "--fh"]}
    (out / "meta.json").write_text(json.dumps(meta, indent=1) + "\n")
    tests = test_plan(args, rng)
    files = []
    for w in range(args.workers):
        pid = 4000 + w
        worker = f"gw{w}" if args.workers > 1 else "main"
        files.append((pid, worker, open(out / f"attempts-{pid}.jsonl", "w", encoding="utf-8"),
                      [1_000_000_000 * (w + 1)]))
    try:
        for i, test in enumerate(tests):
            pid, worker, fh, clock = files[i % len(files)]
            for attempt in range(1, args.runs + 1):
                rec = attempt_record(args, rng, test, attempt, pid, worker, clock)
                fh.write(json.dumps(rec, ensure_ascii=False, separators=(",", ":")) + "\n")
            if args.hostile and i % 97 == 3:
                fh.write('{"v":1,"nodeid":"tests/x.py::broken","attempt":1,"outc\n')
                fh.write("not json at all\n")
                fh.write('["an", "array"]\n')
                fh.write('{"v":1,"attempt":2,"outcome":"passed"}\n')
                fh.write('{"v":1,"nodeid":"tests/x.py::y","attempt":1,"outcome":"exploded"}\n')
        if args.hostile:
            pid, worker, fh, clock = files[0]
            fh.write('{"v":1,"nodeid":"tests/test_trunc.py::test_cut","attempt":1,"outcome":"pa')
    finally:
        for _, _, fh, _ in files:
            fh.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
