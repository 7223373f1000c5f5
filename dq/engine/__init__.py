"""Execution engines: dq's row-level and near-duplicate steps over partitions of the data.

The local engine is dq's own code called whole. Another engine (Ray, or the in-process
:class:`SerialEngine` the equivalence tests use) computes the same three steps partition by
partition, with results equal to the local engine's: curation (:meth:`Engine.curate`), a
contamination check's matches (:meth:`Engine.find`) and the near-duplicate components that the
split and the leakage gate share (:meth:`Engine.near_components`). The pipeline asks
:func:`current` at those three call sites; ``None`` means the local engine.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    import polars as pl

    from dq.api.run import BoundRule
    from dq.pipeline.curation import CurateResult


class Engine(Protocol):
    """The steps an engine runs for the pipeline; each returns exactly what the local code returns."""

    name: str

    def curate(
        self, rows: pl.DataFrame, rules: Sequence[BoundRule], skips: Sequence[BoundRule]
    ) -> CurateResult:
        """What :func:`dq.pipeline.curation.apply_rules` returns for these rows."""
        ...

    def near_components(self, canonical: pl.Series, threshold: float) -> pl.DataFrame:
        """What :func:`dq.contamination.leakage.near_components` returns."""
        ...

    def find(self, check: Any, rows: pl.DataFrame, benchmarks: dict[str, pl.DataFrame]) -> pl.DataFrame:
        """What ``check.find(rows, benchmarks)`` returns."""
        ...


_CURRENT: ContextVar[Engine | None] = ContextVar("dq_engine", default=None)


def current() -> Engine | None:
    """The engine of the run in progress; None for the local engine (dq's code called whole)."""
    return _CURRENT.get()


@contextmanager
def using(engine: Engine | None) -> Iterator[Engine | None]:
    """Run the block's pipeline steps on ``engine`` (None: the local engine)."""
    token = _CURRENT.set(engine)
    try:
        yield engine
    finally:
        _CURRENT.reset(token)


class SerialEngine:
    """The partition functions run one after another in this process (what the engines distribute).

    ``splits`` cuts the rows (and distinct texts) into that many partitions; ``parts`` is the
    number of band-key partitions of the near-duplicate shuffle.
    """

    name = "serial"

    def __init__(self, splits: int = 3, parts: int = 4) -> None:
        self.splits, self.parts = splits, parts

    def curate(
        self, rows: pl.DataFrame, rules: Sequence[BoundRule], skips: Sequence[BoundRule]
    ) -> CurateResult:
        from dq.engine.partition import curate_parts

        return curate_parts(rows, rules, skips, self.splits)

    def near_components(self, canonical: pl.Series, threshold: float) -> pl.DataFrame:
        from dq.engine.partition import near_components_parts

        return near_components_parts(canonical, threshold, self.splits, self.parts)

    def find(self, check: Any, rows: pl.DataFrame, benchmarks: dict[str, pl.DataFrame]) -> pl.DataFrame:
        from dq.engine.partition import find_parts

        if not hasattr(check.options, "batch_size"):
            return check.find(rows, benchmarks)  # type: ignore[no-any-return]
        return find_parts(check, rows, benchmarks, self.splits)
