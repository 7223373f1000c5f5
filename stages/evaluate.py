"""Evaluate stage: the base model and every exported adapter on a benchmark, then the comparison.

Each evaluation is :func:`dq.eval.runner.evaluate` with a local greedy sampler, written under
``OUT/results/<run_id>/``; the comparison is ``dq compare``'s own (``study_data`` and the study
page) over ``results/`` and ``runs/``, written to ``reports/comparison.json`` and
``reports/study.html``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from dq.api.run import RunState, Stage
from dq.errors import DqError
from dq_stages.train import ADAPTERS, absolute_model, inside, registry, set_threads

RESULT_FILES = ("predictions.jsonl", "metrics.jsonl", "summary.json")
#: RunState attribute holding each evaluation's summary.json object.
EVALUATIONS = "evaluations"
COMPARISON_JSON = "reports/comparison.json"
STUDY_HTML = "reports/study.html"


def benchmark_source(data: str | None) -> Path | None:
    """``[eval] data`` or ``$DQ_BENCHMARK_DIR``, made absolute (the stage changes directory)."""
    from dq.data.benchmark_names import benchmark_dir

    if data:
        return Path(data).expanduser().resolve()
    root = benchmark_dir()
    return Path(root).expanduser().resolve() if root is not None else None


def targets(state: RunState, adapters: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """What to evaluate, in order: the base model (when ``[eval] base``), then each exported adapter."""
    model = absolute_model(state.rule_set.train.model)
    out = (
        [{"model": model, "adapter": None, "condition": "base", "seed": None}]
        if state.rule_set.eval.base
        else []
    )
    for record in adapters:
        if record.get("export"):
            out.append(
                {
                    "model": record["base_model"],
                    "adapter": record["export"],
                    "condition": record["condition"],
                    "seed": record["seed"],
                }
            )
    return out


def run_id_of(evaluator: Any, target: dict[str, Any], limit: int | None) -> str:
    """``base-gsm8k-first20`` or ``<export name>-gsm8k-first20``: readable, unique per target."""
    benchmark = evaluator.name.rsplit(".", 1)[-1]
    who = Path(target["adapter"]).name if target["adapter"] else "base"
    return f"{who}-{benchmark}" + (f"-first{limit}" if limit else "")


def evaluate_one(state: RunState, evaluator: Any, target: dict[str, Any]) -> tuple[Path, dict[str, Any]]:
    """Load the sampler (base, or base + adapter) and run the evaluator into ``results/<run_id>/``."""
    from dq.eval.local_sampler import LocalSampler
    from dq.eval.runner import ChatTemplatePrompts, RunSpec, evaluate

    spec = state.rule_set.eval
    sampler = LocalSampler.load(target["model"], target["adapter"], batch_size=spec.batch_size)
    label = f"{target['model']}+{target['adapter']}" if target["adapter"] else target["model"]
    run = RunSpec(
        label,
        target["condition"],
        target["seed"],
        spec.limit,
        spec.batch_size,
        spec.max_new_tokens,
        run_id_of(evaluator, target, spec.limit),
    )
    return evaluate(evaluator, ChatTemplatePrompts(sampler.tokenizer), sampler, run, Path("results"))


def write_comparison(state: RunState, work: Path) -> dict[str, Any]:
    """dq compare's study data over results/ and runs/: JSON always, the HTML page when it can."""
    from dq.data.jsonl import write_json
    from dq_reports.html.compare import study_data, write_study_page

    folders = [work / name for name in ("results", "runs") if (work / name).is_dir()]
    data = study_data(folders)
    # The page and JSON name folders relative to OUT, never the temp folder being written.
    data = json.loads(json.dumps(data, default=str).replace(str(work) + "/", ""))
    state.outputs[COMPARISON_JSON] = write_json(data, work / COMPARISON_JSON)
    try:
        write_study_page(data, work / STUDY_HTML)
    except ImportError as exc:  # matplotlib is the html extra
        state.notes.append(f"evaluate: {STUDY_HTML} not written ({exc}); install dq[html]")
        return data
    from dq.train.runfolder import sha256_file

    state.outputs[STUDY_HTML] = sha256_file(work / STUDY_HTML)
    return data


class EvaluateStage(Stage):
    """Evaluate the base model and each exported adapter ([eval]) into results/, then compare them.

    Greedy local sampling with the model's own chat template on the first ``[eval] limit`` items
    of ``[eval] evaluator`` (data from ``[eval] data`` or ``$DQ_BENCHMARK_DIR``); the comparison
    (accuracy by condition, disagreement, validation NLL) goes to reports/comparison.json and
    reports/study.html. Skipped when training was refused.
    """

    name = "dq.evaluate"
    needs = (ADAPTERS,)
    provides = (EVALUATIONS,)
    #: Files under reports/ that this stage (not a reporter) writes: dq report keeps them.
    writes = ("reports/comparison.json", "reports/study.html")

    def run(self, state: RunState) -> None:
        adapters = getattr(state, ADAPTERS, None)
        if adapters is None:
            state.log("evaluate: skipped (no training ran)")
            return
        spec, work = state.rule_set.eval, state.require("work_dir")
        evaluator = registry().get("evaluators", spec.evaluator)(benchmark_source(spec.data))
        set_threads(state.rule_set.train.threads)
        summaries = []
        with inside(work):
            for target in targets(state, adapters):
                folder, summary = evaluate_one(state, evaluator, target)
                for name in RESULT_FILES:
                    state.outputs[f"{folder.as_posix()}/{name}"] = sha256_file(work / folder / name)
                metric = summary["primary_metric"]
                state.log(
                    f"evaluate: {summary['condition']} {metric['name']} {metric['correct']}/{metric['total']}"
                )
                summaries.append(summary)
        if not summaries:
            raise DqError(f"{state.rule_set.source_path}: [eval] base = false and no adapter was exported")
        setattr(state, EVALUATIONS, summaries)
        data = write_comparison(state, work)
        for row in data["table"]:
            state.notes.append(f"evaluate: {row['condition']} mean accuracy {row['mean_accuracy']:.4f}")


def sha256_file(path: Path) -> str:
    from dq.train.runfolder import sha256_file as digest

    return digest(path)
