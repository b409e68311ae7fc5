# SPDX-License-Identifier: MIT
"""When each fixture's setup ran, for the attempt records (docs/FORMATS.md, "fixture_setups").

A thread a test did not start (a session fixture's server, a module fixture's pool) is shown
apart from the test's own activity; the analyzer names who started it by the fixture whose
setup was running when the preload saw the thread created. The times are CLOCK_MONOTONIC
nanoseconds, like the preload's, so the two join without conversion.

A hook wrapper around pytest_fixture_setup takes two clock readings per fixture that is set up
(a cached fixture is not set up again, so a session fixture costs this once per session). The
setups are kept until the next attempt record takes them: the setups of an attempt's own setup
phase, and those that ran before it outside every attempt (at collection, or before the
first test), go into that record; at most MAX per record (the rest are counted as dropped in
"fixture_setups_dropped").
"""
import time

import pytest

from . import records

MAX = 64


class FixtureSetups:
    """Registered only when the preload traces (the analyzer needs the threads' births)."""

    def __init__(self):
        self.pending = []
        self.dropped = 0

    @pytest.hookimpl(hookwrapper=True, tryfirst=True)
    def pytest_fixture_setup(self, fixturedef, request):
        t0 = time.monotonic_ns()
        yield
        if len(self.pending) < MAX:
            self.pending.append([str(fixturedef.argname), str(fixturedef.scope), t0,
                                 time.monotonic_ns()])
        else:
            self.dropped += 1

    def take(self):
        """The record's fields for the setups since the last record: a JSON fragment that
        starts with a comma, or ""."""
        if not self.pending and not self.dropped:
            return ""
        out = ',"fixture_setups":' + records.encode(self.pending)
        if self.dropped:
            out += f',"fixture_setups_dropped":{self.dropped}'
        self.pending = []
        self.dropped = 0
        return out
