"""Train/val leakage: the study's row_id and canonical-problem overlap, and MinHash near-duplicates."""

from __future__ import annotations

from typing import Any

import numpy as np
import polars as pl

from dq.text import vector
from dq.text.normalize import problem_hash

MAX_EXAMPLES = 25


def train_val_overlap(train: pl.DataFrame, val: pl.DataFrame) -> dict[str, Any]:
    """The study's integrity check: row_id overlap and canonical-problem overlap, train vs val."""
    # The val ids also in train, found by Polars: a Python set of every train id costs ~100
    # bytes a row, and a streamed run has millions of rows.
    val_ids = val["row_id"]
    ids = set(val_ids.filter(val_ids.is_in(train["row_id"].implode())).unique().to_list())
    tc = vector.with_canonical(train).select("row_id", "source", "problem", "canonical")
    vc = vector.with_canonical(val).select("row_id", "source", "problem", "canonical")
    hits = vc.join(tc, on="canonical", suffix="_train")
    examples = []
    for (vid,), group in hits.group_by(["row_id"], maintain_order=True):
        first = group.row(0, named=True)
        refs = [
            _ref(r["row_id_train"], r["source_train"], r["problem_train"])
            for r in group.head(25).iter_rows(named=True)
        ]
        examples.append(
            {
                "val_row": _ref(vid, first["source"], first["problem"]),
                "train_matches": refs,
                "train_match_count": group.height,
            }
        )
    overlapped = sorted(ids | set(hits["row_id"]))
    return {
        "row_id_overlap_count": len(ids),
        "row_id_overlap_examples": sorted(ids)[:MAX_EXAMPLES],
        "problem_text_overlap_count": hits["row_id"].n_unique(),
        "problem_text_overlap_examples": examples[:MAX_EXAMPLES],
        "overlapped_val_row_count": len(overlapped),
        "overlapped_val_row_id_examples": overlapped[:MAX_EXAMPLES],
    }


def near_components(canonical: pl.Series, threshold: float) -> pl.DataFrame:
    """The near-duplicate component of each distinct canonical problem: ``canonical``, ``component``.

    The one definition both sides use: the near-duplicate split groups rows by it and
    :func:`near_overlap` checks train against val with it. Components are MinHash LSH
    components (:func:`dq.contamination.lsh.components`) of the distinct canonical problems; the
    partition depends only on that set, and on a subset (rows dropped later) it can only split a
    component, so a split that keeps every component on one side passes the check by
    construction. Components are numbered 0.. in order of their first problem in ``canonical``.
    """
    from dq.contamination import lsh
    from dq.engine import current

    if (engine := current()) is not None:
        return engine.near_components(canonical, threshold)
    distinct = canonical.unique(maintain_order=True).rename("canonical")
    if distinct.len() == 0:
        return pl.DataFrame({"canonical": distinct, "component": pl.Series([], dtype=pl.Int64)})
    _, dense = np.unique(lsh.components(distinct, threshold), return_inverse=True)
    return pl.DataFrame({"canonical": distinct, "component": dense.astype(np.int64)})


def near_overlap(train: pl.DataFrame, val: pl.DataFrame, threshold: float) -> dict[str, Any]:
    """Val rows whose near-duplicate component (:func:`near_components`) also holds train rows.

    Components are computed over the distinct canonical problems of both sides (one row per
    problem, not per row: a streamed run has millions of rows and far fewer problems).
    """
    val_canonical = vector.with_canonical(val)["canonical"]
    sides = pl.concat(
        [
            val_canonical.unique(maintain_order=True).to_frame().with_columns(in_val=pl.lit(True)),
            vector.with_canonical(train)["canonical"].unique(maintain_order=True).to_frame()
            .with_columns(in_val=pl.lit(False)),
        ]
    )  # fmt: skip
    comp = sides.join(near_components(sides["canonical"], threshold), on="canonical", maintain_order="left")
    mixed = comp.group_by("component").agg(
        pl.col("in_val").any().alias("val"), (~pl.col("in_val")).any().alias("train")
    )
    mixed = mixed.filter(pl.col("val"), pl.col("train"))
    shared = comp.filter(pl.col("in_val"), pl.col("component").is_in(mixed["component"].implode()))[
        "canonical"
    ]
    in_mixed = val_canonical.is_in(shared.implode())
    ids = sorted(set(val.filter(in_mixed)["row_id"])) if in_mixed.any() else []
    return {
        "threshold": threshold,
        "method": "minhash components (character 5-grams, 128 perm, 32 bands, estimated Jaccard)",
        "val_row_count": int(in_mixed.sum()),
        "val_row_id_examples": ids[:MAX_EXAMPLES],
    }


def _ref(rid: str, source: str, problem: str) -> dict[str, str]:
    return {"row_id": rid, "source": source, "problem_hash": problem_hash(problem)}
