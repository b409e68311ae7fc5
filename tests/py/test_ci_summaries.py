# SPDX-License-Identifier: MIT
"""CI summaries through the real path: --fh-markdown, GitHub's step summary and annotations
with the GitHub Actions variables set, GitLab/no-CI runs without them."""
import re

from fh_plugin import fh  # noqa: F401

SUITE = """
import pytest
N = {}
def helper(k):
    N[k] = N.get(k, 0) + 1
    if N[k] % 2:
        raise ValueError(f"odd {N[k]} 100% sure, a:b")
@pytest.mark.parametrize("k", range(NUM))
def test_flaky(k):
    helper(k)
def test_broken():
    assert 0, "always"
def test_stable():
    pass
"""

GITHUB_VARS = ("GITHUB_ACTIONS", "GITHUB_STEP_SUMMARY", "GITHUB_WORKSPACE", "GITHUB_SERVER_URL",
               "GITHUB_REPOSITORY", "GITHUB_RUN_ID")


def clear_github(fh):
    for v in GITHUB_VARS:
        fh.mp.delenv(v, raising=False)


def annotations(out):
    return [x for x in out.splitlines() if x.startswith("::")]


def test_markdown_summary(fh):
    clear_github(fh)
    fh.use_real_analyzer()
    fh.pytester.makepyfile(test_s=SUITE.replace("NUM", "3"))
    r = fh.run("--fh", "--fh-runs=4", "--fh-markdown=ci/summary.md", "--fh-report=out/r.html")
    assert r.ret == 1
    md = (fh.path / "ci" / "summary.md").read_text()
    assert md.startswith("### flakehunter: 3 flaky, 1 broken of 5 tests\n")
    rows = [x for x in md.splitlines() if x.startswith("| test\\_s.py")]
    # worst first: the broken test, then the flaky ones
    assert rows[0].startswith("| test\\_s.py::test\\_broken | broken | 4/4 | 100% (51-100%) | broken |")
    assert len(rows) == 4 and all("| flaky | 2/4 | 50% (15-85%) |" in x for x in rows[1:])
    assert "1 stable, 0 skipped." in md
    assert "Report: [r.html](<../out/r.html>)" in md
    assert annotations(r.stdout.str()) == []  # not on GitHub: no workflow commands


def test_github_step_summary_and_annotations(fh, tmp_path):
    clear_github(fh)
    fh.use_real_analyzer()
    fh.pytester.makepyfile(test_s=SUITE.replace("NUM", "14"))
    step = tmp_path / "step_summary.md"
    step.write_text("# earlier step output\n")
    fh.mp.setenv("GITHUB_ACTIONS", "true")
    fh.mp.setenv("GITHUB_STEP_SUMMARY", str(step))
    fh.mp.setenv("GITHUB_WORKSPACE", str(fh.path.parent))
    fh.mp.setenv("GITHUB_SERVER_URL", "https://github.example")
    fh.mp.setenv("GITHUB_REPOSITORY", "acme/app")
    fh.mp.setenv("GITHUB_RUN_ID", "4242")
    r = fh.run("--fh", "--fh-runs=4")
    assert r.ret == 1
    text = step.read_text()
    assert text.startswith("# earlier step output\n### flakehunter: 14 flaky, 1 broken of 16")
    assert "Report: flakehunter\\_report.html in the artifacts of [the CI run]" \
           "(<https://github.example/acme/app/actions/runs/4242>)" in text
    ann = annotations(r.stdout.str())
    sub = fh.path.name  # the project sits in a folder of the checkout
    errors = [x for x in ann if x.startswith("::error ")]
    warnings = [x for x in ann if x.startswith("::warning ")]
    assert len(errors) == 1 and len(warnings) == 10 and len(ann) == 12
    assert errors[0].startswith(f"::error file={sub}/test_s.py,line=11,title=broken test "
                                f"(100% of 4 attempts failed)::test_s.py::test_broken failed "
                                f"4/4 attempts")
    # the location is the innermost frame of the project: helper(), not the test function
    assert all(x.startswith(f"::warning file={sub}/test_s.py,line=6,title=flaky test (50% of 4 "
                            f"attempts failed)::test_s.py::test_flaky[") for x in warnings)
    # '%' and ':' of the message are escaped the way GitHub reads them
    assert "ValueError: odd 1 100%25 sure, a:b" in warnings[0]
    assert ann[-1] == ("::notice title=flakehunter::4 more flaky or broken tests are not "
                       "annotated (see the step summary or the report)")
    # a second run appends again
    fh.run("--fh", "--fh-runs=4")
    assert step.read_text().count("### flakehunter:") == 2


def test_annotations_outside_github_workspace(fh, tmp_path):
    clear_github(fh)
    fh.use_real_analyzer()
    fh.pytester.makepyfile(test_s=SUITE.replace("NUM", "1"))
    fh.mp.setenv("GITHUB_ACTIONS", "true")
    fh.mp.setenv("GITHUB_WORKSPACE", str(tmp_path / "elsewhere"))
    r = fh.run("--fh", "--fh-runs=2")
    ann = annotations(r.stdout.str())
    assert len(ann) == 2 and all(re.match(r"::(error|warning) file=test_s\.py,line=\d+,", x)
                                 for x in ann), ann


def test_quarantined_broken_test_is_a_warning(fh):
    clear_github(fh)
    fh.use_real_analyzer()
    fh.pytester.makepyfile(test_s=SUITE.replace("NUM", "0"))
    q = fh.path / "q.toml"
    q.write_text('[[quarantine]]\nnodeid = "test_s.py::test_broken"\nowner = "ann%:x"\n'
                 'expires = 2999-01-01\n')
    fh.mp.setenv("GITHUB_ACTIONS", "true")
    r = fh.run("--fh", "--fh-runs=2", f"--fh-quarantine={q}")
    assert r.ret == 0
    (ann,) = annotations(r.stdout.str())
    assert ann.startswith("::warning file=test_s.py,line=11,title=quarantined broken test")
    assert ann.endswith("(quarantined by ann%25:x, 2999-01-01)")
