# SPDX-License-Identifier: MIT
"""Memoized statement ranges for pytest's failure formatting (only with --fh).

pytest 7.2's traceback formatting calls `getstatementrange_ast` for every entry of every
failure it formats, and that parses the whole source file (`ast.parse`) and walks its tree
again each time: about 5 ms per failure for a 50-test module. A hunt formats the first failure
of every cluster of every test, so the same file is parsed over and over. This wraps the
function with a cache keyed by the file's text and the line: same inputs, same answer, parsed
once. Installed only when the function has the expected signature; otherwise pytest is left
alone.
"""
import inspect

MAX_FILES = 128


def install():
    try:
        from _pytest._code import code as code_mod
        from _pytest._code import source as source_mod
    except ImportError:
        return False
    orig = getattr(source_mod, "getstatementrange_ast", None)
    if orig is None or getattr(orig, "_fh_cached", False):
        return False
    try:
        params = list(inspect.signature(orig).parameters)
    except (TypeError, ValueError):
        return False
    if params != ["lineno", "source", "assertion", "astnode"]:
        return False
    files = {}

    def getstatementrange_ast(lineno, source, assertion=False, astnode=None):
        if astnode is not None:
            return orig(lineno, source, assertion, astnode)
        content = str(source)
        entry = files.get(content)
        if entry is None:
            if len(files) >= MAX_FILES:
                files.clear()
            entry = files[content] = {}
        key = (lineno, assertion)
        r = entry.get(key)
        if r is None:
            tree = next(iter(entry.values()))[0] if entry else None
            r = entry[key] = orig(lineno, source, assertion, tree)
        return r

    getstatementrange_ast._fh_cached = True
    source_mod.getstatementrange_ast = getstatementrange_ast
    if getattr(code_mod, "getstatementrange_ast", None) is orig:
        code_mod.getstatementrange_ast = getstatementrange_ast
    return True
