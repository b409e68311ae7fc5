# SPDX-License-Identifier: MIT
"""What the plugin records for performance flakes: garbage-collection pauses per attempt and
when the preload's CPU profiler samples (docs/FORMATS.md, attempt records "gc" and "profile").

GC pauses come from `gc.callbacks` (every collection calls them at its start and its stop, in
the thread that collects, with the GIL held): per attempt, the number of collections, the time
spent in them, the longest, and the objects collected. Installed for the whole session, with
or without the preload; a callback costs about a microsecond per collection.

The profiler (libfhtrace.so, fh_profile) samples a thread every `interval` of its CPU time.
When it runs:
- `--fh-profile`: every attempt of every test, and every process the tests start (FH_PROFILE in
  the environment, read by the preload in each new process);
- otherwise automatically, per test, once its attempts vary: after an attempt, when the test's
  attempts so far (any outcome but skipped) span at least AUTO_RATIO x and AUTO_MIN_S between
  the fastest and the slowest, the profiler is switched on for the test's remaining attempts
  (in this process only) and off after its last one. A test that varies late gets fewer
  profiled attempts; `--fh-profile` profiles them all. `--fh-no-auto-profile` turns the
  automatic switch off. In --fh-order=rounds a test's attempts are spread over the rounds, so
  only `--fh-profile` profiles there.
An attempt's record says whether it was profiled, so the analyzer contrasts only attempts that
had the profiler on.
"""
import gc
import os
import time

AUTO_RATIO = 1.5      # slowest / fastest attempt so far ...
AUTO_MIN_S = 0.020    # ... and at least this far apart: the test varies
DEFAULT_MS = 10


# the gc field of an attempt without a collection (most of them)
_NO_GC = ',"gc":{"collections":0,"pause_s":0.0,"max_pause_s":0.0,"collected":0}'


class Perf:
    """One per pytest process (the Hunter's). Not thread-safe beyond what gc.callbacks needs:
    attempts run one at a time."""

    def __init__(self, preload, always, auto, interval_ms):
        self.preload = preload
        self.always = bool(always)
        self.auto = bool(auto) and not self.always
        self.interval_ms = int(interval_ms or DEFAULT_MS)
        self.on = False             # the profiler is on now (this process)
        self.by = None              # "option" or "auto"
        self.status = None          # why it could not be switched on (the preload's words)
        self.durations = []
        self._gc_n = 0
        self._gc_total = 0.0
        self._gc_max = 0.0
        self._gc_collected = 0
        self._gc_t0 = None
        self._cb = None
        self._env_set = False
        self._env_before = None

    # ---- session ----
    def install(self):
        cb = self._gc_callback
        gc.callbacks.append(cb)
        self._cb = cb
        if self.always and self.preload.active:
            self._env_before = os.environ.get("FH_PROFILE")
            self._env_set = True
            os.environ["FH_PROFILE"] = str(max(2, self.interval_ms))
            self._switch(True, "option")

    def uninstall(self):
        if self._cb is not None:
            try:
                gc.callbacks.remove(self._cb)
            except ValueError:
                pass
            self._cb = None
        if self.on:
            self._switch(False, None)
        if self._env_set:
            self._env_set = False
            if self._env_before is None:
                os.environ.pop("FH_PROFILE", None)
            else:
                os.environ["FH_PROFILE"] = self._env_before

    def header(self):
        """The profiler's part of the header line."""
        if not self.preload.active:
            return None
        if self.status:
            return f"profiler {self.status}"
        if self.always:
            return f"profiler on (every {self.interval_ms} ms of CPU)"
        if self.auto:
            return "profiler automatic (tests whose attempts vary)"
        return "profiler off"

    def _switch(self, on, by):
        r = self.preload.profile(on, self.interval_ms * 1000)
        if on and r < 0:
            self.status = self.preload.profile_status() or f"off (error {r})"
            self.on = False
            self.by = None
            self.auto = False   # it will not work better for the next test
            return
        self.on = on
        self.by = by if on else None

    # ---- per test and attempt ----
    def test_start(self):
        self.durations = []

    def test_end(self):
        if self.on and self.by == "auto":
            self._switch(False, None)

    def attempt_begin(self):
        self._gc_n = 0
        self._gc_total = 0.0
        self._gc_max = 0.0
        self._gc_collected = 0

    def attempt_end(self, outcome, duration_s, auto=True):
        """The record's extra fields for the attempt that just ended (a JSON fragment that
        starts with a comma), then the automatic switch for the next attempts (auto=False:
        none; in rounds a test's attempts are not consecutive, so only --fh-profile profiles
        them)."""
        parts = [_NO_GC if not self._gc_n else
                 f',"gc":{{"collections":{self._gc_n},"pause_s":{self._gc_total:.9f},'
                 f'"max_pause_s":{self._gc_max:.9f},"collected":{self._gc_collected}}}']
        if self.on:
            parts.append(f',"profile":{{"by":"{self.by}","interval_ms":{self.interval_ms}}}')
        if outcome != "skipped":
            self.durations.append(duration_s)
        if auto and self.auto and not self.on and self.preload.active and self._varies():
            self._switch(True, "auto")
        return "".join(parts)

    def _varies(self):
        d = self.durations
        if len(d) < 2:
            return False
        lo, hi = min(d), max(d)
        return hi - lo >= AUTO_MIN_S and hi >= AUTO_RATIO * lo

    # ---- gc.callbacks ----
    def _gc_callback(self, phase, info):
        if phase == "start":
            self._gc_t0 = time.perf_counter()
            return
        t0 = self._gc_t0
        if t0 is None:
            return
        self._gc_t0 = None
        d = time.perf_counter() - t0
        self._gc_n += 1
        self._gc_total += d
        if d > self._gc_max:
            self._gc_max = d
        self._gc_collected += info.get("collected", 0) if isinstance(info, dict) else 0
