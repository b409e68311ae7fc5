# SPDX-License-Identifier: MIT
"""The plugin's side of the preload API (docs/FORMATS.md): markers reach the preloaded
library through ctypes.CDLL(None) in the documented order with the documented arguments, and
the plugin works unchanged without the library (tracing false)."""
import json
import subprocess

import pytest

from fh_plugin import BUILD, fh  # noqa: F401

# A stand-in for libfhtrace.so that logs every fh_* call (one line each) to $FAKE_FH_LOG.
FAKE_LIB = r"""
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
static void logf_(const char *fmt, const char *s, int a, int b) {
    const char *p = getenv("FAKE_FH_LOG");
    FILE *f = p ? fopen(p, "a") : NULL;
    if (!f) return;
    fprintf(f, "%d ", (int)getpid());
    fprintf(f, fmt, s, a, b);
    fputc('\n', f);
    fclose(f);
}
int fh_version(void) { return 1; }
int fh_start(const char *dir) {
    const char *rc = getenv("FAKE_FH_START_RC");
    logf_("start %s %d %d", dir, 0, 0);
    return rc ? (int)strtol(rc, NULL, 10) : 0;
}
int fh_active(void) { return 1; }
void fh_attempt_begin(const char *n, int a) { logf_("begin %s %d %d", n, a, 0); }
void fh_attempt_end(const char *n, int a, int o) { logf_("end %s %d %d", n, a, o); }
void fh_phase_begin(int p) { logf_("%sphase_begin %d %d", "", p, 0); }
void fh_phase_end(int p, int failed) { logf_("%sphase_end %d %d", "", p, failed); }
"""


@pytest.fixture
def fake_lib(tmp_path):
    src = tmp_path / "fakefh.c"
    src.write_text(FAKE_LIB)
    lib = tmp_path / "libfhtrace.so"
    subprocess.run(["gcc", "-shared", "-fPIC", "-o", str(lib), str(src)], check=True)
    return lib


def test_markers_in_order(fh, fake_lib, tmp_path):
    log = tmp_path / "calls.log"
    fh.mp.setenv("LD_PRELOAD", str(fake_lib))
    fh.mp.setenv("FAKE_FH_LOG", str(log))
    fh.pytester.makepyfile(test_m="""
        import pytest
        N = [0]
        def test_a():
            N[0] += 1
            assert N[0] != 2
        @pytest.fixture
        def bad():
            raise OSError("no")
        def test_err(bad):
            pass
        def test_skip():
            pytest.skip("x")
    """)
    r = fh.run("--fh", "--fh-runs=2")
    r.assert_outcomes(passed=1, failed=1, errors=2, skipped=2)
    meta = fh.meta()
    assert meta["tracing"] is True
    assert "tracing on" in r.stdout.str()
    lines = log.read_text().splitlines()
    pids = {x.split()[0] for x in lines}
    assert len(pids) == 1  # the analyzer runs without the preload
    calls = [x.split(" ", 1)[1] for x in lines]
    assert calls[0] == f"start {fh.run_dir() / 'trace'} 0 0"
    a = "test_m.py::test_a"
    e = "test_m.py::test_err"
    s = "test_m.py::test_skip"
    ph = ["phase_begin 0 0", "phase_end 0 0", "phase_begin 1 0"]
    assert calls[1:] == [
        f"begin {a} 1 0", *ph, "phase_end 1 0", "phase_begin 2 0", "phase_end 2 0",
        f"end {a} 1 0",
        f"begin {a} 2 0", *ph, "phase_end 1 1", "phase_begin 2 0", "phase_end 2 0",
        f"end {a} 2 1",
        f"begin {e} 1 0", "phase_begin 0 0", "phase_end 0 1", "phase_begin 2 0",
        "phase_end 2 0", f"end {e} 1 2",
        f"begin {e} 2 0", "phase_begin 0 0", "phase_end 0 1", "phase_begin 2 0",
        "phase_end 2 0", f"end {e} 2 2",
        f"begin {s} 1 0", *ph, "phase_end 1 1", "phase_begin 2 0", "phase_end 2 0",
        f"end {s} 1 3",
        f"begin {s} 2 0", *ph, "phase_end 1 1", "phase_begin 2 0", "phase_end 2 0",
        f"end {s} 2 3",
    ]
    (call,) = fh.analyzer_calls()
    assert call["preload"] is None and call["trace_dir"] is None


