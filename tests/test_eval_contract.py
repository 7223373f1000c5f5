"""The GSM8K eval contract (SEED_CONTRACTS §5.3/§5.4) pinned by tables, plus MATH-500 equivalence on real answers."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from dq.api.evaluate import SYSTEM_PROMPT, EvalItem, Generation
from dq.eval import results
from dq.eval.evaluators import Gsm8kEvaluator, Math500Evaluator
from dq.eval.gsm8k_contract import answers_match, extract_boxed, gsm8k_reference, normalize_answer
from dq.eval.lenient import lenient_match, lenient_normalize
from dq.eval.math_equiv import canonical, is_equiv

DATA = Path(__file__).parent / "data"

# (prediction, reference, correct, normalized_prediction): every case of §5.4, in its order.
CONTRACT_TABLE = [
    ("70,000", "70000", False, "70,000"),
    ("\\$460", "460", False, "\\$460"),
    ("60\\%", "60", False, "60\\%"),
    ("\\$57,500", "57500", False, "\\$57,500"),
    ("\\$16.00", "16", False, "\\$16.00"),
    ("18 dollars", "18", False, "18 dollars"),
    ("\\text{18}", "18", False, "\\text{18}"),
    ("x=18", "18", False, "x=18"),
    ("42.0", "42", True, "42.0"),
    ("16.00", "16", True, "16.00"),
    ("1e3", "1000", True, "1e3"),
    ("+5", "5", True, "+5"),
    (".5", "0.5", True, ".5"),
    ("1_000", "1000", True, "1_000"),
    ("NaN", "NaN", False, "NaN"),
    ("nan", "5", False, "nan"),
    ("sNaN", "sNaN", False, "sNaN"),  # decided: any NaN scores wrong, never raises
    ("sNaN", "5", False, "sNaN"),
    ("5", "sNaN", False, "5"),
    ("$", "5", False, ""),  # a lone "$" strips to ""
    ("$18$", "18", True, "18"),
    ("\\(18\\)", "18", True, "18"),
    ("\\[ \\dfrac{1}{2} \\]", "\\frac{1}{2}", True, "\\frac{1}{2}"),
    ("\\left( 1,  2 \\right)", "(1, 2)", False, "( 1, 2 )"),  # spaces left by \\left( stay
    ("  7 ", "7", True, "7"),
]


@pytest.mark.parametrize(
    ("pred", "ref", "correct", "norm"), CONTRACT_TABLE, ids=[c[0] for c in CONTRACT_TABLE]
)
def test_contract_scoring_table(pred: str, ref: str, correct: bool, norm: str) -> None:
    assert answers_match(pred, ref) == (correct, norm, normalize_answer(ref))


def test_extraction_failure_scores_wrong_with_null_prediction() -> None:
    assert answers_match(None, " 45 ") == (False, None, "45")


EXTRACT_TABLE = [
    ("so \\boxed{18}.", "18"),
    ("\\boxed{\\frac{1}{2}} then \\boxed{ 3 }", " 3 "),  # the last box, payload not stripped
    ("\\boxed{\\frac{a}{b^{2}}}", "\\frac{a}{b^{2}}"),  # nested braces
    ("\\boxed {7}", "7"),  # whitespace before the brace is tolerated
    ("\\boxed\n{7}", "7"),
    ("\\boxed{5} and finally \\boxed{6", None),  # unbalanced last box: no fallback to 5
    ("no box here, answer 5", None),
    ("\\boxed{}", ""),
    ("\\fbox{3}", None),
]


@pytest.mark.parametrize(("text", "expected"), EXTRACT_TABLE)
def test_boxed_extraction(text: str, expected: str | None) -> None:
    assert extract_boxed(text) == expected


def test_gsm8k_reference_takes_the_last_marker() -> None:
    assert gsm8k_reference("a #### b\n#### 1,000 ") == "1,000"
    with pytest.raises(ValueError):
        gsm8k_reference("no marker")


def test_seed_rows_rescore_as_recorded() -> None:
    """The 4 real rows of §5.5: every derived field rescored from the saved (trimmed) text."""
    evaluator = Gsm8kEvaluator()
    rows = [json.loads(line) for line in (DATA / "eval_seed_predictions.jsonl").read_text().splitlines()]
    assert [r["benchmark_index"] for r in rows] == [0, 2, 8, 9]
    for row in rows:
        recorded = answers_match(row["extracted_answer"], row["reference_answer"])
        assert recorded == (row["correct"], row["normalized_prediction"], row["normalized_reference"])
    for row in rows[1:]:  # row 0's box was cut by the trimming; 2, 8 and 9 keep their last box
        score = evaluator.score(row["generated_text"], row["reference_answer"])
        assert (score.extracted_answer, score.correct) == (row["extracted_answer"], row["correct"])
        assert (score.normalized_prediction, score.normalized_reference) == (
            row["normalized_prediction"],
            row["normalized_reference"],
        )


LENIENT_TABLE = [
    ("70,000", "70000", True),
    ("\\$460", "460", True),
    ("60\\%", "60", True),
    ("\\$57,500", "57500", True),
    ("\\$16.00", "16", True),
    ("18 dollars", "18", True),
    ("\\text{18}", "18", True),
    ("\\text{18 cm}", "18", True),
    ("x=18", "18", True),
    ("1,234,567", "1234567", True),
    ("17", "18", False),
    ("1,8", "18", False),  # not a thousands group
    (None, "18", False),
]


@pytest.mark.parametrize(("pred", "ref", "expected"), LENIENT_TABLE)
def test_lenient_diagnostic(pred: str | None, ref: str, expected: bool) -> None:
    assert lenient_match(pred, ref) is expected
    if pred is not None and expected:
        assert answers_match(pred, ref)[0] is False or pred == "17"  # strict stays strict


def test_lenient_normalize_shapes() -> None:
    assert lenient_normalize("\\textbf{\\$1,000}") == "1000"
    assert lenient_normalize("25 percent") == "25"


MATH_EQUAL = [
    ("\\dfrac{14}{3}", "\\frac{14}{3}"),
    ("\\tfrac{3}{56}", "\\frac{3}{56}"),
    ("14/3", "\\frac{14}{3}"),
    ("0.25", "\\frac14"),
    ("\\frac{1}{2}", "0.5"),
    ("(3, \\frac{\\pi}{2})", "\\left( 3, \\frac{\\pi}{2} \\right)"),
    ("90", "90^\\circ"),
    ("\\sqrt{52}", "2\\sqrt{13}"),
    ("11\\sqrt{2}", "11\\sqrt2"),
    ("-2+7i", "-2 + 7i"),
    ("x = 5", "x=5"),
    ("5", "x=5"),
    ("-2, 1", "1,-2"),  # an unbracketed list is a set of solutions
    ("\\text{Evelyn}", "Evelyn"),
    ("x^5-x^4+x^3-x^2+x-1", "x^5 - x^4 + x^3 - x^2 + x - 1"),
    ("\\frac{\\sqrt{3}}{2}", "\\frac{3}{2\\sqrt{3}}"),
]

MATH_UNEQUAL = [
    ("\\frac{14}{5}", "\\frac{14}{3}"),
    ("(\\frac{\\pi}{2}, 3)", "\\left( 3, \\frac{\\pi}{2} \\right)"),  # tuples keep order
    ("(1, 2]", "(1, 2)"),  # interval ends differ
    ("Evelny", "Evelyn"),  # words never become products of letters
    ("52_7", "52_8"),
    ("x^3+3x-5", "x^3+3x-6"),
    ("1, 2", "1, 2, 3"),
    (None, "5"),
]


@pytest.mark.parametrize(("pred", "ref"), MATH_EQUAL)
def test_math_equal_forms(pred: str, ref: str) -> None:
    assert is_equiv(pred, ref)


@pytest.mark.parametrize(("pred", "ref"), MATH_UNEQUAL)
def test_math_unequal_forms(pred: str | None, ref: str) -> None:
    assert not is_equiv(pred, ref)


def _restyle(answer: str) -> list[str]:
    """Equivalent spellings of a real answer: spacing, \\dfrac, math wrappers, \\left/\\right."""
    return [
        f"${answer}$",
        f"\\( {answer} \\)",
        answer.replace("\\frac", "\\dfrac"),
        re.sub(r"([+=,]|(?<!\\)-)", r" \1 ", answer),
        answer.replace("(", "\\left(").replace(")", "\\right)"),
    ]


def test_every_math500_answer_equals_itself_in_equivalent_forms(shared_data: Path) -> None:
    rows = [json.loads(line) for line in (shared_data / "math500" / "test.jsonl").read_text().splitlines()]
    assert len(rows) == 500
    failures = [(r["answer"], f) for r in rows for f in _restyle(r["answer"]) if not is_equiv(f, r["answer"])]
    assert failures == []


def test_different_math500_answers_are_not_equal(shared_data: Path) -> None:
    rows = [json.loads(line) for line in (shared_data / "math500" / "test.jsonl").read_text().splitlines()]
    answers = [r["answer"] for r in rows[:120]]
    pairs = [(a, b) for a, b in zip(answers, answers[1:], strict=False) if canonical(a) != canonical(b)]
    assert len(pairs) > 90
    # Neighbouring answers of different problems are different values (checked by hand for these).
    wrongly_equal = [(a, b) for a, b in pairs if is_equiv(a, b)]
    assert wrongly_equal == []


def test_math500_references_score_their_own_solutions(shared_data: Path) -> None:
    evaluator = Math500Evaluator(shared_data)
    items = evaluator.items(limit=60)
    scores = [evaluator.score(item.raw["solution"], item.reference) for item in items]
    assert sum(s.correct for s in scores) >= 57  # a few solutions box a different spelling


def test_gsm8k_items_and_messages(shared_data: Path) -> None:
    items = Gsm8kEvaluator(shared_data).items(limit=3)
    assert [i.example_id for i in items] == ["gsm8k_test_0000", "gsm8k_test_0001", "gsm8k_test_0002"]
    assert items[0].reference == "18" and items[2].reference == "70000"
    messages = Gsm8kEvaluator().messages(items[0])
    assert messages == [
        {"role": "system", "content": SYSTEM_PROMPT},
        {"role": "user", "content": items[0].question},
    ]
    assert SYSTEM_PROMPT.endswith("Put the final answer in \\boxed{}.")


def test_gsm8k_comma_references_need_the_comma(shared_data: Path) -> None:
    """Appendix C left open whether references hold commas: 14 do, and strictly only ``2,125`` matches them."""
    from dq.eval.gsm8k_contract import as_decimal

    items = Gsm8kEvaluator(shared_data / "gsm8k" / "test.jsonl").items()
    assert len(items) == 1319
    commas = [(i.index, i.reference) for i in items if as_decimal(normalize_answer(i.reference)) is None]
    assert len(commas) == 14 and commas[0] == (146, "2,125") and (611, "1,450,000") in commas
    assert all("," in ref for _, ref in commas)
    assert answers_match("2125", "2,125")[0] is False and answers_match("2,125", "2,125")[0] is True
    assert lenient_match("2125", "2,125") and lenient_match("1450000", "1,450,000")


def test_run_ids_are_unique_per_checkpoint() -> None:
    now = datetime(2026, 5, 5, 8, 28, 50, tzinfo=UTC)
    base = "tinker://36b8a78c-1111-2222-3333-444455556666:train:1/sampler_weights/export-main-001-attention_only-seed-"
    ids = {results.run_id(f"{base}{seed}-step-3169", "gsm8k", None, now) for seed in range(3)}
    assert len(ids) == 3  # the study's 80-character cut made these three identical
    first = results.run_id(f"{base}0-step-3169", "gsm8k", 5, now)
    assert first.startswith("checkpoint-36b8a78c-") and first.endswith("-gsm8k-20260505-082850-limit-5")
    assert results.run_id("Qwen/Qwen3-8B", "gsm8k", None, now).startswith("baseline-qwen3-8b-")
    assert results.step_of(f"{base}0-step-3169") == 3169 and results.step_of("Qwen/Qwen3-8B") is None


def test_contract_hash_is_of_the_shipped_text() -> None:
    import hashlib

    found = results.contracts()
    assert found["eval_contract_sha256"] == hashlib.sha256(results.contract_text("eval_contract")).hexdigest()
    assert b"BOXED_LOCATOR" in results.contract_text("eval_contract")


class _Echo:
    """A fake sampler that boxes the last number of each prompt, to test the runner's order."""

    def __init__(self, tokenizer: _Chars) -> None:
        self.tokenizer = tokenizer
        self.calls: list[int] = []

    def generate(self, prompt_ids: list[list[int]], max_tokens: int) -> list[Generation]:
        self.calls.append(len(prompt_ids))
        out = []
        for ids in prompt_ids:
            text = self.tokenizer.decode(ids).split("Q:")[-1]
            tokens = [ord(c) for c in f"\\boxed{{{text}}}<end>"]
            out.append(Generation(tokens, "", "stop"))
        return out


