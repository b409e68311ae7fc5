#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Install the plugin into a site-packages directory without pip: `make install` runs it.

    install_plugin.py --dest SITE_DIR

Copies the `pytest_flakehunter` package into SITE_DIR and writes a .dist-info with the
`pytest11` entry point (and a RECORD), so that the pytest of that Python (Debian's
/usr/bin/python3 for /usr/local/lib/python3/dist-packages) loads it with a plain `pytest --fh`.
A previous install of any version is replaced. SITE_DIR may be under a DESTDIR staging root.
"""
import argparse
import glob
import os
import shutil
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "_build"))
import fh_build  # noqa: E402


def install(dest):
    os.makedirs(dest, exist_ok=True)
    pkg_dest = os.path.join(dest, fh_build.PACKAGE)
    shutil.rmtree(pkg_dest, ignore_errors=True)
    for old in glob.glob(os.path.join(dest, f"{fh_build.DIST}-*.dist-info")):
        shutil.rmtree(old, ignore_errors=True)
    record = []
    for arc, full in fh_build.package_files():
        target = os.path.join(dest, arc)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        with open(full, "rb") as f:
            data = f.read()
        with open(target, "wb") as f:
            f.write(data)
        os.chmod(target, 0o644)
        record.append(fh_build.record_line(arc, data))
    os.makedirs(os.path.join(dest, fh_build.DIST_INFO), exist_ok=True)
    for arc, data in fh_build.dist_info_files(extra_installer="flakehunter-make"):
        with open(os.path.join(dest, arc), "wb") as f:
            f.write(data)
        record.append(fh_build.record_line(arc, data))
    record.append(f"{fh_build.DIST_INFO}/RECORD,,\n")
    with open(os.path.join(dest, fh_build.DIST_INFO, "RECORD"), "w", encoding="utf-8") as f:
        f.write("".join(record))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--dest", required=True, help="site-packages directory to install into")
    args = ap.parse_args(argv)
    try:
        install(args.dest)
    except OSError as e:
        print(f"install_plugin.py: cannot install into {args.dest}: {e}", file=sys.stderr)
        return 1
    print(f"installed {fh_build.NAME} {fh_build.VERSION} into {args.dest}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
