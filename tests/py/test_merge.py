# SPDX-License-Identifier: MIT
"""`fh-analyze merge` through the real path: three real hunts under the preload, each with a
fake host name ($FH_HOST), one with xdist, each writing its run directory where CI would upload
it (--fh-run-dir, --fh-no-report); merged into one report whose counts are the sums of the
shards' own reports, with per-host counts, the host-concentration evidence, idempotence and
order independence, a history appended once, and sources that cannot be merged."""
import json
import os
import shutil

import pytest

from fh_merge import analyze, by_nodeid, hunt, merge, report
from fh_plugin import needs_autoload
from fh_summary import records_by_test, validate_summary

SUITE = r'''
import os, pathlib, time
import pytest

HOST = os.environ.get("FH_HOST", "")

def bump(name):
    """This host's attempt number of a test (all attempts of a test run in one process)."""
    p = pathlib.Path(__file__).with_name(f"count-{HOST}-{name}")
    n = int(p.read_text()) + 1 if p.exists() else 1
    p.write_text(str(n))
    return n

def test_on_runner3():
    # fails on runner-3 except its 4th attempt; passes everywhere else
    n = bump("on_runner3")
    time.sleep(0.002)
    assert HOST != "runner-3" or n == 4

def test_everywhere():
    # fails on the 2nd and 7th attempt on every host
    n = bump("everywhere")
    assert n not in (2, 7)

def test_stable():
    time.sleep(0.001)

@pytest.mark.parametrize("k", ["a", "b"])
def test_param(k):
    pass

@pytest.mark.skip(reason="never runs")
def test_skipped():
    pass
'''

HOSTS = ("runner-1", "runner-2", "runner-3")


@pytest.fixture(scope="module")
def shards(tmp_path_factory):
    """Three real hunts (runner-2 with xdist) and each shard's own report."""
    base = tmp_path_factory.mktemp("shards")
    out = {}
    for host in HOSTS:
        suite = base / f"suite-{host}"
        suite.mkdir()
        (suite / "test_m.py").write_text(SUITE)
        args = ("-n", "2") if host == "runner-2" else ()
        run = hunt(suite, base / f"run-{host}", host, *args)
        _, doc = report(run, base / f"own-{host}", "--no-history")
        out[host] = (run, doc)
    return base, out


pytestmark = needs_autoload("pytest-xdist")


def test_three_hosts_one_report(shards, tmp_path):
    base, sh = shards
    runs = [sh[h][0] for h in HOSTS]
    metas = [json.loads((r / "meta.json").read_text()) for r in runs]
    assert [m["host"] for m in metas] == list(HOSTS)      # $FH_HOST reached meta.json
    assert metas[1]["xdist"] and not metas[0]["xdist"]
    p = merge(tmp_path / "M", *runs)
    assert "3 sources (3 new)" in p.stdout, p.stdout
    _, doc = report(tmp_path / "M", tmp_path / "m", "--no-history")
    validate_summary(doc)
    assert doc["merged"] is True
    assert sorted(s["host"] for s in doc["sources"]) == list(HOSTS)
    assert sorted(s["run_id"] for s in doc["sources"]) == sorted(m["run_id"] for m in metas)
    merged = by_nodeid(doc)
    own = [by_nodeid(sh[h][1]) for h in HOSTS]
    # every source's trace totals add up
    for k in ("trace_events", "trace_dropped"):
        assert doc["totals"][k] == sum(sh[h][1]["totals"][k] for h in HOSTS), k
    assert doc["totals"]["trace_events"] > 0
    assert doc["trace_dropped"]["events"] == sum(sh[h][1]["trace_dropped"]["events"]
                                                 for h in HOSTS)
    assert set(merged) == set(own[0]) and len(merged) == 6
    for nodeid, t in merged.items():
        for k in ("attempts", "passed", "failed", "skipped"):
            assert t[k] == sum(o[nodeid][k] for o in own), (nodeid, k)
        # one test, per-host counts: each host's row is that shard's own count
        assert [h["host"] for h in t["hosts"]] == list(HOSTS)
        for h, o in zip(t["hosts"], own):
            assert h["attempts"] == o[nodeid]["passed"] + o[nodeid]["failed"]
            assert h["failed"] == o[nodeid]["failed"]
            assert 0 <= h["flake_rate_ci95"][0] <= h["flake_rate"] <= h["flake_rate_ci95"][1] <= 1
        # attempts are numbered 1..n across sources; each keeps its host and own number
        log = t["attempt_log"]
        assert [a["attempt"] for a in log] == list(range(1, len(log) + 1))
        for a in log:
            assert a["host"] in HOSTS and 1 <= a["source_attempt"] <= 10
        if nodeid.endswith("test_skipped"):
            continue
        # every attempt was joined with its own machine's trace (all three hunts traced)
        assert all("trace" in a for a in log), nodeid
        assert sorted((a["host"], a["source_attempt"]) for a in log) == \
            sorted((h, n) for h in HOSTS for n in range(1, 11))
    t = merged["test_m.py::test_everywhere"]
    assert t["failed"] == 6 and t["diagnosis"]["host"] is None
    assert {a["source_attempt"] for a in t["attempt_log"] if a["outcome"] == "failed"} == {2, 7}
    # the HTML has the sources and the per-host table
    html = (tmp_path / "m.html").read_text()
    assert "Merged from <b>3</b> runs" in html and "By host (3 hosts)" in html


