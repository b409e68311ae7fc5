# SPDX-License-Identifier: MIT
"""History kept by pytest-flakehunter 1.0.1 (the seed): its per-test CSV files, written here in
its documented format with Python's csv module (its writer), are read into the trends of a real
hunt's report, and `fh-analyze history import` converts them once into this tool's files,
keeping the originals. Hostile rows are skipped with a warning naming file and line."""
import csv
import hashlib

from fh_merge import analyze, by_nodeid, hunt, report

SEED_FIELDS = [
    "run_id", "timestamp_utc", "flakehunter_version", "hostname", "os_name", "os_version",
    "python_version", "pytest_version", "cpu_count", "cpu_freq_mhz", "ram_total_gb",
    "ram_available_gb", "git_branch", "git_commit", "git_dirty", "nodeid", "test_file",
    "test_function", "parametrize_id", "fixture_names", "fixture_values",
    "total_runs_requested", "attempt", "outcome", "total_duration_s", "setup_duration_s",
    "call_duration_s", "teardown_duration_s", "error_type", "error_msg", "failure_function",
    "failure_file", "failure_lineno", "traceback_fingerprint", "failure_depth",
]

LONG = "long-" * 40   # a nodeid over 180 characters: the seed shortens its file name
SUITE = f'''
import pytest

def test_plain():
    pass

@pytest.mark.parametrize("v", ["{LONG}"])
def test_long(v):
    pass
'''


def seed_name(nodeid):
    """The seed's file name of a test (its documented scheme)."""
    safe = nodeid.replace("::", "__").replace("/", "_").replace("\\", "_")
    if len(safe) > 180:
        safe = safe[:120] + "__" + hashlib.md5(nodeid.encode()).hexdigest()[:8]
    return safe + ".csv"


def seed_rows(nodeid, run_id, day, host, fails, runs=5):
    out = []
    for a in range(1, runs + 1):
        failed = a in fails
        out.append({
            "run_id": run_id, "timestamp_utc": f"2026-01-{day:02d}T10:20:30+00:00",
            "flakehunter_version": "1.0.1", "hostname": host, "os_name": "Linux",
            "os_version": "6.1.0", "python_version": "3.11.2", "pytest_version": "8.0.0",
            "cpu_count": 4, "cpu_freq_mhz": "2400", "ram_total_gb": "16.00",
            "ram_available_gb": "9.50", "git_branch": "main", "git_commit": "abc1234",
            "git_dirty": "false", "nodeid": nodeid, "test_file": nodeid.split("::")[0],
            "test_function": nodeid.split("::")[1].split("[")[0], "parametrize_id": "",
            "fixture_names": "tmp_path,db", "fixture_values": '{"db": "<Db>"}',
            "total_runs_requested": runs, "attempt": a,
            "outcome": "failed" if failed else "passed", "total_duration_s": "0.0123",
            "setup_duration_s": "0.0010", "call_duration_s": "0.0100",
            "teardown_duration_s": "0.0013",
            "error_type": "AssertionError" if failed else "",
            "error_msg": "=1 != 2\nwith password=hunter2" if failed else "",
            "failure_function": "test_plain" if failed else "",
            "failure_file": "test_h.py" if failed else "", "failure_lineno": 4 if failed else "",
            "traceback_fingerprint": "deadbeef" if failed else "",
            "failure_depth": 1 if failed else 0,
        })
    return out


def write_seed(path, rows):
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=SEED_FIELDS)
        w.writeheader()
        for r in rows:
            w.writerow(r)


def setup_seed(hist, plain, long_):
    hist.mkdir()
    p_plain = hist / seed_name(plain)
    write_seed(p_plain, seed_rows(plain, "a1b2c3d4", 5, "old-ci", {2, 3}) +
               seed_rows(plain, "e5f6a7b8", 12, "laptop", {5}))
    # hostile rows appended by hand: a bad attempt, an unknown outcome, a cut row
    with open(p_plain, "a", newline="", encoding="utf-8") as f:
        good = seed_rows(plain, "deadbeef", 13, "old-ci", set(), runs=1)[0]
        w = csv.DictWriter(f, fieldnames=SEED_FIELDS)
        w.writerow(dict(good, attempt="x"))
        w.writerow(dict(good, outcome="exploded"))
        f.write("deadbeef,2026-01-13T10:20:30+00:00,1.0.1\r\n")
    p_long = hist / seed_name(long_)
    assert len(p_long.name) < 200 and "__" in p_long.name[-14:]   # the md5-shortened name
    write_seed(p_long, seed_rows(long_, "c0ffee00", 7, "old-ci", {1}))
    return p_plain, p_long


