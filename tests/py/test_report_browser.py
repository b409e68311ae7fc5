# SPDX-License-Identifier: MIT
"""The report in Debian's headless Chromium: hostile test names and messages execute no script
(the page's own script runs under the CSP, the title and DOM markers stay as written), light
and dark screenshots are written under tmp_path, and the 1,000 x 100 report finishes loading
with every view in place."""
import json
import os
import re

import pytest

import fh_report as R

TITLE = "flakehunter report — 20261123T222031Z-abc123"


def check_dom_untouched(dom, title):
    root = R.parse(dom)
    html = root.find("html")
    assert "js" in html.cls(), "the page's own script did not run (CSP hash?)"
    assert root.find("title").text() == title
    body = root.find("body")
    assert body.attrs.get("data-fh") == "report" and "data-pwned" not in body.attrs
    assert root.find_all("img") == [] and root.find_all("iframe") == []
    assert "pwned" not in title
    return root


def test_hostile_fixture_runs_no_data_script(tmp_path, chromium):
    reports = R.fixture_reports(tmp_path)
    dom, log = R.chromium(chromium, reports["full"].resolve().as_uri() + "#t2", "--dump-dom", want_log=True)
    root = check_dom_untouched(dom, TITLE)
    # No script error and nothing the CSP had to refuse: no data ever became markup.
    assert not re.search(r"Uncaught|Refused to|Content Security Policy", log), log[-2000:]
    assert "open" in next(c for c in root.find_all("details") if c.attrs.get("id") == "t2").attrs
    names = [c.attrs["data-name"] for c in root.find_all("details") if "card" in c.cls()]
    assert "tests/test_x.py::test_x[<script>alert(1)</script>]" in names
    assert "</script><img src=x onerror=alert(1)>" in root.text()
    assert "6 of 6 tests shown" in root.text()
    # The only executable script is the page's; the data's <script> stayed text.
    assert len([s for s in root.find_all("script") if s.attrs.get("type") != "application/json"]) == 1
    for dark in (False, True):
        png = tmp_path / f"report-{'dark' if dark else 'light'}.png"
        R.screenshot(chromium, reports["full"], png, dark=dark, fragment="#open=t2")
        assert png.exists()


def test_works_with_javascript_off(tmp_path, chromium):
    reports = R.fixture_reports(tmp_path)
    # Without the script everything is in the page already: expanding is <details>, hiding
    # stable tests a CSS rule on a checkbox, and (small run) the attempt logs are complete.
    root = R.parse(reports["full"])
    cards = [c for c in root.find_all("details") if "card" in c.cls()]
    assert len(cards) == 6 and all(c.find("summary") is not None for c in cards)
    for c in cards:
        table = c.find("table", "alog")
        assert "data-lazy" not in table.attrs and len(table.find("tbody").find_all("tr")) == 10
    assert ".hs:checked ~ #cards .v-stable" in root.find("style").text()
    assert root.find("input").attrs.get("type") == "checkbox"
    # The same page with its script removed, as a browser with JavaScript off shows it.
    raw = reports["full"].read_text(encoding="utf-8")
    cut = raw.rindex("<script>")
    nojs = tmp_path / "nojs.html"
    nojs.write_text(raw[:cut] + raw[raw.index("</script>", cut) + len("</script>"):], encoding="utf-8")
    dom = R.parse(R.dump_dom(chromium, nojs))
    assert "js" not in dom.find("html").cls() and "tests shown" not in dom.text()
    assert len([c for c in dom.find_all("details") if "card" in c.cls()]) == 6
    R.screenshot(chromium, nojs, tmp_path / "nojs.png", size="1400,1200")