class _Chars:
    def decode(self, ids: list[int], skip_special_tokens: bool = False) -> str:
        assert skip_special_tokens is False
        return "".join(chr(i) for i in ids)


class _Prompts:
    def __init__(self) -> None:
        self.tokenizer = _Chars()

    def prompt_ids(self, conversations: list[list[dict[str, str]]]) -> list[list[int]]:
        return [[ord(c) for c in "Q:" + c[-1]["content"]] for c in conversations]


class _Tiny(Gsm8kEvaluator):
    name = "dq.tiny"

    def items(self, limit: int | None = None) -> list[EvalItem]:
        rows = [EvalItem(i, f"t{i}", str(10 + i), str(10 + i if i != 3 else 0)) for i in range(7)]
        return rows[:limit]


def test_runner_writes_ordered_files_and_refuses_overwrite(tmp_path: Path) -> None:
    from dq.errors import DqError
    from dq.eval.runner import RunSpec, evaluate

    prompts = _Prompts()
    sampler = _Echo(prompts.tokenizer)
    spec = RunSpec("Qwen/Qwen3-8B", batch_size=3, limit=5, run_id="r1")
    out, summary = evaluate(_Tiny(), prompts, sampler, spec, tmp_path)
    assert sampler.calls == [3, 2]
    rows = [json.loads(line) for line in (out / "predictions.jsonl").read_text().splitlines()]
    assert [r["benchmark_index"] for r in rows] == [0, 1, 2, 3, 4]
    assert [r["correct"] for r in rows] == [True, True, True, False, True]
    assert rows[0]["generated_text"] == "\\boxed{10}<end>" and rows[0]["prompt_token_count"] == 4
    assert list(rows[0]) == sorted(rows[0])
    assert summary["primary_metric"] == {"correct": 4, "name": "gsm8k_accuracy", "total": 5, "value": 0.8}
    metrics = json.loads((out / "metrics.jsonl").read_text())
    assert metrics["split"] == "gsm8k_test" and metrics["token_count"] == summary["token_count"]["total"]
    assert (out / "summary.json").read_text().endswith("}\n")
    with pytest.raises(DqError, match="--overwrite"):
        evaluate(_Tiny(), prompts, sampler, spec, tmp_path)
    evaluate(_Tiny(), prompts, sampler, spec, tmp_path, overwrite=True)


