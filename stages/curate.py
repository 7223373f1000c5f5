"""Curate stage: apply the rule set's rules in order (the study's quality gate)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

import polars as pl

from dq.api.progress import RowProgress
from dq.api.run import RunState, Stage
from dq.engine import current
from dq.pipeline.curation import BATCH_ROWS, CurateResult, concat_results, curate_batches, curate_threads
from dq.pipeline.streaming import curate_streamed


class CurateStage(Stage):
    """Run every rule; first failing rule is the reject reason, all firing rules are verdicts."""

    name = "dq.curate"
    needs = ("rows",)
    provides = ("considered", "accepted", "rejected", "verdicts")

    def run(self, state: RunState) -> None:
        rows, plan = state.require("rows"), state.plan
        progress = state.rows_progress("dq.curate", rows.height)
        engine = current()
        if state.row_store is not None:  # a streamed run: the rules batch by batch, lean frames
            threads = 1 if engine is not None else curate_threads()
            result = curate_streamed(state, engine.curate if engine is not None else None, threads)
        elif engine is not None:  # the engine distributes the rules
            result = next(curate_batches([rows], plan.rules, plan.skip_rules, engine.curate))
        else:  # batches side by side on threads
            result = concat_results(list(self._local(state, rows, progress)))
        progress.close(rows.height)
        state.considered = result.considered
        state.accepted = result.accepted
        state.rejected = result.rejected
        state.verdicts = result.verdicts
        reasons = Counter(zip(result.rejected["source"], result.rejected["reason"], strict=True))
        state.reject_reasons = {f"{s}:{r}": n for (s, r), n in reasons.most_common()}
        state.log(
            f"curate: {result.considered.height} rows considered, {result.accepted.height} "
            f"accepted, {result.rejected.height} rejected"
        )

    @staticmethod
    def _local(state: RunState, rows: pl.DataFrame, progress: RowProgress) -> Iterator[CurateResult]:
        """The rules over ``rows`` in batches, :func:`curate_threads` at once, in row order."""
        plan, starts = state.plan, range(0, rows.height, BATCH_ROWS)
        batches = (rows.slice(start, BATCH_ROWS) for start in starts)
        results = curate_batches(batches, plan.rules, plan.skip_rules, None, curate_threads())
        for start, result in zip(starts, results, strict=True):
            progress.update(min(rows.height, start + BATCH_ROWS), force=True)
            yield result
