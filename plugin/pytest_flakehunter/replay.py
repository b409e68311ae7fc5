# SPDX-License-Identifier: MIT
"""Confirmation of suspected polluters by replay, at the end of a hunt in rounds mode.

The analyzer names the suspects (`fh-analyze candidates RUN_DIR` writes
RUN_DIR/candidates.json, docs/FORMATS.md): for each order-dependent victim, the tests whose
footprint it touched, or, when no footprint explains it, the tests that ran in the same process
between its last passing and its first failing attempt (the window a polluter must have run
in). This module runs short, fresh pytest processes and writes what they did to
RUN_DIR/replay.json, which `fh-analyze report` reads:

- a candidate from the footprint: the victim alone, and the candidate then the victim, each up
  to N times (`--fh-confirm N`); a polluter is confirmed when the victim passed every time
  alone and failed every time after it (a state-setter: the reverse);
- no footprint candidate, or every one refuted: a bounded bisection over the window: the window then the victim must
  fail and the victim alone pass, then halves of the window are tried (a single polluter
  assumed) until one test is left, which is confirmed as above. Found "by bisection", and said
  so: that state was invisible to the trace (a module-level registry, a class attribute).

Files persist across processes: the files and directories the candidates (or the window's
tests) created during the hunt and left behind (the analyzer lists them, from the footprint)
are removed before each replay process, so every run starts from the same filesystem; other
state (the environment, the working directory, threads, sockets) ends with its process.

A listening socket a polluter left open lives on in the hunt's own process, which is still
running while it replays: the replays could not bind its port. Before they start, such sockets
of this process (listening on a port the analyzer lists for the victim) are closed by pointing
their fd at /dev/null (every test has finished by then; the fd number stays valid for the
Python object that owns it). The replays get the environment the session started with, not
the one the tests left.

Replays never bisect the whole suite and never block the report: each process has a time limit
(its process group is killed at it), the whole confirmation has one too, and a replay that
timed out, crashed or could not select its tests is inconclusive (`confirmed: null`).

The replayed processes run `python -m pytest -p no:randomly [-n 0] -rA NODEID...` in the
directory pytest was started from, without the preload and with FH_REPLAY=1 (the plugin stays
passive even when the configuration turns --fh on). `repro` is the command that fails, quoted
for a POSIX shell (node ids with spaces, quotes, brackets or non-ASCII characters survive a
paste).
"""
import json
import os
import shlex
import signal
import subprocess
import sys
import time

DEFAULT_CONFIRM = 2
MAX_VICTIMS = 10
MAX_CANDIDATES = 3          # footprint candidates replayed per victim
MAX_BISECT_PROCS = 12       # processes one bisection may start
TOTAL_S = 120.0             # the whole confirmation
# one replay process: at least this (FH_REPLAY_PROC_S overrides it) ...
PROC_MIN_S = float(os.environ.get("FH_REPLAY_PROC_S") or 20.0)
PROC_FACTOR = 5.0           # ... or this many times the tests' recorded durations, plus PROC_MIN_S

ENV_PASSIVE = "FH_REPLAY"


def quote(argv):
    """A command line for a POSIX shell."""
    return shlex.join(str(a) for a in argv)


class Runner:
    """Starts replay processes for one session (see the module docstring)."""

    def __init__(self, python, cwd, rootdir, xdist, confirm, deadline=None, env=None,
                 cleanup=()):
        self.python = python
        self.cwd = str(cwd)
        self.rootdir = str(rootdir)
        self.xdist = xdist
        self.confirm = max(1, int(confirm))
        self.deadline = deadline if deadline is not None else time.monotonic() + TOTAL_S
        base = dict(os.environ if env is None else env)
        for k in ("LD_PRELOAD", "FH_TRACE_DIR", "FH_STACK_MS", "PYTEST_CURRENT_TEST"):
            base.pop(k, None)
        base[ENV_PASSIVE] = "1"
        self.env = base
        self.procs = 0
        self.cleanup = list(cleanup)

    def arg(self, nodeid):
        """A node id (relative to rootdir) as a command-line argument from self.cwd."""
        path, sep, rest = nodeid.partition("::")
        rel = os.path.relpath(os.path.join(self.rootdir, path), self.cwd)
        return rel + sep + rest

    def argv(self, nodeids):
        cmd = [self.python, "-m", "pytest", "-p", "no:randomly"]
        if self.xdist:
            cmd += ["-n", "0"]
        return cmd + [self.arg(n) for n in nodeids]

    def repro(self, nodeids):
        return quote(self.argv(nodeids))

    def time_left(self):
        return self.deadline - time.monotonic()

    def run(self, nodeids, limit_s):
        """Runs the tests in this order in a fresh process; returns the victim's (the last
        node id's) outcome: passed, failed, error, skipped, missing (not selected), timeout,
        crashed, or unknown."""
        limit = min(limit_s, self.time_left())
        if limit <= 1.0:
            return "timeout"
        self.procs += 1
        self.clean()
        cmd = self.argv(nodeids) + ["-rA", "-p", "no:cacheprovider"]
        try:
            p = subprocess.Popen(cmd, cwd=self.cwd, env=self.env, stdin=subprocess.DEVNULL,
                                 stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                 start_new_session=True)
        except OSError:
            return "crashed"
        try:
            out, _ = p.communicate(timeout=limit)
        except subprocess.TimeoutExpired:
            _kill_group(p)
            return "timeout"
        finally:
            _kill_group(p)   # children a test left behind
        if p.returncode < 0:
            return "crashed"
        return victim_outcome(out.decode("utf-8", "replace"), self.arg(nodeids[-1]))


    def clean(self):
        """Removes what earlier runs (and the hunt) left at the cleanup paths: files, links
        and empty directories, deepest first."""
        for path in sorted(self.cleanup, key=len, reverse=True):
            try:
                if os.path.islink(path) or os.path.isfile(path):
                    os.unlink(path)
                elif os.path.isdir(path):
                    os.rmdir(path)
            except OSError:
                pass


