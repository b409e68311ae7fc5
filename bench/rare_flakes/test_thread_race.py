# SPDX-License-Identifier: MIT
"""A race between two threads with a window of a few microseconds: two threads fill a cache
with check-then-act; the second one only sees the cache empty when the first is held up inside
its quick call to the backend (a recv that returns at once: the data is already there) for
longer than the half millisecond between the two starts."""
import socket
import threading
import time


def test_cache_filled_once():
    a, b = socket.socketpair()
    a.sendall(b"vv")                # the backend's answers are already waiting
    cache, loads = {}, []

    def get(key):
        if key not in cache:        # check ...
            loads.append(key)
            value = b.recv(1)       # ... a quick call (the GIL is released for it) ...
            cache[key] = value      # ... act
        return cache[key]

    threads = [threading.Thread(target=get, args=("user:1",)) for _ in range(2)]
    threads[0].start()
    time.sleep(0.0005)              # the second worker starts a little later
    threads[1].start()
    for t in threads:
        t.join()
    a.close()
    b.close()
    assert len(loads) == 1, f"the cache was filled {len(loads)} times"
