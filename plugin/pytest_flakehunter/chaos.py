# SPDX-License-Identifier: MIT
"""Chaos mode (`--fh-chaos[=MODE]`): the plan of each attempt, and guidance from the evidence.

The preload (preload/chaos.c) perturbs the program the way a loaded machine could: it holds
blocking calls up before or after the real call and yields the CPU at lock releases and thread
starts, under a *plan* the plugin hands it at the start of each attempt (fh_chaos_set in this
process, FH_CHAOS in the environment of the processes the attempt starts), and records every
perturbation in the trace. This module decides the plans.

A plan is a deterministic function of the session's seed (`--fh-chaos-seed`), the test, the
attempt number and, in guided mode, what the earlier attempts of the test showed:

- The first WARMUP attempts, and every CONTROL_EVERY-th after them, run unperturbed (the
  preload only counts): they give the evidence and the unperturbed side of the flake rate.
- Guided (the default): the *site table* (docs/FORMATS.md), a small file every process of the
  attempt counts its blocking calls in, per (call, role, target), says after each attempt which
  calls the test thread, its other threads and its child processes made, how long they took,
  which ran out, which one the test thread was in last when it failed, and what was injected.
  Later attempts hold up first what the evidence points at, in this order: what was injected in
  a failing attempt (again), the last wait of a failing attempt, the other threads' and
  processes' calls during a wait of the test thread that came close to its timeout (by at least
  its margin; a poll of the test thread that ran out in a passing attempt is a timer, an event
  loop's, not such a wait), then a rotating focus on the sites seen, with a thin spread over
  every blocking call behind. At a site several threads called (siblings running the same
  code) the focus is a one-shot target: one of them, the same at every such site of the plan,
  is held up once there, so the others overtake it.
- Blind: the same schedule, every perturbed attempt spread over all blocking calls.
- Replay (`--fh-chaos-plan PLAN`): every attempt runs that one plan.

Bounds: a delay is at most 50 ms and one process's delays under one plan add up to at most 50
ms (what a loaded machine's scheduling does to a process); with a time limit per attempt the
budget is at most a quarter of it and nothing is injected after half of it.
"""
import os
import random
import shlex
import struct

WARMUP = 2
CONTROL_EVERY = 4
MAX_DELAY_US = 50000
BUDGET_US = 50000
MAX_TARGETS = 8
SPREAD_CLASSES = "nplswfid"          # every class but condition waits (v) and thread starts (t)
MODES = ("guided", "blind")
MODIFIERS = ("cpu", "prio")

ROLE_NAMES = {0: "main", 1: "thread", 2: "process"}
ROLE_LETTERS = {0: "m", 1: "t", 2: "p"}
ROLE_WORDS = {0: "the test thread", 1: "another thread", 2: "a child process"}
# FHT_CHAOS_C_* bits (preload/fhtrace_format.h)
C_NET, C_POLL, C_LOCK, C_COND, C_SLEEP, C_PROC, C_FILE, C_PIPE, C_DNS, C_START = (
    1 << i for i in range(10))

TAB_MAGIC = b"FHCSITE1"
TAB_SLOTS = 1024
HEAD = struct.Struct("<8sIIQQQIIQ72x")
SITE = struct.Struct("<IHBBIIIIIIQQqQQQ48s")
TAB_SIZE = HEAD.size + TAB_SLOTS * SITE.size


class ChaosError(ValueError):
    """A malformed --fh-chaos, --fh-chaos-seed or --fh-chaos-plan value."""


def parse_mode(value):
    """(mode, modifiers) of an --fh-chaos value ("guided", "blind+cpu"); None when off."""
    v = str(value).strip().lower()
    if v in ("", "false", "0", "no", "off"):
        return None
    if v in ("true", "1", "yes", "on"):
        return "guided", ()
    parts = v.split("+")
    mode, mods = parts[0], tuple(parts[1:])
    if mode not in MODES or any(m not in MODIFIERS for m in mods) or len(set(mods)) != len(mods):
        raise ChaosError(f"unknown mode {value!r} (guided or blind, optionally with +cpu "
                         f"and +prio; write --fh-chaos=MODE, or put --fh-chaos after the "
                         f"test paths)")
    return mode, mods