def test_host_concentration(shards, tmp_path):
    _, sh = shards
    merge(tmp_path / "M", *(sh[h][0] for h in HOSTS))
    _, doc = report(tmp_path / "M", tmp_path / "m", "--no-history")
    t = by_nodeid(doc)["test_m.py::test_on_runner3"]
    d = t["diagnosis"]
    assert t["failed"] == 9 and t["verdict"] == "flaky"
    assert d["host"] == {"name": "runner-3", "failed": 9, "attempts": 10, "elsewhere_failed": 0,
                         "elsewhere_attempts": 20, "chance": d["host"]["chance"]}
    assert d["host"]["chance"] < 0.001
    assert any(e.startswith("9/9 failures on runner-3 (9/10 attempts there failed); 0/20 "
                            "attempts elsewhere failed") for e in d["evidence"]), d["evidence"]
    assert "runner-3" in d["summary"]
    rows = {h["host"]: h for h in t["hosts"]}
    assert rows["runner-3"]["failed"] == 9 and rows["runner-1"]["failed"] == 0
    html = (tmp_path / "m.html").read_text()
    assert "failures concentrate here" in html
    # One shard alone has a single host: no concentration to speak of.
    own = by_nodeid(sh["runner-3"][1])["test_m.py::test_on_runner3"]
    assert own["diagnosis"]["host"] is None and len(own["hosts"]) == 1


def test_idempotent_and_order_independent(shards, tmp_path):
    _, sh = shards
    r1, r2, r3 = (sh[h][0] for h in HOSTS)
    merge(tmp_path / "A", r1, r2, r3)
    merge(tmp_path / "B", r3, f"{r2}/", r1, r2, r3)       # other order, repeated sources
    merge(tmp_path / "C", r2)                              # incremental, into an existing one
    merge(tmp_path / "C", r1, r3, r2)
    merge(tmp_path / "D", tmp_path / "A", r1)              # a merged directory as input
    metas = [(tmp_path / x / "meta.json").read_bytes() for x in "ABCD"]
    assert metas[0] == metas[1] == metas[2] == metas[3]
    again = merge(tmp_path / "A", r1, r3)                  # merging the same sources adds nothing
    assert "(0 new)" in again.stdout
    assert (tmp_path / "A" / "meta.json").read_bytes() == metas[0]
    docs = []
    for x in "ABCD":
        p, doc = report(tmp_path / x, tmp_path / f"rep-{x}", "--no-history")
        assert not p.stderr, p.stderr
        docs.append(doc)
    assert docs[0] == docs[1] == docs[2] == docs[3]
    # files are hard links when the filesystem allows it (same inode as the shard's)
    src = next(r1.glob("attempts-*.jsonl"))
    sid = json.loads((r1 / "meta.json").read_text())["run_id"]
    assert (tmp_path / "A" / "sources" / sid / src.name).stat().st_ino == src.stat().st_ino


