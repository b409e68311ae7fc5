# SPDX-License-Identifier: MIT
"""The scoreboard of a hunt, kept by the pytest process that owns the terminal (the only
process without xdist, the controller with it): per test its attempt counts, its failure
clusters and the first failing report of each, the plan; verdicts and the exit policy.

Without xdist the re-run loop feeds it directly. Under xdist each worker tags the reports of
its attempts (``fh_fail`` on a failing report, ``fh_attempt`` on every attempt's teardown
report; both plain lists, so they travel with the report) and the controller feeds the board
from them, so a worker that dies loses nothing the board already had.

Verdicts follow the analyzer (analyzer/stats.c): failed = failed or error attempts (xfail
attempts count as skipped); no non-skipped attempt: skipped; no failure: stable; no pass:
broken; else flaky.
"""

import time

POLICIES = ("any", "broken", "flaky", "never")

# The exit statuses the policy may change: pytest's OK and TESTS_FAILED. Interrupted,
# internal error, usage error and "no tests collected" are left as pytest set them.
_OK, _FAILED = 0, 1


class Cluster:
    __slots__ = ("cid", "when", "type", "message", "path", "line", "count", "first",
                 "report")

    def __init__(self, cid, when, type_, message, path, line, first, report):
        self.cid = cid
        self.when = when
        self.type = type_
        self.message = message
        self.path = path
        self.line = line
        self.count = 0
        self.first = first
        self.report = report


class Tally:
    __slots__ = ("nodeid", "passed", "failed", "skipped", "attempts", "planned", "clusters",
                 "finished", "errors")

    def __init__(self, nodeid, planned):
        self.nodeid = nodeid
        self.passed = self.failed = self.skipped = self.attempts = self.errors = 0
        self.planned = planned
        self.clusters = {}
        self.finished = False

    @property
    def verdict(self):
        if self.passed + self.failed == 0:
            return "skipped"
        if self.failed == 0:
            return "stable"
        return "broken" if self.passed == 0 else "flaky"

    def letter(self):
        """One character per test for pytest's progress line."""
        v = self.verdict
        if v == "stable":
            return ".", {"green": True}
        if v == "flaky":
            return "f", {"yellow": True}
        if v == "broken":
            return ("E" if self.errors == self.failed else "F"), {"red": True}
        return "s", {"yellow": True}


class Board:
    def __init__(self):
        self.tests = {}
        self.attempts_done = 0
        self.started = 0
        self.t_first = None        # time.monotonic() when the first attempt was counted

    def start(self, nodeid, planned):
        t = self.tests.get(nodeid)
        if t is None:
            t = self.tests[nodeid] = Tally(nodeid, planned)
            self.started += 1
        return t

    def attempt(self, nodeid, outcome, planned):
        t = self.tests.get(nodeid) or self.start(nodeid, planned)
        t.attempts += 1
        t.planned = max(planned, t.attempts)
        if outcome == "passed":
            t.passed += 1
        elif outcome in ("failed", "error"):
            t.failed += 1
            if outcome == "error":
                t.errors += 1
        else:
            t.skipped += 1
        self.attempts_done += 1
        if self.t_first is None:
            self.t_first = time.monotonic()
        return t

    def failure(self, nodeid, attempt, cid, when, type_, message, path, line, report):
        """A failing attempt of cluster cid; report is kept for the first of a cluster."""
        t = self.tests.get(nodeid) or self.start(nodeid, 1)
        c = t.clusters.get(cid)
        if c is None:
            c = t.clusters[cid] = Cluster(cid, when, type_, message, path, line, attempt,
                                          report)
        c.count += 1
        return c

    def finish(self, nodeid):
        t = self.tests.get(nodeid)
        if t is not None:
            t.finished = True
        return t

    def counts(self):
        out = {"flaky": 0, "broken": 0, "stable": 0, "skipped": 0}
        for t in self.tests.values():
            out[t.verdict] += 1
        return out

    def planned_total(self, ntests, default_plan):
        """Attempts done plus those still planned: tests not started yet are expected to take
        default_plan, or the mean of the finished ones when there are finished ones."""
        done = planned = nfin = fin_att = 0
        for t in self.tests.values():
            if t.finished:
                nfin += 1
                fin_att += t.attempts
                planned += t.attempts
            else:
                planned += max(t.planned, t.attempts)
            done += t.attempts
        rest = max(0, ntests - len(self.tests))
        est = fin_att / nfin if nfin and default_plan is None else (default_plan or 1)
        return done, planned + int(rest * est)


def decide(board, policy, pytest_status, collect_errors, quarantine=None):
    """(exit status, one line saying why). pytest_status: what pytest would return;
    collect_errors: failed collection reports (failures outside the hunted tests, which fail
    the session under every policy)."""
    status = int(pytest_status)
    if status not in (_OK, _FAILED):
        return status, f"exit status {status} as pytest set it (not a test outcome)"
    q_active = (lambda n: quarantine.active(n)) if quarantine else (lambda n: False)
    others = int(collect_errors)
    counted = {"flaky": 0, "broken": 0}
    tolerated = {"flaky": 0, "broken": 0}
    quarantined = 0
    failing_attempts = 0
    for t in board.tests.values():
        v = t.verdict
        if v not in counted:
            continue
        if q_active(t.nodeid):
            quarantined += 1
            continue
        failing_attempts += t.failed
        counted[v] += 1
    if policy == "any" and not quarantined:
        why = ("pytest's own status" +
               (": failing attempts" if status else ": no failing attempt"))
        return status, f"exit status {status} (--fh-fail-on=any, {why})"
    if policy == "any":
        fail = counted["flaky"] + counted["broken"] > 0
    elif policy == "broken":
        fail = counted["broken"] > 0
        tolerated["flaky"] = counted["flaky"]
    elif policy == "flaky":
        fail = counted["flaky"] + counted["broken"] > 0
    else:
        fail = False
        tolerated = dict(counted)
    new = _FAILED if (fail or others) else _OK
    parts = []
    if counted["broken"] and policy in ("any", "broken", "flaky"):
        parts.append(f"{counted['broken']} broken")
    if counted["flaky"] and policy in ("any", "flaky"):
        parts.append(f"{counted['flaky']} flaky")
    if tolerated["flaky"] or tolerated["broken"]:
        tol = ", ".join(f"{n} {k}" for k, n in tolerated.items() if n)
        parts.append(f"{tol} tolerated")
    if quarantined:
        parts.append(f"{quarantined} quarantined")
    if others:
        parts.append(f"{others} failures outside the hunted tests (collection errors)")
    why = "; ".join(parts) if parts else "no flaky or broken test"
    note = "" if new == status else f", pytest alone: {status}"
    return new, f"exit status {new} (--fh-fail-on={policy}: {why}{note})"
