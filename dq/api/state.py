"""The run state stages read and extend, and what a run ends with: data only, no engine.

A stage gets the :class:`RunState`; it never sees the plugin manager or the registry: every
component it needs is already bound in ``state.plan`` (built once by :mod:`dq.pipeline.plan`).
"""

from __future__ import annotations

import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import polars as pl

    from dq.api.components import SplitResult
    from dq.api.plan import Plan
    from dq.api.schema import RuleSet


class StageInputMissing(Exception):
    """A stage asked for a table no earlier stage produced (the plan checks pipelines up front)."""


@dataclass
class GateVerdict:
    """One gate's outcome: ``pass``, ``fail`` or ``warn``, with the counts behind it."""

    name: str
    action: str
    status: str
    matches: int = 0
    dropped_rows: int = 0


@dataclass
class RunState:
    """Everything a run knows. Stages fill it in pipeline order; reporters read it at the end."""

    plan: Plan
    out_dir: Path
    quiet: bool = False
    overwrite: bool = False
    work_dir: Path | None = None
    input_info: dict[str, Any] = field(default_factory=dict)
    rows: pl.DataFrame | None = None
    considered: pl.DataFrame | None = None
    accepted: pl.DataFrame | None = None
    rejected: pl.DataFrame | None = None
    verdicts: pl.DataFrame | None = None
    split: SplitResult | None = None
    train: pl.DataFrame | None = None
    val: pl.DataFrame | None = None
    benchmarks: dict[str, pl.DataFrame] = field(default_factory=dict)
    benchmark_info: dict[str, dict[str, Any]] = field(default_factory=dict)
    matches: pl.DataFrame | None = None
    gates: list[GateVerdict] = field(default_factory=list)
    contamination_report: dict[str, Any] = field(default_factory=dict)
    outputs: dict[str, str] = field(default_factory=dict)
    manifest: dict[str, Any] = field(default_factory=dict)
    reject_reasons: dict[str, int] = field(default_factory=dict)
    dropped_rows: int = 0
    parent: dict[str, Any] | None = None
    timings: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def log(self, message: str) -> None:
        if not self.quiet:
            print(f"\r\x1b[K{message}", file=sys.stderr)  # clear the progress bar's line first

    def progress(self, done: int, total: int, label: str) -> None:
        """A one-line stage progress bar on a terminal; nothing when quiet or piped."""
        if self.quiet:
            return
        width = 24
        filled = width * done // max(total, 1)
        end = "\n" if done == total else ""
        print(
            f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total} {label:<10}",
            end=end,
            file=sys.stderr,
            flush=True,
        )

    @property
    def rule_set(self) -> RuleSet:
        return self.plan.rule_set

    def require(self, name: str) -> Any:
        value = getattr(self, name)
        if value is None:
            raise StageInputMissing(f"pipeline: stage needs '{name}', which no earlier stage produced")
        return value

    @property
    def status(self) -> str:
        return "fail" if any(g.status == "fail" for g in self.gates) else "pass"

    def source_counts(self, frame: pl.DataFrame) -> dict[str, int]:
        return dict(Counter(frame["source"].to_list()))


@dataclass
class RunResult:
    """What ``dq run`` ends with: status, exit code and the folder written."""

    status: str
    exit_code: int
    out_dir: Path
    outputs: dict[str, str]
