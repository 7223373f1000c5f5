"""Execute a plan: every stage in order over one run state; outputs land only when all succeed."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pluggy

from dq.api.run import RunResult, RunState, StageInputMissing
from dq.data.benchmarks import check_hub
from dq.data.outdir import staged
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
    if any("matches" in stage.provides for stage in plan.stages):  # a stage that gates needs them
        check_hub(plan.benchmarks)  # an unreachable Hub fails now, not after load/curate/split
    state = RunState(plan=plan, out_dir=out_dir, quiet=quiet, overwrite=overwrite)
    with engine_for(options):
        return execute(state, pm), state


@contextmanager
def engine_for(options: RunOptions | None) -> Iterator[None]:
    """Run the block on the options' engine: the local one, or a Ray session (closed after)."""
    from dq.engine import using

    if options is None or options.engine == "local":
        yield
        return
    from dq.engine.ray_engine import RayOptions, ray_engine

    with ray_engine(RayOptions(address=options.address)) as engine, using(engine):
        yield


def execute(state: RunState, pm: pluggy.PluginManager) -> RunResult:
    """Run every stage of the plan into a temp folder; it becomes ``out_dir`` only when all succeed."""
    stages = state.plan.stages
    with staged(state.out_dir, state.overwrite, "run", state.plan.files_read) as work:
        state.work_dir = work
        try:
            pm.hook.dq_before_run(run=state)
            for done, stage in enumerate(stages):
                state.progress(done, len(stages), stage.name)
                start = time.perf_counter()
                stage.run(state)
                state.timings[stage.name] = round(time.perf_counter() - start, 3)
            state.progress(len(stages), len(stages), "done")
        except StageInputMissing as exc:
            raise DqError(str(exc)) from None
    code = EXIT_GATE_FAILED if state.status == "fail" else EXIT_OK
    result = RunResult(state.status, code, state.out_dir, state.outputs)
    try:
        pm.hook.dq_after_run(run=state, result=result)
    except Exception as exc:  # noqa: BLE001 - after_run must not break a finished run
        state.log(f"warning: a dq_after_run hook raised {type(exc).__name__}: {exc}")
    return result
