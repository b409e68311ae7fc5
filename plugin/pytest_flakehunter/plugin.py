# SPDX-License-Identifier: MIT
"""The pytest side of flakehunter: options, the re-run protocol, attempt records, the analyzer.

`--fh` replaces pytest's run-test protocol for every item with a loop that runs the item N times
back to back (`runtestprotocol` once per attempt). Between attempts only the item itself is torn
down (pytest's SetupState is asked to tear down to the item's parent), so function-scoped
fixtures are fresh every attempt while session, package, module and class fixtures live on and
are torn down exactly once, by the last attempt's teardown (which gets the real next item), just
as without the plugin. `--fh-isolate` tears the whole stack down after every attempt instead.

Every phase report reaches `pytest_runtest_logreport`, so pytest's counts and exit status are
truthful. The expensive part of a failure, pytest's `repr_failure` (it re-parses the source file
and formats the whole traceback), is done once per failure cluster of a test: a later attempt
failing at the same place with the same exception type gets a one-line longrepr naming the
attempt that showed it in full. The cluster key used here (phase, exception type, innermost
three frames) only decides what the terminal shows; the analyzer does the real clustering.

How many attempts a test gets is plan.py's business (a fixed count, `--fh-runs auto`, or
`--fh-budget`). When the count is adaptive, whether an attempt is the last is only known once it
ran, but its teardown must know where the next test is (to tear down to the right level): the
teardown gets a stand-in for the next item that decides when SetupState asks it, from the
attempt's setup and call (see _NextItem). What the terminal shows is termout.py's; the
scoreboard behind it and the exit policy are board.py's; the quarantine file quarantine.py's.

Each attempt ends with one JSON line in RUN_DIR/attempts-<pid>.jsonl (records.py). Only the
controller creates the run directory (rundir.py) and runs `fh-analyze report` (analyzer.py).
"""
import errno
import json
import os
import sys
import threading
import time

import pytest

from . import (analyzer, board, chaos, compat, fixtures, footprint, hang, order, perf, plan,
               records, replay, rundir, termout)
from .fingerprint import fingerprint
from .preload import OUTCOMES, PHASES, Preload
from .redact import scrub
from .text import safe_data

PLUGIN_VERSION = "0.1.0"

# (dest, flags, ini name, kind, default, help). CLI values win over ini values.
OPTIONS = [
    ("fh", "--fh", "fh", "bool", False,
     "hunt flaky tests: run every test --fh-runs times and write the flakehunter report"),
    ("fh_runs", "--fh-runs", "fh_runs", "runs", 10,
     "attempts per test (default 10), or 'auto': stop each test once its verdict is settled"),
    ("fh_runs_auto", "--fh-runs-auto", "fh_runs_auto", "bool", False,
     "the same as --fh-runs auto (an ini twin that typed configuration files can hold)"),
    ("fh_max_runs", "--fh-max-runs", "fh_max_runs", "int", plan.DEFAULT_MAX_RUNS,
     "most attempts per test with --fh-runs auto or --fh-budget (default 100)"),
    ("fh_budget", "--fh-budget", "fh_budget", "duration", None,
     "hunt for this long (e.g. 10m, 90s, 1h30m): attempts per test planned from durations"),
    ("fh_fail_on", "--fh-fail-on", "fh_fail_on", "choice", "any",
     "which tests fail the session: any (pytest's status), broken, flaky (or broken), never"),
    ("fh_quarantine", "--fh-quarantine", "fh_quarantine", "path", None,
     "TOML file of quarantined tests: hunted and reported, never failing the session"),
    ("fh_junit", "--fh-junit", "fh_junit", "path", None,
     "write a JUnit XML report (Surefire schema, every failing attempt) to PATH"),
    ("fh_markdown", "--fh-markdown", "fh_markdown", "path", None,
     "write a Markdown summary to PATH (also appended to $GITHUB_STEP_SUMMARY when set)"),
    ("fh_report", "--fh-report", "fh_report", "path", "flakehunter_report.html",
     "HTML report path (default flakehunter_report.html)"),
    ("fh_json", "--fh-json", "fh_json", "path", None,
     "JSON summary path (default: the report path with .json)"),
    ("fh_ai", "--fh-ai", "fh_ai", "bool", False,
     "ask an LLM (ANTHROPIC_API_KEY) for a root-cause hypothesis per flaky test"),
    ("fh_ai_model", "--fh-ai-model", "fh_ai_model", "str", None,
     "model for --fh-ai (default: the analyzer's)"),
    ("fh_ai_dotenv", "--fh-ai-dotenv", "fh_ai_dotenv", "bool", False,
     "let --fh-ai read ANTHROPIC_API_KEY from ./.env"),
    ("fh_history_dir", "--fh-history-dir", "fh_history_dir", "path", ".flakehunter/history",
     "history directory (default .flakehunter/history)"),
    ("fh_no_history", "--fh-no-history", "fh_no_history", "bool", False,
     "neither read nor append the history"),
    ("fh_isolate", "--fh-isolate", "fh_isolate", "bool", False,
     "tear down every fixture (session ones too) between attempts"),
    ("fh_keep_runs", "--fh-keep-runs", "fh_keep_runs", "int", 20,
     "run directories to keep under .flakehunter/runs (default 20)"),
    ("fh_stack_ms", "--fh-stack-ms", "fh_stack_ms", "int", None,
     "capture stacks of blocking calls longer than MS (preload; FH_STACK_MS)"),
    ("fh_run_dir", "--fh-run-dir", "fh_run_dir", "path", None,
     "write the run directory here (new or empty; not pruned) instead of "
     ".flakehunter/runs/<run-id>, e.g. to upload it from a CI shard"),
    ("fh_no_report", "--fh-no-report", "fh_no_report", "bool", False,
     "record only: no analyzer, report or history (a shard merged later with "
     "fh-analyze merge)"),
    ("fh_profile", "--fh-profile", "fh_profile", "bool", False,
     "sample where CPU time goes (Python lines) in every attempt and in the processes tests "
     "start (preload; without it the profiler switches on by itself for tests whose "
     "attempts vary)"),
    ("fh_profile_ms", "--fh-profile-ms", "fh_profile_ms", "int", perf.DEFAULT_MS,
     "the profiler's interval: a sample every MS milliseconds of a thread's CPU (default 10)"),
    ("fh_no_auto_profile", "--fh-no-auto-profile", "fh_no_auto_profile", "bool", False,
     "never switch the profiler on by itself (only --fh-profile does)"),
    ("fh_timeout", "--fh-timeout", "fh_timeout", "seconds", None,
     "time limit per attempt (setup + call + teardown), fractions allowed: a hung attempt "
     "gets a hang snapshot, is stopped, and the hunt goes on (default: none)"),
    ("fh_order", "--fh-order", "fh_order", "order", "back-to-back",
     "back-to-back (default): a test's attempts one after the other; rounds: N rounds of "
     "the whole selection, each in a shuffled order (order-dependent tests)"),
    ("fh_seed", "--fh-seed", "fh_seed", "seed", None,
     "seed of the rounds' shuffled orders (default: random, printed in the header)"),
    ("fh_confirm", "--fh-confirm", "fh_confirm", "int", replay.DEFAULT_CONFIRM,
     "rounds: replay each suspected polluter with its victim in fresh pytest processes, "
     f"up to N times each (default {replay.DEFAULT_CONFIRM})"),
    ("fh_no_confirm", "--fh-no-confirm", "fh_no_confirm", "bool", False,
     "rounds: do not replay suspected polluters"),
    ("fh_chaos", "--fh-chaos", "fh_chaos", "chaos", None,
     "chaos mode (needs the preload): perturb the tests as a loaded machine could, so rare "
     "flakes show up in few attempts; MODE guided (default: where the evidence points) or "
     "blind, optionally +cpu (busy processes on the test's CPUs) and +prio (batch "
     "scheduling)"),
    ("fh_chaos_seed", "--fh-chaos-seed", "fh_chaos_seed", "cseed", None,
     "seed of chaos mode's plans (default: random, printed and recorded): the same seed "
     "gives the same blind plans per test and attempt (guided plans also follow what the "
     "earlier attempts showed; --fh-chaos-plan replays one exactly)"),
    ("fh_chaos_plan", "--fh-chaos-plan", "fh_chaos_plan", "plan", None,
     "replay one attempt's chaos plan (as the report prints it) in every attempt"),
]

HUNTER_KEY = pytest.StashKey()


