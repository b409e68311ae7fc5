# SPDX-License-Identifier: MIT
"""The quarantine file (``--fh-quarantine FILE``): tests whose results must not fail the build.

A TOML file kept in the repository, one ``[[quarantine]]`` table per entry::

    [[quarantine]]
    nodeid = "tests/test_db.py::test_fetch"    # a node id, or a glob ("tests/test_net.py::*")
    owner = "alice@example.com"                 # who will fix it (required)
    reason = "times out on the shared runner"   # optional
    expires = 2026-12-31                        # a TOML date or "YYYY-MM-DD" (required)

A pattern matches a node id equal to it and that node id's parametrizations (``test_x``
matches ``test_x[1]``); a pattern with ``*`` (any characters) or ``?`` (one character) is a
glob matched against the whole node id (case-sensitive). Brackets are literal, as they are in
node ids (``test_x[1-*]`` matches ``test_x[1-a]``). An entry protects through its expiry
date (local calendar date); from the next day on it warns and protects nothing. Quarantined
tests still run, are hunted and reported; only their effect on the exit status goes.

Any problem with the file (unreadable, bad TOML, a missing or empty owner, an expiry that is
not a date, an unknown key) is a usage error naming the file and line, raised before any test
runs. TOML is read with the standard library's tomllib (Python 3.11+), else with tomli when it
is installed.
"""
import datetime
import fnmatch
import json
import os
import re

KEYS = {"nodeid", "owner", "reason", "expires"}
_HEADER = re.compile(r"^\s*\[\[\s*quarantine\s*\]\]")
_GLOB = re.compile(r"[*?]")


class QuarantineError(Exception):
    """A malformed quarantine file; str() is the one-line message."""


def _toml():
    try:
        import tomllib
        return tomllib
    except ImportError:
        pass
    try:
        import tomli
        return tomli
    except ImportError:
        return None


class Entry:
    __slots__ = ("index", "pattern", "owner", "reason", "expires", "line", "glob", "matched")


    def __init__(self, index, pattern, owner, reason, expires, line):
        self.index = index
        self.pattern = pattern
        self.owner = owner
        self.reason = reason
        self.expires = expires
        self.line = line
        self.glob = (re.compile(fnmatch.translate(pattern.replace("[", "[[]")))
                     if _GLOB.search(pattern) else None)
        self.matched = 0

    def matches(self, nodeid):
        if nodeid == self.pattern or (nodeid.startswith(self.pattern) and
                                      nodeid[len(self.pattern)] == "["):
            return True
        return self.glob is not None and self.glob.match(nodeid) is not None

    def expired(self, today):
        return today > self.expires


def _header_lines(text):
    return [i + 1 for i, line in enumerate(text.splitlines()) if _HEADER.match(line)]


