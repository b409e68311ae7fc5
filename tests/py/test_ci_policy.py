# SPDX-License-Identifier: MIT
"""--fh-fail-on and --fh-quarantine: which tests fail the session, and the terminal line that
says why; quarantine entries active, expired, unmatched, malformed; under xdist too;
`fh-analyze quarantine suggest`."""
import json
import subprocess

import pytest

from fh_plugin import fh, needs_autoload  # noqa: F401
from pytest_flakehunter import quarantine

SUITE = """
import os
N = [0]
def test_stable():
    pass
def test_flaky():
    N[0] += 1
    assert N[0] % 2, f"even attempt {N[0]}"
def test_broken():
    assert 0, "always"
"""


def why(r):
    lines = [x for x in r.stdout.lines if x.startswith("flakehunter: exit status")]
    assert len(lines) == 1, r.stdout.str()
    return lines[0]


@pytest.mark.parametrize("policy,flaky,broken,status", [
    ("any", True, True, 1), ("broken", True, True, 1), ("flaky", True, True, 1),
    ("never", True, True, 0),
    ("any", True, False, 1), ("broken", True, False, 0), ("flaky", True, False, 1),
    ("never", True, False, 0),
    ("any", False, False, 0), ("broken", False, False, 0), ("flaky", False, False, 0),
])
def test_exit_policy(fh, policy, flaky, broken, status):
    keep = ["test_stable"] + (["test_flaky"] if flaky else []) + (["test_broken"] if broken
                                                                  else [])
    fh.pytester.makepyfile(test_p=SUITE)
    r = fh.run("--fh", "--fh-runs=4", f"--fh-fail-on={policy}",
               *[f"test_p.py::{k}" for k in keep])
    # pytest's own counts are never touched: 4 attempts of each test.
    r.assert_outcomes(passed=4 + 2 * flaky, failed=2 * flaky + 4 * broken)
    assert r.ret == status
    line = why(r)
    assert f"exit status {status} (--fh-fail-on={policy}" in line
    if policy == "any":
        assert "pytest's own status" in line
    elif status == 0 and (flaky or broken):
        assert "tolerated" in line and "pytest alone: 1" in line
    if policy == "broken" and broken:
        assert "1 broken; 1 flaky tolerated" in line


def test_policy_from_ini_and_bad_value(fh):
    fh.pytester.makepyfile(test_p=SUITE)
    fh.pytester.makeini("[pytest]\nfh = true\nfh_runs = 4\nfh_fail_on = never\n")
    assert fh.run().ret == 0
    r = fh.run("--fh-fail-on=sometimes")
    assert r.ret == 4
    assert "--fh-fail-on (ini fh_fail_on): one of any, broken, flaky, never, got 'sometimes'" \
        in r.stderr.str()


def test_collection_errors_still_fail_under_never(fh):
    fh.pytester.makepyfile(test_p="def test_a():\n    assert 0\n", test_bad="import nope\n")
    r = fh.run("--fh", "--fh-runs=2", "--fh-fail-on=never", "--continue-on-collection-errors")
    assert r.ret == 1
    assert "1 failures outside the hunted tests (collection errors)" in why(r)


def qfile(path, entries):
    text = ""
    for e in entries:
        text += "[[quarantine]]\n" + "".join(f"{k} = {v}\n" for k, v in e.items()) + "\n"
    path.write_text(text)
    return path


ACTIVE = {"nodeid": '"test_p.py::test_broken"', "owner": '"alice"', "reason": '"known"',
          "expires": "2999-01-01"}
EXPIRED = {"nodeid": '"test_p.py::test_fl*"', "owner": '"bob"', "expires": '"2001-02-03"'}
UNMATCHED = {"nodeid": '"test_p.py::test_gone"', "owner": '"carol"', "expires": "2999-01-01"}


