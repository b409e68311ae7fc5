# SPDX-License-Identifier: MIT
"""Helpers of the plugin's integration tests (tests/py/test_plugin_*.py).

`fh` is a fixture (import it into a test module) that runs a real pytest in a subprocess on
a pytester directory with `-p pytest_flakehunter` (plugin/ on PYTHONPATH, no preload) and
reads back what the run wrote: run directories, meta.json, attempt records, and the command
line the plugin gave the analyzer (a recording stand-in for fh-analyze unless a test asks for
the real one).
"""
import json
import os
import pathlib
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
PLUGIN = ROOT / "plugin"
BUILD = pathlib.Path(os.environ.get("FH_BUILD", ROOT / "build"))
REAL_ANALYZE = pathlib.Path(os.environ.get("FH_ANALYZE", BUILD / "fh-analyze"))

RECORD_KEYS = {"v", "nodeid", "attempt", "runs", "outcome", "xfail", "when", "start_ns",
               "stop_ns", "wall", "duration_s", "phases", "pid", "tid", "worker", "file",
               "function", "param_id", "fixtures", "error", "frames", "isolate", "stop",
               "output", "round", "position", "footprint"}
STOPS = {None, "planned", "stable", "flaky", "broken", "skipped", "budget", "interrupted",
         "crashed"}
META_KEYS = {"schema", "run_id", "started_utc", "runs_per_test", "isolate", "xdist", "tracing",
             "host", "os", "python", "pytest", "plugin_version", "cpu_count", "ram_bytes",
             "git", "rootdir", "args", "runs_mode", "max_runs", "budget_s", "fail_on",
             "quarantine", "order", "chaos"}

FAKE_ANALYZER = """#!{python}
import json, os, sys
with open({out!r}, "a") as f:
    f.write(json.dumps({{"argv": sys.argv[1:], "cwd": os.getcwd(),
                        "preload": os.environ.get("LD_PRELOAD"),
                        "trace_dir": os.environ.get("FH_TRACE_DIR")}}) + "\\n")
print("FAKE-ANALYZER-SUMMARY line 1")
sys.stderr.write(os.environ.get("FAKE_ANALYZER_STDERR", ""))
sys.exit(int(os.environ.get("FAKE_ANALYZER_RC", "0")))
"""


class Hunt:
    def __init__(self, pytester, monkeypatch):
        self.pytester = pytester
        self.mp = monkeypatch
        self.path = pytester.path
        self.calls_file = self.path.parent / f"{self.path.name}-analyzer-calls.jsonl"
        fake = self.path.parent / f"{self.path.name}-fake-analyze"
        fake.write_text(FAKE_ANALYZER.format(python=sys.executable, out=str(self.calls_file)))
        fake.chmod(0o755)
        self.fake = fake
        self.use_fake_analyzer()

    def use_fake_analyzer(self):
        self.mp.setenv("FH_ANALYZE", str(self.fake))

    def use_real_analyzer(self):
        assert REAL_ANALYZE.exists(), f"{REAL_ANALYZE} missing: run make"
        self.mp.setenv("FH_ANALYZE", str(REAL_ANALYZE))

    def run(self, *args, plugin=True):
        pre = ["-p", "pytest_flakehunter"] if plugin else []
        return self.pytester.runpytest_subprocess(*pre, "-p", "no:cacheprovider", *args,
                                                  timeout=120)

    def analyzer_calls(self):
        if not self.calls_file.exists():
            return []
        return [json.loads(line) for line in self.calls_file.read_text().splitlines()]

    def run_dirs(self):
        runs = self.path / ".flakehunter" / "runs"
        return sorted(p for p in runs.iterdir() if p.is_dir()) if runs.exists() else []

    def run_dir(self):
        dirs = self.run_dirs()
        assert dirs, "no run directory written"
        return dirs[-1]

    def meta(self, run_dir=None):
        return json.loads(((run_dir or self.run_dir()) / "meta.json").read_text())

    def records(self, run_dir=None):
        out = []
        for f in sorted((run_dir or self.run_dir()).glob("attempts-*.jsonl")):
            for line in f.read_text().splitlines():
                rec = json.loads(line)
                check_record(rec)
                out.append(rec)
        return out

    def by_test(self, run_dir=None):
        tests = {}
        for rec in self.records(run_dir):
            tests.setdefault(rec["nodeid"], []).append(rec)
        return tests

    def log_lines(self, name="log.txt"):
        p = self.path / name
        return p.read_text().split() if p.exists() else []


