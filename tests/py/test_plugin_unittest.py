# SPDX-License-Identifier: MIT
"""Failures of items that are not plain test functions, recorded as pytest reports them:
unittest TestCases (their exception reaches pytest through its unittest plugin's
makereport, after the test ran) and doctests (doctest's own exceptions, with no message and a
traceback inside doctest). Type, message and place come from the exception pytest kept, never
from a formatted traceback; a failure that repeats is shortened to one line like any other."""
import json
import re

from fh_plugin import fh  # noqa: F401

UNITTEST_SUITE = """
import unittest
N = {"a": 0, "e": 0}
class TestU(unittest.TestCase):
    def test_assert(self):
        N["a"] += 1
        self.assertEqual(N["a"] % 2, 0)
    def test_error(self):
        N["e"] += 1
        if N["e"] % 3:
            {}["missing"]
def test_plain():
    assert [1] == [2]
"""

DOCTEST_SUITE = '''
N = [0]
def flip():
    """
    >>> flip()
    True
    >>> 1 // 0
    0
    """
    N[0] += 1
    return N[0] % 2 == 0
'''


def _summary(fh):
    return {t["nodeid"]: t for t in
            json.loads((fh.path / "flakehunter_report.json").read_text())["tests"]}


def test_unittest_failures_as_pytest_reports_them(fh):
    fh.pytester.makepyfile(test_u=UNITTEST_SUITE)
    fh.mp.setenv("COLUMNS", "200")
    fh.use_real_analyzer()
    r = fh.run("--fh", "--fh-runs", "6", "--junitxml=pytest-junit.xml")
    r.assert_outcomes(passed=3 + 2, failed=3 + 4 + 6)
    out = r.stdout.str()
    tests = fh.by_test()
    a = tests["test_u.py::TestU::test_assert"]
    bad = [x for x in a if x["outcome"] == "failed"]
    assert [x["attempt"] for x in bad] == [1, 3, 5]
    for x in bad:
        assert x["error"] == {"type": "AssertionError", "message": "1 != 0"}, x["error"]
        # the place is the test's call of the assertion, not unittest's own frames
        assert x["frames"][-1]["path"] == "test_u.py", x["frames"]
        assert x["frames"][-1]["function"] == "test_assert"
        assert "assertEqual" in x["frames"][-1]["source"]
    e = [x for x in tests["test_u.py::TestU::test_error"] if x["outcome"] == "failed"]
    assert len(e) == 4
    assert {(x["error"]["type"], x["error"]["message"]) for x in e} == {("KeyError", "'missing'")}
    assert {x["frames"][-1]["function"] for x in e} == {"test_error"}
    # The repeats are one line, as for a plain function: the junit XML has every failure, the
    # ones after the first naming it; the terminal shows each traceback once.
    xml = (fh.path / "pytest-junit.xml").read_text()
    assert xml.count("<failure ") == 3 + 4 + 6
    assert xml.count("AssertionError: 1 != 0 (same as attempt 1)") == 2
    assert xml.count("KeyError: &apos;missing&apos; (same as attempt 1)") == 3 or \
        xml.count("KeyError: 'missing' (same as attempt 1)") == 3
    assert out.count("_ TestU.test_assert _") == 1 and out.count("_ TestU.test_error _") == 1
    assert re.search(r"FAILED test_u.py::TestU::test_assert - 3/6 attempts, cluster "
                     r"[0-9a-f]{6}: AssertionError: 1 != 0", out), out
    # The analyzer's clusters and attempt log carry the same.
    s = _summary(fh)
    c = s["test_u.py::TestU::test_assert"]["clusters"]
    assert [(x["error_type"], x["message"], x["count"]) for x in c] == \
        [("AssertionError", "1 != 0", 3)]
    log = {x["attempt"]: x for x in s["test_u.py::TestU::test_assert"]["attempt_log"]}
    assert log[1]["failed_at"]["path"] == "test_u.py"
    assert log[1]["failed_at"]["function"] == "test_assert"


def test_doctest_failures_name_the_example(fh):
    fh.pytester.makepyfile(mod_d=DOCTEST_SUITE)
    fh.use_real_analyzer()
    r = fh.run("--fh", "--fh-runs", "4", "--doctest-modules", "mod_d.py",
               "--junitxml=pytest-junit.xml")
    r.assert_outcomes(failed=4)
    recs = fh.by_test()["mod_d.py::mod_d.flip"]
    # attempts 1 and 3: flip() is False; attempts 2 and 4: then the division raises
    first = [recs[0], recs[2]]
    for x in first:
        assert x["error"] == {"type": "DocTestFailure",
                              "message": "flip(): expected 'True', got 'False'"}, x["error"]
        assert x["frames"] == [{"path": "mod_d.py", "line": 4, "function": "flip",
                                "source": "flip()"}]
    for x in (recs[1], recs[3]):
        assert x["error"]["type"] == "ZeroDivisionError", x["error"]
        assert x["frames"][0]["path"] == "mod_d.py" and x["frames"][0]["line"] == 6
    xml = (fh.path / "pytest-junit.xml").read_text()
    assert xml.count("(same as attempt 1)") == 1 and xml.count("(same as attempt 2)") == 1
