"""The study's training protocol as pure functions (SEED_CONTRACTS §6.4–6.6, §6.9–6.10); no torch.

Learning-rate schedule, batch boundaries, validation/checkpoint cadence, token-weighted NLL,
checkpoint selection, the token-count identity and the LR-selection grid. Every function is
deterministic and is tested against the study's logged values.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

BATCH_SIZE = 8
VALIDATION_BATCH_SIZE = 16
WARMUP_FRACTION = 0.03
MIN_LR_FRACTION = 0.10
VALIDATION_INTERVAL = 1000
SKIP_BEFORE_EPOCH_END = 250
CHECKPOINT_TTL_SECONDS = 604800
SELECTION_RULE = "lowest validation_mean_nll; exact ties choose later checkpoint"

LR_SELECT_TRAIN_ROWS = 512
LR_SELECT_VAL_ROWS = 128
LR_SELECT_SEED = 7
LR_SELECT_GRID = (1e-4, 3e-4, 1e-3)
LR_SELECT_VALIDATE_EVERY = 32
CONDITIONS = ("attention_only", "all_layer")


@dataclass(frozen=True)
class Schedule:
    """Linear warmup then cosine decay to ``min_lr`` (§6.5); ``constant=True`` gives ``peak_lr`` always."""

    peak_lr: float
    total_steps: int
    warmup_fraction: float = WARMUP_FRACTION
    min_lr_fraction: float = MIN_LR_FRACTION
    constant: bool = False

    @property
    def min_lr(self) -> float:
        """``peak_lr * 0.10`` (float product as the study computed it: 3e-4 gives 2.9999999999999997e-05)."""
        return self.peak_lr if self.constant else self.peak_lr * self.min_lr_fraction

    @property
    def warmup_steps(self) -> int:
        """``round(total_steps * 0.03)``; 6338 steps give 190."""
        return 0 if self.constant else round(self.total_steps * self.warmup_fraction)

    def lr(self, step: int) -> float:
        """Learning rate at 1-based ``step``, bit-identical to the study's logged ``current_lr``."""
        if self.constant:
            return self.peak_lr
        warmup = self.warmup_steps
        if warmup > 0 and step <= warmup:
            return self.peak_lr * step / warmup
        if self.total_steps <= warmup:
            return self.peak_lr
        progress = (step - warmup) / (self.total_steps - warmup)
        return self.min_lr + (self.peak_lr - self.min_lr) * 0.5 * (1 + math.cos(math.pi * progress))


