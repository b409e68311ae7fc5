# SPDX-License-Identifier: MIT
"""crash: a helper process sometimes dies by SIGSEGV (a native bug in a converter)."""
import itertools
import subprocess
import sys

_runs = itertools.count(1)
CONVERT = "import sys, ctypes\nif sys.argv[1] == 'bad': ctypes.string_at(0)\nprint('converted')"


def test_convert_document():
    kind = "bad" if next(_runs) % 3 == 0 else "good"
    r = subprocess.run([sys.executable, "-c", CONVERT, kind], capture_output=True, timeout=20)
    assert r.returncode == 0, f"converter exited with {r.returncode}"
