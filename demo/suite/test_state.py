# SPDX-License-Identifier: MIT
"""state: a module-level registry keeps what earlier runs registered."""
REGISTRY = []


def register(name):
    if name in REGISTRY and len(REGISTRY) > 2:
        raise ValueError(f"{name} already registered")
    REGISTRY.append(name)


def test_register_plugin():
    register("exporter")
    assert REGISTRY.count("exporter") >= 1
