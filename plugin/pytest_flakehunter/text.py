# SPDX-License-Identifier: MIT
"""The plugin's side of the text policy (docs/FORMATS.md, "Text"): everything it writes is
valid UTF-8, and nothing it hands to execnet holds a lone surrogate.

Python text from the outside world can hold lone surrogates: os.fsdecode() and the file system
encoding keep a byte that is not UTF-8 as U+DC80-U+DCFF (surrogateescape), and a test can build
any string. JSON written with ensure_ascii escapes them as \\udcXX, which is not Unicode: the
analyzer (and most JSON readers) refuse it. Here such a character becomes the text \\xNN (the
byte it stands for, upper-case hex, as the analyzer shows bytes that are not UTF-8), any other
lone surrogate U+FFFD. NUL stays \\u0000 (valid JSON and Unicode: the records keep what the
test said); the analyzer, a C reader, shows it as the text \\x00 so it never ends a string.
"""
import re

# In ensure_ascii JSON text: an escaped backslash (skipped whole, so "\\\\udce9" stays text),
# a surrogate pair (kept), a lone surrogate escape (replaced).
_JSON_BAD = re.compile(r"\\\\|\\u[dD][89abAB][0-9a-fA-F]{2}\\u[dD][c-fC-F][0-9a-fA-F]{2}"
                       r"|\\u([dD][89a-fA-F][0-9a-fA-F]{2})")


def _json_fix(m):
    code = m.group(1)
    if code is None:
        return m.group(0)
    v = int(code, 16)
    if 0xDC80 <= v <= 0xDCFF:
        return "\\\\x%02X" % (v & 0xFF)
    return "\\ufffd"


def safe_json(text):
    """ensure_ascii JSON text with its lone surrogate escapes replaced (above)."""
    if "\\u" not in text:
        return text
    return _JSON_BAD.sub(_json_fix, text)


_STR_BAD = re.compile("[\ud800-\udfff]")


def _str_fix(m):
    v = ord(m.group(0))
    return "\\x%02X" % (v & 0xFF) if 0xDC80 <= v <= 0xDCFF else "\ufffd"


def safe_str(s):
    """s without lone surrogates (a str holds no surrogate pairs): U+DC80-U+DCFF as the text
    \\xNN, others U+FFFD. NUL is kept (it is valid UTF-8)."""
    try:
        s.encode("utf-8")
        return s
    except UnicodeEncodeError:
        return _STR_BAD.sub(_str_fix, s)


def _has_lone_surrogate(obj):
    """Whether any string in obj (dicts, lists, tuples) holds a lone surrogate. One loop, no
    recursion, ASCII strings skipped: every report an xdist worker sends goes through it."""
    stack = [obj]
    pop, push = stack.pop, stack.extend
    while stack:
        o = pop()
        t = type(o)
        if t is str:
            if not o.isascii():
                try:
                    o.encode("utf-8")
                except UnicodeEncodeError:
                    return True
        elif t is dict:
            push(o.keys())
            push(o.values())
        elif t is list or t is tuple:
            push(o)
    return False


def safe_data(obj):
    """obj (dicts, lists, tuples, strings, numbers: a serialized report) with safe_str applied
    to every string in it, keys too; the same object when nothing needed a change."""
    if not _has_lone_surrogate(obj):
        return obj
    return _rebuild(obj)


def _rebuild(obj):
    if isinstance(obj, str):
        return safe_str(obj)
    if isinstance(obj, dict):
        out = None
        for k, v in obj.items():
            k2, v2 = _rebuild(k), _rebuild(v)
            if out is None and (k2 is not k or v2 is not v):
                out = {}
                for k0, v0 in obj.items():
                    if k0 is k:
                        break
                    out[k0] = v0
            if out is not None:
                out[k2] = v2
        return obj if out is None else out
    if isinstance(obj, (list, tuple)):
        items = [_rebuild(x) for x in obj]
        if all(a is b for a, b in zip(items, obj)):
            return obj
        return type(obj)(items) if isinstance(obj, tuple) else items
    return obj
