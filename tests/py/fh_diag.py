# SPDX-License-Identifier: MIT
"""Helpers of the diagnosis integration tests: write a small suite under tmp_path, run it with
real pytest under the real preload (LD_PRELOAD=libfhtrace.so) and --fh, and read the JSON
summary the real analyzer wrote."""
import json
import os
import subprocess
import textwrap

from conftest import FH_ANALYZE, FH_LIB, ROOT


class FhRun:
    def __init__(self, proc, summary):
        self.proc = proc
        self.summary = summary

    def test(self, name):
        """The summary's test whose nodeid ends with `name` (e.g. "::test_x")."""
        hits = [t for t in self.summary["tests"] if t["nodeid"].endswith(name)]
        assert len(hits) == 1, (name, [t["nodeid"] for t in self.summary["tests"]])
        return hits[0]

    def diag(self, name):
        return self.test(name)["diagnosis"]

    def outcomes(self, name):
        return "".join(a["outcome"][0] for a in self.test(name)["attempt_log"])

    def failing(self, name):
        return [a for a in self.test(name)["attempt_log"] if a["outcome"] in ("failed", "error")]

    def passing(self, name):
        return [a for a in self.test(name)["attempt_log"] if a["outcome"] == "passed"]


def run_fh(tmp_path, files, *args, preload=True, runs=6, timeout=180, history=None, pin=None):
    """Writes files ({name: source}) into tmp_path/suite and runs pytest --fh there; with
    `history` (a directory) the CSV history is read and appended there, else it is off; with
    `pin` (a CPU number) pytest runs on that CPU only."""
    suite = tmp_path / "suite"
    suite.mkdir(exist_ok=True)
    for name, src in files.items():
        (suite / name).write_text(textwrap.dedent(src))
    html = tmp_path / "report.html"
    env = dict(os.environ)
    env.pop("FH_TRACE_DIR", None)
    env.pop("LD_PRELOAD", None)
    if preload:
        assert FH_LIB.exists(), f"{FH_LIB} missing: run make"
        env["LD_PRELOAD"] = str(FH_LIB)
    env["FH_ANALYZE"] = str(FH_ANALYZE)
    env["PYTHONPATH"] = str(ROOT / "plugin")
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    env["HOME"] = str(tmp_path / "home")
    cmd = ["/usr/bin/python3", "-m", "pytest", "-p", "pytest_flakehunter", "-p", "no:cacheprovider",
           "-q", "--fh", "--fh-runs", str(runs), f"--fh-report={html}",
           *([f"--fh-history-dir={history}"] if history else ["--fh-no-history"]), *args]
    proc = subprocess.run(cmd, cwd=suite, env=env, capture_output=True, text=True,
                          timeout=timeout,
                          preexec_fn=None if pin is None else lambda: os.sched_setaffinity(0, {pin}))
    jpath = html.with_suffix(".json")
    assert jpath.exists(), f"no JSON summary:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return FhRun(proc, json.loads(jpath.read_text()))


# A line server on 127.0.0.1 whose every `every`-th answer is late; one thread per connection.
SERVER = """
import socket, threading, time

class Server:
    n = 0   # requests over all instances: --fh-isolate makes a new server per attempt

    def __init__(self, every, delay):
        self.every, self.delay = every, delay
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        threading.Thread(target=self.serve, daemon=True).start()

    def serve(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            Server.n += 1
            threading.Thread(target=self.answer, args=(c, Server.n % self.every == 0),
                             daemon=True).start()

    def answer(self, c, slow):
        with c:
            try:
                if c.recv(100):
                    if slow:
                        time.sleep(self.delay)
                    c.sendall(b"ok\\n")
            except OSError:
                pass

def ask(port, timeout):
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(b"get\\n")
        return s.recv(100)
"""
