"""The LoRA training-backend contract: what a backend does, and the data it exchanges with dq.

dq's driver (``dq.train.driver``) runs the study's protocol (schedule, batches, validation
cadence, selection, run folders) over any :class:`TrainBackend`; a backend only knows how to run
one LoRA adapter: forward-backward with a *sum-reduced* token NLL, an Adam step, a no-gradient
forward for validation, save/restore state, and export for sampling. Built-ins: ``dq.local``
(transformers + peft) and ``dq.tinker`` (the Tinker service).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

from dq.api.documented import Documented

ATTENTION_MODULES = ("q_proj", "k_proj", "v_proj", "o_proj")
MLP_MODULES = ("gate_proj", "up_proj", "down_proj")


@dataclass(frozen=True)
class Datum:
    """One shifted training example: model input, next-token targets and per-target loss weights."""

    input_tokens: list[int]
    target_tokens: list[int]
    weights: list[float]

    @property
    def token_count(self) -> int:
        """Tokens the model reads (``len(full) − 1``): the study's ``token_count`` unit."""
        return len(self.input_tokens)

    @property
    def answer_tokens(self) -> int:
        """Weighted target tokens (``len(full) − prompt_len``): the NLL's denominator."""
        return int(sum(self.weights))


@dataclass(frozen=True)
class LoraTargets:
    """Which modules get LoRA: a study condition or an explicit module list.

    ``attention_only`` = q/k/v/o projections (Tinker ``train_attn``); ``all_layer`` adds the MLP
    gate/up/down projections (``train_mlp``). The unembedding is never trained (as in the study).
    """

    condition: str
    modules: tuple[str, ...]
    train_attn: bool = True
    train_mlp: bool = False

    @classmethod
    def parse(cls, spec: str) -> LoraTargets:
        """``attention_only``, ``all_layer`` or a comma-separated module list (``q_proj,v_proj``)."""
        if spec == "attention_only":
            return cls(spec, ATTENTION_MODULES, True, False)
        if spec == "all_layer":
            return cls(spec, ATTENTION_MODULES + MLP_MODULES, True, True)
        modules = tuple(m.strip() for m in spec.split(",") if m.strip())
        if not modules or any(not m.replace("_", "").replace(".", "").isalnum() for m in modules):
            raise ValueError(
                f"LoRA targets {spec!r}: expected attention_only, all_layer or a comma-separated module list"
            )
        attn = any(m in ATTENTION_MODULES for m in modules)
        mlp = any(m in MLP_MODULES for m in modules)
        return cls("custom", modules, attn, mlp)


@dataclass(frozen=True)
class AdamParams:
    """Adam settings of one optimizer step; the defaults are Tinker's, as the study recorded them."""

    learning_rate: float
    beta1: float = 0.9
    beta2: float = 0.95
    eps: float = 1e-12
    weight_decay: float = 0.0
    grad_clip_norm: float = 0.0


@dataclass(frozen=True)
class StepResult:
    """Outcome of a forward(-backward) over some datums: summed NLL, its weight, tokens read."""

    loss_sum: float
    weight: float
    token_count: int
    metrics: dict[str, float] = field(default_factory=dict)

    @property
    def mean_nll(self) -> float:
        """Token-weighted mean NLL of these datums (``loss_sum / weight``)."""
        return self.loss_sum / self.weight if self.weight else float("nan")


class TrainBackend(Documented):
    """Base class of LoRA training backends; the first docstring line is the listing summary.

    Lifecycle: ``start`` once, then any number of ``forward_backward``/``optim_step`` (or
    ``train_step``), ``forward``, ``save_state``, ``restore``; ``export_for_sampling`` writes
    the weights an evaluator samples from; ``close`` releases resources.
    """

    name: ClassVar[str] = ""
    #: True when ``train_step`` submits the optimizer step before awaiting forward-backward.
    pipelined: ClassVar[bool] = False

    def start(
        self, base_model: str, rank: int, targets: LoraTargets, seed: int, options: dict[str, Any]
    ) -> None:
        """Create the adapter on ``base_model``. ``options`` carries ``run_id``, ``state_dir``, metadata."""
        raise NotImplementedError

    def tokenizer(self) -> Any:
        """The tokenizer training renders with (the study took it from the training client)."""
        raise NotImplementedError

    def forward_backward(self, datums: Sequence[Datum]) -> StepResult:
        """Accumulate gradients of the sum-reduced weighted token NLL over ``datums``."""
        raise NotImplementedError

    def optim_step(self, adam: AdamParams) -> dict[str, float]:
        """Apply one Adam step with the accumulated gradients, then clear them; returns backend metrics."""
        raise NotImplementedError

    def train_step(self, datums: Sequence[Datum], adam: AdamParams) -> tuple[StepResult, dict[str, float]]:
        """One optimizer step over ``datums``; backends that can pipeline override this."""
        result = self.forward_backward(datums)
        return result, self.optim_step(adam)

    def forward(self, datums: Sequence[Datum]) -> StepResult:
        """Summed weighted NLL over ``datums`` without gradients (validation)."""
        raise NotImplementedError

    def save_state(self, name: str) -> str:
        """Save adapter and optimizer state under ``name``; returns its path or URI."""
        raise NotImplementedError

    def restore(self, path: str) -> None:
        """Load a state written by :meth:`save_state` (adapter and optimizer)."""
        raise NotImplementedError

    def export_for_sampling(self, name: str) -> str:
        """Write the current adapter for sampling/evaluation; returns its path or URI."""
        raise NotImplementedError

    def describe(self) -> dict[str, Any]:
        """Facts for the run manifest: LoRA config, package versions, device (no secrets)."""
        return {}

    def close(self) -> None:
        """Release models, clients and threads; safe to call twice."""
