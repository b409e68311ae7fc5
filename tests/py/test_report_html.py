# SPDX-License-Identifier: MIT
"""The HTML report, parsed: every section README.md describes, on fixture runs (flaky, stable, broken,
parametrized; with and without history, traces, AI), escaping of hostile strings, no outside
resources, and the same through the real path (gen_run.py run dir -> fh-analyze report)."""
import json
import re

import pytest

import fh_report as R

HOSTILE_NAME = "test_x[<script>alert(1)</script>]"
HOSTILE_MSG = "</script><img src=x onerror=alert(1)>"


@pytest.fixture(scope="module")
def fixtures(tmp_path_factory):
    return R.fixture_reports(tmp_path_factory.mktemp("fixtures"))


def cards(root):
    return [d for d in root.find_all("details") if "card" in d.cls()]


def section_titles(card):
    return [h.text() for h in card.find_all("h3")]


def check_page(path):
    raw = path.read_text(encoding="utf-8")
    root = R.parse(raw)
    csp = [m for m in root.find_all("meta") if m.attrs.get("http-equiv") == "Content-Security-Policy"]
    assert len(csp) == 1
    policy = csp[0].attrs["content"]
    assert "default-src 'none'" in policy and re.search(r"script-src 'sha256-[A-Za-z0-9+/=]{44}'", policy)
    assert "unsafe-eval" not in policy and "script-src 'unsafe-inline'" not in policy
    assert R.external_urls(root, raw) == []
    scripts = root.find_all("script")
    runnable = [s for s in scripts if s.attrs.get("type") != "application/json"]
    assert len(runnable) == 1, "exactly one executable script: the page's own"
    return raw, root


def check_card_summary(card):
    summ = card.find("summary")
    assert summ is not None
    badge = summ.find("span", "badge")
    assert badge.text() in ("flaky", "stable", "broken", "skipped")
    assert "v-" + badge.text() in card.cls()
    assert re.search(r"95% CI \d", summ.find("small").text())
    counts = summ.find("span", "counts").text()
    assert re.search(r"\d+ passed · \d+ failed", counts)
    assert re.search(r"mean .+ · p95 ", summ.find("span", "durs").text())
    dots = summ.find("svg", "dots")
    assert dots is not None and dots.attrs.get("role") == "img"
    assert re.search(r"\d+ attempts in order: \d+ passed \(circles\), \d+ failed \(crosses\)",
                     dots.find("title").text())
    return badge.text()


def test_header_and_cards_on_full_fixture(fixtures):
    raw, root = check_page(fixtures["full"])
    header = root.find("header", "top")
    tiles = {t.find("span").text(): t.find("b").text() for t in header.find_all("div", "tile")}
    assert tiles["Tests analysed"] == "6" and tiles["Runs per test"] == "10"
    assert (tiles["Flaky"], tiles["Broken"], tiles["Stable"], tiles["Skipped"]) == \
        ("3", "1", "2", "0")
    assert tiles["Avg flake rate"].endswith("%")
    assert "test_fetch" in tiles["Worst offender"]
    meta = header.find("div", "meta").text()
    for word in ("started", "host", "git", "main", "tracing", "on"):
        assert word in meta
    cs = cards(root)
    verdicts = [check_card_summary(c) for c in cs]
    assert verdicts == ["broken", "flaky", "flaky", "flaky", "stable", "stable"]
    assert root.find("input").attrs["id"] == "hs"  # the hide-stable toggle
    assert any("Hide stable tests" in l.text() for l in root.find_all("label"))


