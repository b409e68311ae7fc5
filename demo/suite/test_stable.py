# SPDX-License-Identifier: MIT
"""stable: never fails."""


def test_parse_version():
    assert tuple(int(x) for x in "3.11.2".split(".")) == (3, 11, 2)
