"""LoRA parameter counts from a model's config.json, never its weights.

The model is built by ``transformers`` on the meta device (shapes only, no memory, no download),
every ``nn.Linear`` whose last name part is a target is found, and each contributes
``r × (in_features + out_features)`` trainable parameters: ``lora_A`` is ``[r, in]`` and
``lora_B`` is ``[out, r]``. Known base configs ship with dq (``configs/``); any ``config.json``
path works too.
"""

from __future__ import annotations

import functools
import json
import os
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from dq.errors import DqError

#: Hub ids of the shipped configs (``dq/capacity/configs/<file>``), exactly as the Hub spells them.
KNOWN_MODELS = {
    "Qwen/Qwen3-0.6B": "qwen3-0.6b.json",
    "Qwen/Qwen3-1.7B": "qwen3-1.7b.json",
    "Qwen/Qwen3-4B": "qwen3-4b.json",
    "Qwen/Qwen3-8B": "qwen3-8b.json",
    "Qwen/Qwen3-14B": "qwen3-14b.json",
    "meta-llama/Llama-3.1-8B": "llama-3.1-8b.json",
    "HuggingFaceTB/SmolLM2-135M": "smollm2-135m.json",
    # The instruct model has the base model's architecture (the offline GGUF dq trains on).
    "HuggingFaceTB/SmolLM2-135M-Instruct": "smollm2-135m.json",
}

ATTENTION = ("q_proj", "k_proj", "v_proj", "o_proj")
MLP = ("gate_proj", "up_proj", "down_proj")
#: The study's two conditions (Tinker ``train_attn`` / ``train_mlp``; ``train_unembed=False``).
PRESETS = {"attention_only": ATTENTION, "all_layer": ATTENTION + MLP}
SHORT_NAMES = {"q": "q_proj", "k": "k_proj", "v": "v_proj", "o": "o_proj"}
SHORT_NAMES.update(gate="gate_proj", up="up_proj", down="down_proj")

BYTES = {"fp32": 4, "bf16": 2}


@dataclass(frozen=True)
class BaseModel:
    """A base model's config as dq found it: where it came from and the dict itself."""

    name: str
    source: str
    config: dict[str, Any]

    @property
    def quantization(self) -> str | None:
        """The config's ``quantization_config.quant_method`` (gptq, awq, bitsandbytes, fp8...)."""
        quant = self.config.get("quantization_config")
        if isinstance(quant, dict):
            return str(quant.get("quant_method") or "unknown")
        return None


@dataclass
class LoraCount:
    """Trainable LoRA parameters of one base model, rank and target set."""

    model: str
    rank: int
    targets: tuple[str, ...]
    params: int
    modules: int
    by_target: dict[str, dict[str, int]] = field(default_factory=dict)

    def size(self, dtype: str) -> dict[str, float | int]:
        """Adapter tensor bytes in ``dtype`` (fp32, bf16), also in MB (10^6) and MiB (2^20)."""
        nbytes = self.params * BYTES[dtype]
        return {"bytes": nbytes, "MB": round(nbytes / 1e6, 3), "MiB": round(nbytes / 2**20, 3)}

    def as_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "rank": self.rank,
            "targets": list(self.targets),
            "modules": self.modules,
            "params": self.params,
            "by_target": self.by_target,
            "size": {dtype: self.size(dtype) for dtype in BYTES},
        }


def parse_targets(spec: str) -> tuple[str, ...]:
    """``attention_only``, ``all_layer`` or a comma list (``q,k,v,o`` or full module names)."""
    if spec in PRESETS:
        return PRESETS[spec]
    names = tuple(SHORT_NAMES.get(part.strip(), part.strip()) for part in spec.split(",") if part.strip())
    if not names:
        raise DqError(f"--targets '{spec}': give attention_only, all_layer or a list such as q,k,v,o")
    return names


def load_base(name_or_path: str) -> BaseModel:
    """A known Hub id, a ``config.json`` (or a folder holding one), else the Hub when online."""
    known = {k.lower(): k for k in KNOWN_MODELS}
    if name_or_path.lower() in known:
        hub_id = known[name_or_path.lower()]
        text = resources.files("dq.capacity.configs").joinpath(KNOWN_MODELS[hub_id]).read_text("utf-8")
        return BaseModel(hub_id, f"dq/capacity/configs/{KNOWN_MODELS[hub_id]}", json.loads(text))
    path = Path(name_or_path)
    if path.is_dir():
        path = path / "config.json"
    if path.is_file():
        return BaseModel(name_or_path, str(path), _read_config(path))
    if path.exists() or "/" not in name_or_path or name_or_path.startswith((".", "/")):
        raise DqError(
            f"{name_or_path}: no config.json there, and not a known model ({', '.join(KNOWN_MODELS)})"
        )
    return BaseModel(name_or_path, f"hf:{name_or_path}", _hub_config(name_or_path))


