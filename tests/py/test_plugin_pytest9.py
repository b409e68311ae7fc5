# SPDX-License-Identifier: MIT
"""The plugin under pytest 9.1.1 (Debian ships 7.2; most users run 8 or 9).

The pytest 9 and pluggy 1.6 source trees of ../shared/compat are unpacked into a temporary
directory and put first on PYTHONPATH; a child pytest 9 then runs the plugin's own test files,
and their inner pytest runs (pytester subprocesses and direct `python3 -m pytest`) inherit that
PYTHONPATH, so both levels are pytest 9: every meta.json those runs wrote says so. Debian's
xdist, timeout and repeat plugins are built for pytest 7, so plugins are not autoloaded
(PYTEST_DISABLE_PLUGIN_AUTOLOAD=1, `-p pytest_flakehunter`) and the tests that need xdist or
pytest-timeout skip, saying why. A short hunt with every warning turned into an error checks
that the plugin uses nothing pytest 9 deprecates."""
import importlib.util
import json
import os
import pathlib
import re
import subprocess
import tarfile

import pytest

from conftest import FH_ANALYZE, ROOT

HERE = pathlib.Path(__file__).resolve().parent
COMPAT = pathlib.Path(os.environ.get("FH_COMPAT_DIR") or ROOT.parent / "shared" / "compat")
SOURCES = {"pytest": ("pytest-9.1.1-src.tar.gz", "9.1.1"),
           "pluggy": ("pluggy-1.6.0-src.tar.gz", "1.6.0")}
# The plugin's tests, without test_plugin_install.py: it checks the installation into Debian's
# python3 and runs the pytest installed there, whatever pytest these tests run under.
FILES = sorted(p.name for p in HERE.glob("test_plugin_*.py")
               if p.name not in ("test_plugin_install.py", pathlib.Path(__file__).name))
FILES += ["test_ai_plugin.py", "test_ci_policy.py", "test_ci_terminal.py", "test_ci_plan.py",
          "test_order_rounds.py"]
# What may skip under pytest 9, and why.
SKIP_REASONS = ("pytest-xdist not loaded: PYTEST_DISABLE_PLUGIN_AUTOLOAD",
                "pytest-timeout not loaded: PYTEST_DISABLE_PLUGIN_AUTOLOAD",
                "pytest 9 types fh_runs as an int")


@pytest.fixture(scope="module")
def pytest9(tmp_path_factory):
    """(environment whose python3 imports pytest 9.1.1 and pluggy 1.6.0, its root)."""
    missing = [name for name, _ in SOURCES.values() if not (COMPAT / name).is_file()]
    if missing:
        pytest.skip(f"pytest 9 sources not found: {', '.join(str(COMPAT / m) for m in missing)} "
                    f"(../shared/compat beside the checkout, or FH_COMPAT_DIR)")
    for mod in ("iniconfig", "packaging"):
        assert importlib.util.find_spec(mod), f"python3-{mod} missing (pytest 9 needs it): " \
                                              f"run make deps"
    root = tmp_path_factory.mktemp("pytest9")
    for name, _ in SOURCES.values():
        with tarfile.open(COMPAT / name) as tf:
            if hasattr(tarfile, "data_filter"):
                tf.extractall(root, filter="data")
            else:  # pragma: no cover - a Python without extraction filters
                tf.extractall(root)
    env = {k: v for k, v in os.environ.items()
           if k not in ("LD_PRELOAD", "FH_TRACE_DIR", "PYTEST_ADDOPTS", "PYTEST_PLUGINS")}
    env["PYTHONPATH"] = os.pathsep.join([str(root / "pytest" / "src"),
                                         str(root / "pluggy" / "src"), str(ROOT / "plugin")])
    env["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    v = subprocess.run(["/usr/bin/python3", "-c", "import pytest, pluggy; "
                        "print(pytest.__version__, pluggy.__version__, pytest.__file__)"],
                       env=env, capture_output=True, text=True, timeout=60)
    assert v.returncode == 0, v.stderr
    ver, pver, where = v.stdout.split()
    assert (ver, pver) == (SOURCES["pytest"][1], SOURCES["pluggy"][1])
    assert where.startswith(str(root))
    return env, root


