# SPDX-License-Identifier: MIT
"""timeout (blocked on net): the backend sometimes answers later than the client waits."""
from conftest import ask


def test_fetch_user(backend):
    assert ask(backend.port, timeout=0.15) == b"ok\n"
