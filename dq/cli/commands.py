"""Built-in ``scan`` and ``calibrate`` commands, contributed through the public ``dq_register_commands`` hook."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from dq.api.hookspecs import hookimpl
from dq.cli.options import (
    benchmark_option,
    column_option,
    engine_options,
    input_option,
    out_option,
    overwrite_option,
    parse_columns,
    rules_option,
)


@hookimpl
def dq_register_commands(cli: click.Group) -> None:
    cli.add_command(scan)
    cli.add_command(calibrate)


@click.command()
@rules_option
@click.option("--input", "input_spec", required=True, help="Parquet or JSONL file (read in row batches).")
@benchmark_option
@column_option
@click.option("--check", "only", multiple=True, help="Run only these checks (default: all in the rule set).")
@click.option("--batch-rows", default=500_000, show_default=True, type=click.IntRange(min=1))
@out_option(what="matches (matches.jsonl) and summary (summary.json)")
@overwrite_option
@engine_options
def scan(
    rules_path: Path,
    input_spec: str,
    benchmarks: tuple[str, ...],
    columns: tuple[str, ...],
    only: tuple[str, ...],
    batch_rows: int,
    out_dir: Path,
    overwrite: bool,
    engine: str,
    address: str | None,
) -> None:
    """Stream a file of any size through the rule set's contamination checks (no gate/split).

    Exit 1 when a check whose action is "fail" finds a match; matches go to OUT/matches.jsonl.
    """
    from dq.cli.main import runtime
    from dq.contamination.scan import scan as run_scan
    from dq.data.benchmarks import check_hub, load_benchmarks
    from dq.pipeline.execute import engine_for
    from dq.pipeline.plan import RunOptions, build_plan

    options = RunOptions(input_spec, list(benchmarks), parse_columns(columns), engine=engine, address=address)
    plan = build_plan(rules_path, runtime().registry, options)
    check_hub(plan.benchmarks)
    bench = {name: frame for name, (frame, _) in load_benchmarks(plan.benchmarks).items()}
    column = plan.columns.get("problem", "problem")
    with engine_for(options):
        summary = run_scan(plan, Path(input_spec), bench, out_dir, column, batch_rows, list(only), overwrite)
    click.echo(json.dumps(summary, indent=2))
    sys.exit(1 if summary["status"] == "fail" else 0)


@click.command()
@rules_option
@input_option
@benchmark_option
@column_option
@click.option("--per-kind", default=100, show_default=True, type=click.IntRange(min=1))
@click.option("--seed", default=0, show_default=True)
@out_option(default=None, what="calibration result (calibration.json)")
@overwrite_option
def calibrate(
    rules_path: Path,
    input_spec: str | None,
    benchmarks: tuple[str, ...],
    columns: tuple[str, ...],
    per_kind: int,
    seed: int,
    out_dir: Path | None,
    overwrite: bool,
) -> None:
    """Measure each contamination check's recall on perturbed benchmark copies planted in your data.

    Kinds: verbatim, case/space/Unicode, number edits (change, add, remove, scale, swap),
    distractor sentences with numbers, added sentences, word swaps, clause reorders, synonym
    swaps, template paraphrases; beside a plain 13-gram check. Also counts the clean rows each
    check flags, with examples. Real LLM rewrites are not measured: no rule can plant them.
    """
    from dq.cli.main import runtime
    from dq.contamination.calibrate import calibrate as run_calibration
    from dq.contamination.calibrate import format_table
    from dq.data.benchmarks import check_hub, load_benchmarks
    from dq.data.reader import read_input
    from dq.pipeline.plan import RunOptions, build_plan

    plan = build_plan(
        rules_path, runtime().registry, RunOptions(input_spec, list(benchmarks), parse_columns(columns))
    )
    check_hub(plan.benchmarks)
    rows, _ = read_input(plan.input_spec, plan.columns, strict=plan.strict_columns)
    bench = {name: frame for name, (frame, _) in load_benchmarks(plan.benchmarks).items()}
    clean = rows["problem"].unique(maintain_order=True)
    result = run_calibration(plan, clean, bench, per_kind, seed)
    click.echo(format_table(result))
    if out_dir:
        from dq.data.outdir import write_folder

        data = (json.dumps(result, indent=2) + "\n").encode("utf-8")
        write_folder(out_dir, {"calibration.json": data}, overwrite, kind="calibrate")
