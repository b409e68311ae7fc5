# SPDX-License-Identifier: MIT
"""Helpers of the report tests: produce reports (from the C fixture writer, or through the real
path: bench/gen_run.py run directory -> fh-analyze report), parse them with html.parser, and
drive Debian's headless Chromium (dump the DOM, take screenshots)."""
import html.parser
import json
import os
import pathlib
import re
import subprocess
import tempfile

ROOT = pathlib.Path(__file__).resolve().parents[2]
BUILD = pathlib.Path(os.environ.get("FH_BUILD", ROOT / "build"))
FH_ANALYZE = pathlib.Path(os.environ.get("FH_ANALYZE", BUILD / "fh-analyze"))
TEST_REPORT = BUILD / "tests" / "test_report"
GEN_RUN = ROOT / "bench" / "gen_run.py"
PYTHON = "/usr/bin/python3"

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source",
        "track", "wbr"}
# Attributes through which a page could load or send something.
URL_ATTRS = {"src", "href", "action", "formaction", "poster", "data", "srcset", "xlink:href",
             "background", "codebase", "cite", "manifest", "ping"}


class Node:
    def __init__(self, tag, attrs, parent):
        self.tag, self.attrs, self.parent = tag, dict(attrs), parent
        self.children = []   # elements, in order
        self.content = []    # elements and text strings, in document order

    def cls(self):
        return (self.attrs.get("class") or "").split()

    def text(self):
        return "".join(c if isinstance(c, str) else c.text() for c in self.content)

    def iter(self):
        yield self
        for c in self.children:
            yield from c.iter()

    def find_all(self, tag=None, cls=None):
        return [n for n in self.iter() if (tag is None or n.tag == tag) and
                (cls is None or cls in n.cls())]

    def find(self, tag=None, cls=None):
        found = self.find_all(tag, cls)
        return found[0] if found else None


