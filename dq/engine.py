"""The rule engine: bind rule-set entries to rule classes, evaluate them, keep the accounting.

Accounting follows the study: rules run in rule-set order and a row's reject reason is its first
failing rule. Leading ``skip`` rules (the source filter) drop rows before anything else and those
rows are counted nowhere. Every rule that fires on a row is also recorded in a verdicts table
(row_index, rule, detail), so reviewers see all problems, not just the first.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import polars as pl
from pydantic import ValidationError

from dq.config import RuleEntry, RuleSet
from dq.errors import DqError, did_you_mean
from dq.plugins import Registry
from dq.rule import RowRule, RuleContext


@dataclass
class BoundRule:
    """A rule-set entry bound to a rule instance with validated params."""

    index: int
    reason: str
    action: str
    rule: RowRule


@dataclass
class CurateResult:
    """Rows kept after skip rules, split into accepted and rejected, plus every verdict."""

    considered: pl.DataFrame
    accepted: pl.DataFrame
    rejected: pl.DataFrame
    verdicts: pl.DataFrame


def describe_params(rule_cls: type[RowRule]) -> str:
    fields = rule_cls.Params.model_fields
    parts = []
    for name, info in fields.items():
        ann = getattr(info.annotation, "__name__", str(info.annotation))
        parts.append(f"{name} ({ann})" if info.is_required() else f"{name} ({ann}, default {info.default!r})")
    return ", ".join(parts) or "none"


def bind_rule(entry: RuleEntry, index: int, registry: Registry, origin: str) -> BoundRule:
    """Validate one ``[[rules]]`` entry's params against its rule class."""
    where = f"{origin}: rules[{index}]"
    try:
        rule_cls = registry.items["rules"][entry.rule]
    except KeyError:
        hint = did_you_mean(entry.rule, registry.items["rules"])
        raise DqError(
            f"{where}: unknown rule '{entry.rule}'{hint}; run 'dq rules list' to see installed "
            "rules (is the plugin that provides it installed?)"
        ) from None
    try:
        params = rule_cls.Params.model_validate(entry.params)
    except ValidationError as exc:
        raise DqError(_param_error(where, entry, rule_cls, exc)) from None
    return BoundRule(index, entry.id or rule_cls.default_reason(), entry.action, rule_cls(params))


def _param_error(where: str, entry: RuleEntry, rule_cls: type[RowRule], exc: ValidationError) -> str:
    first = exc.errors()[0]
    key = ".".join(str(p) for p in first["loc"])
    if first["type"] == "extra_forbidden":
        msg = f"unknown parameter{did_you_mean(key, rule_cls.Params.model_fields)}"
    else:
        msg = first["msg"].removeprefix("Value error, ")
    loc = f".{key}" if key else ""
    return f"{where}{loc} (rule '{entry.rule}'): {msg}; valid parameters: {describe_params(rule_cls)}"


def bind_rules(rule_set: RuleSet, registry: Registry) -> list[BoundRule]:
    bound = [bind_rule(e, i, registry, rule_set.source_path) for i, e in enumerate(rule_set.rules)]
    seen: dict[str, int] = {}
    for b in bound:
        if b.reason in seen:
            raise DqError(
                f"{rule_set.source_path}: rules[{b.index}]: reject reason '{b.reason}' already used "
                f"by rules[{seen[b.reason]}]; give one of them a distinct id"
            )
        seen[b.reason] = b.index
    return bound


def rule_mask(rule: RowRule, ctx: RuleContext) -> pl.Series:
    """Evaluate one rule to a Boolean Series; null counts as passing."""
    try:
        result = rule.failing_rows(ctx)
    except duckdb.Error as exc:
        first = str(exc).splitlines()[0]
        raise DqError(f"rule '{rule.name}': DuckDB could not evaluate its predicate: {first}") from None
    if isinstance(result, pl.Expr):
        result = ctx.rows.select(result.alias("fail")).to_series()
    return result.fill_null(False).alias("fail")


def leading_skips(bound: list[BoundRule]) -> list[BoundRule]:
    """The ``skip`` rules before the first ``reject`` rule: a pre-filter, counted nowhere."""
    out = []
    for b in bound:
        if b.action != "skip":
            break
        out.append(b)
    return out


def apply_skips(rows: pl.DataFrame, skips: list[BoundRule]) -> pl.DataFrame:
    """Rows that pass every leading skip rule (applied while streaming, and again in curate)."""
    for b in skips:
        rows = rows.filter(~rule_mask(b.rule, RuleContext(rows)))
    return rows


def apply_rules(rows: pl.DataFrame, bound: list[BoundRule]) -> CurateResult:
    """Evaluate rules; return accepted/rejected rows (with ``reason``) and the verdicts table."""
    skips = leading_skips(bound)
    rows = apply_skips(rows, skips)
    rest = bound[len(skips) :]
    ctx = RuleContext(rows)
    first = pl.Series("first", [None] * rows.height, dtype=pl.Int32)
    verdict_frames = []
    for pos, b in enumerate(rest):
        mask = rule_mask(b.rule, ctx)
        first = first.zip_with(first.is_not_null() | ~mask, pl.Series([pos], dtype=pl.Int32))
        flagged = rows.filter(mask)
        if flagged.height:
            verdict_frames.append(
                pl.DataFrame(
                    {
                        "row_index": flagged["row_index"],
                        "rule": [b.reason] * flagged.height,
                        "detail": pl.Series(b.rule.details(ctx, flagged), dtype=pl.String),
                    }
                )
            )
    reasons = pl.Series("reason", [b.reason for b in rest], dtype=pl.String)
    actions = pl.Series("action", [b.action for b in rest], dtype=pl.String)
    labelled = rows.with_columns(
        reason=reasons.gather(first) if rest else pl.lit(None, pl.String),
        action=actions.gather(first) if rest else pl.lit(None, pl.String),
    )
    considered = labelled.filter(pl.col("action").is_null() | (pl.col("action") != "skip"))
    verdicts = (
        pl.concat(verdict_frames).sort("row_index", maintain_order=True)
        if verdict_frames
        else pl.DataFrame(schema={"row_index": pl.UInt32, "rule": pl.String, "detail": pl.String})
    )
    return CurateResult(
        considered=considered.drop("reason", "action"),
        accepted=considered.filter(pl.col("reason").is_null()).drop("reason", "action"),
        rejected=considered.filter(pl.col("reason").is_not_null()).drop("action"),
        verdicts=verdicts.filter(pl.col("row_index").is_in(considered["row_index"].implode())),
    )
