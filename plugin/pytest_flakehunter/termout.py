# SPDX-License-Identifier: MIT
"""What a hunt prints on the terminal: one character (or, with -v, one line) per test instead
of one per attempt, a progress line on a real terminal, and summaries that grow with the
number of tests and failure clusters, not with the number of attempts.

Every attempt's reports still go through ``pytest_runtest_logreport`` and land in the terminal
reporter's stats, so pytest's counts, its exit status and every other plugin (junitxml, ...)
see every attempt. What changes is only what is drawn:

- ``pytest_report_teststatus`` keeps each report's category (so the counts are unchanged) and
  blanks its letter and word while tests run. The categories are computed here, as pytest's
  runner, skipping and terminal implementations would, when no other implementation exists (it
  saves three hook calls per report); otherwise a hook wrapper blanks the letters of whatever
  the hook answered.
- At the end of each test, its character: ``.`` stable, ``f`` flaky, ``F`` broken (``E`` when
  every failure was an error in setup or teardown), ``s`` skipped; with -v its verdict and
  counts.
- During the terminal summary, pytest's FAILURES/ERRORS sections see only the first failing
  report of each failure cluster of each test, at most MAX_TRACEBACKS of them (pytest formats
  them exactly as without the plugin), and its short summary sees one line per test and
  cluster: "FAILED test_x - 3/10 attempts, cluster a1b2c3: ValueError: ...". The full lists
  are in place for every other summary hook and for the counts line.
- On a terminal (stdout is a tty, TERM is not dumb, not -qq, and tests do not write to the
  terminal themselves: not -s or --capture=tee-sys), a status drawn at the end of the current
  line and redrawn at most every 0.25 s: attempts done and planned, elapsed time, and the
  estimated time left. It is erased before anything else is written. Nothing is drawn when the
  output is not a terminal.
"""
import os
import sys
import time

import pytest

from . import plan

MAX_TRACEBACKS = 10
MAX_LINE_MESSAGE = 100
REDRAW_S = 0.25

_CATEGORIES = ("failed", "error")


class _Crash:
    __slots__ = ("path", "lineno", "message")

    def __init__(self, path, lineno, message):
        self.path = path
        self.lineno = lineno
        self.message = message


class _LineRepr:
    """longrepr of a short-summary line: pytest reads reprcrash.message."""

    def __init__(self, path, lineno, message):
        self.reprcrash = _Crash(path, lineno, message)

    def toterminal(self, tw):
        tw.line(self.reprcrash.message)

    def __str__(self):
        return self.reprcrash.message


# The implementations of pytest_report_teststatus this plugin answers for: pytest's runner,
# skipping and terminal ones, which only compute the answer. Any other one (another plugin, or
# pytest 9's subtests, which also turns a report with failed subtests into a failure there)
# must run: then a hook wrapper blanks the letters instead.
_PLAIN_TESTSTATUS = ("_pytest.runner", "_pytest.skipping", "_pytest.terminal")


def _builtin(impl):
    name = getattr(impl.plugin, "__name__", None) or type(impl.plugin).__module__
    return str(name) in _PLAIN_TESTSTATUS or isinstance(impl.plugin, Terminal)


def _hunted(report):
    return report.when != "collect" and not getattr(report, "fh_line", False)


class _BlankWrapper:
    """pytest_report_teststatus as a wrapper: keep whatever category the hook answered."""

    def __init__(self, term):
        self.term = term

    @pytest.hookimpl(hookwrapper=True)
    def pytest_report_teststatus(self, report, config):
        outcome = yield
        res = outcome.get_result()
        if res and self.term.blank and _hunted(report):
            outcome.force_result((res[0], "", ""))


