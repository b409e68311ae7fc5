# SPDX-License-Identifier: MIT
"""Attempt and phase markers sent to the preloaded libfhtrace.so (docs/FORMATS.md).

The library is looked up in the process's own symbol space (`ctypes.CDLL(None)`), never loaded
a second time: when `fh_version` is not there the process is not preloaded, every marker is a
no-op and `tracing` is false. Functions are resolved once; a marker costs one ctypes call.
"""
import ctypes
import os

PHASES = {"setup": 0, "call": 1, "teardown": 2}
OUTCOMES = {"passed": 0, "failed": 1, "error": 2, "skipped": 3}


class Preload:
    """The fh_* API of the preloaded library, or nothing (`active` false)."""

    _chaos_set = _chaos_check = _call_name = None

    def __init__(self):
        self.active = False
        self.version = None
        try:
            lib = ctypes.CDLL(None)
            version = lib.fh_version
        except (OSError, AttributeError):
            return
        version.restype = ctypes.c_int
        version.argtypes = []
        try:
            self.version = int(version())
            self._start = lib.fh_start
            self._start.restype = ctypes.c_int
            self._start.argtypes = [ctypes.c_char_p]
            self.attempt_begin = lib.fh_attempt_begin
            self.attempt_begin.restype = None
            self.attempt_begin.argtypes = [ctypes.c_char_p, ctypes.c_int]
            self.attempt_end = lib.fh_attempt_end
            self.attempt_end.restype = None
            self.attempt_end.argtypes = [ctypes.c_char_p, ctypes.c_int, ctypes.c_int]
            self.phase_begin = lib.fh_phase_begin
            self.phase_begin.restype = None
            self.phase_begin.argtypes = [ctypes.c_int]
            self.phase_end = lib.fh_phase_end
            self.phase_end.restype = None
            self.phase_end.argtypes = [ctypes.c_int, ctypes.c_int]
        except AttributeError:
            return
        self.active = True
        # Hang snapshots (hang.py); a library without them still traces.
        self._snap = getattr(lib, "fh_hang_snapshot", None)
        if self._snap is not None:
            self._snap.restype = ctypes.c_int
            self._snap.argtypes = [ctypes.c_int, ctypes.c_longlong, ctypes.c_longlong,
                                   ctypes.c_char_p]
        self._quiet = getattr(lib, "fh_quiet_thread", None)
        if self._quiet is not None:
            self._quiet.restype = None
            self._quiet.argtypes = []
        # Chaos mode (chaos.py); a library without it cannot run --fh-chaos.
        self._chaos_set = getattr(lib, "fh_chaos_set", None)
        self._chaos_check = getattr(lib, "fh_chaos_check", None)
        self._call_name = getattr(lib, "fh_call_name", None)
        for f, args, res in ((self._chaos_set, [ctypes.c_char_p], ctypes.c_int),
                             (self._chaos_check, [ctypes.c_char_p], ctypes.c_int),
                             (self._call_name, [ctypes.c_int], ctypes.c_char_p)):
            if f is not None:
                f.argtypes = args
                f.restype = res
        # The CPU profiler (perf.py); a library without it still traces.
        self._profile = getattr(lib, "fh_profile", None)
        if self._profile is not None:
            self._profile.restype = ctypes.c_int
            self._profile.argtypes = [ctypes.c_int, ctypes.c_int]
        self._profile_status = getattr(lib, "fh_profile_status", None)
        if self._profile_status is not None:
            self._profile_status.restype = ctypes.c_char_p
            self._profile_status.argtypes = []
        self._sigcount = getattr(lib, "fh_signal_count", None)
        if self._sigcount is not None:
            self._sigcount.restype = ctypes.c_ulonglong
            self._sigcount.argtypes = [ctypes.c_int]

    def hang_snapshot(self, reason, limit_ns, since_ns, names):
        """Write a hang snapshot into the trace (docs/FORMATS.md); the number of threads
        recorded, or a negative errno (-ENOSYS when not preloaded). The GIL is released
        meanwhile (a ctypes call)."""
        if not self.active or self._snap is None:
            return -38
        return int(self._snap(reason, limit_ns, since_ns,
                              names.encode("utf-8", "replace")))

    def profile(self, on, interval_us):
        """Switch the CPU profiler on (every interval_us of each thread's CPU) or off; the
        threads armed, or a negative errno (-ENOSYS when the library has no profiler)."""
        if not self.active or self._profile is None:
            return -38
        return int(self._profile(1 if on else 0, int(interval_us)))

    def profile_status(self):
        """The profiler's state in words ("on every 10 ms of CPU", "off: ..."), or None."""
        if not self.active or self._profile_status is None:
            return None
        s = self._profile_status()
        return s.decode("utf-8", "replace") if s else None

    def quiet_thread(self):
        """The calling thread is the tool's: the preload records none of its calls."""
        if self.active and self._quiet is not None:
            self._quiet()

    def signal_count(self, sig):
        """Deliveries of sig to this process that the preload's trampoline saw."""
        if not self.active or self._sigcount is None:
            return 0
        return int(self._sigcount(sig))

    @property
    def has_chaos(self):
        return self.active and None not in (self._chaos_set, self._chaos_check, self._call_name)

    def chaos_set(self, plan):
        """Put plan (text) in force in this process from now on, the calling thread being the
        test's; None ends chaos mode. 0 or -errno."""
        if not self.has_chaos:
            return -38
        return int(self._chaos_set(plan.encode("utf-8", "surrogateescape") if plan else None))

    def chaos_check(self, plan):
        """0 when plan parses, -EINVAL when not."""
        if not self.has_chaos:
            return -38
        return int(self._chaos_check(plan.encode("utf-8", "surrogateescape")))

    def call_name(self, call_id):
        name = self._call_name(call_id) if self._call_name is not None else None
        return name.decode("ascii", "replace") if name else f"call{call_id}"

    def start(self, trace_dir):
        """Start tracing this process into trace_dir; 0 or -errno (0 when not preloaded)."""
        if not self.active:
            return 0
        return int(self._start(os.fsencode(trace_dir)))

    def library_path(self):
        """Path of the mapped libfhtrace.so from /proc/self/maps, or None."""
        try:
            with open("/proc/self/maps", encoding="utf-8", errors="replace") as f:
                for line in f:
                    parts = line.split(None, 5)
                    if len(parts) == 6 and parts[5].rstrip("\n").endswith("/libfhtrace.so"):
                        return parts[5].rstrip("\n")
        except OSError:
            pass
        return None
