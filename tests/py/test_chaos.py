# SPDX-License-Identifier: MIT
"""Chaos mode through the real path: the preload's seeded perturbations (FH_CHAOS, recorded in
the trace), the plugin's --fh-chaos / --fh-chaos-seed / --fh-chaos-plan (usage errors, plans per
attempt, replay), the analyzer's summary and report, on the rare-flake suite of bench/ and the
demo's stable tests."""
import json
import os
import re
import shutil
import subprocess

import pytest

from conftest import FH_ANALYZE, FH_LIB, ROOT
import fh_preload

RARE = ROOT / "bench" / "rare_flakes"
DEMO = ROOT / "demo" / "suite"
PY = "/usr/bin/python3"
SLEEPS = "import time\nfor _ in range(40): time.sleep(0.0005)\n"
CHAOS_LINE = re.compile(r"~~~ chaos (?P<what>plan|delay|yield) (?P<rest>.*?)(?: <(?P<took>[\d.]+)>)? ~~~$")


def chaos_lines(trace_dir):
    """(what, text without the time it took) of every chaos record, and the full dump."""
    files = fh_preload.trace_files(trace_dir)
    p = subprocess.run([str(FH_ANALYZE), "dump", *map(str, files)], capture_output=True,
                       text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    out = []
    for line in p.stdout.splitlines():
        m = CHAOS_LINE.search(line)
        if m:
            out.append((m.group("what"), m.group("rest"), float(m.group("took") or 0)))
    return out, p.stdout


def traced_sleeps(tmp_path, name, plan):
    d = tmp_path / name
    d.mkdir()
    extra = {"FH_CHAOS": plan} if plan is not None else {}
    fh_preload.run([PY, "-c", SLEEPS], d, env_extra=extra)
    return chaos_lines(d)


# ---- the preload ----

def test_same_plan_same_perturbations(tmp_path):
    plan = "fhchaos1;s=1;p=300;d=20-200;c=s"
    a, _ = traced_sleeps(tmp_path, "a", plan)
    b, _ = traced_sleeps(tmp_path, "b", plan)
    c, _ = traced_sleeps(tmp_path, "c", "fhchaos1;s=2;p=300;d=20-200;c=s")
    delays = lambda x: [r for w, r, _ in x if w == "delay"]   # noqa: E731
    assert a[0][0] == "plan" and "seed 0x0000000000000001" in a[0][1]
    assert 4 <= len(delays(a)) <= 36, a          # about 30% of 80 points (before and after)
    assert all("clock_nanosleep" in r and "spread" in r for r in delays(a))
    assert delays(a) == delays(b)                # what, where, how long: all drawn from the seed
    assert delays(a) != delays(c)


def test_no_plan_or_a_bad_plan_injects_nothing(tmp_path):
    none, dump = traced_sleeps(tmp_path, "none", None)
    assert none == [] and "clock_nanosleep" in dump
    bad, dump = traced_sleeps(tmp_path, "bad", "fhchaos1;s=zz;p=300")
    assert bad == [] and "clock_nanosleep" in dump
    # a class the plan leaves out is never held up
    other, _ = traced_sleeps(tmp_path, "other", "fhchaos1;s=1;p=1000;d=20-200;c=n")
    assert [w for w, _, _ in other if w == "delay"] == []


def test_injected_delay_is_not_the_calls_own_time(tmp_path):
    d = tmp_path / "t"
    d.mkdir()
    code = "import time\nfor _ in range(3): time.sleep(0.001)\n"
    fh_preload.run([PY, "-c", code], d,
                   env_extra={"FH_CHAOS": "fhchaos1;s=5;p=1000;d=40000-40000;c=s;b=1000000"})
    chaos, dump = chaos_lines(d)
    delays = [(r, took) for w, r, took in chaos if w == "delay"]
    assert len(delays) == 6, chaos              # before and after each of the 3 sleeps
    assert all(r.startswith("0.040000s") and took >= 0.039 for r, took in delays)
    sleeps = [float(m.group(1)) for m in
              re.finditer(r"clock_nanosleep\(.*\) = 0 <([\d.]+)>", dump)]
    assert len(sleeps) >= 3
    # each sleep's record keeps its natural 1 ms, not the 80 ms chaos added around it
    assert sorted(sleeps)[len(sleeps) // 2] < 0.02, sleeps


SIBLINGS = """
import threading, time
def work():
    for _ in range(3):
        time.sleep(0.0005)
for _ in range(3):              # one after the other: the threads reach the sleeps in order
    t = threading.Thread(target=work)
    t.start()
    t.join()
"""


def test_one_shot_target_holds_up_one_thread_once(tmp_path):
    """t=...,#N: only the N-th thread to reach the target is held up, once; per-call targets
    hold up every call they draw."""
    def delays(name, target):
        d = tmp_path / name
        d.mkdir()
        fh_preload.run([PY, "-c", SIBLINGS], d,
                       env_extra={"FH_CHAOS": "fhchaos1;s=3;p=0;y=0;" + target})
        _, dump = chaos_lines(d)
        sleeps = [ln.split()[1] for ln in dump.splitlines()
                  if "clock_nanosleep(" in ln and "~~~" not in ln]
        order = list(dict.fromkeys(sleeps))        # the threads (pid/tid) in order of arrival
        held = [ln.split()[1] for ln in dump.splitlines() if "~~~ chaos delay" in ln]
        return order, held
    order, held = delays("second", "t=clock_nanosleep,a,b,#2,1000-1000")
    assert len(order) == 3, order
    assert held == [order[1]]                      # the second thread, at its first sleep
    _, held = delays("fourth", "t=clock_nanosleep,a,a,#4,1000-1000")
    assert held == []                              # no fourth thread
    _, held = delays("each", "t=clock_nanosleep,a,b,1000,1000-1000")
    assert len(held) == 9                          # per call: every one of them


# ---- the plugin ----

def hunt(tmp_path, suite_files, *args, preload=True, runs=8, src=RARE, report=False,
         history=False):
    """pytest --fh on a copy of the given files of src; (CompletedProcess, records)."""
    suite = tmp_path / "suite"
    if not suite.exists():
        suite.mkdir()
        for f in suite_files:
            shutil.copy(src / f, suite / f)
        ini = src / "pytest.ini"
        if ini.exists():
            shutil.copy(ini, suite / "pytest.ini")
    env = fh_preload.env(None, preload=preload)
    env.pop("FH_CHAOS", None)
    env.update(FH_ANALYZE=str(FH_ANALYZE), PYTHONPATH=str(ROOT / "plugin"),
               PYTHONDONTWRITEBYTECODE="1", HOME=str(tmp_path / "home"))
    out = ["--fh-no-report"]
    if report:
        out = ["--fh-report", str(tmp_path / "report.html"), "--fh-no-history"]
        if history:
            out = ["--fh-report", str(tmp_path / "report.html"),
                   "--fh-history-dir", str(tmp_path / "history"),
                   "--fh-junit", str(tmp_path / "junit.xml"),
                   "--fh-markdown", str(tmp_path / "summary.md")]
    cmd = [PY, "-m", "pytest", "-p", "pytest_flakehunter", "-p", "no:cacheprovider", "-q",
           "--fh", "--fh-runs", str(runs), *out, *args]
    p = subprocess.run(cmd, cwd=suite, env=env, capture_output=True, text=True, timeout=300)
    recs = []
    runs_dir = suite / ".flakehunter" / "runs"
    if runs_dir.exists():
        last = sorted(runs_dir.iterdir())[-1]
        for f in sorted(last.glob("attempts-*.jsonl")):
            recs += [json.loads(line) for line in f.read_text().splitlines()]
        shutil.rmtree(runs_dir)
    return p, recs


@pytest.mark.parametrize("args,preload,message", [
    (["--fh-chaos"], False, "--fh-chaos: chaos needs LD_PRELOAD=libfhtrace.so"),
    (["--fh-chaos=wild"], True, "--fh-chaos (ini fh_chaos): unknown mode 'wild'"),
    (["--fh-chaos", "--fh-chaos-seed", "12ab"], True, "--fh-chaos-seed (ini fh_chaos_seed): "
     "not a seed: '12ab'"),
    (["--fh-chaos", "--fh-chaos-seed", "-1"], True, "seed out of range"),
    (["--fh-chaos-seed", "3"], True, "--fh-chaos-seed: needs --fh-chaos"),
    (["--fh-chaos-plan", "fhchaos1;p=5000"], True, "--fh-chaos-plan: not a chaos plan"),
    (["--fh-chaos", "--fh-order=rounds"], True, "works with --fh-order=back-to-back only"),
])
def test_usage_errors(tmp_path, args, preload, message):
    p, recs = hunt(tmp_path, ["test_thread_race.py"], *args, preload=preload, runs=2)
    assert p.returncode == 4, p.stdout + p.stderr
    err = p.stderr.strip().splitlines()
    assert any(message in line for line in err), err
    assert recs == []          # nothing ran


def plans(recs):
    return [(r["attempt"], r["chaos"]["perturbed"], r["chaos"]["plan"]) for r in recs]


def test_same_seed_same_plans_blind(tmp_path):
    args = ["--fh-chaos=blind", "--fh-chaos-seed", "7", "-k", "thread_race"]
    p1, r1 = hunt(tmp_path, ["test_thread_race.py"], *args, "-v")   # -q -v: the header shows
    _, r2 = hunt(tmp_path, ["test_thread_race.py"], *args)
    _, r3 = hunt(tmp_path, ["test_thread_race.py"], "--fh-chaos=blind", "--fh-chaos-seed",
                 "0x8")
    assert ("flakehunter: chaos blind, seed 0x0000000000000007 (this hunt again: "
            "--fh-chaos=blind --fh-chaos-seed 0x0000000000000007)") in p1.stdout
    assert len(r1) == 8 and plans(r1) == plans(r2)
    assert plans(r1) != plans(r3)
    # warm-up (1, 2) and control (every 4th) attempts run unperturbed: the natural side
    assert [a for a, pert, _ in plans(r1) if not pert] == [1, 2, 4, 8]
    assert all(r["chaos"]["seed"] == "0x0000000000000007" and r["chaos"]["mode"] == "blind"
               for r in r1)
    assert all(r["chaos"]["plan"].startswith("fhchaos1;s=") for r in r1 if r["chaos"]["perturbed"])
    # a perturbed attempt injected something, and says how much
    pert = [r["chaos"] for r in r1 if r["chaos"]["perturbed"]]
    assert sum(c["injected"] for c in pert) > 0
    assert all(c["injected"] == 0 for c in (r["chaos"] for r in r1) if not c["perturbed"])


def run_printed(tmp_path, command):
    """Runs a command as the terminal printed it, in a shell from elsewhere, with `pytest` on
    PATH (this python's, the plugin loaded as an installed one would be); the new records."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    shim = bin_dir / "pytest"
    shim.write_text(f"#!/bin/sh\nexec {PY} -m pytest -p no:cacheprovider \"$@\"\n")
    shim.chmod(0o755)
    env = fh_preload.env(None, preload=False)
    for k in ("FH_CHAOS", "LD_PRELOAD"):
        env.pop(k, None)
    env.update(FH_ANALYZE=str(FH_ANALYZE), PYTHONPATH=str(ROOT / "plugin"),
               PYTHONDONTWRITEBYTECODE="1", HOME=str(tmp_path / "home"),
               PYTEST_PLUGINS="pytest_flakehunter", PATH=f"{bin_dir}:{os.environ['PATH']}")
    p = subprocess.run(["sh", "-c", command + " --fh-no-report -q"], cwd=tmp_path, env=env,
                       capture_output=True, text=True, timeout=300)
    recs = []
    runs_dir = tmp_path / "suite" / ".flakehunter" / "runs"
    if runs_dir.exists():
        for f in sorted(sorted(runs_dir.iterdir())[-1].glob("attempts-*.jsonl")):
            recs += [json.loads(line) for line in f.read_text().splitlines()]
        shutil.rmtree(runs_dir)
    return p, recs


def test_replay_reproduces_a_failure(tmp_path):
    """Guided chaos exposes the client timeout (its server held up 30 ms more), the terminal
    gives the command, and that command, run as printed, replays the guided attempt's plan
    exactly and fails the test again."""
    p, recs = hunt(tmp_path, ["test_client_timeout.py"], "--fh-chaos", "--fh-chaos-seed", "11",
                   runs=12)
    failing = [r for r in recs if r["outcome"] == "failed"]
    assert failing, p.stdout[-3000:]
    assert all(r["chaos"]["perturbed"] for r in failing)      # never fails naturally
    m = re.search(r"reproduce attempt (\d+): (.*)$", p.stdout, re.M)
    assert m, p.stdout[-3000:]
    assert "(only under chaos)" in p.stdout
    plan = re.search(r"--fh-chaos-plan '([^']*)'", m.group(2)).group(1)
    first = next(r for r in failing if r["attempt"] == int(m.group(1)))
    assert plan == first["chaos"]["plan"]
    # a guided plan: drawn from what the earlier attempts showed, not from the seed alone
    assert first["chaos"]["guide"].startswith("guided: ") and ";t=" in plan
    rp, rrecs = run_printed(tmp_path, m.group(2))
    assert rp.returncode in (0, 1), rp.stdout[-3000:] + rp.stderr[-3000:]
    assert len(rrecs) == 20, rp.stdout[-3000:]
    assert all(r["chaos"]["plan"] == plan and r["chaos"]["mode"] == "replay" and
               r["chaos"]["perturbed"] for r in rrecs)
    fails = sum(r["outcome"] == "failed" for r in rrecs)
    assert fails >= 1, rp.stdout[-3000:]
    assert f"failed {fails}/20 attempts under the plan" in rp.stdout


PRIO_TEST = """
import os, threading

def test_policy():
    seen = []
    t = threading.Thread(target=lambda: seen.append(os.sched_getscheduler(0)))
    t.start()
    t.join()
    with open(LOG, "a") as f:
        f.write(f"{os.sched_getscheduler(0)} {seen[0]}\\n")
"""


def test_prio_batch_scheduling_in_perturbed_attempts_only(tmp_path):
    """+prio: the test thread, and a thread it starts, run as SCHED_BATCH in perturbed attempts
    and as SCHED_OTHER in the others; the modifier is in the plan, so its replay has it too."""
    src = tmp_path / "src"
    src.mkdir()
    log = tmp_path / "prio.log"
    (src / "test_prio.py").write_text(f"LOG = {str(log)!r}\n" + PRIO_TEST)
    p, recs = hunt(tmp_path, ["test_prio.py"], "--fh-chaos=blind+prio", "--fh-chaos-seed", "5",
                   runs=5, src=src)
    assert log.exists(), p.stdout[-3000:] + p.stderr[-2000:]
    seen = [tuple(map(int, line.split())) for line in log.read_text().splitlines()]
    assert len(recs) == 5 and len(seen) == 5, p.stdout[-3000:]
    recs.sort(key=lambda r: r["attempt"])
    assert [r["chaos"]["perturbed"] for r in recs] == [False, False, True, False, True]
    assert seen == [(os.SCHED_BATCH,) * 2 if r["chaos"]["perturbed"] else (os.SCHED_OTHER,) * 2
                    for r in recs]
    plan = recs[2]["chaos"]["plan"]
    assert ";m=prio" in plan
    log.unlink()
    _, rrecs = hunt(tmp_path, ["test_prio.py"], "--fh-chaos-plan", plan, runs=2, src=src)
    assert len(rrecs) == 2
    assert log.read_text().split() == [str(os.SCHED_BATCH)] * 4


WATCHDOG_TEST = """
import time

def test_slow():
    for _ in range(400):        # far past the limit: the time limit stops it
        time.sleep(0.001)
"""


def test_chaos_keeps_within_the_time_limit(tmp_path):
    """With --fh-timeout, chaos injects at most a quarter of the limit per process and nothing
    after half of it, even in an attempt that runs into the limit; the hunt ends on time."""
    src = tmp_path / "src"
    src.mkdir()
    (src / "test_slow.py").write_text(WATCHDOG_TEST)
    limit = 0.16
    p, recs = hunt(tmp_path, ["test_slow.py"], "--fh-chaos=blind", "--fh-chaos-seed", "9",
                   "--fh-timeout", str(limit), runs=3, src=src, report=True)
    assert len(recs) == 3, p.stdout[-3000:]
    doc = json.loads((tmp_path / "report.json").read_text())
    (t,) = doc["tests"]
    (pert,) = [a for a in t["attempt_log"] if a["chaos"]["perturbed"]]
    assert pert["hung"] and pert["duration_s"] < limit + 1.5
    inj = [i for i in pert["chaos"]["injections"] if i["kind"] != "yield"]
    assert inj, pert["chaos"]
    assert sum(i["delay_s"] for i in inj) <= limit / 4 + 1e-6
    # nothing starts after the deadline (half the limit), though the test sleeps on
    assert max(i["at_s"] for i in inj) < limit / 2, inj
    assert ";b=40000;" in pert["chaos"]["plan"] + ";"     # a quarter of the limit, in us


def test_demo_stable_tests_stay_stable_under_chaos(tmp_path):
    files = ["test_stable.py", "test_perf.py", "conftest.py"]
    p, recs = hunt(tmp_path, files, "--fh-chaos", "--fh-chaos-seed", "3", runs=50, src=DEMO)
    assert len(recs) == 100, p.stdout[-2000:]
    assert {r["outcome"] for r in recs} == {"passed"}, p.stdout[-3000:]
    # and chaos did act on them
    assert sum(r["chaos"]["injected"] for r in recs) > 0


def test_summary_and_report_tell_chaos_apart(tmp_path):
    """The real analyzer: flake rates of perturbed and unperturbed attempts apart, "only under
    chaos" with what the failing attempts had injected, the replay command, and each attempt's
    injected delays (from the trace) in the JSON and the report."""
    p, recs = hunt(tmp_path, ["test_client_timeout.py"], "--fh-chaos", "--fh-chaos-seed", "11",
                   runs=12, report=True, history=True)
    doc = json.loads((tmp_path / "report.json").read_text())
    (t,) = doc["tests"]
    c = t["chaos"]
    pert = [a for a in t["attempt_log"] if a["chaos"]["perturbed"]]
    unpert = [a for a in t["attempt_log"] if not a["chaos"]["perturbed"]]
    # attempts 1, 2 (warm-up), 4, 8, 12 (control) unperturbed
    assert c["perturbed"]["attempts"] == len(pert) == 7
    assert c["unperturbed"]["attempts"] == len(unpert) == 5
    pf = sum(a["outcome"] == "failed" for a in pert)
    assert pf >= 1 and c["perturbed"]["failed"] == pf, p.stdout[-2000:]
    assert c["perturbed"]["flake_rate"] == pytest.approx(pf / 7, abs=1e-6)
    assert c["unperturbed"] == {"attempts": 5, "failed": 0, "flake_rate": 0}
    assert c["only_under_chaos"] is True and c["mode"] == "guided"
    assert c["seed"] == "0x000000000000000b"
    assert c["summary"].startswith(f"fails only under chaos: {pf} of 7 perturbed attempts "
                                   f"failed, 0 of 5 unperturbed")
    assert c["injected_in_failing"] and all(s["failing"] >= 1 for s in c["injected_in_failing"])
    first = min(a["attempt"] for a in pert if a["outcome"] == "failed")
    plan = next(r["chaos"]["plan"] for r in recs if r["attempt"] == first)
    assert c["reproduce_attempt"] == first
    assert c["reproduce"].endswith(f"--fh-chaos-plan '{plan}'")
    assert c["summary"] in t["diagnosis"]["evidence"]
    # Never one number: every rate shown is the natural one (the unperturbed attempts'), with
    # the perturbed side beside it; the verdict counts every attempt.
    assert t["verdict"] == "flaky" and t["failed"] == pf and t["attempts"] == 12
    assert t["flake_rate"] == 0 and t["flake_rate_ci95"][0] == 0
    assert 0.4 < t["flake_rate_ci95"][1] < 0.6          # Wilson's upper bound for 0 of 5
    md = (tmp_path / "summary.md").read_text()
    assert f"| 0/5 | 0% (0-{round(100 * t['flake_rate_ci95'][1])}%); under chaos {pf}/7 failed " \
        f"({round(100 * pf / 7)}%) |" in md, md
    junit = (tmp_path / "junit.xml").read_text()
    assert re.search(r'name="flakehunter.flake_rate\[[^"]*\]" value="0"', junit), junit
    assert re.search(r'name="flakehunter.chaos_flake_rate\[[^"]*\]" value="%.6g"' % (pf / 7),
                     junit), junit
    assert f"0/5 attempts failed; under chaos {pf}/7 failed" in junit
    hist = list((tmp_path / "history").rglob("*.csv"))
    assert hist, list((tmp_path / "history").rglob("*"))
    rows = [line for f in hist for line in f.read_text().splitlines()[1:] if line]
    assert len(rows) == 5                    # the unperturbed attempts only
    # injected delays come from the trace, apart from the calls' own times
    for a in unpert:
        assert a["chaos"]["injections"] == [] and a["chaos"]["injected"] == 0
    inj = [i for a in pert for i in a["chaos"]["injections"] if i["kind"] != "yield"]
    assert inj and all(0 < i["delay_s"] <= 0.05 for i in inj)
    assert {i["where"] for i in inj} <= {"test", "thread", "process"}
    html = (tmp_path / "report.html").read_text()
    assert "only under chaos" in html and "injected delay" in html
    assert f'<span class="badge b-flaky">flaky</span><b>0%</b>' in html
    assert f"under chaos {pf}/7 (" in html
    assert "--fh-chaos-plan" in html


def test_cpu_pressure_is_recorded_and_cleaned_up(tmp_path):
    """+cpu: busy processes during perturbed attempts; meta.json says so and none is left after
    the session (found by a marker in their environment)."""
    mark = f"fhchaos-{os.getpid()}-{tmp_path.name}"
    suite = tmp_path / "suite"
    suite.mkdir()
    shutil.copy(RARE / "test_thread_race.py", suite)
    env = fh_preload.env(None)
    env.update(FH_ANALYZE=str(FH_ANALYZE), PYTHONPATH=str(ROOT / "plugin"),
               PYTHONDONTWRITEBYTECODE="1", HOME=str(tmp_path / "home"), CHAOS_TEST_MARK=mark)
    p = subprocess.run([PY, "-m", "pytest", "-p", "pytest_flakehunter", "-p", "no:cacheprovider",
                        "-q", "--fh", "--fh-runs", "4", "--fh-no-report", "--fh-chaos=blind+cpu"],
                       cwd=suite, env=env, capture_output=True, text=True, timeout=120)
    assert p.returncode in (0, 1), p.stdout + p.stderr
    (run,) = (suite / ".flakehunter" / "runs").iterdir()
    meta = json.loads((run / "meta.json").read_text())
    assert meta["chaos"]["mode"] == "blind" and meta["chaos"]["modifiers"] == ["cpu"]
    left = []
    for proc in os.listdir("/proc"):
        try:
            if proc.isdigit() and mark.encode() in open(f"/proc/{proc}/environ", "rb").read():
                left.append(proc)
        except OSError:
            pass
    assert left == []
