# SPDX-License-Identifier: MIT
"""Time limits per attempt, hang snapshots, and interruption (the plugin's side of hangs).

An attempt (setup + call + teardown) gets a limit: `--fh-timeout`, pytest-timeout's timeout for
the test (`--timeout`, the `timeout` mark; `func_only` limits the call phase), whichever is
smaller. Under --fh this plugin enforces pytest-timeout's limit itself, per attempt, through
pytest-timeout's own hooks (`pytest_timeout_set_timer` / `_cancel_timer` return True, so its
SIGALRM or its thread, whose expiry ends the whole session with os._exit, are never armed): the
hunt goes on past a hang either way. pytest's `faulthandler_timeout` only takes the snapshot
(pytest's own faulthandler still dumps the stacks, and does not stop the test either).

A watchdog thread waits for the deadline of the attempt in progress. At the deadline it
  1. asks the preload for a hang snapshot (fh_hang_snapshot: every thread's blocking call, its
     stacks, the lock it waits for and who holds it, the attempt's live children),
  2. interrupts the test thread the way pytest-timeout's signal method does: a signal whose
     Python handler raises AttemptTimeout in the main thread (CPython runs handlers when an
     interruptible wait returns EINTR: sockets, locks, waitpid, sleeps),
  3. sends SIGTERM to the attempt's still-running children (processes below this one started
     after the attempt began), SIGKILL half a second later.
The attempt then ends as pytest makes it end (failed in the call, error in setup or teardown)
and its record says `"hung": true`. When the handler has not run within the grace period (the
main thread is in C code that retries on EINTR), or the attempt goes on after three
interruptions, the process cannot go on: the watchdog writes the attempt's record and ends the
process. An xdist worker just exits (the controller records the crash as that hung attempt and
starts a replacement); the main pytest process first runs the analyzer on what was recorded and
prints why the hunt stopped, then exits with pytest's "interrupted" status (2).

The watchdog is a raw thread (`_thread`, not `threading`): it does not show in
threading.enumerate() or active_count(), which tests assert on; the preload records none of its
own calls (fh_quiet_thread), so it never appears in an attempt's evidence.
"""
import _thread
import os
import signal
from os import _exit as exit_now  # noqa: F401 - the process's end when it cannot go on
import threading
import time

import pytest

# fht_snap_reason (preload/fhtrace_format.h)
REASONS = {"api": 0, "fh-timeout": 1, "pytest-timeout": 2, "faulthandler": 3, "SIGINT": 4,
           "SIGTERM": 5}
KILL_GRACE_S = 0.5       # SIGTERM to SIGKILL for the attempt's children
MAX_INTERRUPTS = 3       # interruptions of one attempt before the process gives up on it
POLL_S = 0.25            # the watchdog's longest sleep while an attempt runs (SIGINT check)
STUCK_SIGINT_S = 1.0     # SIGINT unanswered this long with the main thread stuck: give up


def grace_of(limit):
    """How long an interrupted attempt may take to end before the next step: the limit, at
    least 1 s, at most 5 s."""
    return min(max(limit, 1.0), 5.0)


class AttemptTimeout(pytest.fail.Exception):
    """Raised in the test's main thread when its attempt passed its time limit. A subclass of
    pytest's Failed (a BaseException), like pytest-timeout's own, so `except Exception` in the
    test does not swallow it."""


def _interrupt_signal():
    """The signal that carries the interruption: a real-time one no test suite is likely to use
    (SIGRTMAX-3); its Python handler is installed by the main thread while the hunt runs."""
    return getattr(signal, "SIGRTMAX", 64) - 3


class _Watch:
    """One attempt under watch."""

    __slots__ = ("nodeid", "attempt", "t0", "boot0", "deadline", "limit", "by", "snap_at",
                 "snap_by", "fired", "snapshot", "sent", "handled", "next", "kids", "kill_at",
                 "write_hung", "ended", "sigint_seen", "sigint_at", "saved")

    def __init__(self, nodeid, attempt, write_hung):
        self.nodeid = nodeid
        self.attempt = attempt
        self.t0 = time.monotonic()
        self.boot0 = time.clock_gettime(time.CLOCK_BOOTTIME)
        self.deadline = self.limit = self.by = None
        self.snap_at = self.snap_by = None
        self.fired = False
        self.snapshot = None
        self.sent = self.handled = 0
        self.next = None
        self.kids = []
        self.kill_at = None
        self.write_hung = write_hung
        self.ended = None
        self.sigint_seen = None
        self.sigint_at = None
        self.saved = None      # (deadline, limit, by) while a func_only call limit is in force