def release_ports(ports):
    """Closes this process's listening TCP sockets on `ports` (see the module docstring);
    returns how many."""
    import socket
    ports = {int(p) for p in ports if str(p).isdigit()}
    if not ports:
        return 0
    n = 0
    try:
        fds = [int(x) for x in os.listdir("/proc/self/fd")]
    except OSError:
        return 0
    for fd in fds:
        try:
            if not os.readlink(f"/proc/self/fd/{fd}").startswith("socket:"):
                continue
            s = socket.socket(fileno=os.dup(fd))
        except OSError:
            continue
        try:
            listening = s.getsockopt(socket.SOL_SOCKET, socket.SO_ACCEPTCONN)
            port = s.getsockname()[1] if s.family in (socket.AF_INET, socket.AF_INET6) else None
        except OSError:
            listening, port = 0, None
        finally:
            s.close()
        if listening and port in ports:
            null = os.open(os.devnull, os.O_RDONLY | os.O_CLOEXEC)
            try:
                os.dup2(null, fd, inheritable=False)
                n += 1
            except OSError:
                pass
            finally:
                os.close(null)
    return n


def _kill_group(p):
    try:
        os.killpg(p.pid, signal.SIGKILL)
    except OSError:
        pass
    try:
        p.communicate(timeout=5)
    except (subprocess.TimeoutExpired, ValueError, OSError):
        pass


_WORDS = {"PASSED": "passed", "FAILED": "failed", "ERROR": "error", "SKIPPED": "skipped",
          "XFAIL": "skipped", "XPASS": "passed"}


def victim_outcome(output, nodeid):
    """The outcome of `nodeid` from pytest's -rA short summary ('PASSED id', 'FAILED id - ...');
    an error in its setup or teardown counts as failed."""
    found = None
    for line in output.splitlines():
        word, _, rest = line.partition(" ")
        kind = _WORDS.get(word)
        if kind is None:
            continue
        if rest == nodeid or rest.startswith(nodeid + " - "):
            if kind in ("failed", "error"):
                return "failed"
            found = found or kind
    if found:
        return found
    if "no tests ran" in output or "not found" in output or "ERROR: " in output:
        return "missing"
    return "unknown"


def _limit(durations, nodeids):
    return PROC_MIN_S + PROC_FACTOR * sum(float(durations.get(n) or 0.0) for n in nodeids)


def confirm_candidate(runner, victim, cand, role, durations):
    """Replays one candidate: returns the result dict of replay.json (without victim/found_by)."""
    t0 = time.monotonic()
    alone, after = [], []
    want_alone, want_after = ("passed", "failed") if role == "polluter" else ("failed", "passed")
    for _ in range(runner.confirm):
        a = runner.run([victim], _limit(durations, [victim]))
        alone.append(a)
        if a != want_alone:
            break
        b = runner.run([cand, victim], _limit(durations, [cand, victim]))
        after.append(b)
        if b != want_after:
            break
    ok = len(alone) == runner.confirm and len(after) == runner.confirm and \
        all(x == want_alone for x in alone) and all(x == want_after for x in after)
    bad = {"timeout", "crashed", "missing", "unknown"}
    if ok:
        confirmed, why = True, None
    elif any(x in bad for x in alone + after):
        confirmed = None
        why = "a replay " + next(x for x in alone + after if x in bad).replace(
            "missing", "could not select the tests").replace("timeout", "ran out of time")\
            .replace("unknown", "gave no outcome for the victim")
    elif role == "polluter" and alone and alone[-1] == "failed":
        confirmed, why = None, "the victim failed alone too"
    elif role == "state-setter" and alone and alone[-1] == "passed":
        confirmed, why = None, "the victim passed alone too"
    else:
        confirmed, why = False, ("the victim passed after it" if role == "polluter"
                                 else "the victim failed after it")
    failing = [victim] if role == "state-setter" else [cand, victim]
    return {"candidate": cand, "role": role, "confirmed": confirmed, "why": why,
            "alone": alone, "after": after, "repro": runner.repro(failing),
            "seconds": round(time.monotonic() - t0, 3)}


