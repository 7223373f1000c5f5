"""Markdown of the comparison report: captions, GitHub tables (§7), fig_07's examples, the summary page."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from dq.compare.results import Study
from dq.compare.tables import by_seed

SEED_CAVEAT = "N=3 seeds per condition; intervals show min/max range across seeds, not statistical confidence intervals."
TITLES = {
    "fig_01_primary_comparison_table": "Primary comparison: GSM8K accuracy by condition",
    "fig_02_cost_efficiency_table": "Cost and efficiency per run",
    "fig_03_gsm8k_accuracy_chart": "GSM8K accuracy by condition and seed",
    "fig_04_paired_seed_slope": "Paired disagreement per seed",
    "fig_05_validation_nll_diagnostic": "Validation mean NLL by step",
    "fig_06_lr_selection": "LR selection: best validation NLL per learning rate",
    "fig_07_prediction_disagreement_table": "Prediction disagreement per seed",
    "fig_08_throughput_probe": "Throughput probe: seconds per optimizer step",
}
CAPTIONS = {
    "fig_01_primary_comparison_table": "Mean/min/max over seeds; delta = (mean − baseline) × 100 points; "
    "extraction failures and eval tokens summed over seeds. " + SEED_CAVEAT,
    "fig_02_cost_efficiency_table": "Tokens per run are means over a condition's runs; train and validation "
    "tokens from each main run's summary, eval tokens from its evaluations. Tinker reports no cost.",
    "fig_03_gsm8k_accuracy_chart": "Points: one seed each; bars: min/max range around the mean; dashed: "
    "baseline. " + SEED_CAVEAT,
    "fig_04_paired_seed_slope": "Per seed, items (joined on benchmark_index) that only one condition "
    "answered correctly. " + SEED_CAVEAT,
    "fig_05_validation_nll_diagnostic": "Validation mean NLL (split *_val) at each validation step; thin "
    "lines are seeds, thick lines condition means. Selection: lowest NLL, exact ties to the later step.",
    "fig_06_lr_selection": "Best validation NLL of each LR-selection run; selection uses validation NLL "
    "only, never GSM8K.",
    "fig_07_prediction_disagreement_table": "Per seed, the paired contingency of the two conditions on the "
    "same benchmark items (index sets asserted equal; the four cells sum to the item count).",
    "fig_08_throughput_probe": "Mean seconds per optimizer step of each passing request shape.",
}
EXAMPLE_CHARS = 600


def table(header: list[str], rows: list[dict[str, str]]) -> str:
    """A GitHub table; ``|`` in a cell is escaped."""

    def line(cells: list[str]) -> str:
        return "| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |"

    return "\n".join(
        [line(header), line(["---"] * len(header)), *(line([r[h] for h in header]) for r in rows)]
    )


def figure_md(name: str, header: list[str], rows: list[dict[str, str]], is_table: bool) -> str:
    """``### title``, the table (tables only) and the italic caption."""
    body = [f"### {TITLES[name]}", ""]
    if is_table:
        body += [table(header, rows), ""]
    body.append(f"*{CAPTIONS[name]}*")
    return "\n".join(body) + "\n"


def _row(path: Path, index: int) -> dict[str, Any]:
    with path.open(encoding="utf-8") as f:
        for line in f:
            row = json.loads(line) if line.strip() else {}
            if row.get("benchmark_index") == index:
                return dict(row)
    return {}


def _example(run_path: Path, index: int, label: str) -> list[str]:
    row = _row(run_path / "predictions.jsonl", index)
    text = str(row.get("generated_text") or "").replace("<|im_end|>", "")
    if len(text) > EXAMPLE_CHARS:
        text = text[:EXAMPLE_CHARS] + " …[trimmed]"
    return [
        f"- {label}: benchmark_index {index}; reference {row.get('reference_answer', 'n/a')!s}, "
        f"extracted {row.get('extracted_answer')!s}",
        *([f"  > {line}" for line in text.splitlines()] if text else ["  > (no generated_text recorded)"]),
    ]


def disagreement_examples(study: Study, pair: tuple[str, str]) -> str:
    """One example per direction per seed: the lowest benchmark_index, ``<|im_end|>`` stripped."""
    a, b = by_seed(study, pair[0]), by_seed(study, pair[1])
    out = ["", "#### Examples (lowest benchmark_index per direction and seed)", ""]
    for seed in sorted(set(a) & set(b), key=lambda s: (s is None, s)):
        pa, pb = a[seed].predictions or {}, b[seed].predictions or {}
        for first, second, run in ((pair[0], pair[1], a[seed]), (pair[1], pair[0], b[seed])):
            mine, theirs = (pa, pb) if run is a[seed] else (pb, pa)
            hits = sorted(i for i in mine if mine[i] and not theirs[i])
            if hits:
                out += _example(
                    run.path, hits[0], f"seed {seed}, {first} correct, {second} wrong ({run.run_id})"
                )
    return "\n".join(out) + "\n"


def summary_md(data: dict[str, Any]) -> str:
    """README.md of the report folder: verdict, paired test, contract warnings, figures written/skipped."""
    v, out = data["verdict"], ["# Study comparison", ""]
    for w in data["contract_mismatches"]:
        out += [f"> **WARNING: inputs were produced under different contracts: `{w['key']}` differs.**"]
        out += [f"> - `{value}`: {', '.join(runs)}" for value, runs in w["values"].items()] + [""]
    out += [f"**Verdict: {v['verdict']}** ({v['reason']}).", ""]
    test = data.get("paired_test")
    if test:
        m, bs = test["mcnemar"], test["bootstrap"]
        first, second = test["pair"]
        out += [
            "## Paired test (beyond the study; diagnostic only)",
            "",
            f"- McNemar exact: {first} only {m['first_only']}, {second} only {m['second_only']} "
            f"(pooled over {test['seeds']} seeds): p = {m['p_value']:.4f}",
            f"- Paired bootstrap of the mean accuracy difference ({first} − {second}): "
            f"{bs['mean_difference'] * 100:+.3f} points, 95% interval [{bs['ci95'][0] * 100:+.3f}, "
            f"{bs['ci95'][1] * 100:+.3f}] ({bs['resamples']} resamples, seed {bs['seed']})",
            f"- Caveat: {test['caveat']}",
            "",
        ]
    out += ["## Figures and tables", ""]
    out += [f"- `{name}/`: {TITLES[name]}" for name in data["figures"]]
    out += [f"- skipped `{name}`: {why}" for name, why in data["skipped"].items()]
    return "\n".join(out) + "\n"
