"""``raw/index.jsonl``: each curated row's input position, per split in the splitter's order.

Written by the write stage, read back by :mod:`dq.pipeline.reload` (``dq report``, ``dq review``).
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from dq.api.run import RunState
from dq.data.jsonl import Raw, object_line, write_lines
from dq.data.rows import RAW_FIELDS

SIDES = ("train", "val")


def write_row_index(state: RunState, path: Path) -> str:
    """Write ``raw/index.jsonl`` (see the module docstring) and return its sha256.

    Short lines for every row; the full row only for the few a gate dropped (built for those
    rows alone: building it for every row would escape every solution text again).
    """
    accepted, split = state.require("accepted"), state.require("split")
    frames = []
    for side in SIDES:
        final = state.require(side)["row_index"]
        frames.append(
            accepted.select("row_index")[getattr(split, side)].with_columns(
                split=pl.lit(side), dropped=~pl.col("row_index").is_in(final.implode())
            )
        )
    rows = pl.concat(frames).with_row_index("_pos")
    short: list[tuple[str, pl.Expr | Raw]] = [
        ("split", pl.col("split")),
        ("row_index", Raw(pl.col("row_index").cast(pl.String))),
    ]
    dropped = rows.filter(pl.col("dropped"))
    if not dropped.height:
        return write_lines(rows, object_line(short), path)  # lines built a batch at a time
    full = object_line([*short, ("dropped", Raw(pl.lit("true"))), *((f, pl.col(f)) for f in RAW_FIELDS)])
    lean = [f for f in RAW_FIELDS if f in accepted.columns]  # a streamed run's texts are on disk
    content = dropped.join(accepted.select("row_index", *lean), on="row_index", how="left")
    content = pl.concat(list(state.full_rows(content)))
    rows = rows.join(content.select("_pos", full=full), on="_pos", how="left", maintain_order="left")
    return write_lines(rows, pl.coalesce(pl.col("full"), object_line(short)), path)
