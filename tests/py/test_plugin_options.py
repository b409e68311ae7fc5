# SPDX-License-Identifier: MIT
"""Every option and its ini twin, checked through what the run wrote: records, meta.json, the
environment the tests saw, and the command line the plugin gave the analyzer."""
import os

import pytest

from fh_plugin import fh  # noqa: F401
from pytest_flakehunter import compat

ENV_SUITE = """
import json, os
def test_env():
    with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "env.json"), "a") as f:
        f.write(json.dumps({k: os.environ.get(k) for k in ("FH_TRACE_DIR", "FH_STACK_MS")}) + "\\n")
"""


def _ini(hunt, **kv):
    hunt.pytester.makeini("[pytest]\n" + "".join(f"{k} = {v}\n" for k, v in kv.items()))


def _env_seen(fh):
    import json
    return [json.loads(x) for x in (fh.path / "env.json").read_text().splitlines()]


@pytest.mark.parametrize("via", ["cli", "ini"])
def test_fh_and_runs(fh, via):
    fh.pytester.makepyfile(test_e=ENV_SUITE)
    if via == "cli":
        r = fh.run("--fh", "--fh-runs=7")
    else:
        _ini(fh, fh="true", fh_runs=7)
        r = fh.run()
    r.assert_outcomes(passed=7)
    recs = fh.records()
    assert [x["attempt"] for x in recs] == list(range(1, 8)) and recs[0]["runs"] == 7
    meta = fh.meta()
    assert set(meta) >= {"schema", "run_id", "runs_per_test"} and meta["runs_per_test"] == 7
    assert meta["schema"] == "flakehunter-run/1" and meta["tracing"] is False
    assert meta["xdist"] is False and meta["isolate"] is False
    assert meta["rootdir"] == str(fh.path) and fh.run_dir().name == meta["run_id"]
    # Defaults handed to the analyzer.
    (call,) = fh.analyzer_calls()
    assert call["argv"] == ["report", str(fh.run_dir()),
                            "--out", str(fh.path / "flakehunter_report.html"),
                            "--json", str(fh.path / "flakehunter_report.json"),
                            "--history-dir", str(fh.path / ".flakehunter" / "history")]
    assert call["preload"] is None and call["trace_dir"] is None
    assert "FAKE-ANALYZER-SUMMARY line 1" in r.stdout.str()
    # Tests (and their children) see the trace directory; FH_STACK_MS only when asked for.
    assert _env_seen(fh)[0] == {"FH_TRACE_DIR": str(fh.run_dir() / "trace"), "FH_STACK_MS": None}


@pytest.mark.skipif(pytest.version_tuple[:1] < (9,),
                    reason=f"native TOML configuration ([tool.pytest]) is pytest 9's; this is "
                           f"pytest {pytest.__version__} (tests/py/test_plugin_pytest9.py runs "
                           f"this file under pytest 9)")
def test_native_toml_values(fh):
    """pytest 9 hands `[tool.pytest]` values over with their TOML types: integers stay ints."""
    fh.pytester.makepyfile(test_e=ENV_SUITE)
    fh.pytester.makepyprojecttoml('[tool.pytest]\nfh = true\nfh_runs = 3\nfh_stack_ms = 0\n'
                                  'fh_keep_runs = 5\nfh_report = "out/r.html"\n')
    r = fh.run()
    r.assert_outcomes(passed=3)
    (call,) = fh.analyzer_calls()
    assert call["argv"][2:4] == ["--out", str(fh.path / "out" / "r.html")]
    assert _env_seen(fh)[0]["FH_STACK_MS"] == "0"
    # A value of the wrong TOML type is a one-line usage error, not an internal error.
    fh.pytester.makepyprojecttoml('[tool.pytest]\nfh = true\nfh_runs = "3"\n')
    r = fh.run()
    assert r.ret == 4 and "INTERNALERROR" not in r.stderr.str() + r.stdout.str()
    assert "--fh-runs (ini fh_runs): not an integer" in r.stderr.str()


def test_cli_wins_over_ini(fh):
    fh.pytester.makepyfile(test_e=ENV_SUITE)
    _ini(fh, fh="true", fh_runs=2)
    fh.run("--fh-runs", "3").assert_outcomes(passed=3)


def test_fh_false_in_ini_is_off(fh):
    fh.pytester.makepyfile(test_e=ENV_SUITE)
    _ini(fh, fh="false")
    fh.run().assert_outcomes(passed=1)
    assert fh.run_dirs() == []


