"""The ``dq audit adapter`` command, contributed through the public ``dq_register_commands`` hook."""

from __future__ import annotations

import json
import sys
from typing import Any

import click

from dq.api.hookspecs import hookimpl

MARK = {"red": "RED   ", "yellow": "WARN  ", "green": "OK    "}


@hookimpl
def dq_register_commands(cli: click.Group) -> None:
    # Another plugin may already have contributed an ``audit`` group: join it instead of replacing it.
    group = cli.commands.get("audit")
    if not isinstance(group, click.Group):
        group = audit
        cli.add_command(audit)
    group.add_command(adapter)


@click.group()
def audit() -> None:
    """Audit artifacts before anyone uses them (exit 1 on a red flag)."""


@audit.command()
@click.argument("path")
@click.option("--base", "base", help="The base model you will load it on (Hub id or config.json path).")
@click.option("--json", "as_json", is_flag=True, help="Print the audit as JSON.")
def adapter(path: str, base: str | None, as_json: bool) -> None:
    """Check a LoRA adapter (folder or Hub id) against its base model without loading weights.

    Reads adapter_config.json and the safetensors header only: base model named exactly,
    rank/alpha/scaling, targets and coverage, every lora_A/lora_B shape against the base's
    modules, expected size against the file, provenance. Exit 1 on any red flag.
    """
    from dq.audit.adapter import audit_adapter

    result = audit_adapter(path, base)
    if as_json:
        click.echo(json.dumps(result.as_dict(), indent=2, sort_keys=True))
    else:
        _print_text(result.as_dict())
    sys.exit(1 if result.failed else 0)


def _print_text(report: dict[str, Any]) -> None:
    cfg = report["config"]
    tensors = report.get("tensors", {})
    scaling = f"{cfg['scaling']:g}" if cfg["scaling"] is not None else "?"
    lines = [
        f"adapter        {report['adapter']}",
        f"base (config)  {cfg['base_model_name_or_path']}",
        f"rank / alpha   r={cfg['r']}  alpha={cfg['lora_alpha']}  scaling {cfg['scaling_rule']} = {scaling}",
        f"dropout        {cfg['lora_dropout']}",
        f"targets        {cfg['target_modules']}",
    ]
    if tensors:
        cov = tensors["coverage"]
        lines.append(
            f"covers         attention: {', '.join(cov['attention']) or '-'} | "
            f"MLP: {', '.join(cov['mlp']) or '-'} | other: {', '.join(cov['other']) or '-'}"
        )
        lines.append(f"tensors        {tensors['count']} ({', '.join(tensors['dtypes'])})")
    if "size" in report:
        s = report["size"]
        lines.append(
            f"size           file {s['file_bytes']:,} bytes; expected tensors {s['expected_fp32_bytes']:,} (fp32)"
        )
    lines += [f"{MARK[f['level']]}{f['code']}: {f['message']}" for f in report["flags"]]
    lines.append(f"status         {report['status'].upper()}")
    click.echo("\n".join(lines))
