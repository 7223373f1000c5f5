"""What a run is made of: the component base classes, the plan that binds them, and the state they fill.

These types refer to each other (a stage runs on a state that holds the plan that holds the
stage), so they live in one module: the contract has no import cycles, type-only ones included.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import BaseModel, ConfigDict

from dq.api.documented import Documented
from dq.api.outcome import GateVerdict as GateVerdict  # re-exported: plugins import both from here
from dq.api.outcome import RunResult as RunResult
from dq.api.progress import RowProgress
from dq.api.split import SplitResult as SplitResult  # re-exported: splitters import it from here

if TYPE_CHECKING:
    import polars as pl

    from dq.api.rows import RowSource
    from dq.api.rule import RowRule
    from dq.api.schema import BenchmarkSpec, RuleSet


class Options(BaseModel):
    """Base for component options from the rule set: unknown keys are errors."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def value_counts(values: pl.Series) -> dict[Any, int]:
    """How often each value occurs, in first-seen order (what ``Counter(values)`` gives)."""
    counts = values.alias("value").to_frame().group_by("value", maintain_order=True).len()
    return dict(zip(counts["value"].to_list(), counts["len"].to_list(), strict=True))


class SplitterOptions(Options):
    """Options every splitter understands."""

    seed: int = 20260420
    val_ratio: float = 0.1


class CheckOptions(Options):
    """A contamination check without options."""


class Stage(Documented):
    """One step of ``dq run`` (load, curate, split, gate, render, write). ``run`` mutates the state.

    ``needs`` and ``provides`` name :class:`~dq.api.state.RunState` fields; the plan checks that
    every stage's needs are provided by an earlier stage before any data is read.
    """

    name: ClassVar[str] = ""
    needs: ClassVar[tuple[str, ...]] = ()
    provides: ClassVar[tuple[str, ...]] = ()
    #: Files (relative to the output folder) the stage writes itself: ``dq report`` and
    #: ``dq render`` carry over or rewrite exactly these.
    writes: ClassVar[tuple[str, ...]] = ()

    def run(self, state: RunState) -> None:
        raise NotImplementedError


class Splitter(Documented):
    """Assigns each accepted row to ``train`` or ``val``.

    ``split`` returns the row order of each side as positions into ``rows`` (already shuffled as
    the splitter wants them written), plus the number of groups per side.
    """

    name: ClassVar[str] = ""
    description: ClassVar[str] = ""

    #: The model validating this splitter's ``[split]`` options (subclasses set their own).
    Options: ClassVar[type[Any]] = SplitterOptions

    def __init__(self, options: Any) -> None:
        self.options = options

    def split(self, rows: pl.DataFrame, state: RunState) -> SplitResult:
        raise NotImplementedError


class ContaminationCheck(Documented):
    """Compares curated rows with benchmark items; returns one match row per (row, item) pair.

    ``find`` returns a DataFrame with at least ``row`` (position in the curated table),
    ``benchmark``, ``benchmark_index`` and ``score`` columns.
    """

    name: ClassVar[str] = ""

    #: The model validating this check's ``[[contamination]]`` options.
    Options: ClassVar[type[Any]] = CheckOptions

    #: Set by the engine while ``find`` runs: ``progress(done, total)`` in rows. Checks that work
    #: in batches call :meth:`report_progress`; the engine shows rows, rate and ETA on a terminal.
    progress: Callable[[int, int], None] | None = None

    def __init__(self, options: Any) -> None:
        self.options = options

    def find(self, rows: pl.DataFrame, benchmarks: dict[str, pl.DataFrame]) -> pl.DataFrame:
        raise NotImplementedError

    def report_progress(self, done: int, total: int) -> None:
        if self.progress is not None:
            self.progress(done, total)


class Reporter(Documented):
    """Writes one report file into the run's ``reports/`` folder from the finished state."""

    name: ClassVar[str] = ""
    filename: ClassVar[str] = ""

    def write(self, state: RunState) -> bytes | Iterable[bytes]:
        """Return the report's bytes, or an iterable of byte chunks for a large report (written as
        they come, so that the whole file is never in memory); the engine writes them atomically
        with the other outputs."""
        raise NotImplementedError


@dataclass(frozen=True)
class BoundRule:
    """A ``[[rules]]`` entry bound to a rule instance with validated params."""

    index: int
    reason: str
    action: str
    rule: RowRule


@dataclass(frozen=True)
class BoundCheck:
    """A ``[[contamination]]`` entry bound to a check instance with validated options."""

    index: int
    name: str
    action: str
    method: str
    check: ContaminationCheck
    #: The benchmark names this check compares against (its ``benchmarks`` option, else all).
    benchmarks: tuple[str, ...]
    #: Action per match kind, overriding ``action`` (``[[contamination]] kind_actions``).
    kind_actions: dict[str, str] = field(default_factory=dict)

    def action_of(self, kinds: pl.Series | None, rows: int) -> pl.Series:
        """The action of each match: its kind's action, else the check's."""
        import polars as pl

        if kinds is None or not self.kind_actions:
            return pl.Series("action", [self.action] * rows, dtype=pl.String)
        return kinds.replace_strict(self.kind_actions, default=self.action, return_dtype=pl.String).alias(
            "action"
        )


