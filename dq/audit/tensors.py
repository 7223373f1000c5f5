"""Every LoRA tensor of an adapter against the base model's Linear modules.

PEFT saves ``base_model.model.<module>.lora_A.weight`` with shape ``[r, in_features]`` and
``…lora_B.weight`` with ``[out_features, r]``. An adapter trained on another base has other
``in``/``out`` (or other module names), so comparing each tensor with the module of the same
name in the base model (built on the meta device) catches it before anyone loads it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from dq.audit.safetensors_header import TensorEntry
from dq.capacity.lora import ATTENTION, MLP

_LORA = re.compile(r"^(?:base_model\.model\.)?(?P<module>.+)\.lora_(?P<ab>[AB])(?:\.[^.]+)?\.weight$")
_LAYER = re.compile(r"\.layers\.(\d+)\.")
EXAMPLES = 3


@dataclass
class TensorCheck:
    """The outcome: LoRA modules found, problems (one line each), parameter counts."""

    modules: dict[str, dict[str, tuple[int, ...]]] = field(default_factory=dict)
    other: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    expected_params: int = 0
    lora_params: int = 0

    def coverage(self) -> dict[str, list[str]]:
        """Module leaf names present, grouped as attention, MLP and other."""
        leaves = sorted({m.rsplit(".", 1)[-1] for m in self.modules})
        return {
            "attention": [x for x in leaves if x in ATTENTION],
            "mlp": [x for x in leaves if x in MLP],
            "other": [x for x in leaves if x not in ATTENTION + MLP],
        }


def split_tensors(tensors: tuple[TensorEntry, ...]) -> TensorCheck:
    """Group LoRA A/B tensors by module; anything else (DoRA, modules_to_save) is listed apart."""
    check = TensorCheck()
    for t in tensors:
        m = _LORA.match(t.name)
        if m is None:
            check.other.append(t.name)
            continue
        check.modules.setdefault(m["module"], {})[m["ab"]] = t.shape
        check.lora_params += t.numel
    return check


def pattern_value(module: str, patterns: dict[str, Any], default: Any) -> Any:
    """PEFT's rank_pattern / alpha_pattern lookup: a key matches the end of the module name."""
    for key, value in (patterns or {}).items():
        if re.match(rf"(.*\.)?({key})$", module):
            return value
    return default


def targeted(shapes: dict[str, tuple[int, int]], config: dict[str, Any]) -> set[str]:
    """The base's modules that ``target_modules`` (and ``layers_to_transform``) select, as PEFT would."""
    targets = config.get("target_modules")
    if isinstance(targets, str):
        if targets == "all-linear":
            chosen = {n for n in shapes if n.rsplit(".", 1)[-1] != "lm_head"}
        else:
            chosen = {n for n in shapes if re.fullmatch(targets, n)}
    else:
        keys = list(targets or [])
        chosen = {n for n in shapes if any(n == k or n.endswith("." + k) for k in keys)}
    layers = config.get("layers_to_transform")
    if layers is not None:
        wanted = {layers} if isinstance(layers, int) else set(layers)
        chosen = {n for n in chosen if (m := _LAYER.search(n)) and int(m.group(1)) in wanted}
    return chosen


def check_shapes(check: TensorCheck, shapes: dict[str, tuple[int, int]], config: dict[str, Any]) -> None:
    """Fill ``check.problems`` and ``expected_params``: shapes, ranks and module sets."""
    rank = int(config.get("r") or 0)
    expected = targeted(shapes, config)
    bad: list[str] = []
    for module, parts in sorted(check.modules.items()):
        if module not in shapes:
            bad.append(f"{module}: no such Linear module in the base")
            continue
        fan_in, fan_out = shapes[module]
        r = int(pattern_value(module, config.get("rank_pattern") or {}, rank))
        want = {"A": (r, fan_in), "B": (fan_out, r)}
        for ab in ("A", "B"):
            got = parts.get(ab)
            if got != want[ab]:
                bad.append(
                    f"{module}.lora_{ab} {list(got) if got else 'missing'} ≠ expected {list(want[ab])}"
                )
    for module in expected:
        r = int(pattern_value(module, config.get("rank_pattern") or {}, rank))
        check.expected_params += r * sum(shapes[module])
    _report(check, bad, "LoRA tensors do not fit the base model's modules")
    missing = sorted(expected - set(check.modules))
    extra = sorted(set(check.modules) - expected)
    _report(
        check, [f"{m}: targeted by the config, no tensors" for m in missing], "targeted modules lack tensors"
    )
    _report(
        check,
        [f"{m}: has tensors, not targeted" for m in extra],
        "tensors for modules the config does not target",
    )


def _report(check: TensorCheck, lines: list[str], what: str) -> None:
    if lines:
        shown = "; ".join(lines[:EXAMPLES])
        more = f" (+{len(lines) - EXAMPLES} more)" if len(lines) > EXAMPLES else ""
        check.problems.append(f"{len(lines)} {what}: {shown}{more}")
