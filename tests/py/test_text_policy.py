# SPDX-License-Identifier: MIT
"""The text policy (docs/FORMATS.md, "Text") through real sessions: test ids and failure
messages holding lone surrogates, NUL and bidi controls, and traced file names that are not
UTF-8, reach the report, the JSON summary and the history as valid UTF-8, with and without
xdist; NUL never merges two tests; bidi controls are shown, not obeyed, in the HTML."""
import json
import os
import pathlib
import subprocess

import pytest

PYTHON = "/usr/bin/python3"
ROOT = pathlib.Path(__file__).resolve().parents[2]
LIB = pathlib.Path(os.environ.get("FH_LIB", ROOT / "build" / "libfhtrace.so"))

SUITE = r'''
import os, socket, time
import pytest

BAD = "caf\udce9 nul\x00x rlo\u202eevil lri\u2066x\u2069 lrm\u200e end"

@pytest.mark.parametrize("x", ["caf\udce9", "nul\x00x", "nulx", "bidi\u202eevil", "plain"])
def test_text(x):
    raise AssertionError("message " + x + " | " + BAD)

def test_path(tmp_path):
    # a file name that is not UTF-8, seen by the preload in its trace
    base = os.fsencode(str(tmp_path))
    s = socket.socket(socket.AF_UNIX)
    try:
        s.connect(base + b"/so\xe9ck")
    except OSError:
        pass
    s.close()
    raise AssertionError("path " + os.fsdecode(base + b"/caf\xe9"))
'''
BIDI = ["\u202a", "\u202b", "\u202c", "\u202d", "\u202e", "\u2066", "\u2067", "\u2068",
        "\u2069", "\u200e", "\u200f"]


def strict_text(path):
    """The file's text; fails when it is not valid UTF-8."""
    return pathlib.Path(path).read_bytes().decode("utf-8", "strict")


@pytest.mark.parametrize("xdist", [False, True], ids=["plain", "xdist"])
def test_hostile_text_reaches_every_output_as_utf8(tmp_path, fh_env, xdist):
    proj = tmp_path / "proj"
    proj.mkdir()
    (proj / "test_text.py").write_text(SUITE, encoding="utf-8", errors="surrogateescape")
    (proj / "pytest.ini").write_text("[pytest]\n")
    if not xdist:
        # the node ids hold the raw characters (xdist itself cannot send such ids to its
        # controller: the README says so); with xdist pytest's escaped ids are used
        (proj / "pytest.ini").write_text(
            "[pytest]\ndisable_test_id_escaping_and_forfeit_all_rights_to_community_support"
            " = true\n")
    env = dict(fh_env, LD_PRELOAD=str(LIB))
    argv = [PYTHON, "-m", "pytest", "-p", "pytest_flakehunter", "-p", "no:cacheprovider",
            "--fh", "--fh-runs", "3", f"--fh-report={tmp_path / 'r.html'}",
            f"--fh-history-dir={tmp_path / 'hist'}", f"--fh-run-dir={tmp_path / 'run'}",
            "-q", "-p", "no:randomly"]
    if xdist:
        argv += ["-n", "2"]
    p = subprocess.run(argv, cwd=proj, env=env, capture_output=True, timeout=300)
    out = p.stdout.decode("utf-8", "replace") + p.stderr.decode("utf-8", "replace")
    assert "INTERNALERROR" not in out, out[-4000:]
    assert p.returncode == 1, out[-4000:]
    # every record is UTF-8 JSON
    recs = []
    for f in (tmp_path / "run").glob("attempts-*.jsonl"):
        recs += [json.loads(line) for line in strict_text(f).splitlines()]
    assert len(recs) == 6 * 3
    for r in recs:
        # valid Unicode too: no lone surrogate escape (\udce9), which other readers refuse
        json.dumps(r, ensure_ascii=False).encode("utf-8")
    json.loads(strict_text(tmp_path / "run" / "meta.json"))
    summary = json.loads(strict_text(tmp_path / "r.json"))
    assert summary["totals"]["malformed_records"] == 0
    tests = {t["nodeid"]: t for t in summary["tests"]}
    # six tests, none merged with another (the NUL one stays apart from "nulx")
    assert len(tests) == 6 and all(t["attempts"] == 3 for t in tests.values()), list(tests)
    ids = sorted(tests)
    if xdist:
        assert "test_text.py::test_text[caf\\udce9]" in ids and \
            "test_text.py::test_text[nul\\x00x]" in ids
    else:
        assert "test_text.py::test_text[caf\\xE9]" in ids, ids
        assert "test_text.py::test_text[nul\\x00x]" in ids, ids
        assert "test_text.py::test_text[bidi\u202eevil]" in ids
    msg = tests["test_text.py::test_text[plain]"]["attempt_log"][0]["message"]
    assert msg == ("message plain | caf\\xE9 nul\\x00x rlo\u202eevil lri\u2066x\u2069 "
                   "lrm\u200e end"), msg
    # the traced file name that is not UTF-8: its byte as \xE9
    raw = strict_text(tmp_path / "r.json")
    assert "so\\\\xE9ck" in raw, "the traced path is missing"
    assert "\\\\xE9" in json.dumps(tests["test_text.py::test_path"]["attempt_log"][0]["message"])
    # the HTML: UTF-8, bidi controls shown as codes, never raw
    html = strict_text(tmp_path / "r.html")
    assert not [c for c in BIDI if c in html], [hex(ord(c)) for c in BIDI if c in html]
    assert "rlo\\u202Eevil" in html and "lri\\u2066x\\u2069" in html
    assert "caf\\xE9" in html
    # the history: UTF-8 CSV
    files = list((tmp_path / "hist").glob("*.csv"))
    assert len(files) == 6
    for f in files:
        strict_text(f)


