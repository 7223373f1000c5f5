"""Run and stage keys of resumable runs: content hashes of everything that decides the outputs.

The run key is the sha256 of the run's configuration: the rule set (its bytes and its resolved
form), the command line's options (not the Ray address: where a run computes does not change what
it computes), the sha256 of every local file the run reads (rule set, input, benchmark files),
dq's own source files, and the identity of every bound rule, splitter, check, reporter and
renderer. Stage key ``i`` chains key ``i-1`` (the run key for the first stage), ``i``, and the
stage's name and identity, so a change of input, rules or code invalidates that stage and every
later one. ``hf:`` inputs and Hub benchmarks are keyed by name, and files a stage loads on its own
(model weights, tokenizers) by the name the rule set gives them, not by their content.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import os
import sys
from collections.abc import Iterable
from dataclasses import asdict
from functools import cache
from importlib import metadata
from importlib.util import find_spec
from pathlib import Path
from typing import Any

from dq.api.run import Plan, Stage
from dq.data.reader import file_sha256
from dq.pipeline.checkpoint import FORMAT
from dq.pipeline.plan import RunOptions

OWN_PACKAGES = ("dq", "dq_stages", "dq_reports")


def cache_root() -> Path:
    """Where checkpoints live: ``$DQ_CHECKPOINT_DIR``, else ``${DQ_CACHE_DIR:-~/.cache/dq}/runs``."""
    if os.environ.get("DQ_CHECKPOINT_DIR"):
        return Path(os.environ["DQ_CHECKPOINT_DIR"])
    return Path(os.environ.get("DQ_CACHE_DIR") or Path.home() / ".cache" / "dq") / "runs"


@cache
def _version(top: str) -> str:
    name = "dq" if top in OWN_PACKAGES else next(iter(metadata.packages_distributions().get(top, [])), None)
    try:
        return metadata.version(name) if name else "unknown"
    except metadata.PackageNotFoundError:
        return "unknown"


@cache
def _module_sha(module: str) -> str:
    try:
        source = inspect.getsourcefile(sys.modules[module])
        return file_sha256(Path(source)) if source else "unknown"
    except (KeyError, TypeError, OSError):
        return "unknown"


def identity(cls: type) -> dict[str, str]:
    """A component's identity: class, distribution version, sha256 of the module defining it."""
    module = cls.__module__
    return {
        "class": f"{module}.{cls.__qualname__}",
        "version": _version(module.split(".", 1)[0]),
        "module_sha256": _module_sha(module),
    }


@cache
def dq_code() -> str:
    """sha256 over dq's own Python sources (an editable install changes code, not its version)."""
    digest = hashlib.sha256()
    for package in OWN_PACKAGES:
        spec = find_spec(package)  # located, not imported (the core never imports dq_stages)
        if spec is None or spec.origin is None:
            continue
        root = Path(spec.origin).parent
        for path in sorted(root.rglob("*.py")):
            digest.update(f"{package}/{path.relative_to(root).as_posix()}\0".encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()


def components(plan: Plan) -> list[type]:
    """Every class the plan binds, stages first."""
    bound: list[Any] = [*plan.stages, *(b.rule for b in plan.rules), plan.splitter]
    bound += [*(c.check for c in plan.checks), *plan.reporters]
    return [type(c) for c in bound] + ([plan.renderer_class] if plan.renderer_class else [])


def run_key(plan: Plan, options: RunOptions) -> str:
    """sha256 of everything that decides a run's outputs (OSError when an input cannot be read)."""
    config = {
        "format": FORMAT,
        "dq": dq_code(),
        "rule_set": {"sha256": plan.rule_set.sha256, "resolved": plan.rule_set.model_dump(mode="json")},
        "options": {k: v for k, v in asdict(options).items() if k != "address"},
        "input": plan.input_spec,
        "columns": plan.columns,
        "strict_columns": sorted(plan.strict_columns),
        "benchmarks": {name: spec.model_dump(mode="json") for name, spec in plan.benchmarks.items()},
        "files": [[str(path), file_sha256(path)] for path in plan.files_read],
        "components": [identity(cls) for cls in components(plan)],
    }
    return hashlib.sha256(json.dumps(config, sort_keys=True, default=str).encode()).hexdigest()


def stage_keys(key: str, stages: Iterable[Stage]) -> list[str]:
    """The hash chain: each stage's key from the previous one, its position, name and identity."""
    keys = []
    for i, stage in enumerate(stages):
        link = json.dumps([key, i, stage.name, identity(type(stage))], sort_keys=True)
        key = hashlib.sha256(link.encode()).hexdigest()
        keys.append(key)
    return keys
