"""``dq report``: rebuild every report of a finished run folder from what the folder holds."""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from dq.cli.options import benchmark_option, quiet_option, recorded_rules_option
from dq.cli.runtime import runtime
from dq.errors import DqError

HTML_REPORTER = "dq.html"

if TYPE_CHECKING:
    from dq.api.run import Plan, RunState
    from dq.plugins import Registry


@click.command()
@click.argument("run_dir", type=click.Path(path_type=Path, exists=True, file_okay=False))
@recorded_rules_option("the run's")
@benchmark_option
@click.option(
    "--html", is_flag=True, help="Also write reports/report.html when the rule set does not list dq.html."
)
@quiet_option
def report(
    run_dir: Path, rules_path: Path | None, benchmarks: tuple[str, ...], html: bool, quiet: bool
) -> None:
    """Rebuild reports/ and the manifest of a finished run (or review version) folder.

    The gate stage re-runs on the folder's rows against the benchmarks the run recorded
    (--benchmark replaces or adds one, as in dq run); then every reporter of the rule set writes
    its report. The folder is replaced whole, atomically; its other files stay as they are. The
    rule set is the one the manifest records, refused when missing or changed unless --rules
    names one.

    Exit codes: 0 every gate passed; 1 a gate failed; 2 usage, config or input error
    (nothing written).
    """
    quiet = quiet or not sys.stderr.isatty()
    registry = runtime().registry

    def with_html(plan: Plan) -> Plan:
        if not html or any(r.name == HTML_REPORTER for r in plan.reporters):
            return plan
        return dataclasses.replace(
            plan, reporters=(*plan.reporters, registry.get("reporters", HTML_REPORTER)())
        )

    state = rebuild_reports(run_dir, registry, rules_path, benchmarks, quiet, adjust=with_html)
    names = ", ".join(r.filename for r in state.plan.reporters)
    click.echo(f"{run_dir}: reports rebuilt ({names}); status {state.status}")
    sys.exit(1 if state.status == "fail" else 0)


def rebuild_reports(
    run_dir: Path,
    registry: Registry,
    rules: Path | None = None,
    benchmarks: Sequence[str] = (),
    quiet: bool = True,
    provides: str = "matches",
    adjust: Callable[[Plan], Plan] | None = None,
) -> RunState:
    """Reload ``run_dir``, re-run the stages that provide ``provides``, write reports and manifest anew.

    ``provides="matches"`` re-runs the gates (``dq report``); ``"token_stats"`` the token count
    (``dq render``). ``adjust`` may return a changed plan first (command-line overrides).
    The new folder is staged beside the old one (its other files hard-linked, or copied where
    links fail) and renamed into place; report files the old manifest lists are not carried over.
    """
    from dq.data.jsonl import write_json
    from dq.data.outdir import MARKER, staged
    from dq.pipeline.manifest import build_manifest
    from dq.pipeline.reload import (
        ROW_INDEX,
        plan_for,
        read_manifest,
        reload_state,
        run_stages,
        stage_files,
        write_reports,
    )

    manifest = read_manifest(run_dir)
    plan = plan_for(run_dir, manifest, registry, rules, benchmarks)
    if adjust is not None:
        plan = adjust(plan)
    state = reload_state(run_dir, plan, manifest, quiet)
    stages = [s for s in plan.stages if provides in s.provides] or _default_stage(registry, provides)
    if provides == "matches":  # gates run first: a refusal below must leave the folder untouched
        run_stages(state, stages)
    else:  # no gate re-runs: the rows are those raw/ holds (rows a drop action removed stay out)
        _keep_held_rows(state, run_dir)
    if [state.require(side)["row_index"].to_list() for side in ("train", "val")] != _held_rows(run_dir):
        raise DqError(
            f"{run_dir}: the gate now drops rows that raw/ holds (a drop action with new matches); dq "
            "report never changes data: make a new version with dq review apply, or rerun dq run"
        )
    by_stages = stage_files(plan)  # reports/ files a stage wrote (not a reporter): carried over
    skip = {
        MARKER,
        "manifest.json",
        *(k for k in manifest["outputs"] if k.startswith("reports/")),
    } - by_stages
    skip |= {path for stage in stages for path in getattr(stage, "writes", ())}  # written anew, not linked
    with staged(run_dir, True, _marker_kind(run_dir / MARKER), carry_foreign=True) as work:
        state.work_dir = work
        _link_tree(run_dir, work, skip)
        if provides != "matches":  # stages that write files (rendered/tokens.json) write them here
            run_stages(state, stages)
        write_reports(state, work)
        state.outputs[ROW_INDEX] = manifest["outputs"][ROW_INDEX]
        state.manifest = build_manifest(state)
        write_json(state.manifest, work / "manifest.json")
    return state


def _held_rows(run_dir: Path) -> list[list[int]]:
    """The input positions of the rows raw/train.jsonl and raw/val.jsonl hold, in order."""
    import polars as pl

    from dq.data.rows import RAW_FIELDS
    from dq.pipeline.reload import INDEX_SCHEMA, ROW_INDEX, read_rows

    index = read_rows(run_dir / ROW_INDEX, INDEX_SCHEMA, ("dropped", *RAW_FIELDS))
    held = index.filter(~pl.col("dropped").fill_null(False))
    return [held.filter(pl.col("split") == side)["row_index"].to_list() for side in ("train", "val")]


def _default_stage(registry: Registry, provides: str) -> list[Any]:
    """A run whose pipeline predates the stage (no dq.tokens) still gets it: the built-in one."""
    builtin = {"token_stats": "dq.tokens"}.get(provides)
    if builtin is None:
        raise DqError(f"the run's pipeline has no stage that provides {provides}")
    return [registry.get("stages", builtin)()]


def _keep_held_rows(state: RunState, run_dir: Path) -> None:
    import polars as pl

    for side, held in zip(("train", "val"), _held_rows(run_dir), strict=True):
        frame = state.require(side)
        setattr(state, side, frame.filter(pl.col("row_index").is_in(held)))


def _marker_kind(path: Path) -> str:
    """The kind the folder's marker names (``run``, ``review``), kept when the folder is rewritten."""
    try:
        kind = json.loads(path.read_text(encoding="utf-8")).get("kind")
    except (OSError, ValueError, AttributeError):
        kind = None
    return kind if isinstance(kind, str) else "run"


def _link_tree(src: Path, dst: Path, skip: set[str]) -> None:
    """Every file under ``src`` but ``skip`` (relative paths) into ``dst``: links, symlinks kept."""
    for root, dirs, files in os.walk(src):
        here = Path(root)
        rel_dir = here.relative_to(src)
        (dst / rel_dir).mkdir(parents=True, exist_ok=True)
        for name in [*dirs, *files]:
            source, rel = here / name, (rel_dir / name).as_posix()
            if rel in skip or (name in dirs and not source.is_symlink()):
                continue
            target = dst / rel
            if source.is_symlink():
                target.symlink_to(os.readlink(source))
                continue
            try:
                os.link(source, target)
            except OSError:
                shutil.copy2(source, target)
