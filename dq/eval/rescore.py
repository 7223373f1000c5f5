"""Rescore a saved predictions.jsonl under the contract: recompute every derived field, list differences.

Recomputed from ``generated_text`` and ``reference_answer``: ``extracted_answer``,
``normalized_prediction``, ``normalized_reference``, ``correct``; with a tokenizer also
``prompt_token_count`` (the eval prompt render of ``question``) and ``generated_token_count``
(``generated_text`` re-encoded; a sampler may have produced a non-canonical tokenization, so a
difference there is a finding to read, not proof of a bug). Beside the strict score, a lenient
diagnostic accuracy (:mod:`dq.eval.lenient`) and the rows it flips.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from dq.api.evaluate import Evaluator
from dq.errors import DqError
from dq.eval.lenient import lenient_match

SCORED_FIELDS = ("extracted_answer", "normalized_prediction", "normalized_reference", "correct")
TOKEN_FIELDS = ("prompt_token_count", "generated_token_count")
_REQUIRED = {"generated_text": str, "reference_answer": str}
_MISSING = object()


def read_predictions(path: Path) -> list[tuple[int, dict[str, Any]]]:
    """``(line number, row)`` of every line; a bad line is a DqError naming ``file:line:field``."""
    if not path.is_file():
        raise DqError(f"{path}: no such file")
    rows = []
    with path.open(encoding="utf-8") as fh:
        for number, line in enumerate(fh, start=1):
            if not line.strip():
                raise DqError(f"{path}:{number}: empty line")
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise DqError(f"{path}:{number}: not JSON ({exc.msg})") from None
            if not isinstance(row, dict):
                raise DqError(f"{path}:{number}: not a JSON object")
            for key, kind in _REQUIRED.items():
                if not isinstance(row.get(key), kind):
                    raise DqError(f"{path}:{number}:{key}: missing or not a {kind.__name__}")
            rows.append((number, row))
    if not rows:
        raise DqError(f"{path}: no rows")
    return rows


def token_counter(tokenizer: Any, system_prompt: str | None) -> Any:
    """A function ``row -> {prompt_token_count, generated_token_count}`` using ``tokenizer``."""

    def count(row: dict[str, Any]) -> dict[str, int | None]:
        out: dict[str, int | None] = {"generated_token_count": None, "prompt_token_count": None}
        out["generated_token_count"] = len(tokenizer.encode(row["generated_text"], add_special_tokens=False))
        if isinstance(row.get("question"), str):
            system = [{"role": "system", "content": system_prompt}] if system_prompt else []
            messages = [*system, {"role": "user", "content": row["question"]}]
            encoded = tokenizer.apply_chat_template(
                messages, tokenize=True, add_generation_prompt=True, enable_thinking=False, return_dict=True
            )
            out["prompt_token_count"] = len(encoded["input_ids"])
        return out

    return count


def contract_tokenizer() -> tuple[Any | None, str]:
    """dq.render's Qwen3-8B tokenizer, or ``(None, why not)`` when that module is not available."""
    try:
        from dq.render.qwen3_tokenizer import load_tokenizer  # type: ignore[import-not-found]
    except ImportError as exc:
        return None, f"token counts not checked: dq.render.qwen3_tokenizer unavailable ({exc})"
    try:
        return load_tokenizer("Qwen/Qwen3-8B"), "token counts checked with Qwen/Qwen3-8B (dq.render)"
    except Exception as exc:  # noqa: BLE001 - a missing vocabulary must not stop the rescore
        return None, f"token counts not checked: {type(exc).__name__}: {exc}"


def rescore(path: Path, evaluator: Evaluator, tokenizer: Any | None = None, note: str = "") -> dict[str, Any]:
    """The rescore report of a predictions file: scores, differing fields and lenient flips."""
    rows = read_predictions(path)
    count = token_counter(tokenizer, evaluator.system_prompt) if tokenizer is not None else None
    differences, flips, correct, lenient = [], [], 0, 0
    for number, row in rows:
        score = evaluator.score(row["generated_text"], row["reference_answer"])
        fresh: dict[str, Any] = {name: getattr(score, name) for name in SCORED_FIELDS}
        if count is not None:
            fresh.update(count(row))
        for name, value in fresh.items():
            saved = row.get(name, _MISSING)
            if value is not None or name in SCORED_FIELDS:
                if saved is _MISSING or saved != value or type(saved) is not type(value):
                    differences.append(_difference(number, row, name, saved, value))
        is_lenient = lenient_match(score.extracted_answer, row["reference_answer"])
        correct += score.correct
        lenient += is_lenient
        if is_lenient != score.correct:
            flips.append(_flip(number, row, score.extracted_answer, score.correct, is_lenient))
    total = len(rows)
    return {
        "file": str(path),
        "evaluator": evaluator.name,
        "rows": total,
        "strict": {"correct": correct, "total": total, "accuracy": correct / total},
        "lenient": {"correct": lenient, "total": total, "accuracy": lenient / total},
        "differences": differences,
        "lenient_flips": flips,
        "token_check": note,
    }


def _difference(number: int, row: dict[str, Any], name: str, saved: Any, value: Any) -> dict[str, Any]:
    return {
        "line": number,
        "benchmark_index": row.get("benchmark_index"),
        "field": name,
        "file": "<missing>" if saved is _MISSING else saved,
        "recomputed": value,
    }


def _flip(number: int, row: dict[str, Any], extracted: str | None, strict: bool, lenient: bool) -> dict:
    return {
        "line": number,
        "benchmark_index": row.get("benchmark_index"),
        "extracted_answer": extracted,
        "reference_answer": row["reference_answer"],
        "strict": strict,
        "lenient": lenient,
    }


def render_text(report: dict[str, Any]) -> str:
    """The human-readable rescore report."""
    strict, lenient = report["strict"], report["lenient"]
    lines = [
        f"file        {report['file']} ({report['rows']} rows, {report['evaluator']})",
        f"strict      {strict['correct']}/{strict['total']} = {strict['accuracy']:.4f}  (the contract score)",
        f"lenient     {lenient['correct']}/{lenient['total']} = {lenient['accuracy']:.4f}  (diagnostic only)",
        f"tokens      {report['token_check']}",
        f"differences {len(report['differences'])}",
    ]
    for diff in report["differences"]:
        lines.append(
            f"  line {diff['line']} (index {diff['benchmark_index']}) {diff['field']}: "
            f"file {json.dumps(diff['file'], ensure_ascii=False)} != "
            f"recomputed {json.dumps(diff['recomputed'], ensure_ascii=False)}"
        )
    lines.append(f"lenient flips {len(report['lenient_flips'])}")
    for flip in report["lenient_flips"]:
        lines.append(
            f"  line {flip['line']} (index {flip['benchmark_index']}): "
            f"{json.dumps(flip['extracted_answer'], ensure_ascii=False)} vs "
            f"{json.dumps(flip['reference_answer'], ensure_ascii=False)}: strict {flip['strict']} -> lenient {flip['lenient']}"
        )
    return "\n".join(lines)
