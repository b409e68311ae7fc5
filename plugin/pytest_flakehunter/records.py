# SPDX-License-Identifier: MIT
"""Attempt records: one JSON line per attempt, written with one write() on an O_APPEND fd.

The format is the contract in docs/FORMATS.md ("Attempt records"). A line reaches the kernel
when the attempt ends, so a process killed later loses nothing already written. Failure frames
come straight from the exception's traceback (code object, line, linecache) instead of pytest's
failure formatting, which re-parses the source file for every failing attempt.
"""
import errno
import inspect
import json
import linecache
import os
import threading

import pluggy
import pytest

from .redact import redact_env, scrub
from .text import safe_json

# Frames of pytest, pluggy and this plugin are the runner, not the test: leave them out (the
# plugin's own: the handler that raises a hung attempt's AttemptTimeout). pytest's code lives in
# the package that defines its public classes (`_pytest`, beside `pytest`).
_SKIP_PREFIXES = tuple(
    os.path.dirname(f) + os.sep for f in (inspect.getfile(pytest.Item), pluggy.__file__,
                                          __file__)
)
MAX_FRAMES = 50
MAX_MESSAGE = 4000
MAX_SOURCE = 300
MAX_OUTPUT = 4000          # characters of each captured stream kept for a failing attempt
OUTPUT_HEAD = 1000         # ... of which the first ones (the rest is the end)


class Paths:
    """Maps absolute file names to rootdir-relative ones (cached; '/' separators)."""

    def __init__(self, rootdir):
        self.prefix = str(rootdir).rstrip(os.sep) + os.sep
        self.cache = {}

    def rel(self, filename):
        r = self.cache.get(filename)
        if r is None:
            r = filename
            if filename.startswith(self.prefix):
                r = filename[len(self.prefix):]
            if os.sep != "/":
                r = r.replace(os.sep, "/")
            self.cache[filename] = r
        return r


def frames_of(tb, paths):
    """Frames of a traceback, outermost first, without pytest's and pluggy's own frames."""
    raw = []
    while tb is not None:
        code = tb.tb_frame.f_code
        fn = code.co_filename
        # unittest's own frames (assertEqual, fail) mark themselves with a `__unittest`
        # global, which unittest and pytest both hide from tracebacks: the failure is where
        # the test called the assertion, not where unittest raised it.
        if not fn.startswith(_SKIP_PREFIXES) and "__unittest" not in tb.tb_frame.f_globals:
            raw.append((fn, tb.tb_lineno, code.co_name))
        tb = tb.tb_next
    if len(raw) > MAX_FRAMES:
        raw = raw[-MAX_FRAMES:]
    out = []
    for fn, line, func in raw:
        src = linecache.getline(fn, line).strip()
        if len(src) > MAX_SOURCE:
            src = src[:MAX_SOURCE]
        out.append({"path": paths.rel(fn), "line": line, "function": func, "source": src})
    return out


def error_of(exc):
    """{"type", "message"} of an exception; never raises (a broken __str__ is tolerated)."""
    try:
        msg = str(exc)
    except Exception as e:  # noqa: BLE001 - user __str__ may raise anything
        msg = f"<unprintable {type(exc).__name__}: {type(e).__name__}>"
    if len(msg) > MAX_MESSAGE:
        msg = msg[:MAX_MESSAGE] + "..."
    return {"type": type(exc).__name__, "message": msg}


def failure_of(excinfo, paths):
    """(error, frames) of the exception pytest kept for a failing phase (call.excinfo once
    its unittest plugin moved a TestCase's exception there). A doctest example fails with
    doctest's own exceptions, which carry no message and a traceback inside doctest: the
    failure is the example instead, at its line of the file, with what it expected and got,
    or the exception it raised."""
    exc = excinfo.value
    tb = excinfo.tb
    if type(exc).__name__ == "MultipleDoctestFailures" and getattr(exc, "failures", None):
        exc = exc.failures[0]   # --doctest-continue-on-failure: the first failing example
    doctest = _doctest_of(exc)
    if doctest is None:
        return error_of(exc), frames_of(tb, paths)
    test, example = exc.test, exc.example
    where = _example_frame(test, example, paths)
    if isinstance(exc, doctest.UnexpectedException):
        inner = exc.exc_info[1]
        return error_of(inner), [where] + frames_of(exc.exc_info[2], paths)[1:]
    src = example.source.strip().split("\n", 1)[0]
    msg = f"{src}: expected {example.want.strip()!r}, got {exc.got.strip()!r}"
    if len(msg) > MAX_MESSAGE:
        msg = msg[:MAX_MESSAGE] + "..."
    return {"type": type(exc).__name__, "message": msg}, [where]


def _doctest_of(exc):
    """The doctest module when exc is one of its failures (DocTestFailure,
    UnexpectedException) carrying the test and example; else None."""
    import sys
    doctest = sys.modules.get("doctest")
    if doctest is None or not isinstance(exc, (doctest.DocTestFailure,
                                               doctest.UnexpectedException)):
        return None
    if getattr(exc, "test", None) is None or getattr(exc, "example", None) is None:
        return None
    return doctest


