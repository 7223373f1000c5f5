"""Declarative text rules: allowed values, phrase lists and regex lists, usable from TOML alone."""

from __future__ import annotations

import re
import time
from typing import Self

import polars as pl
from pydantic import Field, field_validator, model_validator

from dq.api.rule import RowRule, RuleContext, RuleParams
from dq.api.schema import RowField
from dq.data.fields import ROW_COLUMNS
from dq.errors import DqError
from dq.text import linear_regex, vector


class ColumnIn(RowRule):
    """The column's value is not one of the allowed values.

    With ``action = "skip"`` this is a source filter: rows outside are dropped before any other
    rule and counted nowhere (the study's ``{gsm8k, math}`` filter).
    """

    code = "DQ001"
    name = "dq.column_in"
    groups = ("filter",)

    class Params(RuleParams):
        column: RowField = Field("source", description="Column to test.")
        values: list[str] = Field(description="Allowed values.")

    def failing_rows(self, ctx: RuleContext) -> pl.Expr:
        return ~pl.col(self.params.column).is_in(self.params.values)


class Phrases(RowRule):
    """The text contains one of the listed phrases (plain substring test, Aho-Corasick).

    With ``lowercase = true`` (default) the test is ``phrase in text.lower()`` and the phrases
    must be lower case. Phrases are a table ``{name = "phrase"}``; the name is the detail.
    """

    code = "DQ201"
    name = "dq.phrases"
    reason = "phrase"
    groups = ("text",)

    class Params(RuleParams):
        column: RowField = Field("generated_solution", description="Column to search.")
        phrases: dict[str, str] = Field(description='Named phrases: name = "substring".')
        lowercase: bool = Field(True, description="Match against text.lower().")

        @model_validator(mode="after")
        def check_lowercase(self) -> Self:
            if self.lowercase:
                for key, phrase in self.phrases.items():
                    if phrase != phrase.lower():
                        raise ValueError(
                            f"phrase '{key}' = {phrase!r} has upper case but is matched against "
                            "lower-cased text, so it can never match; write it in lower case"
                        )
            return self

    def failing_rows(self, ctx: RuleContext) -> pl.Series:
        p = self.params
        return vector.contains_phrases(ctx.column(p.column), list(p.phrases.values()), p.lowercase)

    def details(self, ctx: RuleContext, flagged: pl.DataFrame) -> list[str | None]:
        p = self.params
        out: list[str | None] = []
        for text in flagged[p.column]:
            hay = text.lower() if p.lowercase else text
            out.append(",".join(k for k, v in p.phrases.items() if v in hay) or None)
        return out