def pytest_addoption(parser):
    group = parser.getgroup("flakehunter", "flakehunter: hunt flaky tests")
    for dest, flag, ini, kind, default, help_ in OPTIONS:
        if kind == "bool":
            group.addoption(flag, dest=dest, action="store_true", default=None, help=help_)
            parser.addini(ini, help_, type="bool", default=False)
        elif kind == "chaos":
            # --fh-chaos alone means guided; --fh-chaos=MODE picks one
            group.addoption(flag, dest=dest, action="store", nargs="?", const="guided",
                            default=None, metavar="MODE", help=help_)
            parser.addini(ini, help_, type="string", default="")
        else:
            metavar = {"int": "N", "path": "PATH", "str": "MODEL", "runs": "N|auto",
                       "seconds": "SECONDS",
                       "duration": "DURATION", "choice": "{" + ",".join(board.POLICIES) + "}",
                       "order": "{" + ",".join(order.MODES) + "}", "seed": "SEED",
                       "cseed": "SEED", "plan": "PLAN"}[kind]
            if dest in ("fh_stack_ms", "fh_profile_ms"):
                metavar = "MS"
            group.addoption(flag, dest=dest, action="store", default=None, metavar=metavar,
                            help=help_)
            if kind in ("int", "runs", "seed") and compat.INI_INT == "int":
                # pytest 9's typed configuration cannot hold "auto" in an int option: there
                # the ini spelling of --fh-runs auto is fh_runs_auto = true
                parser.addini(ini, help_, type="int", default=None)  # None: not set
            else:
                parser.addini(ini, help_, type="string", default="")


def _resolve(config):
    """Effective options: CLI, else ini, else default. Paths made absolute."""
    ini_base = config.inipath.parent if config.inipath else config.rootpath
    cli_base = config.invocation_params.dir
    out = {"given": set()}
    for dest, flag, ini, kind, default, _ in OPTIONS:
        v = config.getoption(dest)
        base = cli_base
        if v is None:
            try:
                v = config.getini(ini)
            except (TypeError, ValueError) as e:  # pytest's own check of the config value
                what = "not an integer" if kind in ("int", "runs") else "bad value"
                raise pytest.UsageError(f"{flag} (ini {ini}): {what} ({e})")
            base = ini_base
            if kind != "bool" and v in ("", None):
                v = None
        if v is not None and v is not False:
            out["given"].add(dest)
        if kind == "bool":
            v = bool(v)
        elif v is None:
            v = default
        elif kind == "seconds":
            try:
                v = float(str(v).strip())
            except ValueError:
                raise pytest.UsageError(f"{flag} (ini {ini}): not a number of seconds: {v!r}")
            if not v > 0 or v == float("inf"):
                raise pytest.UsageError(f"{flag} (ini {ini}): must be more than 0 seconds, "
                                        f"got {v!r}")
        elif kind == "chaos":
            try:
                v = chaos.parse_mode(v)
            except chaos.ChaosError as e:
                raise pytest.UsageError(f"{flag} (ini {ini}): {e}")
        elif kind == "cseed":
            try:
                v = chaos.parse_seed(v)
            except chaos.ChaosError as e:
                raise pytest.UsageError(f"{flag} (ini {ini}): {e}")
        elif kind == "plan":
            v = str(v).strip()
        elif kind == "runs" and str(v).strip().lower() == "auto":
            v = "auto"
        elif kind == "duration":
            try:
                v = plan.parse_duration(v)
            except ValueError as e:
                raise pytest.UsageError(f"{flag} (ini {ini}): {e}")
        elif kind in ("order", "seed"):
            try:
                v = order.parse_mode(v) if kind == "order" else order.parse_seed(v)
            except ValueError as e:
                raise pytest.UsageError(f"{flag} (ini {ini}): {e}")
        elif kind == "choice":
            v = str(v).strip().lower()
            if v not in board.POLICIES:
                raise pytest.UsageError(f"{flag} (ini {ini}): one of "
                                        f"{', '.join(board.POLICIES)}, got {v!r}")
        elif kind in ("int", "runs"):
            try:
                v = int(str(v).strip())
            except ValueError:
                what = "an integer or 'auto'" if kind == "runs" else "an integer"
                raise pytest.UsageError(f"{flag} (ini {ini}): not {what}: {v!r}")
            lo = 0 if dest in ("fh_stack_ms", "fh_confirm") else 1
            if v < lo:
                raise pytest.UsageError(f"{flag} (ini {ini}): must be at least {lo}, got {v}")
        if kind == "path" and v is not None:
            v = os.path.normpath(os.path.join(base, os.path.expanduser(str(v))))
        out[dest[3:] or "enabled"] = v
    if out["json"] is None:
        out["json"] = os.path.splitext(out["report"])[0] + ".json"
    return out


def pytest_configure(config):
    if os.environ.get(replay.ENV_PASSIVE) == "1":
        return  # a replay process of a hunt: plain pytest, whatever the configuration says
    opts = _resolve(config)
    if not opts["enabled"]:
        return
    o = config.option
    if any(getattr(o, name, False) for name in ("help", "version", "collectonly", "markers",
                                                 "showfixtures", "show_fixtures_per_test")):
        return  # nothing will run: no run directory, no analyzer
    hunter = Hunter(config, opts)
    config.stash[HUNTER_KEY] = hunter
    pm = config.pluginmanager
    pm.register(hunter, "flakehunter-hunter")
    if hunter.preload.active:
        pm.register(_PhaseMarks(hunter.preload), "flakehunter-phases")
        hunter.fixture_setups = fixtures.FixtureSetups()
        pm.register(hunter.fixture_setups, "flakehunter-fixture-setups")
    if hunter.worker:
        pm.register(_WorkerTags(hunter), "flakehunter-worker-tags")
    else:
        hunter.term = termout.register(config, hunter.board, hunter)
        pm.register(compat.ReleaseReports(), "flakehunter-release-reports")
        if pm.hasplugin("xdist"):
            pm.register(_XdistController(hunter), "flakehunter-xdist")
            if (config.getoption("dist", "no") or "no") != "no":
                pm.register(_XdistFeed(hunter), "flakehunter-xdist-feed")


class _Attempt:
    """What the hooks learn about the attempt in progress."""

    __slots__ = ("item", "number", "exc", "skip", "reports", "planned", "paths")

    def __init__(self, item, number, paths=None):
        self.item = item
        self.paths = paths  # rootdir-relative file names, for a failure without exception
        self.number = number
        self.exc = {}  # when -> (error dict, frames)
        self.skip = False
        self.reports = None  # xdist workers: the attempt's reports so far
        self.planned = None  # xdist workers: attempts planned, for the teardown tag


def _not_itself(item, nxt):
    """The teardown target when the next attempt is of `nxt`: an item that runs again right
    away is torn down to its parent (its own fixtures fresh), as between back-to-back
    attempts; SetupState would otherwise keep it set up and skip its setup."""
    return item.parent if nxt is item else nxt


class _RoundTest:
    """One test's state across the rounds."""

    __slots__ = ("item", "nodeid", "nodeid_b", "head", "tail", "ps", "seen", "attempt",
                 "finished", "budget_last", "t0")

    def __init__(self, hunter, item, cap):
        file, function, param_id, fixtures, nodeid_b = hunter._item_static(item)
        self.item = item
        self.nodeid = item.nodeid
        self.nodeid_b = nodeid_b
        self.head, self.tail = records.item_parts(item.nodeid, cap, hunter.worker or "main",
                                                  file, function, param_id, fixtures,
                                                  hunter.isolate)
        self.ps = plan.TestPlanState(cap, 0)
        self.seen = {}
        self.attempt = 0
        self.finished = False
        self.budget_last = False
        self.t0 = 0


class _NextItem:
    """The `nextitem` an adaptive attempt's teardown gets. SetupState.teardown_exact() calls
    its listchain() when the teardown runs, after setup and call: then `decide()` says whether
    this attempt will be the last (the real next item: tear down what it does not share) or
    not (the item's parent: only the item's own fixtures go). The guess uses the setup and
    call outcomes; the loop checks it against the attempt's real outcome afterwards."""

    __slots__ = ("decide", "chosen")

    def __init__(self, decide):
        self.decide = decide
        self.chosen = False

    def target(self):
        if self.chosen is False:
            self.chosen = self.decide()
        return self.chosen

    def listchain(self):
        t = self.target()
        return t.listchain() if t is not None else []

    def __getattr__(self, name):
        return getattr(self.target(), name)


