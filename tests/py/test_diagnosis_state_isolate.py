# SPDX-License-Identifier: MIT
"""Diagnosis `state` from the history: a test whose failures come from what earlier attempts
left in a session fixture, interleaved with passes (not the pass-then-fail pattern), is
`state` once an earlier run with --fh-isolate (every fixture torn down between attempts) never
failed; without history it stays `unexplained`. The converse: an isolated, stable run notes
that earlier runs without isolation failed. Real pytest, real preload, real history files."""
import csv

from fh_diag import run_fh

# Every other write leaves a stale entry in the session cache, which the next attempt trips
# over (and clears): p p f p p f ... without isolation; a fresh cache every attempt with it.
SUITE = {"test_cache.py": """
    import itertools
    import pytest

    writes = itertools.count(1)   # module state: survives fixture teardown

    @pytest.fixture(scope="session")
    def cache():
        return {}

    def test_cached_lookup(cache):
        stale = cache.pop("user", None)
        assert stale is None, f"stale cache entry {stale!r}"
        if next(writes) % 2 == 0:
            cache["user"] = "stale"
"""}
NAME = "::test_cached_lookup"


def test_failures_vanish_with_isolate(tmp_path):
    hist = tmp_path / "history"

    # Control: the same flake without history is not `state` (nothing says what ran before).
    r = run_fh(tmp_path, SUITE, runs=10)
    assert r.outcomes(NAME) == "ppfppfppfp"
    assert r.diag(NAME)["kind"] == "unexplained", r.diag(NAME)

    # 1. Isolated: every attempt starts with a fresh cache and passes.
    r = run_fh(tmp_path, SUITE, "--fh-isolate", runs=16, history=hist)
    assert r.outcomes(NAME) == "p" * 16
    d = r.diag(NAME)
    assert d["kind"] == "stable" and d["evidence"] == [], d
    (path,) = hist.glob("*.csv")
    rows = list(csv.DictReader(path.open(newline="", encoding="utf-8")))
    assert len(rows) == 16 and {row["isolate"] for row in rows} == {"true"}

    # 2. Not isolated: interleaved failures, `state` from the isolated run's history.
    r = run_fh(tmp_path, SUITE, runs=10, history=hist)
    assert r.outcomes(NAME) == "ppfppfppfp"
    d = r.diag(NAME)
    assert d["kind"] == "state", d
    assert "torn down between attempts" in d["summary"]
    assert ("with --fh-isolate: 0/16 attempts failed (1 run); without it in this run: 3/10 failed"
            in d["evidence"]), d
    runs = r.test(NAME)["history"]["runs"]
    assert [x["isolate"] for x in runs] == [True, False]
    assert [x["failed"] for x in runs] == [0, 3]
    rows = list(csv.DictReader(path.open(newline="", encoding="utf-8")))
    assert [row["isolate"] for row in rows] == ["true"] * 16 + ["false"] * 10

    # 3. Isolated again: stable, with a note on the earlier failures without isolation.
    r = run_fh(tmp_path, SUITE, "--fh-isolate", runs=10, history=hist)
    d = r.diag(NAME)
    assert d["kind"] == "stable", d
    assert d["evidence"] == ["with --fh-isolate in this run: 0/10 attempts failed; without it in "
                             "earlier runs: 3/10 failed (1 run): the test may depend on state "
                             "left by earlier attempts"], d