class Regexes(RowRule):
    """The text matches one of the listed regular expressions (Python ``re.search`` semantics).

    Patterns are a table ``{name = 'regex'}``; ``ignorecase`` sets ``re.IGNORECASE``. There is
    no MULTILINE: ``^`` anchors at the start of the text. Patterns run on a linear-time engine
    (Rust's regex, as Polars runs it, with every character class made Python's), so a pattern
    like ``(a+)+$`` cannot stall a run, and verdicts equal ``re.search`` on every row.
    Backreferences, lookahead/lookbehind, conditional and atomic groups and possessive
    quantifiers have no linear-time form: ``dq validate`` rejects them, unless the rule sets
    ``python_re_timeout_s``, which runs them with Python ``re`` under that time budget.
    """

    code = "DQ202"
    name = "dq.regexes"
    reason = "regex"
    groups = ("text",)

    class Params(RuleParams):
        column: RowField = Field("problem", description="Column to search.")
        patterns: dict[str, str] = Field(description="Named regexes: name = 'pattern'.")
        ignorecase: bool = Field(True, description="Compile with re.IGNORECASE.")
        python_re_timeout_s: float = Field(
            0.0,
            ge=0,
            description=(
                "Opt-in for patterns the linear-time engine cannot run (backreferences, "
                "lookaround, conditional or atomic groups, possessive quantifiers): when above "
                "0 they run with Python re, which backtracks, in a child process, and the run "
                "stops with an error once they have taken this many seconds in all. 0: such "
                "patterns are config errors."
            ),
        )

        @field_validator("patterns")
        @classmethod
        def check_compiles(cls, patterns: dict[str, str]) -> dict[str, str]:
            for key, pattern in patterns.items():
                try:
                    re.compile(pattern)
                except re.error as exc:
                    raise ValueError(f"pattern '{key}' = {pattern!r} is not a valid regex: {exc}") from None
            return patterns

    def __init__(self, params: RuleParams | None = None) -> None:
        super().__init__(params)
        self._python_seconds_left: float = self.params.python_re_timeout_s

    def _problems(self) -> dict[str, str]:
        """Pattern name -> why the linear-time engine cannot run it."""
        p = self.params
        found = {
            key: linear_regex.linear_problem(pattern, p.ignorecase) for key, pattern in p.patterns.items()
        }
        return {key: reason for key, reason in found.items() if reason is not None}

    def config_problems(self) -> list[str]:
        if self.params.python_re_timeout_s > 0:
            return []
        return [
            f"pattern '{key}' = {self.params.patterns[key]!r} {reason}, which dq's linear-time "
            "regex engine cannot run; rewrite it, or set python_re_timeout_s to run it with "
            "Python re under a time budget"
            for key, reason in self._problems().items()
        ]

    def _split(self) -> tuple[dict[str, str], dict[str, str]]:
        """Patterns for the linear-time engine, and those for Python re under the budget."""
        p = self.params
        slow = self._problems() if p.python_re_timeout_s > 0 else {}
        linear = {k: v for k, v in p.patterns.items() if k not in slow}
        return linear, {k: p.patterns[k] for k in slow}

    def _linear(self, column: pl.Series, patterns: list[str]) -> pl.Series:
        try:
            return linear_regex.search(column, patterns, self.params.ignorecase)
        except linear_regex.UnsupportedRegex as exc:  # a rule used without dq validate's check
            problems = self.config_problems() or [f"a pattern {exc}"]
            raise DqError(f"rule '{self.name}': {problems[0]}") from None

    def _python(self, texts: list[str], patterns: dict[str, str]) -> list[list[bool]]:
        """Python re verdicts (per text, per pattern) within what is left of the time budget."""
        start = time.perf_counter()
        try:
            if self._python_seconds_left <= 0:
                raise linear_regex.PythonTimeout
            return linear_regex.python_search(
                texts, list(patterns.values()), self.params.ignorecase, self._python_seconds_left
            )
        except linear_regex.PythonTimeout:
            self._python_seconds_left = 0.0
            names = ("pattern " if len(patterns) == 1 else "patterns ") + ", ".join(
                f"'{k}'" for k in patterns
            )
            raise DqError(
                f"rule '{self.name}': {names} ran past python_re_timeout_s = "
                f"{self.params.python_re_timeout_s:g} s on Python re (backtracking); make it "
                "linear (no backreference or lookaround) or raise the budget"
            ) from None
        finally:
            self._python_seconds_left -= time.perf_counter() - start

    def failing_rows(self, ctx: RuleContext) -> pl.Series:
        p = self.params
        column = ctx.column(p.column)
        linear, slow = self._split()
        hit = self._linear(column, list(linear.values()))
        if slow:
            idx = (~hit & column.is_not_null()).fill_null(False).arg_true()
            verdicts = self._python(column.gather(idx).to_list(), slow)
            hit = hit.scatter(idx, pl.Series([any(v) for v in verdicts], dtype=pl.Boolean))
        return hit

    def details(self, ctx: RuleContext, flagged: pl.DataFrame) -> list[str | None]:
        # Which patterns fired, computed on the flagged rows only, one vectorized pass each.
        p = self.params
        column = flagged[p.column]
        linear, slow = self._split()
        hits = {name: self._linear(column, [pattern]) for name, pattern in linear.items()}
        if slow:
            verdicts = self._python(column.to_list(), slow)
            for j, name in enumerate(slow):
                hits[name] = pl.Series([v[j] for v in verdicts], dtype=pl.Boolean)
        frame = pl.DataFrame({name: hits[name] for name in p.patterns})
        names = pl.concat_list([pl.when(pl.col(n)).then(pl.lit(n)) for n in p.patterns]).list.drop_nulls()
        return frame.select(names.list.join(",")).to_series().replace("", None).to_list()


class SqlPredicate(RowRule):
    """A DuckDB SQL predicate over the row's columns marks failing rows.

    Any DuckDB expression works (``length(generated_solution) > 20000``,
    ``regexp_matches(problem, '^\\s*$')``); the table is ``rows`` with the dq columns.
    """

    code = "DQ301"
    name = "dq.sql"
    reason = "sql"
    groups = ("sql",)

    class Params(RuleParams):
        where: str = Field(description="DuckDB boolean expression, true on failing rows.")

    def failing_sql(self, ctx: RuleContext) -> str:
        return self.params.where

    def config_problems(self) -> list[str]:
        """The predicate must compile against the row table (binding names and types), on no rows."""
        import duckdb

        columns = ", ".join(
            ["CAST(NULL AS UINTEGER) AS row_index"] + [f"CAST(NULL AS VARCHAR) AS {c}" for c in ROW_COLUMNS]
        )
        con = duckdb.connect()
        try:
            con.sql(f"CREATE TABLE rows AS SELECT {columns} LIMIT 0")
            con.sql(f"SELECT coalesce(({self.params.where}), false) AS fail FROM rows").fetchall()
        except duckdb.Error as exc:
            return [f"DuckDB cannot compile the predicate {self.params.where!r}: {str(exc).splitlines()[0]}"]
        finally:
            con.close()
        return []
