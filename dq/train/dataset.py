"""Training data from a dq run output folder: rendered rows, the gate check, manifest hashes.

``dq train OUT/`` reads ``OUT/rendered/{train,val}.jsonl`` (chat rows with ``messages``) and
``OUT/manifest.json``. A dataset whose manifest says a gate failed is refused unless the caller
allows it explicitly (and the run manifest records that it did).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dq.api.train import Datum
from dq.errors import DqError
from dq.train.datums import build_datums, render_rows
from dq.train.runfolder import sha256_file


@dataclass
class TrainData:
    """Datums and the provenance the manifest records."""

    train: list[Datum]
    val: list[Datum]
    train_row_ids: list[str | None]
    val_row_ids: list[str | None]
    info: dict[str, Any] = field(default_factory=dict)
    sample_render: str = ""


def read_rows(path: Path, limit: int | None = None) -> list[dict[str, Any]]:
    """JSONL rows in file order; ``limit`` takes a prefix slice (as the study's ``read_jsonl``)."""
    if not path.is_file():
        raise DqError(f"{path}: no such file (is this a dq run output folder with rendered/ rows?)")
    rows: list[dict[str, Any]] = []
    with path.open(encoding="utf-8") as fh:
        for number, line in enumerate(fh, 1):
            if limit is not None and len(rows) >= limit:
                break
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise DqError(f"{path}:{number}: not JSON ({exc.msg})") from None
            if not isinstance(row, dict) or not isinstance(row.get("messages"), list):
                raise DqError(f"{path}:{number}: field 'messages' missing (expected a rendered chat row)")
            rows.append(row)
    if not rows:
        raise DqError(f"{path}: no rows")
    return rows


def gate_status(manifest: dict[str, Any]) -> tuple[str, list[str]]:
    """``(status, failed gate names)`` of a dq run manifest."""
    failed = [str(g.get("name")) for g in manifest.get("gates") or [] if g.get("status") == "fail"]
    status = str(manifest.get("status", "unknown"))
    return ("fail" if failed else status), failed


def check_dataset(out_dir: Path, allow_failed_gate: bool) -> dict[str, Any]:
    """Read ``OUT/manifest.json``; refuse a failed gate unless allowed. Returns provenance facts."""
    manifest_path = out_dir / "manifest.json"
    if not manifest_path.is_file():
        raise DqError(f"{manifest_path}: not found; dq train reads the output folder of 'dq run'")
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise DqError(f"{manifest_path}: not JSON ({exc.msg})") from None
    status, failed = gate_status(manifest)
    if status == "fail" and not allow_failed_gate:
        names = ", ".join(failed) or "status fail"
        raise DqError(
            f"{manifest_path}: the dataset failed its gate ({names}); refusing to train "
            "(pass --allow-failed-gate to override; it is recorded)"
        )
    rendered_manifest = out_dir / "rendered" / "manifest.json"
    return {
        "raw_manifest_sha256": sha256_file(manifest_path),
        "rendered_manifest_sha256": sha256_file(rendered_manifest) if rendered_manifest.is_file() else None,
        "dataset_status": status,
        "failed_gates": failed,
        "allow_failed_gate": allow_failed_gate,
    }


def datums_of(renderer: Any, rows: list[dict[str, Any]], path: Path) -> list[Datum]:
    """Render rows and build their datums; a row with no answer tokens names its file and line."""
    rendered = render_rows(renderer, rows)
    try:
        return build_datums(rendered.full_ids, rendered.prompt_lens)
    except ValueError as exc:
        raise DqError(f"{path}: {exc}") from None


def load_train_data(
    out_dir: Path,
    renderer: Any,
    allow_failed_gate: bool = False,
    train_limit: int | None = None,
    val_limit: int | None = None,
) -> TrainData:
    """Everything a run needs from a dq output folder, rendered with ``renderer``."""
    info = check_dataset(out_dir, allow_failed_gate)
    train_path, val_path = out_dir / "rendered" / "train.jsonl", out_dir / "rendered" / "val.jsonl"
    train_rows, val_rows = read_rows(train_path, train_limit), read_rows(val_path, val_limit)
    info.update(train_path=str(train_path), val_path=str(val_path))
    return TrainData(
        train=datums_of(renderer, train_rows, train_path),
        val=datums_of(renderer, val_rows, val_path),
        train_row_ids=[r.get("row_id") for r in train_rows],
        val_row_ids=[r.get("row_id") for r in val_rows],
        info=info,
        sample_render=str(renderer.render_text(train_rows[0]["messages"])),
    )
