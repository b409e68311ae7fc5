# SPDX-License-Identifier: MIT
"""Helpers of the AI integration tests: a fake Anthropic Messages API on 127.0.0.1 and a writer
of small run directories in the plugin's record format (docs/FORMATS.md).

FakeMessagesAPI is a threaded http.server on a random port. It answers POST /v1/messages by
scenario: the scenario is the word after "scn_" in the test id that the prompt names on its
"Test: " line, so one analyzer run can exercise every case at once:

    good       200 with a text answer
    r429       429 with retry-after: 1 the first time, then a good answer
    r429ms     the same with retry-after-ms: 300
    r429date   the same with retry-after as an HTTP date 2 s ahead
    o529       529 overloaded_error, always
    e500       500 api_error, always
    stall      sends nothing until the client gives up (or the server stops)
    malformed  200 with a truncated JSON body
    notext     200 with only a tool_use block (no text content)
    badtypes   200 where content and text have the wrong JSON types
    trunc      200 announcing more bytes than it sends, then closing

Every request is recorded (time, headers, raw body, parsed JSON). The server also checks the
client's concurrency: with expect_concurrency, the first request waits (up to 3 s) until a
second one is in flight; the largest number of requests in flight at once is kept in
max_in_flight.
"""
import email.utils
import http.server
import json
import os
import re
import threading
import time

ANSWER = ("The failing attempts block in poll on the database socket until the client timeout "
          "fires (evidence: 3/3 failing attempts waited 0.25 s); raise the pool timeout. "
          "<script>alert('x')</script>")
MODEL_ANSWERED = "claude-fake-answerer-1"


class FakeMessagesAPI:
    def __init__(self, expect_concurrency=False):
        self.expect_concurrency = expect_concurrency
        self.requests = []
        self.lock = threading.Lock()
        self.in_flight = 0
        self.max_in_flight = 0
        self.seen_429 = set()
        self.stop = threading.Event()
        self.concurrent = threading.Event()
        api = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_POST(self):
                api._handle(self)

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(5)

    def by_scenario(self, name):
        return [r for r in self.requests if r["scenario"] == name]

    # ---- request handling ----
    def _handle(self, h):
        n = int(h.headers.get("content-length", "0") or 0)
        raw = h.rfile.read(n) if n else b""
        try:
            body = json.loads(raw)
        except ValueError:
            body = None
        scenario = "good"
        try:
            content = body["messages"][0]["content"]
            m = re.search(r"^Test: \S*?scn_([a-z0-9]+)", content, re.M)
            if m:
                scenario = m.group(1)
        except (TypeError, KeyError, IndexError):
            pass
        with self.lock:
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
            if self.in_flight >= 2:
                self.concurrent.set()
            self.requests.append({"t": time.monotonic(), "path": h.path, "method": h.command,
                                  "headers": {k.lower(): v for k, v in h.headers.items()},
                                  "raw": raw, "body": body, "scenario": scenario})
        try:
            # Proves concurrency without timing: a serial client would make this wait out.
            if self.expect_concurrency:
                self.concurrent.wait(3)
            self._answer(h, scenario)
        except (BrokenPipeError, ConnectionResetError):
            pass
        finally:
            with self.lock:
                self.in_flight -= 1

    def _send(self, h, status, obj=None, raw=None, headers=(), length=None):
        data = raw if raw is not None else json.dumps(obj).encode()
        h.send_response(status)
        h.send_header("content-type", "application/json")
        h.send_header("content-length", str(length if length is not None else len(data)))
        for k, v in headers:
            h.send_header(k, v)
        h.end_headers()
        h.wfile.write(data)
        h.wfile.flush()

    def _good(self, h):
        self._send(h, 200, {"id": "msg_fake", "type": "message", "role": "assistant",
                            "model": MODEL_ANSWERED, "stop_reason": "end_turn",
                            "content": [{"type": "thinking", "thinking": "hmm"},
                                        {"type": "text", "text": ANSWER}],
                            "usage": {"input_tokens": 10, "output_tokens": 20}})

    def _error(self, h, status, etype, msg, headers=()):
        self._send(h, status, {"type": "error", "error": {"type": etype, "message": msg}},
                   headers=headers)

    def _answer(self, h, scenario):
        if scenario in ("r429", "r429ms", "r429date"):
            with self.lock:
                first = scenario not in self.seen_429
                self.seen_429.add(scenario)
            if first:
                hdr = {"r429": ("retry-after", "1"),
                       "r429ms": ("retry-after-ms", "300"),
                       "r429date": ("retry-after", email.utils.formatdate(time.time() + 2,
                                                                          usegmt=True))}
                return self._error(h, 429, "rate_limit_error", "slow down",
                                   headers=[hdr[scenario]])
            return self._good(h)
        if scenario == "o529":
            return self._error(h, 529, "overloaded_error", "Overloaded")
        if scenario == "e500":
            return self._error(h, 500, "api_error", "Internal server error")
        if scenario == "stall":
            self.stop.wait(20)
            return None
        if scenario == "malformed":
            return self._send(h, 200, raw=b'{"type": "message", "content": [{"type": "text", "te')
        if scenario == "notext":
            return self._send(h, 200, {"type": "message", "model": MODEL_ANSWERED,
                                       "stop_reason": "tool_use",
                                       "content": [{"type": "tool_use", "id": "t", "name": "x",
                                                    "input": {}}]})
        if scenario == "badtypes":
            return self._send(h, 200, {"type": "message", "model": 42,
                                       "content": [{"type": "text", "text": 17},
                                                   "text", None, {"type": ["text"]}]})
        if scenario == "trunc":
            data = json.dumps({"type": "message", "content": [{"type": "text",
                                                               "text": ANSWER}]}).encode()
            self._send(h, 200, raw=data[:40], length=len(data))
            h.close_connection = True
            return None
        return self._good(h)


