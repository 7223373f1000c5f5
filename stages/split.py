"""Split stage: hand the accepted rows to the rule set's splitter plugin."""

from __future__ import annotations

import polars as pl

from dq.api.run import RunState, SplitResult, Stage
from dq.pipeline.summary import VAL_SHARE_TOLERANCE, val_shares
from dq.text.vector import with_canonical

#: How many of a source's largest groups an off-target warning names, and how much of each problem.
LARGEST, PREFIX = 3, 48


class SplitStage(Stage):
    """Assign accepted rows to train/val with the configured splitter (default: dq.grouped)."""

    name = "dq.split"
    needs = ("accepted",)
    provides = ("split", "train", "val")

    def run(self, state: RunState) -> None:
        accepted = with_canonical(state.require("accepted"))
        state.accepted = accepted
        result = state.plan.splitter.split(accepted, state)
        state.split = result
        state.train = accepted[result.train]
        state.val = accepted[result.val]
        state.log(
            f"split: train {len(result.train)} rows / {result.train_groups} groups, "
            f"val {len(result.val)} rows / {result.val_groups} groups"
        )
        for message in share_warnings(state, accepted, result) + threshold_notes(state):
            state.notes.append(message)
            state.log(message)


def share_warnings(state: RunState, rows: pl.DataFrame, result: SplitResult) -> list[str]:
    """One warning per source whose val share misses ``val_ratio`` by more than 2 points.

    A splitter whose result carries ``groups`` (each row's group, as ``dq.grouped`` does) gets
    its largest groups of that source named: rows, side, and the start of the problem.
    """
    shares = val_shares(state)
    groups = getattr(result, "groups", None)
    kind = getattr(result, "group_kind", "group")
    out = []
    for source in shares["off_target"]:
        n, share, target = shares["rows"][source], shares["by_source"][source], shares["target"]
        message = (
            f"warning: split: val share of {source} is {share:.1%} ({n['val']} of {n['all']} rows), "
            f"{abs(share - target) * 100:.1f} points off val_ratio {target:.1%} "
            f"(more than {VAL_SHARE_TOLERANCE * 100:.0f})"
        )
        if isinstance(groups, pl.Series) and groups.len() == rows.height:
            named = largest_groups(rows, groups, result.val, source)
            message += (
                (f"; largest {kind}s: " + "; ".join(named)) if named else f"; no {kind} of it has 2 rows"
            )
        out.append(message)
    return out


def largest_groups(rows: pl.DataFrame, groups: pl.Series, val: list[int], source: str) -> list[str]:
    """``rows (side) 'problem start'`` of the largest groups (2 rows or more) holding rows of ``source``."""
    frame = rows.select("source", "canonical").with_columns(
        group=groups, in_val=pl.int_range(rows.height).is_in(pl.Series(val, dtype=pl.Int64).implode())
    )
    top = (
        frame.group_by("group", maintain_order=True)
        .agg(
            pl.len().alias("rows"),
            (pl.col("source") == source).sum().alias("of_source"),
            pl.col("in_val").first(),
            pl.col("canonical").first(),
        )
        .filter(pl.col("of_source") > 0, pl.col("rows") > 1)
        .sort("rows", descending=True, maintain_order=True)
        .head(LARGEST)
    )
    return [
        f"{r['rows']} rows ({'val' if r['in_val'] else 'train'}) "
        f"'{r['canonical'][:PREFIX]}{'...' if len(r['canonical']) > PREFIX else ''}'"
        for r in top.iter_rows(named=True)
    ]


def threshold_notes(state: RunState) -> list[str]:
    """A note when the leakage gate links near-duplicates the split's own grouping does not."""
    options = state.plan.splitter.options
    leakage = state.rule_set.leakage
    split_at = (
        getattr(options, "near_threshold", None) if getattr(options, "near_duplicates", False) else None
    )
    if split_at is None or not leakage.near_duplicates or leakage.threshold >= split_at:
        return []
    return [
        f"warning: split: near-duplicate groups join at {split_at}, the leakage gate at "
        f"{leakage.threshold}: pairs between the two can cross the split and fail the gate"
    ]
