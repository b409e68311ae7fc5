# SPDX-License-Identifier: MIT
"""The CSV history through `fh-analyze report`: three runs accumulate (trends in the JSON),
re-rendering never appends twice, Python's csv module reads the files back (hostile strings
round-trip, formulas neutralised), corrupt rows are skipped with a warning, and --no-history
leaves no trace."""
import csv
import io

from fh_summary import gen_run, load_json, run_report, validate_summary

COLUMNS = ["run_id", "timestamp_utc", "flakehunter_version", "hostname", "os", "python_version",
           "pytest_version", "cpu_count", "ram_bytes", "git_branch", "git_commit", "git_dirty",
           "nodeid", "file", "function", "param_id", "fixtures", "runs_requested", "attempt",
           "outcome", "duration_s", "setup_s", "call_s", "teardown_s", "error_type",
           "error_message", "failure_function", "failure_file", "failure_line", "fingerprint",
           "failure_depth"]


def read_rows(path):
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.reader(f))


def three_runs(fh_paths, tmp_path, hostile=False):
    hist = tmp_path / "history"
    docs = []
    for i, (host, day) in enumerate([("ci-1", "02"), ("laptop", "09"), ("ci-1", "16")]):
        run = gen_run(tmp_path / f"run{i}", tests=12, runs=8, fail_rate=0.2, seed=10 + i,
                      hostile=hostile, run_id=f"R{i}", host=host,
                      started=f"2026-11-{day}T10:00:00Z")
        _, _, js = run_report(fh_paths["analyze"], run, tmp_path, "--history-dir", str(hist),
                              name=f"report{i}")
        docs.append(load_json(js))
    return hist, docs


def test_three_runs_accumulate(fh_paths, tmp_path):
    hist, docs = three_runs(fh_paths, tmp_path)
    files = sorted(hist.glob("*.csv"))
    assert len(files) == len(docs[-1]["tests"])
    for path in files:
        rows = read_rows(path)
        assert rows[0][:len(COLUMNS)] == COLUMNS
        assert len(rows) == 1 + 3 * 8
        assert [r[0] for r in rows[1:]] == ["R0"] * 8 + ["R1"] * 8 + ["R2"] * 8
    doc = docs[-1]
    validate_summary(doc)
    for t in doc["tests"]:
        h = t["history"]
        assert [r["run_id"] for r in h["runs"]] == ["R0", "R1", "R2"]
        assert h["total_attempts"] == sum(r["attempts"] for r in h["runs"])
        assert h["runs"][-1]["failed"] == t["failed"]
        assert {g["key"]: g["runs"] for g in h["by_host"]} == {"ci-1": 2, "laptop": 1}
        assert [g["key"] for g in h["by_week"]] == ["2026-W45", "2026-W46", "2026-W47"]
        assert h["trend"] in ("rising", "falling", "flat")
        if h["total_failed"]:
            assert h["locations"] and h["locations"][0]["failed"] > 0
        assert h["skipped_rows"] == 0
    # Re-rendering the last run appends nothing and gives the same trends.
    before = {p: p.read_bytes() for p in files}
    assert (tmp_path / "run2" / "history-appended").exists()
    _, _, js = run_report(fh_paths["analyze"], tmp_path / "run2", tmp_path, "--history-dir",
                          str(hist), name="again")
    assert {p: p.read_bytes() for p in files} == before
    again = load_json(js)
    assert [t["history"] for t in again["tests"]] == [t["history"] for t in doc["tests"]]


def test_hostile_strings_round_trip(fh_paths, tmp_path):
    hist, docs = three_runs(fh_paths, tmp_path, hostile=True)
    messages = {}
    for t in docs[-1]["tests"]:
        for a in t["attempt_log"]:
            if "message" in a:
                messages.setdefault(t["nodeid"], set()).add(a["message"])
    seen_formula = False
    for path in hist.glob("*.csv"):
        raw = path.read_text(encoding="utf-8")
        rows = read_rows(path)
        col = {name: i for i, name in enumerate(rows[0])}
        for r in rows[1:]:
            for cell in r:
                # No cell starts a formula for a spreadsheet.
                assert not cell[:1] in ("=", "+", "@") and not (
                    cell[:1] == "-" and not cell.replace("-", "", 1).replace(".", "").isdigit())
            msg = r[col["error_message"]]
            if msg.startswith("'"):
                seen_formula = True
                msg = msg[1:]
            nodeid = r[col["nodeid"]].removeprefix("'")
            if r[0] == "R2" and msg:
                assert msg in messages[nodeid], (path, msg)
        assert raw.count("\n") >= len(rows)
    assert seen_formula