def test_flaky_card_sections_with_traces_history_ai(fixtures):
    _, root = check_page(fixtures["full"])
    card = next(c for c in cards(root) if "test_fetch" in c.attrs["data-name"])
    titles = section_titles(card)
    for t in ("Diagnosis", "AI hypothesis", "Durations", "Failure commonality", "Attempt log (10 attempts)",
              "Historical trends", "Trace evidence"):
        assert any(x.startswith(t) for x in titles), (t, titles)
    assert any(x.startswith("Timeline") for x in titles)
    assert any(x.startswith("Failure clusters (2)") for x in titles)
    # Scatter: axes in seconds, passed circles and failed crosses as separate marks.
    sc = card.find("svg", "sc")
    assert "duration (s)" in sc.text() and "attempt" in sc.text()
    assert {p.attrs["class"] for p in sc.find_all("path") if p.attrs.get("class") in ("p", "f")} == {"p", "f"}
    # Attempt log: one row per attempt with outcome text and phase durations.
    rows = card.find("table", "alog").find("tbody").find_all("tr")
    assert len(rows) == 10
    assert sum("failed" in r.text() for r in rows) == 3
    # Clusters: count, fingerprint, frames with source lines, stack of the last block.
    cl = card.find("section", "clusters")
    assert "×" in cl.text() and "fingerprint" in cl.text() and "recv_exact" in cl.text()
    assert "return sock.recv(4096)" in cl.text()
    assert "__poll" in cl.text() and "libc.so.6" in cl.text()
    # Heatmaps: this run (duration, frames, trace rows) and past runs (host, branch, week).
    heat = card.find("section", "heatmaps")
    text = heat.text()
    for row in ("duration", "traceback frame", "failed call", "signal", "last wait ended", "blocked on",
                "host", "branch", "week"):
        assert row in text, row
    assert len(heat.find_all("svg", "heat")) == 2
    # Shares: failures at attempts 3, 6, 9 fail at net.py:10 (3 and 9) or net.py:11 (6).
    texts = [t.text() for t in heat.find_all("svg", "heat")[0].find_all("text")]
    assert texts[texts.index("app/net.py:10 in recv_exact") + 1] == "67%"
    assert texts[texts.index("app/net.py:11 in recv_exact") + 1] == "33%"
    assert texts[texts.index("tests/test_db.py:40 in test_fetch") + 1] == "100%"
    assert [t for t in texts if t.isdigit()][:3] == ["3", "6", "9"]  # columns: failed attempts
    # History: sparkline with direction, per run, by host/branch, params, locations.
    hist = card.find("section", "hist")
    ht = hist.text()
    assert "rising" in ht and hist.find("svg", "spark") is not None
    for h in ("Per run", "By host", "By branch", "Parameter sets that fail most", "Top failure locations"):
        assert h in ht
    # Trace evidence: last block with stack, signals, in-flight calls with stacks.
    ev = card.find("section", "trace-ev").text()
    assert "Last blocking call" in ev and "SIGALRM" in ev and "in flight" in ev
    assert "timeout" in ev
    # Timeline: lanes, bars with hover text, signal and failure point.
    tl = card.find("svg", "tl")
    assert "pytest main" in tl.text() and "failed at" in tl.text()
    assert card.find("path", "failat") is not None and card.find("path", "sig") is not None
    # A performance flake without failures: slow attempt next to a fast one, slow markers.
    perf = next(c for c in cards(root) if "test_slow_sometimes" in c.attrs["data-name"])
    assert "a slow attempt next to a fast one" in perf.text()
    assert "slow attempt #3" in perf.find("section", "timeline").text()
    assert perf.find("svg", "bars").find("path", "slow") is not None
    # Diagnosis above clusters; AI box marked as a model's hypothesis with the model name.
    body = "".join(section_titles(card))
    assert body.index("Diagnosis") < body.index("Failure clusters")
    ai = card.find("div", "ai")
    assert "model's hypothesis" in ai.text() and "claude-sonnet" in ai.text() and "redacted" in ai.text()


def test_broken_card_ai_failure_reason(fixtures):
    _, root = check_page(fixtures["traced"])
    card = cards(root)[0]
    assert card.attrs["data-name"].endswith("test_always")
    ai = card.find("div", "ai")
    assert "No hypothesis: HTTP 529 overloaded" in ai.text()
    assert "broken" in card.find("div", "diag").text()


def test_stable_and_parametrized_cards(fixtures):
    _, root = check_page(fixtures["history"])
    cs = {c.attrs["data-name"]: c for c in cards(root)}
    a1, b2 = cs["tests/test_p.py::test_p[a-1]"], cs["tests/test_p.py::test_p[b-2]"]
    assert "v-flaky" in a1.cls() and "v-stable" in b2.cls()
    assert b2.find("section", "clusters") is None and b2.find("svg", "sc") is not None
    perf = cs["tests/test_ok.py::test_slow_sometimes"].find("div", "perf")
    assert "getaddrinfo" in perf.text() and "#3" in perf.text()
    assert "+800 ms" in perf.text()
    assert "Parameter sets that fail most" in a1.text()


