"""Exact contamination: canonical-problem equality between curated rows and benchmark items."""

from __future__ import annotations

import polars as pl
from pydantic import Field

from dq.api.run import ContaminationCheck, Options
from dq.api.schema import RowField
from dq.text import vector
from dq.text.normalize import CANONICAL_RULE


class ExactOptions(Options):
    field: RowField = Field("problem", description="Curated-row column compared with the benchmark.")
    benchmarks: list[str] = Field(default_factory=list, description="Benchmarks to check (default: all).")


class ExactCheck(ContaminationCheck):
    """A curated row matches a benchmark item when their canonical problems are equal.

    Canonical form (the study's): NFKC, lowercase, strip, collapse whitespace; so verbatim
    copies and case/whitespace/NFKC variants match. Every curated row is compared (all sources,
    train and val), against every configured benchmark.
    """

    name = "dq.exact"
    method = "exact"
    normalization = CANONICAL_RULE
    Options = ExactOptions

    def find(self, rows: pl.DataFrame, benchmarks: dict[str, pl.DataFrame]) -> pl.DataFrame:
        field = self.options.field
        canon = (
            vector.with_canonical(rows).select("pos", "canonical")
            if field == "problem"
            else rows.select("pos", canonical=vector.canonical_problem(rows[field]))
        )
        found = []
        for name, bench in benchmarks.items():
            items = bench.with_columns(canonical=vector.canonical_problem(bench["question"]))
            hits = canon.join(items.select("benchmark_index", "canonical"), on="canonical")
            found.append(
                hits.select(
                    pl.col("pos"),
                    pl.lit(name).alias("benchmark"),
                    pl.col("benchmark_index").cast(pl.Int64),
                    pl.lit(1.0).alias("score"),
                    pl.lit("verbatim").alias("kind"),
                )
            )
        return pl.concat(found).sort("benchmark", "benchmark_index", "pos") if found else empty_matches()


def empty_matches() -> pl.DataFrame:
    return pl.DataFrame(
        schema={
            "pos": pl.UInt32,
            "benchmark": pl.String,
            "benchmark_index": pl.Int64,
            "score": pl.Float64,
            "kind": pl.String,
        }
    )
