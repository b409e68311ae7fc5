#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The trace reader's work per byte: `fh-analyze dump` (index, decode, stacks; output to
/dev/null) of normal and crafted trace files (bench/gen_trace.py) of 4, 16 and 64 MB, best of 3,
printed as ms per MB and as a ratio to the normal file of the same size. Proportional means the
ms per MB stay flat across sizes and the crafted kinds stay within a small factor of normal.
Before the bound, a 1 MB "gaps" file took 22 s (22,000 ms per MB) on the same machine."""
import os
import pathlib
import subprocess
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
BUILD = pathlib.Path(os.environ.get("FH_BUILD", ROOT / "build"))
FH_ANALYZE = pathlib.Path(os.environ.get("FH_ANALYZE", BUILD / "fh-analyze"))
KINDS = ("normal", "v1", "stacks", "pystr", "gaps")


def timed(path):
    best = None
    for _ in range(3):
        t = time.perf_counter()
        subprocess.run([str(FH_ANALYZE), "dump", str(path)], stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, check=False, timeout=600)
        dt = time.perf_counter() - t
        best = dt if best is None or dt < best else best
    return best


def main():
    print("trace reader, ms per MB of file (best of 3), ratio to normal:")
    print(f"  {'kind':8}" + "".join(f"{f'{mb} MB':>20}" for mb in (4, 16, 64)))
    with tempfile.TemporaryDirectory() as tmp:
        base = {}
        for kind in KINDS:
            cells = []
            for mb in (4, 16, 64):
                f = pathlib.Path(tmp) / f"{kind}{mb}.fht"
                subprocess.run([sys.executable, str(ROOT / "bench" / "gen_trace.py"), str(f), kind,
                                str(mb * 1024)], check=True)
                size_mb = f.stat().st_size / (1 << 20)
                ms = timed(f) * 1000 / size_mb
                if kind == "normal":
                    base[mb] = ms
                cells.append(f"{ms:8.1f} ({ms / base[mb]:4.2f}x)")
                f.unlink()
            print(f"  {kind:8}" + "".join(f"{c:>20}" for c in cells))
    return 0


if __name__ == "__main__":
    sys.exit(main())
