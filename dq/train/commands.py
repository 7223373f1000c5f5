"""``dq train`` (a run), ``dq train lr-select`` and ``dq train probe``, through ``dq_register_commands``."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from dq.api.hookspecs import hookimpl
from dq.api.train import TrainBackend
from dq.train import protocol as p

DEFAULT_RENDERER = {"dq.tinker": "dq.qwen3_thinking_off"}


@hookimpl
def dq_register_commands(cli: click.Group) -> None:
    cli.add_command(train)


def registry() -> Any:
    """The process registry (tests substitute their own)."""
    from dq.cli.main import runtime

    return runtime().registry


class TrainGroup(click.Group):
    """``dq train OUT ...`` runs ``dq train run OUT ...``; named subcommands run themselves."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ("--help", "-h"):
            args = ["run", *args]
        return super().parse_args(ctx, args)


def common(f: Callable[..., Any]) -> Callable[..., Any]:
    """Options every train command shares."""
    options = [
        click.argument("out_dir", type=click.Path(path_type=Path, file_okay=False)),
        click.option(
            "--backend", "backend_name", default="dq.local", show_default=True, help="Train backend."
        ),
        click.option("--model", required=True, help="Base model: local folder, .gguf, or an offline name."),
        click.option("--renderer", "renderer_name", default=None, help="Renderer (default per backend)."),
        click.option("--train-rows", type=click.IntRange(min=1), default=None, help="First N train rows."),
        click.option("--val-rows", type=click.IntRange(min=1), default=None, help="First N val rows."),
        click.option("--allow-failed-gate", is_flag=True, help="Train although a gate failed (recorded)."),
        click.option("--overwrite", is_flag=True, help="Replace an existing run folder."),
        click.option("--micro-batch", type=click.IntRange(min=1), default=None, help="dq.local micro-batch."),
    ]
    for option in reversed(options):
        f = option(f)
    return f


def backend_factory(name: str) -> Callable[[], TrainBackend]:
    """A constructor for the registered backend ``name`` (unknown names: one line, exit 2)."""
    cls = registry().get("train_backends", name)
    return lambda: cls()


def prepare(args: dict[str, Any], config: Any, run_dir: Path) -> tuple[TrainBackend, Any]:
    """Start a backend for ``config`` and render the dataset with its tokenizer."""
    from dq.train.dataset import check_dataset, load_train_data
    from dq.train.datums import bind_renderer
    from dq.train.driver import start_backend

    backend = backend_factory(args["backend_name"])()
    renderer_name = args["renderer_name"] or DEFAULT_RENDERER.get(args["backend_name"], "dq.chat_template")
    renderer_cls = registry().get("renderers", renderer_name)
    check_dataset(args["out_dir"], args["allow_failed_gate"])  # refuse before loading a model
    start_backend(backend, config, run_dir, {"micro_batch": args.get("micro_batch")})
    renderer = bind_renderer(renderer_cls, config.base_model, backend.tokenizer())
    data = load_train_data(
        args["out_dir"], renderer, args["allow_failed_gate"], args["train_rows"], args["val_rows"]
    )
    return backend, data


@click.group(cls=TrainGroup)
def train() -> None:
    """LoRA SFT on a dq output folder: the study's protocol on dq.local or dq.tinker."""