@pytest.mark.parametrize("xdist", [False, pytest.param(True, marks=needs_autoload("pytest-xdist"))])
def test_quarantine_active_expired_unmatched(fh, xdist):
    fh.use_real_analyzer()
    fh.pytester.makepyfile(test_p=SUITE)
    q = qfile(fh.path / "q.toml", [ACTIVE, EXPIRED, UNMATCHED])
    extra = ["-n", "2"] if xdist else []
    # The broken test is quarantined: only the flaky one (its entry expired) fails the run.
    r = fh.run("--fh", "--fh-runs=4", f"--fh-quarantine={q}", "--fh-junit=j.xml",
               "--fh-markdown=s.md", *extra)
    r.assert_outcomes(passed=6, failed=6)
    assert r.ret == 1
    assert "(--fh-fail-on=any: 1 flaky; 1 quarantined)" in why(r)
    out = r.stdout.str()
    assert f"{q}:7: quarantine of 'test_p.py::test_fl*' (owner bob) expired on 2001-02-03" in out
    assert f"{q}:12: quarantine entry 'test_p.py::test_gone' matches no test" in out
    assert "FAILED test_p.py::test_broken - quarantined, 4/4 attempts" in out
    assert "test_p.py::test_broken  [quarantined: alice]" in out
    assert "test_p.py::test_flaky  [quarantine expired: bob]" in out
    # Without the flaky test nothing unquarantined fails: exit 0, and every output marks it.
    before = set(fh.run_dirs())
    r = fh.run("--fh", "--fh-runs=4", f"--fh-quarantine={q}", "--fh-junit=j.xml",
               "--fh-markdown=s.md", "test_p.py::test_broken", "test_p.py::test_stable", *extra)
    r.assert_outcomes(passed=4, failed=4)
    assert r.ret == 0
    assert "exit status 0 (--fh-fail-on=any: 1 quarantined, pytest alone: 1)" in why(r)
    summary = json.loads((fh.path / "flakehunter_report.json").read_text())
    st = {t["nodeid"]: t for t in summary["tests"]}
    assert st["test_p.py::test_broken"]["quarantine"] == {
        "pattern": "test_p.py::test_broken", "owner": "alice", "reason": "known",
        "expires": "2999-01-01", "line": 1, "active": True}
    assert st["test_p.py::test_stable"]["quarantine"] is None
    assert summary["quarantine_file"] == str(q)
    (run_dir,) = set(fh.run_dirs()) - before
    qj = json.loads((run_dir / "quarantine.json").read_text())
    assert qj["tests"] == {"test_p.py::test_broken": 0}
    assert [e["matched"] for e in qj["entries"]] == [1, 0, 0]
    assert "flakehunter.quarantine[test_p.py::test_broken]\" value=\"alice, until 2999-01-01: " \
           "known\"" in (fh.path / "j.xml").read_text()
    assert "| broken (quarantined: alice, 2999-01-01) |" in (fh.path / "s.md").read_text()
    html = (fh.path / "flakehunter_report.html").read_text()
    assert "quarantined" in html and "alice" in html


def test_quarantine_with_policies_and_params(fh):
    fh.pytester.makepyfile(test_p=SUITE + """
import pytest
@pytest.mark.parametrize("i", [1, 2])
def test_param(i):
    assert 0
""")
    q = qfile(fh.path / "q.toml", [
        {"nodeid": '"test_p.py::test_param"', "owner": '"dan"', "expires": "2999-12-31"},
        {"nodeid": '"test_p.py::test_b?oken"', "owner": '"eve"', "expires": "2999-12-31"}])
    # test_param[1] and [2] (parameters of a plain node id) and test_broken (a glob) are
    # quarantined: under "broken" only the flaky test remains and is tolerated.
    r = fh.run("--fh", "--fh-runs=2", f"--fh-quarantine={q}", "--fh-fail-on=broken")
    assert r.ret == 0, r.stdout.str()
    assert "1 flaky tolerated; 3 quarantined" in why(r)
    r = fh.run("--fh", "--fh-runs=2", f"--fh-quarantine={q}", "--fh-fail-on=flaky")
    assert r.ret == 1 and "--fh-fail-on=flaky: 1 flaky; 3 quarantined" in why(r)


