"""Curation: evaluate the plan's bound rules over the rows and keep the study's accounting.

Accounting follows the study: rules run in rule-set order and a row's reject reason is its first
failing rule. Leading ``skip`` rules (the source filter) drop rows before anything else and those
rows are counted nowhere. Every rule that fires on a row is also recorded in a verdicts table
(row_index, rule, detail), so reviewers see all problems, not just the first.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

import polars as pl

from dq.api.rule import RowRule, RuleContext
from dq.api.run import BoundRule
from dq.errors import DqError


@dataclass
class CurateResult:
    """Rows kept after skip rules, split into accepted and rejected, plus every verdict."""

    considered: pl.DataFrame
    accepted: pl.DataFrame
    rejected: pl.DataFrame
    verdicts: pl.DataFrame


#: What curates one batch: :func:`apply_rules`, or an engine's partitioned twin.
Curate = Callable[[pl.DataFrame, Sequence[BoundRule], Sequence[BoundRule]], CurateResult]
#: Rows per batch when the rules run on several threads.
BATCH_ROWS = 250_000


def curate_threads() -> int:
    """Batches curated at once: one per core, up to 4 (each holds one more batch in memory).

    The rules' Polars kernels mostly work one column on one core, so batches side by side use
    the others (measured on 2 cores: 4 x 250k OpenMath-shaped rows, rules and row ids, 7.4 s
    one batch at a time, 4.0 s two at a time).
    """
    return max(1, min(os.cpu_count() or 1, 4))


def curate_batches(
    batches: Iterable[pl.DataFrame],
    rules: Sequence[BoundRule],
    skips: Sequence[BoundRule],
    curate: Curate | None = None,
    threads: int = 1,
) -> Iterator[CurateResult]:
    """``curate`` (default :func:`apply_rules`) over each batch, ``threads`` batches at once,
    results in batch order with ``row_id`` on the accepted and rejected rows.

    Rules are row-local, so the batches' results concatenated equal one call over all rows.
    """
    run = curate or apply_rules

    def one(batch: pl.DataFrame) -> CurateResult:
        result = run(batch, rules, skips)
        result.accepted, result.rejected = with_row_ids(result.accepted), with_row_ids(result.rejected)
        return result

    with ThreadPoolExecutor(threads, thread_name_prefix="dq-curate") as pool:
        pending: list[Future[CurateResult]] = []
        for batch in batches:
            if len(pending) == threads:  # at most `threads` batches in flight
                yield pending.pop(0).result()
            pending.append(pool.submit(one, batch))
        for future in pending:
            yield future.result()


def concat_results(results: Sequence[CurateResult]) -> CurateResult:
    """Batches' results (in row order) as one."""
    fields = ("considered", "accepted", "rejected", "verdicts")
    return CurateResult(*(pl.concat([getattr(r, name) for r in results]) for name in fields))


def rule_mask(rule: RowRule, ctx: RuleContext) -> pl.Series:
    """Evaluate one rule to a Boolean Series; null counts as passing."""
    import duckdb  # only rules that use it pay for the import

    try:
        result = rule.failing_rows(ctx)
    except duckdb.Error as exc:
        first = str(exc).splitlines()[0]
        raise DqError(f"rule '{rule.name}': DuckDB could not evaluate its predicate: {first}") from None
    if isinstance(result, pl.Expr):
        result = ctx.rows.select(result.alias("fail")).to_series()
    return result.fill_null(False).alias("fail")


def apply_skips(rows: pl.DataFrame, skips: Sequence[BoundRule]) -> pl.DataFrame:
    """Rows that pass every leading skip rule (applied while streaming, and again in curate)."""
    for b in skips:
        rows = rows.filter(~rule_mask(b.rule, RuleContext(rows)))
    return rows


def apply_rules(
    rows: pl.DataFrame,
    bound: Sequence[BoundRule],
    skips: Sequence[BoundRule],
    progress: Callable[[int, int], None] | None = None,
) -> CurateResult:
    """Evaluate rules; return accepted/rejected rows (with ``reason``) and the verdicts table.

    ``skips`` are the leading skip rules (``Plan.skip_rules``): applied first, counted nowhere.
    ``progress(done, total)`` hears of each rule evaluated (rules are vectorized over all rows).
    """
    rows = apply_skips(rows, skips)
    rest = bound[len(skips) :]
    ctx = RuleContext(rows)
    first = pl.Series("first", [None] * rows.height, dtype=pl.Int32)
    verdict_frames = []
    for pos, b in enumerate(rest):
        mask = rule_mask(b.rule, ctx)
        first = first.zip_with(first.is_not_null() | ~mask, pl.Series([pos], dtype=pl.Int32))
        flagged = rows.filter(mask)
        if flagged.height:
            verdict_frames.append(
                pl.DataFrame(
                    {
                        "row_index": flagged["row_index"],
                        "rule": [b.reason] * flagged.height,
                        "detail": pl.Series(b.rule.details(ctx, flagged), dtype=pl.String),
                    }
                )
            )
        if progress is not None:
            progress(pos + 1, len(rest))
    reasons = pl.Series("reason", [b.reason for b in rest], dtype=pl.String)
    actions = pl.Series("action", [b.action for b in rest], dtype=pl.String)
    labelled = rows.with_columns(
        reason=reasons.gather(first) if rest else pl.lit(None, pl.String),
        action=actions.gather(first) if rest else pl.lit(None, pl.String),
    )
    considered = labelled.filter(pl.col("action").is_null() | (pl.col("action") != "skip"))
    verdicts = (
        pl.concat(verdict_frames).sort("row_index", maintain_order=True)
        if verdict_frames
        else pl.DataFrame(schema={"row_index": pl.UInt32, "rule": pl.String, "detail": pl.String})
    )
    return CurateResult(
        considered=considered.drop("reason", "action"),
        accepted=considered.filter(pl.col("reason").is_null()).drop("reason", "action"),
        rejected=considered.filter(pl.col("reason").is_not_null()).drop("action"),
        verdicts=verdicts.filter(pl.col("row_index").is_in(considered["row_index"].implode())),
    )


def with_row_ids(frame: pl.DataFrame) -> pl.DataFrame:
    """Add the study's ``row_id`` to every row: DuckDB's sha256 over the same UTF-8 bytes as
    :func:`dq.normalize.row_id` (source, problem, answer joined by newlines; first 20 hex)."""
    import duckdb  # imported when the stage runs, not when stages are listed

    con = duckdb.connect()
    con.register("rows", frame.select("source", "problem", "expected_answer").to_arrow())
    sql = "SELECT substr(sha256(source || chr(10) || problem || chr(10) || expected_answer), 1, 20) AS row_id FROM rows"
    return frame.with_columns(row_id=con.sql(sql).pl().get_column("row_id"))
