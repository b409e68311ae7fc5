# SPDX-License-Identifier: MIT
"""Finding and running `fh-analyze report` at the end of the session (controller only).

Lookup order (docs/FORMATS.md): $FH_ANALYZE, `fh-analyze` on PATH, `fh-analyze` beside the
preloaded libfhtrace.so (and in ../bin of its directory, the `make install` layout). The
analyzer's stdout is the terminal summary; its failures never change pytest's exit status.
"""
import os
import shutil
import subprocess

TIMEOUT_S = 900
MAX_WARNINGS = 20


def find(preload):
    env = os.environ.get("FH_ANALYZE")
    if env:
        return env if os.access(env, os.X_OK) else None
    found = shutil.which("fh-analyze")
    if found:
        return found
    lib = preload.library_path()
    if lib:
        d = os.path.dirname(lib)
        for cand in (os.path.join(d, "fh-analyze"),
                     os.path.join(os.path.dirname(d), "bin", "fh-analyze")):
            if os.access(cand, os.X_OK):
                return cand
    return None


def github_args(rootdir, env=None):
    """Analyzer options for GitHub Actions, from its environment: the step summary file, one
    annotation per flaky or broken test (paths relative to the checkout), the run's URL."""
    env = os.environ if env is None else env
    out = []
    if env.get("GITHUB_STEP_SUMMARY"):
        out += ["--step-summary", env["GITHUB_STEP_SUMMARY"]]
    if env.get("GITHUB_ACTIONS") == "true":
        out += ["--annotations", "github"]
        ws = env.get("GITHUB_WORKSPACE")
        if ws and rootdir:
            rel = os.path.relpath(rootdir, ws)
            if rel != "." and not rel.startswith(".."):
                out += ["--annotations-prefix", rel.replace(os.sep, "/")]
    if env.get("GITHUB_SERVER_URL") and env.get("GITHUB_REPOSITORY") and env.get("GITHUB_RUN_ID"):
        out += ["--report-link", f"{env['GITHUB_SERVER_URL']}/{env['GITHUB_REPOSITORY']}"
                                 f"/actions/runs/{env['GITHUB_RUN_ID']}"]
    return out


def command(exe, run_dir, opts, rootdir=None, lost=0):
    cmd = [exe, "report", run_dir, "--out", opts["report"], "--json", opts["json"]]
    if lost:
        cmd += ["--lost-records", str(int(lost))]
    if opts.get("junit"):
        cmd += ["--junit", opts["junit"]]
    if opts.get("markdown"):
        cmd += ["--markdown", opts["markdown"]]
    cmd += github_args(rootdir)
    if opts["no_history"]:
        cmd.append("--no-history")
    else:
        cmd += ["--history-dir", opts["history_dir"]]
    if opts["ai"]:
        cmd.append("--ai")
        if opts["ai_model"]:
            cmd += ["--ai-model", opts["ai_model"]]
        if opts["ai_dotenv"]:
            cmd.append("--ai-dotenv")
    return cmd


def run(preload, run_dir, opts, cwd, rootdir=None, lost=0):
    """Run the analyzer; returns (lines for the terminal, ok). Never raises. lost: records the
    session could not write (the report and JSON say so)."""
    later = f"re-render later with: fh-analyze report {run_dir}"
    exe = find(preload)
    if exe is None:
        return ([f"flakehunter: fh-analyze not found (set FH_ANALYZE or put it on PATH); "
                 f"attempts kept in {run_dir}; {later}"], False)
    cmd = command(exe, run_dir, opts, rootdir, lost)
    env = dict(os.environ)
    # The analyzer must not trace itself into the run it is reading.
    env.pop("LD_PRELOAD", None)
    env.pop("FH_TRACE_DIR", None)
    env.pop("FH_CHAOS", None)     # chaos mode never perturbs the analyzer
    try:
        r = subprocess.run(cmd, cwd=cwd, env=env, stdin=subprocess.DEVNULL,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           timeout=TIMEOUT_S)
    except subprocess.TimeoutExpired:
        return ([f"flakehunter: {exe} timed out after {TIMEOUT_S} s; {later}"], False)
    except OSError as e:
        return ([f"flakehunter: cannot run {exe}: {e.strerror}; {later}"], False)
    out = r.stdout.decode("utf-8", "replace").splitlines()
    err = r.stderr.decode("utf-8", "replace").splitlines()
    if r.returncode != 0:
        why = err[-1] if err else f"exit status {r.returncode}"
        return (out + [f"flakehunter: fh-analyze failed ({why}); {later}"], False)
    if len(err) > MAX_WARNINGS:
        err = err[:MAX_WARNINGS] + [f"flakehunter: {len(err) - MAX_WARNINGS} more analyzer "
                                    f"warnings (run fh-analyze report {run_dir} to see all)"]
    return (out + err, True)


def candidates(preload, run_dir, cwd):
    """`fh-analyze candidates RUN_DIR`: writes RUN_DIR/candidates.json (the suspected polluters
    to replay). Returns an error line, or None when it ran."""
    exe = find(preload)
    if exe is None:
        return "flakehunter: fh-analyze not found: no polluter replays"
    env = dict(os.environ)
    env.pop("LD_PRELOAD", None)
    env.pop("FH_TRACE_DIR", None)
    try:
        r = subprocess.run([exe, "candidates", run_dir, "--quiet"], cwd=cwd, env=env,
                           stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=TIMEOUT_S)
    except (subprocess.TimeoutExpired, OSError) as e:
        return f"flakehunter: fh-analyze candidates failed ({e}): no polluter replays"
    if r.returncode != 0:
        err = r.stderr.decode("utf-8", "replace").splitlines()
        why = err[-1] if err else f"exit status {r.returncode}"
        return f"flakehunter: fh-analyze candidates failed ({why}): no polluter replays"
    return None
