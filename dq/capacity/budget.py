"""The "LoRA Without Regret" information budget: adapter capacity in bits against the dataset's.

Source: J. Schulman and Thinking Machines Lab, "LoRA Without Regret" (Connectionism, 2025-09-29,
https://thinkingmachines.ai/blog/lora/). The guide finds that LoRA matches full fine-tuning
while it is not capacity-constrained, and sizes capacity with the empirical estimate that a
network stores about 2 bits per parameter (Allen-Zhu and Li, "Physics of Language Models:
Part 3.3, Knowledge Capacity Scaling Laws", arXiv:2404.05405). How much *new* information an
SFT token carries is not given by the guide; dq assumes 1 bit per loss token by default and
shows the assumption next to every verdict (``--bits-per-token`` changes it).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dq.errors import DqError

BITS_PER_PARAM = 2.0
BITS_PER_TOKEN = 1.0
#: Below this share of the capacity the dataset is comfortably inside it.
TIGHT_AT = 0.5


@dataclass(frozen=True)
class DatasetTokens:
    """What the budget needs from ``OUT/rendered/tokens.json``: loss tokens per epoch and rows."""

    path: Path
    loss_tokens: int
    rows: int


def read_tokens(out_dir: Path) -> DatasetTokens | None:
    """``train.loss_tokens`` and ``train.rows`` of ``OUT/rendered/tokens.json``; None when absent."""
    path = out_dir / "rendered" / "tokens.json"
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DqError(f"{path}: not readable JSON ({exc})") from None
    train = data.get("train") if isinstance(data, dict) else None
    if isinstance(train, dict) and train.get("rows") == 0 and "loss_tokens" not in train:
        return DatasetTokens(path, 0, 0)  # dq's token report writes only {"rows": 0} for an empty split
    values = []
    for key in ("loss_tokens", "rows"):
        value = train.get(key) if isinstance(train, dict) else None
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise DqError(f"{path}: train.{key}: missing or not a non-negative integer")
        values.append(value)
    return DatasetTokens(path, values[0], values[1])


def budget(
    params: int,
    tokens: DatasetTokens,
    bits_per_param: float = BITS_PER_PARAM,
    bits_per_token: float = BITS_PER_TOKEN,
) -> dict[str, Any]:
    """Capacity bits (params × bits/param) against data bits (loss tokens × bits/token), a verdict.

    Loss tokens are counted once (one epoch): repeating the data adds no new information.
    """
    capacity = params * bits_per_param
    data = tokens.loss_tokens * bits_per_token
    ratio = data / capacity if capacity else float("inf")
    if ratio > 1.0:
        verdict = "capacity-constrained"
        warning: str | None = (
            f"the dataset carries ~{data:,.0f} bits against ~{capacity:,.0f} bits of adapter capacity "
            f"({ratio:.2f}×): LoRA will likely fall behind full fine-tuning; raise the rank, target "
            "all layers, or use less data"
        )
    elif ratio > TIGHT_AT:
        verdict = "near capacity"
        warning = f"the dataset uses {ratio:.0%} of the adapter's estimated capacity"
    else:
        verdict = "within capacity"
        warning = None
    return {
        "tokens_file": str(tokens.path),
        "train_rows": tokens.rows,
        "loss_tokens_per_epoch": tokens.loss_tokens,
        "bits_per_param": bits_per_param,
        "bits_per_token": bits_per_token,
        "capacity_bits": capacity,
        "data_bits": data,
        "ratio": round(ratio, 6),
        "verdict": verdict,
        "warning": warning,
        "assumption": (
            f"capacity = {bits_per_param:g} bits/parameter (LoRA Without Regret, after Allen-Zhu & Li "
            f"2024); data = {bits_per_token:g} bit(s) of new information per loss token (dq's assumption)"
        ),
    }