def write_run(run_dir, tests, runs=4):
    """Writes meta.json and one attempts file. tests: list of (nodeid, outcomes, message) where
    outcomes is a string of 'p'/'f' per attempt."""
    os.makedirs(run_dir, exist_ok=True)
    meta = {"schema": "flakehunter-run/1", "run_id": "20261123T220000Z-abcdef",
            "started_utc": "2026-11-23T22:00:00Z", "runs_per_test": runs, "isolate": False,
            "xdist": False, "tracing": False, "host": "testhost", "os": "Linux",
            "python": "3.11.2", "pytest": "7.2.1", "plugin_version": "0.1.0", "cpu_count": 2,
            "ram_bytes": 1 << 30, "git": None, "rootdir": "/tmp/x", "args": ["--fh"]}
    with open(os.path.join(run_dir, "meta.json"), "w") as f:
        json.dump(meta, f)
    t0 = 1_000_000_000
    lines = []
    for nodeid, outcomes, message in tests:
        file, _, func = nodeid.partition("::")
        for i, o in enumerate(outcomes, 1):
            failed = o == "f"
            start = t0 + len(lines) * 10_000_000
            lines.append({
                "v": 1, "nodeid": nodeid, "attempt": i, "runs": len(outcomes),
                "outcome": "failed" if failed else "passed", "xfail": False,
                "when": "call" if failed else None, "start_ns": start,
                "stop_ns": start + 5_000_000, "wall": 1763935200.0 + len(lines),
                "duration_s": 0.005, "phases": {"setup": 0.001, "call": 0.003, "teardown": 0.001},
                "pid": 4242, "tid": 4242, "worker": "main", "file": file,
                "function": func.split("[")[0], "param_id": None, "fixtures": ["tmp_path"],
                "error": {"type": "TimeoutError", "message": message} if failed else None,
                "frames": [{"path": file, "line": 12, "function": func.split("[")[0],
                            "source": "SOURCE_LINE_MUST_NOT_BE_SENT = fetch()"},
                           {"path": "src/app/db.py", "line": 88, "function": "fetch",
                            "source": "rows = sock.recv(4096)"}] if failed else [],
                "isolate": False})
    with open(os.path.join(run_dir, "attempts-4242.jsonl"), "w") as f:
        for line in lines:
            f.write(json.dumps(line) + "\n")
