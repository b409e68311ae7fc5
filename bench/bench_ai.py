#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""AI stage: wall time of `fh-analyze report --ai` for 12 flaky tests against the fake
Messages API (tests/py/fh_ai.py) answering after 300 ms, asked one at a time
(FH_AI_CONCURRENCY=1) versus the default bound of 4, and a re-render served from the cache.
Prints the times side by side with their ratios."""
import os
import pathlib
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "py"))
import fh_ai  # noqa: E402

ANALYZE = os.environ.get("FH_ANALYZE", str(ROOT / "build" / "fh-analyze"))
DELAY = 0.3
N = 12


class SlowAPI(fh_ai.FakeMessagesAPI):
    def _good(self, h):
        time.sleep(DELAY)
        super()._good(h)


def run(tmp, api, conc):
    env = dict(os.environ, ANTHROPIC_API_KEY="sk-ant-bench-0000000000000000",
               ANTHROPIC_BASE_URL=api.base_url, FH_AI_CONCURRENCY=str(conc))
    for k in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY"):
        env.pop(k, None)
    t0 = time.monotonic()
    subprocess.run([ANALYZE, "report", str(tmp / "run"), "--out", str(tmp / "r.html"),
                    "--no-history", "--ai", "--quiet"], env=env, check=True,
                   stdout=subprocess.DEVNULL)
    return time.monotonic() - t0


def main():
    tmp = pathlib.Path(tempfile.mkdtemp(prefix="fh-bench-ai-"))
    try:
        fh_ai.write_run(tmp / "run", [(f"tests/test_b.py::test_{i}", "pfpf", "boom")
                                      for i in range(N)])
        with SlowAPI() as api:
            serial = run(tmp, api, 1)
            shutil.rmtree(tmp / "run" / "ai-cache")
            conc = run(tmp, api, 4)
            cached = run(tmp, api, 4)
        print(f"{N} tests, API answers after {DELAY:.1f} s")
        print(f"  one at a time   {serial:6.2f} s   1.00x")
        print(f"  4 concurrently  {conc:6.2f} s   {serial / conc:5.2f}x faster")
        print(f"  from the cache  {cached:6.3f} s   {serial / cached:5.1f}x faster "
              f"({len(api.requests)} requests in all, {2 * N} expected)")
    finally:
        shutil.rmtree(tmp)


if __name__ == "__main__":
    main()
