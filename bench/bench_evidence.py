#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""`make bench`: the evidence join at scale. Generates a run of 1,000 tests x 10 attempts
(attempt records by bench/gen_run.py, 4 xdist-like workers) plus 10 million trace events in the
preload's on-disk format (preload/fhtrace_format.h: a 4 KiB header, 64-byte records, string
records for nodeids and targets; call ids from preload/calls.def), then times
`fh-analyze report` on it and prints wall time and peak RSS beside the goal (< 5 s, < 1 GiB),
plus the analyzer's own stage split (FH_TIMING).

    bench_evidence.py [--tests N] [--runs R] [--events E] [--keep DIR]

Each attempt of each worker gets a main-thread share of the events (markers, phase marks,
sends/recvs/polls on a socket, writes, sleeps, a few refused connects) and a helper thread
share (lock waits and sleeps), some attempts start a child process with its own trace file.
"""
import argparse
import json
import os
import pathlib
import re
import resource
import shutil
import struct
import subprocess
import sys
import tempfile
import time
from array import array

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parent
BUILD = pathlib.Path(os.environ.get("FH_BUILD", ROOT / "build"))
FH_ANALYZE = pathlib.Path(os.environ.get("FH_ANALYZE", BUILD / "fh-analyze"))

# fhtrace_format.h
REC_CALL, REC_SIGNAL, REC_MARK, REC_STR, REC_PROC = 1, 2, 3, 4, 5
F_DONE, F_STR = 0x01, 0x02
FD_SOCKET, FD_FILE = 1, 2
MARK_BEGIN, MARK_END, PHASE_BEGIN, PHASE_END = 0, 1, 2, 3
HEADER = struct.Struct("<8sIIIIQQQQiiiIqqq256sII")
STR_CHUNK = 56
ECONNREFUSED, ETIMEDOUT = 111, 110


def call_ids():
    ids = {}
    for line in (ROOT / "preload" / "calls.def").read_text().splitlines():
        m = re.match(r"FH_(?:CALL|CUSTOM)\((\w+)", line)
        if m:
            ids[m.group(1)] = len(ids)
    return ids


def s64(v):
    v &= (1 << 64) - 1
    return v - (1 << 64) if v >= 1 << 63 else v


def word0(rtype, flags, call, fd):
    return s64(rtype | flags << 8 | call << 16 | (fd & 0xFFFFFFFF) << 32)


class TraceFile:
    """Records of one thread, written as one file at the end."""

    def __init__(self, pid, ppid, tid, exe):
        self.pid, self.ppid, self.tid, self.exe = pid, ppid, tid, exe
        self.words = array("q")
        self.nrec = 0

    def rec(self, w0, start, end=0, result=0, err=0, timeout=-1, arg=0, arg2=0):
        self.words.extend((w0, start, end, result, err & 0xFFFFFFFF, timeout, arg, arg2))
        self.nrec += 1
        return self.nrec - 1

    def string(self, owner, s):
        b = s.encode()
        chunks = [b[i:i + STR_CHUNK] for i in range(0, len(b), STR_CHUNK)] or [b""]
        for k, c in enumerate(chunks):
            raw = struct.pack("<BBBBI56s", REC_STR, len(c), k == len(chunks) - 1, 0, owner, c)
            self.words.extend(struct.unpack("<8q", raw))
            self.nrec += 1

    def block(self, template, starts, ends):
        """Appends len(starts) call records: template gives words 0, 3-7 of each."""
        n = len(starts)
        a = array("q", template)
        a[1::8] = starts
        a[2::8] = ends
        self.words.extend(a)
        self.nrec += n

    def write(self, path, anchor):
        hdr = HEADER.pack(b"FHTRACE1", 1, 1, 4096, 64, self.nrec, self.nrec, self.nrec, 0,
                          self.pid, self.ppid, self.tid, 1, anchor, anchor, anchor,
                          self.exe.encode(), 300, 0)
        with open(path, "wb") as f:
            f.write(hdr.ljust(4096, b"\0"))
            self.words.tofile(f)


def make_template(ids, n, pattern):
    """n call records cycling through pattern [(call, fd, fdkind, result, err, timeout)]."""
    t = array("q", bytes(8 * 8 * n))
    for k, (call, fd, kind, result, err, tmo) in enumerate(pattern):
        w0 = word0(REC_CALL, F_DONE | kind << 2, ids[call], fd)
        for col, v in ((0, w0), (3, result), (4, err), (5, tmo)):
            t[8 * k + col::8 * len(pattern)] = array("q", [v]) * len(range(k, n, len(pattern)))
    return t


def generate(run, ids, tests, runs, events):
    subprocess.run([sys.executable, str(HERE / "gen_run.py"), str(run), "--tests", str(tests),
                    "--runs", str(runs), "--fail-rate", "0.05", "--workers", "4", "--seed", "7"],
                   check=True, stdout=subprocess.DEVNULL)
    return gen_traces(run, ids, events)


def gen_traces(run, ids, events):
    """Trace files in run/trace for the attempt records already in run (about `events` in all);
    returns (records, events written)."""
    recs = []
    for p in sorted(run.glob("attempts-*.jsonl")):
        for line in p.read_text().splitlines():
            try:
                recs.append(json.loads(line))
            except ValueError:
                pass
    per = max(10, events // max(1, len(recs)))
    nmain, nhelp = per * 7 // 10, per - per * 7 // 10 - 0
    main_pat = [("send", 7, FD_SOCKET, 5, 0, -1), ("poll", -1, 0, 1, 0, 250_000_000),
                ("recv", 7, FD_SOCKET, 64, 0, -1), ("write", 1, FD_FILE, 10, 0, -1),
                ("clock_nanosleep", -1, 0, 0, 0, 1_000_000), ("write", 1, FD_FILE, 10, 0, -1),
                ("poll", -1, 0, 1, 0, 250_000_000), ("recv", 7, FD_SOCKET, 64, 0, -1),
                ("connect", 9, FD_SOCKET, -1, ECONNREFUSED, -1), ("send", 7, FD_SOCKET, 5, 0, -1)]
    help_pat = [("sem_clockwait", -1, 0, 0, 0, 50_000_000), ("clock_nanosleep", -1, 0, 0, 0, 1_000_000),
                ("sem_clockwait", -1, 0, -1, ETIMEDOUT, 50_000_000)]
    tmain, thelp = make_template(ids, nmain, main_pat), make_template(ids, nhelp, help_pat)
    tdir = run / "trace"
    tdir.mkdir()
    by_pid = {}
    for r in recs:
        by_pid.setdefault(r["pid"], []).append(r)
    total = 0
    child_pid = 100000
    for pid, rs in by_pid.items():
        rs.sort(key=lambda r: r["start_ns"])
        main, helper = TraceFile(pid, 1, pid, "/usr/bin/python3.11"), TraceFile(pid, 1, pid + 1, "")
        # the session fixture connects fd 7 before any attempt
        o = main.rec(word0(REC_CALL, F_DONE | F_STR | FD_SOCKET << 2, ids["connect"], 7),
                     rs[0]["start_ns"] - 1000, rs[0]["start_ns"] - 500)
        main.string(o, "127.0.0.1:5432")
        for i, r in enumerate(rs):
            b, e = r["start_ns"], max(r["stop_ns"], r["start_ns"] + 4 * (nmain + 4))
            outcome = {"passed": 0, "failed": 1, "error": 1}.get(r["outcome"], 3)
            o = main.rec(word0(REC_MARK, F_DONE | F_STR, MARK_BEGIN, 20 + i % 50), b,
                         b, 0, 1, 1_000_000 * i, r["attempt"])
            main.string(o, r["nodeid"])
            main.rec(word0(REC_MARK, F_DONE, PHASE_BEGIN, 0), b + 1, b + 1, 0, 0, 0, 0, 1)
            step = (e - b - 4) // (nmain + 2)
            starts = array("q", range(b + 2, b + 2 + step * nmain, step))
            main.block(tmain, starts, array("q", range(b + 2 + step // 2,
                                                       b + 2 + step // 2 + step * nmain, step)))
            hstep = (e - b - 4) // (nhelp + 2)
            hs = array("q", range(b + 3, b + 3 + hstep * nhelp, hstep))
            helper.block(thelp, hs, array("q", range(b + 3 + hstep // 2,
                                                     b + 3 + hstep // 2 + hstep * nhelp, hstep)))
            main.rec(word0(REC_MARK, F_DONE, PHASE_END, 0), e - 2, e - 2, 0, outcome, 0, 0, 1)
            o = main.rec(word0(REC_MARK, F_DONE | F_STR, MARK_END, 20 + i % 50), e - 1,
                         e - 1, outcome, 1, 1_000_000 * i + 900_000, r["attempt"])
            main.string(o, r["nodeid"])
            total += nmain + nhelp
            if i % 20 == 0:   # a child process with its own file, waited for
                child_pid += 1
                c = TraceFile(child_pid, pid, child_pid, "/usr/bin/sleep")
                nc = min(20, nhelp)   # a small event budget gives the child fewer calls
                cs = array("q", range(b + 10, b + 10 + 10 * nc, 10))
                c.block(thelp[:8 * nc], cs, array("q", (x + 5 for x in cs)))
                c.write(tdir / f"{child_pid}-{child_pid}.fht", b + 5)
                main.rec(word0(REC_CALL, F_DONE, ids["waitpid"], -1), b + 5, e - 3, child_pid,
                         0, -1, 0, child_pid)
                total += nc + 1
        main.write(tdir / f"{pid}-{pid}.fht", rs[0]["start_ns"] - 2000)
        helper.write(tdir / f"{pid}-{pid + 1}.fht", rs[0]["start_ns"] - 2000)
    return len(recs), total


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tests", type=int, default=1000)
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--events", type=int, default=10_000_000)
    ap.add_argument("--keep", help="generate into this directory and keep it")
    args = ap.parse_args()
    assert FH_ANALYZE.exists(), f"{FH_ANALYZE} missing: run make"
    base = pathlib.Path(args.keep) if args.keep else pathlib.Path(tempfile.mkdtemp(prefix="fhbench-"))
    run = base / "run"
    try:
        if run.exists():
            shutil.rmtree(run)
        t0 = time.monotonic()
        nrec, nev = generate(run, call_ids(), args.tests, args.runs, args.events)
        size = sum(p.stat().st_size for p in (run / "trace").iterdir())
        print(f"generated {nrec} attempts, {nev / 1e6:.1f} M trace events "
              f"({size / 2**20:.0f} MiB of trace files) in {time.monotonic() - t0:.1f} s")
        env = dict(os.environ, FH_TIMING="1")
        t0 = time.monotonic()
        with open(base / "out.txt", "w+") as out, open(base / "err.txt", "w+") as err:
            p = subprocess.Popen([str(FH_ANALYZE), "report", str(run), "--out",
                                  str(base / "r.html"), "--no-history", "--quiet"],
                                 env=env, stdout=out, stderr=err)
            _, status, ru = os.wait4(p.pid, 0)   # this child's own rusage
            p.returncode = os.waitstatus_to_exitcode(status)
            wall = time.monotonic() - t0
            err.seek(0)
            stderr = err.read()
        peak = ru.ru_maxrss / 1024
        cpu = ru.ru_utime + ru.ru_stime
        if p.returncode:
            print(stderr[-2000:])
            return 1
        summ = json.loads((base / "r.json").read_text())
        traced = sum(1 for t in summ["tests"] for a in t["attempt_log"] if a.get("trace"))
        print(f"attempts with a trace: {traced}/{nrec}; events read: {summ.get('totals', {}).get('trace_events')}")
        for line in stderr.splitlines():
            if "evidence" in line or "diagnose" in line or "load" in line or "total" in line:
                print("  ", line.strip())
        print(f"{'':24}{'measured':>12}{'goal':>10}{'ratio':>8}")
        print(f"{'fh-analyze report wall':24}{wall:>10.2f} s{5:>8} s{wall / 5:>8.2f}")
        print(f"{'  its CPU time (u+s)':24}{cpu:>10.2f} s{5:>8} s{cpu / 5:>8.2f}"
              f"   (wall above CPU = waiting for a core; load {os.getloadavg()[0]:.1f})")
        print(f"{'peak RSS':24}{peak:>9.0f} MiB{1024:>6} MiB{peak / 1024:>8.2f}")
        return 0 if wall < 5 and peak < 1024 else 1
    finally:
        if not args.keep:
            shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
