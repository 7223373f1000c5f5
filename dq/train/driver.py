"""The training loop: the study's protocol (§6.4–6.8) over any :class:`TrainBackend`.

Per step: the batch in file order, the scheduled LR, forward-backward and an Adam step in the
configured request shape, a ``*_train`` and a ``*_optim`` metrics row. At validation steps:
token-weighted NLL over the val set in chunks of 16, a saved state, a ``*_val`` row whose
``checkpoint`` is the path the backend returned. At the end: selection from the run's own
metrics rows (never a rebuilt id), export of the selected state for sampling, summary.json.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from dq.api.train import AdamParams, Datum, LoraTargets, StepResult, TrainBackend
from dq.train import protocol as p
from dq.train.dataset import TrainData
from dq.train.runfolder import RunFolder, now

SHAPES = ("batched_datums_pipelined", "batched_datums", "single_datum_calls")


@dataclass(frozen=True)
class RunConfig:
    """One run's settings; the defaults are the study's main comparison."""

    run_id: str
    base_model: str
    condition: str
    seed: int
    peak_lr: float = 3e-4
    epochs: int = 2
    max_steps: int | None = None
    rank: int = 8
    batch_size: int = p.BATCH_SIZE
    validation_batch_size: int = p.VALIDATION_BATCH_SIZE
    constant_lr: bool = False
    validate_every: int = p.VALIDATION_INTERVAL
    skip_before_epoch_end: int = p.SKIP_BEFORE_EPOCH_END
    ties: str = "later"
    split_prefix: str = "main"
    protocol_mode: str = "frozen_main_comparison"
    request_shape: str = "batched_datums_pipelined"
    checkpoint_each_validation: bool = True
    export: bool = True
    renderer_name: str = ""
    ttl_seconds: int = p.CHECKPOINT_TTL_SECONDS


def combine(results: Sequence[StepResult]) -> StepResult:
    """Sum results of several calls (sum-reduced losses add; numeric metrics add)."""
    metrics: dict[str, float] = {}
    for r in results:
        for key, value in r.metrics.items():
            metrics[key] = metrics.get(key, 0.0) + float(value)
    return StepResult(
        loss_sum=sum(r.loss_sum for r in results),
        weight=sum(r.weight for r in results),
        token_count=sum(r.token_count for r in results),
        metrics=metrics,
    )


def run_step(
    backend: TrainBackend, shape: str, datums: Sequence[Datum], adam: AdamParams
) -> tuple[StepResult, dict[str, float], int]:
    """One optimizer step in a request shape (§6.4, §6.11); returns the fb call count too."""
    if shape == "batched_datums_pipelined":
        result, optim = backend.train_step(datums, adam)
        return result, optim, 1
    if shape == "batched_datums":
        result = backend.forward_backward(datums)
        return result, backend.optim_step(adam), 1
    if shape == "single_datum_calls":
        result = combine([backend.forward_backward([d]) for d in datums])
        return result, backend.optim_step(adam), len(datums)
    raise ValueError(f"request shape {shape!r}: expected one of {', '.join(SHAPES)}")


def validate(backend: TrainBackend, datums: Sequence[Datum], chunk: int) -> tuple[float, StepResult]:
    """Token-weighted mean NLL over all ``datums`` in chunks (§6.3), and the summed results."""
    parts = [backend.forward(datums[i : i + chunk]) for i in range(0, len(datums), chunk)]
    mean = p.token_weighted_mean((r.mean_nll, r.weight) for r in parts)
    return mean, combine(parts)


class Driver:
    """Runs one configured run over a backend and writes its folder."""

    def __init__(
        self,
        backend: TrainBackend,
        config: RunConfig,
        data: TrainData,
        folder: RunFolder,
        log: Callable[[str], None] = lambda _line: None,
    ) -> None:
        self.backend, self.config, self.data, self.folder, self.log = backend, config, data, folder, log
        rows = len(data.train)
        self.per_epoch = p.steps_per_epoch(rows, config.batch_size)
        self.total = p.total_steps(rows, config.epochs, config.max_steps, config.batch_size)
        self.schedule = p.Schedule(config.peak_lr, self.total, constant=config.constant_lr)
        self.val_steps = p.validation_steps(
            self.total, self.per_epoch, config.epochs, config.validate_every, config.skip_before_epoch_end
        )

    def row(self, split: str, step: int, **fields: Any) -> dict[str, Any]:
        """A metrics row with every key of the study's schema."""
        c, lr = self.config, self.schedule.lr(step)
        base: dict[str, Any] = {
            "backend_metrics": {},
            "checkpoint": None,
            "condition": c.condition,
            "cost": None,
        }
        base.update(current_lr=lr, eval_metric=None, learning_rate=lr, loss=None, peak_lr=c.peak_lr)
        base.update(run_id=c.run_id, seed=c.seed, split=f"{c.split_prefix}_{split}", step=step)
        base.update(token_count=None)
        base.update(fields)
        return base

    def adam(self, step: int) -> AdamParams:
        """The study's Adam settings at ``step`` (weight decay and clipping off)."""
        return AdamParams(learning_rate=self.schedule.lr(step))

    def train_one(self, step: int) -> None:
        """One optimizer step and its two metrics rows."""
        start, end = p.batch_bounds(step, len(self.data.train), self.config.batch_size)
        result, optim, _ = run_step(
            self.backend, self.config.request_shape, self.data.train[start:end], self.adam(step)
        )
        tokens = result.token_count
        self.folder.append_metrics(
            [
                self.row(
                    "train", step, loss=result.mean_nll, backend_metrics=result.metrics, token_count=tokens
                ),
                self.row("optim", step, backend_metrics=optim, token_count=tokens),
            ]
        )
        self.log(f"step {step}/{self.total} lr {self.schedule.lr(step):.3e} loss {result.mean_nll:.5f}")

    def validate_one(self, step: int) -> None:
        """Validation, a saved state, and the ``*_val`` row naming it."""
        mean, summed = validate(self.backend, self.data.val, self.config.validation_batch_size)
        checkpoint = None
        if self.config.checkpoint_each_validation:
            checkpoint = self.backend.save_state(f"{self.config.run_id}-step-{step}")
        metric = {"name": "validation_mean_nll", "value": mean}
        self.folder.append_metrics(
            [
                self.row(
                    "val",
                    step,
                    loss=mean,
                    eval_metric=metric,
                    checkpoint=checkpoint,
                    backend_metrics=summed.metrics,
                    token_count=summed.token_count,
                )
            ]
        )
        self.log(f"validation step {step}: validation_mean_nll {mean:.6f}")

    def resume_step(self) -> int:
        """Restore the last saved state recorded in metrics.jsonl; returns the step to continue from."""
        saved = [r for r in self.folder.read_metrics() if r["split"].endswith("_val") and r.get("checkpoint")]
        if not saved:
            self.folder.truncate_metrics(0)
            return 1
        last = saved[-1]
        self.backend.restore(str(last["checkpoint"]))
        self.folder.truncate_metrics(int(last["step"]))
        self.log(f"resumed from step {last['step']} ({last['checkpoint']})")
        return int(last["step"]) + 1

    def execute(self, resume: bool = False) -> dict[str, Any]:
        """Train every step on the started backend, select, export, and return the summary."""
        c = self.config
        first = self.resume_step() if resume else 1
        for step in range(first, self.total + 1):
            self.train_one(step)
            if step in self.val_steps:
                self.validate_one(step)
        if not c.checkpoint_each_validation:
            final = self.backend.save_state(f"{c.run_id}-final")
            self.folder.append_metrics([self.row("checkpoint", self.total, checkpoint=final)])
        return self.summarize()

    def summarize(self) -> dict[str, Any]:
        """Select from the run's own rows, export the selected state, and build summary.json."""
        c, rows = self.config, self.folder.read_metrics()
        vals = [r for r in rows if r["split"] == f"{c.split_prefix}_val"]
        best_step, best = p.select_best([(r["step"], r["eval_metric"]["value"]) for r in vals], c.ties)
        chosen = next(r for r in vals if r["step"] == best_step)
        path = chosen["checkpoint"] or next(
            r["checkpoint"] for r in rows if r["split"].endswith("_checkpoint")
        )
        name = f"{c.run_id}-step-{best_step}" if chosen["checkpoint"] else f"{c.run_id}-final"
        summary: dict[str, Any] = {
            "artifact_paths": self.folder.artifact_paths(),
            "best_validation_step": best_step,
            "checkpoint": {"name": name, "path": path, "ttl_seconds": c.ttl_seconds},
            "condition": c.condition,
            "dataset": {k: self.data.info.get(k) for k in ("train_path", "val_path")},
            "learning_rate": {"min_lr": self.schedule.min_lr, "peak_lr": c.peak_lr},
            "primary_metric": {"name": "validation_mean_nll", "value": best},
            "run_id": c.run_id,
            "seed": c.seed,
            "status": "pass",
            "token_count": token_totals(rows),
        }
        summary["dataset"].update(train_rows=len(self.data.train), val_rows=len(self.data.val))
        summary["learning_rate"]["warmup_steps"] = self.schedule.warmup_steps
        if c.export:
            self.backend.restore(str(path))
            sampler = self.backend.export_for_sampling(f"export-{name}")
            summary["sampler_checkpoint"] = {"name": f"export-{name}", "path": sampler}
        summary["finished_at"] = now()
        return summary


