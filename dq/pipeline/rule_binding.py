"""``[[rules]]`` entries bound to registered rule classes, parameters validated, order checked."""

from __future__ import annotations

from pydantic import ValidationError

from dq.api.rule import RowRule
from dq.api.run import BoundRule
from dq.api.schema import RuleEntry, RuleSet
from dq.errors import validation_lines
from dq.pipeline.problems import Problems
from dq.plugins import Registry


def describe_params(rule_cls: type[RowRule]) -> str:
    parts = []
    for name, info in rule_cls.Params.model_fields.items():
        ann = getattr(info.annotation, "__name__", str(info.annotation))
        parts.append(f"{name} ({ann})" if info.is_required() else f"{name} ({ann}, default {info.default!r})")
    return ", ".join(parts) or "none"


def bind_rule(entry: RuleEntry, index: int, registry: Registry, origin: str) -> BoundRule:
    """One ``[[rules]]`` entry bound to its rule class; every problem of the entry in one DqError."""
    problems = Problems(origin)
    bound = _bind_rule(entry, index, registry, problems)
    problems.raise_if_any()
    assert bound is not None
    return bound


def _bind_rule(entry: RuleEntry, index: int, registry: Registry, problems: Problems) -> BoundRule | None:
    where = f"rules[{index}]"
    rule_cls = registry.find("rules", entry.rule)
    if rule_cls is None:
        problems.add(where, registry.unknown("rules", entry.rule))
        return None
    try:
        params = rule_cls.Params.model_validate(entry.params)
    except ValidationError as exc:
        context = f"; valid parameters: {describe_params(rule_cls)}"
        label = f" (rule '{entry.rule}')"
        lines = validation_lines(
            problems.origin, where, exc, lambda loc: rule_cls.Params.model_fields, context, label
        )
        problems.extend([line.replace("unknown key", "unknown parameter") for line in lines])
        return None
    rule = rule_cls(params)
    for message in rule.config_problems():
        problems.add(f"{where} (rule '{entry.rule}')", message)
    return BoundRule(index, entry.id or rule_cls.default_reason(), entry.action, rule)


def bind_rules(rule_set: RuleSet, registry: Registry, problems: Problems | None = None) -> list[BoundRule]:
    """Every ``[[rules]]`` entry bound; reject reasons must be distinct."""
    own = problems or Problems(rule_set.source_path)
    bound = [_bind_rule(e, i, registry, own) for i, e in enumerate(rule_set.rules)]
    seen: dict[str, int] = {}
    rejecting = None
    for b in bound:
        if b is None:
            continue
        if b.action == "skip" and rejecting is not None:
            own.add(
                f"rules[{b.index}].action",
                f"a skip rule after a reject rule (rules[{rejecting}]) would drop rows without a trace; "
                "skip rules must come first (move it up, or make it a reject rule)",
            )
        if b.action != "skip" and rejecting is None:
            rejecting = b.index
        if b.reason in seen:
            own.add(
                f"rules[{b.index}]",
                f"reject reason '{b.reason}' already used by rules[{seen[b.reason]}]; give one of them a distinct id",
            )
        seen[b.reason] = b.index
    if problems is None:
        own.raise_if_any()
    return [b for b in bound if b is not None]