def test_analyzer_turns_hostile_records_into_utf8(tmp_path, fh_env):
    # Records from another writer: raw bytes that are not UTF-8, a NUL escape in a node id, a
    # lone surrogate escape (what this plugin wrote before the text policy): all accepted, none
    # merged, and every output valid UTF-8.
    run = tmp_path / "run"
    run.mkdir()
    (run / "meta.json").write_text('{"run_id": "T1"}\n')

    def rec(nodeid_json, msg_json, attempt):
        return (b'{"v":1,"nodeid":' + nodeid_json + b',"attempt":' + str(attempt).encode() +
                b',"runs":2,"outcome":"failed","when":"call","error":{"type":"E","message":' +
                msg_json + b'},"frames":[]}\n')
    lines = b""
    for a in (1, 2):
        lines += rec(b'"t.py::test_raw[caf\xe9]"', b'"raw \xe9\xff bytes \xe2\x80\xaebidi"', a)
        lines += rec(b'"t.py::test_nul[a\\u0000b]"', b'"nul \\u0000 here"', a)
        lines += rec(b'"t.py::test_nul[a]"', b'"no nul"', a)
        lines += rec(b'"t.py::test_sur[caf\\udce9]"', b'"lone \\udce9 and \\ud800 pair '
                     b'\\ud83d\\ude00 kept \\\\udce9 text"', a)
    (run / "attempts-1.jsonl").write_bytes(lines)
    hist = tmp_path / "hist"
    p = subprocess.run([fh_env["FH_ANALYZE"], "report", str(run), "--out", str(tmp_path / "r.html"),
                        "--history-dir", str(hist)], capture_output=True, timeout=120)
    assert p.returncode == 0, p.stderr
    assert b"skipped" not in p.stderr, p.stderr
    term = p.stdout.decode("utf-8")   # the terminal summary is text too
    assert "t.py::test_raw[caf\\xE9]" in term and "t.py::test_nul[a\\x00b]" in term, term
    s = json.loads(strict_text(tmp_path / "r.json"))
    tests = {t["nodeid"]: t for t in s["tests"]}
    assert sorted(tests) == ["t.py::test_nul[a\\x00b]", "t.py::test_nul[a]",
                             "t.py::test_raw[caf\\xE9]", "t.py::test_sur[caf\\xE9]"], list(tests)
    assert all(t["attempts"] == 2 for t in tests.values())
    m = {k: t["attempt_log"][0]["message"] for k, t in tests.items()}
    assert m["t.py::test_raw[caf\\xE9]"] == "raw \\xE9\\xFF bytes \u202ebidi"
    assert m["t.py::test_nul[a\\x00b]"] == "nul \\x00 here"
    assert m["t.py::test_sur[caf\\xE9]"] == "lone \\xE9 and \ufffd pair \U0001F600 kept \\udce9 text"
    html = strict_text(tmp_path / "r.html")
    assert "\u202e" not in html and "\\u202Ebidi" in html
    for f in hist.glob("*.csv"):
        strict_text(f)
    assert len(list(hist.glob("*.csv"))) == 4
