"""LR selection (§6.10) and the throughput probe (§6.11) over any backend."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path
from typing import Any

from dq.api.train import AdamParams, TrainBackend
from dq.train import protocol as p
from dq.train.dataset import TrainData
from dq.train.driver import SHAPES, RunConfig, run_step, start_backend, timed
from dq.train.run import train_run
from dq.train.runfolder import RunFolder, dump_json, now, write_atomic


def lr_select_config(condition: str, lr: float, base_model: str, seed: int = p.LR_SELECT_SEED) -> RunConfig:
    """One LR-selection run: constant LR, one epoch, validate every 32 steps, ties to the earlier step."""
    return RunConfig(
        run_id=p.lr_select_run_id(condition, lr),
        base_model=base_model,
        condition=condition,
        seed=seed,
        peak_lr=lr,
        epochs=1,
        constant_lr=True,
        validate_every=p.LR_SELECT_VALIDATE_EVERY,
        skip_before_epoch_end=0,
        ties="earlier",
        split_prefix="small",
        protocol_mode="frozen_small_lr_selection",
        request_shape="single_datum_calls",
        checkpoint_each_validation=False,
        export=False,
    )


def run_lr_selection(
    make_backend: Callable[[], TrainBackend],
    data: TrainData,
    configs: Sequence[RunConfig],
    runs_dir: Path,
    overwrite: bool = False,
    log: Callable[[str], None] = lambda _line: None,
) -> dict[str, Any]:
    """Every grid run, then the chosen LR per condition; writes lr_selection.json and .csv."""
    results: list[dict[str, Any]] = []
    for config in configs:
        log(f"lr selection: {config.run_id}")
        summary = train_run(
            make_backend(), config, data, runs_dir / config.run_id, overwrite=overwrite, log=log
        )
        results.append(
            {
                "condition": config.condition,
                "lr": config.peak_lr,
                "run_id": config.run_id,
                "validation_mean_nll": summary["primary_metric"]["value"],
                "best_validation_step": summary["best_validation_step"],
            }
        )
    chosen = {}
    for condition in dict.fromkeys(r["condition"] for r in results):
        best = {r["lr"]: r["validation_mean_nll"] for r in results if r["condition"] == condition}
        chosen[condition] = p.choose_lr(best)
    report = {
        "created_at": now(),
        "runs": results,
        "chosen_lr": chosen,
        "selection_rule": "lowest best validation_mean_nll per condition; exact ties choose the smaller LR",
    }
    write_atomic(runs_dir / "lr_selection.json", dump_json(report))
    write_atomic(runs_dir / "lr_selection.csv", lr_csv(results))
    return report


def lr_csv(results: Sequence[dict[str, Any]]) -> str:
    """fig_06's data: ``condition,lr,validation_mean_nll`` (csv.DictWriter, so CRLF as the study's)."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=["condition", "lr", "validation_mean_nll"])
    writer.writeheader()
    for r in results:
        writer.writerow(
            {
                "condition": r["condition"],
                "lr": p.lr_label(r["lr"]),
                "validation_mean_nll": r["validation_mean_nll"],
            }
        )
    return buffer.getvalue()


def probe_shape(
    backend: TrainBackend, config: RunConfig, data: TrainData, steps: int
) -> list[dict[str, Any]]:
    """Time ``steps`` optimizer steps in one request shape; one ``throughput_probe`` row per step."""
    rows = []
    for step in range(1, steps + 1):
        start, end = p.batch_bounds(step, len(data.train), config.batch_size)
        adam = AdamParams(learning_rate=config.peak_lr)
        batch = data.train[start:end]
        (result, optim, calls), seconds = timed(partial(run_step, backend, config.request_shape, batch, adam))
        rows.append(
            {
                "backend_metrics": {"train": result.metrics, "optimizer": optim},
                "checkpoint": None,
                "condition": config.condition,
                "cost": None,
                "current_lr": config.peak_lr,
                "eval_metric": {"name": "seconds_per_optimizer_step", "value": seconds},
                "learning_rate": config.peak_lr,
                "loss": result.mean_nll,
                "optimizer_seconds": None,
                "peak_lr": config.peak_lr,
                "request_shape": config.request_shape,
                "run_id": config.run_id,
                "seed": config.seed,
                "split": "throughput_probe",
                "step": step,
                "step_seconds": seconds,
                "token_count": result.token_count,
                "train_call_count": calls,
                "train_seconds": None,
            }
        )
    return rows


def run_probe(
    make_backend: Callable[[], TrainBackend],
    data: TrainData,
    base: RunConfig,
    out_dir: Path,
    steps: int = 16,
    shapes: Sequence[str] = SHAPES,
    overwrite: bool = False,
) -> dict[str, Any]:
    """Every request shape on its own client; summary recommends the fastest passing shape."""
    folder = RunFolder(out_dir)
    folder.prepare(overwrite=overwrite)
    per_shape: dict[str, Any] = {}
    for shape in shapes:
        config = RunConfig(**{**base.__dict__, "run_id": f"{base.run_id}-{shape}", "request_shape": shape})
        backend = make_backend()
        try:
            start_backend(backend, config, out_dir / shape)
            rows = probe_shape(backend, config, data, steps)
            folder.append_metrics(rows)
            mean = sum(r["step_seconds"] for r in rows) / len(rows)
            per_shape[shape] = {"status": "pass", "seconds_per_optimizer_step": mean}
        except Exception as exc:  # noqa: BLE001 - one failing shape must not hide the others
            per_shape[shape] = {"status": "fail", "error": f"{type(exc).__name__}: {exc}"}
        finally:
            backend.close()
    passing = {s: v["seconds_per_optimizer_step"] for s, v in per_shape.items() if v["status"] == "pass"}
    status = "pass" if len(passing) == len(per_shape) else ("partial_fail" if passing else "fail")
    summary = {
        "run_id": base.run_id,
        "status": status,
        "shapes": per_shape,
        "steps": steps,
        "recommended_request_shape": min(passing, key=lambda s: passing[s]) if passing else None,
    }
    folder.write_summary(summary)
    return summary