def start_backend(
    backend: TrainBackend, config: RunConfig, run_dir: Path, extra: dict[str, Any] | None = None
) -> None:
    """Start ``backend`` for ``config``; states go to ``run_dir/checkpoints``, exports to ``run_dir/exports``."""
    options: dict[str, Any] = {"run_id": config.run_id, "state_dir": str(run_dir / "checkpoints")}
    options["export_dir"] = str(run_dir / "exports")
    metadata = {
        "project": "dq",
        "run_id": config.run_id,
        "condition": config.condition,
        "seed": str(config.seed),
    }
    options["user_metadata"] = metadata
    options.update(extra or {})
    backend.start(config.base_model, config.rank, LoraTargets.parse(config.condition), config.seed, options)


def token_totals(rows: Sequence[dict[str, Any]]) -> dict[str, int]:
    """The summary's ``token_count`` from metrics rows: train (= optimizer) and validation tokens."""
    train = sum(int(r["token_count"]) for r in rows if r["split"].endswith("_train"))
    optim = sum(int(r["token_count"]) for r in rows if r["split"].endswith("_optim"))
    validation = sum(int(r["token_count"]) for r in rows if r["split"].endswith("_val"))
    return {"optimizer": optim, "total": train + validation, "train": train, "validation": validation}


def config_record(config: RunConfig) -> dict[str, Any]:
    """The config as the manifest stores it."""
    return asdict(config)


def timed(fn: Callable[[], Any]) -> tuple[Any, float]:
    """``(fn(), seconds)`` with a monotonic clock."""
    start = time.perf_counter()
    value = fn()
    return value, time.perf_counter() - start
