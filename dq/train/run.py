"""One training run end to end: folder, manifest (§6.8), driver, summary, failure record."""

from __future__ import annotations

import importlib
import importlib.metadata
from collections.abc import Callable
from pathlib import Path
from typing import Any

from dq.api.train import AdamParams, TrainBackend
from dq.train import protocol as p
from dq.train.dataset import TrainData
from dq.train.driver import Driver, RunConfig, start_backend
from dq.train.runfolder import RunFolder, now, sha256_file

CONTRACT_MODULES = ("dq.train.protocol", "dq.train.datums", "dq.train.driver")
PACKAGES = ("dq", "torch", "transformers", "peft", "tinker")


def contract_hashes() -> dict[str, dict[str, str]]:
    """Path and sha256 of the modules that implement the protocol (the study hashed its contract docs)."""
    out = {}
    for name in CONTRACT_MODULES:
        path = Path(str(importlib.import_module(name).__file__))
        out[name] = {"path": f"{name.replace('.', '/')}.py", "sha256": sha256_file(path)}
    return out


def package_versions() -> dict[str, str | None]:
    """Installed versions of the packages a run depends on (``None`` when absent)."""
    out: dict[str, str | None] = {}
    for name in PACKAGES:
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            out[name] = None
    return out


def build_manifest(driver: Driver, backend: TrainBackend) -> dict[str, Any]:
    """The run manifest in the study's layout (plus dq's backend and gate records)."""
    c, data = driver.config, driver.data
    adam = AdamParams(learning_rate=c.peak_lr)
    rows = len(data.train)
    last = rows - (driver.per_epoch - 1) * c.batch_size
    dataset = {k: data.info.get(k) for k in ("train_path", "val_path", "raw_manifest_sha256")}
    dataset.update(rendered_manifest_sha256=data.info.get("rendered_manifest_sha256"))
    dataset.update(train_start_index=0, train_rows=rows, train_row_ids=data.train_row_ids)
    dataset.update(val_start_index=0, val_rows=len(data.val), val_row_ids=data.val_row_ids)
    dataset.update({k: data.info.get(k) for k in ("dataset_status", "failed_gates", "allow_failed_gate")})
    optimizer = {"name": f"{backend.name} AdamParams", "peak_lr": c.peak_lr, "min_lr": driver.schedule.min_lr}
    optimizer.update(warmup_fraction=0.0 if c.constant_lr else p.WARMUP_FRACTION)
    optimizer.update(warmup_steps=driver.schedule.warmup_steps)
    optimizer.update(schedule="constant" if c.constant_lr else "linear_warmup_cosine_decay")
    optimizer.update(weight_decay=adam.weight_decay, grad_clip_norm=adam.grad_clip_norm)
    optimizer.update(beta1=adam.beta1, beta2=adam.beta2, eps=adam.eps)
    described = backend.describe()
    training = {"seed": c.seed, "condition": c.condition, "lora_config": described.get("lora_config")}
    training.update(rank=c.rank, request_shape=c.request_shape, effective_batch_size=c.batch_size)
    training.update(datums_per_forward_backward=f"up to {c.batch_size}")
    training.update(
        forward_backward_calls_per_optimizer_step=1 if "batched" in c.request_shape else "one per datum"
    )
    training.update(final_epoch_batch_size=last, epochs=c.epochs, optimizer_steps_per_epoch=driver.per_epoch)
    training.update(total_optimizer_steps=driver.total, max_optimizer_steps=c.max_steps)
    validation = {"validation_batch_size": c.validation_batch_size, "validation_steps": driver.val_steps}
    validation["selection_rule"] = p.SELECTION_RULE if c.ties == "later" else "lowest validation_mean_nll"
    return {
        "backend": {"name": backend.name, **described},
        "contracts": contract_hashes(),
        "created_at": now(),
        "dataset": dataset,
        "finished_at": None,
        "model_name": c.base_model,
        "optimizer": optimizer,
        "package_versions": package_versions(),
        "protocol_mode": c.protocol_mode,
        "renderer_name": c.renderer_name,
        "run_id": c.run_id,
        "status": "started",
        "training": training,
        "validation": validation,
    }


def train_run(
    backend: TrainBackend,
    config: RunConfig,
    data: TrainData,
    run_dir: Path,
    overwrite: bool = False,
    resume: bool = False,
    log: Callable[[str], None] = lambda _line: None,
    started: bool = False,
) -> dict[str, Any]:
    """Run one configured run into ``run_dir``; on an exception write failure.json and re-raise.

    ``started=True`` means the caller already started the backend (to render with its tokenizer).
    """
    folder = RunFolder(run_dir)
    folder.prepare(overwrite=overwrite, resume=resume)
    driver = Driver(backend, config, data, folder, log)
    try:
        if not started:
            start_backend(backend, config, run_dir)
        if not resume or not (run_dir / "manifest.json").exists():
            folder.write_sample_render(data.sample_render)
            folder.write_manifest(build_manifest(driver, backend))
        else:
            folder.set_status("started", resumed_at=now())
        summary = driver.execute(resume=resume)
        manifest = folder.read_manifest()
        described = backend.describe()
        manifest.update(
            status="pass", finished_at=summary["finished_at"], backend={"name": backend.name, **described}
        )
        manifest["training"]["lora_config"] = described.get("lora_config")
        folder.write_manifest(manifest)
        folder.write_summary(summary)
        return summary
    except BaseException as exc:
        folder.write_failure(config.run_id, exc)
        raise
    finally:
        backend.close()
