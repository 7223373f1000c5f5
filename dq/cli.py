"""The ``dq`` command line. Plugin commands load lazily, on first use of the group."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import click
import pluggy

from dq.errors import EXIT_USAGE, DqError
from dq.plugins import PluginInfo, Registry, build_registry, make_plugin_manager


@dataclass
class Runtime:
    pm: pluggy.PluginManager
    infos: dict[str, PluginInfo]
    errors: list[str]
    registry: Registry


@cache
def runtime(strict: bool = False) -> Runtime:
    """The process's plugin manager and registry, built on first use (never at import)."""
    pm, infos, errors = make_plugin_manager(strict=strict)
    for line in errors:
        click.echo(line, err=True)
    return Runtime(pm, infos, errors, build_registry(pm, infos))


class PluginGroup(click.Group):
    """A group whose plugin commands are added by ``dq_register_commands`` on first lookup."""

    _loaded = False

    def _load(self) -> None:
        if not self._loaded:
            self._loaded = True
            runtime().pm.hook.dq_register_commands(cli=self)

    def list_commands(self, ctx: click.Context) -> list[str]:
        self._load()
        return super().list_commands(ctx)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        command = super().get_command(ctx, cmd_name)
        if command is None:
            self._load()
            command = super().get_command(ctx, cmd_name)
        return command


@click.group(cls=PluginGroup)
@click.version_option(package_name="dq")
def cli() -> None:
    """dq: data quality and benchmark contamination for LLM fine-tuning datasets."""


def _parse_columns(values: tuple[str, ...]) -> dict[str, str]:
    mapping = {}
    for value in values:
        key, sep, name = value.partition("=")
        if not sep or not key or not name:
            raise DqError(f"--column '{value}': use DQFIELD=INPUTCOLUMN, e.g. source=problem_source")
        mapping[key] = name
    return mapping


@cli.command()
@click.option("--rules", "rules_path", required=True, type=click.Path(path_type=Path), help="Rule set TOML.")
@click.option(
    "--input", "input_spec", help="JSONL/Parquet/CSV file or hf:NAME[:CONFIG]:SPLIT; default: demo."
)
@click.option("--benchmark", "benchmarks", multiple=True, help="NAME=PATH[#FIELD] or NAME=hf:DATASET:SPLIT.")
@click.option("--out", "out_dir", type=click.Path(path_type=Path), default=Path("dq-out"), show_default=True)
@click.option("--column", "columns", multiple=True, help="Column mapping DQFIELD=INPUTCOLUMN.")
@click.option(
    "--contamination-action",
    type=click.Choice(["fail", "drop", "warn"]),
    help="Override every check's action.",
)
@click.option("--overwrite", is_flag=True, help="Replace an existing output folder.")
@click.option("--quiet", is_flag=True, help="No progress lines and no summary table.")
@click.option("--strict-plugins", is_flag=True, help="A plugin that fails to load is an error (exit 2).")
def run(
    rules_path: Path,
    input_spec: str | None,
    benchmarks: tuple[str, ...],
    out_dir: Path,
    columns: tuple[str, ...],
    contamination_action: str | None,
    overwrite: bool,
    quiet: bool,
    strict_plugins: bool,
) -> None:
    """Curate a dataset with a rule set: gate, split, contamination gates, render, write.

    Exit codes: 0 every gate passed; 1 a gate failed (outputs and reports are still written,
    status "fail"); 2 usage, config, plugin or input error (nothing written).
    """
    from dq.runner import run_pipeline

    rt = runtime(strict=strict_plugins)
    if strict_plugins and rt.errors:
        raise DqError(rt.errors[0])
    result, state = run_pipeline(
        rt.pm,
        rt.registry,
        rules_path,
        input_spec,
        out_dir,
        list(benchmarks),
        _parse_columns(columns),
        contamination_action,
        overwrite,
        quiet or not sys.stderr.isatty(),
    )
    if not quiet:
        from dq_reports.summary import summary_rows

        width = max(len(label) for label, _ in summary_rows(state))
        for label, value in summary_rows(state):
            click.echo(f"{label.ljust(width)}  {value}")
        click.echo(f"{'written'.ljust(width)}  {result.out_dir}/ (manifest.json, raw/, rendered/, reports/)")
    sys.exit(result.exit_code)


@cli.command()
@click.option("--rules", "rules_path", required=True, type=click.Path(path_type=Path))
def validate(rules_path: Path) -> None:
    """Check a rule set (structure, rule names, parameters, regexes) without reading data."""
    from dq.config import load_rule_set
    from dq.engine import bind_rules

    rule_set = load_rule_set(rules_path)
    bind_rules(rule_set, runtime().registry)
    click.echo(f"{rules_path}: ok ({len(rule_set.rules)} rules)")


def _echo_table(rows: list[dict[str, Any]], columns: list[str]) -> None:
    widths = {c: max([len(c)] + [len(str(r[c])) for r in rows]) for c in columns}
    click.echo("  ".join(c.upper().ljust(widths[c]) for c in columns).rstrip())
    for r in rows:
        click.echo("  ".join(str(r[c]).ljust(widths[c]) for c in columns).rstrip())


@cli.group()
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
    from dq.docs import rule_doc

    doc = rule_doc(runtime().registry, name)
    click.echo(json.dumps(doc, indent=2) if as_json else doc["text"])


@rules.command("docs")
def rules_docs() -> None:
    """Markdown reference of every installed rule (docs/rules.md)."""
    from dq.docs import rules_markdown

    click.echo(rules_markdown(runtime().registry), nl=False)


@cli.group()
def plugins() -> None:
    """Inspect installed plugins."""


@plugins.command("list")
@click.option("--json", "as_json", is_flag=True)
@click.option("--all", "show_all", is_flag=True, help="Include dq's built-in plugins.")
def plugins_list(as_json: bool, show_all: bool) -> None:
    """List plugins with version, what they register and the hooks they implement."""
    from dq.docs import plugin_rows

    rows = [r for r in plugin_rows(runtime()) if show_all or not r["builtin"]]
    if as_json:
        click.echo(json.dumps(rows, indent=2))
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


@cli.group()
def stages() -> None:
    """Inspect pipeline stages and the other pipeline plugins."""


@stages.command("list")
@click.option("--json", "as_json", is_flag=True)
def stages_list(as_json: bool) -> None:
    """List stages, splitters, contamination checks and reporters, with their plugin."""
    reg = runtime().registry
    rows = [
        {
            "kind": kind,
            "name": name,
            "plugin": reg.owner[(kind, name)],
            "description": cls.summary(),
        }
        for kind in ("stages", "splitters", "contamination_checks", "reporters")
        for name, cls in reg.items[kind].items()
    ]
    if as_json:
        click.echo(json.dumps(rows, indent=2))
    else:
        _echo_table(rows, ["kind", "name", "plugin", "description"])


def main() -> None:
    """Console entry point."""
    try:
        cli(standalone_mode=True)
    except DqError as exc:  # raised outside click's own handling (e.g. while loading plugins)
        click.echo(f"Error: {exc.message}", err=True)
        sys.exit(EXIT_USAGE)
