# SPDX-License-Identifier: MIT
"""The analyzer at its limits, through the real path (generated run directories, history files,
traces and FIFOs -> fh-analyze): a report too large for its size target is trimmed, not lost; a
history file beyond the in-memory cap gives trends from its newest rows; a FIFO where a file is
expected is refused with one line, never waited on; crafted traces cost work in proportion to
their bytes (ARCHITECTURE.md "Faults and limits")."""
import json
import os
import re
import subprocess

import fh_report as R


def analyze(run_dir, out_html, env_extra=None, history_dir=None, ok=True, timeout=120):
    env = dict(os.environ, **(env_extra or {}))
    cmd = [str(R.FH_ANALYZE), "report", str(run_dir), "--out", str(out_html)]
    cmd += ["--history-dir", str(history_dir)] if history_dir else ["--no-history"]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)
    if ok:
        assert r.returncode == 0, r.stderr
    return r


def test_report_over_its_target_is_trimmed_worst_first(tmp_path):
    run = R.gen_run(tmp_path / "run", tests=6000, runs=2, fail_rate=0.2, seed=3)
    out = tmp_path / "r.html"
    analyze(run, out, {"FH_REPORT_MAX_MB": "1"})
    summary = json.loads(out.with_suffix(".json").read_text())
    tests = summary["tests"]
    assert len(tests) == 6000, "the JSON summary keeps every test"
    raw = out.read_text(encoding="utf-8")
    # The target is a target: the page ends near it (the last card or row may overshoot it by
    # its own size, plus the page's header and script), far from the 30 MB untrimmed page.
    assert len(raw.encode()) < 1.5 * (1 << 20)
    root = R.parse(raw)
    note = [p for p in root.find_all("p") if p.attrs.get("id") == "report-trimmed"]
    assert len(note) == 1
    text = " ".join(note[0].text().split())
    m = re.search(r"the first (\d+) tests \(worst first\) have full details; the next (\d+) are "
                  r"listed one row each, without details; (\d+) are left out of this page", text)
    assert m, text
    ncards, nrows, nleft = map(int, m.groups())
    assert ncards > 10 and nrows > 100 and nleft > 100
    assert ncards + nrows + nleft == 6000
    assert "r.json" in text
    cards = [d for d in root.find_all("details") if "card" in d.cls()]
    assert len(cards) == ncards
    rest = [s for s in root.find_all("section") if s.attrs.get("id") == "rest"]
    assert len(rest) == 1
    rows = rest[0].find("tbody").find_all("tr")
    assert len(rows) == nrows
    # Worst first: the cards are the report's first tests, and the rows the next ones, in the
    # JSON summary's order; a flaky test never gives way to a stable one.
    names = [c.attrs["data-name"] for c in cards] + [r.find("code").text() for r in rows]
    assert names == [t["nodeid"] for t in tests[:ncards + nrows]]
    verdicts = [t["verdict"] for t in tests]
    assert "stable" in verdicts[ncards + nrows:]
    left = verdicts[ncards + nrows:]
    nbad = left.count("flaky") + left.count("broken")
    if nbad:
        assert f"({left.count('flaky')} flaky, {left.count('broken')} broken among them)" in text
    for row in rows[:50]:
        v = row.cls()[0]
        assert row.find("td").text() == v.removeprefix("v-")


def test_report_under_its_target_is_whole(tmp_path):
    run = R.gen_run(tmp_path / "run", tests=200, runs=3, fail_rate=0.2, seed=4)
    out = tmp_path / "r.html"
    analyze(run, out)
    root = R.parse(out)
    assert not [p for p in root.find_all("p") if p.attrs.get("id") == "report-trimmed"]
    assert not [s for s in root.find_all("section") if s.attrs.get("id") == "rest"]
    assert len([d for d in root.find_all("details") if "card" in d.cls()]) == 200


# ---- things that are not regular files ----
# Each FIFO has no writer: an open() without O_NONBLOCK would block forever. The timeouts only
# guard the test run; the assertions are the message and the outcome.

