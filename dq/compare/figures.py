"""The data rows of the study's eight figures and tables (SEED_CONTRACTS §7), as it wrote them.

Every value is the string the study's ``csv.DictWriter`` wrote: accuracies ``%.4f`` in tables and
``repr`` floats in chart data, deltas signed, token counts thousands-separated in fig_02. Each
builder returns ``(header, rows, inputs)``; ``inputs`` are the files the values came from.
"""

from __future__ import annotations

import statistics
from pathlib import Path
from typing import Any

from dq.compare.results import BASELINE, Study
from dq.compare.tables import (
    adapter_mb,
    disagreement,
    lr_points,
    nll_curves,
    primary_table,
    target_modules,
)

Figure = tuple[list[str], list[dict[str, str]], list[Path]]
NA = "n/a"

#: fig_07's header for the study's pair, verbatim.
FIG07_STUDY = ["Seed", "Attn correct, All-layer wrong", "All-layer correct, Attn wrong", "Δ (Attn − All)",
               "Both correct", "Both wrong"]  # fmt: skip


def lr_label(lr: float) -> str:
    """The study's ``f"{lr:.0e}"`` with the exponent's zero dropped: ``1e-4``, ``3e-4``, ``1e-3``."""
    return f"{lr:.0e}".replace("+0", "").replace("-0", "-")


def _evals_inputs(study: Study, predictions: bool = False) -> list[Path]:
    return [p for e in study.evals for p in e.inputs if predictions or p.name == "summary.json"]


def _train(study: Study, condition: str) -> list[Any]:
    return [t for t in study.train if t.condition == condition and not t.lr_selection]


def _mb(value: float | None) -> str:
    return f"{value:.1f}" if value is not None else NA


def fig_01(study: Study) -> Figure:
    """Primary comparison table: accuracy per condition, delta vs baseline, failures and tokens summed."""
    header = ["condition", "target_modules", "adapter_size_mb", "seeds", "mean_accuracy", "min_accuracy",
              "max_accuracy", "delta_vs_baseline_pp", "extraction_failures", "eval_tokens"]  # fmt: skip
    rows = []
    for r in primary_table(study):
        name = r["condition"]
        modules = target_modules(study, name) if name != BASELINE else None
        delta = r["delta_vs_baseline_pp"]
        rows.append(
            {
                "condition": name,
                "target_modules": ", ".join(modules) if modules else NA,
                "adapter_size_mb": _mb(adapter_mb(study, name)),
                "seeds": str(r["seeds"]),
                **{k: f"{r[k]:.4f}" for k in ("mean_accuracy", "min_accuracy", "max_accuracy")},
                "delta_vs_baseline_pp": f"{delta:+.3f}" if delta is not None else NA,
                "extraction_failures": str(r["extraction_failures"]),
                "eval_tokens": str(r["eval_tokens"]),
            }
        )
    train = [p for t in study.train if not t.lr_selection for p in t.inputs if p.name != "metrics.jsonl"]
    return header, rows, _evals_inputs(study) + train


def _per_run(values: list[int | None]) -> str:
    known = [v for v in values if v is not None]
    return f"{round(statistics.fmean(known)):,}" if known else NA


def fig_02(study: Study) -> Figure:
    """Cost/efficiency: adapter size and train/validation/eval tokens per run (means over seeds)."""
    header = ["condition", "adapter_size_mb", "train_tokens_per_run", "validation_tokens_per_run",
              "eval_tokens_per_run", "mean_accuracy", "extraction_failures"]  # fmt: skip
    rows = []
    for r in primary_table(study):
        name, runs = r["condition"], _train(study, r["condition"])
        rows.append(
            {
                "condition": name,
                "adapter_size_mb": _mb(adapter_mb(study, name)),
                "train_tokens_per_run": _per_run([t.train_tokens for t in runs]),
                "validation_tokens_per_run": _per_run([t.validation_tokens for t in runs]),
                "eval_tokens_per_run": f"{round(r['eval_tokens'] / r['seeds']):,}",
                "mean_accuracy": f"{r['mean_accuracy']:.4f}",
                "extraction_failures": str(r["extraction_failures"]),
            }
        )
    train = [p for t in study.train if not t.lr_selection for p in t.inputs if p.name != "metrics.jsonl"]
    return header, rows, _evals_inputs(study) + train


def fig_03(study: Study) -> Figure:
    """Accuracy chart data: the baseline, each seed, each condition's mean."""
    rows = []
    for r in primary_table(study):
        if r["condition"] == BASELINE:
            rows.append(
                {"kind": "baseline", "condition": BASELINE, "seed": "", "accuracy": repr(r["mean_accuracy"])}
            )
            continue
        for seed, acc in zip(r["seed_values"], r["seed_accuracies"], strict=True):
            rows.append(
                {"kind": "seed", "condition": r["condition"], "seed": _s(seed), "accuracy": repr(acc)}
            )
        rows.append(
            {"kind": "mean", "condition": r["condition"], "seed": "", "accuracy": repr(r["mean_accuracy"])}
        )
    return ["kind", "condition", "seed", "accuracy"], rows, _evals_inputs(study)


