"""Execute a plan: every stage in order over one run state; outputs land only when all succeed."""

from __future__ import annotations

import shutil
import tempfile
import time
from pathlib import Path

import pluggy

from dq.api.state import RunResult, RunState, StageInputMissing
from dq.errors import EXIT_GATE_FAILED, EXIT_OK, DqError
from dq.pipeline.plan import RunOptions, build_plan
from dq.plugins import Registry


def run_pipeline(
    pm: pluggy.PluginManager,
    registry: Registry,
    rules_path: Path,
    options: RunOptions | None = None,
    out_dir: Path = Path("dq-out"),
    overwrite: bool = False,
    quiet: bool = True,
) -> tuple[RunResult, RunState]:
    """Run a rule set end to end; every config error surfaces (from the plan) before any data is read."""
    plan = build_plan(rules_path, registry, options)
    state = RunState(plan=plan, out_dir=out_dir, quiet=quiet, overwrite=overwrite)
    return execute(state, pm), state


def execute(state: RunState, pm: pluggy.PluginManager) -> RunResult:
    """Run every stage of the plan; outputs land in ``out_dir`` only at the end."""
    if state.out_dir.exists() and not state.overwrite and any(state.out_dir.iterdir()):
        raise DqError(f"{state.out_dir}: output folder exists and is not empty; pass --overwrite")
    state.out_dir.parent.mkdir(parents=True, exist_ok=True)
    state.work_dir = Path(tempfile.mkdtemp(prefix=f".{state.out_dir.name}.tmp-", dir=state.out_dir.parent))
    stages = state.plan.stages
    try:
        pm.hook.dq_before_run(run=state)
        for done, stage in enumerate(stages):
            state.progress(done, len(stages), stage.name)
            start = time.perf_counter()
            stage.run(state)
            state.timings[stage.name] = round(time.perf_counter() - start, 3)
        state.progress(len(stages), len(stages), "done")
        _replace_dir(state.work_dir, state.out_dir)
    except StageInputMissing as exc:
        raise DqError(str(exc)) from None
    finally:
        if state.work_dir.exists():
            shutil.rmtree(state.work_dir, ignore_errors=True)
    code = EXIT_GATE_FAILED if state.status == "fail" else EXIT_OK
    result = RunResult(state.status, code, state.out_dir, state.outputs)
    try:
        pm.hook.dq_after_run(run=state, result=result)
    except Exception as exc:  # noqa: BLE001 - after_run must not break a finished run
        state.log(f"warning: a dq_after_run hook raised {type(exc).__name__}: {exc}")
    return result


def _replace_dir(new: Path, target: Path) -> None:
    """Move the finished work folder into place; an old output folder goes only after that."""
    old = None
    if target.exists():
        old = target.with_name(f".{target.name}.old-{new.name}")
        target.rename(old)
    new.rename(target)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
