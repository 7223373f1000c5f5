"""Render stage: chat-formatted training rows (system prompt, user problem, assistant solution)."""

from __future__ import annotations

import polars as pl

from dq.components import Stage
from dq.jsonl import messages_array, object_line, write_json, write_lines
from dq.run import RunState

RAW_FIELDS = ("row_id", "source", "problem", "generated_solution", "expected_answer")


def raw_line() -> pl.Expr:
    """The study's raw row: row_id, source, problem, generated_solution, expected_answer."""
    return object_line([(name, pl.col(name)) for name in RAW_FIELDS])


def chat_line(system_prompt: str) -> pl.Expr:
    """The study's rendered row: row_id, source, expected_answer, messages."""
    return object_line(
        [
            ("row_id", pl.col("row_id")),
            ("source", pl.col("source")),
            ("expected_answer", pl.col("expected_answer")),
            (
                "messages",
                messages_array(system_prompt, pl.col("problem"), pl.col("generated_solution")),
            ),
        ]
    )


class RenderStage(Stage):
    """Write rendered/{train,val}.jsonl in the raw files' row order, plus the render manifest."""

    name = "render"

    def run(self, state: RunState) -> None:
        spec = state.rule_set.render
        work = state.require("work_dir")
        line = chat_line(spec.system_prompt)
        splits = {"train": state.require("train"), "val": state.require("val")}
        for split, frame in splits.items():
            state.outputs[f"rendered/{split}.jsonl"] = write_lines(
                frame, line, work / f"rendered/{split}.jsonl"
            )
        manifest = {
            "model_name": spec.model_name,
            "renderer_name": spec.renderer_name,
            "system_prompt": spec.system_prompt,
            "answer_style": "boxed",
            "splits": {split: {"rows": frame.height} for split, frame in splits.items()},
            "artifacts": {f"{s}_jsonl": f"rendered/{s}.jsonl" for s in splits},
        }
        state.outputs["rendered/manifest.json"] = write_json(manifest, work / "rendered/manifest.json")
        state.log(f"render: chat rows for {sum(f.height for f in splits.values())} rows")