class Hunter:
    """The active plugin object (registered only with --fh); its state lives here."""

    def __init__(self, config, opts):
        self.config = config
        self.opts = opts
        self.t_start = time.monotonic()
        self.auto = opts["runs"] == "auto" or opts["runs_auto"]
        self.budget_s = opts["budget"]
        explicit_runs = "fh_runs" in opts["given"] and not self.auto
        if self.auto or self.budget_s is not None:
            self.runs = opts["runs"] if explicit_runs else opts["max_runs"]
        else:
            self.runs = opts["runs"]
        self.rounds = opts["order"] == "rounds"
        # In rounds mode a budget decides how many rounds run (the rounds loop); each test's
        # own plan is only its count or the --fh-runs auto rule.
        # a fixed count (no auto, no budget) is --fh-runs N or its default, not the cap
        fixed = not self.auto and self.budget_s is None
        self.planner = plan.Planner(self.runs if fixed or (explicit_runs and not self.auto)
                                    else None,
                                    self.auto, opts["max_runs"] if not explicit_runs
                                    else self.runs, None if self.rounds else self.budget_s,
                                    start=self.t_start)
        self.isolate = opts["isolate"]
        self.footprint = footprint.Footprint()
        self.round_items = []       # rounds mode: this process's share, run at its last item
        self.timeout_settings = {}  # rounds mode: pytest-timeout's settings per item
        self.rounds_done = 0
        self.xdist_item = None
        self.replay_lines = []
        self.paths = records.Paths(config.rootpath)
        if compat.runtestprotocol is None:
            raise pytest.UsageError(f"flakehunter: pytest {pytest.__version__} has no "
                                    "_pytest.runner.runtestprotocol; --fh cannot re-run tests")
        self.undo = []  # what pytest_unconfigure restores
        self.env_before = {k: os.environ.get(k) for k in ("FH_TRACE_DIR", "FH_STACK_MS",
                                                         "FH_CHAOS")}
        self.env_start = dict(os.environ)   # the replays' environment: not what tests left
        self.rootdir = str(config.rootpath)
        self.preload = Preload()
        workerinput = getattr(config, "workerinput", None)
        self.chaos = self._chaos_of(opts, workerinput)
        self.cur = None
        self.seen = {}
        self.fps = {}
        self.writer = None
        self.analysis = None
        self.session = None
        self.term = None
        self.board = board.Board()
        self.quarantine = None
        self.exit_line = None
        self.items_started = 0
        self.collect_errors = 0  # failed collection reports: failures outside the hunted tests
        self.lost_meta = None    # (errno, text) when meta.json could not be written
        self.lost_workers = {}   # errno name -> records the xdist workers could not write
        self.worker = workerinput["workerid"] if workerinput else None
        if workerinput is not None and workerinput.get("fh_seed") is not None:
            self.seed = int(workerinput["fh_seed"])
        elif self.rounds:
            self.seed = opts["seed"] if opts["seed"] is not None else order.new_seed()
        else:
            self.seed = opts["seed"]
        self.share = 1.0 / max(1, int(workerinput.get("workercount", 1))) if workerinput else 1.0
        if workerinput is not None:
            self.run_dir = workerinput.get("fh_run_dir")
            if not self.run_dir:
                raise pytest.UsageError("flakehunter: xdist worker started without a run directory")
        else:
            if opts["quarantine"]:
                from . import quarantine
                try:
                    self.quarantine = quarantine.Quarantine(
                        opts["quarantine"], quarantine.load(opts["quarantine"]))
                except quarantine.QuarantineError as e:
                    raise pytest.UsageError(f"flakehunter: quarantine: {e}")
            if opts["run_dir"]:
                try:
                    self.run_id, self.run_dir = rundir.create_at(opts["run_dir"])
                except OSError as e:
                    raise pytest.UsageError(f"flakehunter: --fh-run-dir: {e.strerror or e}")
            else:
                runs_root = os.path.join(str(config.rootpath), ".flakehunter", "runs")
                try:
                    self.run_id, self.run_dir = rundir.create(runs_root)
                except OSError as e:
                    raise pytest.UsageError(f"flakehunter: cannot create a run directory "
                                            f"under {runs_root}: {e.strerror or e}")
                rundir.prune(runs_root, opts["keep_runs"], current=self.run_dir)
        if workerinput is None:
            xdist = (config.getoption("dist", "no") or "no") != "no"
            try:
                rundir.write_meta(self.run_dir, self.run_id, runs=self.runs,
                                  isolate=self.isolate, xdist=xdist,
                                  tracing=self.preload.active, rootdir=config.rootpath,
                                  args=config.invocation_params.args,
                                  pytest_version=pytest.__version__,
                                  plugin_version=PLUGIN_VERSION,
                                  runs_mode="auto" if self.auto else "fixed",
                                  max_runs=self.planner.cap, budget_s=self.budget_s,
                                  fail_on=opts["fail_on"], quarantine=opts["quarantine"],
                                  order={"mode": opts["order"],
                                         "seed": self.seed if self.rounds else None},
                                  chaos=self.chaos.meta() if self.chaos else None)
            except OSError as e:
                # The hunt goes on without it: the analyzer uses defaults for a missing
                # meta.json, and the loss is counted and reported like a lost record.
                self.lost_meta = (e.errno, e.strerror or str(e))
        trace_dir = os.path.join(self.run_dir, "trace")
        os.environ["FH_TRACE_DIR"] = trace_dir
        if opts["stack_ms"] is not None:
            os.environ["FH_STACK_MS"] = str(opts["stack_ms"])
        self.start_error = self.preload.start(trace_dir)
        if self.chaos is not None:
            if self.start_error:
                raise pytest.UsageError(
                    f"--fh-chaos: chaos needs tracing (every perturbation is recorded), and "
                    f"it could not start in {trace_dir}: {os.strerror(-self.start_error)}")
            self._chaos_start()
        self.fixture_setups = None   # fixtures.FixtureSetups while tracing
        self.perf = perf.Perf(self.preload, opts["profile"], not opts["no_auto_profile"],
                              opts["profile_ms"])
        self.perf.install()
        self.guard = hang.HangGuard(self, opts["timeout"], self.worker)
        self.guard.install()
        self.footprint.install()
        self.undo.append(self.footprint.uninstall)
        # pytest's failure formatting made faster while --fh is on; undone at unconfigure
        undo = compat.memoize_statement_ranges()
        if undo:
            self.undo.append(undo)

    # ---- chaos mode (chaos.py) ----
    def _chaos_of(self, opts, workerinput):
        """The chaos planner the options ask for, or None; usage errors before anything is
        written."""
        mode, replay, seed = opts["chaos"], opts["chaos_plan"], opts["chaos_seed"]
        if mode is None and replay is None:
            if seed is not None:
                raise pytest.UsageError("--fh-chaos-seed: needs --fh-chaos (or "
                                        "--fh-chaos-plan)")
            return None
        flag = "--fh-chaos-plan" if mode is None else "--fh-chaos"
        if opts["order"] == "rounds":
            # a plan belongs to one test's attempts one after the other; rounds interleave tests
            raise pytest.UsageError(f"{flag}: works with --fh-order=back-to-back only")
        if not self.preload.active:
            raise pytest.UsageError(f"{flag}: chaos needs LD_PRELOAD=libfhtrace.so (the "
                                    "preload injects the perturbations and records them)")
        if not self.preload.has_chaos:
            raise pytest.UsageError(f"{flag}: the preloaded libfhtrace.so has no chaos mode "
                                    "(an older build); rebuild it")
        if replay is not None:
            if mode is not None and (mode[0] != "guided" or mode[1]):
                raise pytest.UsageError("--fh-chaos-plan replays one plan as it is: leave "
                                        "out --fh-chaos=MODE")
            if self.preload.chaos_check(replay) != 0 or "\n" in replay:
                raise pytest.UsageError(f"--fh-chaos-plan: not a chaos plan: {replay!r} "
                                        "(copy it from the report or an attempt record)")
            mode = ("guided", ())
        if seed is None and workerinput is not None:
            seed = workerinput.get("fh_chaos_seed")
        if seed is None:
            seed = int.from_bytes(os.urandom(8), "little")
        return chaos.Chaos(mode[0], mode[1], seed, replay=replay)

    def _chaos_start(self):
        ch = self.chaos
        try:
            ch.table = chaos.SiteTable(os.path.join(self.run_dir,
                                                    f"chaos-{os.getpid()}.tab"),
                                       self.preload.call_name)
        except OSError as e:
            raise pytest.UsageError(f"--fh-chaos: cannot create the site table in "
                                    f"{self.run_dir}: {e.strerror or e}")
        if "cpu" in ch.mods:
            ch.pressure = chaos.Pressure(sys.executable)

    def _chaos_begin(self, nodeid, attempt, t0):
        """The plan of the attempt about to start (before its begin marker): the table is
        emptied, children the attempt starts inherit the plan through FH_CHAOS."""
        ch = self.chaos
        limit, _ = self.guard.limit_for_attempt()
        plan = ch.plan_for(nodeid, attempt, limit)
        ch.gen += 1
        ch.table.reset(ch.gen)
        ch.last_main = None
        deadline = t0 + int(limit * 0.5e9) if limit else 0
        runtime = plan.runtime(ch.gen, ch.table.path, deadline)
        os.environ["FH_CHAOS"] = runtime
        if plan.perturbed:
            if ch.pressure is not None:
                ch.pressure.resume()
            if "prio" in ch.mods:
                _batch_sched(True)
        return plan, runtime

    def _chaos_end(self, plan):
        """Chaos off (after the attempt, before its end marker); the table's totals."""
        ch = self.chaos
        self.preload.chaos_set(None)
        os.environ.pop("FH_CHAOS", None)
        if plan.perturbed:
            if ch.pressure is not None:
                ch.pressure.pause()
            if "prio" in ch.mods:
                _batch_sched(False)
        return ch.table.head(), ch.table.sites()

    # ---- reporting at the start ----
    def pytest_report_header(self, config):
        tracing = ("on" if self.preload.active else
                   "off (run under LD_PRELOAD=libfhtrace.so to trace system calls)")
        if self.start_error:
            tracing = (f"failed to start in {self.run_dir}/trace "
                       f"({os.strerror(-self.start_error)})")
        mode = "isolated" if self.isolate else "fixtures kept across attempts"
        if self.budget_s is not None:
            runs = (f"budget {plan.format_duration(self.budget_s)}, at most {self.planner.cap} "
                    f"runs per test" + (", stopping when settled" if self.auto else ""))
        elif self.auto:
            runs = f"runs per test: auto (at most {self.planner.cap})"
        else:
            runs = f"{self.runs} runs per test"
        prof = self.perf.header()
        if prof and not self.start_error:
            tracing += f", {prof}"
        lines = [f"flakehunter: {runs}, {mode}; tracing {tracing}",
                 f"flakehunter: run directory {self.run_dir}"]
        if self.rounds:
            lines.append(f"flakehunter: order rounds, seed {self.seed} (the same --fh-seed "
                         f"gives the same orders)" + (
                             "; each xdist worker shuffles its own share"
                             if (config.getoption("dist", "no") or "no") != "no" else ""))
        elif self.seed is not None:
            lines.append("flakehunter: --fh-seed has no effect without --fh-order=rounds")
        if self.quarantine is not None:
            lines.append(f"flakehunter: quarantine {self.quarantine.path}: "
                         f"{len(self.quarantine.entries)} entries")
        if self.chaos is not None:
            lines.append("flakehunter: " + self.chaos.describe())
        return lines

    @pytest.hookimpl(trylast=True)
    def pytest_sessionstart(self, session):
        self.session = session
        tr = self.config.pluginmanager.get_plugin("terminalreporter")
        if tr is not None:
            undo = compat.index_teardown_reports(tr)
            if undo:
                self.undo.append(undo)

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtestloop(self, session):
        # collection is over: the hook proxy of a test file is memoized while tests run, and
        # a phase that wrote nothing has its empty output read with one lseek
        for undo in (compat.memoize_hook_proxies(session), compat.skip_empty_snaps()):
            if undo:
                self.undo.append(undo)

    def pytest_unconfigure(self, config):
        if not self.worker:
            rundir.release(self.run_dir)
        self.guard.uninstall()
        self.perf.uninstall()
        if self.chaos is not None:
            if self.chaos.pressure is not None:
                self.chaos.pressure.close()
            if self.chaos.table is not None:
                self.chaos.table.close()
        while self.undo:
            self.undo.pop()()
        for k, v in self.env_before.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v

    def pytest_collectreport(self, report):
        if report.failed:
            self.collect_errors += 1

    # ---- the re-run protocol ----
    def _item_static(self, item):
        callspec = getattr(item, "callspec", None)
        return (item.location[0],
                getattr(item, "originalname", None) or item.name,
                callspec.id if callspec is not None else None,
                list(getattr(item, "fixturenames", ())),
                os.fsencode(item.nodeid))

    def _tests_left(self):
        """Tests this process will still run after the current one (for the budget plan)."""
        items = getattr(self.session, "items", None) or ()
        return max(0.0, len(items) * self.share - self.items_started)

    def _predict(self, st, ps, t0_s):
        """At the attempt's teardown: will it be the last? (_NextItem)"""
        outcome = "failed" if st.exc else ("skipped" if st.skip else "passed")
        trial = ps.copy()
        now = time.monotonic()
        trial.add(outcome, now - t0_s)
        return self.planner.decide(trial, now, commit=False)[1] is not None

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_protocol(self, item, nextitem):
        if self.rounds:
            return self._rounds_protocol(item, nextitem)
        ihook = item.ihook
        ihook.pytest_runtest_logstart(nodeid=item.nodeid, location=item.location)
        session = item.session
        pl = self.preload if self.preload.active else None
        file, function, param_id, fixtures, nodeid_b = self._item_static(item)
        head, tail = records.item_parts(item.nodeid, self.runs,
                                        self.worker or "main", file, function, param_id,
                                        fixtures, self.isolate)
        nodeid = item.nodeid
        self.items_started += 1
        planner = self.planner
        ps = plan.TestPlanState(planner.cap, self._tests_left())
        adaptive = planner.adaptive
        between = None if self.isolate else item.parent
        self.seen = {}
        if self.writer is None:
            self.writer = records.Writer(self.run_dir)
        brd = None if self.worker else self.board
        if brd is not None:
            brd.start(nodeid, ps.planned)
        tick = self.term.tick if self.term is not None and self.term.status else None
        write = self.writer.write_attempt
        worker = self.worker
        monotonic_ns = time.monotonic_ns
        guard = self.guard
        watch = guard.active()
        fp = self.footprint
        ch = self.chaos
        prf = self.perf
        prf.test_start()
        attempt = 0
        forced_last = False
        while True:
            attempt += 1
            st = _Attempt(item, attempt, self.paths)
            if worker:
                st.reports = []
                st.planned = ps.planned
            self.cur = st
            if attempt > 1:
                compat.reset_report_sections(item)
                compat.reset_subtest_failures(item)
            wall = time.time()
            t0 = monotonic_ns()
            if forced_last or (not adaptive and attempt >= ps.planned):
                nxt = nextitem
            elif not adaptive or self.isolate:
                nxt = between
            else:
                nxt = _NextItem(lambda st=st, t0=t0: nextitem
                                if self._predict(st, ps, t0 / 1e9) else between)
            guard.attempt_t0 = t0
            atail = tail
            if ch is not None:
                cplan, cruntime = self._chaos_begin(nodeid, attempt, t0)
                # what the watchdog or an interruption writes has the plan (no totals yet)
                atail = ',"chaos":' + records.encode(ch.record_field(cplan, None)) + tail
            if watch:
                guard.arm(nodeid, attempt, self._hung_writer(head, atail, attempt, t0, wall, ps))
            else:
                guard.lazy = (nodeid, attempt, lambda a=attempt, t=t0, w=wall, x=atail:
                              self._hung_writer(head, x, a, t, w, ps))
            fp.begin(again=attempt > 1)
            prf.attempt_begin()
            if pl:
                pl.attempt_begin(nodeid_b, attempt)
                if ch is not None:
                    pl.chaos_set(cruntime)
            guard.in_attempt = True
            try:
                reports = compat.runtestprotocol(item, log=True, nextitem=nxt)
            except KeyboardInterrupt as e:
                guard.in_attempt = False
                if ch is not None:
                    self._chaos_end(cplan)
                self._record_interrupted(head, atail, attempt, t0, wall, ps, e)
                raise
            guard.in_attempt = False
            t1 = monotonic_ns()
            outcome, when, xfail, error, frames, phases, bad = _summarize(reports, st)
            extra = ""
            if ch is not None:
                chead, csites = self._chaos_end(cplan)
                ch.observe(nodeid, attempt, outcome, (t1 - t0) / 1e9, cplan, csites,
                           ch.last_main)
                extra = ',"chaos":' + records.encode(ch.record_field(cplan, chead))
            if pl:
                pl.attempt_end(nodeid_b, attempt, OUTCOMES[outcome])
            hung = guard.disarm() if watch or guard.cur is not None else None
            left = fp.end()
            extra += prf.attempt_end(outcome, (t1 - t0) / 1e9)
            if self.fixture_setups is not None:
                extra += self.fixture_setups.take()
            ps.add(outcome, (t1 - t0) / 1e9)
            planned, stop = planner.decide(ps, t1 / 1e9)
            if forced_last:
                stop = stop or "planned"
            elif isinstance(nxt, _NextItem) and stop and nxt.chosen is not nextitem:
                # Torn down only to the parent: one more attempt, the last, tears down right.
                forced_last = True
                planned = max(planned, attempt + 1)
                ps.planned = planned
                stop = None
            if stop is None and (session.shouldfail or session.shouldstop):
                stop = "interrupted"
            output = None
            if bad is not None:
                error, frames = scrub(error, frames)
                output = _output_of(reports)
            write(head, attempt, outcome, xfail, when, t0, t1, wall, phases, error, frames,
                  planned, stop, output, (hung or "") + extra + tail,
                  extra=records.order_part(None, None, left) if left else records.NO_ORDER)
            if brd is not None:
                brd.attempt(nodeid, outcome, planned)
                if bad is not None:
                    self._board_failure(brd, nodeid, attempt, bad, error, frames)
                if tick is not None:
                    tick()
            if stop is not None:
                break
        prf.test_end()
        self.cur = None
        ihook.pytest_runtest_logfinish(nodeid=item.nodeid, location=item.location)
        return True

    # ---- rounds (--fh-order=rounds) ----
    def _rounds_protocol(self, item, nextitem):
        """Rounds mode: pytest (or an xdist worker) hands this process's share over one item at
        a time, the last one with nextitem None; every round runs then, over the whole share.
        pytest-timeout's limit for each item (hang.py enforces it per attempt) is kept per item
        and given to the watchdog around each of its attempts."""
        self.round_items.append(item)
        armed = self.guard.item_timeout
        if armed is not None and armed[0] is item:
            self.timeout_settings[item] = armed[1]
        if nextitem is not None:
            return True
        items, self.round_items = self.round_items, []
        try:
            self._run_rounds(items)
        finally:
            self.cur = None
            self.guard.item_timeout = armed   # pytest-timeout cancels it after this call
            if self.xdist_item is not None:
                self.xdist_item(None)
        return True

    def _run_rounds(self, items):
        """Round k runs attempt k of every test still planned, in the order of round k
        (order.py). Teardowns get the real next item, so fixtures of wider scope stay up while
        the next test shares them: a module's fixtures are set up once per module per round.
        How many rounds: --fh-runs N; with --fh-runs auto a settled test leaves the rounds
        (the others keep their order); with --fh-budget rounds go on while one more whole
        round fits in the time left (the first round always runs whole)."""
        session = items[-1].session
        planner = self.planner
        cap = planner.cap
        deadline = None if self.budget_s is None else self.t_start + self.budget_s
        adaptive = planner.adaptive or deadline is not None
        rounds = order.Rounds(items, self.seed)
        brd = None if self.worker else self.board
        tests = {}
        for it in items:
            rt = _RoundTest(self, it, cap)
            tests[it] = rt
            if brd is not None:
                brd.start(it.nodeid, cap)
        self.items_started += len(items)
        if self.writer is None:
            self.writer = records.Writer(self.run_dir)
        active = set(items)
        self.xdist_item = compat.xdist_item_setter(self.config, session) if self.worker \
            else None
        rnd = 0
        prev_dur = None
        more = True
        while more and active:
            rnd += 1
            t_round = time.monotonic()
            last = rnd >= cap
            if not last and deadline is not None and prev_dur is not None and \
                    t_round + 2 * prev_dur > deadline:
                last = True
                for it in active:
                    tests[it].budget_last = True
            if last:
                for it in active:
                    tests[it].ps.planned = min(tests[it].ps.planned, rnd)
            cur = rounds.order(rnd, active)
            ctx = {"more": not last}
            for pos, item in enumerate(cur, 1):
                rt = tests[item]
                if self.isolate:
                    nxt = None
                elif pos < len(cur):
                    nxt = cur[pos]
                elif last:
                    nxt = None
                elif not adaptive:
                    nxt = _not_itself(item, rounds.order(rnd + 1, active)[0])
                else:
                    nxt = _NextItem(lambda rt=rt, t_round=t_round, ctx=ctx:
                                    self._round_end(rt, active, rounds, rnd, t_round,
                                                    deadline, ctx))
                stop = self._round_attempt(item, rt, rnd, pos, nxt, ctx)
                if stop is not None:
                    active.discard(item)
                    self._round_finish(rt)
                if session.shouldfail or session.shouldstop:
                    more = False
                    break
            else:
                more = ctx["more"]
            prev_dur = time.monotonic() - t_round
            self.rounds_done = rnd
        for rt in tests.values():
            if not rt.finished and rt.attempt:
                self._round_finish(rt)

    def _round_end(self, rt, active, rounds, rnd, t_round, deadline, ctx):
        """The next item of a round's last attempt in an adaptive hunt, decided when its
        teardown asks (after setup and call): whether this test goes on (the --fh-runs auto
        rule on its predicted outcome), whether another round fits, and so the first item of
        the next round (None: the end, everything torn down). The loop then keeps to it."""
        now = time.monotonic()
        st = self.cur
        goes_on = st is not None and not self._predict(st, rt.ps, rt.t0 / 1e9)
        act = set(active)
        if not goes_on:
            act.discard(rt.item)
        more = bool(act) and rnd < self.planner.cap and (
            deadline is None or now + (now - t_round) <= deadline)
        ctx["more"] = more
        ctx["goes_on"] = goes_on
        return _not_itself(rt.item, rounds.order(rnd + 1, act)[0]) if more else None

    def _round_attempt(self, item, rt, rnd, pos, nxt, ctx):
        """One attempt of a test in rounds mode; returns why it was the test's last, or None."""
        pl = self.preload if self.preload.active else None
        rt.attempt += 1
        attempt = rt.attempt
        ps = rt.ps
        st = _Attempt(item, attempt, self.paths)
        if self.worker:
            st.reports = []
            st.planned = ps.planned
        self.cur = st
        self.seen = rt.seen
        if self.xdist_item is not None:
            self.xdist_item(item)
        if attempt > 1:
            compat.reset_report_sections(item)
            compat.reset_subtest_failures(item)
        guard = self.guard
        limit = self.timeout_settings.get(item)
        guard.item_timeout = (item, limit) if limit else None
        watch = guard.active()
        fp = self.footprint
        wall = time.time()
        t0 = rt.t0 = time.monotonic_ns()
        head, tail = rt.head, rt.tail
        guard.attempt_t0 = t0
        if watch:
            guard.arm(rt.nodeid, attempt, self._hung_writer(head, tail, attempt, t0, wall, ps))
        else:
            guard.lazy = (rt.nodeid, attempt, lambda a=attempt, t=t0, w=wall:
                          self._hung_writer(head, tail, a, t, w, ps))
        fp.begin()
        self.perf.attempt_begin()
        if pl:
            pl.attempt_begin(rt.nodeid_b, attempt)
        guard.in_attempt = True
        try:
            reports = compat.runtestprotocol(item, log=True, nextitem=nxt)
        except KeyboardInterrupt as e:
            guard.in_attempt = False
            self._record_interrupted(head, tail, attempt, t0, wall, ps, e)
            raise
        guard.in_attempt = False
        t1 = time.monotonic_ns()
        outcome, when, xfail, error, frames, phases, bad = _summarize(reports, st)
        if pl:
            pl.attempt_end(rt.nodeid_b, attempt, OUTCOMES[outcome])
        hung = guard.disarm() if watch or guard.cur is not None else None
        left = fp.end()
        extra = self.perf.attempt_end(outcome, (t1 - t0) / 1e9, auto=False)
        if self.fixture_setups is not None:
            extra += self.fixture_setups.take()
        ps.add(outcome, (t1 - t0) / 1e9)
        planned, stop = self.planner.decide(ps, t1 / 1e9)
        if isinstance(nxt, _NextItem) and nxt.chosen is not False:
            # the teardown went where the prediction said: keep to it
            if ctx.get("goes_on") and ctx.get("more") and stop is not None:
                stop = None
                planned = ps.planned = max(ps.planned, attempt + 1)
            elif not ctx.get("goes_on") and stop is None:
                stop = "planned"
                planned = ps.planned = attempt
            if not ctx.get("more") and stop is None:
                stop = "budget" if self.budget_s is not None else "planned"
        if stop == "planned" and rt.budget_last:
            stop = "budget"
        session = item.session
        if stop is None and (session.shouldfail or session.shouldstop):
            stop = "interrupted"
        output = None
        if bad is not None:
            error, frames = scrub(error, frames)
            output = _output_of(reports)
        self.writer.write_attempt(head, attempt, outcome, xfail, when, t0, t1, wall, phases,
                                  error, frames, planned, stop, output,
                                  (hung + extra if hung else extra) + tail,
                                  extra=records.order_part(rnd, pos, left))
        brd = None if self.worker else self.board
        if brd is not None:
            brd.attempt(rt.nodeid, outcome, planned)
            if bad is not None:
                self._board_failure(brd, rt.nodeid, attempt, bad, error, frames)
            if self.term is not None and self.term.status:
                self.term.tick()
        self.cur = None
        return stop

    def _round_finish(self, rt):
        """A test's last attempt is done: pytest's logstart/logfinish for it (its letter or
        line on the terminal), once, as a back-to-back test gets them."""
        rt.finished = True
        item = rt.item
        if self.xdist_item is not None:
            self.xdist_item(item)
        item.ihook.pytest_runtest_logstart(nodeid=item.nodeid, location=item.location)
        item.ihook.pytest_runtest_logfinish(nodeid=item.nodeid, location=item.location)

    @pytest.hookimpl(optionalhook=True, tryfirst=True)
    def pytest_timeout_set_timer(self, item, settings):
        """pytest-timeout arms one timer around the whole run-test protocol (unless func_only:
        around each call phase), through this public hook. Under --fh this plugin enforces
        that limit itself, per attempt (hang.py): its own timer would span all the attempts
        of a test, and its thread method ends the whole session at the first hang. tryfirst
        and True: the hook is firstresult, so pytest-timeout's own timer is never armed."""
        timeout = getattr(settings, "timeout", None)
        if not timeout or timeout <= 0:
            return None
        if self.cur is None:
            self.guard.item_timeout = (item, float(timeout))
        else:
            self.guard.call_limit(float(timeout))
        return True

    @pytest.hookimpl(optionalhook=True, tryfirst=True)
    def pytest_timeout_cancel_timer(self, item):
        if self.cur is None:
            if self.guard.item_timeout is not None and self.guard.item_timeout[0] is item:
                self.guard.item_timeout = None
                return True
            return None
        self.guard.end_call_limit()
        return True

    def cluster_id(self, error, frames):
        """The fingerprint of a failure (memoized: a hunt repeats the same few)."""
        key = (error["type"] if error else "",
               tuple((f["path"], f["line"], f["function"], f["source"]) for f in frames[-5:]))
        fp = self.fps.get(key)
        if fp is None:
            if len(self.fps) > 4096:
                self.fps.clear()
            fp = self.fps[key] = fingerprint(key[0], frames, self.rootdir)
        return fp

    def _board_failure(self, brd, nodeid, attempt, bad, error, frames):
        cid = self.cluster_id(error, frames)
        inner = frames[-1] if frames else None
        brd.failure(nodeid, attempt, cid, bad.when, error["type"] if error else "Failed",
                    error["message"] if error else "", inner["path"] if inner else None,
                    inner["line"] if inner else None, bad)

    def _hung_writer(self, head, tail, attempt, t0, wall, ps):
        """Writes the record of this attempt when the watchdog has to end the process in the
        middle of it (hang.py); the phase it hung in decides failed (call) or error."""
        tid = threading.get_native_id()   # the test's thread; the watchdog writes
        ident = threading.get_ident()

        def write(error, fields):
            phase = compat.phase_of_thread(ident) or "call"
            outcome = "failed" if phase == "call" else "error"
            self.writer.write_attempt(head, attempt, outcome, False, phase, t0,
                                      time.monotonic_ns(), wall, {}, error, [],
                                      max(ps.planned, attempt), "interrupted", None,
                                      fields + tail, tid=tid)
        return write

    def _record_interrupted(self, head, tail, attempt, t0, wall, ps, exc):
        """SIGINT/SIGTERM (KeyboardInterrupt) in the middle of an attempt: its record, then
        pytest stops the session and this plugin still writes the report."""
        guard = self.guard
        w = guard.cur
        fields = guard.disarm() if w is not None else None
        snap = guard.sig_snapshot or (w is not None and bool(w.snapshot))
        by = "SIGTERM" if str(exc) == "SIGTERM" else "SIGINT"
        phase = compat.phase_of_traceback(exc.__traceback__) or "call"
        extra = hang.hang_fields(by, 0.0, False, snap, interrupted=True)
        if fields and '"hung":true' in fields:   # stopped by its limit, then interrupted
            extra = fields + ',"interrupted":true'
        self.writer.write_attempt(head, attempt, "failed" if phase == "call" else "error",
                                  False, phase, t0, time.monotonic_ns(), wall, {},
                                  {"type": "KeyboardInterrupt",
                                   "message": f"interrupted by {by} during {phase}"}, [],
                                  max(ps.planned, attempt), "interrupted", None,
                                  extra + tail)
        self.writer.close()

    def stop_from_watchdog(self, nodeid, attempt, why, interrupted):
        """The watchdog could not stop an attempt (hang.py): the hung attempt is recorded; end
        this process. A worker exits (xdist replaces it); the main process writes the report
        from what it has first and says why the hunt stopped. Runs in the watchdog thread."""
        if self.writer is not None:
            self.writer.close()
        if self.worker:
            hang.exit_now(3)
        capman = self.config.pluginmanager.getplugin("capturemanager")
        try:
            if capman is not None:
                capman.suspend_global_capture(in_=True)
        except Exception:  # noqa: BLE001 - capture may be in any state
            pass
        lines = [f"flakehunter: the hunt stopped at {nodeid} attempt {attempt}: {why}"]
        if self.opts.get("no_report"):
            lines.append(f"flakehunter: run directory {self.run_dir} (--fh-no-report: no report)")
        elif _has_attempts(self.run_dir):
            out, _ = analyzer.run(self.preload, self.run_dir, self.opts,
                                  str(self.config.invocation_params.dir), self.rootdir,
                                  lost=self.lost_total())
            lines += out
        text = "\n".join(["=" * 30 + " flakehunter " + "=" * 30] + lines) + "\n"
        try:
            os.write(1, text.encode("utf-8", "replace"))
        except OSError:
            pass
        hang.exit_now(int(pytest.ExitCode.INTERRUPTED))

    # Neither tryfirst nor trylast: pytest's unittest plugin moves the exception a TestCase
    # recorded into call.excinfo in its own tryfirst implementation, so this one must run
    # after it (every tryfirst one runs first); and before pytest's runner builds the report
    # (a plain implementation registered earlier, so called later), so that a repeated
    # failure is never formatted in full at all.
    @pytest.hookimpl
    def pytest_runtest_makereport(self, item, call):
        st = self.cur
        excinfo = call.excinfo
        if st is None or excinfo is None or st.item is not item:
            return None
        if self.chaos is not None and call.when != "teardown" and self.chaos.last_main is None:
            self.chaos.failure_point()
        exc = excinfo.value
        # unittest's SkipTest can only be raised once unittest was imported; importing it here
        # would cost every session 4 ms
        ut = sys.modules.get("unittest")
        if isinstance(exc, pytest.skip.Exception) or (ut is not None and isinstance(exc, ut.SkipTest)):
            st.skip = True
            return None
        error, frames = records.failure_of(excinfo, self.paths)
        st.exc[call.when] = (error, frames)
        key = (call.when, error["type"], tuple((f["path"], f["line"]) for f in frames[-3:]))
        first = self.seen.get(key)
        if first is None:
            self.seen[key] = st.number
            return None
        msg = error["message"].split("\n", 1)[0]
        if len(msg) > 160:
            msg = msg[:160] + "..."
        where = f" at {frames[-1]['path']}:{frames[-1]['line']}" if frames else ""
        of = "" if self.planner.adaptive else f" of {self.runs}"
        longrepr = _SameFailure(
            f"same failure as attempt {first} (attempt {st.number}{of}): "
            f"{error['type']}: {msg}{where}",
            frames[-1]["path"] if frames else item.location[0],
            frames[-1]["line"] if frames else 0,
            f"{error['type']}: {msg} (same as attempt {first})")
        return pytest.TestReport(item.nodeid, item.location, {x: 1 for x in item.keywords},
                                 "failed", longrepr, call.when, compat.report_sections(item),
                                 call.duration, user_properties=item.user_properties,
                                 **compat.report_times(call))

    def record_crash(self, nodeid, worker, message, report=None):
        """Write the record of the attempt of `nodeid` that was in progress when its xdist
        worker died: the attempt after the last one the worker recorded, outcome "failed",
        error type WorkerCrashed, started when the previous attempt stopped (attempts run back
        to back), with the worker's pid when any record of it exists (else 0)."""
        prev, pid, last = None, 0, None
        needle = '"nodeid":' + json.dumps(nodeid) + ","
        wneedle = '"worker":' + json.dumps(worker) + ","
        for name in sorted(os.listdir(self.run_dir)):
            if not (name.startswith("attempts-") and name.endswith(".jsonl")):
                continue
            try:
                with open(os.path.join(self.run_dir, name), encoding="utf-8",
                          errors="replace") as f:
                    for line in f:
                        if needle not in line and wneedle not in line:
                            continue
                        try:
                            rec = json.loads(line)
                        except ValueError:
                            continue
                        if rec.get("worker") == worker and isinstance(rec.get("pid"), int):
                            pid = rec["pid"]
                            last = rec
                        if rec.get("nodeid") == nodeid and (
                                prev is None or rec.get("attempt", 0) > prev.get("attempt", 0)):
                            prev = rec
            except OSError:
                continue
        if last is not None and last.get("nodeid") == nodeid and \
                (last.get("hang") or {}).get("ended") == "worker":
            return  # the worker recorded the hung attempt itself before it ended
        now = time.monotonic_ns()
        start = prev["stop_ns"] if prev and isinstance(prev.get("stop_ns"), int) else now
        file = nodeid.split("::", 1)[0]
        name = nodeid.rsplit("::", 1)[-1]
        param = name[name.index("[") + 1:-1] if name.endswith("]") and "[" in name else None
        rec = {
            "v": 1, "nodeid": nodeid, "attempt": (prev["attempt"] + 1) if prev else 1,
            "runs": self.runs, "outcome": "failed", "xfail": False, "when": "call",
            "start_ns": start, "stop_ns": now, "wall": time.time() - (now - start) / 1e9,
            "duration_s": (now - start) / 1e9, "phases": {},
            "pid": pid, "tid": pid, "worker": worker, "file": file,
            "function": prev["function"] if prev else name.split("[", 1)[0],
            "param_id": prev["param_id"] if prev else param,
            "fixtures": prev["fixtures"] if prev else [],
            "error": {"type": "WorkerCrashed", "message": message},
            "frames": [], "isolate": self.isolate, "stop": "crashed", "output": None,
            "round": prev.get("round") + 1 if prev and isinstance(prev.get("round"), int)
            else None,
            "position": None, "footprint": None,
        }
        if self.writer is None:
            self.writer = records.Writer(self.run_dir)
        self.writer.write(rec, pid=pid, tid=pid)
        brd = self.board
        brd.attempt(nodeid, "failed", rec["runs"])
        brd.failure(nodeid, rec["attempt"], self.cluster_id(rec["error"], []), "call",
                    "WorkerCrashed", message, None, None, report)

    # ---- the end of the session ----
    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session):
        if self.writer is not None:
            self.writer.close()
        if self.worker:
            out = getattr(self.config, "workeroutput", None)
            if out is not None and self.writer is not None and self.writer.lost:
                out["fh_lost"] = dict(self.writer.lost)
            return
        notes = self._lost_notes()
        q = self.quarantine
        if q is not None:
            q.match(self.board.tests)
            notes += q.warnings()
            try:
                q.write(self.run_dir)
            except OSError as e:
                notes.append(f"flakehunter: cannot write {self.run_dir}/quarantine.json: "
                             f"{e.strerror or e}")
        notes += self._plan_notes()
        if self.chaos is not None:
            notes += self.chaos.notes(self.preload.library_path(), self.rootdir)
        status, why = board.decide(self.board, self.opts["fail_on"], session.exitstatus,
                                   self.collect_errors, q)
        if status != int(session.exitstatus):
            session.exitstatus = pytest.ExitCode(status)
        self.exit_line = f"flakehunter: {why}"
        for key in ("report", "json", "junit", "markdown"):
            if self.opts.get(key):
                try:
                    os.makedirs(os.path.dirname(self.opts[key]), exist_ok=True)
                except OSError:
                    pass  # the analyzer says what it cannot write
        if not _has_attempts(self.run_dir):
            self.analysis = [f"flakehunter: no attempts recorded in {self.run_dir}"]
        elif self.opts["no_report"]:
            self.analysis = [f"flakehunter: run directory {self.run_dir} (--fh-no-report: no "
                             f"report, no history); merge shards with: fh-analyze merge "
                             f"RUN_DIR... --out MERGED && fh-analyze report MERGED"]
        else:
            notes += self._confirm_polluters()
            self.analysis, _ = analyzer.run(self.preload, self.run_dir, self.opts,
                                            str(self.config.invocation_params.dir),
                                            self.rootdir, lost=self.lost_total())
        self.analysis = self.analysis + notes
        tr = self.config.pluginmanager.get_plugin("terminalreporter")
        if tr is None:
            for line in self.analysis + [self.exit_line]:
                print(line)

    def lost_counts(self):
        """Records this session could not write, by errno name (this process, its xdist
        workers, meta.json)."""
        lost = dict(self.writer.lost) if self.writer is not None else {}
        for k, v in self.lost_workers.items():
            lost[k] = lost.get(k, 0) + v
        if self.lost_meta is not None:
            k = errno.errorcode.get(self.lost_meta[0], "OSError")
            lost[k] = lost.get(k, 0) + 1
        return lost

    def lost_total(self):
        return sum(self.lost_counts().values())

    def _lost_notes(self):
        """The terminal line about records that could not be written, and RUN_DIR/lost.json
        (best effort: the disk may still be full) so a later `fh-analyze report` knows too."""
        lost = self.lost_counts()
        if not lost:
            return []
        total = sum(lost.values())
        why = ", ".join(f"{n} {k} ({os.strerror(getattr(errno, k))})" if hasattr(errno, k)
                        else f"{n} {k}" for k, n in sorted(lost.items(), key=lambda x: -x[1]))
        line = (f"flakehunter: {total} record{'s' if total != 1 else ''} could not be written "
                f"to {self.run_dir}: {why}; the report lacks them (lost_records)")
        if self.lost_meta is not None:
            line += "; meta.json is missing, the report uses defaults for the run's settings"
        try:
            tmp = os.path.join(self.run_dir, "lost.json.tmp")
            with open(tmp, "w", encoding="utf-8") as f:
                json.dump({"lost_records": total, "reasons": lost}, f)
                f.write("\n")
            os.replace(tmp, os.path.join(self.run_dir, "lost.json"))
        except OSError:
            pass   # the count still reaches this session's report (--lost-records)
        return [line]

    def _confirm_polluters(self):
        """Rounds mode: the analyzer names suspected polluters of the flaky tests, short fresh
        pytest processes replay them (replay.py), RUN_DIR/replay.json holds the results for
        the report. Lines for the terminal."""
        if not self.rounds or self.opts["no_confirm"] or not self.opts["confirm"]:
            return []
        if not any(t.verdict == "flaky" for t in self.board.tests.values()):
            return []
        cwd = str(self.config.invocation_params.dir)
        err = analyzer.candidates(self.preload, self.run_dir, cwd)
        if err:
            return [err]
        victims = replay.load_candidates(self.run_dir)
        if not victims:
            return []
        runner = replay.Runner(replay.python(), cwd, self.rootdir,
                               self.config.pluginmanager.hasplugin("xdist"),
                               self.opts["confirm"], env=self.env_start)
        doc = replay.confirm_all(runner, victims)
        try:
            replay.write(self.run_dir, doc)
        except OSError as e:
            return [f"flakehunter: cannot write {self.run_dir}/replay.json: {e.strerror or e}"]
        line = replay.summary_line(doc)
        return [line] if line else []

    def _plan_notes(self):
        """What the budget or the adaptive count did, in one line."""
        brd, p = self.board, self.planner
        if not p.adaptive or not brd.tests:
            return []
        n = len(brd.tests)
        att = brd.attempts_done
        capped = sum(1 for t in brd.tests.values() if t.attempts >= p.cap)
        took = plan.format_duration(time.monotonic() - self.t_start)
        if p.deadline is not None:
            line = (f"flakehunter: budget {plan.format_duration(self.budget_s)}: {n} tests, "
                    f"{att:,} attempts in {took}")
            if p.min_plan is not None:
                line += (f"; planned {p.min_plan}-{p.max_plan} attempts per test"
                         if p.min_plan != p.max_plan else
                         f"; planned {p.min_plan} attempts per test")
            if self.auto:
                line += f"; {n - capped} stopped early once settled"
            if p.over_budget:
                line += (f"; {p.over_budget} tests ran once only: the budget was used up "
                         f"(every test runs at least once)")
            return [line]
        return [f"flakehunter: --fh-runs auto: {n} tests, {att:,} attempts in {took}; "
                f"{n - capped} stopped early once settled, {capped} ran to the cap of {p.cap}"]

    def pytest_terminal_summary(self, terminalreporter):
        if not self.analysis and not self.exit_line:
            return
        terminalreporter.write_sep("=", "flakehunter")
        for nodeid, attempt, by, limit in self.guard.hung:
            terminalreporter.write_line(f"flakehunter: {nodeid} attempt {attempt} hung: "
                                        f"stopped after {limit:g} s ({by})")
        for line in self.analysis or ():
            terminalreporter.write_line(line)
        term = self.term
        if term is not None and getattr(term, "tracebacks", None):
            shown, total = term.tracebacks
            if total > shown:
                terminalreporter.write_line(
                    f"flakehunter: full tracebacks above for the first {shown} of {total} "
                    f"failure clusters; the short summary lists every test and cluster")
        if self.exit_line:
            terminalreporter.write_line(self.exit_line)


