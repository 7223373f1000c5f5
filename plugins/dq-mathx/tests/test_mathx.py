"""dq-mathx's rule cases, run with dq's test kit; and the plugin is visible to dq."""

from __future__ import annotations

from pathlib import Path

import pytest

from dq.testing import RuleCase, default_registry, load_rule_cases

CASES = str(Path(__file__).parent / "cases" / "*.toml")


@pytest.mark.parametrize("case", load_rule_cases(CASES), ids=str)
def test_rule_case(case: RuleCase) -> None:
    case.evaluate()


def test_rule_is_registered_by_the_plugin() -> None:
    registry = default_registry()
    assert registry.owner[("rules", "mathx.numeric_answer")] == "dq-mathx"
