"""Write stage: raw splits, the row index, rejected rows, verdicts, reports and the manifest."""

from __future__ import annotations

import polars as pl

from dq.api.run import RunState, Stage
from dq.data.jsonl import Raw, object_line, write_batches, write_json, write_lines
from dq.data.rows import raw_line, rejected_line
from dq.pipeline.manifest import build_manifest
from dq.pipeline.reload import ROW_INDEX, write_reports
from dq.pipeline.row_index import write_row_index


class WriteStage(Stage):
    """Write raw/{train,val}.jsonl, rejected.jsonl, verdicts.jsonl, reports/, raw/index.jsonl and manifest.json.

    raw/index.jsonl gives each curated row's input position (``row_index``), so that ``dq report``
    and ``dq review apply`` can rebuild the run from its folder (see :mod:`dq.pipeline.reload`).
    """

    name = "dq.write"
    needs = ("rows", "considered", "accepted", "rejected", "verdicts", "split", "train", "val")

    def run(self, state: RunState) -> None:
        work = state.require("work_dir")
        total = state.require("train").height + state.require("val").height
        progress, done = state.rows_progress("dq.write raw", total), 0
        for split in ("train", "val"):
            frame = state.require(split)
            path = work / f"raw/{split}.jsonl"
            state.outputs[f"raw/{split}.jsonl"] = write_batches(state.full_rows(frame), raw_line(), path)
            done += frame.height
            progress.update(done, force=True)
        progress.close(total)
        verdicts = state.require("verdicts")
        rules = verdicts.group_by("row_index", maintain_order=True).agg(rules=pl.col("rule").str.join(","))
        rejected = state.require("rejected").join(rules, on="row_index", how="left")
        state.outputs["rejected.jsonl"] = write_batches(
            state.full_rows(rejected), rejected_line(), work / "rejected.jsonl"
        )
        verdict_line = object_line(
            [
                ("row_index", Raw(pl.col("row_index").cast(pl.String))),
                ("rule", pl.col("rule")),
                ("detail", pl.col("detail").fill_null("")),
            ]
        )
        state.outputs["verdicts.jsonl"] = write_lines(verdicts, verdict_line, work / "verdicts.jsonl")
        write_reports(state, work)
        # Written after the reports, so the file lists of reports stay those of earlier dq versions.
        state.outputs[ROW_INDEX] = write_row_index(state, work / ROW_INDEX)
        state.manifest = build_manifest(state)
        write_json(state.manifest, work / "manifest.json")
        state.log(f"write: {len(state.outputs) + 1} files")
