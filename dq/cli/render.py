"""``dq render``: count the real tokens of a finished run folder and price its training run."""

from __future__ import annotations

import dataclasses
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from dq.cli.options import quiet_option, recorded_rules_option
from dq.cli.runtime import runtime

if TYPE_CHECKING:
    from dq.api.run import Plan


@click.command()
@click.argument("run_dir", type=click.Path(path_type=Path, exists=True, file_okay=False))
@recorded_rules_option("the run's")
@click.option("--renderer", help="Renderer plugin (default the rule set's [render] renderer).")
@click.option(
    "--tokenizer", help="Tokenizer by Hub id or local path (default [render] tokenizer / model_name)."
)
@click.option("--max-length", type=click.IntRange(min=1), help="Count rows whose full render is longer.")
@click.option("--price", type=click.FloatRange(min=0), help="Dollars per million training tokens.")
@click.option("--epochs", type=click.IntRange(min=1), help="Training epochs to price.")
@click.option("--json", "as_json", is_flag=True, help="Print rendered/tokens.json to stdout.")
@quiet_option
def render(
    run_dir: Path,
    rules_path: Path | None,
    renderer: str | None,
    tokenizer: str | None,
    max_length: int | None,
    price: float | None,
    epochs: int | None,
    as_json: bool,
    quiet: bool,
) -> None:
    """Render every row of RUN_DIR through the real chat template: rendered/tokens.json.

    Counts the full training sequence and the prompt (loss-mask boundary) of every train and val
    row, with and without the system prompt (the study's render-sanity keys), plus percentiles,
    a histogram, rows over --max-length, loss tokens and the run's cost. Options override the
    rule set's [render] table for this report. The folder is rewritten atomically.

    Exit codes: 0 written; 2 usage, config or input error, or a row whose prompt render is not a
    prefix of its full render (nothing written).
    """
    from dq.cli.report import rebuild_reports

    overrides: dict[str, Any] = {"renderer": renderer, "tokenizer": tokenizer, "max_length": max_length}

    registry = runtime().registry

    def adjust(plan: Plan) -> Plan:
        spec = plan.rule_set.render
        for key, value in overrides.items():
            if value is not None:
                setattr(spec, key, value)
        if price is not None:
            spec.cost.price_per_million = price
        if epochs is not None:
            spec.cost.epochs = epochs
        return dataclasses.replace(plan, renderer_class=registry.get("renderers", spec.renderer))

    quiet = quiet or not sys.stderr.isatty()
    state = rebuild_reports(run_dir, registry, rules_path, (), quiet, "token_stats", adjust)
    stats = state.token_stats or {}
    if as_json:
        click.echo(json.dumps(stats, indent=2, sort_keys=True))
        return
    cost = stats.get("cost", {})
    for side in ("train", "val"):
        split = stats.get(side, {})
        click.echo(
            f"{side}: {split.get('rows', 0)} rows, mean {split.get('full_mean_with_system', 0)} tokens "
            f"(p95 {split.get('p95', '-')}, max {split.get('max', '-')}), "
            f"{split.get('loss_tokens', 0)} loss tokens"
        )
    click.echo(
        f"cost: {cost.get('train_tokens', 0):,} training + {cost.get('validation_tokens', 0):,} validation "
        f"tokens = ${cost.get('total_dollars', 0):.2f} at ${cost.get('price_per_million_tokens')}/M"
    )
    click.echo(f"{run_dir}/rendered/tokens.json written")
