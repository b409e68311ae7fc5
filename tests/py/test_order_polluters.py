# SPDX-License-Identifier: MIT
"""Order-dependent tests through the real path: a suite with a polluter per kind of leftover
state, hunted with --fh-order=rounds under the real preload, diagnosed by the real analyzer,
confirmed by real replays (fresh pytest processes), and each `repro` command run through a
shell: a file left behind, an environment variable (with a victim whose parameter id needs
quoting), the working directory, a leaked thread, a listening port, a module-level registry
(Python-only: found by bisection) and a state-setter. Neutral tests in every file are never
named. Also: a replay that hangs is stopped at its bound and inconclusive; --fh-no-confirm."""
import json
import os
import socket
import subprocess
import sys

import pytest

from conftest import ROOT
from fh_diag import run_fh

sys.path.insert(0, str(ROOT / "plugin"))
from pytest_flakehunter import order  # noqa: E402


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


FILES = {
    "registry.py": "REG = []\n",
    "data.txt": "x\n",
    "test_s_file.py": """
        import os
        CACHE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "cache.json")
        def test_a_writes_cache():
            with open(CACHE, "w") as f:
                f.write("{}")
        def test_b_expects_no_cache():
            assert not os.path.exists(CACHE)
        def test_neutral_file():
            assert 1
    """,
    "test_s_env.py": """
        import os, pytest
        def test_c_sets_mode():
            os.environ["FH_APP_MODE"] = "maintenance"
        def test_d_reads_mode():
            assert os.environ.get("FH_APP_MODE", "normal") == "normal"
        @pytest.mark.parametrize("v", [pytest.param(1, id="it's a [weird] \\u00e9 id")])
        def test_d2_reads_mode(v):
            assert os.environ.get("FH_APP_MODE", "normal") == "normal"
        def test_neutral_env():
            pass
    """,
    "test_s_cwd.py": """
        import os
        HERE = os.path.dirname(os.path.abspath(__file__))
        def test_e_chdir():
            os.chdir(os.path.join(HERE, "elsewhere"))
        def test_f_relative():
            with open("data.txt") as f:
                assert f.read().strip() == "x"
        def test_neutral_cwd():
            pass
    """,
    "test_s_thread.py": """
        import threading
        EVT = threading.Event()
        def test_g_leaks_thread():
            threading.Thread(target=EVT.wait, name="leaky-worker", daemon=True).start()
        def test_h_counts_threads():
            assert threading.active_count() == 1
        def test_neutral_thread():
            pass
    """,
    "test_s_port.py": """
        import os, socket
        PORT = int(os.environ["FH_SCEN_PORT"])
        HELD = []
        def test_i_listens():
            s = socket.socket()
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind(("127.0.0.1", PORT))
            s.listen()
            HELD.append(s)
        def test_j_binds():
            s = socket.socket()
            try:
                s.bind(("127.0.0.1", PORT))
            finally:
                s.close()
        def test_neutral_port():
            pass
    """,
    "test_s_registry.py": """
        import registry
        def test_k_registers():
            registry.REG.append("plugin-x")
        def test_l_expects_empty():
            assert registry.REG == []
        def test_neutral_registry():
            pass
    """,
    "test_s_setter.py": """
        import os
        def test_m_configures():
            os.environ["FH_APP_CONFIGURED"] = "1"
        def test_n_needs_config():
            assert os.environ.get("FH_APP_CONFIGURED") == "1"
        def test_neutral_setter():
            pass
    """,
}

# victim -> (polluter, role, found_by)
EXPECTED = {
    "test_s_file.py::test_b_expects_no_cache": ("test_s_file.py::test_a_writes_cache",
                                                 "polluter", "footprint"),
    "test_s_env.py::test_d_reads_mode": ("test_s_env.py::test_c_sets_mode", "polluter",
                                          "footprint"),
    "test_s_env.py::test_d2_reads_mode[it's a [weird] \\xe9 id]": (
        "test_s_env.py::test_c_sets_mode", "polluter", "footprint"),
    "test_s_cwd.py::test_f_relative": ("test_s_cwd.py::test_e_chdir", "polluter", "footprint"),
    "test_s_thread.py::test_h_counts_threads": ("test_s_thread.py::test_g_leaks_thread",
                                                 "polluter", "footprint"),
    "test_s_port.py::test_j_binds": ("test_s_port.py::test_i_listens", "polluter", "footprint"),
    "test_s_registry.py::test_l_expects_empty": ("test_s_registry.py::test_k_registers",
                                                  "polluter", "bisection"),
    "test_s_setter.py::test_n_needs_config": ("test_s_setter.py::test_m_configures",
                                               "state-setter", "footprint"),
}


