# SPDX-License-Identifier: MIT
"""The floor of any re-run protocol, for bench_plugin.py: each test's setup, call and teardown
run N times back to back through pytest's runtestprotocol, with nothing else (no records, no
analyzer, no terminal summary of its own). What flakehunter costs above this is its own; what
this costs is pytest's. Loaded with `-p fh_bench_floor --floor-count=N`."""
import pytest
from _pytest.runner import runtestprotocol


def pytest_addoption(parser):
    parser.addoption("--floor-count", type=int, default=10)


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_protocol(item, nextitem):
    n = item.config.getoption("floor_count")
    ihook = item.ihook
    ihook.pytest_runtest_logstart(nodeid=item.nodeid, location=item.location)
    for k in range(n):
        if k:
            item._report_sections = []   # as flakehunter does: each attempt its own output
        runtestprotocol(item, log=True, nextitem=nextitem if k == n - 1 else item.parent)
    ihook.pytest_runtest_logfinish(nodeid=item.nodeid, location=item.location)
    return True
