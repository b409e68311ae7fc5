# SPDX-License-Identifier: MIT
"""Shared fixtures of the integration tests.

Paths to the built artifacts come from the Makefile (FH_ANALYZE, FH_LIB, FH_BUILD); the plugin
is imported from plugin/ through PYTHONPATH. Everything a test writes goes under tmp_path.
Area-specific helpers live in their own modules (tests/py/fh_*.py), not here.
"""
import os
import pathlib
import shutil
import signal

import pytest

pytest_plugins = ["pytester"]

ROOT = pathlib.Path(__file__).resolve().parents[2]
BUILD = pathlib.Path(os.environ.get("FH_BUILD", ROOT / "build")).resolve()
FH_ANALYZE = pathlib.Path(os.environ.get("FH_ANALYZE", BUILD / "fh-analyze")).resolve()
FH_LIB = pathlib.Path(os.environ.get("FH_LIB", BUILD / "libfhtrace.so")).resolve()
# Child processes read these from the environment: make them absolute for tests that chdir.
os.environ["FH_BUILD"], os.environ["FH_ANALYZE"], os.environ["FH_LIB"] = map(str, (BUILD, FH_ANALYZE, FH_LIB))
# A shell that starts a job in the background without job control (`(make test &)`, some CI
# runners) starts it with SIGINT ignored, and an ignored signal stays ignored across exec: the
# pytest runs the tests start would then ignore the SIGINT that tests send them (a 60 s timeout
# each). A handled signal goes back to its default at exec, so handling it here gives them back
# Python's KeyboardInterrupt.
if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)


@pytest.fixture
def fh_paths():
    """Paths of the built artifacts; skips nothing: a missing build is a failure."""
    assert FH_ANALYZE.exists(), f"{FH_ANALYZE} missing: run make"
    return {"root": ROOT, "build": BUILD, "analyze": FH_ANALYZE, "lib": FH_LIB}


def plugin_pythonpath():
    """plugin/, then the rest of this process's PYTHONPATH: a child pytest imports the same
    pytest as the tests themselves (Debian's, or the pytest 9 of test_plugin_pytest9.py)."""
    plugin = str(ROOT / "plugin")
    rest = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p and p != plugin]
    return os.pathsep.join([plugin] + rest)


@pytest.fixture
def fh_env(tmp_path):
    """Environment for a child pytest that loads the plugin from plugin/ (no preload)."""
    env = dict(os.environ)
    env.pop("LD_PRELOAD", None)
    env.pop("FH_TRACE_DIR", None)
    env["PYTHONPATH"] = plugin_pythonpath()
    env["FH_ANALYZE"] = str(FH_ANALYZE)
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    env["HOME"] = str(tmp_path / "home")
    return env


@pytest.fixture
def chromium():
    path = shutil.which("chromium")
    assert path, "chromium missing: run make deps"
    return path
