# SPDX-License-Identifier: MIT
"""Helpers of the preload tests: run a program under libfhtrace.so into a trace directory and
read the traces back through the analyzer (`fh-analyze dump`), parsed into dicts."""
import os
import pathlib
import re
import subprocess

ROOT = pathlib.Path(__file__).resolve().parents[2]
BUILD = pathlib.Path(os.environ.get("FH_BUILD", ROOT / "build"))
FH_ANALYZE = pathlib.Path(os.environ.get("FH_ANALYZE", BUILD / "fh-analyze"))
FH_LIB = pathlib.Path(os.environ.get("FH_LIB", BUILD / "libfhtrace.so"))
PROGS = BUILD / "tests" / "preload"
PYTHON = "/usr/bin/python3"


def env(trace_dir=None, preload=True, **extra):
    """Environment for a traced child: LD_PRELOAD and FH_TRACE_DIR set, nothing inherited."""
    e = dict(os.environ)
    for k in ("LD_PRELOAD", "FH_TRACE_DIR", "FH_TRACE", "FH_TRACE_MAX_BYTES", "FH_SLOW_US",
              "FH_TRACE_MIN_FREE", "FH_TRACE_WARNED"):
        e.pop(k, None)
    if preload:
        assert FH_LIB.exists(), f"{FH_LIB} missing: run make"
        e["LD_PRELOAD"] = str(FH_LIB)
    if trace_dir is not None:
        e["FH_TRACE_DIR"] = str(trace_dir)
    e.update({k: str(v) for k, v in extra.items()})
    return e


def run(argv, trace_dir, timeout=60, check=True, **kw):
    """Runs argv under the preload; returns the CompletedProcess (text)."""
    envx = kw.pop("env_extra", {})
    p = subprocess.run([str(a) for a in argv], env=env(trace_dir, **envx), capture_output=True,
                       text=True, timeout=timeout, **kw)
    if check:
        assert p.returncode == 0, f"{argv} exited {p.returncode}\n{p.stdout[-2000:]}\n{p.stderr[-2000:]}"
    return p


def trace_files(trace_dir):
    return sorted(pathlib.Path(trace_dir).glob("*.fht"))


HEAD = re.compile(r"^# (?P<path>.*): pid (?P<pid>\d+) ppid (?P<ppid>-?\d+) tid (?P<tid>\d+) exe "
                  r"(?P<exe>\".*\") events (?P<events>\d+) dropped (?P<dropped>\d+)(?P<flags>.*)$")
CALL = re.compile(r"^(?P<t>[+-]\d+\.\d+) (?P<pid>\d+)/(?P<tid>\d+) (?P<name>\w+)\((?P<args>.*)\)"
                  r"(?: = (?P<result>-?\d+)(?: (?P<err>E\w+) \([^)]*\))?(?P<extra>.*?) <(?P<dur>\d+\.\d+)>"
                  r"| (?P<unfinished><unfinished \.\.\.>))$")
SIG = re.compile(r"^(?P<t>[+-]\d+\.\d+) (?P<pid>\d+)/(?P<tid>\d+) --- (?P<sig>signal \d+|\S+) \{si_code=(?P<code>-?\d+), "
                 r"si_pid=(?P<sender>-?\d+)\}(?: interrupted (?P<intr>\w+))? --- <handler (?P<h>.*)>$")
MARK = re.compile(r"^(?P<t>[+-]\d+\.\d+) (?P<pid>\d+)/(?P<tid>\d+) === (?P<mark>\w+)(?P<rest>.*) ===$")
# after a file's thread sections, when the process lost anything (threads without a chunk too)
LOSS = re.compile(r"^# (?P<path>.*): process dropped (?P<dropped>\d+)(?: \((?P<reasons>[^)]*)\))?"
                  r"(?: module map incomplete \((?P<map>\w+)\))?$")
FOOT = re.compile(r"^(?P<t>[+-]\d+\.\d+) (?P<pid>\d+)/(?P<tid>\d+) \*\*\* (?P<what>[\w ]+?)"
                  r"(?: fd=(?P<fd>\d+))?(?: (?P<target>\".*\"))? attempt=(?P<attempt>-?\d+) \*\*\*$")
