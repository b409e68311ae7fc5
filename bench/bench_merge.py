#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""`make bench`: `fh-analyze merge` of 20 synthetic CI shards, each 500 tests x 10 attempts with
traces (bench/gen_run.py for the records, bench_evidence.gen_traces for the trace files: every
shard reuses the same pids, as machines do), then `fh-analyze report` of the merged run.

Prints side by side: merge wall time and peak RSS with hard links (same filesystem) and with
copies (to /dev/shm, another filesystem), the merge of 5, 10 and 20 shards (linear in the
input: time per shard should stay flat), and the merged report's time, peak RSS and HTML/JSON
size next to the sum of the 20 shards' own reports and the report goals (bench_report.py:
0.5 s render and 10 MB for 100,000 attempts). The goal for the merge: well under a minute.

    bench_merge.py [--shards N] [--tests T] [--runs R] [--events-per-shard E] [--keep DIR]

Peak RSS is the child's own (os.wait4 rusage), so the figures do not include this script.
"""
import argparse
import json
import os
import pathlib
import re
import shutil
import subprocess
import sys
import tempfile
import time

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import bench_evidence  # noqa: E402

ROOT = HERE.parent
BUILD = pathlib.Path(os.environ.get("FH_BUILD", ROOT / "build"))
FH_ANALYZE = pathlib.Path(os.environ.get("FH_ANALYZE", BUILD / "fh-analyze"))
GOAL_MERGE_S = 60.0


def make_shard(path, k, tests, runs, events, ids):
    subprocess.run([sys.executable, str(HERE / "gen_run.py"), str(path), "--tests", str(tests),
                    "--runs", str(runs), "--fail-rate", "0.05", "--workers", "2",
                    "--seed", str(100 + k), "--run-id", f"20261123T12{k:02d}00Z-{k:06x}",
                    "--host", f"runner-{k + 1}", "--started", f"2026-11-23T12:{k:02d}:00Z"],
                   check=True, stdout=subprocess.DEVNULL)
    # A shard runs its own slice of the suite: its tests live under shard-<k>/.
    for f in path.glob("attempts-*.jsonl"):
        out = []
        for line in f.read_text().splitlines():
            try:
                rec = json.loads(line)
            except ValueError:
                out.append(line)
                continue
            rec["nodeid"] = f"shard{k:02d}/{rec['nodeid']}"
            rec["file"] = f"shard{k:02d}/{rec.get('file', '')}"
            out.append(json.dumps(rec))
        f.write_text("\n".join(out) + "\n")
    return bench_evidence.gen_traces(path, ids, events)


# Linux keeps a process's peak RSS across fork and exec, so a child of this script (which
# holds the generated shards' data) would report this script's peak. The command is started by
# a small helper interpreter instead, whose own peak (about 10 MiB) is the floor of the figure.
MEASURE = """
import os, sys
pid = os.posix_spawn(sys.argv[2], sys.argv[2:], os.environ)
_, status, ru = os.wait4(pid, 0)
with open(sys.argv[1], "w") as f:
    f.write(f"{os.waitstatus_to_exitcode(status)} {ru.ru_maxrss} {ru.ru_utime + ru.ru_stime}")
