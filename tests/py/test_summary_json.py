# SPDX-License-Identifier: MIT
"""`fh-analyze report` on synthetic runs (bench/gen_run.py, the plugin's record format): the JSON
summary has every field DESIGN.md documents with the right type, its numbers agree with an
independent reading of the records, hostile records are skipped with FILE:LINE warnings, and
the command line behaves as docs/FORMATS.md says."""
import os
import re
import subprocess

from fh_summary import gen_run, load_json, records_by_test, run_report, validate_summary


def test_summary_fields_and_numbers(fh_paths, tmp_path):
    run = gen_run(tmp_path / "run", tests=40, runs=12, fail_rate=0.15, seed=7, workers=2)
    proc, html, js = run_report(fh_paths["analyze"], run, tmp_path, "--no-history")
    doc = load_json(js)
    validate_summary(doc)
    assert doc["runs_per_test"] == 12
    assert doc["tracing"] is False
    records = records_by_test(run)
    assert {t["nodeid"] for t in doc["tests"]} == set(records)
    kinds = set()
    for t in doc["tests"]:
        recs = records[t["nodeid"]]
        passed = sum(r["outcome"] == "passed" for r in recs)
        failed = sum(r["outcome"] in ("failed", "error") for r in recs)
        skipped = sum(r["outcome"] == "skipped" for r in recs)
        assert (t["attempts"], t["passed"], t["failed"], t["skipped"]) == \
            (len(recs), passed, failed, skipped)
        assert [a["attempt"] for a in t["attempt_log"]] == sorted(r["attempt"] for r in recs)
        if passed + failed:
            assert abs(t["flake_rate"] - failed / (passed + failed)) < 1e-6
        expected = ("skipped" if not passed + failed else "stable" if not failed
                    else "broken" if not passed else "flaky")
        assert t["verdict"] == expected
        kinds.add(expected)
        # Every failing attempt is in exactly one cluster, biggest first.
        assert sum(c["count"] for c in t["clusters"]) == failed
        counts = [c["count"] for c in t["clusters"]]
        assert counts == sorted(counts, reverse=True)
        by_fp = {c["fingerprint"]: set(c["attempts"]) for c in t["clusters"]}
        for a in t["attempt_log"]:
            if a["outcome"] in ("failed", "error"):
                assert re.fullmatch(r"[0-9a-f]{12}", a["fingerprint"])
                assert a["attempt"] in by_fp[a["fingerprint"]]
                assert a["failed_at"]["function"]
            else:
                assert a["fingerprint"] is None and a["failed_at"] is None
            assert "trace" not in a  # no traces in this run
    assert {"flaky", "stable"} <= kinds
    # Flaky and broken first, worst first; then stable by name.
    order = [t for t in doc["tests"] if t["verdict"] in ("flaky", "broken")]
    assert doc["tests"][:len(order)] == order
    rates = [t["flake_rate"] for t in order]
    assert rates == sorted(rates, reverse=True)
    stable = [t["nodeid"] for t in doc["tests"] if t["verdict"] == "stable"]
    assert stable == sorted(stable)
    # Terminal summary: flaky tests worst first with rate and verdict, and the paths.
    lines = proc.stdout.splitlines()
    assert lines[0].startswith(f"flakehunter: {len(doc['tests'])} tests x 12 runs")
    listed = [ln for ln in lines if ln.startswith("  flaky") or ln.startswith("  broken")]
    assert listed and listed[0].split()[-1] == order[0]["nodeid"]
    assert f"{order[0]['flake_rate'] * 100:.1f}%" in listed[0]
    assert f"json: {js}" in proc.stdout


def test_same_failure_same_fingerprint_across_tests(fh_paths, tmp_path):
    run = gen_run(tmp_path / "run", tests=60, runs=20, fail_rate=0.3, seed=3)
    _, _, js = run_report(fh_paths["analyze"], run, tmp_path, "--no-history")
    doc = load_json(js)
    # gen_run's clusters differ by exception type: one fingerprint never mixes two types
    # within a test, and the failure shape is the same on every attempt of a cluster.
    records = records_by_test(run)
    for t in doc["tests"]:
        types = {}
        for r in records[t["nodeid"]]:
            if r["outcome"] in ("failed", "error"):
                a = next(a for a in t["attempt_log"] if a["attempt"] == r["attempt"])
                types.setdefault(a["fingerprint"], set()).add(r["error"]["type"])
        assert all(len(v) == 1 for v in types.values()), t["nodeid"]