class _SameFailure:
    """The one-line longrepr of a failing attempt that repeats an earlier one of its test.

    pytest takes any longrepr that has `toterminal` (and str() for plain text). It has a
    `reprcrash`, so pytest's short summary, junitxml and others show the message, but no
    `reprtraceback`, so xdist ships it as plain text."""

    def __init__(self, line, path, lineno, message):
        self.line = line
        self.reprcrash = _CrashLocation(path, lineno, message)

    def toterminal(self, tw):
        tw.line(self.line)

    def __str__(self):
        return self.line


class _CrashLocation:
    """`path:lineno: message`, the shape of pytest's reprcrash (its ReprFileLocation is not
    public): `path`, `lineno`, `message`, toterminal() and str()."""

    def __init__(self, path, lineno, message):
        self.path = str(path)
        self.lineno = lineno
        self.message = message

    def toterminal(self, tw):
        tw.write(self.path, bold=True, red=True)
        tw.line(f":{self.lineno}: {self._first_line()}")

    def __str__(self):
        return f"{self.path}:{self.lineno}: {self._first_line()}"

    def _first_line(self):
        return self.message.split("\n", 1)[0]


def _failure_of(rep, st):
    """(error, frames) of a failing report of the attempt st."""
    got = st.exc.get(rep.when)
    if got is not None:
        return got
    # No exception: a strict xpass (or a plugin that failed the report itself).
    text = str(rep.longrepr) if rep.longrepr is not None else ""
    if rep.when == "call" and "XPASS(strict)" in text:
        return {"type": "XPASS(strict)", "message": text}, []
    if st.paths is not None:
        got = records.reported_failure(rep, st.paths)
        if got is not None:
            return got
    # Only the text: its last line (pytest's own summary line of a failure), never the whole
    # formatted traceback as a message.
    lines = [x for x in text.strip().splitlines() if x.strip()]
    return {"type": "Failed", "message": (lines[-1] if lines else "")[:records.MAX_MESSAGE]}, []


