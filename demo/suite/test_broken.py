# SPDX-License-Identifier: MIT
"""broken: fails every time (a real bug, not a flake)."""


def parse_price(text):
    return int(text)          # bug: prices have cents


def test_parse_price():
    assert parse_price("12") == 12
    assert parse_price("12.50") == 12.5
