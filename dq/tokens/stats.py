"""Token statistics of a rendered split: the study's render-sanity keys (SEED_CONTRACTS §4.4) and more.

Four renders per row: the full training sequence and the prompt (loss-mask boundary), each with
and without the system prompt. The study's keys are reproduced exactly, including its rounding
(means to 2 dp) and ``statistics.median`` (a float for an even row count, an int for an odd one).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

#: Per-row counts: a sequence of ints or an int64 array.
Counts = Sequence[int] | npt.NDArray[np.int64]
PERCENTILES = (50, 90, 95, 99)
HISTOGRAM_BINS = 32


@dataclass(frozen=True)
class SplitTokens:
    """Per-row token counts of one split (all four sequences have one entry per row)."""

    full_with_system: Counts
    full_without_system: Counts
    prompt_with_system: Counts
    prompt_without_system: Counts


def concat_tokens(parts: Sequence[SplitTokens]) -> SplitTokens:
    """One split's counts from the counts of its batches, in order."""
    fields = ("full_with_system", "full_without_system", "prompt_with_system", "prompt_without_system")
    joined = [np.concatenate([np.asarray(getattr(p, f), dtype=np.int64) for p in parts]) if parts
              else np.zeros(0, dtype=np.int64) for f in fields]  # fmt: skip
    return SplitTokens(*joined)


def _median(values: np.ndarray) -> int | float:
    """``statistics.median`` of integers: the middle one, or the mean of the middle two (a float)."""
    ordered = np.sort(values)
    half = len(ordered) // 2
    if len(ordered) % 2:
        return int(ordered[half])
    return (int(ordered[half - 1]) + int(ordered[half])) / 2


def _sums_and_means(kind: str, with_sys: Counts, without: Counts) -> dict[str, object]:
    with_arr, without_arr = np.asarray(with_sys, dtype=np.int64), np.asarray(without, dtype=np.int64)
    rows = len(with_arr)
    total_with, total_without = int(with_arr.sum()), int(without_arr.sum())
    return {
        f"{kind}_tokens_with_system": total_with,
        f"{kind}_tokens_without_system": total_without,
        f"{kind}_token_delta": total_with - total_without,
        f"{kind}_mean_with_system": round(total_with / rows, 2),
        f"{kind}_mean_without_system": round(total_without / rows, 2),
        f"{kind}_mean_delta": round((total_with - total_without) / rows, 2),
        f"{kind}_median_delta": _median(with_arr - without_arr),
    }


def _delta_range(tokens: SplitTokens) -> dict[str, int]:
    full = np.asarray(tokens.full_with_system, dtype=np.int64) - np.asarray(
        tokens.full_without_system, dtype=np.int64
    )
    prompt = np.asarray(tokens.prompt_with_system, dtype=np.int64) - np.asarray(
        tokens.prompt_without_system, dtype=np.int64
    )
    return {
        "full_min": int(full.min()),
        "full_max": int(full.max()),
        "prompt_min": int(prompt.min()),
        "prompt_max": int(prompt.max()),
    }


def study_keys(tokens: SplitTokens) -> dict[str, object]:
    """Exactly the keys of the study's render-sanity report for one split (§4.4)."""
    out: dict[str, object] = {"rows": len(tokens.full_with_system)}
    out.update(_sums_and_means("full", tokens.full_with_system, tokens.full_without_system))
    out.update(_sums_and_means("prompt", tokens.prompt_with_system, tokens.prompt_without_system))
    out["delta_range"] = _delta_range(tokens)
    return out


def distribution(lengths: Counts, max_length: int | None) -> dict[str, object]:
    """Percentiles, max, a fixed-bin histogram and the rows over ``max_length`` of the full render."""
    values = np.asarray(lengths, dtype=np.int64)
    # "lower" keeps every percentile a real row length (an int), whatever the row count.
    pct = {f"p{p}": int(np.percentile(values, p, method="lower")) for p in PERCENTILES}
    counts, edges = np.histogram(values, bins=min(HISTOGRAM_BINS, max(1, int(np.unique(values).size))))
    return {
        **pct,
        "min": int(values.min()),
        "max": int(values.max()),
        "max_length": max_length,
        "rows_over_max_length": int((values > max_length).sum()) if max_length else 0,
        "histogram": {"edges": [round(float(e), 2) for e in edges], "counts": counts.tolist()},
    }


def split_report(tokens: SplitTokens, max_length: int | None) -> dict[str, object]:
    """The study's keys plus the distribution and the loss/prompt token split (with the system prompt).

    ``loss_tokens`` are the tokens that carry loss in one epoch: each row's full render after its
    prompt prefix (the answer, ``<|im_end|>`` and the newline). ``datum_tokens`` is what one epoch
    sends to training: the full render less the one-token shift per row (§6.9).
    """
    if not len(tokens.full_with_system):
        return {"rows": 0}
    full = np.asarray(tokens.full_with_system, dtype=np.int64)
    prompt = np.asarray(tokens.prompt_with_system, dtype=np.int64)
    report = study_keys(tokens)
    report.update(distribution(full, max_length))
    report["prompt_tokens"] = int(prompt.sum())
    report["loss_tokens"] = int(full.sum()) - int(prompt.sum())
    report["datum_tokens"] = int(full.sum()) - len(full)
    return report