def _summarize(reports, st):
    """(outcome, when, xfail, error, frames, phases, failing report) of one attempt
    (docs/FORMATS.md rules)."""
    phases = {}
    bad = None
    skipped = None
    xfail = False
    for r in reports:
        phases[r.when] = r.duration
        if hasattr(r, "wasxfail"):
            xfail = True
        if r.failed:
            if bad is None:
                bad = r
        elif r.skipped and skipped is None:
            skipped = r
    if bad is not None:
        when = bad.when
        outcome = "failed" if when == "call" else "error"
        error, frames = _failure_of(bad, st)
        if error["type"] == "XPASS(strict)":
            xfail = True
        return outcome, when, xfail, error, frames, phases, bad
    if skipped is not None:
        return "skipped", skipped.when, xfail, None, [], phases, None
    return "passed", None, xfail, None, [], phases, None


def _output_of(reports):
    """The captured output of a failing attempt, for its record: {"stdout", "stderr", "log"}
    (only those present), each cut to records.MAX_OUTPUT characters; None when empty. The
    last report holds the sections of every phase of the attempt."""
    out = {}
    for title, content in reports[-1].sections if reports else ():
        if not content:
            continue
        for kind in ("stdout", "stderr", "log"):
            if title.startswith(f"Captured {kind} "):
                out[kind] = out.get(kind, "") + content
                break
    if not out:
        return None
    return {k: records.cut_output(v) for k, v in out.items()}


