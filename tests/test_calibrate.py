"""dq calibrate: planted kinds on GSM8K/MATH-style text, planted counts, per-check recall, limits."""

from __future__ import annotations

import json
import random
from pathlib import Path

import polars as pl
import pytest

from dq.contamination.calibrate import ANY, BASELINE, calibrate, expected_kinds
from dq.contamination.perturb import PERTURBATIONS, perturb, planted_rows
from dq.contamination.shingles import numbers
from dq.pipeline.plan import RunOptions, build_plan
from dq.plugins import Registry
from tests.conftest import ROOT
from tests.helpers import dq

GSM = (
    "A bumper car rink has 12 red cars. They have 2 fewer green cars than they have red cars. "
    "They have 3 times the number of blue cars as they have green cars. The rink also has yellow cars.  "
    "If the rink has 75 cars in total how many yellow cars do they have?"
)
PRICES = "Josh buys a house for $80,000 and then puts in $50,000 in repairs. How much profit did he make?"
MATH = "Find the distance between the vertex of the graph of $f(x) = x^2 - 8x + 15$ and the point $(0, 2)$."
WORDS = "Tom has some apples and gives a few of them to his friends. How many apples does he keep?"


def _edit(kind: str, text: str, seed: int = 0) -> str | None:
    return perturb(kind, text, random.Random(seed))


def test_number_edits_change_exactly_what_they_say() -> None:
    before = numbers(GSM)
    assert len(numbers(_edit("number_removed", GSM) or "")) == len(before) - 1
    assert len(numbers(_edit("number_added", GSM) or "")) == len(before) + 1
    assert sorted(numbers(_edit("numbers_swapped", GSM) or "")) == sorted(before)
    one = numbers(_edit("one_number_changed", GSM) or "")
    assert len(one) == len(before) and sum(a != b for a, b in zip(one, before, strict=True)) == 1
    scaled = [int(n) for n in numbers(_edit("numbers_scaled", GSM) or "")]
    assert len({s / int(b) for s, b in zip(scaled, before, strict=True)}) == 1 and scaled != before
    # Prices keep their thousands separators; a removed price takes its dollar sign along.
    assert "$240,000" in (_edit("numbers_scaled", PRICES, seed=1) or "") or "$160,000" in (
        _edit("numbers_scaled", PRICES, seed=1) or ""
    )
    removed = _edit("number_removed", PRICES) or ""
    assert removed.count("$") == 1 and "  " not in removed


def test_latex_problems_get_latex_edits() -> None:
    assert "x^2" in (_edit("numbers_scaled", MATH) or "")  # exponents are not quantities
    removed = _edit("number_removed", MATH) or ""
    assert removed.count("$") % 2 == 0
    distractor = _edit("distractor_with_number", MATH) or ""
    assert distractor.count("$") == MATH.count("$") + 2  # a LaTeX distractor, balanced
    assert len(numbers(distractor)) > len(numbers(MATH))


def test_distractors_and_paraphrases_keep_or_add_numbers_as_labelled() -> None:
    for seed in range(20):
        distractor = _edit("distractor_with_number", GSM, seed) or ""
        assert len(numbers(distractor)) == len(numbers(GSM)) + 1
        assert distractor.rstrip().endswith("do they have?")  # the question stays last
        paraphrase = _edit("template_paraphrase", GSM, seed) or ""
        assert sorted(numbers(paraphrase)) == sorted(numbers(GSM)) and paraphrase != GSM
        assert "?" in paraphrase.split(". ")[-1]
    added = _edit("number_added", WORDS) or ""  # a quantifier becomes a number
    assert len(numbers(added)) == 1 and ("some" in added) != ("a few" in added)


def test_kinds_that_cannot_apply_plant_nothing() -> None:
    no_numbers = "What is the sum of all the digits of the answer?"
    for kind in (
        "number_removed",
        "numbers_changed",
        "numbers_scaled",
        "numbers_swapped",
        "one_number_changed",
    ):
        assert _edit(kind, no_numbers) is None, kind
    assert _edit("clause_reorder", "How many legs does a spider have?") is None
    assert _edit("synonym_swap", "Solve for $x$.") is None