def test_corrupt_rows_skipped(fh_paths, tmp_path):
    hist, docs = three_runs(fh_paths, tmp_path)
    victim = sorted(hist.glob("*.csv"))[0]
    with open(victim, "a", encoding="utf-8") as f:
        f.write("R9,only,three\n")
        f.write('R9,"unterminated\n')
    nodeid = read_rows(victim)[1][12]
    run = gen_run(tmp_path / "run3", tests=12, runs=8, seed=99, run_id="R3")
    proc, _, js = run_report(fh_paths["analyze"], run, tmp_path, "--history-dir", str(hist),
                             name="after")
    assert "corrupt history row" in proc.stderr
    assert str(victim) in proc.stderr
    t = next(t for t in load_json(js)["tests"] if t["nodeid"] == nodeid)
    assert t["history"]["skipped_rows"] == 2
    assert [r["run_id"] for r in t["history"]["runs"]] == ["R0", "R1", "R2", "R3"]
    # The corrupt rows are still there, untouched, and the new rows follow intact.
    text = victim.read_text(encoding="utf-8")
    assert "R9,only,three\n" in text
    assert sum(1 for r in csv.reader(io.StringIO(text.split('R9,"unterminated\n')[1]))
               if r and r[0] == "R3") == 8


def test_no_history(fh_paths, tmp_path):
    run = gen_run(tmp_path / "run", tests=5, runs=4, seed=4)
    hist = tmp_path / "history"
    _, _, js = run_report(fh_paths["analyze"], run, tmp_path, "--history-dir", str(hist),
                          "--no-history")
    assert not hist.exists()
    assert not (run / "history-appended").exists()
    assert all(t["history"] is None for t in load_json(js)["tests"])


def test_threads_give_the_same_history(fh_paths, tmp_path):
    # With 64 tests or more the history files are read and appended on several threads; files,
    # trends and warnings must be exactly those of one thread.
    import os
    import subprocess
    results = []
    for threads in ("1", "3"):
        hist = tmp_path / f"hist{threads}"
        warnings = []
        for i in range(3):
            run = gen_run(tmp_path / f"run{threads}-{i}", tests=100, runs=5, fail_rate=0.2,
                          seed=20 + i, run_id=f"R{i}", hostile=True)
            if i == 2:
                for n, path in enumerate(sorted(hist.glob("*.csv"))[::7]):
                    with open(path, "a", encoding="utf-8") as f:
                        f.write(f"R9,broken row {n}\n")
            out = tmp_path / f"r{threads}-{i}.html"
            proc = subprocess.run(
                [str(fh_paths["analyze"]), "report", str(run), "--history-dir", str(hist),
                 "--out", str(out)], capture_output=True, text=True, cwd=tmp_path,
                env=dict(os.environ, FH_THREADS=threads))
            warnings += [ln.replace(f"hist{threads}", "HIST")
                         for ln in proc.stderr.splitlines() if "history" in ln]
        doc = load_json(out.with_suffix(".json"))
        files = {p.name: p.read_bytes() for p in hist.glob("*.csv")}
        results.append(([t["history"] for t in doc["tests"]], files, warnings))
    assert sum("corrupt history row" in w for w in results[0][2]) >= 10
    assert results[0] == results[1]


def test_unusable_history_dir(fh_paths, tmp_path):
    run = gen_run(tmp_path / "run", tests=70, runs=3, seed=6)
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("x")
    proc, _, js = run_report(fh_paths["analyze"], run, tmp_path, "--history-dir", str(blocker))
    lines = [ln for ln in proc.stderr.splitlines() if "history" in ln]
    assert len(lines) == 1 and "cannot use history dir" in lines[0], proc.stderr
    doc = load_json(js)
    assert all([r["run_id"] for r in t["history"]["runs"]] == [doc["run_id"]]
               for t in doc["tests"])
    assert not (run / "history-appended").exists()