def _batch_sched(on):
    """+prio: the test thread (and the threads and processes it starts meanwhile) scheduled as
    batch work during perturbed attempts: no wakeup preemption, longer slices, as on a
    machine where it competes with other work. Unprivileged processes may switch between
    SCHED_OTHER and SCHED_BATCH both ways."""
    try:
        os.sched_setscheduler(0, os.SCHED_BATCH if on else os.SCHED_OTHER, os.sched_param(0))
    except (AttributeError, OSError):
        pass


def _has_attempts(run_dir):
    try:
        for name in os.listdir(run_dir):
            if name.startswith("attempts-") and name.endswith(".jsonl"):
                if os.path.getsize(os.path.join(run_dir, name)) > 0:
                    return True
    except OSError:
        pass
    return False


class _PhaseMarks:
    """Phase markers for the preload (registered only when libfhtrace.so is preloaded)."""

    def __init__(self, preload):
        self.begin = preload.phase_begin
        self.end = preload.phase_end

    def _wrap(self, phase):
        self.begin(phase)
        outcome = yield
        self.end(phase, 1 if outcome.excinfo is not None else 0)

    @pytest.hookimpl(hookwrapper=True, tryfirst=True)
    def pytest_runtest_setup(self, item):
        yield from self._wrap(PHASES["setup"])

    @pytest.hookimpl(hookwrapper=True, tryfirst=True)
    def pytest_runtest_call(self, item):
        yield from self._wrap(PHASES["call"])

    @pytest.hookimpl(hookwrapper=True, tryfirst=True)
    def pytest_runtest_teardown(self, item, nextitem):
        yield from self._wrap(PHASES["teardown"])


