# SPDX-License-Identifier: MIT
"""Every entry of preload/calls.def: a C program (tests/preload/calls_all.c) makes the call
under the preload and states the record it expects; the record read back through
`fh-analyze dump` must match (call, result, errno name, target, duration). Also: the exported
symbols equal the table, and FH_TRACE=0 writes nothing."""
import re
import subprocess

import fh_preload as fp


def table_names():
    text = (fp.ROOT / "preload" / "calls.def").read_text()
    return re.findall(r"^FH_(?:CALL|CUSTOM)\((\w+)", text, re.M)


def parse_expect(stdout):
    exp, sigs, other = [], [], []
    for line in stdout.splitlines():
        if line.startswith("EXPECT "):
            name, result, err, target, dur = line[7:].split("|")
            exp.append(dict(name=name, result=result, err=err, target=target, min_us=int(dur)))
        elif line.startswith("SIGNAL "):
            sigs.append(tuple(line[7:].split("|")))
        else:
            other.append(line)
    return exp, sigs, other


def matches(ev, e):
    if ev["name"] != e["name"] or not ev["done"]:
        return False
    if e["result"] != "*" and ev["result"] != int(e["result"]):
        return False
    if e["err"] == "-" and ev["err"]:
        return False
    if e["err"] not in ("-", "*") and ev["err"] != e["err"]:
        return False
    if e["target"] and e["target"] not in ev["args"]:
        return False
    if ev["dur"] * 1e6 + 1 < e["min_us"]:
        return False
    return True


def test_every_call_is_recorded(tmp_path):
    trace = tmp_path / "trace"
    trace.mkdir()
    p = fp.run([fp.PROGS / "calls_all", tmp_path], trace)
    exp, sigs, other = parse_expect(p.stdout)
    assert "DONE" in other
    assert "QUERY own" in other
    files = fp.dump_dir(trace)
    calls = list(fp.all_events(files, "call"))
    used = set()
    missing = []
    for e in exp:
        for i, ev in enumerate(calls):
            if i not in used and matches(ev, e):
                used.add(i)
                break
        else:
            missing.append(e)
    assert not missing, "no matching record for:\n" + "\n".join(map(str, missing))
    # every table entry was exercised by at least one expectation
    assert set(table_names()) <= {e["name"] for e in exp}
    # every signal delivery recorded, with the call it interrupted where it was blocking
    delivered = list(fp.all_events(files, "signal"))
    for sig, intr in sigs:
        assert any(d["sig"] == sig for d in delivered), (sig, delivered)
        if intr in ("pause", "sigsuspend"):
            assert any(d["sig"] == sig and d["intr"] == intr for d in delivered), (sig, intr)
    # the semaphore waits name the holder from the lock table: the caller itself, then none for a
    # new semaphore at the address of one destroyed while held, then the thread that took it
    waits = sorted((ev for ev in calls if ev["name"] == "sem_timedwait"), key=lambda ev: ev["t"])
    held = [re.findall(r"holder=(\d+)", ev["args"]) for ev in waits]
    assert len(waits) == 3 and held[0] == [str(waits[0]["tid"])] and held[1] == [] and \
        len(held[2]) == 1 and held[2] != held[0], [ev["line"] for ev in waits]
    # forked children wrote their own files
    pids = {f["pid"] for f in files}
    assert len(pids) > 1
    # the footprint: a created file says so, an existing one does not; getenv records the first
    # read of a name only; the listening socket is reported at the end of the attempt that
    # left it open, not after it was closed
    created = [x[8:] for x in other if x.startswith("CREATED ")][0]
    opens = [ev for ev in calls if ev["name"] == "open" and f'"{created}"' in ev["args"]]
    assert [ev["extra"].strip() for ev in opens] == ["{created}", "{existed}"]
    reads = [ev for ev in calls if ev["name"] == "getenv" and "FH_CALLS_PUT" in ev["args"]]
    assert len(reads) == 1 and "{set}" in reads[0]["extra"]
    fd = [x[10:] for x in other if x.startswith("LISTENING ")][0]
    left = list(fp.all_events(files, "foot"))
    assert [(x["what"], x["fd"], x["attempt"]) for x in left] == [("still listening", fd, "1")]
    assert left[0]["target"].startswith('"127.0.0.1:')
    ends = [ev for ev in fp.all_events(files, "mark") if ev["mark"] == "attempt_end"]
    assert ends and all("fds=-1" not in ev["rest"] and "threads=-1" not in ev["rest"] for ev in ends)


def test_exports_match_table():
    out = subprocess.run(["nm", "-D", "--defined-only", str(fp.FH_LIB)], capture_output=True,
                         text=True, check=True).stdout
    exported = {l.split()[-1].split("@")[0] for l in out.splitlines() if l.strip()}
    api = {"fh_version", "fh_start", "fh_active", "fh_attempt_begin", "fh_attempt_end",
           "fh_phase_begin", "fh_phase_end", "fh_hang_snapshot", "fh_quiet_thread",
           "fh_signal_count", "fh_chaos_set", "fh_chaos_check", "fh_call_name",
           "fh_profile", "fh_profile_status"}
    # the lock table's (hang.c): tracked, not traced; sem_post is in the table (a record only
    # when it releases a lock another thread holds); epollset.c's: what each epoll set holds
    tracked = {"sem_trywait", "sem_destroy", "epoll_ctl", "epoll_create", "epoll_create1"}
    assert exported == set(table_names()) | api | tracked


def test_trace_off_is_pass_through(tmp_path):
    trace = tmp_path / "trace"
    trace.mkdir()
    p = fp.run([fp.PROGS / "calls_all", tmp_path], trace, env_extra={"FH_TRACE": "0"})
    assert "DONE" in p.stdout
    assert fp.trace_files(trace) == []


def test_no_run_dir_is_pass_through(tmp_path):
    p = subprocess.run([str(fp.PROGS / "calls_all"), str(tmp_path)], env=fp.env(None),
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 0 and "DONE" in p.stdout
    assert list(tmp_path.rglob("*.fht")) == []


def test_missing_trace_dir_is_created(tmp_path):
    # FH_TRACE_DIR is created with its parents (tests/py/test_preload_limits.py has the cases
    # where it cannot be)
    missing = tmp_path / "does-not-exist" / "trace"
    p = fp.run([fp.PROGS / "calls_all", tmp_path], missing)
    assert "DONE" in p.stdout and "QUERY own" in p.stdout
    assert p.stderr == ""
    assert fp.trace_files(missing)
