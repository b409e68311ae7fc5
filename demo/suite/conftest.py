# SPDX-License-Identifier: MIT
"""Fixtures of the flakehunter demo suite: a small line-based TCP service on 127.0.0.1 that,
like many real test backends, is usually fast and sometimes slow."""
import socket
import threading
import time

import pytest


class SlowSometimesServer:
    """Answers each line with "ok\\n"; every `slow_every`-th request waits `delay` s first."""

    def __init__(self, slow_every, delay):
        self.slow_every = slow_every
        self.delay = delay
        self.requests = 0
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.requests += 1
            slow = self.requests % self.slow_every == 0
            threading.Thread(target=self._answer, args=(conn, slow), daemon=True).start()

    def _answer(self, conn, slow):
        with conn:
            try:
                if not conn.recv(100):
                    return
                if slow:
                    time.sleep(self.delay)
                conn.sendall(b"ok\n")
            except OSError:
                pass

    def close(self):
        self.sock.close()


@pytest.fixture(scope="module")
def backend():
    srv = SlowSometimesServer(slow_every=3, delay=0.3)
    yield srv
    srv.close()


@pytest.fixture(scope="module")
def report_service():
    srv = SlowSometimesServer(slow_every=3, delay=0.25)
    yield srv
    srv.close()


def ask(port, timeout):
    """One request to the service; raises socket.timeout when it answers too late."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(b"get\n")
        return s.recv(100)