def test_history_appended_once(shards, tmp_path):
    _, sh = shards
    runs = [sh[h][0] for h in HOSTS]
    hist = tmp_path / "history"
    merge(tmp_path / "A", *runs)
    merge(tmp_path / "B", *reversed(runs))

    def rows():
        return sum(len(f.read_text().splitlines()) - 1 for f in hist.glob("*.csv"))

    report(tmp_path / "A", tmp_path / "a1", "--history-dir", hist)
    total = rows()
    assert total == 3 * (5 * 10 + 10)   # 5 tests x 10 attempts + the skipped one, per host
    report(tmp_path / "A", tmp_path / "a2", "--history-dir", hist)
    report(tmp_path / "B", tmp_path / "b", "--history-dir", hist)   # another merge of the same
    _, doc = report(runs[0], tmp_path / "one", "--history-dir", hist)  # a shard on its own
    assert rows() == total
    t = by_nodeid(doc)["test_m.py::test_on_runner3"]
    runs_seen = [r["host"] for r in t["history"]["runs"]]
    assert sorted(runs_seen) == sorted(HOSTS), runs_seen   # one entry per source run
    _, doc = report(tmp_path / "A", tmp_path / "a3", "--history-dir", hist)
    h = by_nodeid(doc)["test_m.py::test_on_runner3"]["history"]
    assert {g["key"]: (g["attempts"], g["failed"]) for g in h["by_host"]} == \
        {"runner-1": (10, 0), "runner-2": (10, 0), "runner-3": (10, 9)}


def test_sources_that_cannot_be_merged(shards, tmp_path):
    _, sh = shards
    r1, r2, _ = (sh[h][0] for h in HOSTS)
    junk = tmp_path / "junk"
    junk.mkdir()
    (junk / "notes.txt").write_text("not a run")
    newer = tmp_path / "newer"
    shutil.copytree(r2, newer)
    meta = json.loads((newer / "meta.json").read_text())
    meta["schema"], meta["run_id"] = "flakehunter-run/2", "20990101T000000Z-abcdef"
    (newer / "meta.json").write_text(json.dumps(meta))
    clash = tmp_path / "clash"                             # r1's run id, fewer records
    shutil.copytree(r1, clash)
    rec = next(clash.glob("attempts-*.jsonl"))
    rec.write_text("".join(rec.read_text().splitlines(True)[:-1]))
    missing = tmp_path / "missing"
    p = merge(tmp_path / "M", junk, r1, newer, clash, missing, r2)
    errors = [line for line in p.stderr.splitlines() if "error:" in line]
    assert len(errors) == 4, p.stderr
    for src, why in ((junk, "not a run directory"), (newer, "format version 2 is newer"),
                     (clash, "also claimed by"), (missing, "not a directory")):
        assert any(str(src) in e and why in e for e in errors), (src, p.stderr)
    assert "2 sources (2 new)" in p.stdout
    _, doc = report(tmp_path / "M", tmp_path / "m", "--no-history")
    assert sorted(s["host"] for s in doc["sources"]) == ["runner-1", "runner-2"]
    t = by_nodeid(doc)["test_m.py::test_everywhere"]
    assert t["attempts"] == 20                             # r1 whole, not the shorter clash
    # --strict: one bad source and nothing is written
    p = merge(tmp_path / "S", r1, junk, extra=("--strict",), check=False)
    assert p.returncode == 1 and not (tmp_path / "S").exists(), p.stderr
    assert "nothing written (--strict)" in p.stderr
    # an --out that is some other directory is refused
    p = merge(r2, r1, check=False)
    assert p.returncode == 1 and "not a merged run directory" in p.stderr


