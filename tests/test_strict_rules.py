"""rules/strict.toml is the study's gate, exactly: same lists, same order, same prompt."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

from dq.pipeline.ruleset import load_rule_set
from dq.testing.reference import strict_patterns
from tests.conftest import STRICT

SEED_PROMPT = (
    "You are a careful math solver. Solve the problem step by step. Put the final answer in \\boxed{}."
)


def test_rule_order_and_reasons() -> None:
    rules = load_rule_set(STRICT).rules
    assert [(r.rule, r.id, r.action) for r in rules] == [
        ("dq.column_in", "source_filter", "skip"),
        ("dq.missing_box", "missing_box", "reject"),
        ("dq.boxed_mismatch", "boxed_mismatch", "reject"),
        ("dq.phrases", "suspicious_pattern", "reject"),
        ("dq.regexes", "problem_pattern", "reject"),
    ]
    assert rules[0].params["values"] == ["gsm8k", "math"]


def test_strict_lists_match_the_reference_registry() -> None:
    data = tomllib.loads(STRICT.read_text(encoding="utf-8"))
    phrases, patterns = strict_patterns()
    assert list(data["rules"][3]["phrases"].values()) == phrases and len(phrases) == 16
    assert list(data["rules"][4]["patterns"].values()) == patterns and len(patterns) == 16
    assert data["render"]["system_prompt"] == SEED_PROMPT
    assert data["split"] == {
        "splitter": "dq.grouped",
        "seed": 20260420,
        "val_ratio": 0.1,
        "source_order": ["gsm8k", "math"],
    }


def test_strict_lists_match_the_seed_transcription(shared_seed: Path) -> None:
    seed = json.loads((shared_seed / "gate_patterns.json").read_text())
    phrases, patterns = strict_patterns()
    assert phrases == list(seed["suspicious_patterns"].values())
    assert patterns == seed["problem_regexes"]["patterns"]
    assert seed["system_prompt"] == SEED_PROMPT
