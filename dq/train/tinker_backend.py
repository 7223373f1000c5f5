"""``dq.tinker``: LoRA training on the Tinker service with the real ``tinker`` SDK (SEED_CONTRACTS §6.1).

The API key comes from ``TINKER_API_KEY`` and is never logged or written. The first request
(server capabilities) runs under a 10 s deadline: without it the SDK retries for minutes when the
service cannot be reached. ``forward_backward`` uses ``loss_fn="cross_entropy"`` (sum-reduced);
``train_step`` submits forward-backward and the Adam step before awaiting either (the study's
``batched_datums_pipelined``).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Sequence
from typing import Any, ClassVar, TypeVar

from dq.api.train import (
    ATTENTION_MODULES,
    MLP_MODULES,
    AdamParams,
    Datum,
    LoraTargets,
    StepResult,
    TrainBackend,
)
from dq.errors import DqError
from dq.train.datums import weight_sum

CONNECT_TIMEOUT_S = 10.0
T = TypeVar("T")


def to_tinker_datum(datum: Datum) -> Any:
    """A ``tinker.types.Datum``: ints as ``ModelInput``, targets int64 and weights float32 ``TensorData``."""
    from tinker import types

    n = len(datum.target_tokens)
    return types.Datum(
        model_input=types.ModelInput.from_ints(list(datum.input_tokens)),
        loss_fn_inputs={
            "target_tokens": types.TensorData(data=list(datum.target_tokens), dtype="int64", shape=[n]),
            "weights": types.TensorData(data=[float(w) for w in datum.weights], dtype="float32", shape=[n]),
        },
    )


def to_tinker_adam(adam: AdamParams) -> Any:
    """``tinker.types.AdamParams`` with every field passed (the study's main run passed three)."""
    from tinker import types

    return types.AdamParams(
        learning_rate=adam.learning_rate,
        beta1=adam.beta1,
        beta2=adam.beta2,
        eps=adam.eps,
        weight_decay=adam.weight_decay,
        grad_clip_norm=adam.grad_clip_norm,
    )


def lora_switches(targets: LoraTargets) -> dict[str, bool]:
    """Tinker's LoRA switches for a target set; Tinker cannot train an arbitrary module list."""
    modules = set(targets.modules)
    if modules == set(ATTENTION_MODULES):
        return {"train_attn": True, "train_mlp": False, "train_unembed": False}
    if modules == set(ATTENTION_MODULES + MLP_MODULES):
        return {"train_attn": True, "train_mlp": True, "train_unembed": False}
    if modules == set(MLP_MODULES):
        return {"train_attn": False, "train_mlp": True, "train_unembed": False}
    raise DqError(
        f"LoRA targets {','.join(targets.modules)}: Tinker trains only whole attention and/or MLP sets "
        "(use attention_only or all_layer)"
    )


def nll_sum(output: Any, datums: Sequence[Any]) -> tuple[float, float]:
    """``(−Σ logprob·w, Σ w)`` of a forward(-backward) output over its datums (``compute_mean_nll``)."""
    total, weight = 0.0, 0.0
    for out, datum in zip(output.loss_fn_outputs, datums, strict=True):
        logprobs = out["logprobs"]
        values = logprobs.data if hasattr(logprobs, "data") and not callable(logprobs.data) else logprobs
        weights = datum.loss_fn_inputs["weights"]
        wvals = weights.data if hasattr(weights, "data") and not callable(weights.data) else weights
        total -= sum(float(lp) * float(w) for lp, w in zip(values, wvals, strict=True))
        weight += weight_sum(weights)
    return total, weight


def with_deadline(fn: Callable[[], T], seconds: float, what: str) -> T:
    """``fn()`` in a daemon thread; a one-line DqError if it has not answered within ``seconds``."""
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["value"] = fn()
        except BaseException as exc:  # noqa: BLE001 - re-raised in the caller's thread
            box["error"] = exc

    thread = threading.Thread(target=target, daemon=True, name="dq-tinker-connect")
    thread.start()
    thread.join(seconds)
    if thread.is_alive():
        raise DqError(f"{what}: no answer within {seconds:.0f} s (is the service reachable from here?)")
    if "error" in box:
        error = box["error"]
        raise DqError(
            f"{what}: {type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}"
        ) from None
    return box["value"]  # type: ignore[no-any-return]


class TinkerBackend(TrainBackend):
    """LoRA on the Tinker service (tinker SDK); API key from TINKER_API_KEY."""

    name: ClassVar[str] = "dq.tinker"
    pipelined: ClassVar[bool] = True

    def __init__(self) -> None:
        self.service: Any = None
        self.client: Any = None
        self.facts: dict[str, Any] = {}
        self.ttl_seconds = 604800

    def connect(self, base_url: str | None = None) -> Any:
        """A ServiceClient whose first request answered within the deadline; returns its capabilities."""
        import tinker

        if not os.environ.get("TINKER_API_KEY"):
            raise DqError("TINKER_API_KEY is not set: export it to train with --backend dq.tinker")
        url = base_url or os.environ.get("TINKER_BASE_URL") or None
        self.service = tinker.ServiceClient(base_url=url)
        where = f"Tinker service at {url}" if url else "Tinker service"
        # The whole first contact (client set-up included) runs under the deadline.
        return with_deadline(
            lambda: tinker.RestClient(base_url=url).get_server_capabilities().result(),
            CONNECT_TIMEOUT_S,
            where,
        )

    def start(
        self, base_model: str, rank: int, targets: LoraTargets, seed: int, options: dict[str, Any]
    ) -> None:
        """Check the model is served, then create the LoRA training client."""
        switches = lora_switches(targets)
        caps = self.connect(options.get("base_url"))
        served = [m.model_name for m in caps.supported_models]
        if base_model not in served:
            raise DqError(f"model {base_model!r} is not served by Tinker (served: {', '.join(served)})")
        metadata = {str(k): str(v) for k, v in (options.get("user_metadata") or {}).items()}
        self.ttl_seconds = int(options.get("ttl_seconds", self.ttl_seconds))
        self.client = self.service.create_lora_training_client(
            base_model=base_model, rank=rank, seed=seed, user_metadata=metadata, **switches
        )
        alpha = "not exposed by tinker create_lora_training_client"
        lora = {
            "rank": rank,
            "lora_alpha": alpha,
            "lora_dropout": alpha,
            "condition": targets.condition,
            **switches,
        }
        self.facts = {"lora_config": lora}

    def tokenizer(self) -> Any:
        """``None``: dq renders with the renderer's own offline tokenizer (the study's agree, §4.2)."""
        return None

    def _result(self, future: Any, datums: Sequence[Any], count: int) -> StepResult:
        output = future.result()
        loss, weight = nll_sum(output, datums)
        metrics = {k: float(v) for k, v in (output.metrics or {}).items()}
        return StepResult(loss_sum=loss, weight=weight, token_count=count, metrics=metrics)

    def forward_backward(self, datums: Sequence[Datum]) -> StepResult:
        """One ``forward_backward(..., loss_fn="cross_entropy")`` call, awaited."""
        data = [to_tinker_datum(d) for d in datums]
        future = self.client.forward_backward(data, loss_fn="cross_entropy")
        return self._result(future, data, sum(d.token_count for d in datums))

    def optim_step(self, adam: AdamParams) -> dict[str, float]:
        """One ``optim_step`` with every Adam field, awaited."""
        response = self.client.optim_step(to_tinker_adam(adam)).result()
        return {k: float(v) for k, v in (response.metrics or {}).items()}

    def train_step(self, datums: Sequence[Datum], adam: AdamParams) -> tuple[StepResult, dict[str, float]]:
        """Submit forward-backward and the Adam step, then await both (pipelined)."""
        data = [to_tinker_datum(d) for d in datums]
        fb = self.client.forward_backward(data, loss_fn="cross_entropy")
        optim = self.client.optim_step(to_tinker_adam(adam))
        result = self._result(fb, data, sum(d.token_count for d in datums))
        response = optim.result()
        return result, {k: float(v) for k, v in (response.metrics or {}).items()}

    def forward(self, datums: Sequence[Datum]) -> StepResult:
        """``forward(..., loss_fn="cross_entropy")``: no gradient."""
        data = [to_tinker_datum(d) for d in datums]
        return self._result(
            self.client.forward(data, loss_fn="cross_entropy"), data, sum(d.token_count for d in datums)
        )

    def save_state(self, name: str) -> str:
        """``save_state(name, ttl_seconds=7 days)``; returns the ``tinker://…/weights/name`` path."""
        return str(self.client.save_state(name, ttl_seconds=self.ttl_seconds).result().path)

    def restore(self, path: str) -> None:
        """Load weights and optimizer state from a ``tinker://…/weights/…`` path."""
        if "/sampler_weights/" in path:
            raise DqError(
                f"{path}: a sampler_weights checkpoint cannot be restored for training (use a state path)"
            )
        self.client.load_state_with_optimizer(path).result()

    def export_for_sampling(self, name: str) -> str:
        """``save_weights_for_sampler(name)``; returns the ``tinker://…/sampler_weights/name`` path."""
        return str(self.client.save_weights_for_sampler(name, ttl_seconds=self.ttl_seconds).result().path)

    def sampling_client(self, model_path: str) -> Any:
        """A Tinker sampling client for an exported adapter; a state path is refused in one line."""
        if "/sampler_weights/" not in model_path:
            raise DqError(
                f"{model_path}: model_path must point to a sampler_weights checkpoint "
                "(export it with save_weights_for_sampler first; summary.json names it under sampler_checkpoint)"
            )
        return self.service.create_sampling_client(model_path=model_path).result()

    def describe(self) -> dict[str, Any]:
        """LoRA switches (alpha and dropout are backend-owned, as the study recorded)."""
        return dict(self.facts)

    def close(self) -> None:
        """Drop the clients."""
        self.client = None
        self.service = None
