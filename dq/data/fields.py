"""dq's row fields and the column mapping from an input's columns onto them."""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from dq.api.schema import ROW_FIELDS
from dq.errors import DqError, did_you_mean

#: dq's row fields, in the study's raw-row order (``row_id`` is derived).
ROW_COLUMNS = ROW_FIELDS


def resolve_columns(
    available: list[str],
    mapping: dict[str, str],
    label: str,
    fields: Sequence[str] = ROW_COLUMNS,
    strict: frozenset[str] = frozenset(),
) -> dict[str, str]:
    """Map each dq field to an input column: the mapped name, else the field's own name.

    A mapping named in ``strict`` (given on the command line) must exist as written: falling
    back to the field's own column would silently read the wrong data.
    """
    resolved = {}
    for col in fields:
        wanted = mapping.get(col, col)
        if wanted in available:
            resolved[col] = wanted
        elif col in available and col not in strict:
            resolved[col] = col
        else:
            hint = did_you_mean(wanted, available)
            raise DqError(
                f"{label}: missing column '{wanted}' (for dq field '{col}'){hint}; "
                f"columns present: {', '.join(available) or 'none'}; "
                f"map one with --column {col}=NAME"
            )
    return resolved


def select_fields(frame: pl.DataFrame, columns: dict[str, str]) -> pl.DataFrame:
    return frame.select([pl.col(name).alias(col) for col, name in columns.items()])


def check_strings(frame: pl.DataFrame, label: str, offset: int = 0) -> pl.DataFrame:
    """Every field must hold strings and no nulls; the error names the row (0-based, file order)."""
    for col in frame.columns:
        dtype = frame.schema[col]
        if dtype != pl.String:
            raise DqError(f"{label}: column '{col}' must hold strings, found {dtype}")
        nulls = frame.get_column(col).is_null()
        if nulls.any():
            raise DqError(f"{label}: row {offset + int(nulls.arg_true()[0])}: field '{col}' is null")
    return frame