class Parser(html.parser.HTMLParser):
    """A small DOM: every element with its attributes, children and text."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.root = Node("#root", {}, None)
        self.cur = self.root
        self.raw_script = []

    def handle_starttag(self, tag, attrs):
        n = Node(tag, attrs, self.cur)
        self.cur.children.append(n)
        self.cur.content.append(n)
        if tag not in VOID:
            self.cur = n

    def handle_startendtag(self, tag, attrs):
        n = Node(tag, attrs, self.cur)
        self.cur.children.append(n)
        self.cur.content.append(n)

    def handle_endtag(self, tag):
        n = self.cur
        while n is not self.root and n.tag != tag:
            n = n.parent
        if n is not self.root:
            self.cur = n.parent

    def handle_data(self, data):
        self.cur.content.append(data)


def parse(path_or_text):
    """Parses a pathlib.Path (read as UTF-8) or a str of HTML."""
    text = path_or_text
    if isinstance(path_or_text, pathlib.Path):
        text = path_or_text.read_text(encoding="utf-8")
    p = Parser()
    p.feed(text)
    p.close()
    return p.root


def fixture_reports(out_dir):
    """Writes the C fixture reports (full, plain, history, traced) into out_dir."""
    assert TEST_REPORT.exists(), f"{TEST_REPORT} missing: run make"
    subprocess.run([str(TEST_REPORT), "--write", str(out_dir)], check=True, timeout=60)
    return {n: pathlib.Path(out_dir) / f"{n}.html" for n in ("full", "plain", "history", "traced")}


def gen_run(run_dir, tests=30, runs=10, fail_rate=0.1, seed=1, hostile=False, extra=()):
    cmd = [PYTHON, str(GEN_RUN), str(run_dir), "--tests", str(tests), "--runs", str(runs),
           "--fail-rate", str(fail_rate), "--seed", str(seed)] + list(extra)
    if hostile:
        cmd.append("--hostile")
    subprocess.run(cmd, check=True, timeout=300, stdout=subprocess.DEVNULL)
    return pathlib.Path(run_dir)


def analyze(run_dir, out_html, history_dir=None, env=None):
    cmd = [str(FH_ANALYZE), "report", str(run_dir), "--out", str(out_html), "--quiet"]
    cmd += ["--history-dir", str(history_dir)] if history_dir else ["--no-history"]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=300, env=env)
    assert r.returncode == 0, r.stderr
    return pathlib.Path(out_html), json.loads(pathlib.Path(out_html).with_suffix(".json").read_text())


HOSTILE_TEST = '''
import itertools

import pytest

_calls = itertools.count()


@pytest.mark.parametrize("x", ["<script>alert(1)</script>"])
def test_x(x):
    if next(_calls) % 2:
        raise AssertionError("</script><img src=x onerror=alert(1)>")
'''


def demo_run(work, lib, runs=6):
    """Runs a piece of the demo suite (a real timeout flake against a local server) plus a test
    with the hostile name and message under the preload with --fh; returns the report path."""
    suite = ROOT / "demo" / "suite"
    work.mkdir(parents=True, exist_ok=True)
    for name in ("conftest.py", "pytest.ini", "test_timeout.py"):
        (work / name).write_text((suite / name).read_text())
    (work / "test_hostile.py").write_text(HOSTILE_TEST)
    html = work / "flakehunter_report.html"
    env = dict(os.environ, LD_PRELOAD=str(lib), FH_ANALYZE=str(FH_ANALYZE), PYTHONDONTWRITEBYTECODE="1",
               PYTHONPATH=str(ROOT / "plugin"), HOME=str(work))
    env.pop("FH_TRACE_DIR", None)
    subprocess.run([PYTHON, "-m", "pytest", "-p", "pytest_flakehunter", "-p", "no:cacheprovider", "-q",
                    "--fh", "--fh-runs", str(runs), "--fh-report", str(html), "--fh-no-history", "."],
                   cwd=work, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=300)
    assert html.exists(), "the demo run wrote no report"
    return html


def external_urls(root, raw):
    """Everything in the page that could make a browser fetch or send something."""
    bad = []
    for n in root.iter():
        for k, v in n.attrs.items():
            if v and k in URL_ATTRS and not v.startswith("#") and not v.startswith("data:"):
                bad.append((n.tag, k, v))
        if n.tag in ("link", "iframe", "object", "embed", "img", "base", "form", "audio", "video"):
            bad.append((n.tag, "element", ""))
        if n.tag == "script" and "src" in n.attrs:
            bad.append(("script", "src", n.attrs["src"]))
    for style in root.find_all("style"):
        css = style.text()
        if re.search(r"url\s*\(|@import|@font-face", css):
            bad.append(("style", "css", "url/@import/@font-face"))
    for n in root.iter():
        if re.search(r"url\s*\(", n.attrs.get("style") or ""):
            bad.append((n.tag, "style", n.attrs["style"]))
    return bad


CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--disable-extensions", "--mute-audio"]


def chromium(chrome, url, *extra, timeout=120, want_log=False):
    """Runs headless Chromium on url with its own throw-away profile; returns stdout (and the
    browser log with console messages and CSP reports when want_log)."""
    logging = ["--enable-logging=stderr", "--v=0"] if want_log else []
    with tempfile.TemporaryDirectory() as prof:
        r = subprocess.run([chrome, *CHROMIUM_FLAGS, f"--user-data-dir={prof}", *logging, *extra, url],
                           capture_output=True, text=True, timeout=timeout)
    assert r.returncode == 0, r.stderr[-2000:]
    return (r.stdout, r.stderr) if want_log else r.stdout


def dump_dom(chrome, path, timeout=120):
    return chromium(chrome, pathlib.Path(path).resolve().as_uri(), "--dump-dom", timeout=timeout)


def screenshot(chrome, path, png, dark=False, size="1400,2000", fragment=""):
    chromium(chrome, pathlib.Path(path).resolve().as_uri() + fragment, f"--screenshot={png}",
             f"--window-size={size}", f"--blink-settings=preferredColorScheme={0 if dark else 1}")
    assert pathlib.Path(png).stat().st_size > 10000
    return pathlib.Path(png)
