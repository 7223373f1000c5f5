"""Train stage: LoRA runs (conditions × seeds) on the rendered rows, through dq.train's driver.

Each run is :func:`dq.train.run.train_run` (the study's protocol, run folder, manifest, export),
written under ``OUT/runs/<run_id>/``. The stage works inside the staged output folder, so every
path a run records (checkpoints, the exported adapter) is relative to ``OUT`` and stays valid
when the folder is renamed into place.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from dq.api.run import RunState, Stage
from dq.errors import DqError

#: RunState attribute holding the trained runs (a list of :func:`adapter_record` dicts).
ADAPTERS = "adapters"
#: Renderer of the datums when ``[train] renderer`` is not set, per backend.
DEFAULT_RENDERER = {"dq.local": "dq.chat_template"}
#: The files of a run that the dq run manifest lists (checkpoint states are intermediate).
RUN_FILES = ("manifest.json", "metrics.jsonl", "summary.json", "sample_render.txt")
EXPORT_FILES = ("adapter_config.json", "adapter_model.safetensors")


def set_threads(threads: int | None) -> int | None:
    """Pin torch's threads: ``DQ_TORCH_THREADS`` wins over ``threads``; None leaves torch alone.

    Two torch processes on two cores each wanting every core run 25–40× slower than pinned ones,
    so a study beside other work should say 1, and alone on two cores 2.
    """
    env = os.environ.get("DQ_TORCH_THREADS", "").strip()
    if env:
        if not env.isdigit() or int(env) < 1:
            raise DqError(f"DQ_TORCH_THREADS={env!r}: expected a positive integer")
        threads = int(env)
    if threads is None:
        return None
    import torch

    torch.set_num_threads(threads)
    return threads


def registry() -> Any:
    """The process registry (backends, renderers and evaluators are looked up by name)."""
    from dq.cli.runtime import runtime

    return runtime().registry


@contextlib.contextmanager
def inside(folder: Path) -> Iterator[None]:
    """Run with ``folder`` as the working directory, so recorded paths are relative to it."""
    with contextlib.chdir(folder):
        yield


def absolute_model(model: str) -> str:
    """A model given as a local path, made absolute (the stage changes directory); names unchanged."""
    path = Path(model).expanduser()
    return str(path.resolve()) if path.exists() else model


def failed_gates(state: RunState) -> list[str]:
    return [g.name for g in state.gates if g.status == "fail"]


def dataset_info(work: Path, failed: list[str], allowed: bool) -> dict[str, Any]:
    """The provenance ``load_train_data`` records, from the run in progress (no manifest yet)."""
    from dq.train.runfolder import sha256_file

    rendered = work / "rendered" / "manifest.json"
    return {
        "raw_manifest_sha256": None,  # written after this stage by dq.write, which lists these runs
        "rendered_manifest_sha256": sha256_file(rendered) if rendered.is_file() else None,
        "dataset_status": "fail" if failed else "pass",
        "failed_gates": failed,
        "allow_failed_gate": allowed,
        "train_path": "rendered/train.jsonl",
        "val_path": "rendered/val.jsonl",
    }


def load_data(renderer: Any, info: dict[str, Any], train_rows: int | None, val_rows: int | None) -> Any:
    """TrainData from ``rendered/`` in the working directory, with dq.train's own readers."""
    from dq.train.dataset import TrainData, datums_of, read_rows

    paths = Path(info["train_path"]), Path(info["val_path"])
    train, val = read_rows(paths[0], train_rows), read_rows(paths[1], val_rows)
    return TrainData(
        train=datums_of(renderer, train, paths[0]),
        val=datums_of(renderer, val, paths[1]),
        train_row_ids=[r.get("row_id") for r in train],
        val_row_ids=[r.get("row_id") for r in val],
        info=dict(info),
        sample_render=str(renderer.render_text(train[0]["messages"])),
    )


def run_configs(state: RunState, model: str) -> list[Any]:
    """One RunConfig per condition × seed (conditions outer, as the study's run table)."""
    from dq.train import protocol as p
    from dq.train.driver import RunConfig

    spec = state.rule_set.train
    renderer = spec.renderer or DEFAULT_RENDERER.get(spec.backend, state.rule_set.render.renderer)
    return [
        RunConfig(
            run_id=p.main_run_id(condition, seed),
            base_model=model,
            condition=condition,
            seed=seed,
            peak_lr=spec.peak_lr_by_condition.get(condition, spec.peak_lr),
            epochs=spec.epochs,
            max_steps=spec.max_steps,
            rank=spec.rank,
            protocol_mode="override",
            renderer_name=renderer,
        )
        for condition in spec.conditions
        for seed in spec.seeds
    ]


