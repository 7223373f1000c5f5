"""Every built-in rule's pass/fail cases (tests/cases/<CODE>.toml), run through dq.testing."""

from __future__ import annotations

from pathlib import Path

import pytest

from dq.testing import RuleCase, default_registry, load_rule_cases

CASES = str(Path(__file__).parent / "cases" / "*.toml")


@pytest.mark.parametrize("case", load_rule_cases(CASES), ids=str)
def test_rule_case(case: RuleCase) -> None:
    case.evaluate()


def test_every_builtin_rule_has_passing_and_failing_cases() -> None:
    cases = load_rule_cases(CASES)
    registry = default_registry()
    for name, cls in registry.items["rules"].items():
        if registry.owner[("rules", name)] != "dq":
            continue
        mine = [c for c in cases if c.rule == name and c.error is None]
        assert any(c.failing for c in mine), f"{name} has no failing case"
        assert any(not c.failing and c.rows for c in mine), f"{name} has no passing case"
        assert cls.summary().endswith("."), f"{name}: summary must be one sentence ending in '.'"
        for field_name, info in cls.Params.model_fields.items():
            assert info.description, f"{name}.{field_name} has no description"


def test_rules_reference_is_current() -> None:
    from pathlib import Path

    from dq.cli.docs import rules_markdown
    from dq.plugins import build_registry, make_plugin_manager

    pm, infos, _ = make_plugin_manager(load_entrypoints=False)
    current = rules_markdown(build_registry(pm, infos))
    path = Path(__file__).parent.parent / "docs" / "rules.md"
    assert path.read_text(encoding="utf-8") == current, (
        "regenerate: DQ_LOAD_PLUGINS= dq rules docs > docs/rules.md"
    )
