"""Checkpointed frames keep their repeated strings shared: one dictionary per column name.

A streamed run's lean frames hold ``problem``, ``canonical`` and friends as Arrow string views
onto one table of distinct texts. Written to Arrow IPC as they are, every chunk of every frame
carries the whole table again, and reading them back gives each its own copy: measured on 14M
rows, a run resumed after its gate stage peaked at 18.9 GiB where the run itself stayed under 7.

So a checkpoint writes each repeated string column (fewer distinct values than half its rows) as
UInt32 codes into one dictionary per column name, shared by every frame of the checkpoint; and a
restore keeps one :class:`StringPool` per column name across the checkpoints it reads, so a later
checkpoint's dictionary that is a subset of an earlier one (train and val after accepted; the
matches' problems) decodes into the same buffers. Decoding is a gather from a one-chunk dictionary:
string views onto it, as the run itself had.
"""

from __future__ import annotations

from collections.abc import Iterable

import polars as pl

#: Frames shorter than this are written as they are (nothing worth sharing).
MIN_ROWS = 1_000
CODE = "_dq_code"


def repeated_columns(frames: Iterable[pl.DataFrame]) -> dict[str, pl.Series]:
    """One dictionary (distinct non-null values, first-seen order, one chunk) per repeated column."""
    found: dict[str, list[pl.Series]] = {}
    for frame in frames:
        if frame.height < MIN_ROWS:
            continue
        for name, dtype in frame.schema.items():
            if dtype == pl.String:
                found.setdefault(name, []).append(frame[name])
    out = {}
    for name, columns in found.items():
        values = pl.concat([c.drop_nulls() for c in columns])
        rows = sum(c.len() for c in columns)
        hashes = values.hash()
        # Distinct hashes never outnumber distinct values, so this rejects exactly (0.17 s for
        # 1.9M solutions where unique() takes 0.8-1.3 s): mostly distinct texts cost one hash pass.
        if hashes.n_unique() * 2 > rows:
            continue
        distinct = first_distinct(values, hashes)
        if distinct.len() * 2 <= rows:
            out[name] = distinct
    return out


def first_distinct(values: pl.Series, hashes: pl.Series | None = None) -> pl.Series:
    """The distinct values in first-seen order, found by their 64-bit hashes
    (``values.hash()``, passed in when the caller has them): 4x faster than
    ``unique(maintain_order=True)`` on long texts. A value lost to a hash collision (about 1 in
    4 million for 3M distinct texts) is caught by :func:`encode`, which then leaves that column as it is."""
    hashes = values.hash() if hashes is None else hashes
    return values.filter(hashes.is_first_distinct()).rechunk()


def encode(frame: pl.DataFrame, dictionaries: dict[str, pl.Series]) -> tuple[pl.DataFrame, list[str]]:
    """``frame`` with each column that has a dictionary replaced by its codes (null stays null)."""
    encoded = [n for n in frame.columns if n in dictionaries and frame.height >= MIN_ROWS]
    if not encoded:
        return frame, []
    columns = []
    for name in list(encoded):
        table = dictionaries[name].to_frame(name).with_row_index(CODE)
        codes = frame.select(name).join(table, on=name, how="left", maintain_order="left")[CODE]
        if codes.null_count() != frame[name].null_count():  # a value the dictionary lacks
            encoded.remove(name)
            continue
        columns.append(codes.alias(name))
    return frame.with_columns(columns), encoded


class StringPool:
    """The dictionaries a restore has decoded so far, one per column name (see the module docstring)."""

    def __init__(self) -> None:
        self.tables: dict[str, pl.Series] = {}
        # Per dictionary read (kept alive with it, so that its id stays its own): its mapping.
        self._mapped: dict[int, tuple[pl.Series, pl.Series]] = {}

    def adopt(self, name: str, dictionary: pl.Series) -> pl.Series:
        """Codes into ``dictionary`` -> codes into the pool's table for ``name`` (grown if needed)."""
        if id(dictionary) not in self._mapped:
            self._mapped[id(dictionary)] = (dictionary, self._adopt(name, dictionary))
        return self._mapped[id(dictionary)][1]

    def _adopt(self, name: str, dictionary: pl.Series) -> pl.Series:
        table = self.tables.get(name)
        if table is None:
            self.tables[name] = dictionary.rechunk()
            return pl.int_range(dictionary.len(), dtype=pl.UInt32, eager=True)
        known = table.to_frame("v").with_row_index("at")
        mapped = dictionary.to_frame("v").join(known, on="v", how="left", maintain_order="left")["at"]
        missing = mapped.is_null()
        if missing.any():  # not a subset: the table grows (frames decoded before keep the old one)
            table = pl.concat([table, dictionary.filter(missing)]).rechunk()
            self.tables[name] = table
            start = table.len() - int(missing.sum())
            fill = pl.int_range(start, table.len(), dtype=pl.UInt32, eager=True)
            mapped = mapped.scatter(missing.arg_true(), fill)
        return mapped

    def decode(self, frame: pl.DataFrame, dictionaries: dict[str, pl.Series]) -> pl.DataFrame:
        """Codes back to strings: views onto the pool's one-chunk tables."""
        columns = []
        for name, dictionary in dictionaries.items():
            mapping = self.adopt(name, dictionary)
            codes = mapping.gather(frame[name])
            columns.append(self.tables[name].gather(codes).alias(name))
        return frame.with_columns(columns) if columns else frame
