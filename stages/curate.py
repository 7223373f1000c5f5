"""Curate stage: apply the rule set's rules in order (the study's quality gate)."""

from __future__ import annotations

from collections import Counter

import polars as pl

from dq.api.run import RunState, Stage
from dq.engine import current
from dq.pipeline.curation import apply_rules


def with_row_ids(frame: pl.DataFrame) -> pl.DataFrame:
    """Add the study's ``row_id`` to every row: DuckDB's sha256 over the same UTF-8 bytes as
    :func:`dq.normalize.row_id` (source, problem, answer joined by newlines; first 20 hex)."""
    import duckdb  # imported when the stage runs, not when stages are listed

    con = duckdb.connect()
    con.register("rows", frame.select("source", "problem", "expected_answer").to_arrow())
    sql = "SELECT substr(sha256(source || chr(10) || problem || chr(10) || expected_answer), 1, 20) AS row_id FROM rows"
    return frame.with_columns(row_id=con.sql(sql).pl().get_column("row_id"))


class CurateStage(Stage):
    """Run every rule; first failing rule is the reject reason, all firing rules are verdicts."""

    name = "dq.curate"
    needs = ("rows",)
    provides = ("considered", "accepted", "rejected", "verdicts")

    def run(self, state: RunState) -> None:
        rows = state.require("rows")
        progress = state.rows_progress("dq.curate", rows.height)
        engine = current()
        if engine is not None:
            result = engine.curate(rows, state.plan.rules, state.plan.skip_rules)
        else:
            result = apply_rules(
                rows,
                state.plan.rules,
                state.plan.skip_rules,
                lambda done, total: progress.update(rows.height * done // max(total, 1), force=True),
            )
        progress.close(rows.height)
        state.considered = result.considered
        state.accepted = with_row_ids(result.accepted)
        state.rejected = with_row_ids(result.rejected)
        state.verdicts = result.verdicts
        reasons = Counter(zip(result.rejected["source"], result.rejected["reason"], strict=True))
        state.reject_reasons = {f"{s}:{r}": n for (s, r), n in reasons.most_common()}
        state.log(
            f"curate: {result.considered.height} rows considered, {result.accepted.height} "
            f"accepted, {result.rejected.height} rejected"
        )