def _example_frame(test, example, paths):
    """The frame of a doctest example: its file and 1-based line (the docstring's line plus
    the example's offset in it, as pytest's doctest report counts)."""
    line = (test.lineno or 0) + (example.lineno or 0) + 1 if test.lineno is not None else 0
    src = example.source.strip().split("\n", 1)[0][:MAX_SOURCE]
    return {"path": paths.rel(test.filename or "<doctest>"), "line": line,
            "function": test.name.rsplit(".", 1)[-1] if test.name else "<doctest>",
            "source": src}


def reported_failure(rep, paths):
    """(error, frames) of a failing report with no exception kept (a plugin's own item type
    that built its report itself): type, message and place from the report's crash line
    (`reprcrash`), never from the formatted traceback. None when the report has none."""
    crash = getattr(rep.longrepr, "reprcrash", None)
    msg = getattr(crash, "message", None)
    if not isinstance(msg, str) or not msg:
        return None
    head, sep, rest = msg.partition(": ")
    name = head.rsplit(".", 1)[-1]
    if sep and name.isidentifier() and "\n" not in head:
        error = {"type": name, "message": rest[:MAX_MESSAGE]}
    else:
        error = {"type": "Failed", "message": msg[:MAX_MESSAGE]}
    path, line = getattr(crash, "path", None), getattr(crash, "lineno", None)
    frames = []
    if isinstance(path, str) and isinstance(line, int):
        frames.append({"path": paths.rel(path), "line": line, "function": "",
                       "source": linecache.getline(path, line).strip()[:MAX_SOURCE]})
    return error, frames


def cut_output(text):
    """Captured output for a record: redacted, and when longer than MAX_OUTPUT characters,
    its first OUTPUT_HEAD and last ones around a line saying how much was cut."""
    if len(text) > MAX_OUTPUT:
        tail = MAX_OUTPUT - OUTPUT_HEAD
        text = (f"{text[:OUTPUT_HEAD]}\n[... {len(text) - MAX_OUTPUT} characters cut by "
                f"flakehunter ...]\n{text[-tail:]}")
    return redact_env(text)


_encode = json.JSONEncoder(separators=(",", ":")).encode
encode = _encode


def item_parts(nodeid, runs, worker, file, function, param_id, fixtures, isolate):
    """The constant parts of a test's records, JSON-encoded once per test:
    (head: '{"v":1,"nodeid":...', tail: ',"worker":...,"isolate":...}'). runs is unused
    (the planned count is written per record) and kept for callers."""
    head = '{"v":1,"nodeid":' + _encode(nodeid)
    tail = _encode({"worker": worker, "file": file, "function": function,
                    "param_id": param_id, "fixtures": fixtures, "isolate": isolate})
    return head, "," + tail[1:]


_WHEN = {None: "null", "setup": '"setup"', "call": '"call"', "teardown": '"teardown"'}
_STOP = {None: "null"}


def order_part(rnd, position, footprint):
    """The record's order and footprint fields, ready to go before the tail:
    ',"round":R,"position":P,"footprint":{...}' (null where absent)."""
    return (f',"round":{"null" if rnd is None else int(rnd)},'
            f'"position":{"null" if position is None else int(position)},'
            f'"footprint":{_encode(footprint) if footprint else "null"}')


NO_ORDER = order_part(None, None, None)


def attempt_line(head, attempt, outcome, xfail, when, start_ns, stop_ns, wall, phases,
                 error, frames, planned, stop, output, tail, pid, tid, extra=NO_ORDER):
    """One attempt record (docs/FORMATS.md) as a JSON line. Numbers are formatted directly:
    durations to the nanosecond and the wall clock to the microsecond in fixed notation (three
    times cheaper than the shortest repr; every digit dropped is below the clocks' resolution);
    strings go through the JSON encoder. error and frames are redacted here (scrub is memoized
    and returns its input when there is nothing to redact, so passing redacted ones costs
    little); output must come from cut_output. A passing attempt (no error, frames, stop or
    output: most of a hunt) takes a shorter way."""
    ph = ",".join([f'"{k}":{float(v):.9f}' for k, v in phases.items()])
    if error is None and not frames and stop is None and output is None:
        return (f'{head},"runs":{planned},"attempt":{attempt},"outcome":"{outcome}",'
                f'"xfail":{"true" if xfail else "false"},"when":{_WHEN.get(when) or _encode(when)},'
                f'"start_ns":{start_ns},"stop_ns":{stop_ns},"wall":{wall:.6f},'
                f'"duration_s":{(stop_ns - start_ns) / 1e9:.9f},"phases":{{{ph}}},'
                f'"pid":{pid},"tid":{tid},"error":null,"frames":[],"stop":null,'
                f'"output":null{extra}{tail}\n')
    error, frames = scrub(error, frames)
    return (f'{head},"runs":{int(planned)},"attempt":{int(attempt)},"outcome":"{outcome}",'
            f'"xfail":{"true" if xfail else "false"},"when":{_WHEN.get(when) or _encode(when)},'
            f'"start_ns":{int(start_ns)},"stop_ns":{int(stop_ns)},"wall":{float(wall):.6f},'
            f'"duration_s":{(stop_ns - start_ns) / 1e9:.9f},"phases":{{{ph}}},'
            f'"pid":{int(pid)},"tid":{int(tid)},"error":{_encode(error)},'
            f'"frames":{_encode(frames) if frames else "[]"},'
            f'"stop":{_STOP.get(stop) or _encode(stop)},'
            f'"output":{_encode(output) if output else "null"}{extra}{tail}\n')


