"""Token statistics and cost: the study's render-sanity keys and its token-count identity (§4.4, §6.9)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dq.tokens.cost import CostInputs, run_cost, study_validation_passes
from dq.tokens.stats import SplitTokens, split_report, study_keys
from tests.conftest import SHARED

SEED = SHARED / "seed"


def _tokens(full: list[int], prompt: list[int], system_cost: int = 27) -> SplitTokens:
    return SplitTokens(
        full_with_system=[f + system_cost for f in full],
        full_without_system=full,
        prompt_with_system=[p + system_cost for p in prompt],
        prompt_without_system=prompt,
    )


@pytest.mark.shared
def test_study_keys_are_the_seed_reports_keys() -> None:
    seed_path = SEED / "render_sanity_report.json"
    if not seed_path.exists():
        pytest.skip(f"{seed_path} is absent (../shared not beside the repo)")
    seed = json.loads(seed_path.read_text())
    ours = study_keys(_tokens([300, 310, 290, 305], [80, 75, 70, 90]))
    assert list(ours) == list(seed["train"])  # same keys, same order
    assert ours["delta_range"] == seed["train"]["delta_range"]  # 27 tokens on every row, as there


def test_median_delta_is_float_for_even_rows_and_int_for_odd_as_statistics_median() -> None:
    even = study_keys(_tokens([300, 310], [80, 75]))
    odd = study_keys(_tokens([300, 310, 290], [80, 75, 70]))
    assert even["full_median_delta"] == 27.0 and isinstance(even["full_median_delta"], float)
    assert odd["full_median_delta"] == 27 and isinstance(odd["full_median_delta"], int)
    assert even["full_mean_with_system"] == round((327 + 337) / 2, 2)


def test_split_report_counts_loss_tokens_percentiles_and_rows_over_max_length() -> None:
    full = list(range(100, 1100))  # 1,000 rows of 100..1099 tokens (before the system prompt)
    prompt = [50] * 1000
    report = split_report(_tokens(full, prompt), max_length=1000)
    with_sys = [f + 27 for f in full]
    assert report["loss_tokens"] == sum(with_sys) - sum(p + 27 for p in prompt)
    assert report["datum_tokens"] == sum(with_sys) - 1000
    assert report["max"] == 1126 and report["p50"] == 626 and report["p99"] == 1116
    assert report["rows_over_max_length"] == sum(1 for n in with_sys if n > 1000) == 126
    assert sum(report["histogram"]["counts"]) == 1000


def test_the_studys_token_identity_and_validation_passes() -> None:
    """§6.9: train = 2 × (8,639,063 − 25,348); validation = 7 × (939,401 − 2,818)."""
    train = {"rows": 25348, "datum_tokens": 8_639_063 - 25_348}
    val = {"rows": 2818, "datum_tokens": 939_401 - 2_818, "prompt_mean_with_system": 103.12}
    cost = run_cost(train, val, CostInputs())
    assert study_validation_passes(25348, 2) == 7
    assert cost["train_tokens"] == 17_227_430
    assert cost["validation_tokens"] == 6_556_081
    assert cost["total_dollars"] == round((17_227_430 + 6_556_081) * 0.40 / 1e6, 2) == 9.51


def test_seed_summary_token_counts_match_the_identity() -> None:
    path = SEED / "main_001_attention_only_seed_0_summary.json"
    if not path.exists():
        pytest.skip(f"{path} is absent (../shared not beside the repo)")
    counts = json.loads(Path(path).read_text())["token_count"]
    cost = run_cost({"rows": 25348, "datum_tokens": 8_613_715}, {"datum_tokens": 936_583}, CostInputs())
    assert (cost["train_tokens"], cost["validation_tokens"]) == (counts["train"], counts["validation"])
