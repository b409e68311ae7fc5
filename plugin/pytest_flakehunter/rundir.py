# SPDX-License-Identifier: MIT
"""The run directory: creation, meta.json and pruning (docs/FORMATS.md, "The run directory").

Only the controller (the pytest process that is not an xdist worker) creates the directory,
writes meta.json and prunes old runs; workers receive the path from it.

Liveness: the session that owns a run directory holds a shared flock on the directory itself
for its whole life (taken before the directory gets its run-id name, so no pruner ever sees it
unlocked while it is in use). Pruning takes an exclusive flock without waiting before it
deletes, and leaves a directory alone when it cannot get it: another session is writing there.
"""
import datetime
import fcntl
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time

from .text import safe_json

RUN_ID_RE = re.compile(r"^\d{8}T\d{6}Z-[0-9a-f]{6}$")
STALE_NEW_S = 3600   # a hidden .new-* directory older than this was left by a crash
GIT_TIMEOUT_S = 3


def new_run_id(now=None):
    now = now or datetime.datetime.now(datetime.timezone.utc)
    # os.urandom, not secrets: the suffix only has to be unlikely to collide, and importing
    # secrets loads OpenSSL (3 ms of every session's start).
    return now.strftime("%Y%m%dT%H%M%SZ") + "-" + os.urandom(3).hex()


# path -> fd of the directory whose shared flock says "in use" (held until the process ends:
# the session's run directory must not be pruned while its report is being written either)
_held = {}


def _lock_shared(path):
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        fcntl.flock(fd, fcntl.LOCK_SH)
    except OSError:
        os.close(fd)
        raise
    return fd


def create(runs_root):
    """Create runs_root/<run-id>/ (and trace/), locked as in use; returns (run_id, path). It is
    made under a hidden name (never pruned), locked, then renamed: a rename onto an existing
    run directory fails (it is never empty), so two sessions never share one."""
    os.makedirs(runs_root, exist_ok=True)
    for _ in range(100):
        run_id = new_run_id()
        path = os.path.join(runs_root, run_id)
        tmp = os.path.join(runs_root, f".new-{run_id}-{os.getpid()}")
        try:
            os.mkdir(tmp)
        except FileExistsError:
            continue
        try:
            os.mkdir(os.path.join(tmp, "trace"))
            fd = _lock_shared(tmp)
        except OSError:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        if os.path.lexists(path):
            os.close(fd)
            shutil.rmtree(tmp, ignore_errors=True)
            continue
        try:
            os.rename(tmp, path)
        except OSError:
            os.close(fd)
            shutil.rmtree(tmp, ignore_errors=True)
            continue
        _held[path] = fd
        return run_id, path
    raise OSError(f"cannot create a run directory under {runs_root}")


def release(path):
    """The session is over: its run directory may be pruned from now on."""
    fd = _held.pop(path, None)
    if fd is not None:
        os.close(fd)


def create_at(path):
    """Use `path` itself as the run directory (--fh-run-dir): created when missing, refused when
    it holds anything (one run per directory, so a merge never mixes two sessions); returns
    (run_id, path). Locked as in use like the others."""
    path = os.path.abspath(path)
    os.makedirs(path, exist_ok=True)
    if os.listdir(path):
        raise OSError(f"{path} is not empty (a run directory holds one session; "
                      "choose a new or empty one)")
    os.mkdir(os.path.join(path, "trace"))
    try:
        _held[path] = _lock_shared(path)
    except OSError:
        pass   # a file system without flock: such a directory is never pruned anyway
    return new_run_id(), path


def host_name():
    """The host recorded in meta.json: $FH_HOST when set (CI runners with generic machine names,
    and tests that fake several hosts), else the machine's name. Control characters and
    length are limited: the value ends up in reports and file contents."""
    h = os.environ.get("FH_HOST") or socket.gethostname()
    h = "".join(c for c in h if c.isprintable())[:255]
    return h or "unknown"


def prune(runs_root, keep, current=None):
    """Delete all but the newest `keep` run directories (never `current`, never one another
    session holds: it is still being written); returns the deleted names. The exclusive lock
    is held while the directory is deleted."""
    try:
        names = sorted(n for n in os.listdir(runs_root) if RUN_ID_RE.match(n))
    except OSError:
        return []
    cur = os.path.basename(current) if current else None
    old = [n for n in names if n != cur]
    room = keep - (1 if cur in names else 0)
    doomed = old[: max(0, len(old) - max(0, room))]
    # a session that died between creating its hidden directory and naming it left it behind;
    # a young one may be another session's, about to be locked
    now = time.time()
    for n in os.listdir(runs_root):
        if n.startswith(".new-"):
            try:
                if now - os.lstat(os.path.join(runs_root, n)).st_mtime > STALE_NEW_S:
                    doomed.append(n)
            except OSError:
                pass
    deleted = []
    for n in doomed:
        path = os.path.join(runs_root, n)
        try:
            fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        except OSError:
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            continue   # in use by a live session
        try:
            shutil.rmtree(path, ignore_errors=True)
            deleted.append(n)
        finally:
            os.close(fd)
    return deleted


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
               fail_on="any", quarantine=None, order=None, chaos=None):
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
        "chaos": chaos,
    }
    tmp = os.path.join(path, "meta.json.tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        # args and paths may hold lone surrogates (os.fsdecode): the text policy
        f.write(safe_json(json.dumps(meta, indent=1)) + "\n")
    os.replace(tmp, os.path.join(path, "meta.json"))
    return meta