def test_plugin_registers_both_evaluators() -> None:
    from dq.eval import plugin

    found: list[type] = []
    plugin.dq_register_evaluators(found.append)
    assert [c.name for c in found] == ["dq.gsm8k", "dq.math500"]
    assert all(c.summary().endswith(")") or c.summary().endswith(".") for c in found)


def test_evaluators_are_registered(registry: object) -> None:
    items = registry.items["evaluators"]  # type: ignore[attr-defined]
    if "dq.gsm8k" not in items:
        pytest.skip("dq.eval.plugin is not in DEFAULT_PLUGINS yet")
    assert items["dq.gsm8k"] is Gsm8kEvaluator and items["dq.math500"] is Math500Evaluator


def test_numeric_math500_answers_equal_their_decimal_values(shared_data: Path) -> None:
    """The sympy path: every answer with a numeric value equals its 12-digit decimal, not a nearby one."""
    from dq.eval.math_equiv import to_sympy

    rows = [json.loads(line) for line in (shared_data / "math500" / "test.jsonl").read_text().splitlines()]
    numeric = []
    for row in rows:
        value = to_sympy(canonical(row["answer"]))
        if value is not None and not value.free_symbols and value.is_real:
            numeric.append((row["answer"], float(value)))
    assert len(numeric) > 300
    assert [a for a, v in numeric if not is_equiv(f"{v:.12g}", a)] == []
    assert [a for a, v in numeric if is_equiv(f"{v + 0.01:.12g}", a)] == []
