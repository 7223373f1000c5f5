"""Gate stage: contamination checks against benchmarks, then the train/val leakage gate."""

from __future__ import annotations

import polars as pl

from dq.api.run import GateVerdict, RunState, Stage
from dq.contamination.leakage import near_overlap, train_val_overlap
from dq.data.benchmarks import load_benchmarks as load_benchmarks_of
from dq.engine import current


def load_benchmarks(state: RunState) -> None:
    for name, (frame, info) in load_benchmarks_of(state.plan.benchmarks).items():
        state.benchmarks[name] = frame
        state.benchmark_info[name] = info


def curated_rows(state: RunState) -> pl.DataFrame:
    train, val = state.require("train"), state.require("val")
    return pl.concat(
        [train.with_columns(split=pl.lit("train")), val.with_columns(split=pl.lit("val"))]
    ).with_row_index("pos")


def run_checks(state: RunState, curated: pl.DataFrame) -> pl.DataFrame:
    found = []
    for bound in state.plan.checks:
        selected = {name: state.benchmarks[name] for name in bound.benchmarks}
        progress = state.rows_progress(f"dq.gate {bound.name}", curated.height)
        bound.check.progress = lambda done, total, p=progress: p.update(done, total=total)
        try:
            engine = current()
            if engine is not None:
                matches = engine.find(bound.check, curated, selected)
            else:
                matches = bound.check.find(curated, selected)
        finally:
            bound.check.progress = None
        progress.close(curated.height)
        kinds = matches["kind"] if "kind" in matches.columns else None
        matches = matches.with_columns(
            check=pl.lit(bound.name),
            method=pl.lit(bound.method),
            action=bound.action_of(kinds, matches.height),
        )
        # A match fails the run only when its action (its kind's, else the check's) is "fail".
        actions = set(matches["action"])
        status = "pass" if matches.height == 0 else ("fail" if "fail" in actions else "warn")
        drop_rows = matches.filter(pl.col("action") == "drop")["pos"].n_unique()
        state.gates.append(GateVerdict(bound.name, bound.action, status, matches.height, drop_rows))
        found.append(matches)
    return pl.concat(found, how="diagonal") if found else pl.DataFrame()


class GateStage(Stage):
    """Run every contamination check on all curated rows, apply fail/drop/warn, check leakage."""

    name = "dq.gate"
    needs = ("train", "val")
    provides = ("matches",)

    def run(self, state: RunState) -> None:
        load_benchmarks(state)
        curated = curated_rows(state)
        if curated.height == 0 and state.plan.checks:
            # Every row was skipped or rejected: the checks would compare nothing and "pass".
            state.gates.append(GateVerdict("curated_rows", "fail", "fail", 0))
            state.log("gate: no curated row reached the contamination checks; nothing was checked")
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
