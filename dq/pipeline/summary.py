"""The run summary as (label, value) rows: the terminal table and reports/summary.md share them."""

from __future__ import annotations

from dq.api.run import RunState


def summary_rows(state: RunState) -> list[tuple[str, str]]:
    """(label, value) pairs shared by the terminal table and the Markdown report."""
    rows = [
        ("input", str(state.input_info.get("path"))),
        ("rows in", str(state.input_info.get("rows", state.require("rows").height))),
        ("considered (after skip rules)", str(state.require("considered").height)),
        ("accepted", str(state.require("accepted").height)),
        ("rejected", str(state.require("rejected").height)),
    ]
    rows += [(f"  rejected {reason}", str(n)) for reason, n in state.reject_reasons.items()]
    split = state.require("split")
    rows += [
        ("train rows / groups", f"{state.require('train').height} / {split.train_groups}"),
        ("val rows / groups", f"{state.require('val').height} / {split.val_groups}"),
    ]
    for gate in state.gates:
        extra = f", {gate.dropped_rows} rows dropped" if gate.dropped_rows else ""
        rows.append((f"gate {gate.name}", f"{gate.status.upper()} ({gate.matches} matches{extra})"))
    rows.append(("status", state.status.upper()))
    return rows
