"""Run summary: rows in, accepted, rejected by reason, split sizes, gate verdicts, files written."""

from __future__ import annotations

from dq.api.run import Reporter, RunState
from dq.pipeline.summary import summary_rows


class SummaryMarkdown(Reporter):
    """reports/summary.md: the run summary as a Markdown table, with the files written."""

    name = "dq.summary_md"
    filename = "summary.md"

    def write(self, state: RunState) -> bytes:
        lines = [f"# dq run: {state.rule_set.name}", "", "| what | value |", "|---|---|"]
        lines += [f"| {label.strip()} | {value} |" for label, value in summary_rows(state)]
        lines += ["", "## Files (sha256 in manifest.json)", ""] + [f"- `{p}`" for p in sorted(state.outputs)]
        return ("\n".join(lines) + "\n").encode("utf-8")
