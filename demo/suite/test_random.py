# SPDX-License-Identifier: MIT
"""unexplained: the test data is random and some draws hit an edge case the code gets wrong."""
import itertools
import random

_runs = itertools.count(1)


def mean(xs):
    return sum(xs) / len(xs)


def test_mean_of_sample():
    rng = random.Random(next(_runs) * 7934)
    xs = [rng.randint(-3, 3) for _ in range(3)]
    assert mean(xs) != 0 or xs == [0, 0, 0]