def test_without_preload(fh):
    fh.pytester.makepyfile(test_p="""
        import ctypes
        def test_a():
            assert not hasattr(ctypes.CDLL(None), "fh_version")
    """)
    r = fh.run("--fh", "--fh-runs=3")
    r.assert_outcomes(passed=3)
    assert fh.meta()["tracing"] is False
    assert "tracing off (run under LD_PRELOAD=libfhtrace.so" in r.stdout.str()
    assert list((fh.run_dir() / "trace").iterdir()) == []
    assert len(fh.records()) == 3


def test_analyzer_found_beside_preloaded_library(fh, fake_lib, tmp_path):
    fh.mp.delenv("FH_ANALYZE")
    fh.mp.setenv("PATH", "/usr/bin:/bin")
    fh.mp.setenv("LD_PRELOAD", str(fake_lib))
    (fake_lib.parent / "fh-analyze").symlink_to(fh.fake)
    fh.pytester.makepyfile(test_ok="def test_a():\n    pass\n")
    fh.run("--fh", "--fh-runs=1")
    assert len(fh.analyzer_calls()) == 1


@pytest.mark.skipif(not (BUILD / "libfhtrace.so").exists(),
                    reason="build/libfhtrace.so not built on this branch")
def test_real_preload_traces_into_run_dir(fh):
    fh.mp.setenv("LD_PRELOAD", str(BUILD / "libfhtrace.so"))
    fh.pytester.makepyfile(test_r="""
        import time
        def test_sleep():
            time.sleep(0.001)
    """)
    r = fh.run("--fh", "--fh-runs=2")
    r.assert_outcomes(passed=2)
    assert fh.meta()["tracing"] is True
    traces = list((fh.run_dir() / "trace").glob("*.fht"))
    pid = fh.records()[0]["pid"]
    assert any(p.name == f"{pid}.fht" for p in traces)   # one file per process
    assert json.loads((fh.run_dir() / "meta.json").read_text())["tracing"] is True


def test_start_failure_is_shown(fh, fake_lib, tmp_path):
    fh.mp.setenv("LD_PRELOAD", str(fake_lib))
    fh.mp.setenv("FAKE_FH_START_RC", "-13")
    fh.pytester.makepyfile(test_ok="def test_a():\n    pass\n")
    r = fh.run("--fh", "--fh-runs=2")
    r.assert_outcomes(passed=2)
    assert f"tracing failed to start in {fh.run_dir()}/trace (Permission denied)" in r.stdout.str()


def test_analyzer_found_in_install_layout(fh, fake_lib, tmp_path):
    """PREFIX/lib/libfhtrace.so preloaded -> PREFIX/bin/fh-analyze (the `make install` layout)."""
    prefix = tmp_path / "prefix"
    (prefix / "lib").mkdir(parents=True)
    (prefix / "bin").mkdir()
    lib = prefix / "lib" / "libfhtrace.so"
    lib.write_bytes(fake_lib.read_bytes())
    (prefix / "bin" / "fh-analyze").symlink_to(fh.fake)
    fh.mp.delenv("FH_ANALYZE")
    fh.mp.setenv("PATH", "/usr/bin:/bin")
    fh.mp.setenv("LD_PRELOAD", str(lib))
    fh.pytester.makepyfile(test_ok="def test_a():\n    pass\n")
    fh.run("--fh", "--fh-runs=1")
    assert len(fh.analyzer_calls()) == 1
