# SPDX-License-Identifier: MIT
"""How many attempts each test gets: a fixed count, a time budget, or an adaptive count.

Three inputs decide (README, "Budget and adaptive counts"):

- ``--fh-runs N``: N attempts per test (the default, 10).
- ``--fh-runs auto``: a sequential rule stops a test as soon as its verdict is settled, never
  past ``--fh-max-runs`` (default 100). With P passing, F failing (failed or error) attempts
  and the 95% Wilson interval [lo, hi] of the rate F / (P + F):

  * stable: F = 0 and P >= ``STABLE_PASSES`` (59): 59 passes in a row bound the failure rate
    below 5% with 95% confidence ((1 - 0.05)^59 < 0.05);
  * broken: P = 0 and F >= 59, the same bound on the pass rate;
  * flaky: F >= 3 and P >= 3 and hi - lo <= ``FLAKY_WIDTH`` (0.30): the test both passed and
    failed several times and its rate is known to within +-15 points. A rare flake (one
    failure in a hundred) never gets there and runs to the cap, which is what it needs;
  * skipped: the first attempt was skipped (skips are decided by marks and conditions).

- ``--fh-budget DURATION``: the whole session should end within DURATION (the analyzer
  excepted). After its first attempt every test is given a fair share of the time left: the
  time left divided by the tests left, where tests not started yet are expected to cost what
  the first attempts so far cost on average and to stop at the cap (so the time a fast test
  cannot use flows to the others). The plan is that share divided by the test's own first
  attempt, at least 1 and at most the cap (``--fh-runs N`` when given as a number, else
  ``--fh-max-runs``); a test whose attempts turn out slower than planned stops when its share
  is used up. Every test runs at least once, so a budget smaller than one pass is exceeded by
  that much, and the terminal says so.

Under pytest-xdist every worker plans its own tests as if it ran an equal share of them.
"""
import math
import re
import time

STABLE_PASSES = 59          # ceil(ln 0.05 / ln 0.95)
FLAKY_MIN_EACH = 3
FLAKY_WIDTH = 0.30
DEFAULT_MAX_RUNS = 100

_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}
_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|h|m|s)")


def parse_duration(text):
    """Seconds of "10m", "90s", "1h30m", "2.5m", "500ms" or a bare number of seconds.
    Raises ValueError with a reason."""
    s = str(text).strip().lower().replace(" ", "")
    if not s:
        raise ValueError("empty duration")
    try:
        v = float(s)
    except ValueError:
        pos, v = 0, 0.0
        for m in _PART.finditer(s):
            if m.start() != pos:
                break
            v += float(m.group(1)) * _UNITS[m.group(2)]
            pos = m.end()
        if pos != len(s) or pos == 0:
            raise ValueError(f"not a duration: {text!r} (use e.g. 90s, 10m, 1h30m)")
    if not math.isfinite(v) or v <= 0:
        raise ValueError(f"a duration must be positive: {text!r}")
    return v


def format_duration(s):
    """"1h02m", "9m41s", "12.3s", "0.25s"."""
    if s < 60:
        return f"{s:.1f}s" if s >= 10 else f"{s:.2f}s"
    s = int(round(s))
    if s < 3600:
        return f"{s // 60}m{s % 60:02d}s"
    return f"{s // 3600}h{s % 3600 // 60:02d}m"