@dataclass(frozen=True)
class Plan:
    """Everything a rule set asks for, resolved and validated before any data is read."""

    rule_set: RuleSet
    rules: tuple[BoundRule, ...]
    stages: tuple[Stage, ...]
    splitter: Splitter
    checks: tuple[BoundCheck, ...]
    reporters: tuple[Reporter, ...]
    #: Benchmarks by name, each resolved to a local path or Hub spec (loaded by the gate stage).
    benchmarks: dict[str, BenchmarkSpec]
    #: The input (``--input`` or the rule set's ``[input] path``); None means the demo corpus.
    input_spec: str | None
    #: dq field -> input column, the rule set's map updated by ``--column``.
    columns: dict[str, str] = field(default_factory=dict)
    #: Fields mapped on the command line: their column must exist as named (no fallback).
    strict_columns: frozenset[str] = frozenset()
    #: The ``[render] renderer`` class; instantiated by the stage that needs token ids (it loads a
    #: tokenizer, which ``dq validate`` must not).
    renderer_class: type[Any] | None = None
    #: Bytes the run may hold (``--memory``; None: half the machine's memory). An input whose
    #: in-memory run would need more streams: its texts wait on disk (see ``RunState.full_rows``).
    memory: int | None = None

    @property
    def skip_rules(self) -> tuple[BoundRule, ...]:
        """The ``skip`` rules before the first ``reject`` rule: a pre-filter, counted nowhere."""
        out = []
        for bound in self.rules:
            if bound.action != "skip":
                break
            out.append(bound)
        return tuple(out)

    @property
    def files_read(self) -> list[Path]:
        """The local files a run reads (rule set, input, benchmark files): none may sit in --out."""
        reads = [Path(self.rule_set.source_path)]
        if self.input_spec and not self.input_spec.startswith("hf:"):
            reads.append(Path(self.input_spec))
        reads += [Path(b.path) for b in self.benchmarks.values() if b.path and b.path != "demo:"]
        return reads

    @property
    def is_demo(self) -> bool:
        return self.input_spec is None


class StageInputMissing(Exception):
    """A stage asked for a table no earlier stage produced (the plan checks pipelines up front)."""


@dataclass
class RunState:
    """Everything a run knows. Stages fill it in pipeline order; reporters read it at the end."""

    plan: Plan
    out_dir: Path
    quiet: bool = False
    overwrite: bool = False
    work_dir: Path | None = None
    #: Where a streamed run's row store goes: beside the run's checkpoints when it has them (a
    #: killed run then resumes without reading its input again), else inside ``work_dir``.
    spill_dir: Path | None = None
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
    #: Token report of the rendered splits (``dq.tokens``): rendered/tokens.json.
    token_stats: dict[str, Any] | None = None
    #: Training runs of ``dq.train`` (run id, condition, seed, folder, best step, NLL, export).
    adapters: list[dict[str, Any]] | None = None
    #: Evaluation runs of ``dq.evaluate`` (run id, target, accuracy, folder).
    evaluations: list[dict[str, Any]] | None = None
    gates: list[GateVerdict] = field(default_factory=list)
    contamination_report: dict[str, Any] = field(default_factory=dict)
    outputs: dict[str, str] = field(default_factory=dict)
    manifest: dict[str, Any] = field(default_factory=dict)
    reject_reasons: dict[str, int] = field(default_factory=dict)
    dropped_rows: int = 0
    parent: dict[str, Any] | None = None
    timings: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    #: Stages restored from checkpoints of an unfinished run of the same configuration (name -> key).
    resumed: dict[str, str] = field(default_factory=dict)
    #: Set when the run streams (its input exceeds the memory budget): the row frames above are
    #: then *lean*, every column but the long texts, which stay here; see :meth:`full_rows`.
    row_store: RowSource | None = None

    def full_rows(self, frame: pl.DataFrame, batch_rows: int | None = None) -> Iterator[pl.DataFrame]:
        """``frame``'s rows with every column, in order, a batch at a time: see :mod:`dq.api.rows`."""
        from dq.api.rows import full_rows

        expect = getattr(self.row_store, "expect", None)
        if expect is not None:  # the orders stages will ask for: a store may sort them in one pass
            expect([f["row_index"] for f in (self.train, self.val, self.rejected) if f is not None])
        return full_rows(self.row_store, frame, batch_rows)

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

    def rows_progress(self, label: str, total: int | None = None) -> RowProgress:
        """A rows/rate/ETA line for a long step of a stage; silent when quiet or piped."""
        return RowProgress(label, total, enabled=not self.quiet and sys.stderr.isatty())

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
        """Rows per source, in first-seen order (counted by Polars: millions of rows in a streamed run)."""
        return value_counts(frame["source"])
