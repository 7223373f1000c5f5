"""Execute a plan: every stage in order over one run state; outputs land only when all succeed."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pluggy

from dq.api.run import RunResult, RunState, StageInputMissing
from dq.data.benchmarks import check_hub
from dq.data.outdir import check_target, staged
from dq.errors import EXIT_GATE_FAILED, EXIT_OK, DqError
from dq.pipeline.plan import RunOptions, build_plan
from dq.pipeline.resume import Checkpoints, ResumePolicy
from dq.pipeline.rowstore import RowStore
from dq.plugins import Registry


def run_pipeline(
    pm: pluggy.PluginManager,
    registry: Registry,
    rules_path: Path,
    options: RunOptions | None = None,
    out_dir: Path = Path("dq-out"),
    overwrite: bool = False,
    quiet: bool = True,
    resume: ResumePolicy | None = None,
) -> tuple[RunResult, RunState]:
    """Run a rule set end to end; every config error surfaces (from the plan) before any data is read.

    With ``resume``, completed stages are checkpointed and a rerun of the same configuration
    reuses them (see :mod:`dq.pipeline.resume`); without it nothing is read or written there.
    """
    plan = build_plan(rules_path, registry, options)
    if any("matches" in stage.provides for stage in plan.stages):  # a stage that gates needs them
        check_hub(plan.benchmarks)  # an unreachable Hub fails now, not after load/curate/split
    state = RunState(plan=plan, out_dir=out_dir, quiet=quiet, overwrite=overwrite)
    checkpoints = None
    if resume is not None:
        check_target(out_dir, overwrite, plan.files_read)  # refused now, before inputs are hashed
        checkpoints = Checkpoints.open(state, options or RunOptions(), resume)
    with engine_for(options, quiet):
        return execute(state, pm, checkpoints), state


@contextmanager
def engine_for(options: RunOptions | None, quiet: bool = True) -> Iterator[None]:
    """Run the block on the options' engine: the local one, or a Ray session (closed after).

    ``quiet`` (``--quiet`` or a piped stderr) leaves only Ray's errors on stderr.
    """
    from dq.engine import using

    if options is None or options.engine == "local":
        yield
        return
    from dq.engine.ray_engine import RayOptions, ray_engine

    with ray_engine(RayOptions(address=options.address, quiet=quiet)) as engine, using(engine):
        yield


def execute(state: RunState, pm: pluggy.PluginManager, checkpoints: Checkpoints | None = None) -> RunResult:
    """Run every stage of the plan into a temp folder; it becomes ``out_dir`` only when all succeed.

    With ``checkpoints``, the stages they cover are restored instead of run, and each stage that
    runs is checkpointed; they are removed once the outputs are in place.
    """
    try:
        with staged(state.out_dir, state.overwrite, "run", state.plan.files_read) as work:
            state.work_dir = work
            try:
                run_stages(state, pm, checkpoints)
            finally:
                store = state.row_store
                # A streamed run's spill, never an output; one that went with a checkpoint stays
                # for the rerun (removed with the checkpoints once the outputs are in place).
                if isinstance(store, RowStore) and not (checkpoints and checkpoints.holds(store.folder)):
                    store.remove()
                if checkpoints is not None:
                    checkpoints.tidy()
    except (KeyboardInterrupt, SystemExit):  # Ctrl-C, SIGTERM; an error's one line stays alone
        if checkpoints is not None:
            checkpoints.abandoned()
        raise
    if checkpoints is not None:
        checkpoints.finished()
    code = EXIT_GATE_FAILED if state.status == "fail" else EXIT_OK
    result = RunResult(state.status, code, state.out_dir, state.outputs)
    try:
        pm.hook.dq_after_run(run=state, result=result)
    except Exception as exc:  # noqa: BLE001 - after_run must not break a finished run
        state.log(f"warning: a dq_after_run hook raised {type(exc).__name__}: {exc}")
    return result


def run_stages(state: RunState, pm: pluggy.PluginManager, checkpoints: Checkpoints | None) -> None:
    """The before-run hook, then each stage in order (restored from its checkpoint where valid)."""
    stages = state.plan.stages
    try:
        pm.hook.dq_before_run(run=state)
        restored = checkpoints.restore(state) if checkpoints is not None else 0
        for done, stage in enumerate(stages):
            state.progress(done, len(stages), stage.name)
            if done < restored:
                continue
            before = checkpoints.snapshot(state) if checkpoints is not None else None
            state.spill_dir = checkpoints.rows_folder(done, state) if checkpoints is not None else None
            start = time.perf_counter()
            stage.run(state)
            state.timings[stage.name] = round(time.perf_counter() - start, 3)
            if checkpoints is not None and before is not None:
                checkpoints.save(done, state, before)
        state.progress(len(stages), len(stages), "done")
    except StageInputMissing as exc:
        raise DqError(str(exc)) from None
