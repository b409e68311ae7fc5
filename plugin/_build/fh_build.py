# SPDX-License-Identifier: MIT
"""A minimal in-tree PEP 517 build backend for the plugin (no network, no setuptools).

It builds a pure-Python wheel (the `pytest_flakehunter` package plus a .dist-info with the
`pytest11` entry point), an sdist, and a PEP 660 editable wheel (a .pth pointing at plugin/).
install_plugin.py uses the same metadata to install straight into a site-packages directory.
The metadata is kept here, in step with pyproject.toml (which pip reads for the name/version).
"""
import base64
import hashlib
import io
import os
import tarfile
import zipfile

NAME = "pytest-flakehunter"
DIST = "pytest_flakehunter"
VERSION = "0.1.0"
PACKAGE = "pytest_flakehunter"
HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DIST_INFO = f"{DIST}-{VERSION}.dist-info"
TAG = "py3-none-any"


def metadata_text():
    return (f"Metadata-Version: 2.1\nName: {NAME}\nVersion: {VERSION}\n"
            "Summary: Re-run every test N times and explain the flaky ones "
            "(flakehunter's pytest plugin)\nLicense: MIT\nRequires-Python: >=3.9\n"
            "Requires-Dist: pytest>=7.0\nClassifier: Framework :: Pytest\n")


def entry_points_text():
    return f"[pytest11]\n{PACKAGE} = {PACKAGE}\n"


def wheel_text():
    return (f"Wheel-Version: 1.0\nGenerator: fh_build {VERSION}\nRoot-Is-Purelib: true\n"
            f"Tag: {TAG}\n")


def package_files():
    """(archive path, absolute path) of every file of the package, sorted."""
    out = []
    root = os.path.join(HERE, PACKAGE)
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d != "__pycache__")
        for fn in sorted(filenames):
            if fn.endswith((".pyc", ".pyo")):
                continue
            full = os.path.join(dirpath, fn)
            out.append((os.path.relpath(full, HERE).replace(os.sep, "/"), full))
    return out


def record_line(path, data):
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{path},sha256={digest},{len(data)}\n"


def dist_info_files(extra_installer=None):
    """(path inside the archive/site dir, bytes) of the .dist-info, RECORD excluded."""
    files = [(f"{DIST_INFO}/METADATA", metadata_text().encode()),
             (f"{DIST_INFO}/WHEEL", wheel_text().encode()),
             (f"{DIST_INFO}/entry_points.txt", entry_points_text().encode())]
    if extra_installer:
        files.append((f"{DIST_INFO}/INSTALLER", (extra_installer + "\n").encode()))
    return files


def _write_wheel(wheel_directory, contents):
    name = f"{DIST}-{VERSION}-{TAG}.whl"
    path = os.path.join(wheel_directory, name)
    record = []
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for arc, data in contents + dist_info_files():
            z.writestr(arc, data)
            record.append(record_line(arc, data))
        record.append(f"{DIST_INFO}/RECORD,,\n")
        z.writestr(f"{DIST_INFO}/RECORD", "".join(record))
    return name


def _read(full):
    with open(full, "rb") as f:
        return f.read()


# ---- PEP 517 hooks ----
def get_requires_for_build_wheel(config_settings=None):
    return []


def get_requires_for_build_sdist(config_settings=None):
    return []


def get_requires_for_build_editable(config_settings=None):
    return []


def prepare_metadata_for_build_wheel(metadata_directory, config_settings=None):
    d = os.path.join(metadata_directory, DIST_INFO)
    os.makedirs(d, exist_ok=True)
    for arc, data in dist_info_files():
        with open(os.path.join(metadata_directory, arc), "wb") as f:
            f.write(data)
    return DIST_INFO


prepare_metadata_for_build_editable = prepare_metadata_for_build_wheel


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    return _write_wheel(wheel_directory, [(arc, _read(full)) for arc, full in package_files()])


def build_editable(wheel_directory, config_settings=None, metadata_directory=None):
    return _write_wheel(wheel_directory, [(f"{DIST}.pth", (HERE + "\n").encode())])


def build_sdist(sdist_directory, config_settings=None):
    base = f"{DIST}-{VERSION}"
    name = base + ".tar.gz"
    files = [("pyproject.toml", os.path.join(HERE, "pyproject.toml")),
             ("_build/fh_build.py", os.path.abspath(__file__)),
             ("install_plugin.py", os.path.join(HERE, "install_plugin.py"))] + package_files()
    with tarfile.open(os.path.join(sdist_directory, name), "w:gz", format=tarfile.PAX_FORMAT) as t:
        for arc, full in files:
            if os.path.exists(full):
                t.add(full, arcname=f"{base}/{arc}", recursive=False)
        pkg_info = metadata_text().encode()
        info = tarfile.TarInfo(f"{base}/PKG-INFO")
        info.size = len(pkg_info)
        t.addfile(info, io.BytesIO(pkg_info))
    return name
