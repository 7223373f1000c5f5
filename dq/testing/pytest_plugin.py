"""pytest plugin (entry point ``pytest11``): fixtures for dq plugin authors."""

from __future__ import annotations

import pytest

from dq.plugins import Registry, build_registry, make_plugin_manager


@pytest.fixture
def dq_registry() -> Registry:
    """A fresh registry: built-ins plus every installed dq plugin."""
    pm, infos, _ = make_plugin_manager()
    return build_registry(pm, infos)
