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


_UNITS = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}


def parse_size(text: str) -> int:
    """``8G``, ``512M``, ``1.5G``, ``4000000000`` (bytes; K/M/G/T are powers of 1024)."""
    value = text.strip().upper().removesuffix("IB").removesuffix("B")
    unit = value[-1:] if value[-1:] in _UNITS and value[-1:] else ""
    try:
        size = float(value[: len(value) - len(unit)]) * _UNITS[unit]
    except ValueError:
        raise click.BadParameter(f"'{text}' is not a size (examples: 8G, 512M, 2000000000)") from None
    if size < 1:
        raise click.BadParameter(f"'{text}': a memory budget must be positive")
    return int(size)


def memory_option(func: Callable[..., Any]) -> Callable[..., Any]:
    """``--memory SIZE``: the run's memory budget; an input that would exceed it streams."""
    return click.option(
        "--memory",
        callback=lambda ctx, param, value: None if value is None else parse_size(value),
        help="Memory budget (8G, 512M; default half the machine's memory). An input whose "
        "in-memory run would exceed it streams: rows pass load and curate in batches and their "
        "texts wait on disk next to --out.",
    )(func)
