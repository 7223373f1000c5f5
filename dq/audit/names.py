"""What model names say: quantization markers and parameter-size tokens ("4b", "135M")."""

from __future__ import annotations

import re

_QUANT = re.compile(
    r"(?<![a-z0-9])(gptq|awq|bnb|bitsandbytes|nf4|int4|int8|4bit|8bit|w4a16|w8a8|fp8|exl2|hqq|aqlm|gguf"
    r"|mlx|q[2-8]_[0-9a-z_]+)(?![a-z0-9])",
    re.IGNORECASE,
)
_SIZE = re.compile(r"(?<![0-9a-z.])(\d+(?:\.\d+)?)([bm])(?![a-z0-9])", re.IGNORECASE)


def quant_markers(name: str) -> list[str]:
    """Quantization markers in a model name, lower-cased: ``["gptq"]``, ``["4bit", "bnb"]``."""
    return sorted({m.group(1).lower() for m in _QUANT.finditer(name)})


def size_tokens(name: str) -> set[float]:
    """Parameter sizes a name claims, in billions: ``"Qwen3-4B"`` → {4.0}, ``"135M"`` → {0.135}."""
    found = set()
    for number, unit in _SIZE.findall(name):
        value = float(number) / (1000.0 if unit.lower() == "m" else 1.0)
        found.add(round(value, 6))
    return found


def same_model(a: str, b: str) -> bool:
    """True when two references name the same model: equal, or a local path ending in the Hub id."""
    a, b = a.rstrip("/"), b.rstrip("/")
    if a == b:
        return True
    tail_a, tail_b = a.split("/")[-2:], b.split("/")[-2:]
    return tail_a == tail_b and len(tail_a) == 2


def base_name_flags(config_base: str, given: str | None, adapter_name: str) -> list[tuple[str, str, str]]:
    """(level, code, message) about the base model's name: exact, quantization, contradicting names."""
    flags: list[tuple[str, str, str]] = []
    quant = quant_markers(config_base)
    label = f"'{config_base}'" + (f" (quantized: {', '.join(quant)})" if quant else "")
    if given is not None and not same_model(config_base, given):
        given_quant = quant_markers(given)
        why = " (quantization differs)" if quant != given_quant else ""
        flags.append(("red", "base_mismatch", f"adapter_config names base {label}; --base is '{given}'{why}"))
    elif given is not None:
        flags.append(("green", "base_named", f"base model named exactly: {label}"))
    else:
        flags.append(("green", "base_named", f"base model named: {label}"))
    claimed, actual = size_tokens(adapter_name), size_tokens(given or config_base)
    if claimed and actual and not claimed & actual:
        flags.append(
            (
                "red",
                "name_contradiction",
                f"adapter name '{adapter_name}' claims {_sizes(claimed)} but the base "
                f"'{given or config_base}' is {_sizes(actual)}",
            )
        )
    return flags


def _sizes(values: set[float]) -> str:
    return ", ".join(f"{v:g}B" for v in sorted(values))
