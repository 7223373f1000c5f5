"""Rules about the final answer: the last ``\\boxed{}`` of the solution against the label."""

from __future__ import annotations

import polars as pl
from pydantic import Field

from dq.api.rule import RowRule, RuleContext, RuleParams
from dq.api.schema import RowField
from dq.text import vector


def _boxed(ctx: RuleContext, column: str) -> pl.Series:
    return ctx.derived(f"boxed:{column}", lambda: vector.last_boxed(ctx.column(column)))


class MissingBox(RowRule):
    """The solution has no complete last ``\\boxed{...}``.

    Only the literal ``\\boxed{`` counts (``\\boxed {x}`` does not), and only the last one: an
    unterminated last box fails even when an earlier box is complete (the study's ``last_boxed``).
    """

    code = "DQ101"
    name = "dq.missing_box"
    reason = "missing_box"
    groups = ("answer",)
    columns = ("generated_solution",)

    class Params(RuleParams):
        column: RowField = Field("generated_solution", description="Column holding the solution text.")

    def failing_rows(self, ctx: RuleContext) -> pl.Series:
        return _boxed(ctx, self.params.column).is_null()


class BoxedMismatch(RowRule):
    """The last ``\\boxed{}`` answer differs from the expected answer after gate normalization.

    Normalization (the study's gate): remove all whitespace, drop ``\\left``/``\\right``, map
    ``\\tfrac`` to ``\\frac``. No numeric equivalence: ``0.5`` vs ``\\frac{1}{2}`` is a mismatch.
    Rows without a box pass this rule (``dq.missing_box`` reports them).
    """

    code = "DQ102"
    name = "dq.boxed_mismatch"
    reason = "boxed_mismatch"
    groups = ("answer",)
    columns = ("generated_solution", "expected_answer")

    class Params(RuleParams):
        column: RowField = Field("generated_solution", description="Column holding the solution text.")
        answer_column: RowField = Field("expected_answer", description="Column with the label.")

    def failing_rows(self, ctx: RuleContext) -> pl.Series:
        boxed = vector.gate_normalize(_boxed(ctx, self.params.column))
        expected = vector.gate_normalize(ctx.column(self.params.answer_column))
        return (boxed != expected).fill_null(False)

    def details(self, ctx: RuleContext, flagged: pl.DataFrame) -> list[str | None]:
        from dq.text.normalize import last_boxed

        return [
            f"boxed={last_boxed(sol)!r} expected={ans!r}"
            for sol, ans in zip(flagged[self.params.column], flagged[self.params.answer_column], strict=True)
        ]
