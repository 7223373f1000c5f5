"""Audit a LoRA adapter from its adapter_config.json and safetensors header, no weights loaded.

The seed study's adapter comparison produced all-zero predictions from an adapter whose config
named one base model while it had been trained on another, and nothing checked it. This audit
is that check: the base named exactly (quantized variants apart), rank/alpha/scaling, targets
and what they cover, every tensor's shape against the base model's modules, the expected size
against the file, and the provenance next to it. A red flag is a failed gate (exit 1).
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dq.audit.names import base_name_flags
from dq.audit.safetensors_header import ITEMSIZE, SafetensorsHeader, read_header
from dq.audit.tensors import TensorCheck, check_shapes, pattern_value, split_tensors
from dq.errors import DqError

WEIGHTS = "adapter_model.safetensors"
PROVENANCE = ("README.md", "trainer_state.json", "training_args.bin", "tokenizer_config.json")
_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")


@dataclass
class AdapterAudit:
    """Facts read from the adapter and flags (green, yellow, red) with reasons."""

    path: str
    facts: dict[str, Any] = field(default_factory=dict)
    flags: list[dict[str, str]] = field(default_factory=list)

    def flag(self, level: str, code: str, message: str) -> None:
        self.flags.append({"level": level, "code": code, "message": message})

    @property
    def failed(self) -> bool:
        return any(f["level"] == "red" for f in self.flags)

    def as_dict(self) -> dict[str, Any]:
        return {
            "adapter": self.path,
            "status": "fail" if self.failed else "pass",
            **self.facts,
            "flags": self.flags,
        }


def resolve_adapter(spec: str) -> Path:
    """A local adapter folder (or its safetensors file), else a Hub id fetched when online."""
    path = Path(spec)
    if path.is_file() and path.name == WEIGHTS:
        path = path.parent
    if path.is_dir():
        return path
    if path.exists() or not _HUB_ID.match(spec):
        raise DqError(f"{spec}: not an adapter folder (expected adapter_config.json and {WEIGHTS})")
    return _from_hub(spec)


def _from_hub(repo: str) -> Path:
    from dq.capacity.lora import hub_offline_reason

    reason = hub_offline_reason()
    if reason:
        raise DqError(f"{repo}: not a local adapter folder, and {reason}: download the adapter first")
    try:
        from huggingface_hub import hf_hub_download

        config = hf_hub_download(repo, "adapter_config.json", etag_timeout=5)
        hf_hub_download(repo, WEIGHTS, etag_timeout=5)
    except Exception as exc:  # noqa: BLE001 - every Hub failure is "cannot fetch" for the user
        raise DqError(
            f"{repo}: not a local folder, and the Hub could not be reached ({type(exc).__name__}; offline?)"
        ) from None
    return Path(config).parent


def read_adapter_config(folder: Path) -> dict[str, Any]:
    """adapter_config.json as a dict; one-line error naming the file otherwise."""
    path = folder / "adapter_config.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DqError(f"{path}: not found (is {folder} a PEFT adapter folder?)") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DqError(f"{path}: not readable JSON ({exc})") from None
    if not isinstance(data, dict):
        raise DqError(f"{path}: not a JSON object")
    return data


def audit_adapter(spec: str, base: str | None = None) -> AdapterAudit:
    """Run every check on the adapter at ``spec`` (against ``base`` when given)."""
    folder = resolve_adapter(spec)
    config = read_adapter_config(folder)
    weights = folder / WEIGHTS
    if not weights.is_file():
        raise DqError(f"{weights}: not found (only safetensors adapters can be audited without loading)")
    header = read_header(weights)
    audit = AdapterAudit(str(folder))
    _config_facts(audit, config)
    config_base = str(config.get("base_model_name_or_path") or "")
    if not config_base:
        audit.flag("red", "base_unnamed", "adapter_config.json names no base_model_name_or_path")
    for level, code, message in base_name_flags(config_base, base, _adapter_name(spec, folder)):
        audit.flag(level, code, message)
    _tensor_checks(audit, header, config, base or config_base)
    _provenance(audit, folder, config_base)
    return audit


def _adapter_name(spec: str, folder: Path) -> str:
    return spec.rstrip("/") if _HUB_ID.match(spec) and not Path(spec).exists() else folder.resolve().name


def _config_facts(audit: AdapterAudit, config: dict[str, Any]) -> None:
    peft_type = str(config.get("peft_type", ""))
    if peft_type.upper() != "LORA":
        audit.flag("red", "not_lora", f"peft_type is '{peft_type}', not LORA")
    r, alpha = config.get("r"), config.get("lora_alpha")
    if not isinstance(r, int) or r < 1:
        audit.flag("red", "bad_rank", f"r is {r!r}, not a positive integer")
        r = 0
    rslora = bool(config.get("use_rslora"))
    scaling = None
    if r and isinstance(alpha, (int, float)):
        scaling = alpha / math.sqrt(r) if rslora else alpha / r
    audit.facts["config"] = {
        "base_model_name_or_path": config.get("base_model_name_or_path"),
        "r": r,
        "lora_alpha": alpha,
        "use_rslora": rslora,
        "scaling": scaling,
        "scaling_rule": "alpha/sqrt(r) (rsLoRA)" if rslora else "alpha/r",
        "lora_dropout": config.get("lora_dropout"),
        "target_modules": config.get("target_modules"),
        "rank_pattern": config.get("rank_pattern") or {},
        "alpha_pattern": config.get("alpha_pattern") or {},
        "use_dora": bool(config.get("use_dora")),
        "modules_to_save": config.get("modules_to_save"),
        "bias": config.get("bias"),
        "task_type": config.get("task_type"),
        "peft_version": config.get("peft_version") or config.get("revision"),
    }


def _tensor_checks(
    audit: AdapterAudit, header: SafetensorsHeader, config: dict[str, Any], base_ref: str
) -> None:
    from dq.capacity.lora import linear_shapes, load_base

    check = split_tensors(header.tensors)
    dtypes = sorted({t.dtype for t in header.tensors})
    audit.facts["tensors"] = {
        "count": len(header.tensors),
        "lora_modules": len(check.modules),
        "dtypes": dtypes,
        "coverage": check.coverage(),
        "other_tensors": check.other[:10],
        "lora_params": check.lora_params,
    }
    if check.other:
        audit.flag("yellow", "other_tensors", f"{len(check.other)} non-LoRA tensors, e.g. {check.other[0]}")
    if not check.modules:
        audit.flag("red", "no_lora_tensors", f"{header.path.name} holds no lora_A/lora_B tensors")
        return
    _rank_check(audit, check, config)
    try:
        base = load_base(base_ref)
        shapes = linear_shapes(base)
    except DqError as exc:
        audit.flag("red", "base_unresolved", f"cannot check shapes: {exc.message}")
        return
    if base.quantization:
        audit.facts["base_quantization"] = base.quantization
    check_shapes(check, shapes, config)
    for problem in check.problems:
        audit.flag("red", "shape_mismatch", f"against {base.name}: {problem}")
    if not check.problems:
        audit.flag("green", "shapes_match", f"all {len(check.modules)} LoRA modules fit {base.name}")
    _size_check(audit, header, check.expected_params, dtypes)


def _rank_check(audit: AdapterAudit, check: TensorCheck, config: dict[str, Any]) -> None:
    r = int(config.get("r") or 0)
    wrong = []
    for module, parts in check.modules.items():
        want = int(pattern_value(module, config.get("rank_pattern") or {}, r))
        got = parts["A"][0] if "A" in parts else parts["B"][-1]
        if got != want:
            wrong.append(f"{module} has rank {got}")
    if wrong:
        audit.flag("red", "rank_mismatch", f"config r={r} but {len(wrong)} modules differ, e.g. {wrong[0]}")


def _size_check(
    audit: AdapterAudit, header: SafetensorsHeader, expected_params: int, dtypes: list[str]
) -> None:
    itemsize = ITEMSIZE[dtypes[0]] if len(dtypes) == 1 else None
    facts: dict[str, Any] = {
        "expected_params": expected_params,
        "expected_fp32_bytes": expected_params * 4,
        "expected_bf16_bytes": expected_params * 2,
        "file_bytes": header.file_bytes,
        "tensor_bytes": header.data_bytes,
        "header_bytes": 8 + header.header_bytes,
    }
    audit.facts["size"] = facts
    if itemsize is None:
        audit.flag("yellow", "mixed_dtypes", f"tensors mix dtypes {', '.join(dtypes)}")
        return
    expected = expected_params * itemsize
    facts["expected_tensor_bytes"] = expected
    mb = header.file_bytes / 1e6
    if header.data_bytes != expected:
        audit.flag(
            "red",
            "size_mismatch",
            f"tensors hold {header.data_bytes:,} bytes; the base config and adapter config expect "
            f"{expected:,} ({dtypes[0]})",
        )
    else:
        audit.flag(
            "green",
            "size_matches",
            f"{expected_params:,} parameters in {dtypes[0]} = {expected:,} bytes as the base config "
            f"predicts; file {header.file_bytes:,} bytes ({mb:.2f} MB, {header.file_bytes / 2**20:.2f} MiB)",
        )


def _provenance(audit: AdapterAudit, folder: Path, config_base: str) -> None:
    present = [name for name in PROVENANCE if (folder / name).is_file()]
    audit.facts["provenance"] = {"present": present, "absent": [n for n in PROVENANCE if n not in present]}
    if not present:
        audit.flag("yellow", "no_provenance", f"none of {', '.join(PROVENANCE)} next to the adapter")
    readme = folder / "README.md"
    if readme.is_file() and config_base:
        card_base = _card_base_model(readme.read_text(encoding="utf-8", errors="replace"))
        if card_base and card_base != config_base:
            audit.flag(
                "red",
                "card_contradiction",
                f"README.md says base_model '{card_base}', adapter_config.json says '{config_base}'",
            )


def _card_base_model(text: str) -> str | None:
    """``base_model:`` of a model card's YAML front matter (first value), if any."""
    if not text.startswith("---"):
        return None
    front = text.split("---", 2)[1] if text.count("---") >= 2 else ""
    m = re.search(r"^base_model:\s*(?:\n\s*-\s*)?['\"]?([^'\"\n]+)", front, re.MULTILINE)
    return m.group(1).strip() if m else None