# Forks of this process so far (os.fork, multiprocessing; counted in the child). A Writer
# compares it with what it saw when it opened its file instead of asking the kernel for the pid
# on every record: a system call costs a few microseconds on a busy virtual machine, about 1%
# of a trivial test's attempt.
_forks = [0]


def _count_fork():
    _forks[0] += 1


os.register_at_fork(after_in_child=_count_fork)


class Writer:
    """Appends records to RUN_DIR/attempts-<pid>.jsonl; one os.write per record.

    Never raises into pytest: a record that cannot be written (ENOSPC, EIO, EFBIG under a
    RLIMIT_FSIZE the test set, EMFILE when the file could not even be opened, ...) is counted
    in `lost` by errno name, and the hunt goes on. A record cut short by the error is cut off
    the file again (ftruncate to where it began), so every line already written stays whole;
    when even that fails, the next record starts on a new line, so only the torn one is lost."""

    def __init__(self, run_dir):
        self.pid = os.getpid()
        self.forks = _forks[0]
        # the thread that opened the writer runs the attempts: its kernel thread id, kept
        self.ident = threading.get_ident()
        self.tid = threading.get_native_id()
        self.path = os.path.join(run_dir, f"attempts-{self.pid}.jsonl")
        self.lost = {}          # errno name -> records not written
        self.torn = False       # a torn line ends the file: start the next record on a new line
        self.fd = -1
        self.closed = False
        self._open()
        self._dumps = json.JSONEncoder(separators=(",", ":")).encode

    def _open(self):
        try:
            self.fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC,
                              0o644)
        except OSError as e:
            self.fd = -1
            return e
        return None

    def _lose(self, err):
        name = errno.errorcode.get(err.errno, "OSError") if isinstance(err, OSError) else \
            type(err).__name__
        self.lost[name] = self.lost.get(name, 0) + 1

    def _put(self, data):
        """Writes one whole line or nothing (as far as the file system lets it)."""
        if self.fd < 0:
            err = self._open()   # an earlier open failed (EMFILE, ENOSPC): try again
            if err is not None:
                self._lose(err)
                return
        if self.torn:
            data = b"\n" + data
        done = 0
        try:
            while done < len(data):
                done += os.write(self.fd, data[done:] if done else data)
            self.torn = False
            return
        except OSError as e:
            err = e
        if done:
            try:
                os.ftruncate(self.fd, os.fstat(self.fd).st_size - done)
            except OSError:
                self.torn = True
        self._lose(err)

    def _forked(self):
        # A forked child (a test that forks and returns into pytest) gets its own file.
        if self.fd >= 0:
            os.close(self.fd)
        lost = self.lost
        self.__init__(os.path.dirname(self.path))
        self.lost = lost

    def write(self, rec, pid=None, tid=None):
        """Append one record; pid/tid default to the writing process and thread."""
        if self.closed:
            return
        if _forks[0] != self.forks:
            self._forked()
        rec["error"], rec["frames"] = scrub(rec.get("error"), rec.get("frames"))
        rec["pid"] = self.pid if pid is None else pid
        rec["tid"] = threading.get_native_id() if tid is None else tid
        self._put(safe_json(self._dumps(rec) + "\n").encode("ascii"))

    def write_attempt(self, *parts, tid=None, extra=NO_ORDER):
        """Append attempt_line(*parts, pid, tid, extra) for the calling process and thread (tid:
        the thread that ran the attempt, when another one writes its record: the hang
        watchdog)."""
        if self.closed:
            return
        if _forks[0] != self.forks:
            self._forked()
        if tid is None:
            tid = self.tid if threading.get_ident() == self.ident else threading.get_native_id()
        line = attempt_line(*parts, self.pid, tid, extra)
        # lone surrogates (os.fsdecode'd names, messages): the text policy. A passing attempt's
        # line has no backslash at all, and one character is the cheapest search (~50 ns
        # against ~400 ns for two, measured on a loaded machine).
        self._put((safe_json(line) if "\\" in line else line).encode("ascii"))

    def close(self):
        self.closed = True
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1