class Terminal:
    """Registered with --fh in the process that prints (not in xdist workers)."""

    def __init__(self, config, board, hunter):
        self.config = config
        self.board = board
        self.hunter = hunter
        self.tr = None        # the terminal reporter registers after us: see sessionstart
        self.verbose = config.option.verbose > 0
        self.xdist = False
        self.saved = None     # pytest's failed/error lists while the summary runs
        self.tracebacks = None  # (tracebacks shown, failure clusters) for the note
        self.status = None
        self.fast = True
        # Letters and words are blanked while tests run; the terminal summary (short summary
        # lines, -rA, skip reasons) asks the same hook for its words and gets pytest's.
        self.blank = True

    # ---- letters ----
    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionstart(self, session):
        self.tr = self.config.pluginmanager.get_plugin("terminalreporter")
        impls = self.config.pluginmanager.hook.pytest_report_teststatus.get_hookimpls()
        self.fast = all(_builtin(i) for i in impls)
        if not self.fast:
            self.config.pluginmanager.register(_BlankWrapper(self), "flakehunter-blank-letters")
        self.status = Status.create(self.config, self.tr)

    @pytest.hookimpl(tryfirst=True)
    def pytest_report_teststatus(self, report, config):
        if not self.fast or not self.blank or not _hunted(report):
            return None
        if hasattr(report, "wasxfail"):
            if report.skipped:
                return "xfailed", "", ""
            if report.passed:
                return "xpassed", "", ""
        if report.when in ("setup", "teardown"):
            if report.failed:
                return "error", "", ""
            if report.skipped:
                return "skipped", "", ""
            return "", "", ""
        return report.outcome, "", ""

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_logstart(self, nodeid, location):
        if self.status:
            self.status.clear()

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_logfinish(self, nodeid, location):
        t = self.board.finish(nodeid)
        if self.status:
            self.status.clear()
        if t is None or self.tr is None:
            return
        letter, markup = t.letter()
        if not self.verbose:
            self.tr.write(letter, **markup)
            self._progress(nodeid)
        else:
            detail = (f"{t.failed}/{t.passed + t.failed} attempts failed" if t.failed else
                      f"{t.attempts} attempts")
            word = t.verdict.upper()
            if self.xdist:
                # as xdist prints its own per-report lines: a line of its own, and the next
                # writer starts a new one (currentfspath -2, like pytest does for xdist)
                self.tr.ensure_newline()
                self.tr.write(f"{word} {nodeid} ({detail})", **markup)
                self.tr.currentfspath = -2
            else:
                self.tr.write(f" {word} ({detail})", **markup)
        self.tr.flush()

    def _progress(self, nodeid):
        """pytest >= 8 counts its "[ NN%]" progress in the letters it printed itself and breaks
        the line there; the letters of a hunt are ours, so count ours the same way (pytest 7
        does both in its own pytest_runtest_logfinish, after this one). Private attributes,
        used only when present."""
        tr = self.tr
        reported = getattr(tr, "_progress_nodeids_reported", None)
        past_edge = getattr(tr, "_write_progress_information_if_past_edge", None)
        if not isinstance(reported, set) or past_edge is None:
            return
        reported.add(nodeid)
        session = self.hunter.session
        if getattr(tr, "_show_progress_info", False) and session is not None and \
                len(reported) < getattr(session, "testscollected", 0):
            past_edge()

    # ---- progress ----
    def tick(self):
        s = self.status
        if s is None:
            return
        now = time.monotonic()
        if now - s.last < REDRAW_S:
            return
        s.last = now
        s.draw(self._status_text(now))

    def _status_text(self, now):
        h = self.hunter
        session = h.session
        ntests = getattr(session, "testscollected", 0) or len(self.board.tests)
        default = None if h.auto or h.budget_s else h.runs
        done, planned = self.board.planned_total(ntests, default)
        elapsed = now - h.t_start
        first = self.board.t_first
        if h.budget_s:
            eta = max(0.0, h.t_start + h.budget_s - now)
        elif done > 1 and first is not None and now > first:
            eta = (now - first) / (done - 1) * max(0, planned - done)
        else:
            eta = None
        eta_s = "?" if eta is None else plan.format_duration(eta)
        return (f"{done:,}/{planned:,} attempts, {plan.format_duration(elapsed)} elapsed, "
                f"ETA {eta_s}")

    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionfinish(self, session):
        if self.status:
            self.status.clear()
            self.status = None

    # ---- summaries ----
    def _hunted_report(self, r):
        return isinstance(r, pytest.TestReport) and r.nodeid in self.board.tests

    @pytest.hookimpl(hookwrapper=True, tryfirst=True)
    def pytest_terminal_summary(self, terminalreporter):
        self.blank = False
        stats = terminalreporter.stats
        self.saved = {k: list(stats.get(k, ())) for k in _CATEGORIES}
        firsts = []
        shown = set()
        for t in self.board.tests.values():
            for c in t.clusters.values():
                if c.report is not None:
                    firsts.append(c.report)
        order = {id(r): i for k in _CATEGORIES for i, r in enumerate(self.saved.get(k, ()))}
        firsts.sort(key=lambda r: order.get(id(r), 1 << 60))
        for r in firsts[:MAX_TRACEBACKS]:
            shown.add(id(r))
        self.tracebacks = (len(shown), len(firsts))
        for k, reps in self.saved.items():
            kept = [r for r in reps if id(r) in shown or not self._hunted_report(r)]
            if kept:
                stats[k] = kept
            else:
                stats.pop(k, None)
        try:
            yield
        finally:
            self._restore(stats)
        self.saved = None

    def _restore(self, stats):
        if self.saved is None:
            return
        for k, reps in self.saved.items():
            if reps:
                stats[k] = reps
            else:
                stats.pop(k, None)  # pytest counts a category by its key being there

    def summary_lines_begin(self, terminalreporter):
        """First plain summary hook: everyone else sees the full stats."""
        self._restore(terminalreporter.stats)

    def summary_lines_end(self, terminalreporter):
        """Last plain summary hook: pytest's short summary (after every plain hook) sees one
        line per test and failure cluster instead of one per failing attempt."""
        if self.saved is None:
            return
        stats = terminalreporter.stats
        q = self.hunter.quarantine
        lines = {k: [r for r in reps if not self._hunted_report(r)]
                 for k, reps in self.saved.items()}
        for t in self.board.tests.values():
            n = t.passed + t.failed
            mark = "quarantined, " if q is not None and q.active(t.nodeid) else ""
            for c in sorted(t.clusters.values(), key=lambda c: (-c.count, c.first)):
                msg = c.message.split("\n", 1)[0].strip()
                if len(msg) > MAX_LINE_MESSAGE:
                    msg = msg[:MAX_LINE_MESSAGE] + "..."
                text = f"{mark}{c.count}/{n} attempts, cluster {c.cid[:6]}: {c.type}"
                if msg:
                    text += f": {msg}"
                loc = c.report.location if c.report is not None else (
                    t.nodeid.split("::", 1)[0], None, t.nodeid)
                when = c.when if c.when in ("setup", "call", "teardown") else "call"
                rep = pytest.TestReport(t.nodeid, loc, {}, "failed",
                                        _LineRepr(c.path, c.line, text), when, fh_line=True)
                lines.setdefault("error" if when != "call" else "failed", []).append(rep)
        for k, reps in lines.items():
            if reps:
                stats[k] = reps
            else:
                stats.pop(k, None)


