# SPDX-License-Identifier: MIT
"""Failure fingerprints computed exactly as the analyzer computes them (analyzer/cluster.h).

The terminal names a failure cluster by the first 6 hex digits of this fingerprint, so
"cluster 3f9a2c" on the terminal is the cluster whose fingerprint starts with 3f9a2c in the
report and the JSON summary. Input: the exception type and the frames as written into the
attempt record (already redacted). The analyzer may split a cluster further by the stack of
the attempt's last blocking call (traces); the terminal does not know about that split.
"""
import re

FP_FRAMES = 5
SHORT = 6

_HEX = re.compile(r"0[xX][0-9a-fA-F]+")
_WS_HEX = re.compile(r"[ \t\r\n]*0[xX][0-9a-fA-F]+")
_WS = re.compile(r"[ \t\r\n]+")

_FNV_OFFSET = 0xcbf29ce484222325
_FNV_PRIME = 0x100000001b3
_MASK = (1 << 64) - 1


def _clean(s, squash):
    """put_clean(): hex literals become "0x"; with squash, whitespace runs become one space,
    leading and trailing whitespace go, and whitespace right before a hex literal goes too."""
    if not squash:
        return _HEX.sub("0x", s)
    s = _WS_HEX.sub("0x", s.lstrip(" \t\r\n"))
    return _WS.sub(" ", s).rstrip(" \t\r\n") if s else s


def _after_last(s, needle):
    i = s.rfind(needle)
    return None if i < 0 else s[i + len(needle):]


def norm_path(path, rootdir):
    """fingerprint_path()."""
    p = (path or "").replace("\\", "/")
    done = False
    if rootdir:
        r = rootdir
        while len(r) > 1 and r.endswith("/"):
            r = r[:-1]
        if p.startswith(r) and p[len(r):len(r) + 1] == "/":
            p, done = p[len(r) + 1:], True
    if not done:
        rest = _after_last(p, "/site-packages/")
        if rest is None:
            rest = _after_last(p, "/dist-packages/")
        if rest is not None:
            p, done = rest, True
    prefix = ""
    if not done:
        rest = _after_last(p, "/lib/python")
        if rest is not None and "/" in rest:
            prefix, p, done = "python/", rest[rest.index("/") + 1:], True
    if not done and p.startswith("/"):
        last = p.rfind("/")
        q = p.rfind("/", 0, last) + 1 if last > 0 else last
        p = p[q:] if q > 0 else p[last + 1:]
    while p.startswith("./"):
        p = p[2:]
    p = p.lstrip("/")
    return prefix + _clean(p, False)


def fnv64(data):
    h = _FNV_OFFSET
    for b in data:
        h = ((h ^ b) * _FNV_PRIME) & _MASK
    return h


def fingerprint(error_type, frames, rootdir):
    """12 hex digits, as fingerprint_make() in analyzer/cluster.c."""
    parts = [_clean(error_type or "", True), "\0"]
    for f in frames[-FP_FRAMES:]:
        parts.append(norm_path(f.get("path"), rootdir))
        parts.append("\0")
        parts.append(_clean(f.get("function") or "", False))
        parts.append("\0")
        src = _clean(f["source"], True) if f.get("source") else ""
        parts.append(src if src else str(f.get("line") or 0))
        parts.append("\0")
    h = fnv64("".join(parts).encode("utf-8", "surrogateescape"))
    return f"{h >> 16:012x}"