def _read_config(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DqError(f"{path}: not a readable config.json ({exc})") from None
    if not isinstance(data, dict) or "model_type" not in data:
        raise DqError(f"{path}: model_type: missing (not a transformers config.json)")
    return data


def hub_offline_reason() -> str | None:
    """Why the Hub cannot be used now (an env switch, or no connection in 3 s); None when it can.

    Checked before any download so that offline is one line at once, not a minute of retries.
    """
    import socket
    from urllib.parse import urlparse

    if os.environ.get("HF_HUB_OFFLINE", "") not in ("", "0") or os.environ.get("DQ_OFFLINE"):
        return "HF_HUB_OFFLINE is set"
    host = urlparse(os.environ.get("HF_ENDPOINT", "https://huggingface.co")).hostname or "huggingface.co"
    try:
        socket.create_connection((host, 443), timeout=3).close()
    except OSError:
        return f"{host} is unreachable (offline?)"
    return None


def _hub_config(repo: str) -> dict[str, Any]:
    """Fetch config.json from the Hub; offline (or unreachable) is one clear line."""
    reason = hub_offline_reason()
    if reason:
        raise DqError(f"{repo}: not a known model or local path, and {reason}: pass a config.json path")
    try:
        from huggingface_hub import hf_hub_download

        local = hf_hub_download(repo, "config.json", etag_timeout=5)
    except Exception as exc:  # noqa: BLE001 - any Hub failure means "cannot fetch" for the user
        raise DqError(
            f"{repo}: not a known model or local path, and its config.json could not be fetched from "
            f"the Hub ({type(exc).__name__}; offline?): pass a config.json path"
        ) from None
    return _read_config(Path(local))


@functools.lru_cache(maxsize=16)
def _linear_shapes_cached(config_json: str) -> dict[str, tuple[int, int]]:
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM

    torch.set_num_threads(1)
    data = json.loads(config_json)
    # The adapter's shapes are those of the unquantized architecture; a quantization_config
    # would make transformers ask for GPTQ/AWQ/bnb kernels just to build empty modules.
    data.pop("quantization_config", None)
    model_type = data.pop("model_type")
    try:
        cfg = AutoConfig.for_model(model_type, **data)
        with torch.device("meta"):
            model = AutoModelForCausalLM.from_config(cfg)
    except (ValueError, KeyError, TypeError) as exc:
        raise DqError(f"model_type '{model_type}': transformers cannot build it ({exc})") from None
    return {
        name: (int(module.in_features), int(module.out_features))
        for name, module in model.named_modules()
        if isinstance(module, torch.nn.Linear)
    }


def linear_shapes(base: BaseModel) -> dict[str, tuple[int, int]]:
    """Every ``nn.Linear`` of the base model: full module name → ``(in_features, out_features)``."""
    return _linear_shapes_cached(json.dumps(base.config, sort_keys=True))


def count_lora(base: BaseModel, rank: int, targets: tuple[str, ...]) -> LoraCount:
    """Trainable LoRA parameters: ``r × (in + out)`` summed over the target Linear modules."""
    if rank < 1:
        raise DqError(f"--rank {rank}: must be at least 1")
    shapes = linear_shapes(base)
    by_target: dict[str, dict[str, int]] = {}
    for name, (fan_in, fan_out) in shapes.items():
        leaf = name.rsplit(".", 1)[-1]
        if leaf not in targets:
            continue
        entry = by_target.setdefault(leaf, {"modules": 0, "in": fan_in, "out": fan_out, "params": 0})
        entry["modules"] += 1
        entry["params"] += rank * (fan_in + fan_out)
    missing = [t for t in targets if t not in by_target]
    if missing:
        leaves = sorted({n.rsplit(".", 1)[-1] for n in shapes})
        raise DqError(
            f"{base.name}: no Linear module named {', '.join(missing)} (it has: {', '.join(leaves)})"
        )
    params = sum(e["params"] for e in by_target.values())
    modules = sum(e["modules"] for e in by_target.values())
    return LoraCount(base.name, rank, targets, params, modules, by_target)
