"""Declarative text rules: allowed values, phrase lists and regex lists, usable from TOML alone."""

from __future__ import annotations

import re
from typing import Self

import polars as pl
from pydantic import Field, field_validator, model_validator

from dq.api.rule import RowRule, RuleContext, RuleParams
from dq.text import vector


class ColumnIn(RowRule):
    """The column's value is not one of the allowed values.

    With ``action = "skip"`` this is a source filter: rows outside are dropped before any other
    rule and counted nowhere (the study's ``{gsm8k, math}`` filter).
    """

    code = "DQ001"
    name = "dq.column_in"
    groups = ("filter",)

    class Params(RuleParams):
        column: str = Field("source", description="Column to test.")
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
        column: str = Field("generated_solution", description="Column to search.")
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
    no MULTILINE: ``^`` anchors at the start of the text. The fast path runs Rust's regex on
    ASCII rows and Python ``re`` on the rest, so verdicts equal ``re.search`` on every row.
    """

    code = "DQ202"
    name = "dq.regexes"
    reason = "regex"
    groups = ("text",)

    class Params(RuleParams):
        column: str = Field("problem", description="Column to search.")
        patterns: dict[str, str] = Field(description="Named regexes: name = 'pattern'.")
        ignorecase: bool = Field(True, description="Compile with re.IGNORECASE.")

        @field_validator("patterns")
        @classmethod
        def check_compiles(cls, patterns: dict[str, str]) -> dict[str, str]:
            for key, pattern in patterns.items():
                try:
                    re.compile(pattern)
                except re.error as exc:
                    raise ValueError(f"pattern '{key}' = {pattern!r} is not a valid regex: {exc}") from None
            return patterns

    def failing_rows(self, ctx: RuleContext) -> pl.Series:
        p = self.params
        column = ctx.column(p.column)
        slow = ctx.derived(f"slow:{p.column}", lambda: vector.needs_reference(column))
        return vector.regex_search(column, list(p.patterns.values()), p.ignorecase, slow)

    def details(self, ctx: RuleContext, flagged: pl.DataFrame) -> list[str | None]:
        # Which patterns fired, computed on the flagged rows only, one vectorized pass each.
        p = self.params
        column = flagged[p.column]
        hits = pl.DataFrame(
            {
                name: vector.regex_search(column, [pattern], p.ignorecase)
                for name, pattern in p.patterns.items()
            }
        )
        names = pl.concat_list([pl.when(pl.col(n)).then(pl.lit(n)) for n in p.patterns]).list.drop_nulls()
        return hits.select(names.list.join(",")).to_series().replace("", None).to_list()


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