def test_hostile_records(fh_paths, tmp_path):
    run = gen_run(tmp_path / "run", tests=20, runs=6, fail_rate=0.2, seed=5, hostile=True)
    proc, _, js = run_report(fh_paths["analyze"], run, tmp_path, "--no-history")
    raw = js.read_text(encoding="utf-8")
    assert "<script>" not in raw and "</script>" not in raw  # escaped as \u003c
    doc = load_json(js)
    validate_summary(doc)
    warnings = [ln for ln in proc.stderr.splitlines() if "line skipped" in ln]
    assert warnings, proc.stderr
    for ln in warnings:
        assert re.match(r"fh-analyze: warning: .*attempts-\d+\.jsonl:\d+: .+; line skipped$", ln), ln
    assert any("truncated" in ln for ln in warnings)
    ids = {t["nodeid"] for t in doc["tests"]}
    assert "tests/test_hostile.py::test_x[<script>alert(1)</script>]" in ids
    assert "tests/test_hostile.py::test_newline[a\nb]" in ids
    assert "tests/test_hostile.py::test_unicode[é-漢字-🙂]" in ids
    assert "tests/test_trunc.py::test_cut" not in ids
    # The terminal summary cannot be forged by a newline in a nodeid.
    assert "test_newline[a\\nb]" in proc.stdout


def test_cli_usage(fh_paths, tmp_path):
    exe = str(fh_paths["analyze"])
    out = subprocess.run([exe, "--help"], capture_output=True, text=True)
    assert out.returncode == 0
    for word in ["report", "dump", "--out", "--json", "--history-dir", "--no-history", "--ai",
                 "--ai-model", "--ai-dotenv", "--quiet", "--version", "--help"]:
        assert word in out.stdout, word
    out = subprocess.run([exe, "--version"], capture_output=True, text=True)
    assert out.returncode == 0 and re.match(r"fh-analyze \d+\.\d+\.\d+", out.stdout)
    for bad in ([], ["frobnicate"], ["report"], ["report", "a", "b"], ["report", "x", "--bogus"],
                ["report", "x", "--out"], ["dump"]):
        out = subprocess.run([exe, *bad], capture_output=True, text=True)
        assert out.returncode == 2, bad
        assert out.stderr.count("\n") >= 1
    out = subprocess.run([exe, "report", str(tmp_path / "missing")], capture_output=True,
                         text=True, cwd=tmp_path)
    assert out.returncode == 1
    assert "cannot open run directory" in out.stderr
    out = subprocess.run([exe, "report", "--help"], capture_output=True, text=True)
    assert out.returncode == 0 and "--history-dir" in out.stdout
    out = subprocess.run([exe, "dump", str(tmp_path / "missing.fht")], capture_output=True,
                         text=True)
    assert out.returncode == 1 and "missing.fht" in out.stderr
    # An error is printed once, by the reader that found it (file and place), not again by
    # the command; the next file is still dumped.
    bad = tmp_path / "bad.fht"
    bad.write_bytes(b"not a trace file at all, but long enough to hold a header" * 100)
    out = subprocess.run([exe, "dump", str(bad), str(tmp_path / "missing.fht")],
                         capture_output=True, text=True)
    assert out.returncode == 1
    lines = out.stderr.splitlines()
    assert len(lines) == 2, out.stderr
    assert "bad.fht" in lines[0] and "offset 0" in lines[0] and "missing.fht" in lines[1]


def test_json_path_options(fh_paths, tmp_path):
    run = gen_run(tmp_path / "run", tests=5, runs=3, seed=2)
    exe = str(fh_paths["analyze"])
    # --json=PATH form and a separate JSON path.
    subprocess.run([exe, "report", str(run), "--no-history", "--out", str(tmp_path / "r.html"),
                    f"--json={tmp_path / 'elsewhere.json'}", "--quiet"], capture_output=True,
                   cwd=tmp_path)
    assert (tmp_path / "elsewhere.json").exists()
    assert not (tmp_path / "r.json").exists()
    # Defaults: flakehunter_report.html and .json in the working directory.
    subprocess.run([exe, "report", str(run), "--no-history"], capture_output=True, cwd=tmp_path)
    validate_summary(load_json(tmp_path / "flakehunter_report.json"))


def test_threads_give_the_same_result(fh_paths, tmp_path):
    # Over 4 MB of records are parsed on several threads; the summary, the order of the
    # warnings and their line numbers must be exactly those of a single-threaded parse.
    run = gen_run(tmp_path / "run", tests=400, runs=30, fail_rate=0.1, seed=11, hostile=True)
    assert sum(p.stat().st_size for p in run.glob("attempts-*.jsonl")) > 5 << 20
    results = []
    for threads in ("1", "3"):
        env = dict(os.environ, FH_THREADS=threads)
        out = tmp_path / f"t{threads}.html"
        proc = subprocess.run([str(fh_paths["analyze"]), "report", str(run), "--no-history",
                               "--out", str(out)], capture_output=True, text=True, env=env,
                              cwd=tmp_path)
        warnings = [ln for ln in proc.stderr.splitlines() if "line skipped" in ln]
        results.append((out.with_suffix(".json").read_bytes(), warnings))
    assert results[0][1] and len(results[0][1]) >= 10
    assert results[0] == results[1]
