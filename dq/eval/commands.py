"""``dq eval``: list evaluators, run one through a sampler, rescore saved predictions."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from dq.api.hookspecs import hookimpl
from dq.errors import DqError


@hookimpl
def dq_register_commands(cli: click.Group) -> None:
    cli.add_command(eval_group)


@click.group("eval")
def eval_group() -> None:
    """Evaluate models on benchmarks under a frozen contract, and rescore saved predictions."""


def _registry() -> Any:
    from dq.cli.main import runtime

    return runtime().registry


def _evaluator(name: str, data: Path | None) -> Any:
    cls = _registry().get("evaluators", name)
    return cls(data)


@eval_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="A JSON list of evaluators.")
def eval_list(as_json: bool) -> None:
    """Registered evaluators: name, metric and summary."""
    registry = _registry()
    rows = [
        {
            "name": name,
            "metric": cls.metric_name,
            "plugin": registry.owner[("evaluators", name)],
            "summary": cls.summary(),
        }
        for name, cls in sorted(registry.items["evaluators"].items())
    ]
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    for row in rows:
        click.echo(f"{row['name']:<14} {row['metric']:<18} {row['summary']}")


@eval_group.command("score")
@click.argument("predictions", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--evaluator", "evaluator_name", default="dq.gsm8k", show_default=True, help="Scorer to apply.")
@click.option("--no-tokens", is_flag=True, help="Skip the token-count check (no tokenizer load).")
@click.option("--json", "as_json", is_flag=True, help="The whole report as JSON.")
def eval_score(predictions: Path, evaluator_name: str, no_tokens: bool, as_json: bool) -> None:
    """Rescore PREDICTIONS.jsonl under the contract; list every recomputed field that differs.

    Prints the strict (contract) accuracy and, beside it, a lenient diagnostic accuracy with the
    rows that flip. Exit 0 when the rescore ran (differences are findings), 2 on bad input.
    """
    from dq.eval.rescore import contract_tokenizer, render_text, rescore

    evaluator = _evaluator(evaluator_name, None)
    tokenizer, note = (None, "token counts not checked (--no-tokens)") if no_tokens else contract_tokenizer()
    report = rescore(predictions, evaluator, tokenizer, note)
    click.echo(json.dumps(report, indent=2, ensure_ascii=False) if as_json else render_text(report))


@eval_group.command("run")
@click.option("--evaluator", "evaluator_name", default="dq.gsm8k", show_default=True)
@click.option("--backend", type=click.Choice(["local", "tinker"]), default="local", show_default=True)
@click.option("--model", required=True, help="Local model folder/.gguf/offline name, or a Tinker base model.")
@click.option("--adapter", help="local: a PEFT LoRA adapter folder on top of --model.")
@click.option(
    "--checkpoint-path", help="tinker: a tinker://.../sampler_weights/... path (needs --condition, --seed)."
)
@click.option("--condition", default="base", show_default=True)
@click.option("--seed", type=int)
@click.option(
    "--data", type=click.Path(path_type=Path), help="Benchmark file or a DQ_BENCHMARK_DIR-style folder."
)
@click.option(
    "--renderer",
    "renderer_name",
    help="Renderer (default: tinker dq.qwen3_thinking_off, local the model's template).",
)
@click.option("--limit", type=click.IntRange(min=1), help="Evaluate only the first N items.")
@click.option(
    "--batch-size", "--concurrency", "batch_size", default=16, show_default=True, type=click.IntRange(min=1)
)
@click.option("--max-new-tokens", default=512, show_default=True, type=click.IntRange(min=1))
@click.option(
    "--out",
    "out_dir",
    type=click.Path(path_type=Path, file_okay=False),
    default=Path("artifacts/results"),
    show_default=True,
    help="Results root; the run writes OUT/<run_id>/.",
)
@click.option("--run-id", help="Override the generated run id.")
@click.option("--overwrite", is_flag=True, help="Replace existing results files of this run id.")
def eval_run(**kw: Any) -> None:
    """Evaluate a model: greedy, ordered batches; writes predictions.jsonl, metrics.jsonl, summary.json."""
    from dq.eval.runner import RunSpec, evaluate

    _check_run_options(kw)
    evaluator = _evaluator(kw["evaluator_name"], kw["data"])
    target = kw["checkpoint_path"] or (f"{kw['model']}+{kw['adapter']}" if kw["adapter"] else kw["model"])
    spec = RunSpec(
        target, kw["condition"], kw["seed"], kw["limit"], kw["batch_size"], kw["max_new_tokens"], kw["run_id"]
    )
    renderer, sampler = _backend(kw)
    out, summary = evaluate(evaluator, renderer, sampler, spec, kw["out_dir"], kw["overwrite"])
    metric = summary["primary_metric"]
    click.echo(f"{metric['name']} {metric['correct']}/{metric['total']} = {metric['value']:.4f}")
    click.echo(f"extraction failures {summary['extraction_failures']}; results in {out}")
    sys.exit(0)


def _check_run_options(kw: dict[str, Any]) -> None:
    if kw["checkpoint_path"]:
        if kw["backend"] != "tinker":
            raise DqError("--checkpoint-path: only with --backend tinker (local adapters use --adapter)")
        if kw["condition"] == "base" or kw["seed"] is None:
            raise DqError("--checkpoint-path needs --condition other than 'base' and an explicit --seed")
    if kw["adapter"] and kw["backend"] != "local":
        raise DqError("--adapter: only with --backend local")


def _backend(kw: dict[str, Any]) -> tuple[Any, Any]:
    from dq.eval.runner import ChatTemplatePrompts

    if kw["backend"] == "tinker":
        from dq.eval.tinker_sampler import TinkerSampler, require_api_key

        require_api_key()
        renderer = _registry().get("renderers", kw["renderer_name"] or "dq.qwen3_thinking_off")(kw["model"])
        if kw["checkpoint_path"]:
            return renderer, TinkerSampler.connect(
                model_path=kw["checkpoint_path"], concurrency=kw["batch_size"]
            )
        return renderer, TinkerSampler.connect(base_model=kw["model"], concurrency=kw["batch_size"])
    from dq.eval.local_sampler import LocalSampler

    sampler = LocalSampler.load(kw["model"], kw["adapter"], batch_size=kw["batch_size"])
    if kw["renderer_name"]:
        return _registry().get("renderers", kw["renderer_name"])(kw["model"]), sampler
    return ChatTemplatePrompts(sampler.tokenizer), sampler
