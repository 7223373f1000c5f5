"""Base classes for the other plugin kinds: stages, splitters, contamination checks, reporters."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import BaseModel, ConfigDict

if TYPE_CHECKING:
    import polars as pl

    from dq.api.state import RunState


class Documented:
    """Mixin: the first docstring line is the component's one-line summary in listings."""

    @classmethod
    def summary(cls) -> str:
        doc = (cls.__doc__ or "").strip()
        return doc.splitlines()[0] if doc else ""


class Options(BaseModel):
    """Base for component options from the rule set: unknown keys are errors."""

    model_config = ConfigDict(extra="forbid", frozen=True)


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


class SplitResult(BaseModel):
    """Row positions per split, in output order, and group counts."""

    model_config = ConfigDict(arbitrary_types_allowed=True)
    train: list[int]
    val: list[int]
    train_groups: int
    val_groups: int


class ContaminationCheck(Documented):
    """Compares curated rows with benchmark items; returns one match row per (row, item) pair.

    ``find`` returns a DataFrame with at least ``row`` (position in the curated table),
    ``benchmark``, ``benchmark_index`` and ``score`` columns.
    """

    name: ClassVar[str] = ""

    #: The model validating this check's ``[[contamination]]`` options.
    Options: ClassVar[type[Any]] = CheckOptions

    def __init__(self, options: Any) -> None:
        self.options = options

    def find(self, rows: pl.DataFrame, benchmarks: dict[str, pl.DataFrame]) -> pl.DataFrame:
        raise NotImplementedError


class Reporter(Documented):
    """Writes one report file into the run's ``reports/`` folder from the finished state."""

    name: ClassVar[str] = ""
    filename: ClassVar[str] = ""

    def write(self, state: RunState) -> bytes:
        """Return the report's bytes; the engine writes them atomically with the other outputs."""
        raise NotImplementedError
