"""Run report sections: rejects by rule and source (chart and table) and examples per rule."""

from __future__ import annotations

from dq_reports.html.charts import stacked_barh
from dq_reports.html.page import esc, highlight, section, table
from dq_reports.html.view import Example, RunView


def rejects_section(view: RunView) -> str:
    """Rejected rows per rule, stacked by source."""
    if not view.rejects:
        return section("rejects", "Rejects by rule and source", "<p class='note'>No row was rejected.</p>")
    reasons = list(view.rejects)
    sources = sorted({s for per in view.rejects.values() for s in per})
    series = {s: [view.rejects[r].get(s, 0) for r in reasons] for s in sources}
    chart = stacked_barh(reasons, series, "Rejected rows by rule and source", "rows")
    rows = [
        [r, *(view.rejects[r].get(s, 0) for s in sources), sum(view.rejects[r].values())] for r in reasons
    ]
    body = chart + table(["rule", *sources, "total"], rows, numeric=range(1, len(sources) + 2))
    return section("rejects", "Rejects by rule and source", body)


def _example(ex: Example) -> str:
    answer = ""
    if ex.boxed is not None or ex.expected is not None:
        boxed = esc(ex.boxed) if ex.boxed is not None else "<i>no complete box</i>"
        answer = (
            f"<div class='kv'>boxed <b class='boxed'>{boxed}</b> vs expected "
            f"<b class='expected'>{esc(ex.expected or '')}</b></div>"
        )
    parts = [
        f"<div class='kv'>row <b>{ex.row_index}</b> · source <b>{esc(ex.source)}</b>"
        + (f" · matched <b>{esc(ex.detail)}</b>" if ex.detail else "")
        + "</div>",
        answer,
    ]
    for name in ("problem", "generated_solution"):
        parts.append(f"<div class='kv'>{name}</div>" + highlight(ex.fields[name], ex.marks.get(name, [])))
    if ex.boxed is None and ex.expected is None:
        parts.append(f"<div class='kv'>expected_answer <b>{esc(ex.fields['expected_answer'])}</b></div>")
    return f"<div class='card example'>{''.join(parts)}</div>"


def examples_section(view: RunView) -> str:
    """A few rejected rows per rule: the matched phrase or regex span marked, boxed vs expected."""
    if not view.examples:
        return section("examples", "Examples per rule", "<p class='note'>No rejected rows.</p>")
    blocks = []
    for reason, shown in view.examples.items():
        total = sum(view.rejects.get(reason, {}).values())
        blocks.append(f"<h3>{esc(reason)} <span class='note'>({len(shown)} of {total} shown)</span></h3>")
        blocks += [_example(ex) for ex in shown]
    note = "<p class='note'>The first rejected rows of each rule in input order; rejected.jsonl has all.</p>"
    return section("examples", "Examples per rule", note + "".join(blocks))