def _s(seed: Any) -> str:
    return "" if seed is None else str(seed)


def fig_04(study: Study) -> Figure:
    """Paired seed slope data: per seed, the four cells of the paired contingency table."""
    pair, got = disagreement(study)
    if pair is None:
        return [], [], []
    a, b = pair
    header = ["seed", f"{a}_only", f"{b}_only", "both_correct", "both_wrong", "disagreement_delta"]
    rows = [dict(zip(header, map(str, (r["seed"], r["first_only"], r["second_only"], r["both_correct"],
                                        r["both_wrong"], r["delta"])), strict=True)) for r in got]  # fmt: skip
    return header, rows, _pair_inputs(study, pair)


def _pair_inputs(study: Study, pair: tuple[str, str]) -> list[Path]:
    return [p for e in study.evals if e.condition in pair for p in e.inputs if p.name == "predictions.jsonl"]


def fig_05(study: Study) -> Figure:
    """Validation NLL by step: every main run (``kind=seed``), then each condition's mean."""
    rows = []
    for c in nll_curves(study):  # per condition: its seeds, then its mean (the study's order)
        kind = "mean" if c["seed"] is None else "seed"
        for step, value in zip(c["steps"], c["values"], strict=True):
            rows.append({"kind": kind, "condition": c["condition"], "seed": _s(c["seed"]), "step": str(step),
                         "validation_mean_nll": repr(value)})  # fmt: skip
    inputs = [p for t in study.train if not t.lr_selection for p in t.inputs if p.name == "metrics.jsonl"]
    return ["kind", "condition", "seed", "step", "validation_mean_nll"], rows, inputs


def fig_06(study: Study) -> Figure:
    """LR selection: best validation NLL per condition and learning rate."""
    rows = [{"condition": p["condition"], "lr": lr_label(p["lr"]), "validation_mean_nll": repr(p["nll"])}
            for p in lr_points(study)]  # fmt: skip
    inputs = [p for t in study.train if t.lr_selection for p in t.inputs]
    return ["condition", "lr", "validation_mean_nll"], rows, inputs


def fig07_header(pair: tuple[str, str]) -> list[str]:
    if pair == ("attention_only", "all_layer"):
        return list(FIG07_STUDY)
    a, b = pair
    return ["Seed", f"{a} correct, {b} wrong", f"{b} correct, {a} wrong", f"Δ ({a} − {b})", "Both correct",
            "Both wrong"]  # fmt: skip


def fig_07(study: Study) -> Figure:
    """Prediction disagreement table: fig_04's counts with a signed delta, in the study's wording."""
    pair, got = disagreement(study)
    if pair is None:
        return [], [], []
    header = fig07_header(pair)
    rows = [dict(zip(header, (str(r["seed"]), str(r["first_only"]), str(r["second_only"]), f"{r['delta']:+d}",
                              str(r["both_correct"]), str(r["both_wrong"])), strict=True)) for r in got]  # fmt: skip
    return header, rows, _pair_inputs(study, pair)


#: The probe's request shapes in the study's order (§6.11); a summary's sorted keys lose it.
SHAPES = ("single_datum_calls", "batched_datums", "batched_datums_pipelined")


def _shape_order(shape: str) -> tuple[int, str]:
    return (SHAPES.index(shape) if shape in SHAPES else len(SHAPES), shape)


def fig_08(study: Study) -> Figure:
    """Throughput probe: seconds per optimizer step per request shape (every probe run, in order)."""
    rows = [{"request_shape": shape, "seconds_per_optimizer_step": repr(v)} for probe in study.probes
            for shape, v in sorted(probe.seconds.items(), key=lambda kv: _shape_order(kv[0]))]  # fmt: skip
    return ["request_shape", "seconds_per_optimizer_step"], rows, [p for r in study.probes for p in r.inputs]


BUILDERS = {
    "fig_01_primary_comparison_table": fig_01,
    "fig_02_cost_efficiency_table": fig_02,
    "fig_03_gsm8k_accuracy_chart": fig_03,
    "fig_04_paired_seed_slope": fig_04,
    "fig_05_validation_nll_diagnostic": fig_05,
    "fig_06_lr_selection": fig_06,
    "fig_07_prediction_disagreement_table": fig_07,
    "fig_08_throughput_probe": fig_08,
}
TABLES = (
    "fig_01_primary_comparison_table",
    "fig_02_cost_efficiency_table",
    "fig_07_prediction_disagreement_table",
)
