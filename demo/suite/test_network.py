# SPDX-License-Identifier: MIT
"""network: the service is sometimes not listening yet when the test connects."""
import itertools
import socket
import threading
import time

_runs = itertools.count(1)


def start_service(delay):
    """Binds a port now, listens after `delay` (a slow start-up)."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]

    def later():
        time.sleep(delay)
        sock.listen(1)
    t = threading.Thread(target=later, daemon=True)
    t.start()
    return sock, port, t


def test_service_health():
    delay = 0.1 if next(_runs) % 2 == 0 else 0.0
    sock, port, t = start_service(delay)
    if not delay:
        t.join()
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1.0) as c:
            assert c is not None
    finally:
        t.join()
        sock.close()
