"""``dq.local``: LoRA training on this machine with transformers + peft (CPU, or CUDA in bf16).

The loss is the study's: the *sum* over answer tokens of the token NLL (Tinker's
``cross_entropy``), so gradients scale with the batch's answer tokens exactly as on Tinker.
Adam is torch's AdamW with the study's betas/eps and weight decay 0. LoRA alpha defaults to 32
(what the study's exported adapters record) and dropout to 0.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

from dq.api.train import AdamParams, Datum, LoraTargets, StepResult, TrainBackend
from dq.errors import DqError
from dq.models.local import SMOLLM2_NAMES

ADAPTER_FILES = ("adapter_config.json", "adapter_model.safetensors")


def resolve_targets(model: Any, targets: LoraTargets) -> list[str]:
    """The requested module names that exist in ``model``; an absent one is a one-line error."""
    present = {name.rsplit(".", 1)[-1] for name, _ in model.named_modules()}
    missing = [m for m in targets.modules if m not in present]
    if missing:
        linear = sorted(
            {n.rsplit(".", 1)[-1] for n, m in model.named_modules() if type(m).__name__ == "Linear"}
        )
        raise DqError(
            f"LoRA targets {', '.join(missing)} not in this model; its linear modules are: {', '.join(linear)}"
        )
    return list(targets.modules)


def _padded(datums: Sequence[Datum], device: Any) -> tuple[Any, Any, Any, Any]:
    """Right-padded ``input_ids, attention_mask, targets, weights`` tensors for a micro-batch."""
    import torch

    width = max(d.token_count for d in datums)
    ids = torch.zeros((len(datums), width), dtype=torch.long)
    mask = torch.zeros_like(ids)
    targets = torch.zeros_like(ids)
    weights = torch.zeros((len(datums), width), dtype=torch.float32)
    for i, d in enumerate(datums):
        n = d.token_count
        ids[i, :n] = torch.tensor(d.input_tokens)
        mask[i, :n] = 1
        targets[i, :n] = torch.tensor(d.target_tokens)
        weights[i, :n] = torch.tensor(d.weights)
    return ids.to(device), mask.to(device), targets.to(device), weights.to(device)


class LocalBackend(TrainBackend):
    """LoRA on a local transformers model with peft; CPU by default, CUDA (bf16) when present."""

    name: ClassVar[str] = "dq.local"

    def __init__(self) -> None:
        self.model: Any = None
        self._tokenizer: Any = None
        self.optimizer: Any = None
        self.facts: dict[str, Any] = {}
        self.options: dict[str, Any] = {}

    def start(
        self, base_model: str, rank: int, targets: LoraTargets, seed: int, options: dict[str, Any]
    ) -> None:
        """Load the base model offline, wrap it with LoRA, and build AdamW over the adapter."""
        import torch
        from peft import LoraConfig, get_peft_model

        from dq.models.local import load_causal_lm

        self.options = dict(options)
        device = options.get("device") or ("cuda" if torch.cuda.is_available() else "cpu")
        dtype = options.get("dtype") or ("bfloat16" if device.startswith("cuda") else "float32")
        model, self._tokenizer = options.get("model_and_tokenizer") or load_causal_lm(base_model, dtype)
        torch.manual_seed(seed)  # LoRA A matrices are random: the seed makes runs repeatable
        config = LoraConfig(
            r=rank,
            lora_alpha=int(options.get("lora_alpha", 32)),
            lora_dropout=float(options.get("lora_dropout", 0.0)),
            target_modules=resolve_targets(model, targets),
            bias="none",
            task_type="CAUSAL_LM",
        )
        self.model = get_peft_model(model, config).to(device)
        # The adapter (config and model card) names its base as people know it: not dq's offline
        # alias, not the cache folder the weights were read from.
        canonical = SMOLLM2_NAMES[0] if base_model in SMOLLM2_NAMES else base_model
        model.config._name_or_path = canonical
        self.model.peft_config["default"].base_model_name_or_path = canonical
        params = [p for p in self.model.parameters() if p.requires_grad]
        self.optimizer = torch.optim.AdamW(params, lr=0.0, betas=(0.9, 0.95), eps=1e-12, weight_decay=0.0)
        self.device = device
        self.micro_batch = int(options.get("micro_batch") or (8 if device.startswith("cuda") else 1))
        lora: dict[str, Any] = {
            "rank": rank,
            "lora_alpha": config.lora_alpha,
            "lora_dropout": config.lora_dropout,
        }
        lora.update(target_modules=sorted(config.target_modules or []), condition=targets.condition)
        trainable = sum(p.numel() for p in params)
        self.facts = {
            "lora_config": lora,
            "device": device,
            "dtype": dtype,
            "trainable_parameters": trainable,
        }

    def tokenizer(self) -> Any:
        """The base model's tokenizer (loaded with it)."""
        return self._tokenizer

    def _loss(self, datums: Sequence[Datum]) -> Any:
        """Sum-reduced weighted token NLL of a micro-batch (a 0-d tensor)."""
        import torch

        ids, mask, targets, weights = _padded(datums, self.device)
        logits = self.model(input_ids=ids, attention_mask=mask).logits.float()
        nll = torch.nn.functional.cross_entropy(logits.transpose(1, 2), targets, reduction="none")
        return (nll * weights).sum()

    def _run(self, datums: Sequence[Datum], backward: bool) -> StepResult:
        total = 0.0
        for i in range(0, len(datums), self.micro_batch):
            loss = self._loss(datums[i : i + self.micro_batch])
            if backward:
                loss.backward()  # sum reduction: micro-batches accumulate to the batch gradient
            total += float(loss.detach())
        weight = float(sum(d.answer_tokens for d in datums))
        tokens = sum(d.token_count for d in datums)
        return StepResult(loss_sum=total, weight=weight, token_count=tokens, metrics={"loss:sum": total})

    def forward_backward(self, datums: Sequence[Datum]) -> StepResult:
        """Accumulate gradients of the summed NLL."""
        self.model.train()
        return self._run(datums, backward=True)

    def optim_step(self, adam: AdamParams) -> dict[str, float]:
        """One AdamW step with ``adam``'s settings, then clear gradients."""
        import torch

        for group in self.optimizer.param_groups:
            group.update(lr=adam.learning_rate, betas=(adam.beta1, adam.beta2), eps=adam.eps)
            group["weight_decay"] = adam.weight_decay
        if adam.grad_clip_norm > 0:
            torch.nn.utils.clip_grad_norm_(self.model.parameters(), adam.grad_clip_norm)
        self.optimizer.step()
        self.optimizer.zero_grad(set_to_none=True)
        return {}

    def forward(self, datums: Sequence[Datum]) -> StepResult:
        """Summed NLL without gradients."""
        import torch

        self.model.eval()
        with torch.no_grad():
            return self._run(datums, backward=False)

    def _save(self, folder: Path, with_optimizer: bool) -> str:
        """Save the adapter (PEFT format) into a temp folder, then rename it into place."""
        import torch

        tmp = folder.with_name(f".{folder.name}.tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        # Embeddings are never trained; "auto" would look the base model up on the Hub.
        self.model.save_pretrained(str(tmp), save_embedding_layers=False)
        if with_optimizer:
            state = {"optimizer": self.optimizer.state_dict(), "rng": torch.get_rng_state()}
            torch.save(state, tmp / "optimizer.pt")
        shutil.rmtree(folder, ignore_errors=True)
        os.replace(tmp, folder)
        return str(folder)

    def save_state(self, name: str) -> str:
        """Adapter + optimizer state under ``state_dir/name``."""
        root = Path(self.options.get("state_dir") or "checkpoints")
        root.mkdir(parents=True, exist_ok=True)
        return self._save(root / name, with_optimizer=True)

    def restore(self, path: str) -> None:
        """Load adapter weights (and optimizer state when saved) from a state folder."""
        import torch
        from peft import set_peft_model_state_dict
        from safetensors.torch import load_file

        folder = Path(path)
        weights = folder / ADAPTER_FILES[1]
        if not weights.is_file():
            raise DqError(f"{folder}: no {ADAPTER_FILES[1]} (not a dq.local state)")
        result = set_peft_model_state_dict(self.model, load_file(str(weights), device=str(self.device)))
        unexpected = list(getattr(result, "unexpected_keys", None) or [])
        if unexpected:
            raise DqError(f"{weights}: adapter keys do not match this model ({unexpected[0]})")
        optimizer = folder / "optimizer.pt"
        if optimizer.is_file():
            state = torch.load(optimizer, map_location=self.device, weights_only=False)
            self.optimizer.load_state_dict(state["optimizer"])
            torch.set_rng_state(state["rng"])

    def export_for_sampling(self, name: str) -> str:
        """A PEFT adapter folder (adapter_config.json + adapter_model.safetensors) under ``export_dir``."""
        root = Path(self.options.get("export_dir") or "exports")
        root.mkdir(parents=True, exist_ok=True)
        return self._save(root / name, with_optimizer=False)

    def describe(self) -> dict[str, Any]:
        """LoRA config, device, dtype, trainable parameter count."""
        return dict(self.facts)

    def close(self) -> None:
        """Drop the model and optimizer."""
        self.model = self.optimizer = None
