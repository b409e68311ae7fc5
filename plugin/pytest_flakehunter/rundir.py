# SPDX-License-Identifier: MIT
"""The run directory: creation, meta.json and pruning (docs/FORMATS.md, "The run directory").

Only the controller (the pytest process that is not an xdist worker) creates the directory,
writes meta.json and prunes old runs; workers receive the path from it.
"""
import datetime
import json
import os
import re
import shutil
import socket
import subprocess
import sys

RUN_ID_RE = re.compile(r"^\d{8}T\d{6}Z-[0-9a-f]{6}$")
GIT_TIMEOUT_S = 3


def new_run_id(now=None):
    now = now or datetime.datetime.now(datetime.timezone.utc)
    # os.urandom, not secrets: the suffix only has to be unlikely to collide, and importing
    # secrets loads OpenSSL (3 ms of every session's start).
    return now.strftime("%Y%m%dT%H%M%SZ") + "-" + os.urandom(3).hex()


def create(runs_root):
    """Create runs_root/<run-id>/ (and trace/); returns (run_id, path)."""
    os.makedirs(runs_root, exist_ok=True)
    for _ in range(100):
        run_id = new_run_id()
        path = os.path.join(runs_root, run_id)
        try:
            os.mkdir(path)
        except FileExistsError:
            continue
        os.mkdir(os.path.join(path, "trace"))
        return run_id, path
    raise OSError(f"cannot create a run directory under {runs_root}")


def create_at(path):
    """Use `path` itself as the run directory (--fh-run-dir): created when missing, refused when
    it holds anything (one run per directory, so a merge never mixes two sessions); returns
    (run_id, path)."""
    path = os.path.abspath(path)
    os.makedirs(path, exist_ok=True)
    if os.listdir(path):
        raise OSError(f"{path} is not empty (a run directory holds one session; "
                      "choose a new or empty one)")
    os.mkdir(os.path.join(path, "trace"))
    return new_run_id(), path


def host_name():
    """The host recorded in meta.json: $FH_HOST when set (CI runners with generic machine names,
    and tests that fake several hosts), else the machine's name. Control characters and
    length are limited: the value ends up in reports and file contents."""
    h = os.environ.get("FH_HOST") or socket.gethostname()
    h = "".join(c for c in h if c.isprintable())[:255]
    return h or "unknown"


def prune(runs_root, keep, current=None):
    """Delete all but the newest `keep` run directories (never `current`); returns deleted."""
    try:
        names = sorted(n for n in os.listdir(runs_root) if RUN_ID_RE.match(n))
    except OSError:
        return []
    cur = os.path.basename(current) if current else None
    old = [n for n in names if n != cur]
    room = keep - (1 if cur in names else 0)
    doomed = old[: max(0, len(old) - max(0, room))]
    for n in doomed:
        shutil.rmtree(os.path.join(runs_root, n), ignore_errors=True)
    return doomed


def _git(rootdir, *args):
    try:
        r = subprocess.run(["git", *args], cwd=rootdir, capture_output=True, text=True,
                           timeout=GIT_TIMEOUT_S, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.SubprocessError):
        return None
    if r.returncode != 0:
        return None
    return r.stdout


def git_info(rootdir):
    """{"branch", "commit", "dirty"} of the checkout holding rootdir, or None outside git.

    One `git status --porcelain=v2 --branch` gives all three (one process, not three)."""
    out = _git(rootdir, "status", "--porcelain=v2", "--branch", "--untracked-files=no")
    if out is None:
        return None
    commit = branch = None
    dirty = False
    for line in out.splitlines():
        if line.startswith("# branch.oid "):
            commit = line[len("# branch.oid "):].strip()
        elif line.startswith("# branch.head "):
            branch = line[len("# branch.head "):].strip()
        elif line and not line.startswith("#"):
            dirty = True
    if not commit or commit == "(initial)":
        return None
    return {"branch": None if branch in (None, "", "(detached)") else branch,
            "commit": commit, "dirty": dirty}


def _ram_bytes():
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return None


def write_meta(path, run_id, *, runs, isolate, xdist, tracing, rootdir, args,
               pytest_version, plugin_version, runs_mode="fixed", max_runs=None, budget_s=None,
               fail_on="any", quarantine=None, order=None):
    u = os.uname()
    meta = {
        "schema": "flakehunter-run/1",
        "run_id": run_id,
        "started_utc": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "runs_per_test": runs,
        "isolate": isolate,
        "xdist": xdist,
        "tracing": tracing,
        "host": host_name(),
        "os": f"{u.sysname}-{u.release}-{u.machine}",
        "python": ".".join(map(str, sys.version_info[:3])),
        "pytest": pytest_version,
        "plugin_version": plugin_version,
        "cpu_count": os.cpu_count(),
        "ram_bytes": _ram_bytes(),
        "git": git_info(rootdir),
        "rootdir": str(rootdir),
        "args": [str(a) for a in args],
        "runs_mode": runs_mode,
        "max_runs": max_runs if max_runs is not None else runs,
        "budget_s": budget_s,
        "fail_on": fail_on,
        "quarantine": quarantine,
        "order": order or {"mode": "back-to-back", "seed": None},
    }
    tmp = os.path.join(path, "meta.json.tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(meta, f, indent=1)
        f.write("\n")
    os.replace(tmp, os.path.join(path, "meta.json"))
    return meta
