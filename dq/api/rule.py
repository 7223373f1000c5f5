"""What a rule looks like to its author: metadata as class attributes, params as a pydantic model.

A row rule returns a Polars boolean expression (or, for rules with an exact batched fallback, a
Boolean Series) that is True on failing rows. The engine does ordering, counting, sampling and
I/O; a rule never touches files.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import BaseModel, ConfigDict

from dq.api.documented import Documented

if TYPE_CHECKING:
    import duckdb
    import polars as pl

#: Keys of a ``[[rules]]`` entry that belong to dq, not to the rule's parameters.
RESERVED_KEYS = frozenset({"rule", "id", "action", "description"})


class RuleParams(BaseModel):
    """Base for rule parameters: unknown keys are errors."""

    model_config = ConfigDict(extra="forbid", frozen=True)


@dataclass
class RuleContext:
    """What a rule sees: the candidate rows and a cache of derived columns shared between rules."""

    rows: pl.DataFrame
    _derived: dict[str, pl.Series] = field(default_factory=dict)
    _connection: duckdb.DuckDBPyConnection | None = None

    def derived(self, key: str, compute: Callable[[], pl.Series]) -> pl.Series:
        """A column computed once per run and shared (e.g. the last ``\\boxed{}`` content)."""
        if key not in self._derived:
            self._derived[key] = compute()
        return self._derived[key]

    def column(self, name: str) -> pl.Series:
        """One input column as a Series."""
        return self.rows.get_column(name)

    def duckdb(self) -> duckdb.DuckDBPyConnection:
        """A DuckDB connection where the rows are the table ``rows`` (Arrow, zero-copy)."""
        if self._connection is None:
            import duckdb  # imported on first use: listing rules must not load DuckDB

            self._connection = duckdb.connect()
            self._connection.register("rows", self.rows.to_arrow())
        return self._connection


class RowRule(Documented):
    """A per-row check. Subclass, set ``code``/``name``, define ``Params`` and ``failing_rows``.

    The first docstring line is the rule's summary in ``dq rules list``; the rest is its docs.
    """

    code: ClassVar[str] = ""
    name: ClassVar[str] = ""
    groups: ClassVar[tuple[str, ...]] = ()
    #: The reject reason recorded for failing rows unless the rule set gives an ``id``.
    reason: ClassVar[str] = ""
    #: Input columns the rule reads; the loader checks they exist.
    columns: ClassVar[tuple[str, ...]] = ()

    class Params(RuleParams):
        """No parameters."""

    def __init__(self, params: RuleParams | None = None) -> None:
        self.params: Any = params if params is not None else self.Params()

    def failing_rows(self, ctx: RuleContext) -> pl.Expr | pl.Series:
        """Boolean expression or Series, True where the row fails. Null counts as passing.

        The default evaluates :meth:`failing_sql` with DuckDB; a rule defines one or the other.
        """
        sql = self.failing_sql(ctx)
        if sql is None:
            raise NotImplementedError(f"{type(self).__name__} defines neither failing_rows nor failing_sql")
        frame = ctx.duckdb().sql(f"SELECT coalesce(({sql}), false) AS fail FROM rows").pl()
        return frame.get_column("fail")

    def failing_sql(self, ctx: RuleContext) -> str | None:
        """Optional DuckDB predicate over the table ``rows``, true where the row fails."""
        return None

    def config_problems(self) -> list[str]:
        """Problems found without reading data (a predicate that cannot compile, a pattern that
        cannot run in linear time); ``dq validate`` and ``dq run`` report them before any row."""
        return []

    def details(self, ctx: RuleContext, flagged: pl.DataFrame) -> list[str | None]:
        """Optional detail per flagged row (which pattern fired, the two answers compared)."""
        return [None] * flagged.height

    @classmethod
    def default_reason(cls) -> str:
        return cls.reason or cls.name.rsplit(".", 1)[-1]