def test_truncated_shard(shards, tmp_path):
    """A shard whose upload was cut short: one worker's records file loses the end of its last
    line, the other worker's trace file its second half. It merges with warnings naming them;
    nothing else is lost, and the attempt whose record was cut comes back from its own trace
    (both its markers survive) with the outcome the trace recorded."""
    _, sh = shards
    r1, r2, r3 = (sh[h][0] for h in HOSTS)
    cut = tmp_path / "cut"
    shutil.copytree(r2, cut)
    recs = sorted(cut.glob("attempts-*.jsonl"), key=lambda f: f.stat().st_size)
    assert len(recs) == 2                                  # runner-2 ran two xdist workers
    rec, other = recs[-1], recs[0]
    lines = rec.read_bytes().splitlines(True)
    lost = json.loads(lines[-1])
    rec.write_bytes(b"".join(lines[:-1]) + lines[-1][:-40])
    trace = cut / "trace" / (other.name[len("attempts-"):-len(".jsonl")] + ".fht")
    with open(trace, "r+b") as f:
        f.truncate(trace.stat().st_size // 2)
    p = merge(tmp_path / "M", r1, cut, r3)
    assert p.returncode == 0 and "3 sources (3 new)" in p.stdout
    assert f"{rec.name}:{len(lines)}: truncated record" in p.stderr, p.stderr
    assert trace.name in p.stderr, p.stderr
    _, doc = report(tmp_path / "M", tmp_path / "m", "--no-history")
    want = {}
    for run in (r1, cut, r3):                              # independent count of intact lines
        for nodeid, rs in records_by_test(run).items():
            want[nodeid] = want.get(nodeid, 0) + len(rs)
    want[lost["nodeid"]] += 1
    got = {t["nodeid"]: t["attempts"] for t in doc["tests"]}
    assert got == want
    assert sum(want.values()) == 3 * 60
    back = [a for a in by_nodeid(doc)[lost["nodeid"]]["attempt_log"]
            if a["host"] == "runner-2" and a["source_attempt"] == lost["attempt"]]
    assert len(back) == 1 and back[0]["outcome"] == lost["outcome"], (back, lost)
    # r1's and r3's attempts all still have their traces
    for t in doc["tests"]:
        for a in t["attempt_log"]:
            if a["host"] != "runner-2" and a["outcome"] != "skipped":
                assert "trace" in a, (t["nodeid"], a["host"], a["attempt"])


def test_shard_without_meta(shards, tmp_path):
    """A shard whose meta.json did not make it: merged with a warning under a run id of its
    own (its content hash), its attempts all there, its host unknown."""
    _, sh = shards
    r1, _, r3 = (sh[h][0] for h in HOSTS)
    bare = tmp_path / "bare"
    shutil.copytree(r3, bare)
    (bare / "meta.json").unlink()
    p = merge(tmp_path / "M", r1, bare)
    assert f"{bare}: no meta.json; merged without its run's metadata" in p.stderr, p.stderr
    again = merge(tmp_path / "M", bare)                   # the same content: the same source
    assert "(0 new)" in again.stdout
    _, doc = report(tmp_path / "M", tmp_path / "m", "--no-history")
    ids = sorted(s["run_id"] for s in doc["sources"])
    assert ids[1].startswith("nometa-") and len(ids[1]) == len("nometa-") + 12, ids
    t = by_nodeid(doc)["test_m.py::test_on_runner3"]
    assert t["attempts"] == 20
    assert {h["host"]: h["failed"] for h in t["hosts"]} == {"runner-1": 0, "unknown": 9}


def test_merge_cli_usage(tmp_path):
    for args, msg in ((["merge"], "merge needs --out"), (["merge", "x"], "merge needs --out"),
                      (["merge", "--out", str(tmp_path / "o")], "at least one RUN_DIR"),
                      (["merge", "x", "--out", str(tmp_path / "o"), "--bogus"], "unknown option"),
                      (["history"], "history needs a subcommand"),
                      (["history", "import"], "needs DIR")):
        p = analyze(*args, check=False)
        assert p.returncode == 2 and msg in p.stderr, (args, p.stderr)
    p = analyze("--help")
    assert "merge RUN_DIR... --out RUN_DIR" in p.stdout and "history import DIR" in p.stdout


def test_quarantine_of_the_shards(tmp_path):
    """Shards hunted with --fh-quarantine: the merged report shows the marks of their
    quarantine file (the first source's that has one)."""
    q = tmp_path / "quarantine.toml"
    q.write_text('[[quarantine]]\nnodeid = "test_q.py::test_known"\nowner = "alice"\n'
                 'reason = "tracked"\nexpires = 2099-01-01\n')
    runs = []
    for i, host in enumerate(("qa", "qb")):
        suite = tmp_path / f"suite-{host}"
        suite.mkdir()
        (suite / "test_q.py").write_text("def test_known():\n    assert False\n"
                                         "def test_fine():\n    pass\n")
        args = (f"--fh-quarantine={q}",) if i == 0 else ()
        runs.append(hunt(suite, tmp_path / f"run-{host}", host, *args, runs=2, preload=False))
    assert (runs[0] / "quarantine.json").exists() and not (runs[1] / "quarantine.json").exists()
    merge(tmp_path / "M", *runs)
    _, doc = report(tmp_path / "M", tmp_path / "m", "--no-history")
    t = by_nodeid(doc)["test_q.py::test_known"]
    assert t["quarantine"]["owner"] == "alice" and t["quarantine"]["active"] is True
    assert by_nodeid(doc)["test_q.py::test_fine"]["quarantine"] is None
