"""Load stage: read the input (or build the demo corpus) into the run's row table."""

from __future__ import annotations

from dq import io
from dq.components import Stage
from dq.run import RunState


class LoadStage(Stage):
    """Read JSONL/Parquet/CSV/hf: input into the four dq columns; no input means the demo corpus."""

    name = "load"

    def run(self, state: RunState) -> None:
        mapping = {**state.rule_set.input.columns, **state.column_map}
        state.rows, state.input_info = io.read_input(state.input_spec or state.rule_set.input.path, mapping)
        state.log(f"load: {state.rows.height} rows from {state.input_info['path']}")