class HangGuard:
    """Limits, the watchdog thread and the signal handlers of one pytest process."""

    def __init__(self, hunter, limit_s, worker):
        self.hunter = hunter
        self.config = hunter.config
        self.preload = hunter.preload
        self.limit_s = limit_s
        self.worker = worker
        self.item_timeout = None       # (item, seconds) pytest-timeout armed around the item
        try:
            self.faulthandler_s = float(self.config.getini("faulthandler_timeout") or 0.0)
        except (ValueError, TypeError):
            self.faulthandler_s = 0.0
        self.cur = None
        self.cond = threading.Condition(threading.Lock())
        self.thread_started = False
        self.main_ident = threading.main_thread().ident
        self.sig = _interrupt_signal()
        self.installed = {}            # signal -> previous handler
        self.hung = []                 # (nodeid, attempt, by, limit) of this process
        self.stopped = None            # why this process stopped hunting (watchdog)
        # pytest-timeout's func_only limit is only known when the call phase starts: an
        # attempt without a limit of its own leaves what arm() needs here, for call_limit()
        self.lazy = None
        self.in_attempt = False        # the test thread is inside the attempt's protocol
        self.sigint_handled = 0
        self.attempt_t0 = 0            # monotonic ns when the attempt in progress began
        self.sig_snapshot = False      # SIGINT/SIGTERM took a snapshot in this attempt

    # ---- the main thread's side ----
    def install(self):
        """Signal handlers (main thread, at configure): the interruption's, and SIGINT/SIGTERM
        with a snapshot first where pytest's defaults are in place (not in xdist workers,
        whose controller owns Ctrl-C)."""
        if threading.current_thread() is not threading.main_thread():
            return
        self._install(self.sig, self._on_interrupt)
        if self.worker:
            return
        if signal.getsignal(signal.SIGINT) is signal.default_int_handler:
            self._install(signal.SIGINT, self._on_sigint)
        if signal.getsignal(signal.SIGTERM) in (signal.SIG_DFL, None):
            self._install(signal.SIGTERM, self._on_sigterm)

    def _install(self, sig, handler):
        try:
            self.installed[sig] = signal.signal(sig, handler)
        except (ValueError, OSError):
            pass

    def uninstall(self):
        for sig, prev in self.installed.items():
            try:
                if prev is not None:
                    signal.signal(sig, prev)
            except (ValueError, OSError, TypeError):
                pass
        self.installed = {}

    def limit_for_attempt(self):
        """(seconds, by) of the attempt about to start; (None, None) without a limit."""
        cands = []
        if self.limit_s:
            cands.append((self.limit_s, "fh-timeout"))
        if self.item_timeout is not None:
            cands.append((self.item_timeout[1], "pytest-timeout"))
        return min(cands) if cands else (None, None)

    def active(self):
        return bool(self.limit_s or self.item_timeout or self.faulthandler_s > 0)

    def arm(self, nodeid, attempt, write_hung):
        """Watch the attempt about to start (main thread). write_hung(error, hang) writes the
        attempt's record when the process has to end in the middle of it."""
        limit, by = self.limit_for_attempt()
        if limit is None and self.faulthandler_s <= 0:
            return None
        w = _Watch(nodeid, attempt, write_hung)
        if limit is not None:
            w.deadline = w.t0 + limit
            w.limit = limit
            w.by = by
        if self.faulthandler_s > 0 and (limit is None or self.faulthandler_s < limit):
            w.snap_at = w.t0 + self.faulthandler_s
            w.snap_by = "faulthandler"
        if self.preload.active:
            w.sigint_seen = self.preload.signal_count(signal.SIGINT)
        if w.deadline is not None or w.snap_at is not None:
            self._start_thread()
        with self.cond:
            self.cur = w
            self.cond.notify()
        return w

    def call_limit(self, seconds):
        """pytest-timeout with func_only: a limit on the call phase of the attempt in progress
        (the smaller of it and the attempt's own deadline holds)."""
        w = self.cur
        if w is None and self.lazy is not None:
            nodeid, attempt, make_writer = self.lazy
            w = _Watch(nodeid, attempt, make_writer())
            w.t0 = self.attempt_t0 / 1e9
            with self.cond:
                self.cur = w
        if w is None:
            return
        d = time.monotonic() + seconds
        if w.deadline is not None and w.deadline <= d:
            return
        self._start_thread()
        with self.cond:
            w.saved = (w.deadline, w.limit, w.by)
            w.deadline, w.limit, w.by = d, seconds, "pytest-timeout"
            self.cond.notify()

    def end_call_limit(self):
        """The call phase ended: the attempt's own deadline again (unless the limit fired)."""
        w = self.cur
        if w is None or w.saved is None or w.fired:
            return
        with self.cond:
            w.deadline, w.limit, w.by = w.saved
            w.saved = None

    def disarm(self):
        """The attempt ended (main thread): its hang fields for the record, or None."""
        w = self.cur
        if w is None:
            return None
        with self.cond:
            self.cur = None
            kids, w.kids = w.kids, []
        if kids:
            _kill(kids, signal.SIGKILL)
        if not w.fired and w.snapshot is None:
            return None
        by = w.by if w.fired else w.snap_by
        limit = w.limit if w.fired else self.faulthandler_s
        self.hung.append((w.nodeid, w.attempt, by, limit))
        return hang_fields(by, limit, w.fired, w.snapshot)

    def _on_interrupt(self, signum, frame):
        __tracebackhide__ = True
        w = self.cur
        if w is None or not w.fired or w.ended or not self.in_attempt:
            return   # late: the attempt's protocol already returned
        w.handled += 1
        raise AttemptTimeout(f"Timeout >{w.limit:g}s: flakehunter stopped the attempt ({w.by}"
                             + ("; what it waited for is in the hang snapshot)" if w.snapshot
                                else ")"), pytrace=True)

    def _on_sigint(self, signum, frame):
        self.sigint_handled += 1
        self._snap_now("SIGINT")
        raise KeyboardInterrupt

    def _on_sigterm(self, signum, frame):
        self._snap_now("SIGTERM")
        raise KeyboardInterrupt("SIGTERM")

    def _snap_now(self, reason):
        if self.hunter.cur is None or not self.preload.active:
            return
        w = self.cur
        if w is not None and w.snapshot is not None:
            return
        names = "".join(f"{t.native_id}\t{t.name}\n" for t in threading.enumerate()
                        if t.native_id is not None)
        ok = self.preload.hang_snapshot(REASONS[reason], 0, self.attempt_t0, names) >= 0
        self.sig_snapshot = ok
        if w is not None:
            w.snapshot = ok

    # ---- the watchdog thread ----
    def _start_thread(self):
        if self.thread_started:
            return
        self.thread_started = True
        _thread.start_new_thread(self._run, ())

    def _run(self):
        try:
            self.preload.quiet_thread()
            while True:
                with self.cond:
                    w = self.cur
                    now = time.monotonic()
                    wait = None
                    if w is not None:
                        nxt = [t for t in (w.deadline if not w.fired else None, w.snap_at,
                                           w.next, w.kill_at) if t is not None]
                        wait = max(0.0, min(nxt) - now) if nxt else None
                        if self.preload.active and (wait is None or wait > POLL_S):
                            wait = POLL_S
                    if wait is None or wait > 0:
                        self.cond.wait(wait)
                        continue
                self._step(w)
        except BaseException as e:  # noqa: BLE001 - never let the thread die silently
            try:
                os.write(2, f"flakehunter: watchdog failed: {type(e).__name__}: {e}\n".encode())
            except OSError:
                pass

    def _step(self, w):
        """One step of the watch of attempt w (watchdog thread). Snapshots only read, so they
        are taken without the lock; whatever acts on processes (signals, kills, ending the
        process) is decided and done holding it, with w checked to still be the attempt in
        progress: disarm() takes the same lock, so nothing is sent once the attempt ended (the
        analyzer and the next attempt's processes start after that)."""
        now = time.monotonic()
        if w is not self.cur or w.ended:
            return
        if w.snap_at is not None and now >= w.snap_at:
            w.snap_at = None
            if w.snapshot is None:
                w.snapshot = self._snapshot(w, w.snap_by)
        if w.deadline is not None and not w.fired and now >= w.deadline and w.snapshot is None:
            w.snapshot = self._snapshot(w, w.by)   # before the interruption changes anything
        with self.cond:
            if w is self.cur and not w.ended:
                self._act(w, now)

    def _act(self, w, now):
        if w.kill_at is not None and now >= w.kill_at:
            w.kill_at = None
            _kill(w.kids, signal.SIGKILL)
            w.kids = []
        if self.preload.active and w.sigint_seen is not None:
            n = self.preload.signal_count(signal.SIGINT)
            if n > w.sigint_seen and w.sigint_at is None:
                w.sigint_at = now
            if w.sigint_at is not None and now - w.sigint_at >= STUCK_SIGINT_S and \
                    self.sigint_handled == 0 and w is self.cur:
                if w.snapshot is None:
                    w.snapshot = self._snapshot(w, "SIGINT")
                self._end(w, "SIGINT was not answered: the main thread is stuck in C code "
                             "that does not return on signals", interrupted=True)
                return
        if w.deadline is not None and not w.fired and now >= w.deadline:
            w.fired = True
            self._interrupt(w)
            w.kids = _children_since(w.boot0)
            _kill(w.kids, signal.SIGTERM)
            w.kill_at = time.monotonic() + KILL_GRACE_S if w.kids else None
            w.next = time.monotonic() + grace_of(w.limit)
            return
        if w.fired and w.next is not None and now >= w.next:
            if w.handled < w.sent:
                self._end(w, f"the test thread did not stop within {grace_of(w.limit):g} s "
                             f"of the interruption: it is stuck in C code that does not return "
                             f"on signals")
            elif w.sent >= MAX_INTERRUPTS:
                self._end(w, f"the attempt went on after {w.sent} interruptions")
            else:
                self._interrupt(w)
                w.next = time.monotonic() + grace_of(w.limit)

    def _interrupt(self, w):
        w.sent += 1
        try:
            signal.pthread_kill(self.main_ident, self.sig)
        except (OSError, ValueError):
            pass

    def _snapshot(self, w, reason):
        if not self.preload.active:
            return False
        # the limit fired: chaos mode injects nothing more in this attempt
        self.preload.chaos_set(None)
        names = "".join(f"{t.native_id}\t{t.name}\n" for t in threading.enumerate()
                        if t.native_id is not None)
        limit_ns = int((w.limit or 0) * 1e9) if reason in ("fh-timeout", "pytest-timeout") \
            else int(self.faulthandler_s * 1e9) if reason == "faulthandler" else 0
        n = self.preload.hang_snapshot(REASONS.get(reason, 0), limit_ns, self.attempt_t0,
                                       names)
        return n >= 0

    def _end(self, w, why, interrupted=False):
        """The attempt cannot be stopped: record it, and end this process (watchdog thread)."""
        w.ended = why
        kids = _children_since(w.boot0)
        _kill(kids, signal.SIGKILL)
        by = w.by if w.fired else ("SIGINT" if interrupted else w.snap_by)
        fields = hang_fields(by, w.limit or 0.0, w.fired, w.snapshot,
                             ended="worker" if self.worker else "session",
                             interrupted=interrupted)
        kind = "KeyboardInterrupt" if interrupted else "AttemptTimeout"
        msg = (f"{'interrupted' if interrupted else f'Timeout >{w.limit:g}s ({by})'}: {why}; "
               f"flakehunter ended the {'worker' if self.worker else 'session'}")
        try:
            w.write_hung({"type": kind, "message": msg}, fields)
        except Exception as e:  # noqa: BLE001
            os.write(2, f"flakehunter: cannot write the hung attempt's record: {e}\n".encode())
        self.stopped = (w.nodeid, w.attempt, why)
        self.hunter.stop_from_watchdog(w.nodeid, w.attempt, why, interrupted)


