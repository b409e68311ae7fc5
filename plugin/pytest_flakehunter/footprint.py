# SPDX-License-Identifier: MIT
"""What an attempt leaves behind in the pytest process, as far as Python sees it cheaply.

The preload records what goes through libc (files created and removed, setenv, chdir, umask,
signal dispositions, limits, locale, listening sockets, fd and thread counts at the attempt's
ends). Some state only Python sees, or sees for free: modules imported during the attempt
(`sys.modules` grew), the environment as `os.environ` holds it (also without the preload), the
working directory, Python threads started and still alive, and the variables the attempt *read*
through `os.environ` (CPython's `os.environ` is a dict built at start-up: reading it never
calls libc's getenv, so the preload cannot see those reads).

Cost per attempt: a copy of the environment's dict (C-level, ~50 entries) and two getcwd calls
(one comparison and one getcwd for a test's next attempt when its last one changed neither), two
`threading.enumerate()`, one `len(sys.modules)`; reads of `os.environ` cost one Python call more
while an attempt runs. Every list is capped (MAX_ITEMS) and values are cut (MAX_VALUE) and
redacted like the records' other free text.

Reads of `os.environ` are seen by giving the `os.environ` object a subclass of its own class
(`__class__` assignment: same object, same data, `isinstance(os.environ, os._Environ)` still
true); `uninstall()` puts the class back at the end of the session.
"""
import os
import sys
import threading

from .redact import redact_env

MAX_ITEMS = 50
MAX_VALUE = 200

_reads = None           # the names read during the attempt in progress, or None
# pytest itself sets and removes this one in every phase of every test
_IGNORED = frozenset({"PYTEST_CURRENT_TEST", b"PYTEST_CURRENT_TEST"})


def _note_read(key):
    r = _reads
    if r is not None and len(r) < MAX_ITEMS and isinstance(key, str):
        r.add(key)


class Footprint:
    """begin() before an attempt, end() after it: a dict for the record, or None when the
    attempt left nothing Python saw and read no variable."""

    def __init__(self):
        self.installed = None
        self.env0 = self.cwd0 = self.threads0 = None
        self.nmod0 = 0
        self.same = False   # the last end() found the environment and cwd as begin() had them

    def install(self):
        env = os.environ
        base = type(env)
        if self.installed is not None or not hasattr(base, "__getitem__"):
            return

        class _ReadTracking(base):
            __slots__ = ()

            def __getitem__(self, key):
                if _reads is not None:
                    _note_read(key)
                return base.__getitem__(self, key)

        _ReadTracking.__name__ = base.__name__
        _ReadTracking.__qualname__ = base.__qualname__
        _ReadTracking.__module__ = base.__module__
        try:
            env.__class__ = _ReadTracking
        except TypeError:
            return
        self.installed = base

    def uninstall(self):
        global _reads
        _reads = None
        if self.installed is not None:
            try:
                os.environ.__class__ = self.installed
            except TypeError:
                pass
            self.installed = None

    def begin(self, again=False):
        """again: the attempt right after the last one of the same test, with only the re-run
        loop's own code in between (no hook, no test code): when that attempt left the
        environment and the working directory as they were, the snapshots still hold them
        (a copy of the environment and a getcwd saved per attempt)."""
        global _reads
        if not (again and self.same):
            data = getattr(os.environ, "_data", None)
            self.env0 = dict(data) if isinstance(data, dict) else None
            try:
                self.cwd0 = os.getcwd()
            except OSError:
                self.cwd0 = None
        self.same = False
        self.threads0 = threading.enumerate()
        self.nmod0 = len(sys.modules)
        _reads = set() if self.installed is not None else None

    def end(self):
        global _reads
        out = {}
        reads, _reads = _reads, None
        data = getattr(os.environ, "_data", None)
        env0 = self.env0
        same_env = env0 is not None and isinstance(data, dict) and data == env0
        if env0 is not None and isinstance(data, dict) and not same_env:
            dec = os.fsdecode
            set_, unset = {}, []
            for k, v in data.items():
                if env0.get(k) != v and len(set_) < MAX_ITEMS and k not in _IGNORED:
                    name = dec(k)
                    set_[name] = _cut(redact_env(f"{name}={dec(v)}")[len(name) + 1:])
            for k in env0:
                if k not in data and len(unset) < MAX_ITEMS and k not in _IGNORED:
                    unset.append(dec(k))
            if set_:
                out["env_set"] = set_
            if unset:
                out["env_unset"] = sorted(unset)
        if reads:
            reads.discard("PYTEST_CURRENT_TEST")
            if reads:
                out["env_read"] = sorted(reads)
        try:
            cwd = os.getcwd()
        except OSError:
            cwd = None
        if cwd != self.cwd0:
            out["cwd"] = cwd
            out["cwd_before"] = self.cwd0
        self.same = same_env and cwd is not None and cwd == self.cwd0
        threads = threading.enumerate()
        # the same Thread objects in the same order (the usual case: one list comparison by
        # identity) means no thread was started and left running
        if threads != self.threads0:
            before = {t.ident for t in self.threads0 or ()}
            new = [t for t in threads if t.ident not in before and t.is_alive()]
            if new:
                out["threads"] = [_cut(t.name) for t in new[:MAX_ITEMS]]
        n = len(sys.modules)
        if n > self.nmod0:
            added = list(sys.modules)[self.nmod0:]
            out["modules"] = added[:MAX_ITEMS]
        return out or None


def _cut(s):
    return s if len(s) <= MAX_VALUE else s[:MAX_VALUE] + "..."