@pytest.mark.parametrize("via", ["cli", "ini"])
def test_report_json_history_ai(fh, via):
    fh.pytester.makepyfile(test_e=ENV_SUITE)
    if via == "cli":
        r = fh.run("--fh", "--fh-runs=1", "--fh-report=out/r.html", "--fh-json=out/s.json",
                   "--fh-history-dir=hist", "--fh-ai", "--fh-ai-model=claude-test-1",
                   "--fh-ai-dotenv", "--fh-stack-ms=25")
    else:
        _ini(fh, fh="1", fh_runs=1, fh_report="out/r.html", fh_json="out/s.json",
             fh_history_dir="hist", fh_ai="yes", fh_ai_model="claude-test-1",
             fh_ai_dotenv="true", fh_stack_ms=25)
        r = fh.run()
    r.assert_outcomes(passed=1)
    (call,) = fh.analyzer_calls()
    assert call["argv"] == ["report", str(fh.run_dir()),
                            "--out", str(fh.path / "out" / "r.html"),
                            "--json", str(fh.path / "out" / "s.json"),
                            "--history-dir", str(fh.path / "hist"),
                            "--ai", "--ai-model", "claude-test-1", "--ai-dotenv"]
    assert call["cwd"] == str(fh.path)
    assert _env_seen(fh)[0]["FH_STACK_MS"] == "25"


@pytest.mark.parametrize("via", ["cli", "ini"])
def test_json_defaults_to_report_path_and_no_history(fh, via):
    fh.pytester.makepyfile(test_e=ENV_SUITE)
    if via == "cli":
        fh.run("--fh", "--fh-runs=1", "--fh-report=x/rep.html", "--fh-no-history")
    else:
        _ini(fh, fh="true", fh_runs=1, fh_report="x/rep.html", fh_no_history="true")
        fh.run()
    (call,) = fh.analyzer_calls()
    assert call["argv"][2:] == ["--out", str(fh.path / "x" / "rep.html"),
                                "--json", str(fh.path / "x" / "rep.json"), "--no-history"]


@pytest.mark.parametrize("via", ["cli", "ini"])
def test_isolate(fh, via):
    fh.pytester.makepyfile(test_e=ENV_SUITE)
    if via == "cli":
        fh.run("--fh", "--fh-runs=2", "--fh-isolate").assert_outcomes(passed=2)
    else:
        _ini(fh, fh="true", fh_runs=2, fh_isolate="true")
        fh.run().assert_outcomes(passed=2)
    assert fh.meta()["isolate"] is True
    assert [x["isolate"] for x in fh.records()] == [True, True]


@pytest.mark.parametrize("via", ["cli", "ini"])
def test_keep_runs_prunes_oldest(fh, via):
    fh.pytester.makepyfile(test_e=ENV_SUITE)
    runs = fh.path / ".flakehunter" / "runs"
    old = [runs / f"2020010{i}T000000Z-00000{i}" for i in range(1, 6)]
    for d in old:
        d.mkdir(parents=True)
        (d / "meta.json").write_text("{}")
    keep_other = runs / "not-a-run"
    keep_other.mkdir()
    if via == "cli":
        fh.run("--fh", "--fh-runs=1", "--fh-keep-runs=3")
    else:
        _ini(fh, fh="true", fh_runs=1, fh_keep_runs=3)
        fh.run()
    names = sorted(p.name for p in runs.iterdir())
    assert names[:2] == [old[3].name, old[4].name]
    assert len(names) == 4 and "not-a-run" in names
    assert fh.run_dir().name not in [d.name for d in old]


def test_default_keep_runs_is_20(fh):
    fh.pytester.makepyfile(test_e=ENV_SUITE)
    runs = fh.path / ".flakehunter" / "runs"
    for i in range(25):
        (runs / f"202001{i + 1:02d}T000000Z-abcdef").mkdir(parents=True)
    fh.run("--fh", "--fh-runs=1")
    assert len(list(runs.iterdir())) == 20


@pytest.mark.parametrize("args,ini,msg", [
    (["--fh", "--fh-runs=0"], None, "--fh-runs (ini fh_runs): must be at least 1"),
    (["--fh", "--fh-runs=x"], None, "--fh-runs (ini fh_runs): not an integer"),
    (["--fh"], {"fh_keep_runs": "-1"}, "--fh-keep-runs (ini fh_keep_runs): must be at least 1"),
    (["--fh"], {"fh_runs": "x"}, "--fh-runs (ini fh_runs): not an integer"),
    (["--fh", "--fh-stack-ms=-5"], None, "--fh-stack-ms (ini fh_stack_ms): must be at least 0"),
])
def test_bad_values_are_usage_errors(fh, args, ini, msg):
    fh.pytester.makepyfile(test_e=ENV_SUITE)
    if ini:
        _ini(fh, **ini)
    r = fh.run(*args)
    assert r.ret == 4
    assert msg in r.stderr.str()