def test_plugin_tests_pass_under_pytest9(pytest9, fh_paths):
    env, root = pytest9
    basetemp = root / "basetemp"
    p = subprocess.run(["/usr/bin/python3", "-m", "pytest", "-p", "pytest_flakehunter",
                        "-p", "no:cacheprovider", "-rs", f"--basetemp={basetemp}",
                        "-o", "tmp_path_retention_policy=all", *FILES],
                       cwd=HERE, env=env, capture_output=True, text=True, timeout=900)
    out = p.stdout + p.stderr
    assert p.returncode == 0, out
    assert "pytest-9.1.1, pluggy-1.6.0" in out, out
    skipped = [line for line in p.stdout.splitlines() if line.startswith("SKIPPED")]
    for line in skipped:
        assert any(r in line for r in SKIP_REASONS), line
    m = re.search(r"=+ (\d+) passed(?:, (\d+) skipped)? in ", p.stdout)
    assert m, out
    passed, nskipped = int(m.group(1)), int(m.group(2) or 0)
    # (12: test_order_rounds.py adds an xdist and a pytest-timeout test,
    # test_plugin_fixture_setups.py an xdist one)
    assert passed >= 60 and nskipped == len(skipped) <= 12, out
    # The inner runs were pytest 9 as well: every run directory they left says so.
    metas = [json.loads(x.read_text()) for x in basetemp.rglob("meta.json")
             if x.parent.parent.name == "runs"]
    metas = [m for m in metas if m.get("schema") == "flakehunter-run/1"]  # not stand-ins
    assert len(metas) >= 30
    assert {m["pytest"] for m in metas} == {"9.1.1"}


SUITE = """
import itertools, logging, unittest, pytest
N = itertools.count()

@pytest.fixture
def noisy():
    print("setup out")
    yield
    print("teardown out")

def test_flaky(noisy):
    logging.warning("log line")
    assert next(N) % 2

def test_skip():
    pytest.skip("nope")

@pytest.mark.xfail(strict=True)
def test_xpass_strict():
    pass

@pytest.fixture
def bad_teardown():
    yield
    raise RuntimeError("teardown broke")

def test_teardown(bad_teardown):
    pass

class T(unittest.TestCase):
    def test_u(self):
        self.assertEqual(1, 2)
"""


def test_no_warning_under_pytest9(pytest9, tmp_path):
    """Failures (repeated ones get the one-line report), skips, strict xpass, teardown errors,
    unittest, captured output, JUnit XML: nothing the plugin does makes pytest 9 warn."""
    env, _ = pytest9
    env = dict(env, FH_ANALYZE=str(FH_ANALYZE))
    (tmp_path / "test_w.py").write_text(SUITE)
    p = subprocess.run(["/usr/bin/python3", "-W", "error", "-m", "pytest", "-p",
                        "pytest_flakehunter", "-p", "no:cacheprovider", "-W", "error", "-rA",
                        "--fh", "--fh-runs", "4", "--junitxml", "junit.xml", "test_w.py"],
                       cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    out = p.stdout + p.stderr
    assert p.returncode == 1, out
    assert not re.search(r"warnings summary|\w+Warning\b", out), out
    assert re.search(r"=+ 10 failed, 6 passed, 4 skipped, 4 errors in ", out), out
    # Repeated failures get the one-line report: pytest's JUnit XML shows them (the terminal
    # shows one traceback and one summary line per test and failure cluster).
    junit = (tmp_path / "junit.xml").read_text()
    # test_flaky's attempt 3, test_teardown's 2-4, and the unittest TestCase's 2-4 (its
    # exception reaches the plugin after pytest's unittest plugin moved it into call.excinfo)
    assert junit.count("same as attempt 1") == 1 + 3 + 3, junit
    assert junit.count("AssertionError: 1 != 2 (same as attempt 1)") == 3, junit
    assert "same failure as attempt" not in out
    assert re.search(r"^FAILED test_w\.py::test_flaky - 2/4 attempts, cluster [0-9a-f]{6}: ", out,
                     re.M), out
    # -rA still words every report (the letters are blanked only while tests run)
    assert re.search(r"^PASSED test_w\.py::test_flaky$", out, re.M), out
    assert re.search(r"^SKIPPED \[4\] test_w\.py:\d+: nope$", out, re.M), out
    assert (tmp_path / "flakehunter_report.json").exists(), out
    assert {json.loads(x.read_text())["pytest"]
            for x in tmp_path.glob(".flakehunter/runs/*/meta.json")} == {"9.1.1"}
