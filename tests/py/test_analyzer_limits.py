# SPDX-License-Identifier: MIT
"""The analyzer at its limits, through the real path (generated run directories, history files,
traces and FIFOs -> fh-analyze): a report too large for its size target is trimmed, not lost; a
history file beyond the in-memory cap gives trends from its newest rows; a FIFO where a file is
expected is refused with one line, never waited on; crafted traces cost work in proportion to
their bytes (ARCHITECTURE.md "Faults and limits")."""
import json
import os
import re

import fh_report as R


def analyze(run_dir, out_html, env_extra=None, history_dir=None, ok=True, timeout=120):
    env = dict(os.environ, **(env_extra or {}))
    cmd = [str(R.FH_ANALYZE), "report", str(run_dir), "--out", str(out_html), "--quiet"]
    cmd += ["--history-dir", str(history_dir)] if history_dir else ["--no-history"]
    import subprocess
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
