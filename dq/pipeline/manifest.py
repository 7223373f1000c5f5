"""The run manifest: the study's raw-manifest keys first, then dq's provenance.

Timestamps come from :func:`run_timestamp`, which honours ``SOURCE_DATE_EPOCH`` (the
reproducible-builds convention) so that a rerun can be byte-identical, manifest included.
"""

from __future__ import annotations

import datetime as dt
import os
import platform
from importlib import metadata
from typing import Any

from dq.api.run import RunState
from dq.pipeline.summary import val_shares

VERSIONED = ("dq", "polars", "duckdb", "pyarrow", "pluggy", "pydantic", "datasketch")


def run_timestamp() -> str:
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    when = (
        dt.datetime.fromtimestamp(int(epoch), dt.UTC)
        if epoch and epoch.isdigit()
        else dt.datetime.now(dt.UTC)
    )
    return when.isoformat()


def versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for name in VERSIONED:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return out


def _split_of(spec: str) -> str | None:
    """The split of an ``hf:NAME[:CONFIG]:SPLIT`` input; None for files and the demo."""
    return spec.rsplit(":", 1)[-1] if spec.startswith("hf:") else None


def build_manifest(state: RunState) -> dict[str, Any]:
    """Assemble the manifest from the finished state (everything but ``outputs`` is known)."""
    split_spec = state.rule_set.split
    splitter = state.plan.splitter
    options = splitter.options
    considered, accepted = state.require("considered"), state.require("accepted")
    train, val = state.require("train"), state.require("val")
    split = state.require("split")
    return {
        "created_at": run_timestamp(),
        "dataset_name": state.input_info.get("path"),
        "dataset_split": _split_of(state.input_info.get("path") or ""),
        "seed": getattr(options, "seed", None),
        "sources": sorted(state.source_counts(considered)),
        "val_ratio": getattr(options, "val_ratio", None),
        "input_source_counts": state.source_counts(considered),
        "accepted_source_counts": state.source_counts(accepted),
        "split_source_counts": {
            "train": state.source_counts(train),
            "val": state.source_counts(val),
        },
        "split_group_counts": {"train": split.train_groups, "val": split.val_groups},
        "split_val_share": val_shares(state),
        "split_rule": splitter.description,
        "reject_reasons": state.reject_reasons,
        "artifacts": {"train_jsonl": "raw/train.jsonl", "val_jsonl": "raw/val.jsonl"},
        "status": state.status,
        "gates": [vars(g) for g in state.gates],
        "contamination_dropped_rows": state.dropped_rows,
        "rows": {
            "input": state.input_info.get("rows", state.require("rows").height),
            "considered": considered.height,
            "accepted": accepted.height,
            "rejected": state.require("rejected").height,
        },
        "rule_set": {
            "path": state.rule_set.source_path,
            "name": state.rule_set.name,
            "sha256": state.rule_set.sha256,
        },
        "input": state.input_info,
        "benchmarks": state.benchmark_info,
        "splitter": split_spec.splitter,
        "pipeline": state.rule_set.pipeline,
        "parent": state.parent,
        **({"training": state.adapters} if state.adapters is not None else {}),
        **({"evaluations": state.evaluations} if state.evaluations is not None else {}),
        **({"notes": state.notes} if state.notes else {}),
        **({"resumed": state.resumed} if state.resumed else {}),
        "versions": versions(),
        "outputs": dict(sorted(state.outputs.items())),
    }
