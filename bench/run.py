#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""`make bench`: runs every bench/bench_*.py in order; each prints its own side-by-side figures."""
import pathlib
import subprocess
import sys

here = pathlib.Path(__file__).resolve().parent
only = sys.argv[1:]
status = 0
for script in sorted(here.glob("bench_*.py")):
    if only and not any(o in script.name for o in only):
        continue
    print(f"\n=== {script.name} ===", flush=True)
    status |= subprocess.call([sys.executable, str(script)])
sys.exit(status)
