"""Run report sections: the row funnel per source, split composition and the gate verdicts."""

from __future__ import annotations

from dq_reports.html.charts import grouped_bars
from dq_reports.html.page import esc, section, status, table
from dq_reports.html.view import RunView

STEPS = ("considered", "accepted", "train", "val")


def funnel_section(view: RunView) -> str:
    """Rows in → considered → accepted → train/val, per source: a table and a grouped bar chart."""
    sources = list(view.funnel)
    total = {step: sum(v[step] for v in view.funnel.values()) for step in STEPS}
    rows = [[s, *(view.funnel[s][step] for step in STEPS)] for s in sources]
    rows.append(["all sources", *(total[step] for step in STEPS)])
    intro = (
        f"<p>Rows in: <b>{esc(view.rows_in if view.rows_in is not None else 'unknown')}</b> "
        f"(input <code>{esc(view.input_path)}</code>); rows that skip rules leave are not counted per "
        "source.</p>"
    )
    chart = ""
    if sources:
        series = {s: [view.funnel[s][step] for step in STEPS] for s in sources}
        chart = grouped_bars(list(STEPS), series, "Rows per step and source", "rows")
    body = intro + table(["source", *STEPS], rows, numeric=range(1, 5)) + chart
    return section("funnel", "Funnel", body)


def split_section(view: RunView) -> str:
    """Rows and groups per source on each side, and the val share against the target."""
    rows = []
    for source, c in view.split.items():
        share = c["val_rows"] / max(1, c["train_rows"] + c["val_rows"])
        rows.append(
            [source, c["train_rows"], c["train_groups"], c["val_rows"], c["val_groups"], f"{share:.1%}"]
        )
    target = f"target val share {view.val_target:.1%}" if view.val_target is not None else "no target"
    note = f"<p>Groups are distinct canonical problems; a group never crosses the split. {esc(target)}.</p>"
    header = ["source", "train rows", "train groups", "val rows", "val groups", "val share"]
    body = note + table(header, rows, numeric=range(1, 6)) if rows else "<p class='note'>No split.</p>"
    return section("split", "Split composition", body)


def gates_section(view: RunView) -> str:
    """Each gate's verdict with its counts."""
    rows = "".join(
        f"<tr><td>{esc(g['name'])}</td><td>{esc(g['action'])}</td><td>{status(g['status'])}</td>"
        f"<td class='n'>{esc(g['matches'])}</td><td class='n'>{esc(g['dropped_rows'])}</td></tr>"
        for g in view.gates
    )
    body = (
        "<table><thead><tr><th>gate</th><th>action</th><th>status</th><th>matches</th>"
        f"<th>dropped rows</th></tr></thead><tbody>{rows}</tbody></table>"
    )
    return section("gates", "Gates", body if view.gates else "<p class='note'>No gate ran.</p>")
