# SPDX-License-Identifier: MIT
"""cpu: a cache miss sends some runs down a CPU-heavy path that blows the time budget."""
import itertools
import time

_runs = itertools.count(1)


def checksum(data, rounds):
    h = 0
    for _ in range(rounds):
        for b in data:
            h = (h * 31 + b) & 0xFFFFFFFF
    return h


def test_render_fast_enough():
    rounds = 300 if next(_runs) % 3 == 1 else 1      # cache miss on some runs
    t0 = time.monotonic()
    checksum(b"x" * 20000, rounds)
    assert time.monotonic() - t0 < 0.1, "render took too long"
