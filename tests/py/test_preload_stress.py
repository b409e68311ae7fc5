# SPDX-License-Identifier: MIT
"""Stress and fault tests of libfhtrace.so (tests/preload/stress.c and Python programs), each
read back through `fh-analyze dump`: threads with exact event/drop counts, forked children and
exec chains in their own files, a vfork subprocess storm, a signal storm with EINTR unchanged,
SIGKILL inside a blocking call, a program that closes every fd, a full trace directory."""
import os
import re
import signal
import subprocess
import sys

import pytest

import fh_preload as fp

STRESS = fp.PROGS / "stress"
NO_SLOW = {"FH_SLOW_US": "1000000000"}   # no lazy target strings: counts stay exact


def devnull_writes(f):
    return sum(1 for e in f["events"] if e["kind"] == "call" and e["name"] == "write"
               and e["args"].startswith("3"))


def test_200_threads_x_10000_calls(tmp_path):
    fp.run([STRESS, "threads", 200, 10000], tmp_path, timeout=300, env_extra=NO_SLOW)
    files = fp.dump_dir(tmp_path)
    workers = [f for f in files if f["tid"] != f["pid"]]
    assert len(workers) == 200
    for f in workers:
        assert f["dropped"] == 0
        assert devnull_writes(f) == 10000


def test_drops_are_counted_exactly(tmp_path):
    # 64 KiB files hold 1,024 records: most of 5,000 writes are dropped, and counted.
    fp.run([STRESS, "threads", 20, 5000], tmp_path, timeout=120,
           env_extra=dict(NO_SLOW, FH_TRACE_MAX_BYTES=65536 + 4096))
    files = fp.dump_dir(tmp_path)
    workers = [f for f in files if f["tid"] != f["pid"]]
    assert len(workers) == 20
    for f in workers:
        assert f["dropped"] > 0 and "reason thread_cap" in f["flags"]
        assert f["nevents"] + f["dropped"] == 5000
        assert devnull_writes(f) == f["nevents"]
    assert workers[0]["proc_reasons"] == {"thread_cap": sum(f["dropped"] for f in workers)}


def test_forked_children_have_own_files(tmp_path):
    p = fp.run([STRESS, "forks", 50], tmp_path, timeout=120, env_extra=NO_SLOW)
    assert "bad 0" in p.stdout
    files = fp.dump_dir(tmp_path)
    parent = [f for f in files if f["events"] and f["events"][0]["kind"] == "proc"
              and all(c["ppid"] != f["pid"] for c in [f])]
    parent_pids = {f["pid"] for f in files if any(g["ppid"] == f["pid"] for g in files)}
    assert len(parent_pids) == 1
    ppid = parent_pids.pop()
    children = [f for f in files if f["ppid"] == ppid]
    assert len(children) == 50
    assert len({f["pid"] for f in children}) == 50
    for f in children:
        assert devnull_writes(f) == 3
        assert all(e["pid"] == f["pid"] for e in f["events"])
    main = [f for f in files if f["pid"] == ppid]
    assert sum(devnull_writes(f) for f in main) == 0     # nothing of the children in the parent's
    waits = [e for f in main for e in f["events"] if e["kind"] == "call" and e["name"] == "wait"]
    assert len(waits) == 50 and all("{exited 7}" in e["extra"] for e in waits)
    assert parent is not None


def test_exec_chain_each_image_own_file(tmp_path):
    trace = tmp_path / "trace"
    trace.mkdir()
    p = fp.run([STRESS, "chain", 5], trace)
    pid = int(p.stdout.split()[-1])
    files = [f for f in fp.dump_dir(trace) if f["pid"] == pid]
    assert len(files) == 6
    for f in files:
        assert f["events"][0]["kind"] == "proc"
        assert devnull_writes(f) == 1


