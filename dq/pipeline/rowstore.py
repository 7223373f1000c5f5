"""Full rows on disk, for runs whose rows do not fit in memory (see :mod:`dq.pipeline.streaming`).

A :class:`RowStore` holds the considered rows, every column, as LZ4 Arrow IPC parts in input order
(``row_index`` ascending). The run state keeps lean frames (every column but the long texts); a
stage that needs the texts asks :meth:`RowStore.gather` for them in the lean frame's order, a
batch at a time. Rows wanted in input order stream straight from the parts; any other order (the
splitter's shuffles) goes through an external bucket sort: each part's wanted rows are appended
to the bucket of their output position, then each bucket is read, sorted and handed out. A
gather's buckets are kept for the next gather of the same order (render, token count and write
all read train in the same order), so the sort runs once per order.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

#: Rows per part written while loading, and per batch handed out.
PART_ROWS = 250_000


@dataclass
class _Sorted:
    """Bucket files holding one gather order: bucket ``b`` holds output positions [b*size, (b+1)*size)."""

    order: pl.Series
    size: int
    buckets: list[list[Path]]


@dataclass
class RowStore:
    """Rows spilled to ``folder`` (created and removed by dq; nothing else is ever deleted)."""

    folder: Path
    parts: list[Path] = field(default_factory=list)
    height: int = 0
    columns: tuple[str, ...] = ()
    _sorted: list[_Sorted] = field(default_factory=list)

    def append(self, frame: pl.DataFrame) -> None:
        """Add rows (``row_index`` above every row already held)."""
        if not frame.height:
            return
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self.folder / f"part-{len(self.parts):06d}.arrow"
        frame.write_ipc(path, compression="lz4")
        self.parts.append(path)
        self.height += frame.height
        self.columns = tuple(frame.columns)

    def batches(self) -> Iterator[pl.DataFrame]:
        """Every held row, in input order, one part at a time."""
        for path in self.parts:
            yield pl.read_ipc(path)

    def gather(
        self, row_index: pl.Series, columns: list[str], batch_rows: int = PART_ROWS
    ) -> Iterator[pl.DataFrame]:
        """``columns`` of the rows ``row_index`` names, in that order, ``batch_rows`` at a time."""
        if not row_index.len():
            return
        if row_index.is_sorted():
            yield from self._in_input_order(row_index, columns, batch_rows)
            return
        done = next((s for s in self._sorted if s.size == batch_rows and s.order.equals(row_index)), None)
        if done is None:
            done = self._bucket_sort(row_index, batch_rows)
        for files in done.buckets:
            bucket = pl.concat([pl.read_ipc(p) for p in files]) if files else None
            if bucket is not None:
                yield bucket.sort("_out").select(columns)

    def _in_input_order(
        self, row_index: pl.Series, columns: list[str], batch_rows: int
    ) -> Iterator[pl.DataFrame]:
        wanted = row_index.cast(pl.Int64).implode()
        pending: list[pl.DataFrame] = []
        held = 0
        for part in self.batches():
            # Compacted: the filtered strings would otherwise keep the whole part's text buffers
            # alive while the batch fills (measured: 2 GB for the rejected rows of 4M).
            rows = compact_strings(
                part.filter(pl.col("row_index").cast(pl.Int64).is_in(wanted)).select(columns)
            )
            pending.append(rows)
            held += rows.height
            while held >= batch_rows:
                ready = pl.concat(pending)
                yield ready.head(batch_rows)
                pending, held = [ready.slice(batch_rows)], ready.height - batch_rows
        if held:
            yield pl.concat(pending)

    def _bucket_sort(self, row_index: pl.Series, batch_rows: int) -> _Sorted:
        """Scatter the wanted rows of each part to the bucket of their output position."""
        where = self.folder / f"sorted-{len(self._sorted)}"
        where.mkdir(parents=True)
        count = -(-row_index.len() // batch_rows)
        buckets: list[list[Path]] = [[] for _ in range(count)]
        positions = pl.DataFrame({"row_index": row_index.cast(pl.Int64)}).with_row_index("_out")
        for number, part in enumerate(self.batches()):
            found = part.with_columns(pl.col("row_index").cast(pl.Int64)).join(
                positions, on="row_index", how="inner"
            )
            found = found.with_columns(_bucket=pl.col("_out") // batch_rows)
            for (bucket,), rows in found.partition_by("_bucket", as_dict=True).items():
                path = where / f"{bucket:06d}-{number:06d}.arrow"
                rows.drop("_bucket").write_ipc(path, compression="lz4")
                buckets[int(bucket)].append(path)  # type: ignore[call-overload]
        done = _Sorted(row_index, batch_rows, buckets)
        self._sorted.append(done)
        return done

    def remove(self) -> None:
        """Delete the store's folder (dq created it; it holds only what the store wrote)."""
        shutil.rmtree(self.folder, ignore_errors=True)


def compact(strings: pl.Series) -> pl.Series:
    """``strings`` in buffers of their own (a slice or filter of views shares its parent's)."""
    import pyarrow as pa

    copied = pl.from_arrow(strings.to_arrow().cast(pa.large_string()))
    assert isinstance(copied, pl.Series)
    return copied.cast(pl.String).alias(strings.name)


def compact_strings(frame: pl.DataFrame) -> pl.DataFrame:
    """``frame`` with its string columns in buffers of their own.

    A column selected from a batch keeps the batch's whole string buffers alive (the source
    column of a lean frame cost ~47 bytes a row instead of 16); copied, short strings live
    inside their views and long ones in a buffer holding just them.
    """
    strings = [c for c, dtype in frame.schema.items() if dtype == pl.String]
    return frame.with_columns([compact(frame[c]) for c in strings]) if strings else frame