class _WorkerTags:
    """xdist workers only: tags the reports of each attempt for the controller's scoreboard
    (board.py): `fh_fail` = [cluster, type, message, path, line, attempt] on a failing report,
    `fh_attempt` = [attempt, outcome, planned] on the teardown report that ends an attempt.
    Plain lists of strings and numbers, so they travel with the serialized report."""

    def __init__(self, hunter):
        self.hunter = hunter

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_logreport(self, report):
        st = self.hunter.cur
        if st is None or st.reports is None or report.nodeid != st.item.nodeid:
            return
        st.reports.append(report)
        if report.failed:
            error, frames = scrub(*_failure_of(report, st))
            inner = frames[-1] if frames else {}
            report.fh_fail = [self.hunter.cluster_id(error, frames), error["type"],
                              error["message"][:500], inner.get("path"), inner.get("line"),
                              st.number]
        if report.when == "teardown":
            outcome = _summarize(st.reports, st)[0]
            report.fh_attempt = [st.number, outcome, st.planned]

    @pytest.hookimpl(hookwrapper=True)
    def pytest_report_to_serializable(self, config, report):
        """What a worker sends the controller goes through execnet, which refuses lone
        surrogates ("surrogates not allowed": the worker's session ended with an INTERNALERROR).
        A failure message, a path or a captured output from os.fsdecode holds them: every
        string of the serialized report is made safe (text.py: such a byte shows as \\xNN)."""
        outcome = yield
        data = outcome.get_result()
        if data is not None:
            safe = safe_data(data)
            if safe is not data:
                outcome.force_result(safe)


