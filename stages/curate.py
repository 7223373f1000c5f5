"""Curate stage: apply the rule set's rules in order (the study's quality gate)."""

from __future__ import annotations

from collections import Counter

import polars as pl

from dq.components import Stage
from dq.engine import apply_rules, bind_rules
from dq.normalize import row_id
from dq.run import RunState


def with_row_ids(frame: pl.DataFrame) -> pl.DataFrame:
    """Add the study's ``row_id`` (sha256 of source/problem/answer, 20 hex) to every row."""
    ids = [
        row_id(s, p, a)
        for s, p, a in zip(frame["source"], frame["problem"], frame["expected_answer"], strict=True)
    ]
    return frame.with_columns(row_id=pl.Series(ids, dtype=pl.String))


class CurateStage(Stage):
    """Run every rule; first failing rule is the reject reason, all firing rules are verdicts."""

    name = "curate"

    def run(self, state: RunState) -> None:
        rows = state.require("rows")
        result = apply_rules(rows, bind_rules(state.rule_set, state.registry))
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
