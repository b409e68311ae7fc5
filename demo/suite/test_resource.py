# SPDX-License-Identifier: MIT
"""resource: every run leaks the sockets of a connection pool until the fd limit is hit."""
import os
import resource
import socket

import pytest

_leaked = []


@pytest.fixture(scope="module", autouse=True)
def fd_limit():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (len(os.listdir("/proc/self/fd")) + 250, hard))
    yield
    for s in _leaked:
        s.close()
    _leaked.clear()
    resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def test_connection_pool():
    pool = [socket.socket() for _ in range(60)]
    _leaked.extend(pool)          # bug: the pool is never closed
    assert len(pool) == 60