def test_plain_run_without_traces_or_history(fixtures):
    _, root = check_page(fixtures["plain"])
    note = root.find("p", "note")
    assert note.attrs.get("id") == "tracing-off" and "LD_PRELOAD" in note.text()
    for c in cards(root):
        assert c.find("svg", "tl") is None and c.find("svg", "bars") is None
        assert c.find("div", "ai") is None and c.find("section", "trace-ev") is None
        assert "Historical trends" not in c.text()
    assert "No earlier runs" in root.text()


def test_hostile_strings_render_as_text(fixtures):
    raw, root = check_page(fixtures["full"])
    assert root.find_all("img") == []
    names = [c.find("summary").find("code").text() for c in cards(root)]
    assert any(n.endswith(HOSTILE_NAME) for n in names)
    assert HOSTILE_MSG in root.text()
    assert "<script>document.title='pwned'</script>" in root.text()
    # The only script is the page's own: no data island for hostile text to escape from.
    assert [s.attrs.get("type") for s in root.find_all("script")] == [None]
    assert "onerror=alert" not in " ".join(str(n.attrs) for n in root.iter())


def test_real_path_generated_run(tmp_path):
    run = R.gen_run(tmp_path / "run", tests=40, runs=10, fail_rate=0.15, hostile=True)
    html, summary = R.analyze(run, tmp_path / "r.html")
    raw, root = check_page(html)
    cs = cards(root)
    assert len(cs) == len(summary["tests"])
    assert [c.attrs["data-name"] for c in cs] == [t["nodeid"] for t in summary["tests"]]
    verdicts = [check_card_summary(c) for c in cs]
    # Flaky and broken first.
    first_stable = verdicts.index("stable") if "stable" in verdicts else len(verdicts)
    assert all(v in ("stable", "skipped") for v in verdicts[first_stable:])
    # The header's tiles count every analysed test, the skipped ones too.
    tiles = {t.find("span").text(): t.find("b").text()
             for t in root.find("header", "top").find_all("div", "tile")}
    assert int(tiles["Skipped"]) == verdicts.count("skipped")
    assert sum(int(tiles[k]) for k in ("Flaky", "Broken", "Stable", "Skipped")) == \
        int(tiles["Tests analysed"]) == len(cs)
    assert root.find_all("img") == []
    assert any(HOSTILE_NAME in c.attrs["data-name"] for c in cs)
    for c, t in zip(cs, summary["tests"]):
        rows = c.find("table", "alog").find("tbody").find_all("tr")
        assert len(rows) == t["attempts"]
        if t["failed"]:
            assert c.find("section", "clusters") is not None
            assert c.find("svg", "heat") is not None


def test_real_path_history_appears_on_second_run(tmp_path):
    hist = tmp_path / "hist"
    for seed in (1, 2):
        run = R.gen_run(tmp_path / f"run{seed}", tests=12, runs=10, fail_rate=0.2, seed=seed,
                        extra=["--run-id", f"20261123T2220{seed:02d}Z-00000{seed}"])
        html, summary = R.analyze(run, tmp_path / f"r{seed}.html", history_dir=hist)
    _, root = check_page(html)
    flaky = [c for c in cards(root) if "v-flaky" in c.cls()]
    assert flaky
    for c in flaky:
        assert c.find("section", "hist") is not None
        assert "Historical trends" in c.text() and c.find("svg", "spark") is not None
        assert len(c.find_all("svg", "heat")) == 2


def test_big_run_cards(tmp_path):
    """A big run: one renderer, the C one, for every view. Each card's attempt log lists its
    failed attempts and says where the others are; each has its duration scatter with a mark
    per attempt; there is no data for a script to draw from."""
    run = R.gen_run(tmp_path / "run", tests=120, runs=50, fail_rate=0.05)
    html, summary = R.analyze(run, tmp_path / "r.html")
    raw, root = check_page(html)
    assert "application/json" not in raw
    for c, t in zip(cards(root), summary["tests"]):
        rows = c.find("table", "alog").find("tbody").find_all("tr")
        failed = [a for a in t["attempt_log"] if a["outcome"] in ("failed", "error")]
        # (cells omit their end tags: the first cell's own text is the attempt number)
        assert [r.find("td").content[0] for r in rows] == [str(a["attempt"]) for a in failed]
        assert "every attempt is in the JSON summary" in c.text()
        sc = c.find("svg", "sc")
        assert sc is not None and "duration (s)" in sc.text()
        marks = sum(len(re.findall(r"[Mm]-?\d+ -?\d+h0", p.attrs["d"]))
                    for p in sc.find_all("path", "p"))
        assert marks == t["passed"], (marks, t["passed"])
