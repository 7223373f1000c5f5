"""Curate stage: apply the rule set's rules in order (the study's quality gate)."""

from __future__ import annotations

from collections import Counter

from dq.api.run import RunState, Stage
from dq.engine import current
from dq.pipeline.curation import apply_rules, with_row_ids
from dq.pipeline.streaming import curate_streamed


class CurateStage(Stage):
    """Run every rule; first failing rule is the reject reason, all firing rules are verdicts."""

    name = "dq.curate"
    needs = ("rows",)
    provides = ("considered", "accepted", "rejected", "verdicts")

    def run(self, state: RunState) -> None:
        rows = state.require("rows")
        progress = state.rows_progress("dq.curate", rows.height)
        engine = current()
        if state.row_store is not None:  # a streamed run: the rules batch by batch, lean frames
            result = curate_streamed(state, engine.curate if engine is not None else apply_rules)
        elif engine is not None:
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
        streamed = state.row_store is not None  # curate_streamed adds row ids batch by batch
        state.accepted = result.accepted if streamed else with_row_ids(result.accepted)
        state.rejected = result.rejected if streamed else with_row_ids(result.rejected)
        state.verdicts = result.verdicts
        reasons = Counter(zip(result.rejected["source"], result.rejected["reason"], strict=True))
        state.reject_reasons = {f"{s}:{r}": n for (s, r), n in reasons.most_common()}
        state.log(
            f"curate: {result.considered.height} rows considered, {result.accepted.height} "
            f"accepted, {result.rejected.height} rejected"
        )