class _SummaryFirst:
    """The plain pytest_terminal_summary implementations that run first and last."""

    def __init__(self, term):
        self.term = term

    @pytest.hookimpl(tryfirst=True)
    def pytest_terminal_summary(self, terminalreporter):
        self.term.summary_lines_begin(terminalreporter)


class _SummaryLast:
    def __init__(self, term):
        self.term = term

    @pytest.hookimpl(trylast=True)
    def pytest_terminal_summary(self, terminalreporter):
        self.term.summary_lines_end(terminalreporter)


def register(config, board, hunter):
    """Registers the terminal plugins; returns the Terminal."""
    term = Terminal(config, board, hunter)
    pm = config.pluginmanager
    pm.register(term, "flakehunter-terminal")
    pm.register(_SummaryFirst(term), "flakehunter-summary-first")
    pm.register(_SummaryLast(term), "flakehunter-summary-last")
    return term


class Status:
    """The progress text drawn right of the cursor on a real terminal: saved cursor, text,
    restored cursor; erased with "erase to end of line" before anything else is written."""

    def __init__(self, tw, stream):
        self.tw = tw
        self.stream = stream
        self.shown = False
        self.last = 0.0

    @classmethod
    def create(cls, config, tr):
        stream = sys.stdout
        if tr is None or config.option.verbose < -1:
            return None
        if getattr(config.option, "capture", None) in ("no", "tee-sys"):
            return None
        if os.environ.get("TERM", "") == "dumb":
            return None
        try:
            if not stream.isatty():
                return None
        except (AttributeError, ValueError):
            return None
        return cls(config.get_terminal_writer(), stream)

    def draw(self, text):
        tw = self.tw
        room = tw.fullwidth - tw.width_of_current_line - 2
        if room < 20:
            self.clear()
            return
        text = " " + text[:room]
        tw.flush()
        if self.shown:
            self.stream.write("\x1b[K")
        self.stream.write("\x1b7" + text + "\x1b8")
        self.stream.flush()
        self.shown = True

    def clear(self):
        if self.shown:
            self.tw.flush()
            self.stream.write("\x1b[K")
            self.stream.flush()
            self.shown = False