def test_planted_counts_are_the_rows_planted_and_deterministic() -> None:
    bench = pl.DataFrame({"question": [GSM, PRICES, MATH, "What is the sum of all digits?"]})
    bench = bench.with_row_index("benchmark_index")
    planted = planted_rows({"b": bench}, 10, seed=1)
    counts = dict(planted.group_by("kind").len().iter_rows())
    assert counts["verbatim"] == 4 and counts["numbers_scaled"] == 3 and counts["numbers_swapped"] == 3
    assert planted.equals(planted_rows({"b": bench}, 10, seed=1))
    assert not planted.equals(planted_rows({"b": bench}, 10, seed=2))
    assert (planted["source"] == bench["question"].gather(planted["benchmark_index"])).all()
    kinds = dict(zip(planted["kind"], expected_kinds(planted), strict=True))
    assert kinds["verbatim"] == "verbatim" and kinds["number_removed"] == "numbers_added_or_removed"


def test_calibrate_reports_counts_checks_union_baseline_and_clean_share(
    registry: Registry, tmp_path: Path
) -> None:
    rules = tmp_path / "r.toml"
    for name in "ab":
        (tmp_path / f"{name}.jsonl").write_text('{"question": "q"}\n')
    rules.write_text(
        '[[contamination]]\ncheck = "dq.exact"\n'
        '[[contamination]]\ncheck = "dq.minhash"\nthreshold = 0.7\nbenchmarks = ["a"]\n'
    )
    plan = build_plan(
        rules, registry, RunOptions(input_spec="x", benchmarks=[f"{n}={tmp_path / n}.jsonl" for n in "ab"])
    )
    a = pl.DataFrame({"question": [GSM, PRICES]}).with_row_index("benchmark_index")
    b = pl.DataFrame({"question": [MATH, "What is the sum of all digits?"]}).with_row_index("benchmark_index")
    clean = pl.Series([GSM.replace("75", "80"), "Completely unrelated text about painting fences."])
    result = calibrate(plan, clean, {"a": a, "b": b}, per_kind=5)
    assert result["planted"]["numbers_scaled"] == {"a": 2, "b": 1}
    assert result["planted_rows"] == sum(sum(v.values()) for v in result["planted"].values())
    assert list(result["checks"]) == ["dq.exact[0]", "dq.minhash[1]", ANY, BASELINE]
    minhash = result["checks"]["dq.minhash[1]"]
    assert "b" not in minhash["recall_by_benchmark"]  # the check does not look at b
    assert minhash["recall_by_benchmark"]["a"]["number_removed"] == 1.0
    assert result["checks"]["dq.exact[0]"]["recall"]["number_removed"] == 0.0
    assert minhash["clean_rows_flagged"] == 1 and minhash["clean_share_flagged"] == 0.5
    example = minhash["clean_examples"][0]
    assert example["benchmark_problem"] == GSM and example["kind"] == "numbers_changed"
    assert minhash["kind_label_agreement"]["number_removed"] == 1.0
    assert result["checks"][ANY]["recall"]["verbatim"] == 1.0


def test_calibrate_command_prints_every_kind_and_what_it_cannot_measure(tmp_path: Path) -> None:
    result = dq("calibrate", "--rules", ROOT / "rules/near.toml", "--per-kind", "5", "--out", tmp_path / "c")
    assert result.exit_code == 0, result.output
    cal = json.loads((tmp_path / "c/calibration.json").read_text())
    assert set(cal["planted"]) == set(PERTURBATIONS)
    assert {"dq.exact[0]", "dq.minhash[1]", "dq.ngram[2]", "dq.template[3]", ANY, BASELINE} <= set(
        cal["checks"]
    )
    for kind in PERTURBATIONS:
        assert kind in result.output
    assert "real LLM rewrites" in result.output and "share of clean rows" in result.output
    assert "best match" in result.output


@pytest.mark.shared
def test_calibrate_on_real_gsm8k_train_finds_number_edits(shared_data: Path, registry: Registry) -> None:
    plan = build_plan(ROOT / "rules/near.toml", registry, RunOptions(input_spec="x"))
    bench = (
        pl.read_ndjson(shared_data / "gsm8k/test.jsonl").select("question").with_row_index("benchmark_index")
    )
    clean = pl.read_ndjson(shared_data / "gsm8k/train.jsonl")["question"].head(3000)
    result = calibrate(plan, clean, {"gsm8k": bench}, per_kind=100)
    union = result["checks"][ANY]
    for kind in ("number_removed", "number_added", "numbers_scaled", "distractor_with_number"):
        assert union["recall"][kind] >= 0.95, (kind, union["recall"])
    assert union["clean_share_flagged"] <= 0.005
