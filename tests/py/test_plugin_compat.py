# SPDX-License-Identifier: MIT
"""The plugin's use of pytest internals (plugin/pytest_flakehunter/compat.py): pytest's code is
patched only while `--fh` is on and is back as it was after unconfigure (seen from inside a real
pytest process), the patched teardown lookup gives the terminal what pytest's own scan gives,
and no other module of the package reaches into pytest's private names."""
import ast
import json

from fh_plugin import PLUGIN, fh  # noqa: F401

# A conftest that writes what it sees of pytest's patchable state during a test, after the
# terminal summary, and after every other plugin's unconfigure (trylast).
PROBE = """
import atexit, json, os
import pytest
from _pytest import capture
from _pytest._code import code as code_mod, source as source_mod

ORIG = source_mod.getstatementrange_ast
ORIG_SNAP = capture.FDCapture.snap
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "probe.jsonl")

def _state(config, where):
    tr = config.pluginmanager.get_plugin("terminalreporter")
    return {"where": where,
            "source_patched": source_mod.getstatementrange_ast is not ORIG,
            "code_patched": code_mod.getstatementrange_ast is not ORIG,
            "teardown_patched": "_get_teardown_reports" in vars(tr),
            "snap_patched": capture.FDCapture.snap is not ORIG_SNAP,
            "reports_kept": sum(len(v) for v in tr.stats.values()),
            "trace_dir": os.environ.get("FH_TRACE_DIR")}

@pytest.hookimpl(trylast=True)
def pytest_sessionstart(session):
    tr = session.config.pluginmanager.get_plugin("terminalreporter")
    atexit.register(lambda: _write({"where": "exit",
                                    "reports_kept": sum(len(v) for v in tr.stats.values())}))

def _write(state):
    with open(OUT, "a") as f:
        f.write(json.dumps(state) + "\\n")

@pytest.fixture
def probe(request):
    yield
    _write(_state(request.config, "test"))

@pytest.hookimpl(trylast=True)
def pytest_terminal_summary(config):
    _write(_state(config, "summary"))

@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config):
    _write(_state(config, "unconfigured"))
"""

SUITE = """
def test_a(probe):
    pass
"""


def _probe(fh):
    states = {}
    for line in (fh.path / "probe.jsonl").read_text().splitlines():
        s = json.loads(line)
        states.setdefault(s.pop("where"), []).append(s)
    (fh.path / "probe.jsonl").unlink()
    return states


def test_patches_only_while_fh_is_on(fh):
    fh.pytester.makeconftest(PROBE)
    fh.pytester.makepyfile(test_p=SUITE)
    r = fh.run("--fh", "--fh-runs", "2")
    r.assert_outcomes(passed=2)
    on = {"source_patched": True, "code_patched": True, "teardown_patched": True,
          "snap_patched": True}
    states = _probe(fh)
    for s in states["test"] + states["summary"]:
        assert {k: s[k] for k in on} == on, states
        assert s["trace_dir"] and s["trace_dir"].startswith(str(fh.path / ".flakehunter"))
    off = {"source_patched": False, "code_patched": False, "teardown_patched": False,
           "snap_patched": False, "trace_dir": None}
    # every other plugin's unconfigure still sees the reports of both attempts (3 each); the
    # terminal reporter holds none once the interpreter exits (released by the hunt's own
    # unconfigure, the last)
    assert states["unconfigured"] == [dict(off, reports_kept=6)], states
    assert states["exit"] == [{"reports_kept": 0}], states
    r = fh.run()
    r.assert_outcomes(passed=1)
    states = _probe(fh)
    for s in states["test"] + states["summary"] + states["unconfigured"]:
        assert {k: s[k] for k in off} == off, states
    assert states["exit"] == [{"reports_kept": 3}], states


