# SPDX-License-Identifier: MIT
"""The report and the diagnosis read the same per-attempt features: on the real demo run (the
demo suite under real pytest, the real preload and the real analyzer) the failure commonality
heatmap's "blocked on" rows name, for every failed attempt, the class the JSON summary gives it
(trace.blocked_on), and for a timeout the class the diagnosis names."""
import json
import os
import re
import shutil
import subprocess

import fh_report as R
from conftest import FH_ANALYZE, FH_LIB, ROOT

CLASSES = {"net", "dns", "sleep", "lock", "proc", "file", "other"}
# report/heatmap.c geometry: label width, the share column, the cell width.
X0, CW = 360 + 48, 18


def run_demo(work):
    shutil.copytree(ROOT / "demo" / "suite", work)
    html = work / "flakehunter_report.html"
    env = dict(os.environ, LD_PRELOAD=str(FH_LIB), FH_ANALYZE=str(FH_ANALYZE), HOME=str(work),
               PYTHONDONTWRITEBYTECODE="1", PYTHONPATH=str(ROOT / "plugin"))
    env.pop("FH_TRACE_DIR", None)
    subprocess.run(["/usr/bin/python3", "-m", "pytest", "-p", "pytest_flakehunter", "-p",
                    "no:cacheprovider", "-q", "--fh", "--fh-runs", "6", "--fh-report", str(html),
                    "--fh-no-history", "."], cwd=work, env=env, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL, timeout=300)
    assert html.exists(), "the demo run wrote no report"
    return html, json.loads(html.with_suffix(".json").read_text())


def heat_rows(card, group):
    """{row label: set of attempt numbers with a filled cell} of one group of the card's
    current-run heatmap, read from the drawing (columns are failed attempts by number)."""
    svg = card.find("section", "heatmaps").find_all("svg", "heat")[0]
    cols, rows, cur, label = [], {}, None, None
    for n in svg.iter():
        if n.tag == "text" and n.attrs.get("y") == "14" and n.attrs.get("text-anchor") == "middle":
            cols.append(int(n.text()))
        elif n.tag == "text" and n.attrs.get("font-weight") == "600":
            cur = n.text()
        elif n.tag == "text" and n.attrs.get("x") == "10" and "lab" in n.cls():
            label = n.text()
        elif n.tag == "path" and "on" in n.cls() and cur == group:
            xs = [int(x) for x in re.findall(r"M(\d+) \d+h", n.attrs["d"])]
            rows[label] = {cols[(x - 1 - X0) // CW] for x in xs}
    return rows


def test_heatmap_blocked_on_is_the_diagnosis_class(tmp_path):
    html, summary = run_demo(tmp_path / "demo")
    cards = {c.attrs["data-name"]: c for c in R.parse(html).find_all("details") if "card" in c.cls()}
    checked_timeout = 0
    for t in summary["tests"]:
        failing = [a for a in t["attempt_log"] if a["outcome"] in ("failed", "error")]
        if not failing:
            continue
        rows = heat_rows(cards[t["nodeid"]], "blocked on")
        assert set(rows) <= CLASSES, (t["nodeid"], rows)   # classes, never a category ("poll")
        shown = set().union(*rows.values()) if rows else set()
        for a in failing[:40]:
            want = (a.get("trace") or {}).get("blocked_on")
            got = [k for k, v in rows.items() if a["attempt"] in v]
            assert got == ([want] if want else []), (t["nodeid"], a["attempt"], want, rows)
        d = t["diagnosis"]
        if d["kind"] == "timeout":
            ran_out = [a for a in failing if a["trace"] and a["trace"]["last_block"] and
                       a["trace"]["last_block"]["ended"] in ("timeout", "signal")]
            assert ran_out and d["blocked_on"] in rows, (t["nodeid"], d, rows)
            assert {a["attempt"] for a in ran_out if a["attempt"] in shown} <= rows[d["blocked_on"]]
            for a in ran_out:
                assert a["trace"]["blocked_on"] == d["blocked_on"], (t["nodeid"], a)
            checked_timeout += 1
    # The demo's timeouts: a poll on a socket (net, the case the heatmap once called "poll")
    # and a lock wait.
    kinds = {t["nodeid"].split("::")[0]: t["diagnosis"] for t in summary["tests"]}
    assert kinds["test_timeout.py"]["blocked_on"] == "net"
    assert kinds["test_lock.py"]["blocked_on"] == "lock"
    assert checked_timeout >= 2