class _Module:
    def __init__(self, nodeid):
        self.nodeid = nodeid
        self.parent = None


class _Item:
    def __init__(self, nodeid, parent):
        self.nodeid = nodeid
        self.parent = parent

    def __hash__(self):
        return hash(self.nodeid)


def seed_with_victims_first(nodeids, pairs):
    """A seed whose first round runs every victim before its polluter (so that each victim
    passes once, then fails: flaky, not broken), computed with the plugin's own shuffle."""
    mods = {}
    items = [_Item(n, mods.setdefault(n.split("::")[0], _Module(n.split("::")[0])))
             for n in nodeids]
    for seed in range(1, 20000):
        o = [i.nodeid for i in order.round_order(items, seed, 1)]
        if all(o.index(v) < o.index(p) for v, p in pairs):
            return seed
    raise AssertionError("no seed found")


def _nodeids():
    import re
    out = []
    for name, src in FILES.items():
        if not name.startswith("test_"):
            continue
        for fn in re.findall(r"^\s*def (test_\w+)\(", src, re.M):
            if fn == "test_d2_reads_mode":
                out.append(f"{name}::{fn}[it's a [weird] \\xe9 id]")
            else:
                out.append(f"{name}::{fn}")
    return out


def _hunt(tmp_path, monkeypatch, *extra, runs=4):
    monkeypatch.setenv("FH_SCEN_PORT", str(free_port()))
    (tmp_path / "suite" / "elsewhere").mkdir(parents=True)
    pairs = [(v, p) for v, (p, _, _) in EXPECTED.items()]
    seed = seed_with_victims_first(_nodeids(), pairs)
    r = run_fh(tmp_path, FILES, "--fh-order=rounds", f"--fh-seed={seed}", *extra, runs=runs,
               timeout=400)
    return r, seed


def test_polluters_named_confirmed_and_reproduced(tmp_path, monkeypatch):
    r, seed = _hunt(tmp_path, monkeypatch)
    s = r.summary
    assert s["order"] == {"mode": "rounds", "seed": seed}
    out = r.proc.stdout
    assert "confirmed, 0 refuted" in out or "confirmed," in out, out[-3000:]
    named = set()
    for victim, (pol, role, found_by) in EXPECTED.items():
        t = [x for x in s["tests"] if x["nodeid"] == victim]
        assert t, (victim, [x["nodeid"] for x in s["tests"]])
        t = t[0]
        assert t["verdict"] == "flaky", (victim, t["verdict"])
        d = t["diagnosis"]
        assert d["kind"] == "order", (victim, d["kind"], d["summary"], d["evidence"])
        best = [p for p in d["polluters"] if p["confirmed"] is True]
        assert best and best[0]["nodeid"] == pol, (victim, d["polluters"])
        assert best[0]["role"] == role and best[0]["found_by"] == found_by, best[0]
        assert pol in d["summary"]
        if found_by == "bisection":
            assert "bisection" in d["summary"] and "Python-only" in d["summary"]
        for p in d["polluters"]:
            named.add(p["nodeid"])
        # the repro command fails when run through a shell, as pasted
        repro = best[0]["repro"]
        assert repro and "-p no:randomly" in repro
        env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1")
        env.pop("LD_PRELOAD", None)
        if found_by != "bisection":
            for leftover in ("cache.json",):
                try:
                    os.unlink(tmp_path / "suite" / leftover)
                except OSError:
                    pass
        p = subprocess.run(["bash", "-c", repro + " -p no:cacheprovider -rA"],
                           cwd=tmp_path / "suite", env=env, capture_output=True, text=True,
                           timeout=120)
        assert p.returncode == 1, (repro, p.stdout[-2000:])
        assert f"FAILED {victim}" in p.stdout, (victim, p.stdout[-2000:])
        # the attempts' rounds and who ran before
        for a in t["attempt_log"]:
            assert a["round"] == a["attempt"] and a["position"] >= 1
    # neutral tests are never named, in any diagnosis or the report's polluter list
    assert not any("neutral" in n for n in named), named
    for t in s["tests"]:
        if "neutral" in t["nodeid"]:
            assert t["verdict"] == "stable"
        for p in (t["diagnosis"] or {}).get("polluters", []):
            assert "neutral" not in p["nodeid"]
    # a test whose own leftovers explain its failures stays `state`, with footprint evidence
    t = [x for x in s["tests"] if x["nodeid"] == "test_s_port.py::test_i_listens"][0]
    assert t["diagnosis"]["kind"] == "state", t["diagnosis"]
    assert any("more open fd" in e for e in t["diagnosis"]["evidence"]), t["diagnosis"]
    html = (tmp_path / "report.html").read_text()
    assert "<h2>Polluters</h2>" in html and "Who ran before" in html
    sect = html.split("<h2>Polluters</h2>", 1)[1].split("</section>", 1)[0]
    assert "neutral" not in sect and "test_a_writes_cache" in sect
    # the footprint is in the JSON: what the polluters left behind
    a = [x for x in s["tests"] if x["nodeid"] == "test_s_file.py::test_a_writes_cache"][0]
    left = a["attempt_log"][0]["trace"]["footprint"]["left"]
    assert any(x["kind"] == "file" and x["key"].endswith("/cache.json") and
               x["what"] == "created" for x in left), left
    rd = list((tmp_path / "suite" / ".flakehunter" / "runs").iterdir())[0]
    cands = json.loads((rd / "candidates.json").read_text())
    assert {v["nodeid"] for v in cands["victims"]} >= set(EXPECTED)
    rep = json.loads((rd / "replay.json").read_text())
    assert rep["schema"] == "flakehunter-replay/1" and rep["confirm"] == 2


