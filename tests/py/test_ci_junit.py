# SPDX-License-Identifier: MIT
"""--fh-junit: the JUnit XML report, through the real path (pytest + plugin + fh-analyze),
validated with xmllint against Maven Surefire's schema, holding every failing attempt."""
import json
import os
import shutil
import subprocess
import xml.etree.ElementTree as ET

from fh_plugin import ROOT, fh  # noqa: F401

# Maven Surefire's schema (Apache-2.0, an unmodified copy: tests/data/README.md)
SCHEMA = ROOT / "tests" / "data" / "surefire-test-report-3.0.xsd"


def xmllint(path):
    assert shutil.which("xmllint"), "xmllint missing: run make deps (libxml2-utils)"
    r = subprocess.run(["xmllint", "--noout", "--schema", str(SCHEMA), str(path)],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    return r


def failing_attempts(run_dir):
    out = {}
    for f in run_dir.glob("attempts-*.jsonl"):
        for line in f.read_text().splitlines():
            rec = json.loads(line)
            if rec["outcome"] in ("failed", "error"):
                out.setdefault(rec["nodeid"], []).append(rec)
    return out


def junit_failures(path):
    """{nodeid-ish (classname::name): [(tag, message)]} of every failing element."""
    root = ET.parse(path).getroot()
    out = {}
    for tc in root.iter("testcase"):
        key = f"{tc.get('classname')}::{tc.get('name')}"
        for el in tc:
            if el.tag in ("failure", "error", "rerunFailure", "rerunError", "flakyFailure",
                          "flakyError"):
                out.setdefault(key, []).append((el.tag, el.get("message"), el))
    return root, out


def test_demo_run_junit_validates_and_holds_every_failing_attempt(fh, fh_paths, tmp_path):
    """The demo suite (one flaky test per diagnosis kind) under the preload."""
    work = tmp_path / "demo"
    shutil.copytree(ROOT / "demo" / "suite", work)
    env = dict(os.environ, LD_PRELOAD=str(fh_paths["lib"]), PYTHONPATH=str(ROOT / "plugin"),
               FH_ANALYZE=str(fh_paths["analyze"]), PYTHONDONTWRITEBYTECODE="1")
    env.pop("FH_TRACE_DIR", None)
    junit = tmp_path / "out" / "junit.xml"
    r = subprocess.run(["/usr/bin/python3", "-m", "pytest", "-p", "pytest_flakehunter",
                        "-p", "no:cacheprovider", "-q", "--fh", "--fh-runs", "6",
                        "--fh-no-history", "--fh-junit", str(junit),
                        "--fh-report", str(tmp_path / "r.html"), "."],
                       cwd=work, env=env, capture_output=True, text=True, timeout=300)
    assert junit.exists(), r.stdout[-3000:] + r.stderr[-2000:]
    xmllint(junit)
    run_dir = sorted((work / ".flakehunter" / "runs").iterdir())[-1]
    recs = failing_attempts(run_dir)
    root, fails = junit_failures(junit)
    summary = json.loads((tmp_path / "r.json").read_text())
    assert int(root.get("tests")) == len(summary["tests"]) == 13
    total = sum(len(v) for v in recs.values())
    assert total >= 10 and sum(len(v) for v in fails.values()) == total
    for t in summary["tests"]:
        file, name = t["nodeid"].split("::", 1)
        key = f"{file[:-3].replace('/', '.')}::{name}"
        got = fails.get(key, [])
        assert len(got) == t["failed"], (t["nodeid"], got)
        want = {"flaky": {"flakyFailure", "flakyError"}, "broken":
                {"failure", "error", "rerunFailure", "rerunError"}}.get(t["verdict"], set())
        assert {tag for tag, _, _ in got} <= want, (t["nodeid"], got)
        # Every failing attempt by its message, in attempt order.
        msgs = [(rec["error"]["message"] or "")[:2000].split("\x00")[0]
                for rec in sorted(recs.get(t["nodeid"], []), key=lambda x: x["attempt"])]
        assert [m for _, m, _ in got] == msgs
    broken = [v for v in fails.values() if v[0][0] in ("failure", "error")]
    assert len(broken) == int(root.get("failures")) + int(root.get("errors")) == 1
    props = {p.get("name"): p.get("value") for p in root.iter("property")}
    assert props["flakehunter.tracing"] == "true"
    kinds = {v for k, v in props.items() if k.startswith("flakehunter.diagnosis[")}
    assert {"timeout (net)", "crash", "race", "network (net)"} <= kinds


HOSTILE = r'''
import sys, pytest
N = [0]
@pytest.mark.parametrize("p", ["<a&b>", "q\"uo'te", "x]]>y"])
def test_h(p):
    N[0] += 1
    print("out\x01\x02\x1b[31m", p, "\ufffe\u00e9")
    sys.stderr.buffer.write(b"raw \xff\xfe bytes\n")
    sys.stderr.flush()
    if N[0] % 2:
        raise ValueError(f"bad {p} \x07\x0b\x0c & <tag> \x1f")
'''


def test_hostile_strings_stay_valid_xml(fh, tmp_path):
    fh.use_real_analyzer()
    fh.pytester.makepyfile(test_h=HOSTILE)
    r = fh.run("--fh", "--fh-runs=4", "--fh-junit=j.xml")
    r.assert_outcomes(failed=6, passed=6)
    xmllint(fh.path / "j.xml")
    text = (fh.path / "j.xml").read_text(encoding="utf-8")
    assert "\\x07\\x0b\\x0c &amp; &lt;tag&gt; \\x1f" in text
    assert text.count("out\\x01\\x02\\x1b[31m") == 6 and text.count("\\uFFFE\u00e9") == 6
    assert text.count("<system-err>raw \ufffd\ufffd bytes") == 6
    root, fails = junit_failures(fh.path / "j.xml")
    names = sorted(tc.get("name") for tc in root.iter("testcase"))
    assert names == sorted(["test_h[<a&b>]", "test_h[q\"uo'te]", "test_h[x]]>y]"])
    assert sum(len(v) for v in fails.values()) == 6


def test_captured_output_of_each_failing_attempt(fh):
    fh.use_real_analyzer()
    fh.pytester.makepyfile(test_o=r'''
        import logging, sys
        N = [0]
        def test_o():
            N[0] += 1
            print(f"attempt {N[0]} says \x01hi" + "x" * 9000)
            sys.stderr.write(f"err {N[0]} password=hunter2\n")
            logging.getLogger("t").warning("log %d", N[0])
            assert N[0] % 2 == 0, f"odd {N[0]}"
    ''')
    r = fh.run("--fh", "--fh-runs=4", "--fh-junit=j.xml")
    r.assert_outcomes(failed=2, passed=2)
    xmllint(fh.path / "j.xml")
    _, fails = junit_failures(fh.path / "j.xml")
    (got,) = fails.values()
    assert [(tag, msg.split("\n")[0]) for tag, msg, _ in got] == \
        [("flakyFailure", "odd 1"), ("flakyFailure", "odd 3")]
    for n, (_, _, el) in zip((1, 3), got):
        out = el.find("system-out").text
        err = el.find("system-err").text
        assert out.startswith(f"attempt {n} says \\x01hi")
        assert "characters cut by flakehunter" in out and len(out) < 6000
        assert f"WARNING  t:test_o.py" in out and f"log {n}" in out
        assert err == f"err {n} password=[REDACTED]\n"
        assert "Traceback" in el.find("stackTrace").text
        assert f"AssertionError: odd {n}" in el.find("stackTrace").text


def test_fh_analyze_report_junit_rerenders_the_same(fh, fh_paths, tmp_path):
    fh.use_real_analyzer()
    fh.pytester.makepyfile(test_r="""
        N = [0]
        def test_a():
            N[0] += 1
            assert N[0] % 3
        def test_b():
            assert 0
    """)
    fh.run("--fh", "--fh-runs=6", "--fh-junit=first.xml", "--fh-no-history").assert_outcomes(
        failed=8, passed=4)
    again = tmp_path / "again" / "j.xml"
    r = subprocess.run([str(fh_paths["analyze"]), "report", str(fh.run_dir()), "--no-history",
                        "--out", str(tmp_path / "x.html"), "--junit", str(again)],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    xmllint(again)
    assert again.read_text() == (fh.path / "first.xml").read_text()
    root = ET.parse(again).getroot()
    assert (root.get("tests"), root.get("failures"), root.get("errors"),
            root.get("skipped")) == ("2", "1", "0", "0")
    tcs = {tc.get("name"): tc for tc in root.iter("testcase")}
    assert [el.tag for el in tcs["test_b"]] == ["failure"] + ["rerunFailure"] * 5 + \
        ["system-out"]
    assert [el.tag for el in tcs["test_a"]] == ["flakyFailure"] * 2 + ["system-out"]
    assert tcs["test_a"].find("system-out").text.startswith(
        "flakehunter: flaky, 2/6 attempts failed")