def test_vfork_subprocess_storm(tmp_path):
    trace = tmp_path / "trace"
    trace.mkdir()
    code = (
        "import subprocess, threading\n"
        "out = []\n"
        "def run():\n"
        "    for i in range(20):\n"
        "        out.append(subprocess.run(['/bin/sh', '-c', 'exit 4']).returncode)\n"
        "ts = [threading.Thread(target=run) for _ in range(3)]\n"
        "[t.start() for t in ts]; [t.join() for t in ts]\n"
        "print(sorted(set(out)), len(out))\n")
    p = fp.run([fp.PYTHON, "-c", code], trace, timeout=120)
    assert p.stdout.strip() == "[4] 60"
    files = fp.dump_dir(trace)
    py = [f for f in files if "python" in f["exe"]]
    assert {f["pid"] for f in py} and len({f["pid"] for f in py}) == 1
    shells = [f for f in files if f["exe"].endswith("sh") or "dash" in f["exe"]]
    assert len({f["pid"] for f in shells}) == 60
    # each vfork child's exec is in the stream of the thread that spawned it (suspended
    # meanwhile), naming the child; nothing else of the children is in the parent's file
    execs = [e for f in py for e in f["events"] if e["kind"] == "call" and e["name"].startswith("exec")]
    assert len(execs) == 60 and all(e["args"] == '"/bin/sh"' for e in execs), execs
    kids = {int(re.search(r"\{child (\d+)\}", e["line"]).group(1)) for e in execs}
    assert kids == {f["pid"] for f in shells}
    assert all(e["pid"] == py[0]["pid"] for f in py for e in f["events"])
    waits = [e for f in py for e in f["events"] if e["kind"] == "call" and e["name"] == "waitpid"
             and "{exited 4}" in e["extra"]]
    assert len(waits) == 60


def test_signal_storm_eintr_unchanged(tmp_path):
    k = 15
    plain = subprocess.run([str(STRESS), "sigstorm", str(k)], env=fp.env(None, preload=False),
                           capture_output=True, text=True, timeout=120)
    traced = fp.run([STRESS, "sigstorm", k], tmp_path, timeout=120)
    assert plain.stdout == traced.stdout
    assert f"all-handled 1 eintr {k} {k} {k} other 0 0 0" in traced.stdout
    sent = int(traced.stderr.split("sent ")[1].split()[0])
    files = fp.dump_dir(tmp_path)
    sigs = [e for e in fp.all_events(files, "signal") if e["sig"] == "SIGUSR1"]
    assert len(sigs) == sent          # every delivery recorded
    by = {}
    for s in sigs:
        by[s["intr"]] = by.get(s["intr"], 0) + 1
    for call in ("clock_nanosleep", "poll", "sem_clockwait"):
        assert by.get(call, 0) >= k   # each wait was cut by a recorded delivery
    calls = list(fp.all_events(files, "call"))
    assert sum(1 for c in calls if c["name"] == "clock_nanosleep" and c["err"] == "EINTR") == k
    assert sum(1 for c in calls if c["name"] == "poll" and c["err"] == "EINTR") == k
    assert sum(1 for c in calls if c["name"] == "sem_clockwait" and c["err"] == "EINTR") == k
    # the handler's own write() was recorded too (nested inside the interrupted call)
    assert sum(1 for c in calls if c["name"] == "write" and c["result"] == 1) >= 3 * k


def test_sigkill_leaves_call_in_flight(tmp_path):
    proc = subprocess.Popen([str(STRESS), "block"], env=fp.env(tmp_path), stdout=subprocess.PIPE,
                            text=True)
    try:
        assert proc.stdout.readline().strip() == "ready"
        # wait until the poll record is written (entry half) before killing
        for _ in range(1000):
            files = fp.dump_dir(tmp_path)
            if any(e["name"] == "poll" for e in fp.all_events(files, "call")):
                break
            subprocess.run(["sleep", "0.01"])
        proc.send_signal(signal.SIGKILL)
        assert proc.wait(timeout=30) == -signal.SIGKILL
    finally:
        proc.kill()
        proc.stdout.close()
    files = fp.dump_dir(tmp_path)
    polls = [e for e in fp.all_events(files, "call") if e["name"] == "poll"]
    assert len(polls) == 1
    assert not polls[0]["done"] and polls[0]["t"] > 0


