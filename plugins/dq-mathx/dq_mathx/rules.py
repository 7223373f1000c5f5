"""Answer-format rules."""

from __future__ import annotations

import polars as pl
from pydantic import Field

from dq import RowRule, RuleContext, RuleParams


class NumericAnswer(RowRule):
    """The expected answer of a word-problem row is not a plain number.

    GSM8K-style evaluation compares numbers strictly: ``70,000``, ``$460``, ``60\\%`` or
    ``\\frac{1}{2}`` in a label teach a format the grader marks wrong. Rows of the listed
    sources must have labels like ``42``, ``-3`` or ``2.5``; other sources pass.
    """

    code = "MX001"
    name = "mathx.numeric_answer"
    reason = "non_numeric_answer"
    groups = ("answer",)

    class Params(RuleParams):
        sources: list[str] = Field(
            default_factory=lambda: ["gsm8k"], description="Sources whose labels must be numbers."
        )
        column: str = Field("expected_answer", description="Column holding the label.")

    def failing_rows(self, ctx: RuleContext) -> pl.Expr:
        numeric = pl.col(self.params.column).str.contains(r"^-?\d+(\.\d+)?$")
        return pl.col("source").is_in(self.params.sources) & ~numeric