def test_seed_history_read_and_imported(tmp_path):
    suite = tmp_path / "suite"
    suite.mkdir()
    (suite / "test_h.py").write_text(SUITE)
    plain, long_ = "test_h.py::test_plain", f"test_h.py::test_long[{LONG}]"
    hist = tmp_path / "history"
    p_plain, p_long = setup_seed(hist, plain, long_)
    originals = {p: p.read_bytes() for p in (p_plain, p_long)}
    run = hunt(suite, tmp_path / "run", "new-ci", runs=4, preload=False)

    p, doc = report(run, tmp_path / "r1", "--history-dir", hist)
    # header, 10 rows, 3 of them failures whose message spans two lines: the hostile rows
    # start at line 15
    for line, why in ((15, "bad attempt number"), (16, "unknown outcome"),
                      (17, "wrong number of cells")):
        assert f"{p_plain}:{line}: corrupt pytest-flakehunter history row ({why})" in p.stderr, \
            p.stderr
    tests = by_nodeid(doc)
    h = tests[plain]["history"]
    assert [(r["run_id"], r["host"], r["attempts"], r["failed"]) for r in h["runs"]][:2] == \
        [("a1b2c3d4", "old-ci", 5, 2), ("e5f6a7b8", "laptop", 5, 1)]
    assert h["runs"][0]["timestamp"] == "2026-01-05T10:20:30Z"
    assert h["runs"][-1]["host"] == "new-ci" and len(h["runs"]) == 3
    assert h["total_attempts"] == 14 and h["total_failed"] == 3
    assert {g["key"] for g in h["by_host"]} == {"old-ci", "laptop", "new-ci"}
    assert h["locations"][0]["key"] == "test_h.py:4 in test_plain"
    lh = tests[long_]["history"]
    assert [r["run_id"] for r in lh["runs"]][0] == "c0ffee00" and lh["total_failed"] == 1

    # import: converted into our files, originals untouched, nothing twice
    p = analyze("history", "import", hist)
    assert "2 pytest-flakehunter files, 15 rows imported into 2 test histories" in p.stdout, \
        p.stdout
    assert {q: q.read_bytes() for q in originals} == originals
    again = analyze("history", "import", hist)
    assert "0 rows imported" in again.stdout and "15 rows already there" in again.stdout
    ours = [f for f in hist.glob("*.csv") if f not in originals]
    assert len(ours) == 2
    rows = list(csv.DictReader(open(next(f for f in ours if "test_plain" in f.name),
                                    newline="", encoding="utf-8")))
    seed = [r for r in rows if r["run_id"] in ("a1b2c3d4", "e5f6a7b8")]
    assert len(seed) == 10 and len(rows) == 10 + 4       # the report appended our run's 4
    first_fail = next(r for r in seed if r["outcome"] == "failed")
    assert first_fail["os"] == "Linux-6.1.0" and first_fail["ram_bytes"] == "16000000000"
    assert first_fail["fixtures"] == "tmp_path;db" and first_fail["failure_line"] == "4"
    assert first_fail["flakehunter_version"] == "pytest-flakehunter/1.0.1"
    assert first_fail["timestamp_utc"] == "2026-01-05T10:20:30Z"
    # redacted like our own records; a formula neutralised by an apostrophe (our CSV cells)
    assert first_fail["error_message"] == "'=1 != 2\nwith password=[REDACTED]"
    # after the import the trends count each seed run once
    _, doc2 = report(run, tmp_path / "r2", "--history-dir", hist)
    h2 = by_nodeid(doc2)[plain]["history"]
    assert h2["total_attempts"] == h["total_attempts"] and h2["runs"] == h["runs"]
    assert [r["run_id"] for r in h2["runs"]][:2] == ["a1b2c3d4", "e5f6a7b8"]


def test_import_hostile_and_not_seed_files(tmp_path):
    hist = tmp_path / "h"
    hist.mkdir()
    (hist / "notes.csv").write_text("a,b,c\n1,2,3\n")             # not the seed's header
    (hist / "empty.csv").write_bytes(b"")
    bad = hist / "bad.csv"
    bad.write_bytes(("\ufeff" + ",".join(SEED_FIELDS) + "\r\n").encode() +
                    b'"unterminated,\r\n')
    p = analyze("history", "import", hist)
    assert "1 pytest-flakehunter files, 0 rows imported" in p.stdout, p.stdout
    assert f"{bad}:2: corrupt pytest-flakehunter history row (unterminated quote)" in p.stderr
    assert sorted(f.name for f in hist.iterdir()) == ["bad.csv", "empty.csv", "notes.csv"]
    p = analyze("history", "import", tmp_path / "nope", check=False)
    assert p.returncode == 1 and "cannot read" in p.stderr
