"""Shared by the HTML report tests: a real ``dq run`` of the demo corpus with the dq.html reporter."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
PIPELINE = 'pipeline = ["dq.load", "dq.curate", "dq.split", "dq.gate", "dq.write"]'
REPORTS = 'reports = ["dq.contamination_json", "dq.contamination_matches", "dq.summary_md", "dq.html"]'
#: A near-duplicate check on top of strict.toml's exact one, so the page shows evidence with numbers.
TEMPLATE = '\n[[contamination]]\ncheck = "dq.template"\naction = "warn"\n'


class _BridgeRenderers:
    """Registers a placeholder for the rule set's renderer while no built-in plugin provides it.

    The run here has no render stage; the plan still resolves ``[render] renderer`` by name.
    """

    def __init__(self, name: str) -> None:
        self.name = name

    def plugin(self) -> Any:
        from dq.api.hookspecs import hookimpl
        from dq.api.render import Renderer

        placeholder = type(
            "Placeholder", (Renderer,), {"__doc__": "Placeholder renderer.", "name": self.name}
        )

        class Plugin:
            @hookimpl
            def dq_register_renderers(self, register: Any) -> None:
                register(placeholder)

        return Plugin()


def strict_rules(tmp: Path, extra: str = TEMPLATE) -> Path:
    """rules/strict.toml with the stages this test needs, dq.html among the reports, ``extra`` appended."""
    text = (ROOT / "rules/strict.toml").read_text(encoding="utf-8")
    text = re.sub(r"(?m)^(pipeline|reports)\s*=.*$", "", text)
    text = text.replace("version = 1\n", f"version = 1\n{PIPELINE}\n{REPORTS}\n", 1)
    head, sep, rest = text.partition("\n[leakage]")
    path = tmp / "strict.toml"
    path.write_text(head + extra + sep + rest, encoding="utf-8")
    return path


def run_demo(tmp: Path, extra: str = TEMPLATE) -> tuple[Any, Path, Any]:
    """Run the demo corpus into ``tmp/out``; returns (state, out folder, registry)."""
    import dq_reports.html
    from dq.pipeline.execute import run_pipeline
    from dq.pipeline.ruleset import load_rule_set
    from dq.plugins import DEFAULT_PLUGINS, build_registry, make_plugin_manager

    rules = strict_rules(tmp, extra)
    extras: list[Any] = [] if "dq_reports.html" in DEFAULT_PLUGINS else [dq_reports.html]
    renderer = getattr(getattr(load_rule_set(rules), "render", None), "renderer", None)
    pm, infos, _ = make_plugin_manager(load_entrypoints=False)
    if renderer and build_registry(pm, infos).find("renderers", renderer) is None:
        extras.append(_BridgeRenderers(renderer).plugin())
    pm, infos, _ = make_plugin_manager(load_entrypoints=False, extra=extras)
    for info in infos.values():  # the extras stand in for built-ins: they use the dq. namespace
        info.builtin = True
    registry = build_registry(pm, infos)
    out = tmp / "out"
    _, state = run_pipeline(pm, registry, rules, out_dir=out, quiet=True)
    return state, out, registry
