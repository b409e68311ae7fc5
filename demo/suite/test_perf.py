# SPDX-License-Identifier: MIT
"""performance flake: always passes, but some runs wait much longer for the report service."""
from conftest import ask


def test_monthly_report(report_service):
    assert ask(report_service.port, timeout=2.0) == b"ok\n"