def bisect(runner, victim, window, durations):
    """Bounded bisection over `window` (the tests that ran before a failing attempt, in run
    order) for one test that makes the victim fail; the result dict, or None when nothing was
    found (inconclusive, with why)."""
    t0 = time.monotonic()
    start = runner.procs
    window = [n for n in window if n != victim]

    def spent():
        return runner.procs - start

    res = {"candidate": None, "role": "polluter", "confirmed": None, "alone": [], "after": [],
           "repro": None, "window": len(window)}
    if not window:
        res["why"] = "no test ran before the failing attempt"
        return res
    whole = runner.run(window + [victim], _limit(durations, window + [victim]))
    if whole != "failed":
        res["why"] = (f"the {len(window)} tests that ran before a failing attempt, replayed "
                      f"with it, did not make it fail ({whole})")
        res["seconds"] = round(time.monotonic() - t0, 3)
        return res
    cands = window
    while len(cands) > 1 and spent() < MAX_BISECT_PROCS:
        half = cands[:len(cands) // 2]
        r = runner.run(half + [victim], _limit(durations, half + [victim]))
        if r == "failed":
            cands = half
        elif r == "passed":
            cands = cands[len(cands) // 2:]
        else:
            break
    if len(cands) != 1:
        res["why"] = (f"the bisection stopped with {len(cands)} tests left after "
                      f"{spent()} replays")
        res["seconds"] = round(time.monotonic() - t0, 3)
        return res
    out = confirm_candidate(runner, victim, cands[0], "polluter", durations)
    out["window"] = len(window)
    out["bisect_processes"] = spent()
    out["seconds"] = round(time.monotonic() - t0, 3)
    return out


def load_candidates(run_dir):
    """RUN_DIR/candidates.json as written by the analyzer: a list of victims, or []."""
    try:
        with open(os.path.join(run_dir, "candidates.json"), encoding="utf-8") as f:
            doc = json.load(f)
    except (OSError, ValueError):
        return []
    victims = doc.get("victims") if isinstance(doc, dict) else None
    return [v for v in victims if isinstance(v, dict) and isinstance(v.get("nodeid"), str)] \
        if isinstance(victims, list) else []


def confirm_all(runner, victims):
    """Replays the candidates of every victim within the bounds; returns the replay.json
    document."""
    results = []
    for v in victims[:MAX_VICTIMS]:
        victim = v["nodeid"]
        durations = v.get("durations") if isinstance(v.get("durations"), dict) else {}
        cl = v.get("cleanup")
        runner.cleanup = [p for p in cl if isinstance(p, str) and os.path.isabs(p)] \
            if isinstance(cl, list) else []
        ports = v.get("ports")
        if isinstance(ports, list):
            release_ports([p for p in ports if isinstance(p, int)])
        cands = [c for c in v.get("candidates") or () if isinstance(c, dict)
                 and isinstance(c.get("nodeid"), str)]
        confirmed = False
        for c in cands[:MAX_CANDIDATES]:
            role = "state-setter" if c.get("role") == "state-setter" else "polluter"
            if runner.time_left() <= 1.0:
                results.append({"victim": victim, "candidate": c["nodeid"], "role": role,
                                "found_by": "footprint", "confirmed": None,
                                "why": "not replayed: the confirmation's time was used up",
                                "alone": [], "after": [],
                                "repro": runner.repro([victim] if role == "state-setter"
                                                      else [c["nodeid"], victim])})
                continue
            r = confirm_candidate(runner, victim, c["nodeid"], role, durations)
            r.update(victim=victim, found_by="footprint")
            results.append(r)
            confirmed |= r["confirmed"] is True
        window = v.get("bisect")
        if not confirmed and isinstance(window, list):
            window = [n for n in window if isinstance(n, str)]
            if runner.time_left() <= 1.0:
                results.append({"victim": victim, "candidate": None, "role": "polluter",
                                "found_by": "bisection", "confirmed": None,
                                "why": "not replayed: the confirmation's time was used up",
                                "alone": [], "after": [], "repro": None})
                continue
            r = bisect(runner, victim, window, durations)
            r.update(victim=victim, found_by="bisection")
            results.append(r)
    return {"schema": "flakehunter-replay/1", "confirm": runner.confirm,
            "processes": runner.procs, "results": results}


def write(run_dir, doc):
    tmp = os.path.join(run_dir, "replay.json.tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(doc, f, indent=1)
        f.write("\n")
    os.replace(tmp, os.path.join(run_dir, "replay.json"))


def summary_line(doc):
    """One terminal line about what the replays did."""
    res = doc.get("results") or []
    if not res:
        return None
    yes = sum(1 for r in res if r.get("confirmed") is True)
    no = sum(1 for r in res if r.get("confirmed") is False)
    unk = len(res) - yes - no
    return (f"flakehunter: replayed {len(res)} suspected polluter(s) in "
            f"{doc.get('processes', 0)} fresh pytest processes: {yes} confirmed, {no} "
            f"refuted, {unk} inconclusive")


def python():
    return sys.executable
