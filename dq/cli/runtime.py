"""The process's plugin manager and registry, built on first use (never at import)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import click
import pluggy

from dq.plugins import PluginInfo, Registry, build_registry, make_plugin_manager


@dataclass
class Runtime:
    pm: pluggy.PluginManager
    infos: dict[str, PluginInfo]
    errors: list[str]
    registry: Registry


@cache
def runtime(strict: bool = False) -> Runtime:
    """Plugins load once per process; load errors are printed once, one line each."""
    pm, infos, errors = make_plugin_manager(strict=strict)
    for line in errors:
        click.echo(line, err=True)
    return Runtime(pm, infos, errors, build_registry(pm, infos))
