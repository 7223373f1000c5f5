"""The ``dq capacity`` command, contributed through the public ``dq_register_commands`` hook."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from dq.api.hookspecs import hookimpl


@hookimpl
def dq_register_commands(cli: click.Group) -> None:
    cli.add_command(capacity)


@click.command()
@click.option(
    "--model", "model", required=True, help="Known Hub id (e.g. Qwen/Qwen3-8B) or a config.json path."
)
@click.option("--rank", "rank", required=True, type=int, help="LoRA rank r.")
@click.option(
    "--targets",
    default="all_layer",
    show_default=True,
    help="attention_only, all_layer (attention + MLP), or modules such as q,k,v,o or q_proj,up_proj.",
)
@click.option(
    "--dataset",
    "dataset",
    type=click.Path(path_type=Path, file_okay=False),
    help="A dq output folder: its rendered/tokens.json gives the loss tokens for the information budget.",
)
@click.option("--bits-per-token", default=1.0, show_default=True, type=click.FloatRange(min=0.0))
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def capacity(
    model: str, rank: int, targets: str, dataset: Path | None, bits_per_token: float, as_json: bool
) -> None:
    """Trainable LoRA parameters, adapter size, and the information budget against a dataset.

    Counts come from the model's config on the meta device (no weights). With --dataset, the
    adapter's capacity (~2 bits per parameter, "LoRA Without Regret") is set against the
    dataset's loss tokens × --bits-per-token; a capacity-constrained run is warned about.
    """
    from dq.capacity.budget import budget, read_tokens
    from dq.capacity.lora import count_lora, load_base, parse_targets

    base = load_base(model)
    count = count_lora(base, rank, parse_targets(targets))
    result: dict[str, Any] = {"base": {"name": base.name, "source": base.source}, **count.as_dict()}
    note = None
    if dataset is not None:
        tokens = read_tokens(dataset)
        if tokens is None:
            note = f"{dataset / 'rendered' / 'tokens.json'} not found (render the dataset first): no budget"
        else:
            result["budget"] = budget(count.params, tokens, bits_per_token=bits_per_token)
    if note:
        result["note"] = note
    if as_json:
        click.echo(json.dumps(result, indent=2, sort_keys=True))
    else:
        _print_text(result)


def _print_text(result: dict[str, Any]) -> None:
    size = result["size"]
    lines = [
        f"model                 {result['base']['name']} ({result['base']['source']})",
        f"rank / targets        {result['rank']} / {', '.join(result['targets'])}",
        f"LoRA modules          {result['modules']:,}",
        f"trainable parameters  {result['params']:,}",
    ]
    for dtype in ("fp32", "bf16"):
        s = size[dtype]
        lines.append(f"adapter size {dtype:<9}{s['bytes']:,} bytes = {s['MB']:.2f} MB = {s['MiB']:.2f} MiB")
    for leaf, e in result["by_target"].items():
        lines.append(f"  {leaf:<20}{e['modules']} × r×({e['in']}+{e['out']}) = {e['params']:,}")
    if "budget" in result:
        b = result["budget"]
        lines += [
            f"loss tokens / epoch   {b['loss_tokens_per_epoch']:,} ({b['train_rows']:,} rows)",
            f"capacity bits         {b['capacity_bits']:,.0f}",
            f"data bits             {b['data_bits']:,.0f} ({b['ratio']:.3f} of capacity)",
            f"verdict               {b['verdict']}",
            f"assumption            {b['assumption']}",
        ]
        if b["warning"]:
            lines.append(f"warning: {b['warning']}")
    if "note" in result:
        lines.append(f"note: {result['note']}")
    click.echo("\n".join(lines))