# resource figures (FHT_REC_RES): "%%% thread user=0.1s ... tid=5 (exit) %%%"
RES = re.compile(r"^(?P<t>[+-]\d+\.\d+) (?P<pid>\d+)/(?P<tid>\d+) %%% (?P<res>\w+)(?P<rest>.*?)"
                 r"(?P<exit> \(exit\))? %%%$")
# the CPU profiler (FHT_REC_SAMPLE): "*** cpu sample 0.010000s in read pc=0x1 ***", "*** profiler on ..."
SAMPLE = re.compile(r"^(?P<t>[+-]\d+\.\d+) (?P<pid>\d+)/(?P<tid>\d+) \*\*\* (?P<what>.*) \*\*\*$")
PROC = re.compile(r"^(?P<t>[+-]\d+\.\d+) (?P<pid>\d+)/(?P<tid>\d+) \+\+\+ process (?P<p>\d+) parent "
                  r"(?P<pp>-?\d+) exe (?P<exe>.*) \+\+\+$")


def dump(paths):
    """fh-analyze dump of the given files, parsed: a list of thread sections, each a dict with
    the header fields and an 'events' list (dicts with 'kind' call/signal/mark/proc); the whole
    process's losses are in every section of its file: proc_dropped, proc_reasons ({"disk_floor":
    n, ...}) and map_incomplete (a reason name or None)."""
    paths = [str(p) for p in paths]
    if not paths:
        return []
    p = subprocess.run([str(FH_ANALYZE), "dump", *paths], capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    files = []
    for line in p.stdout.splitlines():
        m = HEAD.match(line)
        if m:
            f = m.groupdict()
            for k in ("pid", "ppid", "tid", "events", "dropped"):
                f[k] = int(f[k])
            f["exe"] = f["exe"][1:-1]
            f["events"] = []
            f["nevents"] = int(m.group("events"))
            f["proc_dropped"], f["proc_reasons"], f["map_incomplete"] = 0, {}, None
            files.append(f)
            continue
        m = LOSS.match(line)
        if m:
            reasons = {}
            for part in (m.group("reasons") or "").split(", "):
                if part:
                    name, n = part.split(" ")
                    reasons[name] = int(n)
            for f in files:
                if f["path"] == m.group("path"):
                    f["proc_dropped"] = int(m.group("dropped"))
                    f["proc_reasons"] = reasons
                    f["map_incomplete"] = m.group("map")
            continue
        assert files, line
        if line.startswith("    at ") and files[-1]["events"]:
            # a stack frame printed under the previous event (stack capture)
            files[-1]["events"][-1].setdefault("stack", []).append(line[len("    at "):])
            continue
        for kind, rx in (("call", CALL), ("signal", SIG), ("mark", MARK), ("proc", PROC),
                         ("foot", FOOT), ("res", RES), ("sample", SAMPLE)):
            m = rx.match(line)
            if m:
                ev = {k: v for k, v in m.groupdict().items()}
                ev["kind"] = kind
                ev["line"] = line
                for k in ("pid", "tid"):
                    ev[k] = int(ev[k])
                ev["t"] = float(ev["t"])
                if kind == "res":
                    ev["exit"] = ev["exit"] is not None
                    ev["v"] = res_values(ev["rest"])
                if kind == "sample":
                    w = re.match(r"cpu sample (\d+\.\d+)s", ev["what"])
                    ev["cpu"] = w is not None
                    ev["weight"] = float(w.group(1)) if w else 0.0
                if kind == "call":
                    ev["done"] = ev["unfinished"] is None
                    ev["dur"] = float(ev["dur"]) if ev["done"] else None
                    ev["result"] = int(ev["result"]) if ev["done"] else None
                files[-1]["events"].append(ev)
                break
        else:
            raise AssertionError(f"unparsed dump line: {line!r}")
    return files


def res_values(rest):
    """"user=0.1s majflt=3 run_delay=?" -> {"user": 0.1, "majflt": 3, "run_delay": None}"""
    out = {}
    for part in rest.split():
        k, _, v = part.partition("=")
        if v == "?":
            out[k] = None
        elif v.endswith("s"):
            out[k] = float(v[:-1])
        else:
            out[k] = int(v)
    return out


def dump_dir(trace_dir):
    return dump(trace_files(trace_dir))


def all_events(files, kind=None):
    for f in files:
        for ev in f["events"]:
            if kind is None or ev["kind"] == kind:
                yield ev