def parse_seed(value):
    """A seed: a whole number 0..2**64-1, decimal or 0x hex."""
    v = str(value).strip()
    try:
        s = int(v, 0)
    except ValueError:
        raise ChaosError(f"not a seed: {value!r} (a whole number, decimal or 0x hex)")
    if not 0 <= s < 2 ** 64:
        raise ChaosError(f"seed out of range: {value!r} (0 to 2**64-1)")
    return s


def format_seed(seed):
    return f"0x{seed:016x}"


def attempt_seed(seed, nodeid, attempt):
    """The seed of one attempt's draws: the session seed, the test, the attempt number."""
    # imported here: hashlib loads OpenSSL (milliseconds of every session's start, chaos or not)
    import hashlib
    h = hashlib.sha256(f"{seed:x}\0{nodeid}\0{attempt}".encode("utf-8", "surrogateescape"))
    return int.from_bytes(h.digest()[:8], "little")


def portable(plan):
    """A plan without the fields that only hold in one session (generation, site table,
    deadline): what a record keeps and a replay takes."""
    keep = [f for f in plan.split(";") if f and f.split("=", 1)[0] not in ("g", "tab", "x")]
    return ";".join(keep)


def _esc(target):
    return target.replace("%", "%25").replace(";", "%3B")


_STEPS = (1, 1.5, 2, 3, 5, 7, 10)


def _nice_us(us, up=False):
    """us on a 1-1.5-2-3-5-7 series (plans read, and repeat from run to run, better):
    rounded down, or up."""
    us = max(1, int(us))
    p = 1
    while p * 10 <= us:
        p *= 10
    vals = [int(m * p) for m in _STEPS]
    if up:
        return next(v for v in vals if v >= us)
    return max(v for v in vals if v <= us)


class Target:
    """One t= field. nth > 0 makes it one-shot: of the threads of a process that reach the
    plan's one-shot targets, only the nth is held up, once at each (WHERE b or a)."""
    __slots__ = ("call", "role", "where", "permille", "lo_us", "hi_us", "target", "nth")

    def __init__(self, call, role, where, permille, lo_us, hi_us, target="", nth=0):
        self.call, self.role, self.where = call, role, where
        self.nth = int(nth)
        if self.nth and where not in ("b", "a"):
            self.where = "b"
        self.permille = int(permille)
        self.lo_us = max(1, min(int(lo_us), MAX_DELAY_US))
        self.hi_us = max(self.lo_us, min(int(hi_us), MAX_DELAY_US))
        self.target = target or ""

    @property
    def key(self):
        return (self.call, {"m": 0, "t": 1, "p": 2}.get(self.role, 3), self.target)

    def text(self):
        pm = f"#{self.nth}" if self.nth else self.permille
        t = f"t={self.call},{self.role},{self.where},{pm},{self.lo_us}-{self.hi_us}"
        return t + ("," + _esc(self.target) if self.target else "")

    def human(self):
        """The target for people ("recv ... in another thread: 2 ms-20 ms before, only the
        first such thread")."""
        who = {"m": "the test thread", "t": "another thread", "p": "a child process",
               "a": "any thread"}[self.role]
        at = {"b": "before", "a": "after", "e": "before or after"}[self.where]
        on = f" on {self.target}" if self.target else ""
        share = (f"only the {_ordinal(self.nth)} thread to get there" if self.nth else
                 f"{self.permille / 10:g}% of calls")
        return f"{self.call}{on} in {who}: {_dur(self.lo_us)}-{_dur(self.hi_us)} {at}, {share}"


def _ordinal(n):
    return {1: "first", 2: "second", 3: "third"}.get(n, f"{n}th")


def _dur(us):
    return f"{us / 1000:g} ms" if us >= 1000 else f"{us} us"


