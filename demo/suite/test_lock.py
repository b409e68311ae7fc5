# SPDX-License-Identifier: MIT
"""timeout (blocked on lock): a background flusher sometimes holds the cache lock too long."""
import itertools
import threading
import time

cache_lock = threading.Lock()
_runs = itertools.count(1)


def flush(hold):
    with cache_lock:
        time.sleep(hold)


def test_update_cache():
    hold = 0.4 if next(_runs) % 3 == 2 else 0.01
    flusher = threading.Thread(target=flush, args=(hold,))
    flusher.start()
    time.sleep(0.005)
    got = cache_lock.acquire(timeout=0.2)
    try:
        assert got, "cache lock busy"
        cache_lock.release()
    finally:
        flusher.join()