"""


def timed(cmd, env=None):
    """Runs cmd; returns (wall s, peak RSS MiB, CPU s, stdout, stderr)."""
    with tempfile.TemporaryDirectory() as tmp:
        res = os.path.join(tmp, "rusage")
        with open(os.path.join(tmp, "out"), "w+") as out, open(os.path.join(tmp, "err"), "w+") as err:
            t0 = time.monotonic()
            subprocess.run([sys.executable, "-c", MEASURE, res, *[str(c) for c in cmd]],
                           stdout=out, stderr=err, env=env, check=True)
            wall = time.monotonic() - t0
            out.seek(0)
            err.seek(0)
            so, se = out.read(), err.read()
        rc, maxrss, cpu = open(res).read().split()
    if int(rc):
        raise SystemExit(f"{cmd[:3]} failed:\n{se[-3000:]}")
    return wall, int(maxrss) / 1024, float(cpu), so, se


def du(path):
    return sum(p.stat().st_size for p in pathlib.Path(path).rglob("*") if p.is_file())


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--shards", type=int, default=20)
    ap.add_argument("--tests", type=int, default=500)
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--events-per-shard", type=int, default=250_000)
    ap.add_argument("--keep", help="generate into this directory and keep it")
    args = ap.parse_args()
    assert FH_ANALYZE.exists(), f"{FH_ANALYZE} missing: run make"
    base = pathlib.Path(args.keep) if args.keep else pathlib.Path(tempfile.mkdtemp(prefix="fhmerge-"))
    shm = pathlib.Path("/dev/shm")
    copy_out = pathlib.Path(tempfile.mkdtemp(prefix="fhmerge-", dir=shm)) if shm.is_dir() else None
    status = 0
    try:
        ids = bench_evidence.call_ids()
        t0 = time.monotonic()
        shards, nev = [], 0
        for k in range(args.shards):
            d = base / f"shard-{k:02d}"
            if d.exists():
                shutil.rmtree(d)
            _, n = make_shard(d, k, args.tests, args.runs, args.events_per_shard // 1, ids)
            nev += n
            shards.append(d)
        size = sum(du(s) for s in shards)
        print(f"generated {args.shards} shards x {args.tests} tests x {args.runs} attempts, "
              f"{nev / 1e6:.1f} M trace events, {size / 2**20:.0f} MiB in "
              f"{time.monotonic() - t0:.1f} s")
        print(f"{'':34}{'wall':>9}{'CPU':>9}{'peak RSS':>11}{'per shard':>11}")
        rows = {}
        for n in sorted({max(1, args.shards // 4), max(1, args.shards // 2), args.shards}):
            out = base / f"merged-{n}"
            shutil.rmtree(out, ignore_errors=True)
            wall, rss, cpu, so, _ = timed([FH_ANALYZE, "merge", *shards[:n], "--out", out,
                                           "--quiet"])
            rows[n] = wall
            print(f"{f'merge {n} shards (hard links)':34}{wall:>7.2f} s{cpu:>7.2f} s"
                  f"{rss:>8.0f} MiB{wall / n * 1000:>8.1f} ms")
        if copy_out:
            out = copy_out / "merged"
            wall, rss, cpu, so, _ = timed([FH_ANALYZE, "merge", *shards, "--out", out, "--quiet"])
            assert "0 linked" in so, so
            print(f"{f'merge {args.shards} shards (copies, tmpfs)':34}{wall:>7.2f} s{cpu:>7.2f} s"
                  f"{rss:>8.0f} MiB{wall / args.shards * 1000:>8.1f} ms")
            shutil.rmtree(copy_out, ignore_errors=True)
            copy_out = None
        merged = base / f"merged-{args.shards}"
        wall, rss, cpu, _, se = timed([FH_ANALYZE, "report", merged, "--out", base / "m.html",
                                       "--no-history", "--quiet"],
                                      env=dict(os.environ, FH_TIMING="1"))
        m = re.search(r"timing: html\s+([\d.]+) ms", se)
        html_s = float(m.group(1)) / 1000 if m else float("nan")
        doc = json.loads((base / "m.json").read_text())
        attempts = sum(len(t["attempt_log"]) for t in doc["tests"])
        traced = sum(1 for t in doc["tests"] for a in t["attempt_log"] if "trace" in a)
        own = own_rss = 0.0
        for s in shards:
            w, r, _, _, _ = timed([FH_ANALYZE, "report", s, "--out", base / "own.html",
                                   "--no-history", "--quiet"])
            own += w
            own_rss = max(own_rss, r)
        # The same number of tests, attempts and trace events as one unmerged run.
        single = base / "single"
        shutil.rmtree(single, ignore_errors=True)
        subprocess.run([sys.executable, str(HERE / "gen_run.py"), str(single), "--tests",
                        str(args.shards * args.tests), "--runs", str(args.runs), "--fail-rate",
                        "0.05", "--workers", "2", "--seed", "99"], check=True,
                       stdout=subprocess.DEVNULL)
        bench_evidence.gen_traces(single, ids, args.events_per_shard * args.shards)
        swall, srss, scpu, _, _ = timed([FH_ANALYZE, "report", single, "--out",
                                         base / "single.html", "--no-history", "--quiet"])
        smb = (base / "single.html").stat().st_size / 1e6
        print(f"{'report of the merged run':34}{wall:>7.2f} s{cpu:>7.2f} s{rss:>8.0f} MiB"
              f"{(base / 'm.html').stat().st_size / 1e6:>8.1f} MB html")
        print(f"{'  one unmerged run of that size':34}{swall:>7.2f} s{scpu:>7.2f} s{srss:>8.0f} MiB"
              f"{smb:>8.1f} MB html")
        print(f"{'  the shards reported one by one':34}{own:>7.2f} s{'':>9}{own_rss:>8.0f} MiB"
              f"   (sum of times; largest peak)")
        print(f"merged report: {len(doc['tests'])} tests, {attempts} attempts, {traced} with a "
              f"trace, {len(doc['sources'])} sources")
        mb = (base / "m.html").stat().st_size / 1e6
        jmb = (base / "m.json").stat().st_size / 1e6
        print(f"  html render {html_s:.3f} s, size {mb:.2f} MB = {mb / smb:.3f}x the unmerged run's "
              f"(bench_report's goals, 0.5 s and 10 MB, are for 1,000 tests x 100 attempts "
              f"without traces); JSON {jmb:.1f} MB")
        full = rows[args.shards]
        print(f"merge of {args.shards} shards: {full:.2f} s against the goal {GOAL_MERGE_S:.0f} s "
              f"({full / GOAL_MERGE_S:.3f}x); time per shard from the smallest to the full "
              f"merge: {rows[min(rows)] / min(rows) * 1000:.0f} -> {full / args.shards * 1000:.0f} ms "
              f"(load {os.getloadavg()[0]:.1f})")
        # The report's size goal is bench_report.py's (1,000 tests x 100 attempts, no traces);
        # the merged report is held to the size of one run of the same tests and attempts.
        if full >= GOAL_MERGE_S or mb > smb * 1.05 or \
                attempts != args.shards * args.tests * args.runs:
            status = 1
    finally:
        if copy_out:
            shutil.rmtree(copy_out, ignore_errors=True)
        if not args.keep:
            shutil.rmtree(base, ignore_errors=True)
    return status


if __name__ == "__main__":
    sys.exit(main())
