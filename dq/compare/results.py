"""Result folders in the study's schema (SEED_CONTRACTS §5.5, §6.8, §6.10), read into plain records.

A folder is recognised by its own ``summary.json``: an evaluation has ``primary_metric.name ==
"gsm8k_accuracy"``; a training run has ``"validation_mean_nll"`` (an LR-selection run when its
``run_id`` starts with ``lr-select`` or its metrics use the ``small_val`` split). Condition, seed
and checkpoint are read from each run's records, never from folder names.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dq.data.reader import iter_jsonl
from dq.errors import DqError

BASELINE = "baseline"
#: The eval summary of the untuned model says ``condition: "base"``; figures call it baseline.
BASE_CONDITIONS = ("base", "baseline")


@dataclass
class EvalRun:
    """One GSM8K evaluation: accuracy, failures, tokens and (when present) per-item correctness."""

    path: Path
    run_id: str
    condition: str
    seed: int | None
    checkpoint: str
    correct: int
    total: int
    accuracy: float
    extraction_failures: int
    tokens: int
    predictions: dict[int, bool] | None = None
    #: ``contracts.*_sha256`` of the summary (MISTAKE-20260507-001: they differ between runs).
    contracts: dict[str, str] = field(default_factory=dict)
    inputs: list[Path] = field(default_factory=list)


@dataclass
class TrainRun:
    """One training run: its validation NLL by step (``*_val`` metrics rows) and selection."""

    path: Path
    run_id: str
    condition: str
    seed: int | None
    peak_lr: float | None
    lr_selection: bool
    val_nll: dict[int, float] = field(default_factory=dict)
    best_step: int | None = None
    train_tokens: int | None = None
    validation_tokens: int | None = None
    #: The exported adapter's size: ``adapter_size_bytes`` if recorded, else its safetensors file.
    adapter_bytes: int | None = None
    #: ``manifest.training.lora_config.target_modules`` when the run recorded it.
    target_modules: list[str] | None = None
    inputs: list[Path] = field(default_factory=list)


@dataclass
class ProbeRun:
    """A throughput probe (§6.11): mean seconds per optimizer step of each passing request shape."""

    path: Path
    run_id: str
    seconds: dict[str, float]
    inputs: list[Path] = field(default_factory=list)


@dataclass
class Study:
    """Everything ``dq compare`` read."""

    evals: list[EvalRun] = field(default_factory=list)
    train: list[TrainRun] = field(default_factory=list)
    probes: list[ProbeRun] = field(default_factory=list)


def _json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise DqError(f"{path}: not readable JSON: {exc}") from None
    if not isinstance(data, dict):
        raise DqError(f"{path}: expected a JSON object")
    return data


def _lines(path: Path) -> list[dict[str, Any]]:
    return [row for _, row in iter_jsonl(path)]


def _field(summary: dict[str, Any], path: Path, *keys: str) -> Any:
    value: Any = summary
    for key in keys:
        if not isinstance(value, dict) or key not in value:
            raise DqError(f"{path}: field '{'.'.join(keys)}' missing")
        value = value[key]
    return value


def _predictions(path: Path) -> dict[int, bool] | None:
    if not path.is_file():
        return None
    out = {}
    for lineno, row in enumerate(_lines(path), 1):
        index, correct = row.get("benchmark_index"), row.get("correct")
        if not isinstance(index, int) or not isinstance(correct, bool):
            raise DqError(f"{path}:{lineno}: fields 'benchmark_index' (int) and 'correct' (bool) required")
        out[index] = correct
    return out


def read_eval(folder: Path, summary: dict[str, Any]) -> EvalRun:
    where = folder / "summary.json"
    metric = _field(summary, where, "primary_metric")
    condition = str(_field(summary, where, "condition"))
    return EvalRun(
        path=folder,
        run_id=str(summary.get("run_id", folder.name)),
        condition=BASELINE if condition in BASE_CONDITIONS else condition,
        seed=summary.get("seed"),
        checkpoint=str(_field(summary, where, "checkpoint")),
        correct=int(_field(metric, where, "correct")),
        total=int(_field(metric, where, "total")),
        accuracy=float(_field(metric, where, "value")),
        extraction_failures=int(summary.get("extraction_failures") or 0),
        tokens=int((summary.get("token_count") or {}).get("total") or 0),
        predictions=_predictions(folder / "predictions.jsonl"),
        contracts=_contracts(summary),
        inputs=[p for p in (where, folder / "predictions.jsonl") if p.is_file()],
    )


def _contracts(summary: dict[str, Any]) -> dict[str, str]:
    recorded = summary.get("contracts")
    if not isinstance(recorded, dict):
        return {}
    return {k: str(v) for k, v in sorted(recorded.items()) if k.endswith("_sha256")}


def _adapter_bytes(folder: Path, summary: dict[str, Any]) -> int | None:
    """Recorded ``adapter_size_bytes``, else the size of the exported PEFT adapter file (local runs)."""
    if isinstance(summary.get("adapter_size_bytes"), int):
        return int(summary["adapter_size_bytes"])
    export = (summary.get("sampler_checkpoint") or {}).get("path")
    if not isinstance(export, str) or "://" in export:  # a Tinker URI: its size is not visible here
        return None
    for base in (Path(export), folder / "exports" / Path(export).name):
        if (base / "adapter_model.safetensors").is_file():
            return (base / "adapter_model.safetensors").stat().st_size
    return None


def _target_modules(folder: Path) -> list[str] | None:
    manifest = folder / "manifest.json"
    if not manifest.is_file():
        return None
    lora = ((_json(manifest).get("training") or {}).get("lora_config")) or {}
    modules = lora.get("target_modules") if isinstance(lora, dict) else None
    return [str(m) for m in modules] if isinstance(modules, list) else None


def read_train(folder: Path, summary: dict[str, Any]) -> TrainRun:
    where = folder / "summary.json"
    run_id = str(summary.get("run_id", folder.name))
    metrics = folder / "metrics.jsonl"
    rows = _lines(metrics) if metrics.is_file() else []
    val = [
        r for r in rows if str(r.get("split", "")).endswith("_val") and isinstance(r.get("eval_metric"), dict)
    ]
    splits = {str(r.get("split")) for r in val}
    lr = (summary.get("learning_rate") or {}).get("peak_lr")
    if lr is None:
        lr = next((r.get("peak_lr") for r in rows if r.get("peak_lr") is not None), None)
    run = TrainRun(
        path=folder,
        run_id=run_id,
        condition=str(_field(summary, where, "condition")),
        seed=summary.get("seed"),
        peak_lr=float(lr) if lr is not None else None,
        lr_selection=run_id.startswith("lr-select") or "small_val" in splits,
        val_nll={int(r["step"]): float(r["eval_metric"]["value"]) for r in val},
        best_step=summary.get("best_validation_step"),
        train_tokens=(summary.get("token_count") or {}).get("train"),
        validation_tokens=(summary.get("token_count") or {}).get("validation"),
        adapter_bytes=_adapter_bytes(folder, summary),
        target_modules=_target_modules(folder),
        inputs=[p for p in (where, metrics, folder / "manifest.json") if p.is_file()],
    )
    if not run.val_nll:  # a summary without metrics still says its best NLL
        value = (summary.get("primary_metric") or {}).get("value")
        if value is not None:
            run.val_nll = {int(run.best_step or 0): float(value)}
    return run


def read_probe(folder: Path, summary: dict[str, Any]) -> ProbeRun:
    """The probe summary's passing shapes, in the order it ran them."""
    seconds = {
        str(shape): float(v["seconds_per_optimizer_step"])
        for shape, v in summary["shapes"].items()
        if isinstance(v, dict) and v.get("seconds_per_optimizer_step") is not None
    }
    run_id = str(summary.get("run_id", folder.name))
    return ProbeRun(path=folder, run_id=run_id, seconds=seconds, inputs=[folder / "summary.json"])


def read_study(folders: list[Path]) -> Study:
    """Read every result folder; a folder that is none of the known kinds is an error naming it."""
    study = Study()
    for folder in folders:
        summary = _json(folder / "summary.json")
        name = (summary.get("primary_metric") or {}).get("name")
        if name == "gsm8k_accuracy":
            study.evals.append(read_eval(folder, summary))
        elif name == "validation_mean_nll":
            study.train.append(read_train(folder, summary))
        elif isinstance(summary.get("shapes"), dict):
            study.probes.append(read_probe(folder, summary))
        else:
            raise DqError(
                f"{folder / 'summary.json'}: primary_metric.name {name!r} is neither gsm8k_accuracy "
                "(an evaluation) nor validation_mean_nll (a training run), and it has no 'shapes' (a probe)"
            )
    return study


def result_folders(paths: list[Path]) -> list[Path]:
    """Each path that holds a summary.json, else its subfolders that do (a results root), sorted."""
    out: list[Path] = []
    for path in paths:
        if (path / "summary.json").is_file():
            out.append(path)
            continue
        found = sorted(p.parent for p in path.glob("*/summary.json"))
        if not found:
            raise DqError(f"{path}: no summary.json in it or in its subfolders; not a result folder")
        out += found
    return out
