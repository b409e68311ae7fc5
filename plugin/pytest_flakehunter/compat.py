# SPDX-License-Identifier: MIT
"""Every use of pytest's private internals by the plugin, in one place.

Everything else in the package uses pytest's public API (`pytest.TestReport`,
`pytest.skip.Exception`, hooks, `config.stash`). What is here has no public equivalent; each
piece says why it is needed, what breaks without it, and how it degrades when a pytest version
does not have what it expects (checked on pytest 7.2 and 9.1.1: tests/py/test_plugin_pytest9.py
runs the plugin's tests under pytest 9). The patches of pytest's code are applied only
while `--fh` is on (by the Hunter, at configure, session start and the start of the run-test
loop) and undone at unconfigure, so a process that runs pytest again without `--fh` (pytester,
an IDE) gets pytest unchanged.
"""
import inspect
import io
import os
import sys

import pytest

try:
    # Running one item's setup, call and teardown with reporting is exactly what a re-run needs
    # once per attempt; pytest has no public function for it (pytest-rerunfailures imports the
    # same). Without it the plugin cannot re-run anything: Hunter refuses --fh with a clear
    # error instead of failing in the middle of the session.
    from _pytest.runner import runtestprotocol
except ImportError:  # pragma: no cover - a pytest that moved it
    runtestprotocol = None

# pytest 8 added the start/stop times to TestReport's constructor; 7.x keeps unknown keyword
# arguments as plain attributes, so they are passed only where pytest declares them.
_REPORT_TIMES = "start" in inspect.signature(pytest.TestReport.__init__).parameters


def report_times(call):
    """The keyword arguments giving a TestReport built from `call` its start and stop times."""
    return {"start": call.start, "stop": call.stop} if _REPORT_TIMES else {}


# pytest 9 reads a native TOML table (`[tool.pytest]` in pyproject.toml, pytest.toml) without
# turning values into strings, and checks each against the type the option was registered with:
# `fh_runs = 5` is an int, which a "string" option rejects (an INTERNALERROR before any test).
# So integer options are "int" there (pytest has the type since 8.4); before 9 every config
# value is a string and stays "string", which the plugin converts itself, with its own errors.
INI_INT = "int" if pytest.version_tuple[:1] >= (9,) else "string"


# ---- captured output of an attempt ----
# pytest keeps the captured stdout/stderr/log sections of an item in `item._report_sections`
# for the item's single run and copies them into each phase report. An item run N times keeps
# appending, so without a reset attempt K's reports would repeat the output of attempts 1..K-1
# (quadratic output, and failures shown with other attempts' logs).

def reset_report_sections(item):
    """Start an attempt with no captured output of earlier attempts."""
    if isinstance(getattr(item, "_report_sections", None), list):
        item._report_sections = []


def report_sections(item):
    """[(title, content)] of the item's captured output, as pytest's own reports carry it."""
    return [(f"Captured {key} {when}", content)
            for when, key, content in getattr(item, "_report_sections", ())]


# ---- subtests (pytest 9) ----
# pytest 9's built-in `subtests` fixture counts failed subtests per test id in
# config.stash[failed_subtests_key] for the whole session, and turns a passing call report of
# that test into a failure ("contains 1 failed subtest") whenever the count is above zero.
# Without a reset, every attempt after one whose subtest failed is reported and recorded failed.
try:
    from _pytest.subtests import failed_subtests_key as _FAILED_SUBTESTS
except ImportError:  # before pytest 9: no built-in subtests, nothing counted
    _FAILED_SUBTESTS = None


def reset_subtest_failures(item):
    """Start an attempt with no failed subtests of earlier attempts."""
    if _FAILED_SUBTESTS is None:
        return
    counts = item.config.stash.get(_FAILED_SUBTESTS, None)
    if counts is not None:
        counts.pop(item.nodeid, None)


# ---- the terminal's teardown-section lookup ----
# For each failure it prints, TerminalReporter.summary_failures looks up the teardown reports of
# that test with `_get_teardown_reports(nodeid)`, a scan of every setup/teardown report of the
# session: quadratic once a hunt holds 100,000 attempts (minutes of terminal summary; the same
# code in pytest 7.2 and 9.1.1). This answers the same from an index, rebuilt only when new
# reports arrived. Without it the summary is right but slow. A pytest that renamed the method or
# changed its signature is left alone.

def index_teardown_reports(tr):
    """Replace tr._get_teardown_reports on this reporter instance; returns an undo function,
    or None when this pytest does not have the expected method."""
    orig = getattr(type(tr), "_get_teardown_reports", None)
    if orig is None or "_get_teardown_reports" in vars(tr):
        return None
    try:
        if list(inspect.signature(orig).parameters) != ["self", "nodeid"]:
            return None
    except (TypeError, ValueError):
        return None
    state = {"n": -1, "index": {}}

    def get_teardown_reports(nodeid):
        reports = tr.stats.get("", ())
        if state["n"] != len(reports):
            index = {}
            for r in reports:
                # as TerminalReporter.getreports(""): reports pdb already showed are left out
                if getattr(r, "when", None) == "teardown" and not hasattr(r, "_pdbshown"):
                    index.setdefault(r.nodeid, []).append(r)
            state["index"] = index
            state["n"] = len(reports)
        return state["index"].get(nodeid, [])

    tr._get_teardown_reports = get_teardown_reports

    def undo():
        if vars(tr).get("_get_teardown_reports") is get_teardown_reports:
            del tr._get_teardown_reports
    return undo


