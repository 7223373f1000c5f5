"""Load stage: read the input (or build the demo corpus) into the run's row table."""

from __future__ import annotations

from dq.api.run import RunState, Stage
from dq.data import reader
from dq.pipeline.curation import apply_skips


class LoadStage(Stage):
    """Read JSONL/Parquet/CSV/hf: input into the four dq columns; no input means the demo corpus."""

    name = "dq.load"
    provides = ("rows", "input_info")

    def run(self, state: RunState) -> None:
        plan = state.plan
        skips = plan.skip_rules
        # Streamed Hub inputs drop skipped rows batch by batch (curate applies the same rules again).
        keep = (lambda batch: apply_skips(batch, skips)) if skips else None
        state.rows, state.input_info = reader.read_input(
            plan.input_spec, plan.columns, keep, plan.strict_columns
        )
        state.log(f"load: {state.rows.height} rows from {state.input_info['path']}")
