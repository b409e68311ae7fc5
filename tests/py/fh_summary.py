# SPDX-License-Identifier: MIT
"""Helpers of the analyzer-core integration tests: generate a synthetic run with
bench/gen_run.py, run `fh-analyze report` on it, and check a JSON summary against the fields
DESIGN.md documents (names and types; the summary is a contract)."""
import json
import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[2]
GEN_RUN = ROOT / "bench" / "gen_run.py"
PYTHON = "/usr/bin/python3"

NUM = (int, float)
NULL = type(None)

# DESIGN.md "The JSON summary": every documented field and the types it may have.
TOP_FIELDS = {"schema": str, "run_id": str, "runs_per_test": int, "tracing": bool, "tests": list,
              "lost_records": int}
TEST_FIELDS = {
    "nodeid": str, "attempts": int, "passed": int, "failed": int, "skipped": int,
    "flake_rate": NUM, "flake_rate_ci95": list, "verdict": str, "attempt_log": list,
    "clusters": list, "diagnosis": (dict, NULL), "perf": (dict, NULL),
    "ai_hypothesis": (str, dict, NULL),
}
ATTEMPT_FIELDS = {
    "attempt": int, "outcome": str, "duration_s": NUM, "phases": dict,
    "failed_at": (dict, NULL), "fingerprint": (str, NULL),
}
PHASE_FIELDS = {"setup": NUM, "call": NUM, "teardown": NUM}
FAILED_AT_FIELDS = {"path": str, "line": int, "function": str}
CLUSTER_FIELDS = {"fingerprint": str, "count": int, "attempts": list, "error_type": (str, NULL),
                  "message": (str, NULL), "frames": list}
FRAME_FIELDS = {"path": str, "line": int, "function": str}
TRACE_FIELDS = {"cpu_s": NUM, "time_s": dict, "errors": list, "signals": list,
                "last_block": (dict, NULL), "in_flight": list, "children": list,
                "resources": dict}
TIME_KEYS = ["net", "dns", "sleep", "lock", "proc", "file", "other"]
DIAGNOSIS_FIELDS = {"kind": str, "blocked_on": (str, NULL), "summary": str, "evidence": list}
PERF_FIELDS = {"unstable": bool, "slow_attempts": list, "extra_s_by_category": dict,
               "extra_s_by_call": dict}
VERDICTS = {"flaky", "stable", "broken", "skipped"}
OUTCOMES = {"passed", "failed", "error", "skipped"}


def gen_run(out_dir, tests=30, runs=10, fail_rate=0.1, seed=1, hostile=False, **extra):
    cmd = [PYTHON, str(GEN_RUN), str(out_dir), "--tests", str(tests), "--runs", str(runs),
           "--fail-rate", str(fail_rate), "--seed", str(seed)]
    if hostile:
        cmd.append("--hostile")
    for k, v in extra.items():
        cmd += ["--" + k.replace("_", "-"), str(v)]
    subprocess.run(cmd, check=True)
    return pathlib.Path(out_dir)


def run_report(analyze, run_dir, tmp_path, *args, name="report"):
    out = tmp_path / f"{name}.html"
    cmd = [str(analyze), "report", str(run_dir), "--out", str(out), *args]
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert out.exists() and out.stat().st_size > 0
    return proc, out, out.with_suffix(".json")


def check_fields(obj, fields, where):
    assert isinstance(obj, dict), f"{where}: not an object"
    for name, types in fields.items():
        assert name in obj, f"{where}: missing field {name!r}"
        value = obj[name]
        types = types if isinstance(types, tuple) else (types,)
        if bool not in types and isinstance(value, bool):
            raise AssertionError(f"{where}.{name}: bool where {types} expected")
        assert isinstance(value, types), f"{where}.{name}: {type(value).__name__} not {types}"


def validate_summary(doc):
    """Asserts every documented field of the summary, with its type, at every level."""
    check_fields(doc, TOP_FIELDS, "summary")
    assert doc["schema"] == "flakehunter-summary/1"
    for t in doc["tests"]:
        where = t.get("nodeid", "?")
        check_fields(t, TEST_FIELDS, where)
        assert t["verdict"] in VERDICTS
        lo, hi = t["flake_rate_ci95"]
        assert 0 <= lo <= t["flake_rate"] <= hi <= 1, (where, lo, t["flake_rate"], hi)
        for a in t["attempt_log"]:
            check_fields(a, ATTEMPT_FIELDS, f"{where} attempt")
            assert a["outcome"] in OUTCOMES
            check_fields(a["phases"], PHASE_FIELDS, f"{where} phases")
            if a["failed_at"] is not None:
                check_fields(a["failed_at"], FAILED_AT_FIELDS, f"{where} failed_at")
            if "trace" in a:
                check_fields(a["trace"], TRACE_FIELDS, f"{where} trace")
                for k in TIME_KEYS:
                    assert isinstance(a["trace"]["time_s"][k], NUM)
        for c in t["clusters"]:
            check_fields(c, CLUSTER_FIELDS, f"{where} cluster")
            assert len(c["attempts"]) == c["count"]
            for f in c["frames"]:
                check_fields(f, FRAME_FIELDS, f"{where} frame")
        if t["diagnosis"] is not None:
            check_fields(t["diagnosis"], DIAGNOSIS_FIELDS, f"{where} diagnosis")
        if t["perf"] is not None:
            check_fields(t["perf"], PERF_FIELDS, f"{where} perf")


def records_by_test(run_dir):
    """Independent reading of the attempt records: {nodeid: [record, ...]}, skipping bad lines."""
    tests = {}
    for path in sorted(pathlib.Path(run_dir).glob("attempts-*.jsonl")):
        for line in path.read_text(encoding="utf-8").split("\n"):
            try:
                rec = json.loads(line)
            except ValueError:
                continue
            if not isinstance(rec, dict) or not rec.get("nodeid") or \
                    rec.get("outcome") not in OUTCOMES:
                continue
            tests.setdefault(rec["nodeid"], []).append(rec)
    return tests


def load_json(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


if __name__ == "__main__":
    validate_summary(load_json(sys.argv[1]))
    print("ok")