def test_teardown_sections_of_every_failure(fh):
    """pytest prints, after each failure, the captured teardown output of that test; the
    indexed lookup must find the same reports as pytest's scan: every attempt's, no other
    test's."""
    fh.pytester.makepyfile(test_td="""
        import itertools, pytest
        N = itertools.count(1)
        @pytest.fixture
        def noisy():
            n = next(N)
            yield
            print(f"teardown-of-attempt-{n}")
        def test_fails(noisy):
            assert 0
        def test_other(noisy):
            pass
    """)
    r = fh.run("--fh", "--fh-runs", "3")
    r.assert_outcomes(failed=3, passed=3)
    out = r.stdout.str()
    # the failure shown (one per test and failure cluster), followed by the 3 teardown reports
    # of test_fails
    assert out.count("Captured stdout teardown") == 3, out
    for n in (1, 2, 3):
        assert out.count(f"teardown-of-attempt-{n}\n") == 1, out
    for n in (4, 5, 6):
        assert f"teardown-of-attempt-{n}" not in out, out


# Counts the calls that reach pytest's Session.gethookproxy while tests run (after
# collection), and whether the session has the
# memo (an instance attribute) in a test and after unconfigure. The subdirectory's conftest has
# a hook only its own tests may see.
PROXY_PROBE = """
import json, os
import pytest
from _pytest.main import Session

ORIG = Session.gethookproxy
CALLS = [0]
RUNNING = [False]
SESSION = []
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "proxy.json")

def counting(self, fspath):
    CALLS[0] += RUNNING[0]
    return ORIG(self, fspath)

Session.gethookproxy = counting

def pytest_sessionstart(session):
    SESSION.append(session)

def pytest_runtestloop(session):
    RUNNING[0] = True

@pytest.fixture
def memo_seen(request):
    return "gethookproxy" in vars(request.session)

@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config):
    with open(OUT, "w") as f:
        json.dump({"calls": CALLS[0],
                   "memo_after": "gethookproxy" in vars(SESSION[0])}, f)
"""

SUB_CONFTEST = """
import os
def pytest_runtest_setup(item):
    with open(os.path.join(os.path.dirname(__file__), "..", "setups.txt"), "a") as f:
        f.write(item.nodeid + "\\n")
"""


def test_hook_proxies_memoized_per_file(fh):
    """While tests run, session.gethookproxy answers from a memo: pytest's lookup is reached a
    few times, not six or more per attempt, and a conftest's hooks still reach only the tests
    of its directory; the memo is gone after unconfigure."""
    fh.pytester.makeconftest(PROXY_PROBE)
    sub = fh.path / "sub"
    sub.mkdir()
    (sub / "conftest.py").write_text(SUB_CONFTEST)
    body = "".join(f"def test_{i}(memo_seen):\n    assert memo_seen\n" for i in range(3))
    (sub / "test_in_sub.py").write_text(body)
    (fh.path / "test_top.py").write_text(body)
    calls = {}
    for runs in (1, 5):
        r = fh.run("--fh", "--fh-runs", str(runs))
        r.assert_outcomes(passed=6 * runs)
        probe = json.loads((fh.path / "proxy.json").read_text())
        calls[runs] = probe["calls"]
        assert probe["memo_after"] is False
    # without the memo each attempt asks pytest at least 6 times (36 and 180); with it, once
    # per test file
    assert calls == {1: 2, 5: 2}, calls
    setups = (fh.path / "setups.txt").read_text().split()
    assert sorted(set(setups)) == [f"sub/test_in_sub.py::test_{i}" for i in range(3)]
    assert len(setups) == 3 + 15
    # without --fh pytest is unchanged: the memo is not there
    (fh.path / "setups.txt").unlink()
    r = fh.run("-p", "no:flakehunter")
    r.assert_outcomes(failed=6)


def _private_uses(path):
    """(imports of _pytest, attributes named _x that the package does not define itself)."""
    tree = ast.parse(path.read_text(), str(path))
    imports = []
    used = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imports += [a.name for a in node.names if a.name.split(".")[0] == "_pytest"]
        elif isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "_pytest":
            imports.append(node.module)
        elif isinstance(node, ast.Attribute) and node.attr.startswith("_") \
                and not node.attr.startswith("__"):
            used.add(node.attr)
    return imports, used


def _defined_names(paths):
    """Functions, classes, variables, and attributes set on `self`: the package's own names."""
    names = set()
    for path in paths:
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
                names.add(node.name)
            elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                names.add(node.id)
            elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store) \
                    and isinstance(node.value, ast.Name) and node.value.id == "self":
                names.add(node.attr)
    return names