def test_demo_run_with_hostile_names_in_chromium(tmp_path, chromium, fh_paths):
    """The real path: pytest --fh under the preload, the plugin, fh-analyze, Chromium."""
    html = R.demo_run(tmp_path / "demo", fh_paths["lib"])
    summary = json.loads(html.with_suffix(".json").read_text())
    title = "flakehunter report — " + summary["run_id"]
    dom, log = R.chromium(chromium, html.resolve().as_uri() + "#open=t0,t1", "--dump-dom", want_log=True)
    root = check_dom_untouched(dom, title)
    assert not re.search(r"Uncaught|Refused to|Content Security Policy", log), log[-2000:]
    names = [c.attrs["data-name"] for c in root.find_all("details") if "card" in c.cls()]
    assert "test_hostile.py::test_x[<script>alert(1)</script>]" in names
    assert "</script><img src=x onerror=alert(1)>" in root.text()
    assert summary["tracing"] and any("timeout" in (t.get("diagnosis") or {}).get("kind", "")
                                      for t in summary["tests"])
    for dark in (False, True):
        R.screenshot(chromium, html, tmp_path / f"demo-{'dark' if dark else 'light'}.png", dark=dark,
                     fragment="#open=t0,t1")


def test_hostile_generated_run_in_chromium(tmp_path, chromium):
    run = R.gen_run(tmp_path / "run", tests=30, runs=10, fail_rate=0.2, hostile=True,
                    extra=["--run-id", "20261123T222031Z-abc123"])
    html, summary = R.analyze(run, tmp_path / "r.html")
    dom = R.dump_dom(chromium, html)
    root = check_dom_untouched(dom, TITLE)
    assert f"{len(summary['tests'])} of {len(summary['tests'])} tests shown" in root.text()
    R.screenshot(chromium, html, tmp_path / "generated.png", fragment="#open=t0,t1")


def test_big_report_finishes_loading(tmp_path, chromium):
    run = R.gen_run(tmp_path / "run", tests=1000, runs=100, fail_rate=0.05)
    html, summary = R.analyze(run, tmp_path / "big.html")
    assert html.stat().st_size < 10 * 1024 * 1024
    # Opening a card through the URL fragment shows what the page holds: the script draws
    # nothing, so a stable card has its scatter and its (failed-only) log as written.
    idx = next(i for i, t in enumerate(summary["tests"]) if t["verdict"] == "stable")
    dom = R.chromium(chromium, html.resolve().as_uri() + f"#t{idx}", "--dump-dom", timeout=300)
    root = R.parse(dom)
    assert "1000 of 1000 tests shown" in root.text()
    cards = [c for c in root.find_all("details") if "card" in c.cls()]
    assert len(cards) == 1000
    card = next(c for c in cards if c.attrs.get("id") == f"t{idx}")
    assert "open" in card.attrs
    sc = card.find("svg", "sc")
    assert sc is not None and "duration (s)" in sc.text()
    rows = card.find("table", "alog").find("tbody").find_all("tr")
    assert len(rows) == summary["tests"][idx]["failed"]


def test_filter_covers_the_rows_without_details(tmp_path, chromium):
    # A page over its size target lists its later tests one row each; the filter box (filled
    # here from the #q= link) hides the rows that do not match, as it hides cards.
    run = R.gen_run(tmp_path / "run", tests=3000, runs=2, fail_rate=0.2, seed=3)
    html, summary = R.analyze(run, tmp_path / "r.html", env=dict(os.environ, FH_REPORT_MAX_MB="1"))
    root = R.parse(html)
    rest = next(s for s in root.find_all("section") if s.attrs.get("id") == "rest")
    rows = rest.find("tbody").find_all("tr")
    cards = [c for c in root.find_all("details") if "card" in c.cls()]
    assert rows and cards
    # a needle that matches one row's test and no card's
    names = [c.attrs["data-name"] for c in cards]
    target = next(r.find("code").text() for r in rows
                  if not any(r.find("code").text() in n for n in names))
    needle = target.rsplit("::", 1)[1]
    matches = [n for n in [t["nodeid"] for t in summary["tests"]][:len(cards) + len(rows)]
               if needle.lower() in n.lower()]
    dom = R.parse(R.chromium(chromium, html.resolve().as_uri() + "#q=" + needle, "--dump-dom"))
    assert f"{len(matches)} of {len(cards) + len(rows)} tests shown" in dom.text()
    rest = next(s for s in dom.find_all("section") if s.attrs.get("id") == "rest")
    shown = [r.find("code").text() for r in rest.find("tbody").find_all("tr")
             if "hidden" not in r.attrs]
    assert target in shown and all(needle.lower() in n.lower() for n in shown), shown[:5]
