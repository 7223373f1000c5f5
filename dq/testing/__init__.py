"""A small kit for rule authors: pass/fail row cases in TOML, run with a few lines of pytest.

Case file (one per rule, e.g. ``tests/cases/MX001.toml``)::

    rule = "mathx.gsm8k_numeric_answer"
    params = {}                       # default params for every case

    [integer_answer_passes]
    rows = [{ source = "gsm8k", expected_answer = "42" }]
    failing = []                      # indices of rows the rule must flag

    [fraction_fails]
    rows = [{ source = "gsm8k", expected_answer = "\\\\frac{1}{2}" }]
    failing = [0]

    [typo_is_a_config_error]
    params = { colum = "x" }
    rows = []
    error = "did you mean"            # expected substring of the config error

Test module::

    from dq.testing import RuleCase, load_rule_cases
    import pytest

    @pytest.mark.parametrize("case", load_rule_cases("tests/cases/*.toml"), ids=str)
    def test_rule_case(case: RuleCase) -> None:
        case.evaluate()
"""

from __future__ import annotations

import glob
import tomllib
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import polars as pl

from dq.api.rule import RuleContext
from dq.api.schema import RuleEntry
from dq.errors import DqError
from dq.pipeline.curation import rule_mask
from dq.pipeline.rule_binding import bind_rule
from dq.plugins import Registry, build_registry, make_plugin_manager

__all__ = ["RuleCase", "load_rule_cases", "default_registry", "evaluate_rule"]


@cache
def default_registry() -> Registry:
    """Registry with built-ins and every installed plugin (entry points)."""
    pm, infos, _ = make_plugin_manager()
    return build_registry(pm, infos)


def evaluate_rule(
    rule: str, params: dict[str, Any], rows: list[dict[str, Any]], registry: Registry | None = None
) -> list[int]:
    """Indices of ``rows`` the rule flags (missing keys are null; every column is a string)."""
    bound = bind_rule(RuleEntry(rule=rule, params=params), 0, registry or default_registry(), "<case>")
    columns = sorted({k for r in rows for k in r})
    frame = pl.DataFrame(
        {c: [r.get(c) for r in rows] for c in columns}, schema={c: pl.String for c in columns}
    )
    return rule_mask(bound.rule, RuleContext(frame)).arg_true().to_list()


@dataclass
class RuleCase:
    """One named case: rows and the indices that must fail, or an expected config error."""

    file: str
    rule: str
    name: str
    rows: list[dict[str, Any]] = field(default_factory=list)
    params: dict[str, Any] = field(default_factory=dict)
    failing: list[int] = field(default_factory=list)
    error: str | None = None

    def __str__(self) -> str:
        return f"{Path(self.file).stem}-{self.name}"

    def evaluate(self, registry: Registry | None = None) -> None:
        if self.error is not None:
            try:
                evaluate_rule(self.rule, self.params, self.rows, registry)
            except DqError as exc:
                assert self.error in exc.message, (
                    f"{self}: expected error containing {self.error!r}, got {exc.message!r}"
                )
                return
            raise AssertionError(f"{self}: expected a config error containing {self.error!r}")
        got = evaluate_rule(self.rule, self.params, self.rows, registry)
        assert got == self.failing, f"{self}: rule {self.rule} flagged rows {got}, expected {self.failing}"


def load_rule_cases(pattern: str) -> list[RuleCase]:
    """Every case in the TOML files matching ``pattern``, in file then case order."""
    cases = []
    for path in sorted(glob.glob(pattern)):
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
        rule, defaults = data.pop("rule"), data.pop("params", {})
        for name, case in data.items():
            cases.append(
                RuleCase(
                    path,
                    rule,
                    name,
                    case.get("rows", []),
                    case.get("params", defaults),
                    case.get("failing", []),
                    case.get("error"),
                )
            )
    return cases
