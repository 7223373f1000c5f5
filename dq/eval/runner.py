"""Run an evaluator through a sampler in ordered batches and write the §5.5 results files.

The renderer turns each item's messages into prompt ids (generation prompt, thinking off); the
sampler completes a batch greedily; the renderer's tokenizer decodes each completion with
``skip_special_tokens=False`` (so completed rows end with the end-of-turn token); the evaluator
scores it. Output order is benchmark order whatever the batch size.
"""

from __future__ import annotations

import json
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from dq.api.evaluate import EvalItem, Evaluator, Generation, Sampler
from dq.eval import results


class PromptRenderer(Protocol):
    """What the runner needs of a renderer: prompt ids for conversations, and its tokenizer."""

    tokenizer: Any

    def prompt_ids(self, conversations: list[list[dict[str, str]]]) -> list[list[int]]: ...


class ChatTemplatePrompts:
    """Prompt ids from any Hugging Face-style tokenizer's own chat template (generation prompt on).

    ``enable_thinking=False`` and ``return_dict=True`` are always passed (SEED_CONTRACTS §4.2);
    templates without a thinking switch ignore the extra variable.
    """

    def __init__(self, tokenizer: Any) -> None:
        self.tokenizer = tokenizer

    def prompt_ids(self, conversations: list[list[dict[str, str]]]) -> list[list[int]]:
        out = []
        for messages in conversations:
            encoded = self.tokenizer.apply_chat_template(
                messages, tokenize=True, add_generation_prompt=True, enable_thinking=False, return_dict=True
            )
            out.append(list(encoded["input_ids"]))
        return out


@dataclass(frozen=True)
class RunSpec:
    """What one evaluation run records: target (model id or tinker path), condition, seed, limits."""

    target: str
    condition: str = "base"
    seed: int | None = None
    limit: int | None = None
    batch_size: int = 16
    max_new_tokens: int = 512
    run_id: str | None = None


def prediction_row(
    evaluator: Evaluator, item: EvalItem, prompt: list[int], text: str, gen: Generation
) -> dict:
    """One predictions.jsonl row (keys of §5.5)."""
    score = evaluator.score(text, evaluator.reference(item))
    return {
        "benchmark_index": item.index,
        "correct": score.correct,
        "example_id": item.example_id,
        "extracted_answer": score.extracted_answer,
        "generated_text": text,
        "generated_token_count": len(gen.tokens),
        "normalized_prediction": score.normalized_prediction,
        "normalized_reference": score.normalized_reference,
        "prompt_token_count": len(prompt),
        "question": item.question,
        "reference_answer": evaluator.reference(item),
        "stop_reason": gen.stop_reason,
    }


def generate_rows(
    evaluator: Evaluator, renderer: PromptRenderer, sampler: Sampler, items: list[EvalItem], spec: RunSpec
) -> list[dict[str, Any]]:
    """Every item's prediction row, sampled in ordered batches of ``spec.batch_size``."""
    rows: list[dict[str, Any]] = []
    for start in range(0, len(items), spec.batch_size):
        batch = items[start : start + spec.batch_size]
        prompts = renderer.prompt_ids([evaluator.messages(item) for item in batch])
        generations = sampler.generate(prompts, spec.max_new_tokens)
        if len(generations) != len(batch):
            raise RuntimeError(f"sampler returned {len(generations)} generations for {len(batch)} prompts")
        for item, prompt, gen in zip(batch, prompts, generations, strict=True):
            text = renderer.tokenizer.decode(gen.tokens, skip_special_tokens=False)
            rows.append(prediction_row(evaluator, item, prompt, text, gen))
    return rows


def summarize(
    evaluator: Evaluator, rows: list[dict[str, Any]], spec: RunSpec, run_id: str, out: Path
) -> dict:
    """summary.json's object for a finished run (keys of §5.5)."""
    correct = sum(1 for row in rows if row["correct"])
    prompt = sum(row["prompt_token_count"] for row in rows)
    generated = sum(row["generated_token_count"] for row in rows)
    return {
        "artifact_paths": {name.split(".")[0]: str(out / name) for name in results.RESULT_FILES[:3]},
        "checkpoint": spec.target,
        "condition": spec.condition,
        "contracts": results.contracts(),
        "created_at": results.utc_now(),
        "dataset": {**evaluator.dataset, "examples": len(rows)},
        "evaluator": evaluator.name,
        "extraction_failures": sum(1 for row in rows if row["extracted_answer"] is None),
        "generation": {
            "enable_thinking": False,
            "max_new_tokens": spec.max_new_tokens,
            "stop": None,
            "temperature": 0,
            "top_p": None,
        },
        "git": results.git_info(),
        "primary_metric": {
            "correct": correct,
            "name": evaluator.metric_name,
            "total": len(rows),
            "value": correct / len(rows) if rows else None,
        },
        "run_id": run_id,
        "seed": spec.seed,
        "step": results.step_of(spec.target),
        "token_count": {"generated": generated, "prompt": prompt, "total": prompt + generated},
        "versions": results.versions(),
    }


def metrics_row(evaluator: Evaluator, summary: dict[str, Any]) -> dict[str, Any]:
    """The one metrics.jsonl row of an evaluation run."""
    metric = summary["primary_metric"]
    return {
        "checkpoint": summary["checkpoint"],
        "condition": summary["condition"],
        "cost": None,
        "eval_metric": {"name": metric["name"], "value": metric["value"]},
        "loss": None,
        "run_id": summary["run_id"],
        "seed": summary["seed"],
        "split": evaluator.split,
        "step": summary["step"],
        "token_count": summary["token_count"]["total"],
    }


def evaluate(
    evaluator: Evaluator,
    renderer: PromptRenderer,
    sampler: Sampler,
    spec: RunSpec,
    results_root: Path,
    overwrite: bool = False,
) -> tuple[Path, dict[str, Any]]:
    """Run the evaluation and write ``results_root/<run_id>/``; returns (folder, summary).

    On an exception, ``failure.json`` is written there (no traceback text reaches the console
    from here) and the exception propagates.
    """
    benchmark = evaluator.name.rsplit(".", 1)[-1]
    run_id = spec.run_id or results.run_id(spec.target, benchmark, spec.limit)
    out = results_root / run_id
    results.check_writable(out, overwrite)
    items = evaluator.items(spec.limit)
    try:
        rows = generate_rows(evaluator, renderer, sampler, items, spec)
    except Exception as exc:
        _write_failure(out, run_id, exc)
        raise
    summary = summarize(evaluator, rows, spec, run_id, out)
    results.atomic_write(out / "predictions.jsonl", results.jsonl_text(rows))
    results.atomic_write(out / "metrics.jsonl", results.jsonl_text([metrics_row(evaluator, summary)]))
    results.atomic_write(out / "summary.json", json.dumps(summary, indent=2, sort_keys=True) + "\n")
    (out / "failure.json").unlink(missing_ok=True)
    return out, summary


def _write_failure(out: Path, run_id: str, exc: BaseException) -> None:
    failure = {
        "error": str(exc),
        "error_type": type(exc).__name__,
        "failed_at": results.utc_now(),
        "run_id": run_id,
        "status": "fail",
        "traceback": "".join(traceback.format_exception(exc)),
    }
    results.atomic_write(out / "failure.json", json.dumps(failure, indent=2, sort_keys=True) + "\n")
