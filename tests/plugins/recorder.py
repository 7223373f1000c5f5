"""A throwaway plugin that implements every dq hook, for the hook tests."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click
import polars as pl

from dq import RowRule, RuleContext, hookimpl
from dq.api.run import ContaminationCheck, Reporter, SplitResult, Splitter, Stage

CALLS: list[tuple[str, Any]] = []


class ShortSolution(RowRule):
    """The solution is shorter than ``min_chars`` characters."""

    code = "REC001"
    name = "recorder.short_solution"

    class Params(RowRule.Params):
        min_chars: int = 40

    def failing_rows(self, ctx: RuleContext) -> pl.Expr:
        return pl.col("generated_solution").str.len_chars() < self.params.min_chars


class CountStage(Stage):
    """Counts accepted rows into the run notes."""

    name = "recorder.count"

    def run(self, state: Any) -> None:
        state.notes.append(f"accepted={state.accepted.height}")


class MathToVal(Splitter):
    """Every math row goes to val, the rest to train (row order kept)."""

    name = "recorder.math_to_val"

    def split(self, rows: pl.DataFrame, state: Any = None) -> SplitResult:
        is_math = (rows["source"] == "math").to_list()
        val = [i for i, m in enumerate(is_math) if m]
        train = [i for i, m in enumerate(is_math) if not m]
        return SplitResult(train=train, val=val, train_groups=len(train), val_groups=len(val))


class ContainsCheck(ContaminationCheck):
    """A row matches when it contains a benchmark question as a substring."""

    name = "recorder.contains"

    def find(self, rows: pl.DataFrame, benchmarks: dict[str, pl.DataFrame]) -> pl.DataFrame:
        found = []
        for name, bench in benchmarks.items():
            for index, question in zip(bench["benchmark_index"], bench["question"], strict=True):
                hit = rows.filter(pl.col("problem").str.contains(question, literal=True))
                found += [(pos, name, int(index), 1.0) for pos in hit["pos"]]
        return pl.DataFrame(
            found,
            schema={
                "pos": pl.UInt32,
                "benchmark": pl.String,
                "benchmark_index": pl.Int64,
                "score": pl.Float64,
            },
            orient="row",
        )


class RowCountReporter(Reporter):
    """reports/rows.txt: train and val row counts."""

    name = "recorder.rows"
    filename = "rows.txt"

    def write(self, state: Any) -> bytes:
        return f"{state.train.height} {state.val.height}\n".encode()


@hookimpl
def dq_register_rules(register: Callable[[type], None]) -> None:
    register(ShortSolution)


@hookimpl
def dq_register_stages(register: Callable[[type], None]) -> None:
    register(CountStage)


@hookimpl
def dq_register_splitters(register: Callable[[type], None]) -> None:
    register(MathToVal)


@hookimpl
def dq_register_contamination_checks(register: Callable[[type], None]) -> None:
    register(ContainsCheck)


@hookimpl
def dq_register_reporters(register: Callable[[type], None]) -> None:
    register(RowCountReporter)


@hookimpl
def dq_register_commands(cli: click.Group) -> None:
    @cli.command(name="recorder-hello")
    def hello() -> None:
        """Say hello."""
        click.echo("hello from recorder")


@hookimpl
def dq_before_run(run: Any) -> None:
    CALLS.append(("before", run.rule_set.name))


@hookimpl
def dq_after_run(run: Any, result: Any) -> None:
    CALLS.append(("after", result.status))
    raise RuntimeError("after_run must not break a finished run")