def _date(v):
    if isinstance(v, datetime.datetime):
        return None
    if isinstance(v, datetime.date):
        return v
    if isinstance(v, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", v.strip()):
        try:
            return datetime.date.fromisoformat(v.strip())
        except ValueError:
            return None
    return None


def load(path):
    """Entries of the quarantine file at path; raises QuarantineError."""
    toml = _toml()
    if toml is None:
        raise QuarantineError(f"{path}: reading a quarantine file needs Python 3.11 (tomllib) "
                              f"or the tomli package")
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except OSError as e:
        raise QuarantineError(f"{path}: cannot read: {e.strerror or e}")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        line = raw[:e.start].count(b"\n") + 1
        raise QuarantineError(f"{path}:{line}: not UTF-8 text")
    try:
        doc = toml.loads(text)
    except toml.TOMLDecodeError as e:
        m = re.search(r"\(at line (\d+), column (\d+)\)", str(e))
        where = f"{path}:{m.group(1)}" if m else f"{path}"
        msg = re.sub(r"\s*\(at line \d+, column \d+\)", "", str(e)) or "invalid TOML"
        raise QuarantineError(f"{where}: invalid TOML: {msg}")
    lines = _header_lines(text)
    unknown = set(doc) - {"quarantine"}
    if unknown:
        raise QuarantineError(f"{path}:1: unknown top-level key {sorted(unknown)[0]!r} "
                              f"(entries are [[quarantine]] tables)")
    items = doc.get("quarantine", [])
    if not isinstance(items, list):
        raise QuarantineError(f"{path}:{lines[0] if lines else 1}: 'quarantine' must be an "
                              f"array of tables ([[quarantine]])")
    entries = []
    for i, it in enumerate(items):
        line = lines[i] if i < len(lines) else 1
        where = f"{path}:{line}"
        if not isinstance(it, dict):
            raise QuarantineError(f"{where}: entry {i + 1} is not a table")
        extra = set(it) - KEYS
        if extra:
            raise QuarantineError(f"{where}: unknown key {sorted(extra)[0]!r} "
                                  f"(allowed: nodeid, owner, reason, expires)")
        pattern = it.get("nodeid")
        if not isinstance(pattern, str) or not pattern.strip():
            raise QuarantineError(f"{where}: entry without a nodeid")
        owner = it.get("owner")
        if not isinstance(owner, str) or not owner.strip():
            raise QuarantineError(f"{where}: entry {pattern!r} without an owner")
        reason = it.get("reason", "")
        if not isinstance(reason, str):
            raise QuarantineError(f"{where}: entry {pattern!r}: reason must be a string")
        if "expires" not in it:
            raise QuarantineError(f"{where}: entry {pattern!r} without an expiry date "
                                  f"(expires = YYYY-MM-DD)")
        expires = _date(it["expires"])
        if expires is None:
            raise QuarantineError(f"{where}: entry {pattern!r}: expires is not a date: "
                                  f"{it['expires']!r} (use YYYY-MM-DD)")
        entries.append(Entry(i, pattern.strip(), owner.strip(), reason.strip(), expires, line))
    return entries


class Quarantine:
    """The entries of one file matched against the node ids of a session."""

    def __init__(self, path, entries, today=None):
        self.path = path
        self.entries = entries
        self.today = today or datetime.date.today()
        self.by_nodeid = {}

    def match(self, nodeids):
        """Assigns each node id its first matching entry; returns {nodeid: entry}."""
        out = {}
        for nodeid in nodeids:
            for e in self.entries:
                if e.matches(nodeid):
                    e.matched += 1
                    out[nodeid] = e
                    break
        self.by_nodeid = out
        return out

    def active(self, nodeid):
        e = self.by_nodeid.get(nodeid)
        return e is not None and not e.expired(self.today)

    def warnings(self):
        out = []
        for e in self.entries:
            where = f"{self.path}:{e.line}"
            if e.expired(self.today):
                out.append(f"flakehunter: warning: {where}: quarantine of {e.pattern!r} "
                           f"(owner {e.owner}) expired on {e.expires.isoformat()}; it no "
                           f"longer protects the exit status")
            if not e.matched:
                out.append(f"flakehunter: warning: {where}: quarantine entry {e.pattern!r} "
                           f"matches no test of this session")
        return out

    def write(self, run_dir):
        """RUN_DIR/quarantine.json for the analyzer (docs/FORMATS.md)."""
        doc = {
            "schema": "flakehunter-quarantine/1",
            "file": self.path,
            "today": self.today.isoformat(),
            "entries": [{"pattern": e.pattern, "owner": e.owner, "reason": e.reason,
                         "expires": e.expires.isoformat(), "line": e.line,
                         "expired": e.expired(self.today), "matched": e.matched}
                        for e in self.entries],
            "tests": {n: e.index for n, e in sorted(self.by_nodeid.items())},
        }
        tmp = os.path.join(run_dir, "quarantine.json.tmp")
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(doc, f, indent=1)
            f.write("\n")
        os.replace(tmp, os.path.join(run_dir, "quarantine.json"))
