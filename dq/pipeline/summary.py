"""The run summary as (label, value) rows: the terminal table and reports/summary.md share them."""

from __future__ import annotations

from collections import Counter
from typing import Any

from dq.api.run import RunState, value_counts

#: A source whose val share misses ``val_ratio`` by more than this (2 points) is off target.
VAL_SHARE_TOLERANCE = 0.02


def val_shares(state: RunState) -> dict[str, Any]:
    """The split's achieved val share (val rows / rows), overall and per source, against the target.

    Counted on the rows the splitter assigned (before any gate dropped rows), so a run folder
    reloaded by ``dq report`` gives the same numbers. ``off_target`` lists the sources whose
    share misses the splitter's ``val_ratio`` by more than :data:`VAL_SHARE_TOLERANCE`.
    """
    accepted, split = state.require("accepted"), state.require("split")
    target = getattr(state.plan.splitter.options, "val_ratio", None)
    rows = value_counts(accepted["source"])
    val = Counter(value_counts(accepted["source"].gather(split.val)))
    share = {source: val[source] / n for source, n in sorted(rows.items())}
    off = [s for s, x in share.items() if target is not None and abs(x - target) > VAL_SHARE_TOLERANCE]
    return {
        "target": target,
        "overall": round(len(split.val) / accepted.height, 4) if accepted.height else 0.0,
        "by_source": {source: round(x, 4) for source, x in share.items()},
        "rows": {source: {"val": val[source], "all": n} for source, n in sorted(rows.items())},
        "off_target": off,
    }


def share_rows(shares: dict[str, Any]) -> list[tuple[str, str]]:
    """Summary rows of :func:`val_shares`: overall, then each source, off-target ones marked."""
    target = shares["target"]
    aim = f" (target {target:.1%})" if target is not None else ""
    out = [("val share", f"{shares['overall']:.1%}{aim}")]
    for source, share in shares["by_source"].items():
        n = shares["rows"][source]
        value = f"{share:.1%} ({n['val']} / {n['all']})"
        if source in shares["off_target"]:
            value += f", OFF TARGET by {abs(share - target) * 100:.1f} points"
        out.append((f"  val share {source}", value))
    return out


def summary_rows(state: RunState) -> list[tuple[str, str]]:
    """(label, value) pairs shared by the terminal table and the Markdown report."""
    rows = [("input", str(state.input_info.get("path")))]
    # A custom pipeline may end early: show what the stages that ran produced, nothing more.
    if state.rows is not None:
        rows.append(("rows in", str(state.input_info.get("rows", state.rows.height))))
    for label, table in (
        ("considered (after skip rules)", state.considered),
        ("accepted", state.accepted),
        ("rejected", state.rejected),
    ):
        if table is not None:
            rows.append((label, str(table.height)))
    rows += [(f"  rejected {reason}", str(n)) for reason, n in state.reject_reasons.items()]
    split = state.split
    if split is not None and state.train is not None and state.val is not None:
        rows += [
            ("train rows / groups", f"{state.train.height} / {split.train_groups}"),
            ("val rows / groups", f"{state.val.height} / {split.val_groups}"),
        ]
        rows += share_rows(val_shares(state))
    for gate in state.gates:
        extra = f", {gate.dropped_rows} rows dropped" if gate.dropped_rows else ""
        rows.append((f"gate {gate.name}", f"{gate.status.upper()} ({gate.matches} matches{extra})"))
    rows.append(("status", state.status.upper()))
    return rows
