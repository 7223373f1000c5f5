"""The study's pipeline as plain per-row Python: the oracle for tests and the bench baseline.

This is a literal port of the original scripts (gate loop, grouped split); dq's engine must give
the same verdicts, counts and row order. It is deliberately not vectorized.
"""

from __future__ import annotations

import json
import random
import re
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from dq.text.normalize import canonical_problem, gate_normalize, last_boxed, row_id

_SEED_PATTERNS = Path(__file__).parent / "strict_patterns.json"


def strict_patterns() -> tuple[list[str], list[str]]:
    """The 16 suspicious phrases and 16 residue regexes of the strict gate."""
    data = json.loads(_SEED_PATTERNS.read_text(encoding="utf-8"))
    return list(data["suspicious_patterns"].values()), list(data["problem_regexes"])


def gate_reason(row: dict[str, str], phrases: list[str], regexes: list[re.Pattern[str]]) -> str | None:
    """The study's four checks in order; the first failure wins."""
    boxed = last_boxed(row["generated_solution"])
    if boxed is None:
        return "missing_box"
    if gate_normalize(boxed) != gate_normalize(row["expected_answer"]):
        return "boxed_mismatch"
    lower = row["generated_solution"].lower()
    if any(p in lower for p in phrases):
        return "suspicious_pattern"
    if any(r.search(row["problem"]) for r in regexes):
        return "problem_pattern"
    return None


def reference_gate(
    rows: Iterable[dict[str, Any]], sources: tuple[str, ...] = ("gsm8k", "math")
) -> tuple[dict[str, list[dict[str, str]]], Counter[tuple[str, str]], Counter[str]]:
    """Source filter then gate; returns kept rows per source, reject counts, input counts."""
    phrases, patterns = strict_patterns()
    regexes = [re.compile(p, re.IGNORECASE) for p in patterns]
    kept: dict[str, list[dict[str, str]]] = {s: [] for s in sources}
    rejects: Counter[tuple[str, str]] = Counter()
    inputs: Counter[str] = Counter()
    for raw in rows:
        source = raw["problem_source"]
        if source not in sources:
            continue
        inputs[source] += 1
        reason = gate_reason(raw, phrases, regexes)
        if reason is not None:
            rejects[(source, reason)] += 1
            continue
        kept[source].append(
            {
                "row_id": row_id(source, raw["problem"], raw["expected_answer"]),
                "source": source,
                "problem": raw["problem"],
                "generated_solution": raw["generated_solution"],
                "expected_answer": raw["expected_answer"],
            }
        )
    return kept, rejects, inputs


def reference_split(
    kept: dict[str, list[dict[str, str]]], seed: int = 20260420, val_ratio: float = 0.1
) -> tuple[list[dict[str, str]], list[dict[str, str]], int, int]:
    """The study's grouped split, verbatim: returns train rows, val rows, train/val group counts."""
    rng = random.Random(seed)
    groups_by_problem: dict[str, list[dict[str, str]]] = {}
    for source in kept:
        for row in kept[source]:
            groups_by_problem.setdefault(canonical_problem(row["problem"]), []).append(row)
    groups = list(groups_by_problem.values())
    rng.shuffle(groups)
    total = sum(len(g) for g in groups)
    target = round(total * val_ratio)
    train_groups, val_groups, val_total = [], [], 0
    for group in groups:
        if val_total < target:
            val_groups.append(group)
            val_total += len(group)
        else:
            train_groups.append(group)
    train = [r for g in train_groups for r in g]
    val = [r for g in val_groups for r in g]
    rng.shuffle(train)
    rng.shuffle(val)
    return train, val, len(train_groups), len(val_groups)
