# SPDX-License-Identifier: MIT
"""Faults and limits of libfhtrace.so, through real programs and a real pytest run: the
program under test sees what it would see without the preload (its output, its errors, its
exit status), whatever its disk, its own limits (RLIMIT_FSIZE, RLIMIT_NOFILE) or the trace
directory do; every event the library could not write is counted with its reason (`fh-analyze
dump`, the JSON summary's "trace_dropped", the report header); a module map is complete or says
it is not; trace pages already written leave the resident set and still survive SIGKILL."""
import json
import os
import pathlib
import re
import resource
import signal
import subprocess
import sys
import time

import pytest

import fh_preload as fp

STRESS = fp.PROGS / "stress"
QUIET = {"FH_SLOW_US": "1000000000"}   # no lazy target strings
NO_STACKS = dict(QUIET, FH_STACK_MS="-1")
ROOT_ONLY = pytest.mark.skipif(os.geteuid() != 0, reason="needs root for a private tmpfs mount")


def plain(argv, **kw):
    return subprocess.run([str(a) for a in argv], env=fp.env(None, preload=False), capture_output=True,
                          text=True, timeout=120, **kw)


def map_lines_ok(path):
    """A module map file read the analyzer's way: whole lines only, each one it knows."""
    data = pathlib.Path(path).read_bytes()
    assert data.endswith(b"\n"), f"{path}: cut in the middle of a line: {data[-60:]!r}"
    lines = data.decode().splitlines()
    assert lines[0] == "fhmaps 1" and lines[1].startswith("pid ")
    for line in lines[2:]:
        assert re.match(r"^(stack |pystack |mod [0-9a-f]+ [0-9a-f]+ [0-9a-f]+ (-|[0-9a-f]+) .+$)", line), line
    return [line for line in lines if line.startswith("mod ")]


RESERVE_SLOTS = 1023   # preload/procfile.c: FH_RESERVE_BYTES / 64 - 1

# ---- the program's own limits -------------------------------------------------------------

