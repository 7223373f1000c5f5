"""Gate stage: contamination checks against benchmarks, then the train/val leakage gate."""

from __future__ import annotations

from typing import Any

import polars as pl

from dq import vector
from dq.benchmarks import resolve_benchmarks
from dq.components import Stage, validate_options
from dq.errors import DqError
from dq.normalize import problem_hash
from dq.run import GateVerdict, RunState

MAX_EXAMPLES = 25


def load_benchmarks(state: RunState) -> None:
    demo = state.input_info.get("kind") == "demo"
    for name, (frame, info) in resolve_benchmarks(
        state.rule_set.benchmarks, state.benchmark_args, demo
    ).items():
        state.benchmarks[name] = frame
        state.benchmark_info[name] = info


def curated_rows(state: RunState) -> pl.DataFrame:
    train, val = state.require("train"), state.require("val")
    return pl.concat(
        [train.with_columns(split=pl.lit("train")), val.with_columns(split=pl.lit("val"))]
    ).with_row_index("pos")


def _selected(state: RunState, options: object, index: int) -> dict[str, pl.DataFrame]:
    names = getattr(options, "benchmarks", None) or list(state.benchmarks)
    unknown = [n for n in names if n not in state.benchmarks]
    if unknown:
        raise DqError(
            f"{state.rule_set.source_path}: contamination[{index}].benchmarks: unknown benchmark "
            f"'{unknown[0]}'; loaded: {', '.join(state.benchmarks) or 'none'}"
        )
    return {n: state.benchmarks[n] for n in names}


def run_checks(state: RunState, curated: pl.DataFrame) -> pl.DataFrame:
    found = []
    for i, entry in enumerate(state.rule_set.contamination):
        check_cls = state.registry.get("contamination_checks", entry.check)
        options = validate_options(
            check_cls, entry.options, f"{state.rule_set.source_path}: contamination[{i}]"
        )
        matches = check_cls(options).find(curated, _selected(state, options, i))
        method = getattr(check_cls, "method", entry.check)
        # Matches fail the run only under action "fail"; "drop" and "warn" report them.
        status = "pass" if matches.height == 0 else ("fail" if entry.action == "fail" else "warn")
        drop_rows = matches["pos"].n_unique() if entry.action == "drop" else 0
        state.gates.append(GateVerdict(entry.check, entry.action, status, matches.height, drop_rows))
        found.append(
            matches.with_columns(
                check=pl.lit(entry.check), method=pl.lit(method), action=pl.lit(entry.action)
            )
        )
    return pl.concat(found, how="diagonal") if found else pl.DataFrame()


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
    from dq import lsh, near

    texts, positions = near.unique_texts(pl.concat([val["problem"], train["problem"]]))
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


class GateStage(Stage):
    """Run every contamination check on all curated rows, apply fail/drop/warn, check leakage."""

    name = "gate"

    def run(self, state: RunState) -> None:
        load_benchmarks(state)
        curated = curated_rows(state)
        matches = run_checks(state, curated) if state.benchmarks else pl.DataFrame()
        state.matches = (
            matches.join(curated.select("pos", "row_index", "row_id", "source", "split", "problem"), on="pos")
            if matches.height
            else matches
        )
        if matches.height:
            drop = set(matches.filter(pl.col("action") == "drop")["pos"].to_list())
            if drop:
                keep = ~curated["pos"].is_in(list(drop))
                kept = curated.filter(keep)
                state.train = kept.filter(pl.col("split") == "train").drop("pos", "split")
                state.val = kept.filter(pl.col("split") == "val").drop("pos", "split")
                state.dropped_rows = len(drop)
        overlap = train_val_overlap(state.train, state.val)  # type: ignore[arg-type]
        leaked = overlap["row_id_overlap_count"] + overlap["problem_text_overlap_count"]
        if state.rule_set.leakage.near_duplicates:
            overlap["near_duplicate_overlap"] = near_overlap(
                state.require("train"), state.require("val"), state.rule_set.leakage.threshold
            )
            leaked += overlap["near_duplicate_overlap"]["val_row_count"]
        action = state.rule_set.leakage.action
        state.gates.append(
            GateVerdict(
                "train_val_overlap",
                action,
                "pass" if not leaked else ("fail" if action == "fail" else "warn"),
                leaked,
            )
        )
        state.contamination_report["train_val_overlap"] = overlap
        for gate in state.gates:
            state.log(f"gate: {gate.name}: {gate.status} ({gate.matches} matches, action {gate.action})")