def test_no_confirm_and_hanging_replay(tmp_path, monkeypatch):
    files = {
        "test_h.py": """
            import os, time
            def test_p_sets():
                if os.environ.get("FH_REPLAY") == "1":
                    time.sleep(600)          # a replay that hangs
                os.environ["FH_HANG_MODE"] = "x"
            def test_v_reads():
                assert "FH_HANG_MODE" not in os.environ
            def test_neutral():
                pass
        """,
    }
    nodeids = ["test_h.py::test_p_sets", "test_h.py::test_v_reads", "test_h.py::test_neutral"]
    seed = seed_with_victims_first(nodeids, [("test_h.py::test_v_reads",
                                              "test_h.py::test_p_sets")])
    r = run_fh(tmp_path, files, "--fh-order=rounds", f"--fh-seed={seed}", "--fh-no-confirm",
               runs=3)
    d = r.diag("::test_v_reads")
    assert d["kind"] == "order"
    assert [p["nodeid"] for p in d["polluters"]] == ["test_h.py::test_p_sets"]
    assert d["polluters"][0]["confirmed"] is None and "not confirmed" in d["summary"]
    rd = list((tmp_path / "suite" / ".flakehunter" / "runs").iterdir())
    assert not (rd[0] / "replay.json").exists()
    # with replays: the hanging one is stopped at its bound and is inconclusive
    monkeypatch.setenv("FH_REPLAY_PROC_S", "3")
    r = run_fh(tmp_path, files, "--fh-order=rounds", f"--fh-seed={seed}", "--fh-confirm=1",
               runs=3, timeout=120)
    d = r.diag("::test_v_reads")
    p = d["polluters"][0]
    assert p["confirmed"] is None and "ran out of time" in p["replay"], p
    assert d["kind"] == "order"
    assert "inconclusive" in r.proc.stdout
    # replay.json is hostile input to the analyzer: garbage is ignored with one warning line
    # (the second run's rootdir is tmp_path: pytest counts the existing report path as an arg)
    rd = [p.parent for p in tmp_path.glob("**/.flakehunter/runs/*/replay.json")]
    assert len(rd) == 1, rd
    rd = rd[0]
    (rd / "replay.json").write_text('{"results": "nope"')
    from conftest import FH_ANALYZE
    out = tmp_path / "again.html"
    p = subprocess.run([str(FH_ANALYZE), "report", str(rd), "--out", str(out), "--no-history"],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    assert "replay.json: not a replay document; replay results ignored" in p.stderr
    again = json.loads(out.with_suffix(".json").read_text())
    t = [x for x in again["tests"] if x["nodeid"].endswith("::test_v_reads")][0]
    assert t["diagnosis"]["polluters"][0]["confirmed"] is None
