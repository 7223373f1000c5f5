"""Full rows on disk, for runs whose rows do not fit in memory (see :mod:`dq.pipeline.streaming`).

A :class:`RowStore` holds the considered rows, every column, as Arrow IPC parts in input order
(``row_index`` ascending). The run state keeps lean frames (every column but the long texts); a
stage that needs the texts asks :meth:`RowStore.gather` for them in the lean frame's order, a
batch at a time. Rows wanted in input order stream straight from the parts, and so does a gather
of at most one batch in any order (fetched in input order, then reordered in memory). Any other
order (the splitter's shuffles) goes through an external bucket sort: each part's wanted rows are
appended to the bucket of their output position, then each bucket is read, sorted and handed
out. Orders announced with :meth:`RowStore.expect` (the run's train, val and rejected rows) are
sorted together in one pass over the parts, and a sort is kept for the next gather of the same
order (render, token count and write all read train in the same order), so each part is read
once for all of them.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final, Literal, TypeVar

import polars as pl

from dq.data.reader import file_sha256

T = TypeVar("T")

#: Rows per part written while loading, and per batch handed out.
PART_ROWS = 250_000
#: Parts and sort buckets are written uncompressed: measured on 250k OpenMath-shaped rows, LZ4
#: wrote in 0.68 s and read in 0.31 s (0.24 s for one text column), uncompressed in 0.19 / 0.12 /
#: 0.03 s, for 1.8x the disk (175 MB instead of 96 MB). The store is temporary; time is not.
COMPRESSION: Final[Literal["uncompressed"]] = "uncompressed"


@dataclass
class _Sorted:
    """Bucket files holding one gather order: bucket ``b`` holds output positions [b*size, (b+1)*size)."""

    order: pl.Series
    size: int
    columns: tuple[str, ...]
    buckets: list[list[Path]]


@dataclass
class RowStore:
    """Rows spilled to ``folder`` (created and removed by dq; nothing else is ever deleted)."""

    folder: Path
    parts: list[Path] = field(default_factory=list)
    height: int = 0
    columns: tuple[str, ...] = ()
    #: sha256 of each part, so that a resumed run can trust a store it did not write itself.
    digests: list[str] = field(default_factory=list)
    #: False for a store no checkpoint keeps (``--no-checkpoints``): nothing would read its digests.
    hashed: bool = True
    _sorted: list[_Sorted] = field(default_factory=list)
    _expected: list[pl.Series] = field(default_factory=list)

    def append(self, frame: pl.DataFrame) -> None:
        """Add rows (``row_index`` above every row already held)."""
        if not frame.height:
            return
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self.folder / f"part-{len(self.parts):06d}.arrow"
        frame.write_ipc(path, compression=COMPRESSION)
        if self.hashed:
            self.digests.append(file_sha256(path))  # read back from the page cache: no copy in memory
        self.parts.append(path)
        self.height += frame.height
        self.columns = tuple(frame.columns)

    def __getstate__(self) -> dict[str, object]:
        """What a checkpoint keeps: the parts, never the sorts (temp files of one process)."""
        return {**vars(self), "_sorted": [], "_expected": []}

    def verify(self) -> None:
        """Raise OSError unless every part is on disk as written; drop sorts of an earlier process."""
        if len(self.digests) != len(self.parts):
            raise OSError("the row store lists parts without their sha256")
        for path, digest in zip(self.parts, self.digests, strict=True):
            if file_sha256(path) != digest:
                raise OSError(f"{path.name} of the row store differs from when it was written")
        for folder in self.folder.glob("sorted-*"):
            shutil.rmtree(folder)

    def extend(self, frames: Iterable[pl.DataFrame]) -> None:
        """:meth:`append` every frame, each written on a second thread while the next one is
        made (reading the input and writing both release the GIL)."""
        with ThreadPoolExecutor(1, thread_name_prefix="dq-rowstore") as writer:
            pending: Future[None] | None = None
            for frame in frames:
                if pending is not None:
                    pending.result()  # one part in flight
                pending = writer.submit(self.append, frame)
            if pending is not None:
                pending.result()

    def batches(self, columns: Sequence[str] | None = None) -> Iterator[pl.DataFrame]:
        """Every held row (``columns`` of it, or all), in input order, one part at a time.

        The next part is read on a second thread while the caller works on this one (reading
        releases the GIL): one more part in memory, and the read time mostly hidden.
        """
        wanted = list(columns) if columns is not None else None
        yield from read_ahead(lambda path: pl.read_ipc(path, columns=wanted), self.parts)

    def expect(self, orders: Sequence[pl.Series]) -> None:
        """Orders the run will gather: the next bucket sort sorts them too, in the same pass.

        An order in input order is worth sorting only when it is a small share of the rows
        (the rejected rows): reading its buckets then beats reading every part again.
        """
        known = [s.order for s in self._sorted] + self._expected
        for order in orders:
            sorted_share = order.is_sorted() and order.len() * 2 > self.height
            if order.len() and not sorted_share and not any(k.equals(order) for k in known):
                self._expected.append(order)
                known.append(order)

    def gather(
        self, row_index: pl.Series, columns: list[str], batch_rows: int = PART_ROWS
    ) -> Iterator[pl.DataFrame]:
        """``columns`` of the rows ``row_index`` names, in that order, ``batch_rows`` at a time."""
        if not row_index.len():
            return
        done = self._find(row_index, columns, batch_rows)
        expected = any(o.equals(row_index) for o in self._expected)
        readable = row_index.is_sorted() or row_index.len() <= batch_rows  # straight from the parts
        if done is None and (expected or not readable):
            orders = [row_index, *(o for o in self._expected if not o.equals(row_index))]
            self._expected = []
            self._sorted += self._bucket_sort(orders, columns, batch_rows)
            done = self._sorted[-len(orders)]
        if done is not None:
            yield from _read_buckets(done, columns)
        elif row_index.is_sorted():
            yield from self._in_input_order(row_index, columns, batch_rows)
        else:  # one batch: fetched in input order, reordered here
            yield self._one_batch(row_index, columns)

    def _find(self, row_index: pl.Series, columns: list[str], batch_rows: int) -> _Sorted | None:
        return next(
            (
                s
                for s in self._sorted
                if s.size == batch_rows and set(columns) <= set(s.columns) and s.order.equals(row_index)
            ),
            None,
        )

    def _one_batch(self, row_index: pl.Series, columns: list[str]) -> pl.DataFrame:
        wanted = row_index.cast(pl.Int64).sort()
        fetched = list(self._in_input_order(wanted, self._with_row_index(columns), wanted.len()))
        found = pl.concat(fetched).with_columns(pl.col("row_index").cast(pl.Int64)) if fetched else None
        order = pl.DataFrame({"row_index": row_index.cast(pl.Int64)}).with_row_index("_out")
        if found is None:
            found = pl.DataFrame({"row_index": []}, schema={"row_index": pl.Int64})
        joined = order.join(found.select("row_index", *[c for c in columns if c != "row_index"]),
                            on="row_index", how="left")  # fmt: skip
        return joined.sort("_out").select(columns)

    def _in_input_order(
        self, row_index: pl.Series, columns: list[str], batch_rows: int
    ) -> Iterator[pl.DataFrame]:
        wanted = row_index.cast(pl.Int64).implode()
        pending: list[pl.DataFrame] = []
        held = 0
        for part in self.batches(self._with_row_index(columns)):
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

    @staticmethod
    def _with_row_index(columns: list[str]) -> list[str]:
        return columns if "row_index" in columns else ["row_index", *columns]

    def _bucket_sort(self, orders: list[pl.Series], columns: list[str], batch_rows: int) -> list[_Sorted]:
        """One pass over the parts: each wanted row goes to the bucket of its position in its order."""
        where = self.folder / f"sorted-{len(self._sorted)}"
        where.mkdir(parents=True)
        done = [
            _Sorted(order, batch_rows, tuple(columns), [[] for _ in range(-(-order.len() // batch_rows))])
            for order in orders
        ]
        positions = pl.concat(
            pl.DataFrame({"_key": order.cast(pl.Int64)})
            .with_row_index("_out")
            .with_columns(_order=pl.lit(number, pl.UInt32))
            for number, order in enumerate(orders)
        )
        with ThreadPoolExecutor(1, thread_name_prefix="dq-buckets") as writer:
            writing: list[Future[None]] = []
            for number, part in enumerate(self.batches(self._with_row_index(columns))):
                found = part.with_columns(_key=pl.col("row_index").cast(pl.Int64)).join(
                    positions, on="_key", how="inner"
                )
                keyed = found.with_columns(_bucket=pl.col("_out") // batch_rows).partition_by(
                    "_order", "_bucket", as_dict=True
                )
                for future in writing:  # the previous part's buckets: at most one part in flight
                    future.result()
                writing = []
                for (order, bucket), rows in sorted(keyed.items()):  # type: ignore[type-var]
                    path = where / f"{order}-{bucket:06d}-{number:06d}.arrow"
                    done[int(order)].buckets[int(bucket)].append(path)  # type: ignore[call-overload]
                    frame = rows.select("_out", *columns)
                    writing.append(writer.submit(frame.write_ipc, path, compression=COMPRESSION))
            for future in writing:
                future.result()
        return done

    def remove(self) -> None:
        """Delete the store's folder (dq created it; it holds only what the store wrote)."""
        shutil.rmtree(self.folder, ignore_errors=True)


def _read_buckets(done: _Sorted, columns: list[str]) -> Iterator[pl.DataFrame]:
    """Each non-empty bucket of ``done``, sorted, read ahead: measured at 14M rows, where the
    buckets no longer sit in the page cache, the render and write stages waited on these reads."""

    def read(files: list[Path]) -> pl.DataFrame:
        return pl.concat([pl.read_ipc(p) for p in files]).sort("_out").select(columns)

    yield from read_ahead(read, [files for files in done.buckets if files])


def read_ahead(read: Callable[[T], pl.DataFrame], sources: Sequence[T]) -> Iterator[pl.DataFrame]:
    """``read(source)`` for each source in order, the next one read on a second thread while the
    caller works on this one (Polars' readers release the GIL): one more frame in memory, and the
    read time mostly hidden."""
    with ThreadPoolExecutor(1, thread_name_prefix="dq-rowstore") as reader:
        ahead: Future[pl.DataFrame] | None = reader.submit(read, sources[0]) if sources else None
        for number in range(len(sources)):
            assert ahead is not None
            frame = ahead.result()
            following = number + 1 < len(sources)
            ahead = reader.submit(read, sources[number + 1]) if following else None
            yield frame


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
