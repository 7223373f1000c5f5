"""Rule-set files: TOML read and validated against :mod:`dq.api.schema`, every error at once."""

from __future__ import annotations

import hashlib
import tomllib
from collections.abc import Set as AbstractSet
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from dq.api.rule import RESERVED_KEYS
from dq.api.schema import RuleSet
from dq.errors import DqError, validation_lines

#: Keys of ``[split]`` and ``[[contamination]]`` that belong to dq, not to the component's options.
SPLIT_KEYS = frozenset({"splitter"})
CHECK_KEYS = frozenset({"check", "action", "kind_actions"})


def _split_entry(raw: Any, known: AbstractSet[str], into: str) -> Any:
    """Move every non-reserved key of a table into its ``params``/``options`` sub-table."""
    if not isinstance(raw, dict):
        return raw
    moved = {k: v for k, v in raw.items() if k not in known}
    kept = {k: v for k, v in raw.items() if k in known}
    kept[into] = moved
    return kept


def keys_at(model: type[BaseModel], loc: tuple[Any, ...]) -> list[str]:
    """The field names of the model found at a pydantic error location (for "did you mean")."""
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
    """Read and validate a rule-set file's structure (components are bound by the plan)."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise DqError(f"{path}: cannot read rule set: {exc.strerror}") from None
    try:
        raw = tomllib.loads(data.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise DqError(f"{path}: invalid TOML: {exc}") from None
    if isinstance(raw.get("rules", []), list):
        raw["rules"] = [_split_entry(r, RESERVED_KEYS, "params") for r in raw.get("rules", [])]
    if "split" in raw:
        raw["split"] = _split_entry(raw["split"], SPLIT_KEYS, "options")
    if isinstance(raw.get("contamination", []), list):
        raw["contamination"] = [
            _split_entry(g, CHECK_KEYS, "options") for g in raw.get("contamination", [{}])
        ]
    try:
        rule_set = RuleSet.model_validate(raw)
    except ValidationError as exc:
        lines = validation_lines(str(path), "", exc, lambda loc: keys_at(RuleSet, loc))
        raise DqError("\n".join(lines)) from None
    rule_set.source_path = str(path)
    rule_set.sha256 = hashlib.sha256(data).hexdigest()
    return rule_set
