"""The study's pre-registered verdict, and (beyond the study) a paired test of the condition difference.

The verdict is the study's rule: the best tuned condition wins only if its mean accuracy beats the
runner-up by at least the threshold (0.01 = 1 point); otherwise the comparison is inconclusive.
The paired test is added here and is diagnostic only: it never changes the verdict.
"""

from __future__ import annotations

from math import comb
from typing import Any

from dq.compare.results import BASELINE, Study
from dq.compare.tables import by_seed, primary_table

DEFAULT_THRESHOLD = 0.01
BOOTSTRAP_RESAMPLES = 10_000
BOOTSTRAP_SEED = 20260507
CAVEAT = (
    "N={seeds} seeds; items are not independent across seeds (every seed answers the same "
    "{items} questions). McNemar pools the per-seed discordant pairs as if they were independent, "
    "which overstates the evidence; the bootstrap resamples questions (the same draw for every "
    "seed), so it reflects question sampling only, not seed-to-seed training variance. Diagnostic "
    "only: the pre-registered threshold rule decides."
)


def verdict(study: Study, threshold: float = DEFAULT_THRESHOLD) -> dict[str, Any]:
    """``winner: X`` when the best tuned mean beats the runner-up by ``>= threshold``, else inconclusive."""
    tuned = sorted(
        (r for r in primary_table(study) if r["condition"] != BASELINE), key=lambda r: -r["mean_accuracy"]
    )
    if len(tuned) < 2:
        return {"threshold": threshold, "verdict": "n/a", "reason": "needs two tuned conditions"}
    best, second = tuned[0], tuned[1]
    gap = best["mean_accuracy"] - second["mean_accuracy"]
    won = gap >= threshold
    rule = "won" if won else "is below"
    return {
        "threshold": threshold,
        "best": best["condition"],
        "runner_up": second["condition"],
        "gap": gap,
        "gap_pp": round(gap * 100, 3),
        "verdict": f"winner: {best['condition']}" if won else "inconclusive",
        "reason": (
            f"{best['condition']} mean {best['mean_accuracy']:.4f} vs {second['condition']} "
            f"{second['mean_accuracy']:.4f}: gap {gap * 100:.3f} points {rule} the pre-registered "
            f"threshold of {threshold * 100:g} point{'s' if threshold != 0.01 else ''}"
        ),
    }


def mcnemar_exact(b: int, c: int) -> float:
    """Two-sided exact McNemar p-value: binomial(b + c, 1/2) tail at min(b, c), doubled, capped at 1."""
    n = b + c
    if n == 0:
        return 1.0
    tail = sum(comb(n, k) for k in range(min(b, c) + 1))
    return min(1.0, 2 * tail / 2**n)


def paired_test(
    study: Study,
    pair: tuple[str, str] | None,
    resamples: int = BOOTSTRAP_RESAMPLES,
    seed: int = BOOTSTRAP_SEED,
) -> dict[str, Any] | None:
    """McNemar (pooled discordant pairs) and a paired item bootstrap of the mean accuracy difference."""
    if pair is None:
        return None
    import numpy as np

    a, b = by_seed(study, pair[0]), by_seed(study, pair[1])
    seeds = sorted(set(a) & set(b), key=lambda s: (s is None, s))
    if not seeds:
        return None
    items = sorted(a[seeds[0]].predictions or {})
    # rows: seeds, columns: items; the index sets were checked equal by tables.disagreement.
    first = np.array([[(a[s].predictions or {})[i] for i in items] for s in seeds], dtype=np.int8)
    second = np.array([[(b[s].predictions or {})[i] for i in items] for s in seeds], dtype=np.int8)
    only_a = int(((first == 1) & (second == 0)).sum())
    only_b = int(((first == 0) & (second == 1)).sum())
    per_item = (first - second).mean(axis=0)  # each question's difference averaged over seeds
    rng = np.random.default_rng(seed)
    chunks = [min(1000, resamples - i) for i in range(0, resamples, 1000)]  # bounded memory
    means = np.concatenate([per_item[rng.integers(0, len(items), size=(n, len(items)))].mean(axis=1)
                            for n in chunks])  # fmt: skip
    low, high = (float(x) for x in np.percentile(means, [2.5, 97.5]))
    return {
        "pair": list(pair),
        "seeds": len(seeds),
        "items": len(items),
        "mcnemar": {
            "first_only": only_a,
            "second_only": only_b,
            "discordant": only_a + only_b,
            "p_value": mcnemar_exact(only_a, only_b),
            "method": "exact binomial, two-sided, discordant pairs pooled over seeds",
        },
        "bootstrap": {
            "mean_difference": float(per_item.mean()),
            "ci95": [low, high],
            "resamples": resamples,
            "seed": seed,
            "method": "paired bootstrap over benchmark_index (same draw for every seed), percentile 95%",
        },
        "caveat": CAVEAT.format(seeds=len(seeds), items=len(items)),
    }


def contract_mismatches(study: Study) -> list[dict[str, Any]]:
    """Each contract hash that differs between inputs, with the runs behind each value (MISTAKE-20260507-001)."""
    out = []
    keys = sorted({k for e in study.evals for k in e.contracts})
    for key in keys:
        values: dict[str, list[str]] = {}
        for e in study.evals:
            values.setdefault(e.contracts.get(key, "not recorded"), []).append(e.run_id)
        if len(values) > 1:
            out.append({"key": key, "values": {v: sorted(runs) for v, runs in sorted(values.items())}})
    return out
