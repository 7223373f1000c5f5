"""A training run's folder in the study's schema (SEED_CONTRACTS §6.8).

``manifest.json`` and ``summary.json`` are ``json.dumps(indent=2, sort_keys=True) + "\\n"``, written
atomically; ``metrics.jsonl`` is an append-only log of sorted-key rows, flushed per row so a killed
run keeps every finished step (and ``--resume`` can continue from it); ``failure.json`` records an
exception.
"""

from __future__ import annotations

import json
import os
import tempfile
import traceback
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from dq.data.reader import file_sha256
from dq.errors import DqError

MANIFEST = "manifest.json"
METRICS = "metrics.jsonl"
SUMMARY = "summary.json"
SAMPLE_RENDER = "sample_render.txt"
FAILURE = "failure.json"


def now() -> str:
    """UTC timestamp in the study's format (``2026-05-07T22:45:22.536513+00:00``)."""
    return datetime.now(UTC).isoformat()


#: Hex SHA-256 of a file's bytes: the one implementation, in the reader.
sha256_file = file_sha256


def write_atomic(path: Path, text: str) -> None:
    """Write ``text`` to a temp file beside ``path`` and rename it over ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            fh.write(text)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600; run records are as readable as other outputs
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def dump_json(data: Any) -> str:
    """The study's JSON file format."""
    return json.dumps(data, indent=2, sort_keys=True) + "\n"


def metrics_line(row: dict[str, Any]) -> str:
    """One metrics.jsonl line: sorted keys, ASCII-escaped, default separators (as the seed head)."""
    return json.dumps(row, sort_keys=True) + "\n"


class RunFolder:
    """Writers for one run directory."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def prepare(self, overwrite: bool, resume: bool = False) -> None:
        """Create the folder; an existing run is refused unless ``overwrite`` (cleared) or ``resume``."""
        if self.path.exists() and any(self.path.iterdir()) and not resume:
            if not overwrite:
                raise DqError(f"{self.path}: a run already exists here; pass --overwrite to replace it")
            for name in (MANIFEST, METRICS, SUMMARY, SAMPLE_RENDER, FAILURE):
                (self.path / name).unlink(missing_ok=True)
        self.path.mkdir(parents=True, exist_ok=True)

    def write_manifest(self, manifest: dict[str, Any]) -> None:
        """(Re)write manifest.json."""
        write_atomic(self.path / MANIFEST, dump_json(manifest))

    def read_manifest(self) -> dict[str, Any]:
        """The manifest as written so far."""
        return dict(json.loads((self.path / MANIFEST).read_text(encoding="utf-8")))

    def set_status(self, status: str, **extra: Any) -> None:
        """Update the manifest's ``status`` (and e.g. ``finished_at``)."""
        manifest = self.read_manifest()
        manifest.update(status=status, **extra)
        self.write_manifest(manifest)

    def append_metrics(self, rows: list[dict[str, Any]]) -> None:
        """Append rows to metrics.jsonl and flush them to disk."""
        with (self.path / METRICS).open("a", encoding="utf-8") as fh:
            fh.writelines(metrics_line(r) for r in rows)
            fh.flush()
            os.fsync(fh.fileno())

    def read_metrics(self) -> list[dict[str, Any]]:
        """Every metrics row written so far (the run's own record of checkpoints)."""
        path = self.path / METRICS
        if not path.exists():
            return []
        return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]

    def truncate_metrics(self, last_step: int) -> None:
        """Drop rows after ``last_step`` (a resumed run replays the steps after its checkpoint)."""
        kept = [r for r in self.read_metrics() if int(r["step"]) <= last_step]
        write_atomic(self.path / METRICS, "".join(metrics_line(r) for r in kept))

    def write_summary(self, summary: dict[str, Any]) -> None:
        """Write summary.json."""
        write_atomic(self.path / SUMMARY, dump_json(summary))

    def write_sample_render(self, text: str) -> None:
        """``sample_render.txt`` = the first train row's text render plus a newline."""
        write_atomic(self.path / SAMPLE_RENDER, text + "\n")

    def write_failure(self, run_id: str, exc: BaseException) -> None:
        """Write failure.json and set the manifest status to ``fail`` (when a manifest exists)."""
        failure = {
            "run_id": run_id,
            "status": "fail",
            "failed_at": now(),
            "error_type": type(exc).__name__,
            "error": str(exc),
            "traceback": "".join(traceback.format_exception(exc)),
        }
        write_atomic(self.path / FAILURE, dump_json(failure))
        if (self.path / MANIFEST).exists():
            self.set_status("fail", finished_at=failure["failed_at"])

    def artifact_paths(self) -> dict[str, str]:
        """The summary's ``artifact_paths``."""
        names = {"manifest": MANIFEST, "metrics": METRICS, "summary": SUMMARY, "sample_render": SAMPLE_RENDER}
        return {key: str(self.path / name) for key, name in names.items()}