def test_fifo_records_file_and_meta_are_refused(tmp_path):
    run = R.gen_run(tmp_path / "run", tests=20, runs=2, fail_rate=0.2, seed=5)
    os.mkfifo(run / "attempts-999.jsonl")
    os.replace(run / "meta.json", run / "meta.real")
    os.mkfifo(run / "meta.json")
    r = analyze(run, tmp_path / "r.html", timeout=60)
    lines = r.stderr.splitlines()
    assert f"fh-analyze: warning: {run}/attempts-999.jsonl: cannot read: not a regular file; " \
           "file skipped" in lines, r.stderr
    assert any(f"{run}/meta.json: cannot read: not a regular file" in x for x in lines), r.stderr
    summary = json.loads((tmp_path / "r.json").read_text())
    assert len(summary["tests"]) == 20


def test_fifo_history_csv_is_refused_and_not_appended(tmp_path):
    run = R.gen_run(tmp_path / "run", tests=5, runs=2, fail_rate=0.2, seed=6)
    hist = tmp_path / "hist"
    analyze(run, tmp_path / "a.html", history_dir=hist)
    victim = sorted(hist.glob("*.csv"))[0]
    victim.unlink()
    os.mkfifo(victim)
    run2 = R.gen_run(tmp_path / "run2", tests=5, runs=2, fail_rate=0.2, seed=7,
                     extra=["--run-id", "20261124T120000Z-000002"])
    r = analyze(run2, tmp_path / "b.html", history_dir=hist, timeout=60)
    assert f"fh-analyze: warning: {victim}: cannot read history: not a regular file" in \
        r.stderr.splitlines(), r.stderr
    assert victim.is_fifo()
    others = [p for p in sorted(hist.glob("*.csv")) if p != victim]
    assert len(others) == 4 and all(p.read_text().count("20261124T120000Z-000002") == 2
                                    for p in others)


def test_fifo_trace_is_refused(tmp_path, fh_paths):
    fifo = tmp_path / "123.fht"
    os.mkfifo(fifo)
    r = subprocess.run([str(fh_paths["analyze"]), "dump", str(fifo)], capture_output=True,
                       text=True, timeout=60)
    assert r.returncode != 0
    assert f"fh-analyze: error: trace '{fifo}': not a regular file" in r.stderr.splitlines(), \
        r.stderr
    # And through the report: a run whose trace file is a FIFO is analysed without it.
    run = R.gen_run(tmp_path / "run", tests=5, runs=2, fail_rate=0.2, seed=8)
    meta = json.loads((run / "meta.json").read_text())
    meta["tracing"] = True
    (run / "meta.json").write_text(json.dumps(meta))
    (run / "trace").mkdir()
    os.mkfifo(run / "trace" / "4000.fht")
    r = analyze(run, tmp_path / "r.html", timeout=60)
    assert f"fh-analyze: error: trace '{run}/trace/4000.fht': not a regular file" in \
        r.stderr.splitlines(), r.stderr