# ---- the reports the terminal reporter keeps ----
# The terminal reporter keeps every report of the session in `stats` for its summary: a hunt of
# 100,000 attempts leaves 300,000 TestReports (1.2 million objects with their lists and dicts)
# alive until the interpreter exits, and its exit-time garbage collections walk them several
# times: 4.6 s after the last hook, here. Once every pytest_unconfigure implementation has run
# (this is a hook wrapper: it goes on after all of them), nothing of pytest reads them again:
# the summary, the counts line and the exit status are long done, and pytester's results come
# from its own hook recorder. So the lists are emptied then, and the reports are freed by their
# reference counts in 0.1 s.

class ReleaseReports:
    """Registered with --fh in the process that prints; a plugin of its own so that its
    wrapper is independent of the Hunter's unconfigure."""

    @pytest.hookimpl(hookwrapper=True)
    def pytest_unconfigure(self, config):
        yield
        tr = config.pluginmanager.get_plugin("terminalreporter")
        stats = getattr(tr, "stats", None)
        if isinstance(stats, dict):
            stats.clear()


# ---- statement ranges of failure formatting ----
# pytest's traceback formatting calls `_pytest._code.source.getstatementrange_ast` for every
# entry of every failure it formats, and that parses the whole source file (`ast.parse`) and
# walks its tree each time: about 5 ms per failure for a 50-test module. A hunt formats the
# first failure of every cluster of every test, so the same file is parsed over and over. This
# wraps the function with a cache keyed by the file's text and the line: same inputs, same
# answer, parsed once. Without it failures are formatted right but slowly. Installed only when
# the function has the signature of pytest 7.2 to 9.1.1; otherwise pytest is left alone.

MAX_FILES = 128


def memoize_statement_ranges():
    """Patch getstatementrange_ast where pytest looks it up; returns an undo function, or None
    when nothing was patched."""
    try:
        from _pytest._code import code as code_mod
        from _pytest._code import source as source_mod
    except ImportError:
        return None
    orig = getattr(source_mod, "getstatementrange_ast", None)
    if orig is None or getattr(orig, "_fh_cached", False):
        return None
    try:
        params = list(inspect.signature(orig).parameters)
    except (TypeError, ValueError):
        return None
    if params != ["lineno", "source", "assertion", "astnode"]:
        return None
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
    patched = [source_mod]
    source_mod.getstatementrange_ast = getstatementrange_ast
    # code.py imported the name itself (`from .source import getstatementrange_ast`)
    if getattr(code_mod, "getstatementrange_ast", None) is orig:
        code_mod.getstatementrange_ast = getstatementrange_ast
        patched.append(code_mod)

    def undo():
        for mod in patched:
            if getattr(mod, "getstatementrange_ast", None) is getstatementrange_ast:
                mod.getstatementrange_ast = orig
        files.clear()
    return undo


# ---- the captured output of a phase that wrote nothing ----
# pytest's fd capture reads its temporary files after every phase: for stdout and for stderr,
# FDCapture.snap() seeks to 0, reads, seeks to 0 again and truncates, through a TextIOWrapper,
# six times per attempt: 55-70 us, about 18% of a trivial test's attempt (measured A/B in one
# process, alternating groups of attempts with and without this). When
# the file is empty that work returns "" and leaves the file empty at offset 0. One lseek to its
# end answers the same question (offset 0 there means empty) and leaves the same state, so snap
# returns at once then; anything written (by print, by a C extension's write(1, ...), by a
# child process sharing the descriptor) makes the file non-empty and pytest's own snap runs.
# The file must be written straight through (pytest opens it unbuffered with write_through);
# when it is not, or the method is not the one of pytest 7.2 to 9.1.1, pytest's runs.

_SNAP_NAMES = {"FDCapture": {"_assert_state", "tmpfile", "seek", "read", "truncate"},
               "FDCaptureBinary": {"_assert_state", "tmpfile", "seek", "buffer", "read",
                                   "truncate"}}


def skip_empty_snaps():
    """Patch pytest's FDCapture.snap and FDCaptureBinary.snap with the fast path for an empty
    file; returns an undo function, or None when nothing was patched."""
    try:
        from _pytest import capture
    except ImportError:
        return None
    patched = []
    for name, names in _SNAP_NAMES.items():
        cls = getattr(capture, name, None)
        orig = vars(cls).get("snap") if isinstance(cls, type) else None
        code = getattr(orig, "__code__", None)
        if code is None or set(code.co_names) != names or code.co_argcount != 1:
            continue

        def snap(self, orig=orig, lseek=os.lseek, end=os.SEEK_END):
            tmp = self.tmpfile
            raw = getattr(tmp, "buffer", None)
            if type(raw) is io.FileIO and getattr(tmp, "write_through", False):
                self._assert_state("snap", ("started", "suspended"))
                try:
                    if lseek(raw.fileno(), 0, end) == 0:
                        return self.EMPTY_BUFFER
                except (OSError, ValueError):
                    pass
            return orig(self)

        cls.snap = snap
        patched.append((cls, snap, orig))

    def undo():
        for cls, snap, orig in patched:
            if vars(cls).get("snap") is snap:
                cls.snap = orig
    return undo if patched else None