def adapter_record(summary: dict[str, Any], run_dir: Path, model: str) -> dict[str, Any]:
    """What later stages and the manifest need of a finished run; paths relative to ``OUT``."""
    export = summary.get("sampler_checkpoint") or {}
    return {
        "run_id": summary["run_id"],
        "condition": summary["condition"],
        "seed": summary["seed"],
        "base_model": model,
        "run_dir": run_dir.as_posix(),
        "best_validation_step": summary["best_validation_step"],
        "validation_mean_nll": summary["primary_metric"]["value"],
        "checkpoint": summary["checkpoint"]["path"],
        "export": export.get("path"),
    }


def train_one(state: RunState, config: Any, info: dict[str, Any]) -> dict[str, Any]:
    """Start the backend, render with its tokenizer, run the driver; returns the adapter record."""
    from dq.train.datums import bind_renderer
    from dq.train.driver import start_backend
    from dq.train.run import train_run

    spec, reg = state.rule_set.train, registry()
    backend = reg.get("train_backends", spec.backend)()
    renderer_cls = reg.get("renderers", config.renderer_name)
    run_dir = Path("runs") / config.run_id
    start_backend(backend, config, run_dir, {"micro_batch": spec.micro_batch})
    try:
        renderer = bind_renderer(renderer_cls, config.base_model, backend.tokenizer())
        data = load_data(renderer, info, spec.train_rows, spec.val_rows)
    except BaseException:
        backend.close()
        raise
    summary = train_run(backend, config, data, run_dir, log=state.log, started=True)
    return adapter_record(summary, run_dir, config.base_model)


def record_outputs(state: RunState, work: Path, record: dict[str, Any]) -> None:
    """sha256 of the run's record files and exported adapter into the dq run manifest's outputs."""
    from dq.train.runfolder import sha256_file

    files = [f"{record['run_dir']}/{name}" for name in RUN_FILES]
    if record["export"]:
        files += [f"{record['export']}/{name}" for name in EXPORT_FILES]
    for rel in files:
        if (work / rel).is_file():
            state.outputs[rel] = sha256_file(work / rel)


class TrainStage(Stage):
    """Train [train] conditions × seeds LoRA runs on rendered/{train,val}.jsonl into runs/<run_id>/.

    The study's protocol through dq.train's driver (``[train] backend``, default dq.local), each
    run exported for sampling. A failed gate refuses training (the run still writes its outputs and
    exits 1) unless ``[train] allow_failed_gate = true``, which each run manifest records.
    """

    name = "dq.train"
    needs = ("train", "val")
    provides = (ADAPTERS,)

    def run(self, state: RunState) -> None:
        spec, work = state.rule_set.train, state.require("work_dir")
        if not spec.model:
            raise DqError(f"{state.rule_set.source_path}: [train] model: required by the dq.train stage")
        if not (work / "rendered" / "train.jsonl").is_file():
            raise DqError("pipeline: dq.train needs rendered/ rows; put dq.render before it")
        failed = failed_gates(state)
        if failed and not spec.allow_failed_gate:
            note = f"train: refused, gate failed ({', '.join(failed)}); set [train] allow_failed_gate = true"
            state.notes.append(note)
            state.log(note)
            setattr(state, ADAPTERS, None)
            return
        if failed:
            state.notes.append(
                f"train: gate failed ({', '.join(failed)}), trained anyway (allow_failed_gate)"
            )
        threads = set_threads(spec.threads)
        model = absolute_model(spec.model)
        info = dataset_info(work, failed, spec.allow_failed_gate)
        records = []
        with inside(work):
            for config in run_configs(state, model):
                state.log(f"train: {config.run_id} ({spec.backend}, threads {threads or 'default'})")
                record = train_one(state, config, info)
                record_outputs(state, work, record)
                records.append(record)
                state.log(
                    f"train: {config.run_id} best step {record['best_validation_step']} "
                    f"validation_mean_nll {record['validation_mean_nll']:.6f}"
                )
        setattr(state, ADAPTERS, records)
        state.notes.append(f"train: {len(records)} runs under runs/")
