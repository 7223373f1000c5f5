"""``dq run`` and ``dq validate``: both build the same plan, so validate rejects what run would."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from dq.cli.options import (
    benchmark_option,
    column_option,
    engine_options,
    input_option,
    memory_option,
    out_option,
    overwrite_option,
    parse_columns,
    rules_option,
)
from dq.cli.runtime import runtime
from dq.errors import DqError


@click.command()
@rules_option
@input_option
@benchmark_option
@column_option
@out_option(default=Path("dq-out"), what="curated dataset, reports and manifest")
@click.option(
    "--contamination-action",
    type=click.Choice(["fail", "drop", "warn"]),
    help="Override every check's action.",
)
@overwrite_option
@click.option("--quiet", is_flag=True, help="No progress lines and no summary table.")
@click.option("--strict-plugins", is_flag=True, help="A plugin that fails to load is an error (exit 2).")
@click.option(
    "--no-resume",
    is_flag=True,
    help="Run every stage, ignoring checkpoints of an unfinished run of the same command "
    "(they are replaced by this run's).",
)
@click.option(
    "--no-checkpoints",
    is_flag=True,
    help="Write no stage checkpoints: nothing to resume from after a kill, and none of their time "
    "and disk (several copies of the rows on a large run).",
)
@click.option(
    "--keep-checkpoints",
    is_flag=True,
    help="Keep this run's stage checkpoints (${DQ_CACHE_DIR:-~/.cache/dq}/runs) when it finishes, "
    "so that the same command reuses them.",
)
@engine_options
@memory_option
def run(
    rules_path: Path,
    input_spec: str | None,
    benchmarks: tuple[str, ...],
    columns: tuple[str, ...],
    out_dir: Path,
    contamination_action: str | None,
    overwrite: bool,
    quiet: bool,
    strict_plugins: bool,
    no_resume: bool,
    no_checkpoints: bool,
    keep_checkpoints: bool,
    engine: str,
    address: str | None,
    memory: int | None,
) -> None:
    """Curate a dataset with a rule set: gate, split, contamination gates, render, write.

    A run that was killed or failed resumes: the same command reuses the stages it completed
    (checkpointed under ${DQ_CACHE_DIR:-~/.cache/dq}/runs, keyed by the content of the rule set,
    the input, the benchmarks and dq's code) and says which on stderr and in the manifest.

    Exit codes: 0 every gate passed; 1 a gate failed (outputs and reports are still written,
    status "fail"); 2 usage, config, plugin or input error (nothing written); 3 internal
    error; 130 interrupted.
    """
    from dq.pipeline.execute import run_pipeline
    from dq.pipeline.plan import RunOptions
    from dq.pipeline.resume import ResumePolicy

    def say(message: str) -> None:
        if not quiet:  # a piped stderr still hears of resumes: they change what the run does
            click.echo(("\r\x1b[K" if sys.stderr.isatty() else "") + message, err=True)

    rt = runtime(strict=strict_plugins)
    if strict_plugins and rt.errors:
        raise DqError(rt.errors[0])
    options = RunOptions(
        input_spec, list(benchmarks), parse_columns(columns), contamination_action, engine, address, memory
    )
    result, state = run_pipeline(
        rt.pm,
        rt.registry,
        rules_path,
        options,
        out_dir,
        overwrite,
        quiet or not sys.stderr.isatty(),
        None if no_checkpoints else ResumePolicy(resume=not no_resume, keep=keep_checkpoints, say=say),
    )
    if not quiet:
        from dq.pipeline.summary import summary_rows

        rows = summary_rows(state)
        width = max(len(label) for label, _ in rows)
        for label, value in rows:
            click.echo(f"{label.ljust(width)}  {value}")
        click.echo(f"{'written'.ljust(width)}  {result.out_dir}/ (manifest.json, raw/, rendered/, reports/)")
    sys.exit(result.exit_code)


@click.command()
@rules_option
@input_option
@benchmark_option
@column_option
def validate(
    rules_path: Path, input_spec: str | None, benchmarks: tuple[str, ...], columns: tuple[str, ...]
) -> None:
    """Check a rule set without reading data: everything ``dq run`` would reject for its configuration.

    Builds the same plan as ``dq run`` (rules and parameters, regexes, SQL predicates, stages and
    pipeline order, splitter, checks and their options, benchmarks, reporters) and prints every
    problem at once.
    """
    from dq.pipeline.plan import RunOptions, build_plan

    options = RunOptions(input_spec, list(benchmarks), parse_columns(columns))
    plan = build_plan(rules_path, runtime().registry, options)
    click.echo(
        f"{rules_path}: ok ({len(plan.rules)} rules, {len(plan.checks)} contamination checks, "
        f"{len(plan.stages)} stages)"
    )
