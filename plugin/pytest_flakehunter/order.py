# SPDX-License-Identifier: MIT
"""The order of attempts with ``--fh-order=rounds``: N rounds of the whole selection, round k
running attempt k of every test, in an order shuffled per round from one seed.

The shuffle works on the selection's structure, as pytest-randomly does, so fixtures of wider
scope stay up while their tests run: modules are shuffled, then within each module its groups
(each class, and the module's plain functions as one group), then the tests within each group.
A module's fixtures are then set up once per module per round, not once per test.

Determinism: the order of round k depends only on the seed, k and the set of node ids, never on
the order the tests were collected in (pytest-randomly may have reordered them already) or on
which tests dropped out of a round (an adaptive count stops settled tests): the permutation is
computed over the whole selection, sorted by node id first, and then filtered. ``random.Random``
seeded with a string is stable across Python 3 versions, so the same seed gives the same orders
on every machine that runs the same selection. Under pytest-xdist every worker shuffles its own
share of the tests with the same seed (what it runs depends on how xdist distributed them).
"""
import os
import random

MODES = ("back-to-back", "rounds")
SEED_MAX = 2 ** 32 - 1


def parse_mode(text):
    """The mode for a --fh-order value; raises ValueError naming the choices."""
    v = str(text).strip().lower()
    if v in ("back-to-back", "backtoback", "back_to_back"):
        return "back-to-back"
    if v == "rounds":
        return "rounds"
    raise ValueError(f"one of {', '.join(MODES)}, got {text!r}")


def parse_seed(text):
    """A seed: a whole number from 0 to 2**32 - 1; raises ValueError saying why not."""
    s = str(text).strip()
    try:
        v = int(s, 10)
    except ValueError:
        raise ValueError(f"not an integer: {text!r}") from None
    if not 0 <= v <= SEED_MAX:
        raise ValueError(f"must be between 0 and {SEED_MAX}, got {v}")
    return v


def new_seed():
    """A random seed (the default): 9 digits at most, easy to read back from the header."""
    return int.from_bytes(os.urandom(4), "little") % 1_000_000_000


def _groups(items):
    """{module key: {group key: [items]}}: a group is a class, or the module's plain
    functions (key None). Keys are node ids; items are sorted by node id within a group."""
    mods = {}
    for it in items:
        mod, grp = group_keys(it)
        mods.setdefault(mod, {}).setdefault(grp, []).append(it)
    return mods


def group_keys(item):
    """(module key, group key) of an item: the node ids of its module and class (None when it
    is not in a class). Items outside a module (plugins' own items) group by their parent."""
    mod = cls = None
    node = item.parent
    while node is not None:
        kind = type(node).__name__
        if cls is None and kind == "Class":
            cls = node.nodeid
        if kind in ("Module", "DoctestModule", "DoctestTextfile"):
            mod = node.nodeid
            break
        node = node.parent
    if mod is None:
        mod = item.parent.nodeid if item.parent is not None else item.nodeid.split("::", 1)[0]
    return mod, cls


def round_order(items, seed, rnd):
    """The items of round `rnd` (1-based) in their shuffled order."""
    rng = random.Random(f"flakehunter:{seed}:{rnd}")
    mods = _groups(sorted(items, key=lambda it: it.nodeid))
    out = []
    mod_keys = sorted(mods)
    rng.shuffle(mod_keys)
    for mk in mod_keys:
        groups = mods[mk]
        gkeys = sorted(groups, key=lambda k: (k is not None, k or ""))
        rng.shuffle(gkeys)
        for gk in gkeys:
            g = list(groups[gk])
            rng.shuffle(g)
            out.extend(g)
    return out


class Rounds:
    """The orders of one process's share: the permutation of each round over the whole share,
    filtered by the tests still active (so a test that settled never changes the order of the
    others)."""

    def __init__(self, items, seed):
        self.items = list(items)
        self.seed = seed
        self._cache = {}

    def order(self, rnd, active=None):
        perm = self._cache.get(rnd)
        if perm is None:
            perm = self._cache[rnd] = round_order(self.items, self.seed, rnd)
            self._cache.pop(rnd - 2, None)
        if active is None:
            return list(perm)
        return [it for it in perm if it in active]