@train.command("run")
@common
@click.option(
    "--condition", default="attention_only", show_default=True, help="attention_only, all_layer or modules."
)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--lr", "peak_lr", type=float, default=3e-4, show_default=True, help="Peak learning rate.")
@click.option("--epochs", type=click.IntRange(min=1), default=2, show_default=True)
@click.option("--max-steps", type=click.IntRange(min=1), default=None, help="Stop after N optimizer steps.")
@click.option("--rank", type=click.IntRange(min=1), default=8, show_default=True)
@click.option("--run-id", default=None, help="Default main-001-{condition}-seed-{seed}.")
@click.option("--run-dir", type=click.Path(path_type=Path, file_okay=False), default=None)
@click.option("--resume", is_flag=True, help="Continue a killed run from its last checkpoint.")
def run_cmd(**args: Any) -> None:
    """Train one adapter (default: the study's main run) and export the selected checkpoint."""
    from dq.train.driver import RunConfig
    from dq.train.run import train_run
    from dq.train.runfolder import RunFolder

    run_id = args["run_id"] or p.main_run_id(args["condition"], args["seed"])
    frozen = (args["peak_lr"], args["epochs"], args["max_steps"], args["train_rows"], args["val_rows"]) == (
        3e-4,
        2,
        None,
        None,
        None,
    )
    renderer_name = args["renderer_name"] or DEFAULT_RENDERER.get(args["backend_name"], "dq.chat_template")
    config = RunConfig(
        run_id=run_id,
        base_model=args["model"],
        condition=args["condition"],
        seed=args["seed"],
        peak_lr=args["peak_lr"],
        epochs=args["epochs"],
        max_steps=args["max_steps"],
        rank=args["rank"],
        protocol_mode="frozen_main_comparison" if frozen else "override",
        renderer_name=renderer_name,
    )
    run_dir = args["run_dir"] or Path("dq-runs") / run_id
    RunFolder(run_dir).prepare(overwrite=args["overwrite"], resume=args["resume"])  # refuse before loading
    backend, data = prepare(args, config, run_dir)
    summary = train_run(
        backend,
        config,
        data,
        run_dir,
        overwrite=args["overwrite"],
        resume=args["resume"],
        log=lambda line: click.echo(line, err=True),
        started=True,
    )
    click.echo(
        f"best step {summary['best_validation_step']}: validation_mean_nll {summary['primary_metric']['value']:.6f}"
    )
    click.echo(f"checkpoint {summary['checkpoint']['path']}")
    if "sampler_checkpoint" in summary:
        click.echo(f"exported {summary['sampler_checkpoint']['path']}")


@train.command("lr-select")
@common
@click.option("--conditions", default=",".join(p.CONDITIONS), show_default=True)
@click.option("--grid", default=",".join(str(x) for x in p.LR_SELECT_GRID), show_default=True)
@click.option("--seed", type=int, default=p.LR_SELECT_SEED, show_default=True)
@click.option("--runs-dir", type=click.Path(path_type=Path, file_okay=False), default=Path("dq-runs"))
def lr_select_cmd(**args: Any) -> None:
    """The study's LR selection: first 512/128 rows, constant LR grid, validation NLL only."""
    from dq.train.lr_select import lr_select_config, run_lr_selection

    args["train_rows"] = args["train_rows"] or p.LR_SELECT_TRAIN_ROWS
    args["val_rows"] = args["val_rows"] or p.LR_SELECT_VAL_ROWS
    grid = [float(x) for x in args["grid"].split(",")]
    configs = [
        lr_select_config(c, lr, args["model"], args["seed"])
        for c in args["conditions"].split(",")
        for lr in grid
    ]
    backend, data = prepare(args, configs[0], args["runs_dir"] / configs[0].run_id)
    backend.close()  # the data is rendered; each run gets a fresh adapter
    factory = backend_factory(args["backend_name"])
    report = run_lr_selection(
        factory, data, configs, args["runs_dir"], args["overwrite"], lambda s: click.echo(s, err=True)
    )
    for condition, lr in report["chosen_lr"].items():
        click.echo(f"{condition}: lr {p.lr_label(lr)}")


@train.command("probe")
@common
@click.option("--steps", type=click.IntRange(min=1), default=16, show_default=True)
@click.option("--lr", "peak_lr", type=float, default=3e-4, show_default=True)
@click.option("--condition", default="attention_only", show_default=True)
@click.option("--seed", type=int, default=p.LR_SELECT_SEED, show_default=True)
@click.option(
    "--probe-dir", type=click.Path(path_type=Path, file_okay=False), default=Path("dq-runs/throughput-probe")
)
def probe_cmd(**args: Any) -> None:
    """Time the three request shapes per optimizer step (batch 8, constant LR)."""
    from dq.train.driver import RunConfig
    from dq.train.lr_select import run_probe

    config = RunConfig(
        run_id="throughput-probe",
        base_model=args["model"],
        condition=args["condition"],
        seed=args["seed"],
        peak_lr=args["peak_lr"],
        constant_lr=True,
    )
    backend, data = prepare(args, config, args["probe_dir"])
    backend.close()
    summary = run_probe(
        backend_factory(args["backend_name"]),
        data,
        config,
        args["probe_dir"],
        args["steps"],
        overwrite=args["overwrite"],
    )
    for shape, result in summary["shapes"].items():
        click.echo(f"{shape}: {result.get('seconds_per_optimizer_step', result.get('error'))}")
    click.echo(f"recommended {summary['recommended_request_shape']}")
