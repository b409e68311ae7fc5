# SPDX-License-Identifier: MIT
"""Diagnoses from outcomes: `state`, `stable`, `broken` and `unexplained` (randomness), with
the preload and without it (tracing off: only these kinds, and the report says so)."""
import pytest

from fh_diag import run_fh

SUITE = {"test_mix.py": """
    import itertools, random
    REGISTRY = []
    runs = itertools.count(1)

    def test_state():
        REGISTRY.append("x")
        assert len(REGISTRY) <= 2

    def test_random():
        rng = random.Random(next(runs) * 7934)
        xs = [rng.randint(-3, 3) for _ in range(3)]
        assert sum(xs) != 0 or xs == [0, 0, 0]

    def test_ok():
        assert True

    def test_bad():
        assert int("12") == 13
"""}


@pytest.mark.parametrize("preload", [True, False], ids=["traced", "untraced"])
def test_outcome_kinds(tmp_path, preload):
    r = run_fh(tmp_path, SUITE, preload=preload)
    assert r.summary["tracing"] is preload
    assert r.outcomes("::test_state") == "ppffff"
    d = r.diag("::test_state")
    assert d["kind"] == "state", d
    assert d["evidence"][0] == "2/2 attempts before attempt 3 passed; 4/4 attempts from attempt 3 to 6 failed"
    assert r.outcomes("::test_random") == "pfppfp"
    d = r.diag("::test_random")
    assert d["kind"] == "unexplained", d
    assert ("tracing was off" in d["evidence"][0]) is (not preload)
    assert r.diag("::test_ok")["kind"] == "stable"
    assert r.diag("::test_bad")["kind"] == "broken"
    for t in r.summary["tests"]:
        for a in t["attempt_log"]:
            assert ("trace" in a and a["trace"] is not None) is preload


def test_untraced_never_claims_trace_kinds(tmp_path):
    """Without the preload a timeout-like flake is `unexplained`, not a guess."""
    r = run_fh(tmp_path, {"test_t.py": """
        import itertools, time
        runs = itertools.count(1)

        def test_slow():
            t0 = time.monotonic()
            time.sleep(0.12 if next(runs) % 2 == 0 else 0.001)
            assert time.monotonic() - t0 < 0.1
    """}, preload=False)
    assert r.outcomes("::test_slow") == "pfpfpf"
    assert r.diag("::test_slow")["kind"] == "unexplained"