def test_program_closing_every_fd(tmp_path):
    trace = tmp_path / "trace"
    trace.mkdir()
    fp.run([STRESS, "closeall", tmp_path / "data"], trace)
    assert (tmp_path / "data").read_bytes() == b"ABCT"
    files = fp.dump_dir(trace)
    assert len(files) == 2   # main thread and the thread created after closing everything
    opens = [e for e in fp.all_events(files, "call") if e["name"] == "open" and "data" in e["args"]]
    assert [e["result"] for e in opens] == [0, 1, 1]   # the library kept no fd of its own


def test_file_size_limit_stops_tracing_not_program(tmp_path):
    # RLIMIT_FSIZE smaller than a trace file: the library stays under it (no SIGXFSZ).
    code = ("import resource, os, sys\n"
            "resource.setrlimit(resource.RLIMIT_FSIZE, (200000, 200000))\n"
            f"os.execv({str(STRESS)!r}, [{str(STRESS)!r}, 'many', '20000'])\n")
    p = fp.run([fp.PYTHON, "-c", code], tmp_path, env_extra=NO_SLOW)
    assert "many 20000 ok" in p.stdout
    files = [f for f in fp.dump_dir(tmp_path) if "stress" in f["exe"]]
    assert len(files) == 1
    f = files[0]
    assert "full" in f["flags"]
    # everything after the file filled up is dropped and counted (stdio's own writes do not
    # go through the PLT, so the writes to /dev/null are all there is)
    assert f["dropped"] > 0
    assert devnull_writes(f) + f["dropped"] == 20000
    assert f["proc_reasons"] == {"rlimit_fsize": f["dropped"]}


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root for a private tmpfs mount")
def test_full_trace_directory(tmp_path):
    # A 1.5 MiB tmpfs holds one trace file's first chunk; growing it fails with ENOSPC (the
    # disk floor is off: it would keep the library out of so small a filesystem altogether).
    mnt = tmp_path / "mnt"
    out = tmp_path / "out"
    mnt.mkdir()
    out.mkdir()
    script = (f"mount -t tmpfs -o size=1536k tmpfs {mnt} && "
              f"env LD_PRELOAD={fp.FH_LIB} FH_TRACE_DIR={mnt} FH_TRACE_MIN_FREE=0 {STRESS} many 40000; "
              f"rc=$?; cp {mnt}/*.fht {out}/; exit $rc")
    p = subprocess.run(["unshare", "-m", "sh", "-c", script],
                       env=fp.env(None, preload=False, **NO_SLOW),
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    assert "many 40000 ok" in p.stdout
    files = fp.dump_dir(out)
    assert len(files) == 1
    f = files[0]
    assert "full" in f["flags"] and f["dropped"] > 0 and "reason disk_full" in f["flags"]
    assert devnull_writes(f) + f["dropped"] == 40000
    assert f["proc_reasons"] == {"disk_full": f["dropped"]}


def test_file_size_limit_lowered_while_running(tmp_path):
    # The limit drops after the trace file exists: growing it must stop below the limit
    # instead of raising SIGXFSZ in the program.
    code = ("import resource, os\n"
            "fd = os.open('/dev/null', os.O_WRONLY)\n"
            "resource.setrlimit(resource.RLIMIT_FSIZE, (300000, 300000))\n"
            "for _ in range(20000): os.write(fd, b'x')\n"
            "print('done')\n")
    p = fp.run([fp.PYTHON, "-c", code], tmp_path, env_extra=NO_SLOW)
    assert p.stdout.strip() == "done"
    files = fp.dump_dir(tmp_path)
    assert len(files) == 1 and "full" in files[0]["flags"] and files[0]["dropped"] > 0
    assert all(f.stat().st_size <= 300000 for f in fp.trace_files(tmp_path))
