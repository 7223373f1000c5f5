"""A run: the state every stage reads and extends, and the loop that executes the pipeline."""

from __future__ import annotations

import shutil
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pluggy
import polars as pl

from dq.components import SplitResult
from dq.config import RuleSet
from dq.errors import EXIT_GATE_FAILED, EXIT_OK, DqError
from dq.plugins import Registry


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

    rule_set: RuleSet
    registry: Registry
    pm: pluggy.PluginManager
    input_spec: str | None
    out_dir: Path
    benchmark_args: list[str] = field(default_factory=list)
    column_map: dict[str, str] = field(default_factory=dict)
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

    def require(self, name: str) -> Any:
        value = getattr(self, name)
        if value is None:
            raise DqError(f"pipeline: stage needs '{name}', which no earlier stage produced")
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


def execute(state: RunState) -> RunResult:
    """Run every stage of the rule set's pipeline; outputs land in ``out_dir`` only at the end."""
    if state.out_dir.exists() and not state.overwrite and any(state.out_dir.iterdir()):
        raise DqError(f"{state.out_dir}: output folder exists and is not empty; pass --overwrite")
    state.out_dir.parent.mkdir(parents=True, exist_ok=True)
    state.work_dir = Path(tempfile.mkdtemp(prefix=f".{state.out_dir.name}.tmp-", dir=state.out_dir.parent))
    try:
        stages = [state.registry.get("stages", name)() for name in state.rule_set.pipeline]
        state.pm.hook.dq_before_run(run=state)
        for done, stage in enumerate(stages):
            state.progress(done, len(stages), stage.name)
            start = time.perf_counter()
            stage.run(state)
            state.timings[stage.name] = round(time.perf_counter() - start, 3)
        state.progress(len(stages), len(stages), "done")
        _replace_dir(state.work_dir, state.out_dir)
    finally:
        if state.work_dir.exists():
            shutil.rmtree(state.work_dir, ignore_errors=True)
    code = EXIT_GATE_FAILED if state.status == "fail" else EXIT_OK
    result = RunResult(state.status, code, state.out_dir, state.outputs)
    try:
        state.pm.hook.dq_after_run(run=state, result=result)
    except Exception as exc:  # noqa: BLE001 - after_run must not break a finished run
        state.log(f"warning: a dq_after_run hook raised {type(exc).__name__}: {exc}")
    return result


def _replace_dir(new: Path, target: Path) -> None:
    """Move the finished work folder into place; an old output folder goes only after that."""
    old = None
    if target.exists():
        old = target.with_name(f".{target.name}.old-{new.name}")
        target.rename(old)
    new.rename(target)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