@pytest.mark.parametrize("fix", [1, 0])
def test_limits_lowered_while_running(tmp_path, fix):
    # stress limits (tests/preload/stress.c): RLIMIT_FSIZE below the trace's size while threads
    # start and a slow call needs the module map, with SIGXFSZ at its default (kill); then
    # RLIMIT_NOFILE 3 above the fds in use; then both back. Before this was handled the module
    # map was cut mid-line and the next write to it killed the program with SIGXFSZ.
    m = 20000
    argv = [STRESS, "limits", 200, m, fix]   # 200 bytes: the module map's first lines only
    ref = plain(argv)
    assert ref.returncode == 0, ref.stderr
    # Stacks (and so module map writes) only for the 30 ms polls: with the default threshold
    # a write preempted on a busy machine got one too, and wrote the map late when fix is 0.
    p = fp.run(argv, tmp_path, env_extra=dict(QUIET, FH_STACK_MS="25"))
    assert (p.returncode, p.stdout) == (0, ref.stdout)
    assert re.match(r"limits opened 3 late fd \d+ calls \d+ ok$", p.stdout.strip())
    calls = int(p.stdout.split()[-2])
    late_fd = int(p.stdout.split()[5])
    files = fp.dump_dir(tmp_path)
    assert len({f["path"] for f in files}) == 1
    main = [f for f in files if f["tid"] == f["pid"]]
    assert len(main) == 1
    main = main[0]
    # every wrapped call the program made is either in the trace or counted as dropped
    # (minus the PROC record and the library's own resource figures, e.g. at exit)
    own = sum(1 for f in files for e in f["events"] if e["kind"] == "res")
    assert sum(f["nevents"] for f in files) - 1 - own + main["proc_dropped"] == calls
    assert sum(main["proc_reasons"].values()) == main["proc_dropped"]
    # the 4 threads started under the file limit never got a chunk; of the 2 started near the
    # fd limit, one got the fd-free reserve (1,023 records) and lost the rest, the other got
    # nothing; the main thread stopped at the file limit (E) and resumed after it
    others = [f for f in files if f["tid"] != f["pid"]]
    assert [f["nevents"] for f in others] == [RESERVE_SLOTS], others
    assert main["proc_reasons"]["no_fd"] == 2 * (m // 10) - RESERVE_SLOTS
    assert main["proc_reasons"]["rlimit_fsize"] == 4 * m + main["dropped"]
    assert set(main["proc_reasons"]) == {"no_fd", "rlimit_fsize"}
    assert main["dropped"] > 0 and "reason rlimit_fsize" in main["flags"]
    late = [e for e in main["events"] if e["kind"] == "call" and e["name"] == "write"
            and e["args"].split(",")[0] == str(late_fd)]
    assert 0 < len(late) < m
    maps = fp.trace_files(tmp_path)[0].with_suffix(".maps")
    mods = map_lines_ok(maps)
    polls = [e for e in main["events"] if e["kind"] == "call" and e["name"] == "poll"]
    assert len(polls) == 3 + fix and all(e.get("stack") for e in polls)
    if fix:
        # written in full once the limits were back: libm (dlopen'ed under the limit) too
        assert any("/libm.so.6" in x for x in mods)
        assert main["map_incomplete"] is None
    else:
        # refused at the file limit, then at the fd limit: marked, and only whole lines
        assert mods == []
        assert main["map_incomplete"] == "no_fd"


def test_process_without_a_file_records_its_losses_at_exit(tmp_path):
    # Started with RLIMIT_NOFILE so low that the library never opens its file while the program
    # runs (it leaves the last 16 fds to the program): the events are counted, and written with
    # the file the process creates at exit.
    def low_nofile():
        resource.setrlimit(resource.RLIMIT_NOFILE, (12, 12))
    ref = plain([STRESS, "many", 1000], preexec_fn=low_nofile)
    p = fp.run([STRESS, "many", 1000], tmp_path, env_extra=NO_STACKS, preexec_fn=low_nofile)
    assert (p.returncode, p.stdout, p.stderr) == (ref.returncode, ref.stdout, ref.stderr)
    files = fp.dump_dir(tmp_path)
    assert len(files) == 1 and files[0]["nevents"] == 0
    # the open of /dev/null and the 1,000 writes
    assert files[0]["proc_reasons"] == {"no_fd": 1001}


LEAKER = r'''
import errno, os, resource, socket, threading
out = os.open(os.devnull, os.O_WRONLY)
pool = []

def leak():
    # A thread of its own, so that the chunks are this thread's only: 255 records, then 511
    # (a thread writing a lot: the reserve is made then), then 1,023 ...
    for _ in range(300):
        os.write(out, b"a")
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    used = len(os.listdir("/proc/self/fd"))
    resource.setrlimit(resource.RLIMIT_NOFILE, (used + 40, hard))
    try:
        while True:
            pool.append(socket.socket())
    except OSError as e:
        assert e.errno == errno.EMFILE, e
    for _ in range(700):        # past the second chunk while every fd is taken
        os.write(out, b"b")

t = threading.Thread(target=leak)
t.start()
t.join()
print(len(pool), "sockets")
'''


def test_events_at_the_fd_limit_are_kept(tmp_path):
    # A program leaking sockets up to its fd limit, then writing on: the library opens no fd
    # of its own then (the last 16 are the program's), so the chunk it needs comes from the
    # reserve made earlier. Without it, every event after the chunk filled was dropped (no_fd),
    # the failing socket() among the first: the evidence of the leak.
    argv = [sys.executable, "-c", LEAKER]
    ref = plain(argv)
    p = fp.run(argv, tmp_path, env_extra=NO_STACKS)
    assert (p.returncode, p.stdout, p.stderr) == (0, ref.stdout, ref.stderr)
    n = int(p.stdout.split()[0])
    assert n >= 39
    files = fp.dump_dir(tmp_path)
    assert [f["proc_dropped"] for f in files if f["tid"] == f["pid"]] == [0], files[0]["proc_reasons"]
    leaker = [f for f in files if f["tid"] != f["pid"] and any(
        e["kind"] == "call" and e["name"] == "socket" for e in f["events"])]
    # one stream, although its third chunk (the reserve) lies before its first two in the file
    assert len(leaker) == 1 and [f["tid"] for f in files].count(leaker[0]["tid"]) == 1
    assert leaker[0]["dropped"] == 0
    calls = [e for e in leaker[0]["events"] if e["kind"] == "call"]
    writes = [e for e in calls if e["name"] == "write"]
    assert len(writes) == 1000
    socks = [e for e in calls if e["name"] == "socket"]
    assert len(socks) == n + 1 and "EMFILE" in json.dumps(socks[-1]), socks[-1]


PSUTIL_LIKE = r'''
import errno, os, resource, subprocess, sys, threading, time
import pytest

def burst(n):
    fd = os.open(os.devnull, os.O_WRONLY)
    for _ in range(n):
        os.write(fd, b"x")
    os.close(fd)

def test_rlimit_fsize(tmp_path):
    # psutil's test_rlimit: RLIMIT_FSIZE of the pytest process itself, 1024 bytes
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    resource.setrlimit(resource.RLIMIT_FSIZE, (1024, hard))
    try:
        with open(tmp_path / "f", "wb") as f:
            f.write(b"X" * 1024)
        with pytest.raises(OSError) as exc:
            with open(tmp_path / "f", "wb") as f:
                f.write(b"X" * 1025)
        assert exc.value.errno == errno.EFBIG
        ts = [threading.Thread(target=burst, args=(3000,)) for _ in range(4)]
        [t.start() for t in ts]; [t.join() for t in ts]
        time.sleep(0.03)   # slow: its stack needs the module map, which cannot grow now
        r = subprocess.run([sys.executable, "-c", "print('child')"], capture_output=True, text=True)
        assert (r.returncode, r.stdout) == (0, "child\n")
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
    assert resource.getrlimit(resource.RLIMIT_FSIZE) == (soft, hard)

def test_rlimit_nofile():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    dfd = os.open("/proc/self/fd", os.O_RDONLY)
    used = os.fstat(dfd).st_size - 1    # open fds (Linux >= 6.2), not counting dfd
    os.close(dfd)
    resource.setrlimit(resource.RLIMIT_NOFILE, (used + 30, hard))
    got = []
    try:
        with pytest.raises(OSError) as exc:
            while True:
                got.append(os.open(os.devnull, os.O_RDONLY))
        assert exc.value.errno == errno.EMFILE
        # every fd up to the limit went to the program, none to the library
        assert len(got) == 30
        for fd in got[-8:]:   # 8 fds left: threads and a child now
            os.close(fd)
        ts = [threading.Thread(target=burst, args=(2000,)) for _ in range(3)]
        [t.start() for t in ts]; [t.join() for t in ts]
        r = subprocess.run(["/bin/sh", "-c", "echo child"], capture_output=True, text=True)
        assert r.stdout == "child\n"
        time.sleep(0.03)
        # a child whose limit leaves the library no fd while it runs: its file is made at exit
        low = lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (12, 12))
        r = subprocess.run([sys.executable, "-c", "print(sum(range(10)))"], capture_output=True,
                           text=True, preexec_fn=low, close_fds=True)
        assert (r.returncode, r.stdout) == (0, "45\n")
    finally:
        for fd in got[:-8]:
            os.close(fd)
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))

def test_after_the_limits():
    burst(1000)
    time.sleep(0.03)   # a stack once the limits are back: the module map is completed

def test_fails_the_same_way():
    assert resource.getrlimit(resource.RLIMIT_FSIZE)[0] == 1   # fails, with or without the preload
'''


def run_fh_suite(d, preload):
    d.mkdir()
    (d / "test_limits.py").write_text(PSUTIL_LIKE)
    env = fp.env(None, preload=preload)
    env["PYTHONPATH"] = str(fp.ROOT / "plugin")
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    env["FH_ANALYZE"] = str(fp.FH_ANALYZE)
    p = subprocess.run([fp.PYTHON, "-m", "pytest", "-q", "-rA", "-p", "no:cacheprovider",
                        "-p", "pytest_flakehunter", "--fh", "--fh-runs=2", "--fh-no-history",
                        "test_limits.py"], cwd=d, env=env, capture_output=True, text=True, timeout=300)
    outcomes = sorted(l.split(" - ")[0] for l in p.stdout.splitlines()
                      if l.startswith(("PASSED ", "FAILED ", "ERROR ")))
    return p, outcomes


def test_pytest_lowering_its_own_limits(tmp_path):
    ref, ref_out = run_fh_suite(tmp_path / "plain", preload=False)
    p, out = run_fh_suite(tmp_path / "traced", preload=True)
    assert (p.returncode, out) == (ref.returncode, ref_out)
    # -rA: one PASSED line per passing attempt, one FAILED line per test and failure cluster
    # (the terminal groups a hunt's failing attempts); pytest's counts have every attempt
    assert len(out) == 3 * 2 + 1 and sum(o.startswith("FAILED") for o in out) == 1, p.stdout
    assert re.search(r"\b2 failed, 6 passed\b", p.stdout), p.stdout
    assert "malformed" not in p.stdout + p.stderr and "malformed" not in ref.stdout
    summary = json.loads((tmp_path / "traced" / "flakehunter_report.json").read_text())
    lost = summary["trace_dropped"]
    assert lost["events"] == summary["totals"]["trace_dropped"] > 0
    assert {"rlimit_fsize", "no_fd"} <= set(lost["reasons"]), lost
    assert sum(lost["reasons"].values()) == lost["events"]
    assert lost["module_maps_incomplete"] == 0 and lost["module_map_reasons"] == {}
    # pytest itself, and each attempt's child that could only write its file at exit
    run = next((tmp_path / "traced" / ".flakehunter" / "runs").iterdir())
    header_only = [f for f in fp.dump(fp.trace_files(run / "trace")) if f["tid"] == 0]
    assert len(header_only) == 2 and all(f["proc_reasons"].get("no_fd") for f in header_only)
    assert lost["processes"] == 1 + len(header_only)
    html = (tmp_path / "traced" / "flakehunter_report.html").read_text()
    line = re.search(r'<p class="note warn" id="trace-dropped">(.*?)</p>', html).group(1)
    assert f"Tracing dropped {lost['events']} events" in line
    assert "RLIMIT_FSIZE" in line and "fd table" in line
    plain_summary = json.loads((tmp_path / "plain" / "flakehunter_report.json").read_text())
    assert plain_summary["trace_dropped"] == {"events": 0, "processes": 0, "reasons": {},
                                              "module_maps_incomplete": 0, "module_map_reasons": {}}
    # each map of the run is whole lines
    maps = list(run.glob("trace/*.maps"))
    assert maps
    for m in maps:
        map_lines_ok(m)


# ---- the trace directory ------------------------------------------------------------------

def test_trace_dir_created_with_parents(tmp_path):
    d = tmp_path / "a" / "b" / "trace"
    old = os.umask(0)
    try:
        p = fp.run([STRESS, "many", 10], d)
    finally:
        os.umask(old)
    assert p.stderr == "" and "many 10 ok" in p.stdout
    for x in (tmp_path / "a", tmp_path / "a" / "b", d):
        assert (x.stat().st_mode & 0o777) == 0o700, x
    assert len(fp.trace_files(d)) == 1


SPAWNER = r'''
import os, subprocess, sys
print("env", os.environ.get("FH_TRACE_WARNED") == os.environ["FH_TRACE_DIR"])
r = subprocess.run([sys.executable, "-c", "import sys; print('py'); sys.stderr.write('own\\n')"],
                   capture_output=True, text=True)
print("child", repr(r.stdout), repr(r.stderr))
subprocess.run(["/bin/sh", "-c", "echo sh; /bin/sh -c 'echo grandchild'"])
sys.stderr.write("done\n")
'''


def test_trace_dir_that_cannot_be_created_one_line_per_tree(tmp_path):
    (tmp_path / "file").write_text("x")
    bad = tmp_path / "file" / "trace"       # below a regular file: ENOTDIR
    p = fp.run([fp.PYTHON, "-c", SPAWNER], bad)
    assert p.stdout.splitlines() == ["env True", "child 'py\\n' 'own\\n'", "sh", "grandchild"]
    assert p.stderr.splitlines() == [
        f"libfhtrace: cannot create trace dir '{bad}': Not a directory; tracing off", "done"]
    assert not bad.exists()
    # a child given another directory that cannot be created says so itself
    other = tmp_path / "file" / "other"
    p = fp.run([fp.PYTHON, "-c", "import os, subprocess; subprocess.run(['/bin/true'], env=dict("
                f"os.environ, FH_TRACE_DIR={str(other)!r}))"], bad)
    assert p.stderr.splitlines() == [
        f"libfhtrace: cannot create trace dir '{bad}': Not a directory; tracing off",
        f"libfhtrace: cannot create trace dir '{other}': Not a directory; tracing off"]


CAPTURING_SUITE = r'''
import subprocess, sys
def test_child_stderr_is_the_childs():
    r = subprocess.run([sys.executable, "-c", "print(1)"], capture_output=True, text=True)
    assert (r.stdout, r.stderr) == ("1\n", "")

def test_own_stderr_capture(capfd):
    sys.stderr.write("mine\n")
    assert capfd.readouterr().err == "mine\n"
'''


def test_trace_dir_that_cannot_be_created_under_pytest(tmp_path):
    # The line is written by the pytest process's constructor, before pytest captures fd 2, and
    # never by the processes its tests start: their captured stderr stays theirs.
    (tmp_path / "file").write_text("x")
    bad = tmp_path / "file" / "trace"
    (tmp_path / "test_cap.py").write_text(CAPTURING_SUITE)
    p = subprocess.run([fp.PYTHON, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_cap.py"],
                       cwd=tmp_path, env=fp.env(bad), capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stdout
    assert "2 passed" in p.stdout
    assert p.stderr == f"libfhtrace: cannot create trace dir '{bad}': Not a directory; tracing off\n"


# ---- the disk ------------------------------------------------------------------------------

# Writes 4 KiB blocks to PATH until it has written TOTAL bytes (0: until an error), making PER
# traced writes to /dev/null before each block, so that the trace grows 16 bytes for every byte
# of data per 256 PER; prints what it saw.
FILLER = r'''
import errno, json, os, sys
path, total, per = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
null = os.open(os.devnull, os.O_WRONLY)
fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
written, errors, short = 0, [], 0
block = b"x" * 4096
while not total or written < total:
    for _ in range(per):
        os.write(null, b"y")
    try:
        n = os.write(fd, block)
    except OSError as e:
        errors.append(errno.errorcode[e.errno])
        break
    written += n
    short += n < len(block)
os.close(fd)
print(json.dumps({"written": written, "errors": errors, "short": short}))
'''

DRIVER = r'''
import json, os, subprocess, sys
mnt, size, env, argv = sys.argv[1], sys.argv[2], json.loads(sys.argv[3]), json.loads(sys.argv[4])
subprocess.run(["mount", "-t", "tmpfs", "-o", "size=" + size, "tmpfs", mnt], check=True)
try:
    p = subprocess.run(argv, env=env, capture_output=True, text=True)
    trace = os.path.join(mnt, "trace")
    blocks = {f: os.stat(os.path.join(trace, f)).st_blocks * 512
              for f in (os.listdir(trace) if os.path.isdir(trace) else [])}
    dump = subprocess.run([sys.argv[5], "dump"] + [os.path.join(trace, f) for f in sorted(blocks)
                          if f.endswith(".fht")], capture_output=True, text=True).stdout if blocks else ""
    print(json.dumps({"rc": p.returncode, "out": p.stdout, "err": p.stderr, "trace_bytes": blocks,
                      "dump": dump}))
finally:
    subprocess.run(["umount", mnt], check=True)
'''


def in_tmpfs(tmp_path, size, argv, preload, **extra):
    """Runs argv in a private mount namespace with a fresh tmpfs of `size` at MNT, the data file
    and (under the preload) the trace directory MNT/trace on it."""
    mnt = tmp_path / "mnt"
    mnt.mkdir(exist_ok=True)
    env = fp.env(str(mnt / "trace") if preload else None, preload=preload, **extra)
    argv = [str(a).replace("MNT", str(mnt)) for a in argv]
    d = subprocess.run(["unshare", "-m", fp.PYTHON, "-c", DRIVER, str(mnt), size, json.dumps(env),
                        json.dumps(argv), str(fp.FH_ANALYZE)], capture_output=True, text=True,
                       timeout=300)
    assert d.returncode == 0, d.stderr
    return json.loads(d.stdout)


def losses(dump):
    """The `process dropped` lines of a dump: [{"dropped", "reasons", "map"}]."""
    return [m.groupdict() for m in map(fp.LOSS.match, dump.splitlines()) if m]


@ROOT_ONLY
def test_disk_floor_leaves_the_space_to_the_program(tmp_path):
    # 16 MiB tmpfs, floor 4 MiB. The program needs 3 MiB and makes 512 traced calls per 4 KiB
    # written (the trace grows 8 times as fast as its data): without the preload it never runs
    # out of space, and under it neither; with the floor off the trace takes the space first.
    argv = [fp.PYTHON, "-c", FILLER, "MNT/data", 3 << 20, 512]
    ref = in_tmpfs(tmp_path, "16m", argv, preload=False)
    got = in_tmpfs(tmp_path, "16m", argv, preload=True, FH_TRACE_MIN_FREE="4M", **NO_STACKS)
    assert ref["rc"] == 0 and json.loads(ref["out"]) == {"written": 3 << 20, "errors": [], "short": 0}
    assert (got["rc"], got["out"], got["err"]) == (ref["rc"], ref["out"], ref["err"])
    loss = losses(got["dump"])
    assert len(loss) == 1 and loss[0]["reasons"].startswith("disk_floor "), got["dump"][-500:]
    assert sum(got["trace_bytes"].values()) <= (16 << 20) - (4 << 20)
    # the control: no floor, and the same run fails for lack of space
    off = in_tmpfs(tmp_path, "16m", argv, preload=True, FH_TRACE_MIN_FREE="0", **NO_STACKS)
    assert json.loads(off["out"])["errors"] == ["ENOSPC"]


@ROOT_ONLY
def test_disk_floor_program_filling_the_disk(tmp_path):
    # The program writes until ENOSPC on the filesystem the trace is on: same errors, same exit
    # status; it wrote less by exactly the space the trace files hold, which the floor (1 MiB
    # here) kept from growing once the program had filled the rest.
    argv = [fp.PYTHON, "-c", FILLER, "MNT/data", 0, 128]
    ref = in_tmpfs(tmp_path, "8m", argv, preload=False)
    got = in_tmpfs(tmp_path, "8m", argv, preload=True, FH_TRACE_MIN_FREE="1M", **NO_STACKS)
    a, b = json.loads(ref["out"]), json.loads(got["out"])
    assert (ref["rc"], a["errors"], a["short"]) == (0, ["ENOSPC"], 0)
    assert (got["rc"], b["errors"], b["short"], got["err"]) == (0, ["ENOSPC"], 0, ref["err"])
    held = sum(got["trace_bytes"].values())
    assert 0 < held < 8 << 20
    assert a["written"] - b["written"] == held
    loss = losses(got["dump"])
    assert len(loss) == 1 and "disk_floor" in loss[0]["reasons"], got["dump"][-500:]


# ---- memory --------------------------------------------------------------------------------

def test_written_pages_leave_rss_and_survive_sigkill(tmp_path):
    # 400,000 records (24 MiB of trace): the pages written leave the resident set as the file
    # grows (at most the last 2-4 MiB of it stay mapped in), and SIGKILL loses none of them.
    n = 400_000
    proc = subprocess.Popen([str(STRESS), "manyblock", str(n)], env=fp.env(tmp_path, **NO_STACKS),
                            stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == f"many {n} ok"
        assert proc.stdout.readline().strip() == "ready"
        rss, size = 0, 0
        with open(f"/proc/{proc.pid}/smaps") as f:
            inside = False
            for line in f:
                if re.match(r"^[0-9a-f]+-[0-9a-f]+ ", line):
                    inside = line.rstrip().endswith(".fht")
                elif inside and line.startswith("Rss:"):
                    rss += int(line.split()[1]) << 10
        size = fp.trace_files(tmp_path)[0].stat().st_size
        assert size > 24 << 20
        assert rss <= 6 << 20, f"{rss >> 20} MiB of the trace file resident"
        proc.send_signal(signal.SIGKILL)
        assert proc.wait(timeout=30) == -signal.SIGKILL
    finally:
        proc.kill()
        proc.stdout.close()
    files = fp.dump_dir(tmp_path)
    writes = sum(1 for e in fp.all_events(files, "call") if e["name"] == "write")
    assert writes == n and files[0]["dropped"] == 0
