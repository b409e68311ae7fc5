# SPDX-License-Identifier: MIT
"""Helpers of the stack tests: run a program under the preload into a trace dir,
dump its traces with `fh-analyze dump` and parse events with the stack lines printed under
them ("    at python FILE:LINE in FUNC", "    at native MODULE FUNC (FILE:LINE) +0xADDR")."""
import os
import pathlib
import subprocess
import textwrap

PY = "/usr/bin/python3"


def write_script(tmp_path, body, name="prog.py"):
    """Writes a dedented script; returns (path, {marker: line}) for lines tagged `# @name`."""
    text = textwrap.dedent(body).lstrip("\n")
    path = tmp_path / name
    path.write_text(text)
    marks = {}
    for no, line in enumerate(text.splitlines(), 1):
        if "# @" in line:
            marks[line.split("# @", 1)[1].strip()] = no
    return path, marks


def run(cmd, tmp_path, lib, preload=True, env_extra=None, timeout=60):
    """Runs cmd (list) with LD_PRELOAD=lib and FH_TRACE_DIR=tmp_path/trace; returns
    (CompletedProcess, trace_dir)."""
    trace = tmp_path / "trace"
    trace.mkdir(exist_ok=True)
    env = dict(os.environ)
    env.pop("LD_PRELOAD", None)
    env.pop("FH_TRACE_DIR", None)
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    if preload:
        env["LD_PRELOAD"] = str(lib)
        env["FH_TRACE_DIR"] = str(trace)
    env.update(env_extra or {})
    proc = subprocess.run([str(c) for c in cmd], env=env, capture_output=True, text=True,
                          timeout=timeout, cwd=tmp_path)
    return proc, trace


class Event:
    def __init__(self, line):
        self.line = line
        self.frames = []   # the text after "at "

    @property
    def python(self):
        return [f for f in self.frames if f.startswith("python ")]

    @property
    def native(self):
        return [f for f in self.frames if f.startswith("native ")]

    def __repr__(self):
        return "\n".join([self.line] + ["    at " + f for f in self.frames])


def dump(analyze, trace_dir):
    """All events of all trace files of trace_dir, in file order."""
    files = sorted(pathlib.Path(trace_dir).glob("*.fht"))
    assert files, f"no trace files in {trace_dir}"
    out = subprocess.run([str(analyze), "dump"] + [str(f) for f in files], capture_output=True,
                         text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    events = []
    for line in out.stdout.splitlines():
        if line.startswith("    at "):
            assert events, line
            events[-1].frames.append(line[len("    at "):])
        elif not line.startswith("#"):
            events.append(Event(line))
    return events, out.stdout


def with_stack(events, needle):
    """Events whose line contains needle and that carry a stack."""
    return [e for e in events if needle in e.line and e.frames]
