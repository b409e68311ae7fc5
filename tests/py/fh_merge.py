# SPDX-License-Identifier: MIT
"""Helpers of the merge tests (tests/py/test_merge*.py): real hunts with a fake host name
($FH_HOST, which the plugin records in meta.json), each writing its run directory where the
test says (--fh-run-dir) without a report (--fh-no-report), as CI shards do; then
`fh-analyze merge` and `fh-analyze report` on the result."""
import json
import os
import pathlib
import subprocess

ROOT = pathlib.Path(__file__).resolve().parents[2]
BUILD = pathlib.Path(os.environ.get("FH_BUILD", ROOT / "build"))
FH_ANALYZE = pathlib.Path(os.environ.get("FH_ANALYZE", BUILD / "fh-analyze"))
FH_LIB = pathlib.Path(os.environ.get("FH_LIB", BUILD / "libfhtrace.so"))
PYTHON = "/usr/bin/python3"


def hunt_env(host, preload=True, **extra):
    env = dict(os.environ)
    for k in ("LD_PRELOAD", "FH_TRACE_DIR", "FH_STACK_MS", "PYTEST_ADDOPTS", "FH_HOST"):
        env.pop(k, None)
    plugin = str(ROOT / "plugin")
    rest = [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p and p != plugin]
    env["PYTHONPATH"] = os.pathsep.join([plugin] + rest)
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    env["FH_ANALYZE"] = str(FH_ANALYZE)
    if host is not None:
        env["FH_HOST"] = host
    if preload:
        env["LD_PRELOAD"] = str(FH_LIB)
    env.update({k: str(v) for k, v in extra.items()})
    return env


def hunt(suite, run_dir, host, *args, runs=10, preload=True, prefix=(), **extra):
    """A real `pytest --fh` of suite/ writing run_dir (no report); returns run_dir."""
    cmd = list(prefix) + [PYTHON, "-m", "pytest", "-p", "pytest_flakehunter", "-p",
                          "no:cacheprovider", "-q", "--fh", f"--fh-runs={runs}",
                          f"--fh-run-dir={run_dir}", "--fh-no-report", *args]
    p = subprocess.run(cmd, cwd=suite, env=hunt_env(host, preload, **extra), capture_output=True,
                       text=True, timeout=300)
    assert p.returncode in (0, 1), p.stdout[-3000:] + p.stderr[-3000:]
    assert (pathlib.Path(run_dir) / "meta.json").exists(), p.stdout[-3000:]
    assert "--fh-no-report" in p.stdout, p.stdout[-2000:]
    return pathlib.Path(run_dir)


def analyze(*args, cwd=None, check=True):
    p = subprocess.run([str(FH_ANALYZE), *map(str, args)], capture_output=True, text=True,
                       cwd=cwd, timeout=300)
    if check:
        assert p.returncode == 0, p.stdout + p.stderr
    return p


def merge(out, *sources, check=True, extra=()):
    return analyze("merge", *sources, "--out", out, *extra, check=check)


def report(run_dir, out_base, *args):
    """`fh-analyze report`; returns (process, parsed JSON)."""
    html = pathlib.Path(str(out_base) + ".html")
    p = analyze("report", run_dir, "--out", html, *args)
    return p, json.loads(html.with_suffix(".json").read_text())


def by_nodeid(doc):
    return {t["nodeid"]: t for t in doc["tests"]}
