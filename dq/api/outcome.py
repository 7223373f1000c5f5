"""What gates and runs end with (re-exported by :mod:`dq.api.run`)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass
class GateVerdict:
    """One gate's outcome: ``pass``, ``fail`` or ``warn``, with the counts behind it."""

    name: str
    action: str
    status: str
    matches: int = 0
    dropped_rows: int = 0


@dataclass
class RunResult:
    """What ``dq run`` ends with: status, exit code and the folder written."""

    status: str
    exit_code: int
    out_dir: Path
    outputs: dict[str, str]
