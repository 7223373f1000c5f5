"""The built-in evaluators: GSM8K under the study's frozen contract, and MATH-500.

Both read a local JSONL file: ``source`` when given, else the known benchmark's file under
``$DQ_BENCHMARK_DIR`` (``gsm8k/test.jsonl``, ``math500/test.jsonl``; see
:mod:`dq.data.benchmark_names`). Evaluation never falls back to the Hub silently.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, ClassVar

from dq.api.evaluate import EvalItem, Evaluator, Score
from dq.errors import DqError
from dq.eval.gsm8k_contract import answers_match, extract_boxed, gsm8k_reference


def benchmark_file(known: str, source: Path | None) -> Path:
    """The local file of a known benchmark: ``source``, else ``$DQ_BENCHMARK_DIR/<file>``."""
    from dq.data.benchmark_names import KNOWN, benchmark_dir

    if source is not None:
        path = source / KNOWN[known][2] if source.is_dir() else source
    else:
        root = benchmark_dir()
        if root is None:
            raise DqError(
                f"{known}: no benchmark file: pass --data PATH or set DQ_BENCHMARK_DIR "
                f"(a folder holding {KNOWN[known][2]}; make it with 'dq benchmarks pull {known} --to DIR')"
            )
        path = root / KNOWN[known][2]
    if not path.is_file():
        raise DqError(f"{path}: benchmark file not found")
    return path


def read_rows(path: Path, limit: int | None, required: tuple[str, ...]) -> list[dict[str, Any]]:
    """The first ``limit`` JSON objects of a JSONL file, each checked for the ``required`` string fields."""
    rows: list[dict[str, Any]] = []
    with path.open(encoding="utf-8") as fh:
        for number, line in enumerate(fh, start=1):
            if limit is not None and len(rows) >= limit:
                break
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise DqError(f"{path}:{number}: not JSON ({exc.msg})") from None
            for key in required:
                if not isinstance(row, dict) or not isinstance(row.get(key), str):
                    raise DqError(f"{path}:{number}:{key}: missing or not a string")
            rows.append(row)
    return rows


class Gsm8kEvaluator(Evaluator):
    """GSM8K test under the study's frozen eval contract (last boxed answer, strict Decimal/string match).

    Reference: the text after the last ``####``. Example ids ``gsm8k_test_0000``. Scoring is
    :func:`dq.eval.gsm8k_contract.answers_match` on the last brace-balanced ``\\boxed{}``;
    an extraction failure scores wrong.
    """

    name: ClassVar[str] = "dq.gsm8k"
    split: ClassVar[str] = "gsm8k_test"
    metric_name: ClassVar[str] = "gsm8k_accuracy"
    dataset: ClassVar[dict[str, Any]] = {
        "config": "main",
        "name": "gsm8k",
        "source": "openai/gsm8k",
        "split": "test",
    }

    def items(self, limit: int | None = None) -> list[EvalItem]:
        path = benchmark_file("gsm8k", self.source)
        items = []
        for index, row in enumerate(read_rows(path, limit, ("question", "answer"))):
            try:
                reference = gsm8k_reference(row["answer"])
            except ValueError as exc:
                raise DqError(f"{path}:{index + 1}:answer: {exc}") from None
            items.append(EvalItem(index, f"gsm8k_test_{index:04d}", row["question"], reference, row))
        return items

    def score(self, generated_text: str, reference: str) -> Score:
        extracted = extract_boxed(generated_text)
        correct, norm_pred, norm_ref = answers_match(extracted, reference)
        return Score(correct, extracted, norm_pred, norm_ref)


class Math500Evaluator(Evaluator):
    """MATH-500 (HuggingFaceH4/MATH-500 test) scored by math equivalence (fractions, roots, LaTeX forms).

    Same prompt and extraction as GSM8K (system prompt, raw problem, last ``\\boxed{}``); the
    reference is the row's ``answer``; equality is :func:`dq.eval.math_equiv.is_equiv`, whose
    rules are in its module docstring and docs/eval.md. ``normalized_*`` are the canonical strings.
    """

    name: ClassVar[str] = "dq.math500"
    split: ClassVar[str] = "math500_test"
    metric_name: ClassVar[str] = "math500_accuracy"
    dataset: ClassVar[dict[str, Any]] = {
        "config": None,
        "name": "math500",
        "source": "HuggingFaceH4/MATH-500",
        "split": "test",
    }

    def items(self, limit: int | None = None) -> list[EvalItem]:
        path = benchmark_file("math500", self.source)
        rows = read_rows(path, limit, ("problem", "answer"))
        return [
            EvalItem(index, f"math500_test_{index:04d}", row["problem"], row["answer"], row)
            for index, row in enumerate(rows)
        ]

    def score(self, generated_text: str, reference: str) -> Score:
        from dq.eval.math_equiv import canonical, is_equiv

        extracted = extract_boxed(generated_text)
        norm_pred = None if extracted is None else canonical(extracted)
        return Score(is_equiv(extracted, reference), extracted, norm_pred, canonical(reference))
