"""Bounded memory for ``dq run``: rows stream through load and curate; texts wait on disk.

When an input would not fit the memory budget (``--memory``, default half the machine's memory),
the load stage streams it in batches into a :class:`~dq.pipeline.rowstore.RowStore` (the skip
rules applied on the way) and the curate stage runs the rules batch by batch (rules are row-local:
the Ray engine partitions them the same way). What stays in memory is *lean*: every column but
the solution text, the ``problem`` column's strings held once per distinct problem (Arrow string
views share them), ``canonical`` computed once per distinct problem; ``considered`` keeps only
``row_index`` and ``source`` (it is counted, never read) and ``rows`` only ``row_index``. The
global steps (split, gates, leakage) run on the lean frames; the stages that write texts
(render, tokens, write) read them back from the store with :meth:`RunState.full_rows`, in the
lean frame's order. The outputs are byte-identical to the in-memory path (tested).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import polars as pl

from dq.api.run import RunState
from dq.data import reader
from dq.data.fields import ROW_COLUMNS, resolve_columns
from dq.errors import DqError
from dq.pipeline.curation import Curate, CurateResult, apply_skips, curate_batches
from dq.pipeline.rowstore import PART_ROWS, RowStore, compact, compact_strings
from dq.text.vector import canonical_problem

#: The run's spill folder, inside its temp output folder (removed before the outputs land).
SPILL_FOLDER = ".dq-spill"
#: The columns lean frames leave in the store (the long texts nothing global reads).
TEXT_COLUMNS = ("generated_solution",)
#: In-memory runs peak at about this many times the input's text (measured: 2.8 GiB at 1M
#: OpenMath-shaped rows holding 640 MB of text), so a run streams when this times its text
#: exceeds the budget.
IN_MEMORY_FACTOR = 4.5


def default_budget() -> int:
    """Half the machine's physical memory."""
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // 2


def text_bytes(path: Path, columns: dict[str, str]) -> int:
    """The input's text size: Parquet's uncompressed column sizes, else the file's size."""
    if path.suffix.lower() != ".parquet":
        return path.stat().st_size
    import pyarrow.parquet as pq

    meta = pq.ParquetFile(path).metadata
    wanted = set(columns.values())
    return sum(
        meta.row_group(g).column(c).total_uncompressed_size
        for g in range(meta.num_row_groups)
        for c in range(meta.num_columns)
        if meta.row_group(g).column(c).path_in_schema in wanted
    )


def _input(state: RunState) -> tuple[Path, dict[str, str]]:
    """The input file and its column map (dq field -> file column)."""
    plan = state.plan
    path = reader.input_file(plan.input_spec or "")
    columns = resolve_columns(
        reader.file_columns(path), plan.columns, str(path), ROW_COLUMNS, plan.strict_columns
    )
    return path, columns


def should_stream(state: RunState) -> bool:
    """Stream when the input is a file whose in-memory run would exceed the memory budget."""
    spec = state.plan.input_spec
    if spec is None or spec.startswith("hf:"):
        return False
    path, columns = _input(state)
    return text_bytes(path, columns) * IN_MEMORY_FACTOR > (state.plan.memory or default_budget())


def load_streamed(state: RunState, store_folder: Path, hashed: bool = True) -> None:
    """Stream the input into a row store (skip rules applied); ``rows`` keeps only ``row_index``.

    ``hashed``: take each part's sha256 (a store kept with a checkpoint is checked before reuse).
    """
    plan = state.plan
    path, columns = _input(state)
    store = RowStore(store_folder, hashed=hashed)
    offset = 0  # rows read so far

    def parts() -> Iterator[pl.DataFrame]:
        nonlocal offset
        for batch in reader.iter_file_batches(path, columns, PART_ROWS):
            rows = batch.with_row_index("row_index", offset=offset)
            offset += batch.height
            yield apply_skips(rows, plan.skip_rules) if plan.skip_rules else rows

    try:
        store.extend(parts())
    except BaseException:  # a bad row, Ctrl-C: the store may sit beside checkpoints, not in a temp folder
        store.remove()
        raise
    if offset == 0:
        store.remove()
        raise DqError(f"{path}: empty input (no rows)")
    state.row_store = store
    state.rows = pl.DataFrame({"row_index": pl.int_range(offset, dtype=pl.UInt32, eager=True)})
    state.input_info = {
        "path": plan.input_spec,
        "rows": offset,
        "columns": plan.columns,
        "sha256": reader.file_sha256(path),
        "bytes": path.stat().st_size,
    }


class ProblemTable:
    """Each distinct problem once; rows refer to it by id, so lean frames share its strings."""

    def __init__(self) -> None:
        self.problems = pl.DataFrame(schema={"problem": pl.String, "_pid": pl.UInt32})

    def ids(self, problems: pl.Series) -> pl.Series:
        """The id of each problem, adding the new ones (first-seen order)."""
        found = problems.to_frame("problem").join(
            self.problems, on="problem", how="left", maintain_order="left"
        )
        new = found.filter(pl.col("_pid").is_null()).select("problem").unique(maintain_order=True)
        if new.height:
            # Copy the new strings out: as views they would keep the whole batch's problem
            # buffer alive (measured: ~3 GB retained over 14M rows).
            new = pl.DataFrame({"problem": compact(new["problem"])})
            start = self.problems.height
            self.problems = pl.concat(
                [
                    self.problems,
                    new.with_columns(_pid=pl.int_range(start, start + new.height, dtype=pl.UInt32)),
                ]
            )
            found = problems.to_frame("problem").join(
                self.problems, on="problem", how="left", maintain_order="left"
            )
        return found["_pid"]


def curate_streamed(state: RunState, curate: Curate | None = None, threads: int = 1) -> CurateResult:
    """The rules over the store a batch at a time (``threads`` at once): lean frames, with row
    ids, in input order.

    ``curate`` is :func:`~dq.pipeline.curation.apply_rules` (the default) or an engine's
    partitioned twin. Accepted rows get ``canonical`` here, computed once per distinct problem.
    """
    store, plan = state.require("row_store"), state.plan
    table = ProblemTable()
    parts: dict[str, list[pl.DataFrame]] = {"considered": [], "accepted": [], "rejected": []}
    verdicts = []
    for result in curate_batches(store.batches(), plan.rules, plan.skip_rules, curate, threads):
        # Considered rows are only counted (per source): they keep row_index and source.
        parts["considered"].append(compact_strings(result.considered.select("row_index", "source")))
        for name, frame in (("accepted", result.accepted), ("rejected", result.rejected)):
            lean = frame.drop(*[c for c in TEXT_COLUMNS if c in frame.columns])
            lean = lean.with_columns(problem=table.ids(lean["problem"]))
            parts[name].append(compact_strings(lean))
        verdicts.append(result.verdicts)
    # One chunk, so that every row's view points into the same buffers (gathering from many
    # chunks copied the strings: measured 215 bytes a row instead of 16).
    problems = table.problems["problem"].rechunk()
    frames = {name: pl.concat(found) for name, found in parts.items()}
    ids = frames["accepted"]["problem"]  # canonical per distinct problem, gathered per row
    accepted = _with_problems(frames["accepted"], problems).with_columns(
        canonical=canonical_problem(problems).gather(ids)
    )
    rejected = _with_problems(frames["rejected"], problems)
    return CurateResult(frames["considered"], accepted, rejected, pl.concat(verdicts))


def _with_problems(frame: pl.DataFrame, problems: pl.Series) -> pl.DataFrame:
    """Problem ids back to problem strings (views onto the distinct table's buffers)."""
    return frame.with_columns(problem=problems.gather(frame["problem"]))
