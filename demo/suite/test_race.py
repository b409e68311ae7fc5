# SPDX-License-Identifier: MIT
"""race: a fixed sleep is used to wait for a worker thread that is sometimes slower."""
import itertools
import threading
import time

_runs = itertools.count(1)


def test_worker_result():
    slow = next(_runs) % 3 == 0
    result = {}

    def worker():
        time.sleep(0.4 if slow else 0.001)
        result["value"] = 42
    t = threading.Thread(target=worker)
    t.start()
    time.sleep(0.15)               # "enough" time for the worker
    try:
        assert result.get("value") == 42
    finally:
        t.join()
