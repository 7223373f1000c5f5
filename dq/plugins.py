"""The plugin manager and the registry of everything plugins contribute.

Nothing happens at import time: :func:`make_plugin_manager` builds a new manager, and
:func:`build_registry` asks each plugin separately, so every rule, stage, splitter, check and
reporter is attributed to the plugin that registered it.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from importlib import metadata
from typing import Any

import pluggy

from dq.api import hookspecs
from dq.errors import DqError, did_you_mean

ENTRY_POINT_GROUP = "dq"
BUILTIN_PLUGIN_NAME = "dq"

#: Built-in plugins: registered by import, through the same hooks as third-party plugins.
DEFAULT_PLUGINS = (
    "dq.rules",
    "dq.split",
    "dq.contamination",
    "dq.render.plugin",
    "dq.eval.plugin",
    "dq.train.plugin",
    "dq_stages",
    "dq_reports",
    "dq.cli.commands",
    "dq.review.commands",
    "dq.capacity.commands",
    "dq.audit.commands",
    "dq.publish.commands",
    "dq.eval.commands",
    "dq.train.commands",
    "dq_reports.html",
    "dq_reports.html.compare",
)

KINDS = (
    "rules",
    "stages",
    "splitters",
    "contamination_checks",
    "reporters",
    "renderers",
    "train_backends",
    "evaluators",
)


@dataclass
class PluginInfo:
    """A loaded plugin: its name, the distribution that ships it, and the hooks it implements."""

    name: str
    module: Any
    dist: str | None = None
    version: str | None = None
    builtin: bool = False


@dataclass
class Registry:
    """Every registered component by kind and name, with the plugin that registered it."""

    items: dict[str, dict[str, type[Any]]] = field(default_factory=lambda: {k: {} for k in KINDS})
    owner: dict[tuple[str, str], str] = field(default_factory=dict)

    def add(self, kind: str, cls: type[Any], plugin: str, builtin: bool) -> None:
        name = getattr(cls, "name", "")
        if not name:
            raise DqError(f"plugin '{plugin}' registered a {kind[:-1]} without a name: {cls!r}")
        label = kind[:-1].replace("_", " ")
        if "." not in name:
            raise DqError(
                f"plugin '{plugin}' registered {label} '{name}': component names must be "
                f"namespaced, e.g. '{plugin.split('.')[0]}.{name}'"
            )
        if name.startswith("dq.") != builtin:
            raise DqError(
                f"plugin '{plugin}' registered {label} '{name}': the 'dq.' namespace is "
                f"{'for dq itself' if not builtin else 'required for built-ins'}"
            )
        if name in self.items[kind]:
            other = self.owner[(kind, name)]
            raise DqError(f"duplicate {kind[:-1]} name '{name}': registered by '{other}' and '{plugin}'")
        if kind == "rules":
            self._check_rule_code(cls, plugin)
        self.items[kind][name] = cls
        self.owner[(kind, name)] = plugin

    def _check_rule_code(self, cls: type[Any], plugin: str) -> None:
        code = getattr(cls, "code", "")
        for other_name, other in self.items["rules"].items():
            if code and getattr(other, "code", "") == code:
                raise DqError(
                    f"duplicate rule code '{code}': '{other_name}' from "
                    f"'{self.owner[('rules', other_name)]}' and '{cls.name}' from '{plugin}'"
                )

    def find(self, kind: str, name: str) -> type[Any] | None:
        return self.items[kind].get(name)

    def unknown(self, kind: str, name: str) -> str:
        """The message for a name no plugin registered, with a suggestion and where to look."""
        label = kind[:-1].replace("_", " ")
        listing = "dq rules list" if kind == "rules" else "dq stages list"
        return (
            f"unknown {label} '{name}'{did_you_mean(name, self.items[kind])} "
            f"(run '{listing}'; is the plugin that provides it installed?)"
        )

    def get(self, kind: str, name: str) -> type[Any]:
        found = self.find(kind, name)
        if found is None:
            raise DqError(self.unknown(kind, name))
        return found


def _env_list(name: str) -> list[str] | None:
    value = os.environ.get(name)
    if value is None:
        return None
    return [v.strip() for v in value.split(",") if v.strip()]


def make_plugin_manager(
    load_entrypoints: bool = True, extra: Iterable[Any] = (), strict: bool = False
) -> tuple[pluggy.PluginManager, dict[str, PluginInfo], list[str]]:
    """Build a new plugin manager: built-ins, then entry points (one at a time), then ``extra``.

    Returns the manager, plugin info by name and the load errors (one line each). With
    ``strict`` a load error raises instead.
    """
    pm = pluggy.PluginManager(ENTRY_POINT_GROUP)
    pm.add_hookspecs(hookspecs)
    infos: dict[str, PluginInfo] = {}
    for module_name in DEFAULT_PLUGINS:
        module = importlib.import_module(module_name)
        pm.register(module, name=module_name)
        infos[module_name] = PluginInfo(module_name, module, BUILTIN_PLUGIN_NAME, _dq_version(), True)
    errors: list[str] = []
    if load_entrypoints:
        errors = _load_entrypoints(pm, infos)
    for plugin in extra:
        name = getattr(plugin, "__name__", None) or type(plugin).__name__
        pm.register(plugin, name=name)
        infos[name] = PluginInfo(name, plugin)
    for blocked in _env_list("DQ_DISABLE_PLUGINS") or []:
        if pm.get_plugin(blocked) is not None:
            pm.unregister(name=blocked)
            infos.pop(blocked, None)
    pm.check_pending()
    if strict and errors:
        raise DqError(errors[0])
    return pm, infos, errors


def _load_entrypoints(pm: pluggy.PluginManager, infos: dict[str, PluginInfo]) -> list[str]:
    allow = _env_list("DQ_LOAD_PLUGINS")
    errors = []
    for ep in sorted(metadata.entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name):
        if allow is not None and ep.name not in allow:
            continue
        dist = ep.dist.name if ep.dist else None
        version = ep.dist.version if ep.dist else None
        try:
            module = ep.load()
            pm.register(module, name=ep.name)
        except Exception as exc:  # noqa: BLE001 - any failure of third-party code is reported
            errors.append(
                f"error: could not load dq plugin '{ep.name}' ({dist} {version}): "
                f"{type(exc).__name__}({exc}) — is it compatible with dq {_dq_version()}?"
            )
            continue
        infos[ep.name] = PluginInfo(ep.name, module, dist, version)
    return errors


def _dq_version() -> str:
    try:
        return metadata.version("dq")
    except metadata.PackageNotFoundError:
        return "0+unknown"


def build_registry(pm: pluggy.PluginManager, infos: dict[str, PluginInfo]) -> Registry:
    """Ask every plugin for its components, one plugin at a time, attributing each."""
    registry = Registry()
    for kind in KINDS:
        hook = getattr(pm.hook, f"dq_register_{kind}")
        for impl in hook.get_hookimpls():
            info = infos.get(impl.plugin_name)
            builtin = bool(info and info.builtin)
            label = info.dist if info and info.dist and not builtin else impl.plugin_name
            owner = BUILTIN_PLUGIN_NAME if builtin else label

            def register(cls: type, _kind: str = kind, _owner: str = owner, _b: bool = builtin) -> None:
                registry.add(_kind, cls, _owner, _b)

            impl.function(register=register)
    return registry
