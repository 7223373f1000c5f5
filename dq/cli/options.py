"""Options shared by every command that reads data: each means the same thing everywhere."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from dq.errors import DqError

F = Callable[..., Any]


def rules_option(f: F) -> F:
    return click.option(
        "--rules", "rules_path", required=True, type=click.Path(path_type=Path), help="Rule set TOML."
    )(f)


def input_option(f: F, required: bool = False) -> F:
    return click.option(
        "--input",
        "input_spec",
        required=required,
        help="JSONL/Parquet/CSV file or hf:NAME[:CONFIG]:SPLIT (default: the rule set's, else the demo).",
    )(f)


def benchmark_option(f: F) -> F:
    return click.option(
        "--benchmark",
        "benchmarks",
        multiple=True,
        help="NAME=PATH[#FIELD], NAME=hf:DATASET[:CONFIG]:SPLIT, or a known name (gsm8k, math, math500).",
    )(f)


def column_option(f: F) -> F:
    return click.option(
        "--column", "columns", multiple=True, help="Map an input column onto a dq field: DQFIELD=INPUTCOLUMN."
    )(f)


def out_option(default: Path | None = None, what: str = "outputs") -> Callable[[F], F]:
    def decorate(f: F) -> F:
        return click.option(
            "--out",
            "out_dir",
            type=click.Path(path_type=Path, file_okay=False),
            default=default,
            required=default is None,
            show_default=default is not None,
            help=f"Output folder for the {what}; written whole at the end, or not at all.",
        )(f)

    return decorate


def recorded_rules_option(default: str) -> Callable[[F], F]:
    """``--rules`` for commands that rebuild a finished folder: optional, the recorded one by default."""

    def decorate(f: F) -> F:
        return click.option(
            "--rules",
            "rules_path",
            type=click.Path(path_type=Path),
            help=f"Rule set to build the plan from (default: {default}, which must be unchanged).",
        )(f)

    return decorate


def quiet_option(f: F) -> F:
    return click.option("--quiet", is_flag=True, help="No progress lines.")(f)


def overwrite_option(f: F) -> F:
    return click.option("--overwrite", is_flag=True, help="Replace an existing output folder that dq wrote.")(
        f
    )


def parse_columns(values: tuple[str, ...]) -> dict[str, str]:
    """``--column DQFIELD=INPUTCOLUMN`` values as a mapping (the plan checks the fields)."""
    mapping = {}
    for value in values:
        key, sep, name = value.partition("=")
        if not sep or not key or not name:
            raise DqError(f"--column '{value}': use DQFIELD=INPUTCOLUMN, e.g. source=problem_source")
        mapping[key] = name
    return mapping


def engine_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """``--engine local|ray`` and ``--address``: where the row-level and near-duplicate steps run."""
    func = click.option(
        "--address", help="Ray cluster address for --engine ray (default: a local session on loopback)."
    )(func)
    return click.option(
        "--engine",
        type=click.Choice(["local", "ray"]),
        default="local",
        show_default=True,
        help="Run curation, checks and near-duplicate grouping here or on Ray (the dq[ray] extra); "
        "the outputs are the same.",
    )(func)
