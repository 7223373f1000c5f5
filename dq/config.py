"""Rule sets: TOML files validated into models, with errors that name the file and TOML path."""

from __future__ import annotations

import hashlib
import tomllib
from collections.abc import Set as AbstractSet
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from dq.errors import DqError, did_you_mean
from dq.rule import RESERVED_KEYS


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class InputSpec(Model):
    path: str | None = None
    #: dq column name -> input column name, e.g. ``source = "problem_source"``.
    columns: dict[str, str] = Field(default_factory=dict)


class RuleEntry(Model):
    rule: str
    id: str | None = None
    action: Literal["reject", "skip"] = "reject"
    description: str | None = None
    params: dict[str, Any] = Field(default_factory=dict)


class SplitSpec(Model):
    splitter: str = "dq.grouped"
    options: dict[str, Any] = Field(default_factory=dict)


class BenchmarkSpec(Model):
    name: str
    path: str | None = None
    hf: str | None = None
    field: str = ""


class GateEntry(Model):
    check: str = "dq.exact"
    action: Literal["fail", "drop", "warn"] = "fail"
    options: dict[str, Any] = Field(default_factory=dict)


class LeakageSpec(Model):
    action: Literal["fail", "warn"] = "fail"
    #: Also gate MinHash near-duplicates between val and train (estimated Jaccard >= threshold).
    near_duplicates: bool = False
    threshold: float = Field(default=0.7, ge=0, le=1)


class RenderSpec(Model):
    system_prompt: str = (
        "You are a careful math solver. Solve the problem step by step. Put the final answer in \\boxed{}."
    )
    renderer_name: str = "qwen3_disable_thinking"
    model_name: str = "Qwen/Qwen3-8B"


DEFAULT_PIPELINE = ["load", "curate", "split", "gate", "render", "write"]


class RuleSet(Model):
    version: Literal[1] = 1
    name: str = "unnamed"
    description: str = ""
    input: InputSpec = Field(default_factory=lambda: InputSpec())
    pipeline: list[str] = Field(default_factory=lambda: list(DEFAULT_PIPELINE))
    rules: list[RuleEntry] = Field(default_factory=list)
    split: SplitSpec = Field(default_factory=lambda: SplitSpec())
    benchmarks: list[BenchmarkSpec] = Field(default_factory=list)
    contamination: list[GateEntry] = Field(default_factory=lambda: [GateEntry()])
    leakage: LeakageSpec = Field(default_factory=lambda: LeakageSpec())
    render: RenderSpec = Field(default_factory=lambda: RenderSpec())
    reports: list[str] = Field(
        default_factory=lambda: [
            "contamination-json",
            "contamination-matches",
            "contamination-md",
            "summary-md",
        ]
    )
    #: Where the rule set was read from, and the sha256 of its bytes.
    source_path: str = ""
    sha256: str = ""


def _split_entry(raw: dict[str, Any], known: AbstractSet[str], into: str) -> dict[str, Any]:
    """Move every non-reserved key of a table into its ``params``/``options`` sub-table."""
    if not isinstance(raw, dict):
        return raw
    moved = {k: v for k, v in raw.items() if k not in known}
    kept = {k: v for k, v in raw.items() if k in known}
    kept[into] = moved
    return kept


def _path(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part not in ("params", "options"):
            out += ("." if out else "") + str(part)
    return out


def _format_validation(path: str, err: ValidationError, model: type[BaseModel]) -> str:
    first = err.errors()[0]
    loc = _path(tuple(first["loc"]))
    if first["type"] == "extra_forbidden":
        key = str(first["loc"][-1])
        fields = _fields_at(model, first["loc"][:-1])
        return f"{path}: {loc}: unknown key{did_you_mean(key, fields)}"
    return f"{path}: {loc}: {first['msg']}"


def _fields_at(model: type[BaseModel], loc: tuple[Any, ...]) -> list[str]:
    current: Any = model
    for part in loc:
        if isinstance(part, int):
            continue
        info = getattr(current, "model_fields", {}).get(part)
        if info is None:
            return []
        ann = info.annotation
        args = getattr(ann, "__args__", ())
        current = args[0] if args and isinstance(args[0], type) else ann
    return list(getattr(current, "model_fields", {}))


def load_rule_set(path: str | Path) -> RuleSet:
    """Read and validate a rule set file (structure only; rule params are checked at bind time)."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise DqError(f"{path}: cannot read rule set: {exc.strerror}") from None
    try:
        raw = tomllib.loads(data.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise DqError(f"{path}: invalid TOML: {exc}") from None
    raw["rules"] = [_split_entry(r, RESERVED_KEYS, "params") for r in raw.get("rules", [])]
    if "split" in raw:
        raw["split"] = _split_entry(raw["split"], {"splitter"}, "options")
    raw["contamination"] = [
        _split_entry(g, {"check", "action"}, "options") for g in raw.get("contamination", [{}])
    ]
    try:
        rule_set = RuleSet.model_validate(raw)
    except ValidationError as exc:
        raise DqError(_format_validation(str(path), exc, RuleSet)) from None
    rule_set.source_path = str(path)
    rule_set.sha256 = hashlib.sha256(data).hexdigest()
    return rule_set
