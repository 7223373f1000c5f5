"""Reading datasets (JSONL, Parquet, CSV, Hugging Face) into a validated Polars table.

The fast readers (pyarrow's JSON reader, Polars) do the work; when they reject a file, a plain
line-by-line scan finds the first offending line so the error names file, line and field.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import polars as pl
import pyarrow as pa
import pyarrow.json as paj

from dq.errors import DqError, did_you_mean

#: dq's row columns, in the study's raw-row order (``row_id`` is derived).
ROW_COLUMNS = ("source", "problem", "generated_solution", "expected_answer")


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def resolve_columns(available: list[str], mapping: dict[str, str], label: str) -> dict[str, str]:
    """Map each dq column to an input column: the mapped name, else the dq name itself."""
    resolved = {}
    for col in ROW_COLUMNS:
        wanted = mapping.get(col, col)
        if wanted in available:
            resolved[col] = wanted
        elif col in available:
            resolved[col] = col
        else:
            hint = did_you_mean(wanted, available)
            raise DqError(
                f"{label}: missing column '{wanted}' (for dq field '{col}'){hint}; "
                f"columns present: {', '.join(available) or 'none'}; "
                f"map one with --column {col}=NAME"
            )
    return resolved


def iter_jsonl(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line number, object) for each non-blank line; a bad line is a DqError naming it."""
    with path.open("rb") as fh:
        for lineno, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except ValueError as exc:
                raise DqError(f"{path}:{lineno}: malformed JSON: {exc}") from None
            if not isinstance(obj, dict):
                raise DqError(f"{path}:{lineno}: expected a JSON object, got {type(obj).__name__}")
            yield lineno, obj


def _first_keys(path: Path) -> list[str]:
    for _, obj in iter_jsonl(path):
        return list(obj)
    raise DqError(f"{path}: empty input (no rows)")


def _locate_jsonl_problem(path: Path, columns: dict[str, str]) -> str | None:
    """The first line that is not valid JSON, not an object, or has a non-string field."""
    try:
        for lineno, obj in iter_jsonl(path):
            for dq_col, name in columns.items():
                value = obj.get(name)
                if not isinstance(value, str):
                    got = "missing" if name not in obj else f"{type(value).__name__} {value!r:.40}"
                    return f"{path}:{lineno}: field '{name}' ({dq_col}) must be a string, got {got}"
    except DqError as exc:
        return exc.message
    return None


def read_jsonl(path: Path, mapping: dict[str, str]) -> pl.DataFrame:
    columns = resolve_columns(_first_keys(path), mapping, str(path))
    schema = pa.schema([(name, pa.string()) for name in dict.fromkeys(columns.values())])
    options = paj.ParseOptions(explicit_schema=schema, unexpected_field_behavior="ignore")
    try:
        table = paj.read_json(path, parse_options=options)
    except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
        raise DqError(_locate_jsonl_problem(path, columns) or f"{path}: {exc}") from None
    frame = _select(pl.from_arrow(table), columns)  # type: ignore[arg-type]
    if frame.null_count().sum_horizontal().item():
        raise DqError(_locate_jsonl_problem(path, columns) or f"{path}: null values")
    return frame


def _select(frame: pl.DataFrame, columns: dict[str, str]) -> pl.DataFrame:
    return frame.select([pl.col(name).alias(col) for col, name in columns.items()])


def _check_table(frame: pl.DataFrame, label: str) -> pl.DataFrame:
    for col in frame.columns:
        dtype = frame.schema[col]
        if dtype != pl.String:
            raise DqError(f"{label}: column '{col}' must hold strings, found {dtype}")
        nulls = frame.get_column(col).is_null()
        if nulls.any():
            raise DqError(f"{label}: row {int(nulls.arg_true()[0])}: field '{col}' is null")
    return frame


def read_table_file(path: Path, mapping: dict[str, str]) -> pl.DataFrame:
    suffix = path.suffix.lower()
    try:
        if suffix == ".parquet":
            available = list(pl.read_parquet_schema(path))
            columns = resolve_columns(available, mapping, str(path))
            frame = pl.read_parquet(path, columns=list(dict.fromkeys(columns.values())))
        elif suffix == ".csv":
            available = pl.read_csv(path, n_rows=0).columns
            columns = resolve_columns(available, mapping, str(path))
            frame = pl.read_csv(path, infer_schema=False, columns=list(dict.fromkeys(columns.values())))
        else:
            raise DqError(f"{path}: unknown input format '{suffix}' (use .jsonl, .parquet or .csv)")
    except (pl.exceptions.PolarsError, OSError) as exc:
        raise DqError(f"{path}: cannot read: {str(exc).splitlines()[0]}") from None
    return _check_table(_select(frame, columns), str(path))


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
        batch = _check_table(_select(pl.from_arrow(table), columns), spec)  # type: ignore[arg-type]
        batch = batch.with_row_index("row_index", offset=offset)
        offset += batch.height
        frames.append(keep(batch) if keep else batch)
    if offset == 0:
        raise DqError(f"{spec}: empty input (no rows)")
    return pl.concat(frames), offset


def read_rows(
    spec: str, mapping: dict[str, str], keep: Callable[[pl.DataFrame], pl.DataFrame] | None = None
) -> tuple[pl.DataFrame, int]:
    """The four dq columns plus ``row_index`` (input order), and the input's row count.

    ``keep`` filters streamed (Hub) inputs batch by batch; files are read whole.
    """
    if spec.startswith("hf:"):
        return read_hf(spec, mapping, keep)
    path = Path(spec)
    if not path.is_file():
        raise DqError(f"{path}: no such input file")
    if path.suffix.lower() in (".jsonl", ".json", ".ndjson"):
        frame = read_jsonl(path, mapping)
    else:
        frame = read_table_file(path, mapping)
    if frame.height == 0:
        raise DqError(f"{spec}: empty input (no rows)")
    return frame.with_row_index("row_index"), frame.height


def read_input(
    spec: str | None, mapping: dict[str, str], keep: Callable[[pl.DataFrame], pl.DataFrame] | None = None
) -> tuple[pl.DataFrame, dict[str, Any]]:
    """Rows (with ``row_index``) and a description for the manifest; no spec means the demo."""
    if spec is None:
        from dq.demo import demo_rows

        rows = demo_rows().with_row_index("row_index")
        return rows, {"path": "demo:", "kind": "demo", "rows": rows.height}
    rows, count = read_rows(spec, mapping, keep)
    info: dict[str, Any] = {"path": spec, "rows": count, "columns": mapping}
    if not spec.startswith("hf:"):
        info["sha256"] = file_sha256(Path(spec))
        info["bytes"] = Path(spec).stat().st_size
    return rows, info
