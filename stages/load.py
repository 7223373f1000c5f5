"""Load stage: read the input (or build the demo corpus) into the run's row table."""

from __future__ import annotations

from pathlib import Path

from dq import io
from dq.components import Stage
from dq.run import RunState


class LoadStage(Stage):
    """Read JSONL/Parquet/CSV/hf: input into the four dq columns; no input means the demo corpus."""

    name = "load"

    def run(self, state: RunState) -> None:
        mapping = {**state.rule_set.input.columns, **state.column_map}
        spec = state.input_spec or state.rule_set.input.path
        if spec is None:
            from dq.demo import demo_rows

            state.rows = demo_rows().with_row_index("row_index")
            state.input_info = {"path": "demo:", "kind": "demo", "rows": state.rows.height}
            state.log(f"load: no --input, using the embedded demo corpus ({state.rows.height} rows)")
            return
        state.rows = io.read_rows(spec, mapping)
        info = {"path": spec, "rows": state.rows.height, "columns": mapping}
        if not spec.startswith("hf:"):
            info["sha256"] = io.file_sha256(Path(spec))
            info["bytes"] = Path(spec).stat().st_size
        state.input_info = info
        state.log(f"load: {state.rows.height} rows from {spec}")
