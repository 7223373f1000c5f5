"""Load stage: read the input (or build the demo corpus) into the run's row table."""

from __future__ import annotations

from dq import io
from dq.components import Stage
from dq.engine import apply_skips, bind_rules, leading_skips
from dq.run import RunState


class LoadStage(Stage):
    """Read JSONL/Parquet/CSV/hf: input into the four dq columns; no input means the demo corpus."""

    name = "load"

    def run(self, state: RunState) -> None:
        mapping = {**state.rule_set.input.columns, **state.column_map}
        spec = state.input_spec or state.rule_set.input.path
        skips = leading_skips(bind_rules(state.rule_set, state.registry))
        # Streamed Hub inputs drop skipped rows batch by batch (curate applies the same rules again).
        keep = (lambda batch: apply_skips(batch, skips)) if skips else None
        state.rows, state.input_info = io.read_input(spec, mapping, keep)
        state.log(f"load: {state.rows.height} rows from {state.input_info['path']}")
