"""What a training run on a rendered dataset costs, in tokens and in money.

The study's identity (SEED_CONTRACTS §6.9): training tokens = epochs × (full tokens − 1 per row),
because each datum drops one token to the shift; validation tokens = validation passes × the same
quantity on the val split. Evaluation is priced as an upper bound (every prompt plus the full
generation budget), since generation lengths are only known after sampling.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

#: The study's price for Qwen3-8B LoRA training on Tinker, dollars per million tokens.
STUDY_PRICE_PER_MILLION = 0.40


@dataclass(frozen=True)
class CostInputs:
    """The run shape a cost is computed for."""

    epochs: int = 2
    validation_passes: int | None = None
    price_per_million: float = STUDY_PRICE_PER_MILLION
    eval_examples: int = 1319
    eval_max_new_tokens: int = 512
    #: Mean eval prompt tokens; ``None`` uses the val split's prompt mean (with system prompt).
    eval_prompt_mean: float | None = None


def _datum_tokens(split: Mapping[str, Any]) -> int:
    return int(split.get("datum_tokens", 0))


def run_cost(train: Mapping[str, Any], val: Mapping[str, Any], inputs: CostInputs) -> dict[str, Any]:
    """Tokens per epoch, per run and dollars; ``validation_passes`` defaults to the study's cadence."""
    passes = inputs.validation_passes
    if passes is None:
        passes = study_validation_passes(int(train.get("rows", 0)), inputs.epochs)
    per_epoch = _datum_tokens(train)
    train_tokens = inputs.epochs * per_epoch
    val_tokens = passes * _datum_tokens(val)
    prompt_mean = inputs.eval_prompt_mean
    if prompt_mean is None:
        prompt_mean = float(val.get("prompt_mean_with_system", 0.0))
    eval_bound = round(inputs.eval_examples * (prompt_mean + inputs.eval_max_new_tokens))
    price = inputs.price_per_million
    return {
        "epochs": inputs.epochs,
        "validation_passes": passes,
        "train_tokens_per_epoch": per_epoch,
        "train_tokens": train_tokens,
        "validation_tokens": val_tokens,
        "eval_tokens_upper_bound": eval_bound,
        "price_per_million_tokens": price,
        "train_dollars": round(train_tokens * price / 1e6, 2),
        "validation_dollars": round(val_tokens * price / 1e6, 2),
        "total_dollars": round((train_tokens + val_tokens) * price / 1e6, 2),
        "note": "evaluation is an upper bound (every prompt + the full generation budget), not priced",
    }


def study_validation_passes(train_rows: int, epochs: int, batch_size: int = 8) -> int:
    """Validation passes under the study's cadence (§6.6), from the training protocol."""
    from dq.train.protocol import steps_per_epoch, validation_steps

    if not train_rows:
        return 0
    per_epoch = steps_per_epoch(train_rows, batch_size)
    return len(validation_steps(per_epoch * epochs, per_epoch, epochs))