class _XdistController:
    """Hands the controller's run directory to every xdist worker and records the attempt a
    worker was running when it died (the worker could not)."""

    def __init__(self, hunter):
        self.hunter = hunter

    @pytest.hookimpl(optionalhook=True)
    def pytest_configure_node(self, node):
        node.workerinput["fh_run_dir"] = self.hunter.run_dir
        node.workerinput["fh_seed"] = self.hunter.seed
        if self.hunter.chaos is not None:
            node.workerinput["fh_chaos_seed"] = self.hunter.chaos.seed

    @pytest.hookimpl(optionalhook=True)
    def pytest_testnodedown(self, node, error):
        lost = getattr(node, "workeroutput", {}).get("fh_lost") or {}
        acc = self.hunter.lost_workers
        for k, v in lost.items():
            if isinstance(k, str) and isinstance(v, int):
                acc[k] = acc.get(k, 0) + v

    @pytest.hookimpl(optionalhook=True)
    def pytest_handlecrashitem(self, crashitem, report, sched):
        try:
            worker = report.node.gateway.id
        except AttributeError:
            worker = "gw?"
        self.hunter.record_crash(crashitem, worker, str(report.longrepr), report)


class _XdistFeed:
    """The xdist controller (registered only when tests are distributed): feeds the
    scoreboard from the tags the workers put on their reports."""

    def __init__(self, hunter):
        self.hunter = hunter

    def pytest_runtest_logreport(self, report):
        h = self.hunter
        brd = h.board
        tag = getattr(report, "fh_fail", None)
        if tag:
            cid, type_, msg, path, line, attempt = tag
            brd.failure(report.nodeid, attempt, cid, report.when, type_, msg, path, line,
                        report)
        tag = getattr(report, "fh_attempt", None)
        if tag:
            brd.attempt(report.nodeid, tag[1], tag[2])
            if h.term is not None:
                h.term.xdist = True
                h.term.tick()
