"""The results files of one evaluation run (SEED_CONTRACTS §5.5): predictions, metrics, summary.

``predictions.jsonl`` and ``metrics.jsonl`` are ``json.dumps(sort_keys=True, ensure_ascii=False)``
lines; ``summary.json`` is ``json.dumps(indent=2, sort_keys=True) + "\\n"``. Every file is written
to a temporary name and renamed, so a reader never sees half a file.

Run ids follow the study's shape but never collide: the study cut the slug at 80 characters,
which dropped seed and step from sampler paths; here the slug is cut at 60 and a 10-hex sha256 of
the full target is always appended, so two checkpoints never share an id.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
from collections.abc import Iterable
from datetime import UTC, datetime
from importlib import metadata, resources
from pathlib import Path
from typing import Any

RESULT_FILES = ("predictions.jsonl", "metrics.jsonl", "summary.json", "failure.json")
CONTRACT_FILES = {"eval_contract": "eval_contract.md", "results_schema": "results_schema.md"}
_STEP = re.compile(r"\bstep-(\d+)\b")


def slug(target: str) -> str:
    """The study's slug of a model id or ``tinker://A/B`` path, before any truncation."""
    if target.startswith("tinker://"):
        head, _, tail = target.removeprefix("tinker://").partition("/")
        text = f"{head}-{tail}" if tail else head
    else:
        text = target.rstrip("/").rsplit("/", 1)[-1]
    text = text.lower().replace("_", "-").replace(":", "-")
    text = re.sub(r"[^a-z0-9-]+", "-", text)
    return re.sub(r"-+", "-", text).strip("-")


def run_id(target: str, benchmark: str, limit: int | None, now: datetime | None = None) -> str:
    """``{checkpoint|baseline}-{slug}-{hash}-{benchmark}-{UTC stamp}[-limit-N]``, unique per target."""
    kind = "checkpoint" if target.startswith("tinker://") else "baseline"
    digest = hashlib.sha256(target.encode("utf-8")).hexdigest()[:10]
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%d-%H%M%S")
    suffix = f"-limit-{limit}" if limit else ""
    return f"{kind}-{slug(target)[:60].strip('-')}-{digest}-{benchmark}-{stamp}{suffix}"


def step_of(target: str) -> int | None:
    """The training step named in a checkpoint path (``...-step-3169``), else None."""
    match = _STEP.search(target)
    return int(match.group(1)) if match else None


def contract_text(key: str) -> bytes:
    """The bytes of a shipped contract file (``eval_contract`` or ``results_schema``)."""
    return resources.files("dq.eval").joinpath("data", CONTRACT_FILES[key]).read_bytes()


def contracts() -> dict[str, str]:
    """Paths and sha256 of the contract files this evaluation ran under."""
    out = {}
    for key, name in CONTRACT_FILES.items():
        out[key] = f"dq/eval/data/{name}"
        out[f"{key}_sha256"] = hashlib.sha256(contract_text(key)).hexdigest()
    return out


def check_writable(out_dir: Path, overwrite: bool) -> None:
    """Refuse (DqError) when any results file already exists and ``overwrite`` is off."""
    from dq.errors import DqError

    existing = [name for name in RESULT_FILES if (out_dir / name).exists()]
    if existing and not overwrite:
        raise DqError(f"{out_dir}: already holds {', '.join(existing)}; pass --overwrite to replace")


def atomic_write(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file in the same folder, then rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    tmp.write_text(text, encoding="utf-8", newline="\n")
    os.replace(tmp, path)


def jsonl_text(rows: Iterable[dict[str, Any]]) -> str:
    """Rows as the study wrote them: sorted keys, non-ASCII kept, one per line."""
    return "".join(json.dumps(row, sort_keys=True, ensure_ascii=False) + "\n" for row in rows)


def git_info(cwd: Path | None = None) -> dict[str, Any]:
    """``{dirty, sha, status_short}`` of the working tree, nulls outside a git checkout."""
    try:
        sha = _git(["rev-parse", "HEAD"], cwd).strip()
        status = [line for line in _git(["status", "--short"], cwd).splitlines() if line]
    except (OSError, subprocess.CalledProcessError):
        return {"dirty": None, "sha": None, "status_short": None}
    return {"dirty": bool(status), "sha": sha, "status_short": status}


def _git(args: list[str], cwd: Path | None) -> str:
    return subprocess.run(
        ["git", *args], cwd=cwd, capture_output=True, text=True, check=True, timeout=30
    ).stdout


def versions() -> dict[str, str | None]:
    """Installed versions of the packages the study recorded, plus dq and transformers."""
    out: dict[str, str | None] = {}
    for key, dist in (
        ("dq", "dq"),
        ("tinker", "tinker"),
        ("tinker_cookbook", "tinker-cookbook"),
        ("transformers", "transformers"),
    ):
        try:
            out[key] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            out[key] = None
    return out


def utc_now() -> str:
    """The current time, ISO 8601 with the UTC offset, as the study recorded ``created_at``."""
    return datetime.now(UTC).isoformat()