@pytest.mark.parametrize("text,line,msg", [
    ('[[quarantine]]\nnodeid = "a"\nowner = "x"\nexpires = 2026-13-45\n', 4, "invalid TOML"),
    ('[[quarantine]]\nnodeid = "a"\nowner = "x"\nexpires = 2026-01-01\n\n'
     '[[quarantine]]\nnodeid = "b"\nexpires = 2026-01-01\n', 6, "entry 'b' without an owner"),
    ('[[quarantine]]\nnodeid = "a"\nowner = "  "\nexpires = 2026-01-01\n', 1,
     "entry 'a' without an owner"),
    ('\n[[quarantine]]\nnodeid = "a"\nowner = "x"\nexpires = "soon"\n', 2,
     "entry 'a': expires is not a date: 'soon'"),
    ('[[quarantine]]\nnodeid = "a"\nowner = "x"\nexpires = 2026-01-01T10:00:00\n', 1,
     "expires is not a date"),
    ('[[quarantine]]\nnodeid = "a"\nowner = "x"\n', 1, "without an expiry date"),
    ('[[quarantine]]\nnodeid = "a"\nowner = "x"\nexpires = 2026-01-01\nextra = 1\n', 1,
     "unknown key 'extra'"),
    ('[[quarantine]\nnodeid = "a"\n', 1, "invalid TOML"),
    ('owner = "x"\n', 1, "unknown top-level key 'owner'"),
])
def test_malformed_quarantine_is_a_usage_error_before_any_test(fh, text, line, msg):
    fh.pytester.makepyfile(test_m="""
        import os
        def test_m():
            open(os.path.join(os.path.dirname(__file__), "ran"), "w").close()
    """)
    q = fh.path / "bad.toml"
    q.write_text(text)
    r = fh.run("--fh", f"--fh-quarantine={q}")
    assert r.ret == 4
    err = r.stderr.str()
    assert f"ERROR: flakehunter: quarantine: {q}:{line}: " in err and msg in err, err
    assert not (fh.path / "ran").exists() and fh.run_dirs() == []


def test_quarantine_file_missing(fh):
    fh.pytester.makepyfile(test_m="def test_m():\n    pass\n")
    r = fh.run("--fh", "--fh-quarantine=nope.toml")
    assert r.ret == 4 and f"{fh.path / 'nope.toml'}: cannot read: No such file" in \
        r.stderr.str()


def test_quarantine_suggest(fh, fh_paths):
    fh.use_real_analyzer()
    fh.pytester.makepyfile(test_s="""
        import pytest
        N = {}
        @pytest.mark.parametrize("k", [2, 3, 5])
        def test_every(k):
            N[k] = N.get(k, 0) + 1
            assert N[k] % k
        def test_ok():
            pass
        def test_bad():
            assert 0
    """)
    fh.run("--fh", "--fh-runs=30", "--fh-no-history")
    sug = subprocess.run([str(fh_paths["analyze"]), "quarantine", "suggest", str(fh.run_dir()),
                          "--min-rate", "25%", "--owner", "qa team", "--days", "7"],
                         capture_output=True, text=True)
    assert sug.returncode == 0, sug.stderr
    path = fh.path / "suggested.toml"
    path.write_text(sug.stdout)
    entries = quarantine.load(str(path))  # the plugin's own loader accepts it
    # rates: k=2: 50%, k=3: 33%, k=5: 20% (below 25%); the broken test is not flaky
    assert [e.pattern for e in entries] == ["test_s.py::test_every[2]", "test_s.py::test_every[3]"]
    assert all(e.owner == "qa team" for e in entries)
    assert "flaky: 15/30 attempts failed (50%" in entries[0].reason
    import datetime
    assert entries[0].expires == datetime.date.today() + datetime.timedelta(days=7)
    # Feeding it back quarantines them: the next run has only the broken test failing it.
    r = fh.run("--fh", "--fh-runs=30", f"--fh-quarantine={path}", "--fh-fail-on=flaky",
               "-k", "every")
    assert r.ret == 1 and "1 flaky; 2 quarantined" in why(r)
    for bad in (["--min-rate", "2"], ["--days", "0"], ["--owner", ""], ["--frobnicate"]):
        r = subprocess.run([str(fh_paths["analyze"]), "quarantine", "suggest",
                            str(fh.run_dir()), *bad], capture_output=True, text=True)
        assert r.returncode == 2 and r.stderr.startswith("fh-analyze: "), (bad, r.stderr)