class Plan:
    """One attempt's plan: `text` (portable, recorded), `perturbed` (it may inject), `guide`
    (why these targets), `targets` (human-readable)."""

    __slots__ = ("text", "perturbed", "guide", "targets", "mode", "tobjs")

    def __init__(self, text, perturbed, guide, targets, mode, tobjs=()):
        self.text, self.perturbed, self.guide = text, perturbed, guide
        self.targets, self.mode = targets, mode
        self.tobjs = tuple(tobjs)

    def runtime(self, gen, tab, deadline_ns):
        out = self.text + f";g={gen}"
        if tab:
            out += f";tab={tab}"
        if deadline_ns:
            out += f";x={int(deadline_ns)}"
        return out


class Site:
    __slots__ = ("call", "role", "cls", "target", "count", "threads", "ran_out", "wait_ns",
                 "max_ns", "max_tmo_ns", "last_seq", "injected", "injected_ns", "max_inj_ns")

    @property
    def key(self):
        return (self.call, self.role, self.target)


class SiteTable:
    """The shared site table of this process's attempts (docs/FORMATS.md): created here,
    mapped by every process under the plan, reset at each attempt, read at its end."""

    def __init__(self, path, call_name):
        self.path = path
        self.call_name = call_name
        import mmap   # only chaos mode needs it
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
        try:
            os.ftruncate(fd, TAB_SIZE)
            self.map = mmap.mmap(fd, TAB_SIZE)
        finally:
            os.close(fd)
        self.map[:HEAD.size] = HEAD.pack(TAB_MAGIC, 0, TAB_SLOTS, 0, 0, 0, 0, 0, 0)
        self.gen = 0

    def reset(self, gen):
        """Empty the table for the attempt of generation gen (a process still running from an
        earlier attempt counts nothing into it: it checks the generation)."""
        m = self.map
        m[8:12] = struct.pack("<I", 0)     # no generation while the table is emptied
        m[HEAD.size:TAB_SIZE] = bytes(TAB_SIZE - HEAD.size)
        m[:HEAD.size] = HEAD.pack(TAB_MAGIC, 0, TAB_SLOTS, 0, 0, 0, 0, 0, 0)
        m[8:12] = struct.pack("<I", gen)
        self.gen = gen

    def head(self):
        (_, gen, _, injected, injected_ns, seq, full, procs,
         max_delay) = HEAD.unpack_from(self.map, 0)
        return {"gen": gen, "injected": injected, "injected_ns": injected_ns, "seq": seq,
                "full": full, "max_delay_ns": max_delay}

    def sites(self):
        out = []
        for (state, call, role, tlen, _th, count, ran_out, injected, cls, thr, wait_ns, max_ns,
             max_tmo, last_seq, inj_ns, max_inj, tgt) in SITE.iter_unpack(
                 self.map[HEAD.size:TAB_SIZE]):
            if state != 2:
                continue
            s = Site()
            s.call = self.call_name(call)
            s.role = role
            s.cls = cls
            s.target = tgt[:min(tlen, 47)].decode("utf-8", "replace")
            s.count, s.ran_out, s.injected = count, ran_out, injected
            s.threads = bin(thr).count("1")
            s.wait_ns, s.max_ns, s.max_tmo_ns, s.last_seq = wait_ns, max_ns, max_tmo, last_seq
            s.injected_ns, s.max_inj_ns = inj_ns, max_inj
            out.append(s)
        return out

    def close(self):
        try:
            self.map.close()
        except (BufferError, ValueError):
            pass
        try:
            os.unlink(self.path)
        except OSError:
            pass


class _TestEvidence:
    __slots__ = ("sites", "shared", "siblings", "fail_injected", "fail_last", "near", "timers",
                 "slow_sites", "durations", "outcomes")

    def __init__(self):
        self.sites = {}          # key -> (class, count of attempts it was seen in)
        self.shared = set()      # keys several threads of one process called in an attempt
        self.siblings = 0        # most threads seen at one such site
        self.fail_injected = []  # (key, cls, largest delay in us, nth, where) of failing
                                 # perturbed attempts (nth, where: a one-shot target's)
        self.fail_last = []      # (key, cls, ran out) of failing unperturbed attempts
        self.near = None         # (margin in us, key) of the closest wait of the test thread
        self.timers = set()      # keys of the test thread's polls that ran out in passing attempts
        self.slow_sites = []     # keys of other roles that waited longest in slow attempts
        self.durations = []
        self.outcomes = []       # (attempt, outcome, perturbed)


