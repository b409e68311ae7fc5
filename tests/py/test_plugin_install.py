# SPDX-License-Identifier: MIT
"""Installing the plugin: `install_plugin.py --dest SITE` (what `make install` runs) and
`pip install ./plugin` into a fresh virtualenv without any network; afterwards a plain
`pytest --fh` finds the plugin through its pytest11 entry point, and `-p pytest_flakehunter`
on top of the installed copy does not register it twice."""
import os
import pathlib
import site
import subprocess
import sys

from fh_plugin import PLUGIN, ROOT

SUITE = "def test_a():\n    pass\n"


def _env(tmp_path, **extra):
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONPATH", "LD_PRELOAD", "FH_TRACE_DIR", "PYTEST_ADDOPTS")}
    env.update(PYTHONDONTWRITEBYTECODE="1", HOME=str(tmp_path / "home"),
               FH_ANALYZE=str(tmp_path / "none"), **extra)
    return env


def _pytest(python, cwd, env, *args):
    return subprocess.run([str(python), "-m", "pytest", "-p", "no:cacheprovider", *args],
                          cwd=cwd, env=env, capture_output=True, text=True, timeout=120)


def _check_installed(python, tmp_path, env, dist_dir):
    work = tmp_path / "work"
    work.mkdir()
    (work / "test_x.py").write_text(SUITE)
    r = _pytest(python, work, env, "--fh", "--fh-runs=3", "-VV")
    assert r.returncode == 0, r.stdout + r.stderr
    r = _pytest(python, work, env, "--fh", "--fh-runs=3")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "3 passed" in r.stdout
    assert "fh-analyze not found" in r.stdout
    r = _pytest(python, work, env, "-p", "pytest_flakehunter", "--fh", "--fh-runs=2")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "2 passed" in r.stdout
    r = _pytest(python, work, env, "--trace-config", "--fh", "--fh-runs=1")
    assert r.stdout.count("pytest-flakehunter-0.1.0 at ") == 1
    assert f"{dist_dir}{os.sep}pytest_flakehunter{os.sep}__init__.py" in r.stdout


def test_install_plugin_into_site_dir(tmp_path):
    dest = tmp_path / "site"
    r = subprocess.run([sys.executable, str(PLUGIN / "install_plugin.py"), "--dest", str(dest)],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    info = dest / "pytest_flakehunter-0.1.0.dist-info"
    assert (info / "entry_points.txt").read_text() == \
        "[pytest11]\npytest_flakehunter = pytest_flakehunter\n"
    record = (info / "RECORD").read_text().splitlines()
    assert "pytest_flakehunter/plugin.py" in [x.split(",")[0] for x in record]
    # Installing again replaces the previous copy.
    subprocess.run([sys.executable, str(PLUGIN / "install_plugin.py"), "--dest", str(dest)],
                   check=True, capture_output=True, timeout=60)
    assert len(list(dest.glob("pytest_flakehunter-*.dist-info"))) == 1
    _check_installed("/usr/bin/python3", tmp_path, _env(tmp_path, PYTHONPATH=str(dest)), dest)


def test_make_install_targets_debian_site_dir(tmp_path):
    stage = tmp_path / "stage"
    # a make of its own, not a sub-make of `make test`
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL")}
    args = ["make", "-s", "-C", str(ROOT), "install", f"DESTDIR={stage}",
            f"BUILD={os.environ.get('FH_BUILD', ROOT / 'build')}"]
    r = subprocess.run(args[:1] + ["-n"] + args[1:], capture_output=True, text=True,
                       timeout=60, env=env)
    assert r.returncode == 0, r.stderr
    line = [x for x in r.stdout.splitlines() if "install_plugin.py" in x]
    assert len(line) == 1
    dest = line[0].split("--dest", 1)[1].strip()
    assert dest.startswith(f"{stage}/")
    # Without DESTDIR that directory is on the sys.path of Debian's python3.
    assert dest[len(str(stage)):] in site.getsitepackages()
    # Installing installs; packages are `make deps`'s business alone.
    assert "dpkg-query" not in r.stdout and "apt-get update" not in r.stdout, r.stdout
    r = subprocess.run(args, capture_output=True, text=True, timeout=300, env=env)
    assert r.returncode == 0, r.stdout + r.stderr
    assert os.access(stage / "usr/local/bin/fh-analyze", os.X_OK)
    assert (stage / "usr/local/lib/libfhtrace.so").is_file()
    assert (pathlib.Path(dest) / "pytest_flakehunter" / "compat.py").is_file()
    assert sorted(p.name for p in pathlib.Path(dest).iterdir()) == [
        "pytest_flakehunter", "pytest_flakehunter-0.1.0.dist-info"]


def test_pip_install_offline_into_fresh_venv(tmp_path):
    venv = tmp_path / "venv"
    subprocess.run(["/usr/bin/python3", "-m", "venv", "--system-site-packages", str(venv)],
                   check=True, timeout=120)
    env = _env(tmp_path, PIP_NO_INDEX="1", PIP_DISABLE_PIP_VERSION_CHECK="1",
               PIP_NO_CACHE_DIR="1", http_proxy="http://127.0.0.1:9", https_proxy="http://127.0.0.1:9")
    src = tmp_path / "src"
    import shutil
    shutil.copytree(PLUGIN, src, ignore=shutil.ignore_patterns("__pycache__"))
    r = subprocess.run([str(venv / "bin" / "pip"), "install", str(src)], env=env,
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "Successfully installed pytest-flakehunter-0.1.0" in r.stdout
    purelib = subprocess.run([str(venv / "bin" / "python"), "-c",
                              "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                             capture_output=True, text=True, check=True).stdout.strip()
    _check_installed(venv / "bin" / "python", tmp_path, env, purelib)


def test_make_targets_build_what_they_say(tmp_path):
    """`make` builds the tool only, `make build-tests` the test programs; `make test`, `make
    demo` and `make bench` install packages first (`make deps`), then build in a new make."""
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL")}

    def dry(*targets):
        r = subprocess.run(["make", "-n", "-C", str(ROOT), f"BUILD={tmp_path}/b", *targets],
                           capture_output=True, text=True, timeout=120, env=env)
        assert r.returncode == 0, r.stderr
        return r.stdout
    out = dry()
    assert f"-o {tmp_path}/b/fh-analyze" in out and f"-o {tmp_path}/b/libfhtrace.so" in out
    assert "tests/c/" not in out and "tests/preload/" not in out and "dpkg-query" not in out
    out = dry("build-tests")
    assert "tests/c/analyzer/test_redact.c" in out and f"-o {tmp_path}/b/tests/preload/" in out
    for target in ("test", "demo", "bench"):
        out = dry(target)
        assert "dpkg-query" in out, target
        assert out.index("dpkg-query") < out.index(f"-o {tmp_path}/b/fh-analyze"), target