# ---- the hook proxy of a test file ----
# `item.ihook` is `session.gethookproxy(item.path)`, and pytest asks for it six to eight times
# per attempt (each phase's hook, report and log). Every answer costs a stat() (is the path a
# file?), a conftest lookup and a set difference: about 5% of a trivial test's attempt (~20 us
# of ~360 us, measured A/B in one process). The answer depends only on the path and on which
# conftest modules are registered, and those only change while tests are collected. So while
# the tests run, the session answers from a memo keyed by the path object (an item's path is
# its module's, the same object every time), emptied whenever the number of registered conftest
# modules changes. It is an instance attribute shadowing the method, installed at the start of
# the run-test loop and removed at unconfigure; not installed when the session's class or the
# session itself has a gethookproxy of its own, or when pytest keeps no `_conftest_plugins`
# set. Without it: the same answers, slower.

def memoize_hook_proxies(session):
    """Give `session` a memoized gethookproxy; returns an undo function, or None."""
    try:
        from _pytest.main import Session
    except ImportError:
        return None
    orig = getattr(Session, "gethookproxy", None)
    pm = session.config.pluginmanager
    conftests = getattr(pm, "_conftest_plugins", None)
    if (orig is None or getattr(type(session), "gethookproxy", None) is not orig
            or "gethookproxy" in vars(session) or not isinstance(conftests, set)):
        return None
    memo = {}
    stamp = [len(conftests)]

    def gethookproxy(fspath):
        if len(conftests) != stamp[0]:
            memo.clear()
            stamp[0] = len(conftests)
        hit = memo.get(id(fspath))
        if hit is not None and hit[0] is fspath:
            return hit[1]
        proxy = orig(session, fspath)
        if len(memo) >= MAX_FILES * 8:
            memo.clear()
        memo[id(fspath)] = (fspath, proxy)   # the path is kept: its id stays its own
        return proxy

    session.gethookproxy = gethookproxy

    def undo():
        if vars(session).get("gethookproxy") is gethookproxy:
            del session.gethookproxy
        memo.clear()
    return undo


# ---- the phase an attempt is in ----
# A record written while an attempt is stuck (the hang watchdog, from its own thread) or was
# interrupted (KeyboardInterrupt) needs the phase: it decides "failed" (call) or "error". Rather
# than three hook implementations per attempt noting it, the phase is read off the stack when
# it is needed: pytest runs each phase in runner.call_and_report(item, when, ...) and
# call_runtest_hook(item, when, ...). When pytest renames them, the phase is unknown (None) and
# the record says "call".

_RUNNER_FUNCS = frozenset({"call_runtest_hook", "call_and_report"})
_PHASE_NAMES = frozenset({"setup", "call", "teardown"})


def _phase_in(frame):
    code = frame.f_code
    if code.co_name in _RUNNER_FUNCS and code.co_filename.endswith("runner.py"):
        when = frame.f_locals.get("when")
        if when in _PHASE_NAMES:
            return when
    return None


def phase_of_thread(ident):
    """The phase the thread `ident` (threading.get_ident()) is running now, or None."""
    frame = sys._current_frames().get(ident)
    while frame is not None:
        when = _phase_in(frame)
        if when is not None:
            return when
        frame = frame.f_back
    return None


def phase_of_traceback(tb):
    """The phase an exception was raised in, from its traceback, or None."""
    when = None
    while tb is not None:   # outermost first: the innermost phase frame wins
        when = _phase_in(tb.tb_frame) or when
        tb = tb.tb_next
    return when


# ---- pytest-xdist: the item a worker is running ----
# An xdist worker checks every report it sends against `item_index`, the index (in
# session.items) of the item its loop handed to pytest_runtest_protocol last, and sends that
# index with the report. In rounds mode a worker receives its share item by item and runs every
# round at the last one, so the reports of all its items come from that one protocol call: the
# index is set to the item actually running before each attempt. Without the attribute (another
# xdist version) nothing is changed, and the worker's own check decides.

def xdist_item_setter(config, session):
    """A function (item) -> None that tells the xdist worker loop which item is running, or
    None outside an xdist worker. set_item(None) puts back the index the loop had (the
    worker then reports that item's protocol complete, as it expects)."""
    worker = None
    for p in config.pluginmanager.get_plugins():
        if type(p).__name__ == "WorkerInteractor" and hasattr(p, "item_index"):
            worker = p
            break
    if worker is None:
        return None
    index = {id(it): i for i, it in enumerate(session.items)}
    original = worker.item_index

    def set_item(item):
        i = original if item is None else index.get(id(item))
        if i is not None:
            worker.item_index = i
    return set_item
