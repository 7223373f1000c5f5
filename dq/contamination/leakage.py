"""Train/val leakage: the study's row_id and canonical-problem overlap, and MinHash near-duplicates."""

from __future__ import annotations

from typing import Any

import polars as pl

from dq.text import vector
from dq.text.normalize import problem_hash

MAX_EXAMPLES = 25


def train_val_overlap(train: pl.DataFrame, val: pl.DataFrame) -> dict[str, Any]:
    """The study's integrity check: row_id overlap and canonical-problem overlap, train vs val."""
    ids = set(train["row_id"]) & set(val["row_id"])
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


def near_overlap(train: pl.DataFrame, val: pl.DataFrame, threshold: float) -> dict[str, Any]:
    """Val problems with a MinHash near-duplicate (estimated Jaccard >= threshold) in train."""
    from dq.contamination import lsh, shingles

    texts, positions = shingles.unique_texts(pl.concat([val["problem"], train["problem"]]))
    first_train = val.height
    labels = lsh.components(texts, threshold)
    comp = pl.DataFrame({"label": labels, "pos": positions}).explode("pos")
    comp = comp.with_columns(
        side=pl.when(pl.col("pos") < first_train).then(pl.lit("val")).otherwise(pl.lit("train"))
    )
    mixed = comp.group_by("label").agg(pl.col("side").n_unique().alias("sides")).filter(pl.col("sides") == 2)
    val_rows = comp.filter(pl.col("side") == "val", pl.col("label").is_in(mixed["label"].implode()))
    ids = sorted(set(val[val_rows["pos"].to_list()]["row_id"])) if val_rows.height else []
    return {
        "threshold": threshold,
        "method": "minhash components (character 5-grams, 128 perm, 32 bands, estimated Jaccard)",
        "val_row_count": val_rows.height,
        "val_row_id_examples": ids[:MAX_EXAMPLES],
    }


def _ref(rid: str, source: str, problem: str) -> dict[str, str]:
    return {"row_id": rid, "source": source, "problem_hash": problem_hash(problem)}
