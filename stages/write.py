"""Write stage: raw splits, rejected rows, verdicts, reports and the manifest."""

from __future__ import annotations

import polars as pl

from dq.api.run import RunState, Stage
from dq.data.jsonl import Raw, object_line, write_json, write_lines
from dq.data.rows import raw_line, rejected_line
from dq.pipeline.manifest import build_manifest


class WriteStage(Stage):
    """Write raw/{train,val}.jsonl, rejected.jsonl, verdicts.jsonl, reports/ and manifest.json."""

    name = "dq.write"
    needs = ("rows", "considered", "accepted", "rejected", "verdicts", "split", "train", "val")

    def run(self, state: RunState) -> None:
        work = state.require("work_dir")
        for split in ("train", "val"):
            frame = state.require(split)
            state.outputs[f"raw/{split}.jsonl"] = write_lines(frame, raw_line(), work / f"raw/{split}.jsonl")
        verdicts = state.require("verdicts")
        rules = verdicts.group_by("row_index", maintain_order=True).agg(rules=pl.col("rule").str.join(","))
        rejected = state.require("rejected").join(rules, on="row_index", how="left")
        state.outputs["rejected.jsonl"] = write_lines(rejected, rejected_line(), work / "rejected.jsonl")
        verdict_line = object_line(
            [
                ("row_index", Raw(pl.col("row_index").cast(pl.String))),
                ("rule", pl.col("rule")),
                ("detail", pl.col("detail").fill_null("")),
            ]
        )
        state.outputs["verdicts.jsonl"] = write_lines(verdicts, verdict_line, work / "verdicts.jsonl")
        for reporter in state.plan.reporters:
            path = work / "reports" / reporter.filename
            path.parent.mkdir(parents=True, exist_ok=True)
            data = reporter.write(state)
            path.write_bytes(data)
            state.outputs[f"reports/{reporter.filename}"] = _sha(data)
        state.manifest = build_manifest(state)
        write_json(state.manifest, work / "manifest.json")
        state.log(f"write: {len(state.outputs) + 1} files")


def _sha(data: bytes) -> str:
    import hashlib

    return hashlib.sha256(data).hexdigest()