def steps_per_epoch(rows: int, batch_size: int = BATCH_SIZE) -> int:
    """``ceil(rows / batch_size)``: the final partial batch is a step of its own."""
    if rows <= 0:
        raise ValueError("no training rows")
    return -(-rows // batch_size)


def total_steps(rows: int, epochs: int, max_steps: int | None = None, batch_size: int = BATCH_SIZE) -> int:
    """``epochs * steps_per_epoch``, capped by ``max_steps`` when given."""
    full = epochs * steps_per_epoch(rows, batch_size)
    return full if max_steps is None else min(full, max_steps)


def batch_bounds(step: int, rows: int, batch_size: int = BATCH_SIZE) -> tuple[int, int]:
    """Row range ``[start, end)`` of 1-based ``step``: file order, same batches every epoch.

    The last batch of an epoch is short (25,348 rows → 4 rows) and never wraps to the start
    (MISTAKE-20260507-002).
    """
    index = (step - 1) % steps_per_epoch(rows, batch_size)
    start = index * batch_size
    return start, min(start + batch_size, rows)


def epoch_of(step: int, rows: int, batch_size: int = BATCH_SIZE) -> int:
    """1-based epoch that ``step`` belongs to."""
    return (step - 1) // steps_per_epoch(rows, batch_size) + 1


def validation_steps(
    total: int,
    per_epoch: int,
    epochs: int,
    every: int = VALIDATION_INTERVAL,
    skip_before_epoch_end: int = SKIP_BEFORE_EPOCH_END,
) -> list[int]:
    """Validation/checkpoint steps (§6.6): epoch ends, every ``every``-th step, and the last step.

    An interval step lying 1 to ``skip_before_epoch_end`` steps before an epoch end is dropped
    (the epoch end validates soon anyway). 2 × 3169 steps give
    ``[1000, 2000, 3169, 4000, 5000, 6000, 6338]``.
    """
    ends = {min(e * per_epoch, total) for e in range(1, epochs + 1)}
    kept = {
        step
        for step in range(every, total + 1, every)
        if not any(0 < end - step <= skip_before_epoch_end for end in ends)
    }
    return sorted(ends | kept | {total})


def token_weighted_mean(parts: Iterable[tuple[float, float]]) -> float:
    """``Σ mean·W / Σ W`` over ``(mean_nll, answer_tokens)`` chunks: the whole-set token-weighted NLL."""
    total_weight = 0.0
    total = 0.0
    for mean, weight in parts:
        total += mean * weight
        total_weight += weight
    if total_weight <= 0:
        raise ValueError("no weighted tokens to average")
    return total / total_weight


def select_best(rows: Sequence[tuple[int, float]], ties: str = "later") -> tuple[int, float]:
    """The ``(step, nll)`` with the lowest NLL; exact ties go to the later step (main runs).

    ``ties="earlier"`` is the LR-selection rule (``min`` by NLL only, first wins).
    """
    if not rows:
        raise ValueError("no validation rows to select from")
    if ties == "later":
        return min(rows, key=lambda r: (r[1], -r[0]))
    if ties == "earlier":
        return min(rows, key=lambda r: (r[1], r[0]))
    raise ValueError(f"ties must be 'later' or 'earlier', not {ties!r}")


def datum_token_total(full_lengths: Iterable[int]) -> int:
    """Tokens the backend sees for these rows: ``Σ (len(full_ids) − 1)`` (the datum shift drops one)."""
    return sum(n - 1 for n in full_lengths)


def expected_token_counts(
    train_full_tokens: int,
    train_rows: int,
    epochs: int,
    val_full_tokens: int,
    val_rows: int,
    validation_passes: int,
) -> dict[str, int]:
    """The summary's ``token_count`` implied by the render (§6.9 identity), for cross-checks."""
    train = epochs * (train_full_tokens - train_rows)
    validation = validation_passes * (val_full_tokens - val_rows)
    return {"optimizer": train, "total": train + validation, "train": train, "validation": validation}


def lr_label(lr: float) -> str:
    """``1e-4``, ``3e-4``, ``1e-3``: the study's label for an LR in run ids and CSVs."""
    return f"{lr:.0e}".replace("+0", "").replace("-0", "-")


def main_run_id(condition: str, seed: int, prefix: str = "main-001") -> str:
    """``main-001-{condition}-seed-{seed}``."""
    return f"{prefix}-{condition}-seed-{seed}"


def lr_select_run_id(condition: str, lr: float, prefix: str = "lr-select-001") -> str:
    """``lr-select-001-{condition}-lr-{label}``."""
    return f"{prefix}-{condition}-lr-{lr_label(lr)}"


def lr_select_plan(
    conditions: Sequence[str] = CONDITIONS, grid: Sequence[float] = LR_SELECT_GRID
) -> list[tuple[str, float, str]]:
    """``(condition, lr, run_id)`` for every LR-selection run, conditions outer, LRs inner."""
    return [(c, lr, lr_select_run_id(c, lr)) for c in conditions for lr in grid]


def choose_lr(best_by_lr: dict[float, float]) -> float:
    """The LR with the lowest best-validation NLL; an exact tie picks the smaller LR (protocol doc)."""
    if not best_by_lr:
        raise ValueError("no LR results to choose from")
    return min(best_by_lr, key=lambda lr: (best_by_lr[lr], lr))
