"""Rows with their texts, in any order: how stages read a streamed run's rows.

A run over the memory budget keeps *lean* row frames (no solution text) and its rows' texts in a
:class:`RowSource` (:class:`dq.pipeline.rowstore.RowStore`). :func:`full_rows` hands a frame's rows
back with every column, in the frame's order; for an in-memory run it slices the frame itself.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    import polars as pl

#: Rows per batch handed out by :func:`full_rows` (the same for every caller, so a streamed run
#: sorts each order once).
FULL_ROWS_BATCH = 200_000


class RowSource(Protocol):
    """Where a streamed run keeps its rows' texts."""

    columns: tuple[str, ...]

    def gather(self, row_index: pl.Series, columns: list[str], batch_rows: int) -> Iterator[pl.DataFrame]:
        """``columns`` of the rows ``row_index`` names, in that order, a batch at a time."""
        ...


def full_rows(
    store: RowSource | None, frame: pl.DataFrame, batch_rows: int | None = None
) -> Iterator[pl.DataFrame]:
    """``frame``'s rows (a row frame of a run state, or rows of one) with every column, in
    ``frame``'s order, ``batch_rows`` (default :data:`FULL_ROWS_BATCH`) at a time. Stages that
    write or read texts use this: in a streamed run the lean frames lack the long texts."""
    batch_rows = batch_rows or FULL_ROWS_BATCH
    missing = [c for c in store.columns if c not in frame.columns] if store is not None else []
    if store is None or not missing:
        for start in range(0, frame.height, batch_rows):
            yield frame.slice(start, batch_rows)
        return
    start = 0
    for texts in store.gather(frame["row_index"], missing, batch_rows):
        yield frame.slice(start, texts.height).hstack(texts)
        start += texts.height