def hang_fields(by, limit, interrupted_by_limit, snapshot, ended=None, interrupted=False):
    """The attempt record's hang fields (docs/FORMATS.md), as a JSON fragment to put before the
    record's tail: ',"hung":true,"hang":{...}'."""
    import json
    hang = {"by": by, "limit_s": round(float(limit or 0.0), 6),
            "stopped": bool(interrupted_by_limit), "snapshot": bool(snapshot)}
    if ended:
        hang["ended"] = ended
    out = ',"hung":' + ("false" if interrupted and not interrupted_by_limit else "true")
    if interrupted:
        out += ',"interrupted":true'
    return out + ',"hang":' + json.dumps(hang, separators=(",", ":"))


# ---- children of the attempt ----

def _proc_table():
    """{pid: (ppid, start ticks)} of every process, from /proc/PID/stat."""
    out = {}
    try:
        names = os.listdir("/proc")
    except OSError:
        return out
    for name in names:
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as f:
                data = f.read()
        except OSError:
            continue
        rest = data[data.rfind(b")") + 2:].split()
        try:
            out[int(name)] = (int(rest[1]), int(rest[19]))
        except (IndexError, ValueError):
            continue
    return out


def _children_since(boot0):
    """Live processes below this one started at or after boot0 (CLOCK_BOOTTIME seconds), i.e.
    during the attempt, deepest first: (pid, start ticks) pairs, so that a later kill can check
    the pid still names the same process."""
    me = os.getpid()
    table = _proc_table()
    hz = os.sysconf("SC_CLK_TCK") or 100
    out = []
    for pid, (ppid, start) in table.items():
        depth, p = 0, ppid
        while p > 1 and p != me and depth < 64:
            p = table.get(p, (0, 0))[0]
            depth += 1
        if p == me and pid != me and start / hz >= boot0 - 0.02:
            out.append((depth, pid, start))
    return [(pid, start) for _, pid, start in sorted(out, reverse=True)]


def _start_ticks(pid):
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            data = f.read()
        return int(data[data.rfind(b")") + 2:].split()[19])
    except (OSError, IndexError, ValueError):
        return None


def _kill(kids, sig):
    """Signals each (pid, start) that still is that process (a reaped child's pid may have been
    given to another process since)."""
    for pid, start in kids:
        if _start_ticks(pid) != start:
            continue
        try:
            os.kill(pid, sig)
        except OSError:
            pass

