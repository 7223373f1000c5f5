"""What ``dq publish`` works on: the options, the run folder as read, and the files it writes.

Kept apart from :mod:`dq.publish.folder` so the card can use these types without importing the
module that builds the folder.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class PublishOptions:
    """What the user asked for: the Hub repo, and whether a failed gate may be published."""

    repo: str
    allow_failed_gate: bool = False
    license: str | None = None


@dataclass(frozen=True)
class Entry:
    """One file of the published folder, as it would be uploaded."""

    path: str
    bytes: int
    sha256: str


@dataclass
class PublishedSplit:
    """One split of one config: its JSONL in the output folder, its rows and Parquet files."""

    config: str
    split: str
    jsonl: str
    rows: int = 0
    parquet: list[str] = field(default_factory=list)


@dataclass
class RunFolder:
    """What the card is made of: the run's manifest and reports, read once."""

    path: Path
    manifest: dict[str, Any]
    rendered: dict[str, Any] | None
    contamination: dict[str, Any] | None
    tokens: dict[str, Any] | None
    splits: list[PublishedSplit]


def failed_gates(manifest: dict[str, Any]) -> list[str]:
    """The gates the manifest records as failed, as ``name (N matches)``; the run status counts too."""
    failed = [
        f"{g.get('name')} ({g.get('matches', 0)} matches)"
        for g in manifest.get("gates") or []
        if isinstance(g, dict) and g.get("status") == "fail"
    ]
    if not failed and manifest.get("status") == "fail":
        failed.append("status fail")
    return failed