def test_private_pytest_only_in_compat():
    paths = sorted((PLUGIN / "pytest_flakehunter").glob("*.py"))
    assert any(p.name == "compat.py" for p in paths)
    ours = _defined_names(paths)
    bad = {}
    for path in paths:
        imports, used = _private_uses(path)
        foreign = sorted(used - ours)
        if path.name == "compat.py":
            assert imports and foreign  # the check sees what compat.py does
            continue
        if imports or foreign:
            bad[path.name] = (imports, foreign)
    assert not bad, f"pytest internals outside compat.py: {bad}"


# Every report's captured sections, as the terminal and every plugin get them.
SECTIONS_PROBE = """
import json, os
import pytest

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "sections.jsonl")

@pytest.hookimpl(trylast=True)
def pytest_runtest_logreport(report):
    if report.when != "collect":
        with open(OUT, "a") as f:
            f.write(json.dumps([report.nodeid, report.when, report.outcome,
                                report.sections]) + "\\n")
"""

# Output from every way a test writes it, in every phase, and phases that write nothing.
OUTPUT_SUITE = '''
import os, subprocess, sys
import pytest

@pytest.fixture
def noisy():
    print("setup out")
    sys.stderr.write("setup err\\n")
    yield
    os.write(1, b"teardown fd\\n")

def test_quiet():
    pass

def test_print():
    print("h\\u00e9llo \\u2713")

def test_fd_and_err():
    os.write(1, b"raw fd\\n")
    os.write(2, b"raw err\\n")

def test_child():
    subprocess.run([sys.executable, "-c", "print('from a child')"], check=True)

def test_fixture_phases(noisy):
    pass

def test_split_utf8():
    os.write(1, "\\u00e9".encode()[:1])
    print(" after")

def test_capfd(capfd):
    print("x")
    assert capfd.readouterr().out == "x\\n"
    assert capfd.readouterr().out == ""
    os.write(1, b"y")
    assert capfd.readouterr() == ("y", "")

def test_capfdbinary(capfdbinary):
    os.write(1, b"\\xff")
    assert capfdbinary.readouterr().out == b"\\xff"
    assert capfdbinary.readouterr().out == b""

def test_fails():
    print("before the failure")
    assert 0
'''


def _sections(fh):
    out = {}
    for line in (fh.path / "sections.jsonl").read_text().splitlines():
        nodeid, when, outcome, sections = json.loads(line)
        out.setdefault((nodeid, when), []).append([outcome, sections])
    (fh.path / "sections.jsonl").unlink()
    return out


def test_captured_output_as_pytest_gives_it(fh):
    """The hunt reads an empty capture file with one lseek (compat.skip_empty_snaps): every
    report of every attempt carries exactly the sections pytest gives without the plugin, for
    output written by print, by write(2) on the descriptors, by a child process, by fixtures
    in setup and teardown, split in the middle of a UTF-8 character, and through capfd; the
    failing attempts' records carry it too."""
    fh.pytester.makeconftest(SECTIONS_PROBE)
    fh.pytester.makepyfile(test_out=OUTPUT_SUITE)
    r = fh.run("-p", "no:flakehunter")
    r.assert_outcomes(passed=8, failed=1)
    plain = _sections(fh)
    assert len(plain) == 27
    assert ["passed", [["Captured stdout call", "from a child\n"]]] in \
        plain[("test_out.py::test_child", "call")]
    assert plain[("test_out.py::test_fixture_phases", "teardown")] == [["passed", [
        ["Captured stdout setup", "setup out\n"], ["Captured stderr setup", "setup err\n"],
        ["Captured stdout teardown", "teardown fd\n"]]]]
    r = fh.run("--fh", "--fh-runs", "3")
    r.assert_outcomes(passed=24, failed=3)
    hunted = _sections(fh)
    assert hunted.keys() == plain.keys()
    for key, reports in plain.items():
        assert hunted[key] == reports * 3, key
    fails = [rec for rec in fh.records() if rec["outcome"] == "failed"]
    assert [rec["output"]["stdout"] for rec in fails] == ["before the failure\n"] * 3
