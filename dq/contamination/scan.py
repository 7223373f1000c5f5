"""Streaming contamination scan: a rule set's contamination checks over a file of any size.

Only the problem column is read, in row batches (Parquet row groups or JSONL blocks), so memory
follows the batch size, not the file: OpenMathInstruct-2's 14M rows scan on a laptop. No gate,
split or render: the answer to "is any benchmark item, or something close to it, in this file?"
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import polars as pl

from dq.api.progress import RowProgress
from dq.api.run import Plan
from dq.data.fields import resolve_columns
from dq.data.outdir import staged
from dq.data.reader import file_columns, input_file, iter_file_batches
from dq.engine import current
from dq.errors import DqError


def problem_batches(path: Path, column: str, batch_rows: int, strict: bool = False) -> Iterator[pl.Series]:
    """The problem ``column`` of a file, ``batch_rows`` rows at a time (the one batch reader).

    A missing, misnamed or non-text column is an error: a scan of nothing must not pass.
    """
    path = input_file(path)
    columns = resolve_columns(
        file_columns(path),
        {"problem": column},
        str(path),
        ("problem",),
        frozenset({"problem"} if strict else ()),
    )
    for frame in iter_file_batches(path, columns, batch_rows):
        yield frame.get_column("problem")


def scan(
    plan: Plan,
    path: Path,
    benchmarks: dict[str, pl.DataFrame],
    out_dir: Path,
    column: str = "problem",
    batch_rows: int = 500_000,
    only: list[str] | None = None,
    overwrite: bool = False,
) -> dict[str, Any]:
    """Run the checks batch by batch into OUT/matches.jsonl and OUT/summary.json; return the summary.

    A ``--check`` that names no check of the rule set, or a rule set with no check, is an error:
    a scan that ran nothing must not pass.
    """
    unknown = [name for name in only or [] if name not in {b.name for b in plan.checks}]
    if unknown:
        names = ", ".join(b.name for b in plan.checks) or "none"
        raise DqError(f"--check {unknown[0]}: the rule set has no such check; its checks: {names}")
    checks = [bound for bound in plan.checks if not only or bound.name in only]
    if not checks:
        raise DqError(f"{plan.rule_set.source_path}: no contamination check to run")
    summary: dict[str, Any] = {"input": str(path), "rows": 0, "column": column, "checks": {}}
    for bound in checks:
        summary["checks"][bound.name] = {"action": bound.action, "matches": 0, "rows": 0, "failing": 0}
    offset = 0
    with (
        staged(out_dir, overwrite, "scan", reads=[path, *plan.files_read]) as work,
        (work / "matches.jsonl").open("w", encoding="utf-8") as fh,
    ):
        progress = RowProgress(f"scan {path.name}", _row_count(path))
        for texts in problem_batches(path, column, batch_rows, strict="problem" in plan.strict_columns):
            rows = pl.DataFrame({"problem": texts}).with_row_index("pos")
            for bound in checks:
                selected = {n: benchmarks[n] for n in bound.benchmarks}
                engine = current()
                found = (
                    engine.find(bound.check, rows, selected) if engine else bound.check.find(rows, selected)
                )
                kinds = found["kind"] if "kind" in found.columns else None
                found = found.with_columns(bound.action_of(kinds, found.height))
                _record(found, offset, bound.name, summary["checks"][bound.name], fh)
            offset += texts.len()
            progress.update(offset)
        progress.close(offset)
        if offset == 0:
            raise DqError(f"{path}: empty input (no rows)")
        summary["rows"] = offset
        failed = any(s["failing"] for s in summary["checks"].values())
        summary["status"] = "fail" if failed else "pass"
        (work / "summary.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    return summary


def _row_count(path: Path) -> int | None:
    """Rows in a Parquet file from its footer (for the ETA); None for line formats."""
    if path.suffix.lower() != ".parquet":
        return None
    import pyarrow.parquet as pq

    return int(pq.ParquetFile(path).metadata.num_rows)


def _record(found: pl.DataFrame, offset: int, check: str, stats: dict[str, Any], fh: IO[str]) -> None:
    stats["matches"] += found.height
    stats["failing"] += int((found["action"] == "fail").sum()) if found.height else 0
    stats["rows"] += found["pos"].n_unique() if found.height else 0
    for r in found.with_columns(pl.col("pos") + offset).iter_rows(named=True):
        r = {k: v for k, v in r.items() if v is not None}
        r["row_index"] = r.pop("pos")
        r["check"] = check
        if "evidence" in r:
            r["evidence"] = json.loads(r["evidence"])
        fh.write(json.dumps(r, ensure_ascii=False) + "\n")
