"""Run report sections: token lengths, cost and capacity (rendered/tokens.json) and calibration."""

from __future__ import annotations

from typing import Any

from dq_reports.html.charts import histogram
from dq_reports.html.page import esc, section, table

STATS = ("rows", "full_mean_with_system", "p50", "p90", "p95", "p99", "max", "loss_tokens")


def _flat(prefix: str, value: Any) -> list[tuple[str, Any]]:
    """Nested dicts as dotted keys, lists shortened: any cost/capacity shape reads as a table."""
    if isinstance(value, dict):
        return [row for k, v in value.items() for row in _flat(f"{prefix}.{k}" if prefix else str(k), v)]
    if isinstance(value, list) and len(value) > 12:
        value = f"[{len(value)} values]"
    return [(prefix, value)]


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:,.4g}" if abs(value) < 1000 else f"{value:,.0f}"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return str(value)


def tokens_section(tokens: dict[str, Any] | None) -> str:
    """Length statistics per split, the histogram, and every other key (cost, capacity) as a table."""
    if not tokens:
        note = "No token report in this run (rendered/tokens.json is written by the dq.tokens stage)."
        return section("tokens", "Token lengths, cost and capacity", f"<p class='note'>{esc(note)}</p>")
    sides = [s for s in ("train", "val") if isinstance(tokens.get(s), dict)]
    stats = [[s, *(_fmt(tokens[s].get(k, "")) for k in STATS)] for s in sides]
    body = table(["split", *STATS], stats, numeric=range(1, len(STATS) + 1)) if sides else ""
    hists = {
        s: (tokens[s]["histogram"].get("edges", []), tokens[s]["histogram"].get("counts", []))
        for s in sides
        if isinstance(tokens[s].get("histogram"), dict)
    }
    if hists:
        body += histogram(hists, "Rendered row length (tokens)", "tokens per row")
    for key, value in tokens.items():
        if key in sides:
            continue
        rows = [(k, _fmt(v)) for k, v in _flat("", value)]
        body += f"<h3>{esc(key)}</h3>" + table(["what", "value"], rows, numeric=(1,))
    return section("tokens", "Token lengths, cost and capacity", body)


def calibration_section(calibration: dict[str, Any] | None) -> str:
    """Recall per planted kind and check, and clean rows flagged (dq calibrate's calibration.json)."""
    if not calibration or not isinstance(calibration.get("checks"), dict):
        return ""
    checks = calibration["checks"]
    kinds = list(dict.fromkeys(k for c in checks.values() for k in c.get("recall", {})))
    rows = [
        [kind, *(f"{(c['recall'].get(kind) or 0) * 100:.1f}%" for c in checks.values())] for kind in kinds
    ]
    rows.append(["clean rows flagged", *(c.get("clean_rows_flagged", "") for c in checks.values())])
    body = (
        f"<p>{esc(calibration.get('planted_rows', '?'))} planted rows in "
        f"{esc(calibration.get('clean_rows', '?'))} clean problems.</p>"
        + table(["planted kind", *checks], rows, numeric=range(1, len(checks) + 1))
    )
    if calibration.get("limits"):
        body += f"<p class='note'>Not measured: {esc(calibration['limits'])}</p>"
    return section("calibration", "Calibration", body)
