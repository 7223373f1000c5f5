"""The study's comparison tables, computed from the result records (fig_01, fig_04/07, fig_05, fig_06)."""

from __future__ import annotations

import statistics
from typing import Any

from dq.compare.results import BASELINE, EvalRun, Study, TrainRun
from dq.errors import DqError

#: The study's order; other conditions follow alphabetically.
ORDER = (BASELINE, "attention_only", "all_layer")


def _order(name: str) -> tuple[int, str]:
    return (ORDER.index(name) if name in ORDER else len(ORDER), name)


def conditions(study: Study) -> list[str]:
    return sorted({e.condition for e in study.evals}, key=_order)


def primary_table(study: Study) -> list[dict[str, Any]]:
    """fig_01: per condition, seeds, mean/min/max accuracy, delta vs baseline (pp), failures and tokens summed."""
    base = [e for e in study.evals if e.condition == BASELINE]
    if len(base) > 1:
        raise DqError(
            f"{len(base)} baseline evaluations given ({', '.join(str(e.path) for e in base)}); pass one"
        )
    baseline = base[0].accuracy if base else None
    rows = []
    for name in conditions(study):
        runs = sorted((e for e in study.evals if e.condition == name), key=lambda e: (e.seed is None, e.seed))
        accs = [e.accuracy for e in runs]
        mean = statistics.fmean(accs)
        rows.append(
            {
                "condition": name,
                "seeds": len(runs),
                "seed_values": [e.seed for e in runs],
                "seed_accuracies": accs,
                "mean_accuracy": mean,
                "min_accuracy": min(accs),
                "max_accuracy": max(accs),
                "delta_vs_baseline_pp": round((mean - baseline) * 100, 3) if baseline is not None else None,
                "extraction_failures": sum(e.extraction_failures for e in runs),
                "eval_tokens": sum(e.tokens for e in runs),
                "checkpoints": [e.checkpoint for e in runs],
            }
        )
    return rows


def by_seed(study: Study, condition: str) -> dict[Any, EvalRun]:
    return {e.seed: e for e in study.evals if e.condition == condition and e.predictions is not None}


def _check_counts(a: EvalRun, b: EvalRun, counts: dict[str, int]) -> None:
    """The four cells add up to each summary's total, and each side's right answers to its ``correct``."""
    items = sum(counts.values())
    for run, right in ((a, counts["first_only"]), (b, counts["second_only"])):
        if items != run.total:
            raise DqError(
                f"{run.path}: predictions hold {items} items but summary.json says total {run.total}"
            )
        if right + counts["both_correct"] != run.correct:
            raise DqError(
                f"{run.path}: predictions have {right + counts['both_correct']} correct but summary.json "
                f"says {run.correct}; the JSONL/JSON records disagree"
            )


def adapter_mb(study: Study, condition: str) -> float | None:
    """Mean exported adapter size (MB, 10^6 bytes) of the condition's training runs, if recorded."""
    sizes = [t.adapter_bytes for t in study.train if t.condition == condition and not t.lr_selection]
    known = [s for s in sizes if s is not None]
    return statistics.fmean(known) / 1e6 if known else None


def target_modules(study: Study, condition: str) -> list[str] | None:
    """The condition's LoRA modules: recorded in its runs' manifests, else the named preset's."""
    for t in study.train:
        if t.condition == condition and t.target_modules:
            return t.target_modules
    from dq.api.train import LoraTargets  # the definition of the study's two named conditions

    if condition in ("attention_only", "all_layer"):
        return list(LoraTargets.parse(condition).modules)
    return None


def disagreement(study: Study) -> tuple[tuple[str, str] | None, list[dict[str, Any]]]:
    """fig_04/07: for the first two tuned conditions, per seed, items only one of them got right."""
    tuned = [c for c in conditions(study) if c != BASELINE]
    if len(tuned) < 2:
        return None, []
    first, second = tuned[0], tuned[1]
    a, b = by_seed(study, first), by_seed(study, second)
    rows = []
    for seed in sorted(set(a) & set(b), key=lambda s: (s is None, s)):
        pa, pb = a[seed].predictions or {}, b[seed].predictions or {}
        if set(pa) != set(pb):
            raise DqError(
                f"{a[seed].path} and {b[seed].path}: predictions cover different benchmark_index sets "
                f"({len(pa)} vs {len(pb)} items); seed {seed} cannot be paired"
            )
        counts = {"first_only": 0, "second_only": 0, "both_correct": 0, "both_wrong": 0}
        for index, ok in pa.items():
            other = pb[index]
            key = "both_correct" if ok and other else "both_wrong" if not (ok or other) else None
            counts[key or ("first_only" if ok else "second_only")] += 1
        _check_counts(a[seed], b[seed], counts)
        rows.append({"seed": seed, **counts, "delta": counts["first_only"] - counts["second_only"]})
    return (first, second), rows


def nll_curves(study: Study) -> list[dict[str, Any]]:
    """fig_05: validation NLL by step per main training run, then each condition's mean over seeds."""
    main = sorted((t for t in study.train if not t.lr_selection), key=lambda t: (_order(t.condition), t.seed))
    curves: list[dict[str, Any]] = []
    for name in dict.fromkeys(t.condition for t in main):
        runs: list[TrainRun] = [t for t in main if t.condition == name]
        for t in runs:
            steps = sorted(t.val_nll)
            curves.append(
                {"condition": name, "seed": t.seed, "steps": steps, "values": [t.val_nll[s] for s in steps]}
            )
        common = sorted(set.intersection(*(set(t.val_nll) for t in runs)))
        means = [statistics.fmean(t.val_nll[s] for t in runs) for s in common]
        curves.append({"condition": name, "seed": None, "steps": common, "values": means})
    return curves


def best_checkpoints(study: Study) -> list[dict[str, Any]]:
    """Each main run's selected step: lowest validation NLL, exact ties to the later step (§6.6)."""
    out = []
    for t in sorted(study.train, key=lambda t: (_order(t.condition), t.seed)):
        if t.lr_selection or not t.val_nll:
            continue
        step, nll = min(t.val_nll.items(), key=lambda kv: (kv[1], -kv[0]))
        out.append({"run_id": t.run_id, "condition": t.condition, "seed": t.seed, "step": step, "nll": nll,
                    "recorded_best_step": t.best_step})  # fmt: skip
    return out


def lr_points(study: Study) -> list[dict[str, Any]]:
    """fig_06: best validation NLL per (condition, LR) of the LR-selection runs (ties: earlier step)."""
    out = []
    for t in study.train:
        if t.lr_selection and t.val_nll and t.peak_lr is not None:
            nll = min(t.val_nll.values())
            out.append({"condition": t.condition, "lr": t.peak_lr, "nll": nll, "run_id": t.run_id})
    return sorted(out, key=lambda p: (_order(p["condition"]), p["lr"]))
