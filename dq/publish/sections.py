"""The dataset card's report sections: curation, split, contamination, rendering, token statistics.

Each takes the parsed manifest or report and returns Markdown lines; a report the run did not
write gives a line saying so, never an invented figure.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any


def _cell(value: object) -> str:
    """A Markdown table cell: pipes escaped, newlines flattened, so a value cannot break the table."""
    return str(value).replace("|", "\\|").replace("\n", " ")


def table(headers: Sequence[str], rows: Iterable[Sequence[object]]) -> list[str]:
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in rows]
    return lines


def reject_table(reasons: dict[str, int]) -> list[str]:
    """Rejected rows by rule (rows) and source (columns), from the manifest's ``source:rule`` counts."""
    by_rule: dict[str, dict[str, int]] = {}
    for key, count in reasons.items():
        source, _, rule = key.rpartition(":")
        by_rule.setdefault(rule, {})[source or "(none)"] = int(count)
    sources = sorted({s for counts in by_rule.values() for s in counts})
    rows = [
        [f"`{rule}`", *(counts.get(s, 0) for s in sources), sum(counts.values())]
        for rule, counts in sorted(by_rule.items(), key=lambda kv: (-sum(kv[1].values()), kv[0]))
    ]
    totals = [sum(c.get(s, 0) for c in by_rule.values()) for s in sources]
    rows.append(["**total**", *totals, sum(totals)])
    return table(["rule", *sources, "total"], rows)


def curation(manifest: dict[str, Any]) -> list[str]:
    counts = manifest.get("rows") or {}
    lines = ["## Curation", ""]
    lines += table(["rows", "count"], [[k, v] for k, v in counts.items()])
    reasons = manifest.get("reject_reasons") or {}
    lines += ["", "Rejected rows by the first rule each failed, per source:", ""]
    lines += reject_table(reasons) if reasons else ["No row was rejected."]
    lines += [
        "",
        "`rejected.jsonl` and `verdicts.jsonl` (every rule that fired, with its evidence) stay with the run.",
    ]
    return lines


def split_section(manifest: dict[str, Any]) -> list[str]:
    share = manifest.get("split_val_share") or {}
    groups = manifest.get("split_group_counts") or {}
    by_source = manifest.get("split_source_counts") or {}
    sources = sorted({s for counts in by_source.values() for s in counts})
    rows = [
        [side, sum(counts.values()), groups.get(side, "?"), *(counts.get(s, 0) for s in sources)]
        for side, counts in by_source.items()
    ]
    lines = ["## Split", "", f"> {manifest.get('split_rule', 'not recorded')}", ""]
    lines += [
        f"Splitter `{manifest.get('splitter', '?')}`, seed {manifest.get('seed', '?')}, target validation "
        f"share {share.get('target', manifest.get('val_ratio', '?'))}, actual {share.get('overall', '?')}.",
        "",
    ]
    lines += table(["split", "rows", "groups", *sources], rows)
    if share.get("by_source"):
        lines += [
            "",
            "Validation share by source: " + ", ".join(f"{k} {v}" for k, v in share["by_source"].items()),
        ]
    if share.get("off_target"):
        lines += ["", f"Off target: {json.dumps(share['off_target'], ensure_ascii=False)}"]
    return lines


def contamination(manifest: dict[str, Any], report: dict[str, Any] | None) -> list[str]:
    gates = [g for g in manifest.get("gates") or [] if isinstance(g, dict)]
    lines = ["## Contamination", "", f"Run status: **{manifest.get('status', 'unknown')}**.", ""]
    lines += table(
        ["check", "action", "status", "matches", "dropped rows"],
        [
            [
                f"`{g.get('name')}`",
                g.get("action"),
                g.get("status"),
                g.get("matches"),
                g.get("dropped_rows", 0),
            ]
            for g in gates
        ],
    )
    benchmarks = manifest.get("benchmarks") or {}
    if benchmarks:
        lines += ["", "Benchmarks compared:", ""]
        lines += table(
            ["benchmark", "source", "field", "rows"],
            [[n, f"`{b.get('source')}`", b.get("field"), b.get("rows")] for n, b in benchmarks.items()],
        )
    if manifest.get("contamination_dropped_rows"):
        lines += ["", f"Rows dropped by the gates: {manifest['contamination_dropped_rows']}."]
    if report:
        tv = report.get("train_val_overlap") or {}
        lines += [
            "",
            f"Normalization: {report.get('normalization_rule', 'not recorded')}.",
            f"Train/validation overlap: {tv.get('row_id_overlap_count', '?')} shared row ids, "
            f"{tv.get('problem_text_overlap_count', '?')} shared problems. Matches are listed by hash "
            "in `reports/contamination.json`.",
        ]
    return lines


def rendering(rendered: dict[str, Any] | None) -> list[str]:
    if not rendered:
        return ["## Rendering", "", "This run wrote no rendered split."]
    lines = ["## Rendering", ""]
    lines += table(
        ["what", "value"],
        [
            [k, f"`{rendered.get(k)}`"]
            for k in ("model_name", "renderer_name", "answer_style")
            if k in rendered
        ],
    )
    if rendered.get("system_prompt"):
        lines += [
            "",
            "System prompt of every rendered row:",
            "",
            "```text",
            str(rendered["system_prompt"]),
            "```",
        ]
    return lines


def _flat(data: dict[str, Any], prefix: str = "") -> dict[str, object]:
    """Scalars of a report, nested objects as dotted keys; lists (histograms) are left to the file."""
    out: dict[str, object] = {}
    for key, value in data.items():
        if isinstance(value, dict):
            out.update(_flat(value, f"{prefix}{key}."))
        elif not isinstance(value, list):
            out[f"{prefix}{key}"] = value
    return out


def tokens(report: dict[str, Any] | None) -> list[str]:
    lines = ["## Token statistics", ""]
    if not report:
        return lines + ["Not computed for this run (it wrote no `rendered/tokens.json`)."]
    sides = [s for s in ("train", "val") if isinstance(report.get(s), dict)]
    flat = {s: _flat(report[s]) for s in sides}
    keys = list(dict.fromkeys(k for s in sides for k in flat[s]))
    about = {k: v for k, v in report.items() if not isinstance(v, dict | list)}
    if about:
        lines += table(["what", "value"], [[k, f"`{v}`"] for k, v in about.items()]) + [""]
    if sides:
        lines += table(["statistic", *sides], [[k, *(flat[s].get(k, "") for s in sides)] for k in keys])
    cost = report.get("cost")
    if isinstance(cost, dict):
        lines += ["", "Training cost:", ""]
        lines += table(["what", "value"], list(_flat(cost).items()))
    lines += ["", "Full figures, with histograms: `rendered/tokens.json`."]
    return lines
