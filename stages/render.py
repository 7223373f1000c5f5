"""Render stage: chat-formatted training rows (system prompt, user problem, assistant solution)."""

from __future__ import annotations

from dq.api.run import RunState, Stage
from dq.data.jsonl import write_batches, write_json
from dq.data.rows import chat_line


class RenderStage(Stage):
    """Write rendered/{train,val}.jsonl in the raw files' row order, plus the render manifest."""

    name = "dq.render"
    needs = ("train", "val")

    def run(self, state: RunState) -> None:
        spec = state.rule_set.render
        work = state.require("work_dir")
        line = chat_line(spec.system_prompt)
        splits = {"train": state.require("train"), "val": state.require("val")}
        for split, frame in splits.items():
            state.outputs[f"rendered/{split}.jsonl"] = write_batches(
                state.full_rows(frame), line, work / f"rendered/{split}.jsonl"
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
