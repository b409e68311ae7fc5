# SPDX-License-Identifier: MIT
"""The analyzer's layering rule (ARCHITECTURE.md, "Layers"), checked mechanically:

- each folder of C code includes only the headers of the layers it may use: core/ its own and
  the preload's trace format and call table; analyzer/ core's and its own; report/ core's and
  its own (it sees the model, not the stages); cli/ everything; preload/ only its own;
- the Makefile compiles each folder with exactly those include paths (so an include that
  breaks the rule does not even compile), and the tests of tests/c/core link neither libcurl
  nor libdw;
- no call of the call table is recognised by comparing its name as a string: what a call
  means comes from its flags in preload/calls.def (fhtrace_calls.h), one place.
"""
import os
import pathlib
import re
import subprocess

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
BUILD = pathlib.Path(os.environ.get("FH_BUILD", ROOT / "build"))

# The preload headers any layer may include: the trace format and the call table.
SHARED_PRELOAD = {"fhtrace_format.h", "fhtrace_calls.h", "calls.def"}
# folder -> folders whose headers it may include
ALLOWED = {
    "core": {"core"},
    "analyzer": {"core", "analyzer"},
    "report": {"core", "report"},
    "cli": {"core", "analyzer", "report", "cli"},
    "preload": {"preload"},
}
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)


def headers():
    """header name -> the folder that has it (names are unique across folders)."""
    where = {}
    for folder in ALLOWED:
        for h in (ROOT / folder).glob("*.h"):
            assert h.name not in where, f"{h.name} in both {where[h.name]}/ and {folder}/"
            where[h.name] = folder
    where["calls.def"] = "preload"
    return where


def violations(where, root=ROOT):
    bad = []
    for folder, may in ALLOWED.items():
        for src in sorted((root / folder).glob("*.[ch]")):
            for name in INCLUDE.findall(src.read_text()):
                rel = f"{folder}/{src.name}"
                if "/" in name:
                    bad.append(f"{rel}: includes by path: {name}")
                    continue
                home = where.get(name)
                if home is None:
                    continue  # a generated header (build/gen) or a system one in quotes
                if home == folder or home in may:
                    continue
                if home == "preload" and name in SHARED_PRELOAD:
                    continue
                bad.append(f"{rel}: includes {home}/{name}")
    return bad


def test_each_layer_includes_only_what_it_may():
    assert violations(headers()) == []


def test_the_check_catches_an_upward_include(tmp_path):
    """The check fails when a core file includes an analyzer header (and report a stage's)."""
    for folder in ALLOWED:
        (tmp_path / folder).mkdir()
    (tmp_path / "core" / "x.c").write_text('#include "util.h"\n#include "evidence.h"\n')
    (tmp_path / "report" / "y.c").write_text('#include "stages.h"\n#include "fhtrace_int.h"\n')
    assert sorted(violations(headers(), tmp_path)) == ["core/x.c: includes analyzer/evidence.h",
                                         "report/y.c: includes analyzer/stages.h",
                                         "report/y.c: includes preload/fhtrace_int.h"]


def compile_line(obj):
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL")}
    r = subprocess.run(["make", "-n", "-B", "-C", str(ROOT), f"BUILD={BUILD}", str(BUILD / obj)],
                       capture_output=True, text=True, timeout=120, env=env)
    assert r.returncode == 0, r.stderr
    lines = [x for x in r.stdout.replace("\\\n", " ").splitlines() if " -c " in x and x.strip().endswith(str(BUILD / obj))]
    assert len(lines) == 1, r.stdout
    return lines[0]


