"""Run summary: rows in, accepted, rejected by reason, split sizes, gate verdicts, files written."""

from __future__ import annotations

from dq.components import Reporter
from dq.run import RunState


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


class SummaryMarkdown(Reporter):
    """reports/summary.md: the run summary as a Markdown table, with the files written."""

    name = "summary-md"
    filename = "summary.md"

    def write(self, state: RunState) -> bytes:
        lines = [f"# dq run: {state.rule_set.name}", "", "| what | value |", "|---|---|"]
        lines += [f"| {label.strip()} | {value} |" for label, value in summary_rows(state)]
        lines += ["", "## Files (sha256 in manifest.json)", ""] + [f"- `{p}`" for p in sorted(state.outputs)]
        return ("\n".join(lines) + "\n").encode("utf-8")
