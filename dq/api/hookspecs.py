"""Hook specifications for dq plugins. Every hook is documented in docs/plugin_hooks.md.

Contribution hooks take a ``register`` callback; dq calls each plugin's implementation on its own
so it knows which plugin registered what (and can name both plugins of a duplicate).
Arguments are only ever added to a hook, never removed or renamed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    import click

    from dq.api.run import RunResult, RunState

hookspec = pluggy.HookspecMarker("dq")
hookimpl = pluggy.HookimplMarker("dq")


@hookspec
def dq_register_rules(register: Callable[[type], None]) -> None:
    """Register rule classes (subclasses of :class:`dq.RowRule`).

    :param register: call ``register(RuleClass)`` once per rule; import rule modules inside the hook.
    """


@hookspec
def dq_register_stages(register: Callable[[type], None]) -> None:
    """Register pipeline stage classes (subclasses of :class:`dq.Stage`), named in ``pipeline``.

    :param register: call ``register(StageClass)`` once per stage.
    """


@hookspec
def dq_register_splitters(register: Callable[[type], None]) -> None:
    """Register train/val splitters (subclasses of :class:`dq.Splitter`), named in ``[split]``.

    :param register: call ``register(SplitterClass)`` once per splitter.
    """


@hookspec
def dq_register_contamination_checks(register: Callable[[type], None]) -> None:
    """Register contamination checks (subclasses of :class:`dq.ContaminationCheck`).

    :param register: call ``register(CheckClass)`` once per check; rule sets name it in
        ``[[contamination]] check = "..."``.
    """


@hookspec
def dq_register_reporters(register: Callable[[type], None]) -> None:
    """Register report writers (subclasses of :class:`dq.Reporter`), named in ``[reports]``.

    :param register: call ``register(ReporterClass)`` once per reporter.
    """


@hookspec
def dq_register_renderers(register: Callable[[type], None]) -> None:
    """Register chat renderers (subclasses of :class:`dq.api.render.Renderer`), named in ``[render]``.

    :param register: call ``register(RendererClass)`` once per renderer.
    """


@hookspec
def dq_register_train_backends(register: Callable[[type], None]) -> None:
    """Register LoRA training backends (subclasses of :class:`dq.api.train.TrainBackend`).

    :param register: call ``register(BackendClass)`` once per backend; ``dq train --backend`` names it.
    """


@hookspec
def dq_register_evaluators(register: Callable[[type], None]) -> None:
    """Register evaluators (subclasses of :class:`dq.api.evaluate.Evaluator`), named by ``dq eval``.

    :param register: call ``register(EvaluatorClass)`` once per evaluator.
    """


@hookspec
def dq_register_commands(cli: click.Group) -> None:
    """Add commands or groups to the ``dq`` CLI.

    :param cli: the root click group; call ``cli.add_command(...)`` or decorate with ``@cli.command``.
    """


@hookspec
def dq_before_run(run: RunState) -> None:
    """Called once after the rule set is loaded and validated, before any stage executes.

    :param run: the run state (rule set, registry, options); plugins may read it or add notes.
    """


@hookspec
def dq_after_run(run: RunState, result: RunResult) -> Any:
    """Called once after every stage finished, including when a gate failed; must not raise.

    :param run: the run state, with all tables and gate results.
    :param result: status, exit code and the paths written.
    """
