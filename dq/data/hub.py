"""Hugging Face inputs: ``hf:NAME[:CONFIG]:SPLIT`` streamed in Arrow batches, errors in one line."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import polars as pl
import pyarrow as pa

from dq.data.fields import ROW_COLUMNS, check_strings, select_fields
from dq.errors import DqError


def quiet_hub_logs() -> None:
    """Hub retries log a line per attempt; dq reports the outcome in one line instead."""
    import logging

    for name in ("huggingface_hub", "datasets", "fsspec"):
        logging.getLogger(name).setLevel(logging.ERROR)


def parse_hf_spec(spec: str) -> tuple[str, str | None, str]:
    """``hf:NAME[:CONFIG]:SPLIT`` -> (name, config, split)."""
    parts = spec.removeprefix("hf:").split(":")
    if len(parts) == 2:
        return parts[0], None, parts[1]
    if len(parts) == 3:
        return parts[0], parts[1], parts[2]
    raise DqError(f"bad Hugging Face spec '{spec}': use hf:NAME:SPLIT or hf:NAME:CONFIG:SPLIT")


def iter_hf_batches(
    name: str,
    config: str | None,
    split: str,
    columns: list[str],
    batch_size: int = 50_000,
    **load_kwargs: Any,
) -> Iterator[pa.Table]:
    """Stream a Hugging Face dataset in Arrow batches, in stream order (no full download)."""
    try:
        import datasets
    except ImportError:
        raise DqError("reading hf: inputs needs the 'datasets' package: pip install 'dq[hf]'") from None
    quiet_hub_logs()
    try:
        stream = datasets.load_dataset(name, config, split=split, streaming=True, **load_kwargs)
        for batch in stream.iter(batch_size=batch_size):
            yield pa.table({c: pa.array(batch[c], pa.string()) for c in columns})
    except DqError:
        raise
    except KeyError as exc:
        raise DqError(f"hf:{name}: missing column {exc}; map one with --column") from None
    except Exception as exc:  # noqa: BLE001 - network/hub errors become one line
        raise DqError(f"hf:{name}:{split}: cannot load ({type(exc).__name__}: {exc})") from None


def read_hf(
    spec: str,
    mapping: dict[str, str],
    keep: Callable[[pl.DataFrame], pl.DataFrame] | None = None,
    **load_kwargs: Any,
) -> tuple[pl.DataFrame, int]:
    """Stream a Hub dataset batch by batch; ``keep`` filters each batch as it arrives.

    Returns the kept rows and the number streamed. ``row_index`` counts stream order before
    filtering, so a kept row keeps its stream position. With the strict source filter as
    ``keep``, OpenMathInstruct-2's rows of other sources never accumulate in memory.
    """
    name, config, split = parse_hf_spec(spec)
    wanted = [mapping.get(c, c) for c in ROW_COLUMNS]
    columns = dict(zip(ROW_COLUMNS, wanted, strict=True))
    frames, offset = [], 0
    for table in iter_hf_batches(name, config, split, list(dict.fromkeys(wanted)), **load_kwargs):
        batch = check_strings(select_fields(pl.from_arrow(table), columns), spec)  # type: ignore[arg-type]
        batch = batch.with_row_index("row_index", offset=offset)
        offset += batch.height
        frames.append(keep(batch) if keep else batch)
    if offset == 0:
        raise DqError(f"{spec}: empty input (no rows)")
    return pl.concat(frames), offset
