# SPDX-License-Identifier: MIT
"""pytest-flakehunter: re-run every test N times and hand the attempts to `fh-analyze`.

The package is registered as the pytest plugin `pytest_flakehunter` (the `pytest11` entry point
and `-p pytest_flakehunter` name the same module object, so loading it both ways registers it
once). The hooks live in `plugin.py` and are re-exported here because pytest registers this
package module, not the submodule.
"""
__version__ = "0.1.0"

from .plugin import pytest_addoption, pytest_configure  # noqa: E402,F401
