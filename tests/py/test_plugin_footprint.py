# SPDX-License-Identifier: MIT
"""The footprint of back-to-back attempts: what each attempt changed, counted against the state
it started from. A test's next attempt reuses the snapshots its last attempt left unchanged, so
an attempt right after one that changed the environment or the working directory must still
be measured from where that change left them (and one after an unchanged attempt too)."""
from fh_plugin import fh  # noqa: F401  (fixture)

SUITE = """
import itertools
import os

n = itertools.count(1)
m = itertools.count(1)
HERE = os.getcwd()


def test_env():
    k = next(n)
    if k == 3:
        os.environ["FP_X"] = "1"
    if k == 5:
        del os.environ["FP_X"]
    if k == 7:
        os.environ["FP_Y"] = "2"


def test_cwd():
    k = next(m)
    if k == 2:
        os.chdir(os.path.dirname(HERE))
    if k == 4:
        os.chdir(HERE)


def test_quiet():
    pass
"""


def test_back_to_back_footprints_count_each_attempts_own_changes(fh):
    fh.pytester.makepyfile(test_fp=SUITE)
    r = fh.run("--fh", "--fh-runs=8")
    assert r.ret == 0, r.stdout.str()
    got = {}
    for rec in fh.records():
        fp = rec["footprint"] or {}
        got[(rec["nodeid"].split("::")[1], rec["attempt"])] = {
            k: v for k, v in fp.items() if k in ("env_set", "env_unset", "cwd")}
    here = str(fh.path)
    want = {("test_env", 3): {"env_set": {"FP_X": "1"}},
            ("test_env", 5): {"env_unset": ["FP_X"]},
            ("test_env", 7): {"env_set": {"FP_Y": "2"}},
            ("test_cwd", 2): {"cwd": str(fh.path.parent)},
            ("test_cwd", 4): {"cwd": here}}
    for key, fields in got.items():
        assert fields == want.get(key, {}), (key, fields)
    assert len(got) == 24