def test_help_lists_every_option(fh):
    r = fh.run("--help")
    out = r.stdout.str()
    for opt in ("--fh ", "--fh-runs=N", "--fh-report=PATH", "--fh-json=PATH", "--fh-ai ",
                "--fh-ai-model=MODEL", "--fh-ai-dotenv", "--fh-history-dir=PATH",
                "--fh-no-history", "--fh-isolate", "--fh-keep-runs=N", "--fh-stack-ms=MS"):
        assert opt in out, opt
    for ini in ("fh (bool)", f"fh_runs ({compat.INI_INT})", "fh_report", "fh_json", "fh_ai (bool)",
                "fh_ai_model", "fh_ai_dotenv", "fh_history_dir", "fh_no_history",
                "fh_isolate", "fh_keep_runs", "fh_stack_ms"):
        assert ini in out, ini
    assert "flakehunter: hunt flaky tests" in out
    assert os.environ.get("FH_TRACE_DIR") is None


def test_unwritable_run_dir_is_a_usage_error(fh):
    fh.pytester.makepyfile(test_e=ENV_SUITE)
    (fh.path / ".flakehunter").write_text("a file where the directory should be")
    r = fh.run("--fh", "--fh-runs=1")
    assert r.ret == 4
    assert "flakehunter: cannot create a run directory under" in r.stderr.str()


def test_meta_git_fields(fh):
    import subprocess
    for k, v in (("GIT_AUTHOR_NAME", "t"), ("GIT_AUTHOR_EMAIL", "t@example.invalid"),
                 ("GIT_COMMITTER_NAME", "t"), ("GIT_COMMITTER_EMAIL", "t@example.invalid"),
                 ("GIT_CONFIG_GLOBAL", "/dev/null"), ("GIT_CONFIG_NOSYSTEM", "1")):
        fh.mp.setenv(k, v)
    fh.pytester.makepyfile(test_e=ENV_SUITE)
    (fh.path / ".gitignore").write_text(".flakehunter/\nenv.json\n*.json\n*.html\n")

    def git(*a):
        return subprocess.run(["git", *a], cwd=fh.path, check=True, capture_output=True,
                              text=True).stdout.strip()
    git("init", "-q", "-b", "hunt")
    git("add", "-A")
    git("commit", "-q", "-m", "x")
    fh.run("--fh", "--fh-runs=1")
    meta = fh.meta()
    assert meta["git"] == {"branch": "hunt", "commit": git("rev-parse", "HEAD"), "dirty": False}
    (fh.path / "test_e.py").write_text(ENV_SUITE + "\n# changed\n")
    before = set(fh.run_dirs())
    fh.run("--fh", "--fh-runs=1")
    (new,) = set(fh.run_dirs()) - before
    assert fh.meta(new)["git"]["dirty"] is True
    assert meta["host"] and meta["cpu_count"] >= 1 and meta["ram_bytes"] > 0
    assert meta["args"][-5:] == ["pytest_flakehunter", "-p", "no:cacheprovider", "--fh",
                                 "--fh-runs=1"]
    assert set(meta) == {"schema", "run_id", "started_utc", "runs_per_test", "isolate", "xdist",
                         "tracing", "host", "os", "python", "pytest", "plugin_version",
                         "cpu_count", "ram_bytes", "git", "rootdir", "args", "runs_mode",
                         "max_runs", "budget_s", "fail_on", "quarantine", "order", "chaos"}
    assert (meta["runs_mode"], meta["max_runs"], meta["budget_s"], meta["fail_on"],
            meta["quarantine"], meta["chaos"]) == ("fixed", 1, None, "any", None, None)


@pytest.mark.parametrize("arg", ["--help", "--co", "--markers", "--fixtures"])
def test_nothing_written_when_nothing_runs(fh, arg):
    fh.pytester.makepyfile(test_e=ENV_SUITE)
    r = fh.run("--fh", arg)
    assert r.ret == 0
    assert not (fh.path / ".flakehunter").exists() and fh.analyzer_calls() == []