def wilson(failed, n):
    """95% Wilson score interval of failed / n (analyzer/stats.c's wilson_interval)."""
    if n <= 0:
        return 0.0, 1.0
    z = 1.959963984540054
    p = failed / n
    z2 = z * z
    denom = 1 + z2 / n
    centre = (p + z2 / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / denom
    lo = 0.0 if failed == 0 else max(0.0, centre - half)
    hi = 1.0 if failed == n else min(1.0, centre + half)
    return lo, hi


def settled(passed, failed, skipped_first):
    """The auto rule: the stop reason ("stable", "broken", "flaky", "skipped") or None."""
    if skipped_first and passed == 0 and failed == 0:
        return "skipped"
    if failed == 0:
        return "stable" if passed >= STABLE_PASSES else None
    if passed == 0:
        return "broken" if failed >= STABLE_PASSES else None
    if failed >= FLAKY_MIN_EACH and passed >= FLAKY_MIN_EACH:
        lo, hi = wilson(failed, passed + failed)
        if hi - lo <= FLAKY_WIDTH:
            return "flaky"
    return None


class Planner:
    """Attempt plans for the tests of one pytest process (see the module docstring).

    `decide(st, now, commit)` after an attempt (st holds the counts including it) returns
    (planned, stop) where stop is None (go on) or why this attempt is the last: "planned",
    "budget", or an auto reason. With commit False it only predicts (nothing is recorded)."""

    def __init__(self, runs, auto, max_runs, budget_s, start=None):
        self.auto = auto
        self.cap = max_runs if (auto or runs is None) else runs
        self.budget_s = budget_s
        self.start = time.monotonic() if start is None else start
        self.deadline = None if budget_s is None else self.start + budget_s
        self.first_sum = 0.0         # sum of first-attempt durations seen
        self.first_n = 0
        self.min_plan = None         # smallest and largest budget plans, for the terminal
        self.max_plan = None
        self.over_budget = 0         # tests that got one attempt because no time was left

    @property
    def adaptive(self):
        return self.auto or self.deadline is not None

    def _budget_plan(self, first_s, tests_left, now, commit):
        """(planned, share end) for a test whose first attempt took first_s and ended at now;
        tests_left counts the tests after it in this process."""
        d = max(first_s, 1e-4)
        est = (self.first_sum + d) / (self.first_n + 1)
        left = self.deadline - now + d      # this test's first attempt is part of its share
        m = max(0.0, tests_left)
        share = left / (m + 1)
        if est * self.cap < share:
            # the tests after this one will stop at the cap: give this one what they leave
            share = max(share, left - m * est * self.cap)
        planned = max(1, min(self.cap, int(share / d))) if left > d else 1
        if commit:
            self.first_sum += d
            self.first_n += 1
            if left <= d:
                self.over_budget += 1
            self.min_plan = planned if self.min_plan is None else min(self.min_plan, planned)
            self.max_plan = planned if self.max_plan is None else max(self.max_plan, planned)
        return planned, now - d + share

    def decide(self, st, now, commit=True):
        planned, share_end = st.planned, st.share_end
        if st.attempts == 1 and self.deadline is not None:
            planned, share_end = self._budget_plan(st.first_s, st.tests_left, now, commit)
            if commit:
                st.planned, st.share_end = planned, share_end
        if self.auto:
            why = settled(st.passed, st.failed, st.skipped_first)
            if why:
                return planned, why
        if st.attempts >= planned:
            return planned, "planned"
        if share_end is not None and now + st.total_s / st.attempts > share_end:
            return planned, "budget"
        return planned, None


class TestPlanState:
    """One test's counts as the plan sees them."""

    __slots__ = ("planned", "attempts", "passed", "failed", "skipped_first", "first_s",
                 "total_s", "tests_left", "share_end")

    def __init__(self, planned, tests_left):
        self.planned = planned
        self.attempts = self.passed = self.failed = 0
        self.skipped_first = False
        self.first_s = self.total_s = 0.0
        self.tests_left = tests_left
        self.share_end = None

    def copy(self):
        c = TestPlanState.__new__(TestPlanState)
        for k in TestPlanState.__slots__:
            setattr(c, k, getattr(self, k))
        return c

    def add(self, outcome, duration_s):
        self.attempts += 1
        self.total_s += duration_s
        if self.attempts == 1:
            self.first_s = duration_s
            self.skipped_first = outcome == "skipped"
        if outcome == "passed":
            self.passed += 1
        elif outcome in ("failed", "error"):
            self.failed += 1