class Chaos:
    """The plans of one pytest process's attempts (controller or xdist worker)."""

    def __init__(self, mode, mods, seed, replay=None):
        self.mode = "replay" if replay else mode
        # a replay runs under the modifiers its plan was drawn with (its m= field)
        self.mods = plan_modifiers(replay) if replay else mods
        self.seed = seed
        self.replay = portable(replay) if replay else None
        self.tests = {}
        self.gen = 0
        self.table = None
        self.pressure = None
        self.first_fail = {}     # nodeid -> (attempt, plan text) of its first failing perturbed
        self.last_main = None    # the test thread's last site when the attempt's phase failed

    def meta(self):
        """meta.json's "chaos" object."""
        return {"mode": self.mode, "modifiers": list(self.mods),
                "seed": None if self.replay else format_seed(self.seed), "plan": self.replay}

    def describe(self):
        if self.replay:
            return f"chaos: replaying one plan in every attempt: {self.replay}"
        m = self.mode + "".join("+" + x for x in self.mods)
        return (f"chaos {m}, seed {format_seed(self.seed)} (this hunt again: "
                f"--fh-chaos={m} --fh-chaos-seed {format_seed(self.seed)})")

    # ---- plans ----
    def plan_for(self, nodeid, attempt, limit_s=None):
        """The plan of attempt `attempt` of nodeid (a Plan)."""
        budget = BUDGET_US
        if limit_s:
            budget = max(1000, min(budget, int(limit_s * 1e6 / 4)))
        if self.replay:
            return Plan(self.replay, True, "replay", [], "replay")
        aseed = attempt_seed(self.seed, nodeid, attempt)
        head = f"fhchaos1;s={aseed:016x}"
        if attempt <= WARMUP or attempt % CONTROL_EVERY == 0:
            why = "warm-up" if attempt <= WARMUP else "control"
            return Plan(head + ";p=0;y=0", False, why, [], self.mode)
        if self.mods:
            head += ";m=" + "+".join(self.mods)
        rng = random.Random(aseed)
        if self.mode == "blind":
            text = f"{head};p=150;d=20-20000;c={SPREAD_CLASSES};y=50;b={budget}"
            return Plan(text, True, "blind: spread over all blocking calls", [], self.mode)
        ev = self.tests.get(nodeid) or _TestEvidence()
        targets, guide = self._guided_targets(ev, rng)
        spread = "p=20;d=20-5000" if targets else "p=150;d=20-20000"
        text = f"{head};{spread};c={SPREAD_CLASSES};y=20;b={budget}"
        for t in targets:
            text += ";" + t.text()
        return Plan(text, True, guide, [t.human() for t in targets], self.mode, targets)

    @staticmethod
    def _where(cls, rng):
        if cls & (C_PROC | C_FILE):
            return "b"           # process creation; a check-then-act's "act"
        if cls & C_START:
            return "a"
        return rng.choice("ba")

    def _guided_targets(self, ev, rng):
        targets, seen, why = [], set(), []

        def add(key, cls, where, permille, lo, hi, nth=0):
            if key in seen or len(targets) >= MAX_TARGETS or cls & C_COND:
                return False
            seen.add(key)
            call, role, target = key
            lo = min(_nice_us(lo, up=True), MAX_DELAY_US)
            targets.append(Target(call, ROLE_LETTERS.get(role, "a"), where, permille, lo,
                                  max(lo, _nice_us(hi)), target, nth))
            return True

        def because(text):
            if text not in why:
                why.append(text)

        others = sorted(k for k, (c, _) in ev.sites.items() if k[1] != 0 and not c & C_COND)
        mains = sorted(k for k, (c, _) in ev.sites.items() if k[1] == 0 and not c & C_COND)
        for key, cls, delay_us, nth, where in ev.fail_injected[-4:][::-1]:
            if add(key, cls, where, 900, max(20, delay_us // 2), min(MAX_DELAY_US, delay_us * 2),
                   nth):
                because("again what a failing attempt had injected")
        for key, cls, ran_out in ev.fail_last[-2:][::-1]:
            if ran_out:
                # the wait ran out: hold up, long, what it may have waited for
                for k in rng.sample(others, min(2, len(others))):
                    add(k, ev.sites[k][0], self._where(ev.sites[k][0], rng), 800, 5000,
                        MAX_DELAY_US)
                because("what the wait a failing attempt ran out in may have waited for")
            elif add(key, cls, "e", 800, 100, 20000):
                because("the last call of a failing attempt")
        near = ev.near is not None and ev.near[0] * 1.2 <= MAX_DELAY_US and others
        if near:
            margin_us = ev.near[0]
            # the margin is one attempt's; delays reach well past it (up to 20 ms at least),
            # since a wait that ends by a timer (an event loop's) also looks close to its timeout
            for k in rng.sample(others, min(2, len(others))):
                add(k, ev.sites[k][0], self._where(ev.sites[k][0], rng), 800, margin_us * 1.2,
                    min(MAX_DELAY_US, max(margin_us * 2 + 1000, 20000)))
            because(f"a wait of the test thread ended {_dur(int(margin_us))} before its "
                    f"timeout: the other threads and processes held up by more")
        for k in ev.slow_sites[-2:]:
            if k in ev.sites and add(k, ev.sites[k][0], self._where(ev.sites[k][0], rng), 700,
                                     1000, 20000):
                because("the longest waits of a slow attempt")
        # A rotating focus on the sites seen: other threads and processes first (a race needs
        # one of them held up while the test thread goes on), one of the test thread's.
        focus = [k for k in others if k not in seen]
        picks = rng.sample(focus, min(3, len(focus)))
        if not near:
            rest = [k for k in mains if k not in seen]
            picks += rng.sample(rest, min(max(1, 4 - len(picks)), len(rest)))
        # The thread a plan slows down at the shared sites it names (below): mostly the first
        # to get there (held up, any later one overtakes it), else another of the siblings.
        rank = 1 if rng.random() < 0.75 else rng.randint(2, max(2, min(ev.siblings, 8)))
        siblings = ev.siblings >= 2
        for k in picks:
            # Several threads often share a site (workers running the same code): holding up
            # about half of their calls delays one and not the other more often than holding
            # up most of them, and an interleaving changes only when they are delayed unevenly.
            pm = 500 if k[1] == 1 else 800
            # other threads' and processes' calls held up by 1 ms or more: past a window of
            # microseconds as well as a few milliseconds of lead (log-uniform from 100 us, most
            # delays would be too short for the latter)
            lo = 100 if k[1] == 0 else 1000
            hi = 20000
            nth = 0
            if k[1] == 1 and k in ev.shared:
                # A site several threads called in one attempt: siblings running the same
                # code (child processes rank their own threads: not here). Delaying each call
                # by chance delays them alike as often as not; a one-shot target holds up one
                # of them only (the same one at every such site of the plan: a thread
                # preempted a few times), so the others overtake it, by 2 ms or more.
                nth = rank
                lo = 2000
            elif k[1] == 0 and siblings:
                # The test thread's own calls, with sibling threads about: a light touch.
                # Held up long and often (an event loop's waits), it only starts what it
                # starts later, compressing the gaps between the siblings, the opposite of
                # what exposes an ordering between them. (Without siblings its own calls
                # may be one side of the race: a check-then-act against a child process.)
                pm, hi = 200, 5000
            add(k, ev.sites[k][0], self._where(ev.sites[k][0], rng), pm, lo, hi, nth)
        if picks and not why:
            because("a focus on the calls seen so far")
        guide = "guided: " + "; ".join(why) if why else "guided: no evidence yet, spread"
        return targets, guide

    # ---- evidence ----
    def observe(self, nodeid, attempt, outcome, duration_s, plan, sites, last_main):
        """What attempt `attempt` showed (its site table, the test thread's last blocking
        site at the failure), for the plans of the next attempts."""
        ev = self.tests.get(nodeid)
        if ev is None:
            ev = self.tests[nodeid] = _TestEvidence()
        failed = outcome in ("failed", "error")
        ev.outcomes.append((attempt, outcome, plan.perturbed))
        by_key = {}
        for s in sites:
            by_key[s.key] = s
            cls, n = ev.sites.get(s.key, (s.cls, 0))
            ev.sites[s.key] = (cls, n + 1)
            if not plan.perturbed and s.threads >= 2:
                ev.shared.add(s.key)
                if s.role == 1:
                    ev.siblings = max(ev.siblings, s.threads)
        if failed and plan.perturbed:
            self.first_fail.setdefault(nodeid, (attempt, plan.text))
            shots = {t.key: t for t in plan.tobjs if t.nth}
            for s in sites:
                if s.injected:
                    t = shots.get(s.key)
                    ev.fail_injected.append((s.key, s.cls, max(20, s.max_inj_ns // 1000),
                                             t.nth if t else 0, t.where if t else "e"))
        elif failed and last_main is not None:
            ev.fail_last.append((last_main.key, last_main.cls, bool(last_main.ran_out)))
        if not failed and not plan.perturbed:
            ev.durations.append(duration_s)
            for s in sites:
                # a poll of the test thread that ran out while the test passed waited for a
                # timer (an event loop's), not for an answer that came close to being late
                if s.role == 0 and s.cls & C_POLL and s.ran_out:
                    ev.timers.add(s.key)
                    if ev.near is not None and ev.near[1] == s.key:
                        ev.near = None
            for s in sites:
                # a wait of the test thread that came close to its timeout (a sleep always
                # takes its time: not a wait that could run out)
                if s.key in ev.timers:
                    continue
                if (s.role == 0 and s.cls & (C_NET | C_POLL | C_LOCK | C_PROC) and
                        s.max_tmo_ns > 0 and s.max_tmo_ns // 2 <= s.max_ns < s.max_tmo_ns):
                    margin = (s.max_tmo_ns - s.max_ns) / 1000.0
                    if ev.near is None or margin < ev.near[0]:
                        ev.near = (margin, s.key)
            med = sorted(ev.durations)[len(ev.durations) // 2]
            if len(ev.durations) >= 2 and duration_s >= 1.5 * med and duration_s - med >= 0.02:
                others = [s for s in sites if s.role != 0 and not s.cls & C_COND]
                others.sort(key=lambda s: -s.max_ns)
                ev.slow_sites.extend(s.key for s in others[:2])

    def record_field(self, plan, head):
        """The attempt record's "chaos" object (docs/FORMATS.md)."""
        return {"mode": plan.mode, "seed": None if self.replay else format_seed(self.seed),
                "perturbed": plan.perturbed, "plan": plan.text if plan.perturbed else None,
                "guide": plan.guide, "targets": plan.targets,
                "injected": int(head["injected"]) if head else 0,
                "injected_s": round(head["injected_ns"] / 1e9, 6) if head else 0.0}

    def notes(self, lib, rootdir):
        """Terminal lines at the end of the hunt: per test that failed under chaos, its
        perturbed and unperturbed counts and how to replay a failing attempt."""
        out = []
        for nodeid, ev in self.tests.items():
            pf = sum(1 for _, o, p in ev.outcomes if p and o in ("failed", "error"))
            pn = sum(1 for _, o, p in ev.outcomes if p and o in ("passed", "failed", "error"))
            uf = sum(1 for _, o, p in ev.outcomes if not p and o in ("failed", "error"))
            un = sum(1 for _, o, p in ev.outcomes if not p and o in ("passed", "failed", "error"))
            if not pf and not uf:
                continue
            if self.replay:
                out.append(f"flakehunter: chaos replay: {nodeid} failed {pf}/{pn} attempts "
                           f"under the plan (scheduling is not deterministic: a replay "
                           f"reproduces a failure at this rate, not every time)")
                continue
            line = (f"flakehunter: chaos: {nodeid}: {pf}/{pn} perturbed attempts failed, "
                    f"{uf}/{un} unperturbed")
            if pf and not uf:
                line += " (only under chaos)"
            out.append(line)
            if nodeid in self.first_fail:
                attempt, text = self.first_fail[nodeid]
                out.append(f"  reproduce attempt {attempt}: "
                           f"{reproduce_command(lib, nodeid, text, rootdir=rootdir)}")
        return out

    def failure_point(self):
        """A phase of the attempt just failed: remember the test thread's last site (the one
        it counted last) before teardown adds its own calls."""
        if self.table is None:
            return
        main = [s for s in self.table.sites() if s.role == 0]
        self.last_main = max(main, key=lambda s: s.last_seq) if main else None


def plan_modifiers(plan_text):
    """The modifiers (+cpu, +prio) a plan was drawn with: its m= field (the preload ignores
    it; a replay applies it)."""
    for f in plan_text.split(";"):
        if f.startswith("m="):
            return tuple(m for m in f[2:].split("+") if m in MODIFIERS)
    return ()


def reproduce_command(lib, nodeid, plan_text, runs=20, rootdir=None):
    """The command that replays one attempt's plan `runs` times: from the rootdir (the nodeid
    is relative to it), under the preload, the plan as it was (its modifiers in it)."""
    pre = f"LD_PRELOAD={shlex.quote(lib)} " if lib else "LD_PRELOAD=libfhtrace.so "
    cd = f"cd {shlex.quote(str(rootdir))} && " if rootdir else ""
    return (f"{cd}{pre}pytest {shlex.quote(nodeid)} --fh --fh-runs {runs} "
            f"--fh-chaos-plan {shlex.quote(plan_text)}")


class Pressure:
    """+cpu: one busy process per CPU the test may run on, pinned there, running only during
    perturbed attempts (stopped otherwise). Started without the preload or FH_* variables (they
    are not the program under test), before any attempt (the hang watchdog's "children of the
    attempt" are those started after it began)."""

    # PR_SET_PDEATHSIG (1) with SIGKILL (9): a session that dies without its cleanup (kill -9)
    # leaves no busy process behind, even a stopped one; then the parent is checked once, for
    # one that died before the prctl.
    CODE = ("import ctypes,os,sys\nctypes.CDLL(None).prctl(1,9,0,0,0)\n"
            "if os.getppid()!=int(sys.argv[2]): sys.exit(0)\n"
            "os.sched_setaffinity(0,{int(sys.argv[1])})\nwhile True: pass\n")

    def __init__(self, python):
        import signal
        import subprocess
        self.signal = signal
        env = {k: v for k, v in os.environ.items()
               if k != "LD_PRELOAD" and not k.startswith("FH_")}
        try:
            cpus = sorted(os.sched_getaffinity(0))
        except (AttributeError, OSError):
            cpus = list(range(os.cpu_count() or 1))
        self.procs = []
        for cpu in cpus:
            p = subprocess.Popen([python, "-S", "-c", self.CODE, str(cpu), str(os.getpid())],
                                 env=env,
                                 stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                 stderr=subprocess.DEVNULL)
            self.procs.append(p)
        self.running = True
        self.pause()

    def _send(self, sig):
        for p in self.procs:
            try:
                os.kill(p.pid, sig)
            except OSError:
                pass

    def resume(self):
        if not self.running:
            self._send(self.signal.SIGCONT)
            self.running = True

    def pause(self):
        if self.running:
            self._send(self.signal.SIGSTOP)
            self.running = False

    def close(self):
        self._send(self.signal.SIGKILL)
        self._send(self.signal.SIGCONT)
        for p in self.procs:
            try:
                p.wait(timeout=5)
            except Exception:  # noqa: BLE001 - best effort at session end
                pass
