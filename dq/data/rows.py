"""Row formats: the study's raw, rendered (chat) and rejected JSONL lines as Polars expressions."""

from __future__ import annotations

import polars as pl

from dq.data.jsonl import Raw, messages_array, object_line

RAW_FIELDS = ("row_id", "source", "problem", "generated_solution", "expected_answer")


def raw_line() -> pl.Expr:
    """The study's raw row: row_id, source, problem, generated_solution, expected_answer."""
    return object_line([(name, pl.col(name)) for name in RAW_FIELDS])


def chat_line(system_prompt: str) -> pl.Expr:
    """The study's rendered row: row_id, source, expected_answer, messages."""
    return object_line(
        [
            ("row_id", pl.col("row_id")),
            ("source", pl.col("source")),
            ("expected_answer", pl.col("expected_answer")),
            (
                "messages",
                messages_array(system_prompt, pl.col("problem"), pl.col("generated_solution")),
            ),
        ]
    )


def rejected_line() -> pl.Expr:
    cols = (
        "row_id",
        "source",
        "reason",
        "rules",
        "problem",
        "generated_solution",
        "expected_answer",
    )
    fields: list = [("row_index", Raw(pl.col("row_index").cast(pl.String)))]
    fields += [(c, pl.col(c).fill_null("")) for c in cols]
    return object_line(fields)