@pytest.mark.parametrize("obj,want", [
    ("obj/core/util.o", {"core", "preload"}),
    ("obj/analyzer/evidence.o", {"core", "analyzer", "preload"}),
    ("obj/report/report.o", {"core", "report"}),
    ("obj/cli/main.o", {"core", "analyzer", "report", "preload"}),
])
def test_makefile_compiles_each_layer_with_its_include_paths(obj, want):
    line = compile_line(obj)
    got = set(re.findall(r"(?:^|\s)-I(\S+)", line))
    got = {g for g in got if not g.startswith("/")}  # package paths (pkg-config) aside
    assert got == want, line
    if obj.startswith("obj/report/") or obj.startswith("obj/core/"):
        assert "curl" not in line and "elfutils" not in line


def needed(binary):
    r = subprocess.run(["readelf", "-d", str(binary)], capture_output=True, text=True, check=True)
    return set(re.findall(r"Shared library: \[([^\]]+)\]", r.stdout))


def test_core_tests_link_neither_curl_nor_libdw():
    core_tests = [BUILD / "tests" / p.stem for p in (ROOT / "tests/c/core").glob("test_*.c")]
    assert core_tests
    for t in core_tests:
        if not t.exists():
            pytest.skip(f"{t} not built (make build-tests)")
        libs = needed(t)
        assert not any(x.startswith(("libcurl", "libdw", "libelf")) for x in libs), (t, libs)
    # ... while the tool itself has both (so the check can fail).
    tool = BUILD / "fh-analyze"
    if tool.exists():
        libs = needed(tool)
        assert any(x.startswith("libcurl") for x in libs) and any(x.startswith("libdw") for x in libs)


def call_names():
    text = (ROOT / "preload" / "calls.def").read_text()
    return set(re.findall(r"^FH_(?:CALL|CUSTOM)\((\w+),", text, re.M))


COMPARE = re.compile(r'\b(?:strn?cmp|streq|strcasecmp)\s*\(([^;{}]*)\)', re.S)


def name_comparisons(names, files, root=ROOT):
    found = []
    for src in files:
        text = src.read_text()
        for m in COMPARE.finditer(text):
            for lit in re.findall(r'"([A-Za-z0-9_]+)"', m.group(1)):
                if lit in names:
                    line = text.count("\n", 0, m.start()) + 1
                    found.append(f"{src.relative_to(root)}:{line}: {lit}")
    return found


def test_no_call_name_is_compared_as_a_string():
    names = call_names()
    assert {"connect", "poll", "recv", "nanosleep", "fork"} <= names
    files = [p for folder in ("core", "analyzer", "report", "cli")
             for p in sorted((ROOT / folder).glob("*.[ch]"))]
    assert name_comparisons(names, files) == []


def test_the_name_check_catches_a_comparison(tmp_path):
    src = tmp_path / "x.c"
    src.write_text('if (streq(e->call_name, "poll") || !strcmp(name,\n "connect"))\n')
    assert name_comparisons({"poll", "connect"}, [src], tmp_path) == ["x.c:1: poll", "x.c:1: connect"]


def test_comments_say_why_not_which_issue():
    """Comments and docs give reasons, not issue numbers (which say nothing to a reader)."""
    cite = re.compile(r"\bissues? #?\d+", re.I)
    found = []
    for folder in ("core", "analyzer", "report", "cli", "preload", "plugin", "tests", "docs",
                   "bench", "demo", "tools"):
        for src in sorted((ROOT / folder).rglob("*")):
            if src.suffix not in (".c", ".h", ".py", ".md", ".def", ".in", ".js", ".css",
                                  ".html", ".cpp") or "corpus" in src.parts:
                continue
            for n, line in enumerate(src.read_text(errors="replace").splitlines(), 1):
                if cite.search(line) and src.name != "test_layers.py":
                    found.append(f"{src.relative_to(ROOT)}:{n}: {line.strip()}")
    for doc in ("README.md", "ARCHITECTURE.md", "Makefile"):
        for n, line in enumerate((ROOT / doc).read_text().splitlines(), 1):
            if cite.search(line):
                found.append(f"{doc}:{n}: {line.strip()}")
    assert found == []
