#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""`make demo`: runs the demo suite (demo/suite, one flaky test per diagnosis kind) under the
preload with --fh, writes the report to build/demo/, and prints the diagnosis of every test.

Environment (set by the Makefile): FH_LIB (libfhtrace.so), FH_ANALYZE (fh-analyze),
PYTHONPATH=plugin. Exit status 1 when a test is not diagnosed as the kind it demonstrates.
"""
import json
import os
import pathlib
import shutil
import subprocess
import sys

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parent
BUILD = pathlib.Path(os.environ.get("FH_BUILD", ROOT / "build"))
RUNS = int(os.environ.get("FH_DEMO_RUNS", "6"))

# test file -> (kind, blocked_on) it demonstrates
EXPECTED = {
    "test_stable.py": ("stable", None),
    "test_broken.py": ("broken", None),
    "test_timeout.py": ("timeout", "net"),
    "test_lock.py": ("timeout", "lock"),
    "test_network.py": ("network", "net"),
    "test_crash.py": ("crash", None),
    "test_resource.py": ("resource", None),
    "test_state.py": ("state", None),
    "test_cpu.py": ("cpu", None),
    "test_race.py": ("race", None),
    "test_random.py": ("unexplained", None),
    "test_perf.py": ("stable", None),     # and a performance flake
    "test_hang.py": ("hang", "lock"),     # a deadlock, stopped by fh_timeout (pytest.ini)
}


def main():
    lib = pathlib.Path(os.environ.get("FH_LIB", BUILD / "libfhtrace.so"))
    out = BUILD / "demo"
    work = out / "suite"
    if work.exists():
        shutil.rmtree(work)
    out.mkdir(parents=True, exist_ok=True)
    shutil.copytree(HERE / "suite", work)
    html = out / "flakehunter_report.html"
    env = dict(os.environ)
    env["LD_PRELOAD"] = str(lib)
    env.setdefault("FH_ANALYZE", str(BUILD / "fh-analyze"))
    env["PYTHONPATH"] = os.pathsep.join(p for p in [str(ROOT / "plugin"), env.get("PYTHONPATH")] if p)
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    junit = out / "flakehunter_junit.xml"
    markdown = out / "flakehunter_summary.md"
    cmd = ["/usr/bin/python3", "-m", "pytest", "-p", "pytest_flakehunter", "-p", "no:cacheprovider",
           "-q", "--fh", "--fh-runs", str(RUNS), "--fh-report", str(html), "--fh-no-history",
           "--fh-junit", str(junit), "--fh-markdown", str(markdown), "."]
    print("demo:", "LD_PRELOAD=" + str(lib), " ".join(cmd[1:]), flush=True)
    subprocess.run(cmd, cwd=work, env=env, stdout=subprocess.DEVNULL, timeout=300)
    summary = json.loads(html.with_suffix(".json").read_text())
    bad = 0
    print(f"\n{'test':45} {'kind':12} blocked_on  summary")
    for t in sorted(summary["tests"], key=lambda t: t["nodeid"]):
        d = t.get("diagnosis") or {}
        fname = t["nodeid"].split("::")[0].rsplit("/", 1)[-1]
        want = EXPECTED.get(fname, ("?", None))
        got = (d.get("kind"), d.get("blocked_on"))
        ok = got == want
        if fname == "test_perf.py":
            ok = ok and bool((t.get("perf") or {}).get("unstable"))
        bad += not ok
        print(f"{t['nodeid'][:45]:45} {str(got[0]):12} {str(got[1]):11} {'' if ok else '(expected %s/%s) ' % want}"
              f"{d.get('summary', '')}")
        for line in d.get("evidence", [])[:2]:
            print(f"{'':45}   - {line}")
        perf = t.get("perf") or {}
        if perf.get("unstable"):
            print(f"{'':45}   perf: {perf.get('summary')}")
    kinds = {(t.get("diagnosis") or {}).get("kind") for t in summary["tests"]}
    missing = {k for k, _ in EXPECTED.values()} - kinds
    bad += len(missing) + (len(summary["tests"]) != len(EXPECTED))
    print(f"\nkinds diagnosed: {', '.join(sorted(k for k in kinds if k))}")
    print(f"report: {html}")
    print(f"junit:  {junit}\nsummary: {markdown}")
    if bad:
        print(f"demo: {bad} test(s) not diagnosed as demonstrated", file=sys.stderr)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
