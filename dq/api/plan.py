"""The validated plan of a run: every rule-set entry bound to its plugin component, built once.

``dq.pipeline.plan.build_plan`` makes it; ``dq validate``, ``dq run``, ``dq scan`` and
``dq calibrate`` all use it, so a rule set that validates is a rule set that runs. Data only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from dq.api.components import ContaminationCheck, Reporter, Splitter, Stage
    from dq.api.rule import RowRule
    from dq.api.schema import BenchmarkSpec, RuleSet


@dataclass(frozen=True)
class BoundRule:
    """A ``[[rules]]`` entry bound to a rule instance with validated params."""

    index: int
    reason: str
    action: str
    rule: RowRule


@dataclass(frozen=True)
class BoundCheck:
    """A ``[[contamination]]`` entry bound to a check instance with validated options."""

    index: int
    name: str
    action: str
    method: str
    check: ContaminationCheck
    #: The benchmark names this check compares against (its ``benchmarks`` option, else all).
    benchmarks: tuple[str, ...]


@dataclass(frozen=True)
class Plan:
    """Everything a rule set asks for, resolved and validated before any data is read."""

    rule_set: RuleSet
    rules: tuple[BoundRule, ...]
    stages: tuple[Stage, ...]
    splitter: Splitter
    checks: tuple[BoundCheck, ...]
    reporters: tuple[Reporter, ...]
    #: Benchmarks by name, each resolved to a local path or Hub spec (loaded by the gate stage).
    benchmarks: dict[str, BenchmarkSpec]
    #: The input (``--input`` or the rule set's ``[input] path``); None means the demo corpus.
    input_spec: str | None
    #: dq field -> input column, the rule set's map updated by ``--column``.
    columns: dict[str, str] = field(default_factory=dict)
    #: Fields mapped on the command line: their column must exist as named (no fallback).
    strict_columns: frozenset[str] = frozenset()

    @property
    def skip_rules(self) -> tuple[BoundRule, ...]:
        """The ``skip`` rules before the first ``reject`` rule: a pre-filter, counted nowhere."""
        out = []
        for bound in self.rules:
            if bound.action != "skip":
                break
            out.append(bound)
        return tuple(out)

    @property
    def is_demo(self) -> bool:
        return self.input_spec is None
