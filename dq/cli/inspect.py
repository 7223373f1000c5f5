"""Inspection commands: installed rules, plugins, stages and the rule-set schema."""

from __future__ import annotations

import json
from typing import Any

import click

from dq.cli.runtime import runtime


def _echo_table(rows: list[dict[str, Any]], columns: list[str]) -> None:
    widths = {c: max([len(c)] + [len(str(r[c])) for r in rows]) for c in columns}
    click.echo("  ".join(c.upper().ljust(widths[c]) for c in columns).rstrip())
    for r in rows:
        click.echo("  ".join(str(r[c]).ljust(widths[c]) for c in columns).rstrip())


@click.group()
def rules() -> None:
    """Inspect installed rules."""


def _rule_rows(group: str | None = None, plugin: str | None = None) -> list[dict[str, Any]]:
    reg = runtime().registry
    out = []
    for name, cls in sorted(reg.items["rules"].items(), key=lambda kv: kv[1].code):
        owner = reg.owner[("rules", name)]
        if (group and group not in cls.groups) or (plugin and plugin != owner):
            continue
        out.append(
            {
                "code": cls.code,
                "name": name,
                "plugin": owner,
                "groups": ",".join(cls.groups),
                "description": cls.summary(),
            }
        )
    return out


@rules.command("list")
@click.option("--json", "as_json", is_flag=True)
@click.option("--group")
@click.option("--plugin")
def rules_list(as_json: bool, group: str | None, plugin: str | None) -> None:
    """List installed rules: code, name, plugin, groups, summary."""
    rows = _rule_rows(group, plugin)
    if as_json:
        click.echo(json.dumps(rows, indent=2))
    else:
        _echo_table(rows, ["code", "name", "plugin", "groups", "description"])


@rules.command("show")
@click.argument("name")
@click.option("--json", "as_json", is_flag=True)
def rules_show(name: str, as_json: bool) -> None:
    """Show a rule's docs, parameters and a ready-to-paste [[rules]] snippet."""
    from dq.cli.docs import rule_doc

    doc = rule_doc(runtime().registry, name)
    click.echo(json.dumps(doc, indent=2) if as_json else doc["text"])


@rules.command("docs")
def rules_docs() -> None:
    """Markdown reference of every installed rule (docs/rules.md)."""
    from dq.cli.docs import rules_markdown

    click.echo(rules_markdown(runtime().registry), nl=False)


@click.group()
def plugins() -> None:
    """Inspect installed plugins."""


@plugins.command("list")
@click.option("--json", "as_json", is_flag=True)
@click.option("--all", "show_all", is_flag=True, help="Include dq's built-in plugins.")
def plugins_list(as_json: bool, show_all: bool) -> None:
    """List plugins with version, what they register and the hooks they implement."""
    from dq.cli.docs import plugin_rows

    rows = [r for r in plugin_rows(runtime()) if show_all or not r["builtin"]]
    if as_json:
        click.echo(json.dumps(rows, indent=2))
    elif not rows:
        click.echo(
            "No third-party dq plugins are installed (entry-point group 'dq'); "
            "'dq plugins list --all' shows dq's built-in plugins."
        )
    else:
        table = [
            {
                **r,
                "rules": len(r["rules"]),
                "stages": len(r["stages"]),
                "hooks": ", ".join(r["hooks"]),
            }
            for r in rows
        ]
        _echo_table(table, ["name", "version", "rules", "stages", "hooks"])


@click.group()
def stages() -> None:
    """Inspect pipeline stages and the other pipeline plugins."""


@stages.command("list")
@click.option("--json", "as_json", is_flag=True)
def stages_list(as_json: bool) -> None:
    """List stages, splitters, contamination checks, reporters, renderers, train backends and evaluators."""
    from dq.plugins import KINDS

    reg = runtime().registry
    rows = [
        {
            "kind": kind,
            "name": name,
            "plugin": reg.owner[(kind, name)],
            "description": cls.summary(),
        }
        for kind in KINDS[1:]  # every kind but rules (dq rules list)
        for name, cls in reg.items[kind].items()
    ]
    if as_json:
        click.echo(json.dumps(rows, indent=2))
    else:
        _echo_table(rows, ["kind", "name", "plugin", "description"])


@rules.command("schema")
@click.option(
    "--markdown", is_flag=True, help="The human reference (docs/ruleset.md) instead of JSON Schema."
)
def rules_schema(markdown: bool) -> None:
    """The rule-set schema: JSON Schema (editors can validate TOML with it) or Markdown."""
    from dq.cli.schema_docs import ruleset_json_schema, ruleset_markdown

    if markdown:
        click.echo(ruleset_markdown(runtime().registry), nl=False)
    else:
        click.echo(json.dumps(ruleset_json_schema(), indent=2))
