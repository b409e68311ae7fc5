#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Compares two JSON summaries (e.g. two `make demo` runs, before and after a change)
semantically: usage `compare_summaries.py OLD.json NEW.json`. Timings and other decimals, pids,
ports and addresses (numbers of 3+ digits, 0x...), run ids, host facts, event counts and stacks
are masked; tests are matched by nodeid; every remaining difference is printed with its path.
Two runs of the same code differ too (which server thread was still in flight, whether a
subprocess wait slept): compare against a second run of the old code to see that noise."""
import json, re, sys

VOLATILE = {"run_id", "started_utc", "host", "os", "git", "python", "pytest", "plugin_version",
            "analyzer_version", "pid", "tid", "sender_pid", "events", "resources", "trace_events",
            "stack", "stack_fingerprint", "durations", "exe"}
NUM = re.compile(r"0x[0-9a-f]+|\d+\.\d+(e-?\d+)?|\d{3,}")


def norm(v, key=None):
    if key in VOLATILE:
        return "<volatile>"
    if isinstance(v, bool) or v is None:
        return v
    if isinstance(v, float):
        return "#" if v not in (0.0, 1.0) else v
    if isinstance(v, int):
        return v
    if isinstance(v, str):
        return NUM.sub("#", v)
    if isinstance(v, list):
        return [norm(x) for x in v]
    if isinstance(v, dict):
        return {k: norm(x, k) for k, x in v.items()}
    return v


def diff(a, b, path, out):
    if isinstance(a, dict) and isinstance(b, dict):
        for k in sorted(set(a) | set(b)):
            if k not in a:
                out.append(f"{path}.{k}: added {json.dumps(b[k])[:200]}")
            elif k not in b:
                out.append(f"{path}.{k}: removed {json.dumps(a[k])[:200]}")
            else:
                diff(a[k], b[k], f"{path}.{k}", out)
    elif isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            out.append(f"{path}: {len(a)} items -> {len(b)}: {json.dumps(a)[:300]} -> {json.dumps(b)[:300]}")
            return
        for i, (x, y) in enumerate(zip(a, b)):
            diff(x, y, f"{path}[{i}]", out)
    elif a != b:
        out.append(f"{path}: {json.dumps(a)[:300]} -> {json.dumps(b)[:300]}")


def main():
    old, new = (json.load(open(p)) for p in sys.argv[1:3])
    ot = {t["nodeid"]: t for t in old.pop("tests")}
    nt = {t["nodeid"]: t for t in new.pop("tests")}
    out = []
    diff(norm(old), norm(new), "$", out)
    for n in sorted(set(ot) | set(nt)):
        if n not in ot or n not in nt:
            out.append(f"{n}: only in {'new' if n in nt else 'old'}")
            continue
        diff(norm(ot[n]), norm(nt[n]), n, out)
    print("\n".join(out) if out else "no semantic difference")
    return 0


if __name__ == "__main__":
    sys.exit(main())