def check_record(rec):
    """Validate one attempt record against docs/FORMATS.md."""
    optional = {"hung", "hang", "interrupted", "chaos", "profile", "gc", "fixture_setups",
                "fixture_setups_dropped"} & set(rec)
    assert set(rec) - optional == RECORD_KEYS, set(rec) ^ RECORD_KEYS
    assert rec["v"] == 1
    # attempts that ended by themselves carry their GC figures (records the watchdog, an
    # interruption or the controller for a crashed worker writes do not)
    if "gc" in rec:
        assert set(rec["gc"]) == {"collections", "pause_s", "max_pause_s", "collected"}
    assert isinstance(rec["nodeid"], str) and "::" in rec["nodeid"]
    assert 1 <= rec["attempt"] <= rec["runs"]
    assert rec["outcome"] in ("passed", "failed", "error", "skipped")
    assert isinstance(rec["xfail"], bool) and isinstance(rec["isolate"], bool)
    assert rec["when"] in (None, "setup", "call", "teardown")
    assert (rec["when"] is None) == (rec["outcome"] == "passed")
    assert isinstance(rec["start_ns"], int) and rec["stop_ns"] >= rec["start_ns"] > 0
    assert abs(rec["duration_s"] - (rec["stop_ns"] - rec["start_ns"]) / 1e9) < 1e-6
    assert isinstance(rec["wall"], float) and rec["wall"] > 1.6e9
    crashed = (rec["error"] or {}).get("type") == "WorkerCrashed"
    assert set(rec["phases"]) <= {"setup", "call", "teardown"}
    assert crashed or "setup" in rec["phases"]
    assert all(isinstance(v, float) and v >= 0 for v in rec["phases"].values())
    assert isinstance(rec["pid"], int) and isinstance(rec["tid"], int)
    assert rec["worker"] == "main" or rec["worker"].startswith("gw")
    assert not os.path.isabs(rec["file"]) and rec["nodeid"].startswith(rec["file"])
    assert isinstance(rec["function"], str) and rec["function"]
    assert rec["param_id"] is None or rec["nodeid"].endswith(f"[{rec['param_id']}]")
    assert isinstance(rec["fixtures"], list)
    for fx in rec.get("fixture_setups", []):   # [name, scope, begin_ns, end_ns] (tracing)
        name, scope, t0, t1 = fx
        assert isinstance(name, str) and name and 0 < t0 <= t1
        assert scope in ("session", "package", "module", "class", "function")
    if rec["outcome"] in ("failed", "error"):
        assert set(rec["error"]) == {"type", "message"}
        assert isinstance(rec["error"]["type"], str) and rec["error"]["type"]
    else:
        assert rec["error"] is None and rec["frames"] == []
    assert rec["stop"] in STOPS
    assert (rec["round"] is None) == (rec["position"] is None) or crashed
    assert rec["round"] is None or (rec["round"] >= 1 and (crashed or rec["position"] >= 1))
    assert rec["footprint"] is None or (isinstance(rec["footprint"], dict) and rec["footprint"])
    if rec["output"] is not None:
        assert rec["outcome"] in ("failed", "error")
        assert set(rec["output"]) <= {"stdout", "stderr", "log"} and rec["output"]
        assert all(isinstance(v, str) for v in rec["output"].values())
    for fr in rec["frames"]:
        assert set(fr) == {"path", "line", "function", "source"}
        assert isinstance(fr["line"], int) and fr["line"] > 0
        assert "_pytest" not in fr["path"] and "pluggy" not in fr["path"]


def needs_autoload(dist):
    """Skip marker for a test whose inner pytest needs the installed plugin `dist`
    (pytest-xdist, pytest-timeout), which only entry-point autoloading brings in."""
    return pytest.mark.skipif(
        bool(os.environ.get("PYTEST_DISABLE_PLUGIN_AUTOLOAD")),
        reason=f"{dist} not loaded: PYTEST_DISABLE_PLUGIN_AUTOLOAD is set (under pytest "
               f"{pytest.__version__} only flakehunter is loaded; Debian's {dist} is built "
               f"for pytest 7)")


@pytest.fixture
def fh(pytester, monkeypatch):
    # the inner pytest imports the plugin from plugin/ and the same pytest as this process
    pp = os.environ.get("PYTHONPATH")
    monkeypatch.setenv("PYTHONPATH", str(PLUGIN) + (os.pathsep + pp if pp else ""))
    for var in ("LD_PRELOAD", "FH_TRACE_DIR", "FH_STACK_MS", "PYTEST_ADDOPTS",
                "FAKE_ANALYZER_RC", "FAKE_ANALYZER_STDERR"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("PYTHONDONTWRITEBYTECODE", "1")
    return Hunt(pytester, monkeypatch)


LIFETIME_SUITE = """
import os, pytest
LOG = os.path.join(os.path.dirname(os.path.abspath(__file__)), "log.txt")
def log(s):
    with open(LOG, "a") as f:
        f.write(s + "\\n")
@pytest.fixture(scope="session")
def sess():
    log("sess-up"); yield; log("sess-down")
@pytest.fixture(scope="module")
def mod():
    log("mod-up"); yield; log("mod-down")
@pytest.fixture(scope="class")
def cls():
    log("cls-up"); yield; log("cls-down")
@pytest.fixture
def fn():
    log("fn-up"); yield; log("fn-down")
class TestC:
    def test_1(self, sess, mod, cls, fn):
        log("t1")
    def test_2(self, sess, mod, cls, fn):
        log("t2")
def test_3(sess, mod, fn):
    log("t3")
"""
