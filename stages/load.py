"""Load stage: read the input (or build the demo corpus) into the run's row table."""

from __future__ import annotations

from dq.api.run import RunState, Stage
from dq.data import reader
from dq.pipeline.curation import apply_skips
from dq.pipeline.streaming import SPILL_FOLDER, load_streamed, should_stream


class LoadStage(Stage):
    """Read JSONL/Parquet/CSV/hf: input into the four dq columns; no input means the demo corpus.

    An input file whose in-memory run would exceed the memory budget (``--memory``) streams into
    a row store on disk instead (:mod:`dq.pipeline.streaming`).
    """

    name = "dq.load"
    provides = ("rows", "input_info")

    def run(self, state: RunState) -> None:
        plan = state.plan
        if should_stream(state):  # over the memory budget: rows to disk, lean frames in memory
            if state.spill_dir is not None:  # beside the checkpoints: hashed, checked on resume
                load_streamed(state, state.spill_dir)
            else:  # in the temp output folder, gone with it
                load_streamed(state, state.require("work_dir") / SPILL_FOLDER, hashed=False)
            state.log(
                f"load: {state.input_info['rows']} rows from {state.input_info['path']} "
                "(streamed: over the memory budget)"
            )
            return
        skips = plan.skip_rules
        # Streamed Hub inputs drop skipped rows batch by batch (curate applies the same rules again).
        keep = (lambda batch: apply_skips(batch, skips)) if skips else None
        state.rows, state.input_info = reader.read_input(
            plan.input_spec, plan.columns, keep, plan.strict_columns
        )
        state.log(f"load: {state.rows.height} rows from {state.input_info['path']}")
