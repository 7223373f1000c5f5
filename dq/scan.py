"""Streaming contamination scan: a rule set's contamination checks over a file of any size.

Only the problem column is read, in row batches (Parquet row groups or JSONL blocks), so memory
follows the batch size, not the file: OpenMathInstruct-2's 14M rows scan on a laptop. No gate,
split or render: the answer to "is any benchmark item, or something close to it, in this file?"
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import polars as pl
import pyarrow as pa

from dq.components import validate_options
from dq.config import RuleSet
from dq.errors import DqError
from dq.plugins import Registry


def problem_batches(path: Path, column: str, batch_rows: int) -> Iterator[pl.Series]:
    """The ``column`` of a Parquet or JSONL file, ``batch_rows`` rows at a time."""
    if not path.is_file():
        raise DqError(f"{path}: no such input file")
    try:
        if path.suffix.lower() == ".parquet":
            import pyarrow.parquet as pq

            reader = pq.ParquetFile(path)
            if column not in reader.schema_arrow.names:
                raise DqError(f"{path}: missing column '{column}'; map one with --column problem=NAME")
            for batch in reader.iter_batches(batch_size=batch_rows, columns=[column]):
                yield pl.Series(column, batch.column(0)).cast(pl.String)
        else:
            import pyarrow.json as paj

            schema = pa.schema([(column, pa.string())])
            options = paj.ParseOptions(explicit_schema=schema, unexpected_field_behavior="ignore")
            reader = paj.open_json(
                path, parse_options=options, read_options=paj.ReadOptions(block_size=64 << 20)
            )
            for batch in reader:
                yield pl.Series(column, batch.column(0)).cast(pl.String)
    except (pa.ArrowInvalid, OSError) as exc:
        raise DqError(f"{path}: cannot read: {str(exc).splitlines()[0]}") from None


def scan(
    rule_set: RuleSet,
    registry: Registry,
    path: Path,
    benchmarks: dict[str, pl.DataFrame],
    out: Path,
    column: str = "problem",
    batch_rows: int = 500_000,
    only: list[str] | None = None,
) -> dict[str, Any]:
    """Run the checks batch by batch; append every match to ``out`` (JSONL); return a summary."""
    checks = []
    for i, entry in enumerate(rule_set.contamination):
        if only and entry.check not in only:
            continue
        cls = registry.get("contamination_checks", entry.check)
        checks.append((entry, cls(validate_options(cls, entry.options, f"contamination[{i}]"))))
    summary: dict[str, Any] = {"input": str(path), "rows": 0, "checks": {}}
    offset = 0
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp")
    with tmp.open("w", encoding="utf-8") as fh:
        for texts in problem_batches(path, column, batch_rows):
            rows = pl.DataFrame({"problem": texts.fill_null("")}).with_row_index("pos")
            for entry, check in checks:
                found = check.find(rows, benchmarks)
                stats = summary["checks"].setdefault(
                    entry.check, {"action": entry.action, "matches": 0, "rows": 0}
                )
                stats["matches"] += found.height
                stats["rows"] += found["pos"].n_unique() if found.height else 0
                for r in found.with_columns(pl.col("pos") + offset).iter_rows(named=True):
                    r = {k: v for k, v in r.items() if v is not None}
                    r["row_index"] = r.pop("pos")
                    r["check"] = entry.check
                    if "evidence" in r:
                        r["evidence"] = json.loads(r["evidence"])
                    fh.write(json.dumps(r, ensure_ascii=False) + "\n")
            offset += texts.len()
    tmp.rename(out)
    summary["rows"] = offset
    summary["status"] = (
        "fail" if any(s["matches"] and s["action"] == "fail" for s in summary["checks"].values()) else "pass"
    )
    return summary