def test_fifo_module_is_refused_by_the_symbolizer(tmp_path, fh_paths):
    import fh_stacks as S
    prog, _ = S.write_script(tmp_path, """
        import socket, threading, time
        a, b = socket.socketpair()
        def later():
            time.sleep(0.15)
            b.send(b"hi")
        threading.Thread(target=later).start()
        print(a.recv(10))
    """)
    proc, trace = S.run([S.PY, prog], tmp_path, fh_paths["lib"])
    assert proc.returncode == 0, proc.stderr
    maps = sorted(trace.glob("*.maps"))
    assert maps
    fifo = tmp_path / "libc-fifo.so.6"
    os.mkfifo(fifo)
    n = 0
    for m in maps:
        lines = m.read_text().splitlines()
        for i, line in enumerate(lines):
            if line.startswith("mod ") and line.endswith("/libc.so.6"):
                lines[i] = " ".join(line.split(" ")[:5] + [str(fifo)])
                n += 1
        m.write_text("\n".join(lines) + "\n")
    assert n
    files = [str(f) for f in sorted(trace.glob("*.fht"))]
    r = subprocess.run([str(fh_paths["analyze"]), "dump"] + files, capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 0, r.stderr
    assert f"fh-analyze: warning: module '{fifo}': not a regular file; its frames are not " \
           "symbolized" in r.stderr.splitlines(), r.stderr
    assert "recv(" in r.stdout


# ---- a history file over the in-memory cap ----

def test_history_over_the_cap_gives_trends_from_the_newest_rows(tmp_path):
    hist = tmp_path / "hist"
    first = R.gen_run(tmp_path / "a", tests=2, runs=2, fail_rate=0.0, seed=9,
                      extra=["--run-id", "20261101T000000Z-000001"])
    analyze(first, tmp_path / "a.html", history_dir=hist)
    summary = json.loads((tmp_path / "a.json").read_text())
    nodeid = summary["tests"][0]["nodeid"]
    path = next(p for p in hist.glob("*.csv") if nodeid in p.read_text())
    header, row = path.read_text().splitlines()[:2]
    cols = header.split(",")
    cells = next(__import__("csv").reader([row]))
    # Equal-length rows whose error message is a quoted cell with commas, quotes and newlines:
    # a reader that cut at any physical line would count and keep the wrong rows.
    cells[cols.index("outcome")] = "failed"
    cells[cols.index("error_type")] = "AssertionError"
    cells[cols.index("attempt")] = "1"

    def line(i):
        c = list(cells)
        c[cols.index("run_id")] = f"20250101T000000Z-{i:06d}"
        c[cols.index("timestamp_utc")] = f"2025-01-01T00:00:00Z"
        c[cols.index("error_message")] = f'"boom {i:06d},\nsecond line, ""quoted""\nthird"'
        return ",".join(c) + "\n"

    rows = [line(i) for i in range(8000)]
    size_row = len(rows[0].encode())
    assert all(len(r.encode()) == size_row for r in rows)
    path.write_text(header + "\n" + "".join(rows))
    size = path.stat().st_size
    budget = 1 << 20
    assert size > 2 * budget
    kept = (budget - len(header) - 1) // size_row
    run = R.gen_run(tmp_path / "b", tests=2, runs=2, fail_rate=0.0, seed=9,
                    extra=["--run-id", "20261201T000000Z-000002", "--started",
                           "2026-12-01T00:00:00Z"])
    r = analyze(run, tmp_path / "b.html", {"FH_HISTORY_MAX_MB": "1"}, history_dir=hist)
    assert f"fh-analyze: warning: {path}: history file over the 1 MB cap: trends from its " \
           f"newest {len(header) + 1 + kept * size_row} bytes of rows, {8000 - kept} older " \
           "rows left out" in r.stderr.splitlines(), r.stderr
    t = next(t for t in json.loads((tmp_path / "b.json").read_text())["tests"]
             if t["nodeid"] == nodeid)
    h = t["history"]
    assert h["left_out_rows"] == 8000 - kept
    assert h["skipped_rows"] == 0
    # The kept rows plus the run of a.html (2 attempts, in the file before the crafted rows
    # replaced them: gone) plus this run's 2 attempts.
    assert h["total_attempts"] == kept + 2
    ids = [x["run_id"] for x in h["runs"]]
    assert ids[-1] == "20261201T000000Z-000002"
    # The newest runs are kept (the list holds the newest 200; the totals count every row read).
    assert ids[:-1] == [f"20250101T000000Z-{i:06d}" for i in range(8000 - len(ids) + 1, 8000)]
    page = (tmp_path / "b.html").read_text()
    assert f"{8000 - kept} older history rows were left out" in page
    # The rows were appended after the tail, not lost: the next run reads them back.
    assert path.read_text().count("20261201T000000Z-000002") == 2


# ---- crafted traces: work bounded by the bytes present ----

GEN_TRACE = R.ROOT / "bench" / "gen_trace.py"


def gen_trace(path, kind, kb):
    subprocess.run([R.PYTHON, str(GEN_TRACE), str(path), kind, str(kb)], check=True, timeout=120)
    return path


def dump(path):
    r = subprocess.run([str(R.FH_ANALYZE), "dump", str(path)], capture_output=True, text=True,
                       timeout=120)
    return r, None


def patch(path, offset, fmt, value):
    import struct
    data = bytearray(path.read_bytes())
    struct.pack_into(fmt, data, offset, value)
    path.write_bytes(bytes(data))


def test_record_size_not_a_multiple_of_8_is_refused(tmp_path):
    for kind, size in (("normal", 68), ("normal", 4100), ("v1", 100), ("v1", 12)):
        f = gen_trace(tmp_path / f"{kind}{size}.fht", kind, 8)
        patch(f, 20, "<I", size)
        r, _ = dump(f)
        assert r.returncode != 0
        hsize = 4096
        assert f"fh-analyze: error: trace '{f}': bad header or record size ({hsize}, {size}) " \
               "at offset 16" in r.stderr.splitlines(), r.stderr
    # 72 is a multiple of 8: read (records of 72 bytes, the extra 8 ignored), not refused.
    f = gen_trace(tmp_path / "v1ok.fht", "v1", 8)
    patch(f, 20, "<I", 72)
    r, _ = dump(f)
    assert r.returncode == 0, r.stderr


def test_empty_chunks_far_ahead_read_as_empty_threads(tmp_path):
    # 255 threads of one empty 4 KB chunk each, each stream starting at record 65,534 of 4 KB:
    # the reader once gave each a zeroed stream of 256 MB and decoded it (22 s for this 1 MB
    # file). The bound on the decoded slots is checked in tests/c/test_trace.c
    # (test_v2_gaps_bounded_per_file); here, the threads are all still there, empty.
    f = gen_trace(tmp_path / "gaps.fht", "gaps", 1024)
    r = subprocess.run([str(R.FH_ANALYZE), "dump", str(f)], capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 0, r.stderr
    heads = [x for x in r.stdout.splitlines() if x.startswith("# ")]
    assert len(heads) == 255 and all(x.endswith("events 0 dropped 0") for x in heads)


def test_stacks_that_never_end_cost_a_bounded_scan(tmp_path):
    f = gen_trace(tmp_path / "stacks.fht", "stacks", 256)
    r, _ = dump(f)
    assert r.returncode == 0, r.stderr
    events = [x for x in r.stdout.splitlines() if x.startswith("+")]
    assert len(events) == 2048, "every event is kept"
    m = re.search(rf"fh-analyze: warning: trace '{re.escape(str(f))}': stack records cost more "
                  r"than 8 slot reads per record; (\d+) later stacks are not decoded", r.stderr)
    assert m, r.stderr
    decoded = r.stdout.count("    at native ? ? +0x401000")
    assert decoded + int(m.group(1)) == 2048 and decoded > 50
    # A normal file of the same size: every stack decoded, no warning.
    f = gen_trace(tmp_path / "normal.fht", "normal", 256)
    r, _ = dump(f)
    assert r.returncode == 0 and "warning" not in r.stderr, r.stderr
    calls = [x for x in r.stdout.splitlines() if x.startswith("+")]
    assert len(calls) > 1000 and r.stdout.count("    at native ? ? +0x402006") == len(calls)


def test_fifo_step_summary_is_not_waited_on(tmp_path):
    # An output the analyzer appends to (GITHUB_STEP_SUMMARY): a FIFO without a reader fails at
    # once; the report and the JSON are still written.
    run = R.gen_run(tmp_path / "run", tests=5, runs=2, fail_rate=0.2, seed=10)
    fifo = tmp_path / "summary.md"
    os.mkfifo(fifo)
    cmd = [str(R.FH_ANALYZE), "report", str(run), "--out", str(tmp_path / "r.html"),
           "--no-history", "--quiet", "--step-summary", str(fifo)]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    assert r.returncode == 1
    assert f"fh-analyze: error: cannot write '{fifo}': No such device or address" in \
        r.stderr.splitlines(), r.stderr
    assert (tmp_path / "r.html").exists() and (tmp_path / "r.json").exists()
