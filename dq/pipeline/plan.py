"""Build a run's plan once: load the rule set, bind every component, check everything, report all.

Every command that reads a rule set (``validate``, ``run``, ``scan``, ``calibrate``) calls
:func:`build_plan`, so whatever ``dq run`` would reject for a configuration reason,
``dq validate`` rejects too, with the same lines, before any data is read.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from dq.api.run import BoundCheck, Plan
from dq.api.schema import MATCH_KINDS, BenchmarkSpec, RuleSet
from dq.data.benchmarks import (
    DEMO_BENCHMARK,
    DEMO_SOURCE,
    KNOWN,
    demo_benchmark_spec,
    parse_benchmark_arg,
    resolve_benchmark,
    unknown_benchmark_message,
)
from dq.data.fields import ROW_COLUMNS
from dq.errors import DqError, did_you_mean, validation_lines
from dq.pipeline.problems import Problems
from dq.pipeline.rule_binding import bind_rules
from dq.pipeline.ruleset import load_rule_set
from dq.plugins import Registry


@dataclass
class RunOptions:
    """What the command line adds to a rule set."""

    input_spec: str | None = None
    benchmarks: list[str] = field(default_factory=list)
    columns: dict[str, str] = field(default_factory=dict)
    contamination_action: str | None = None
    #: Where the row-level and near-duplicate steps run: "local" (this process) or "ray".
    engine: str = "local"
    #: A Ray cluster address for ``engine="ray"`` (default: a local session on loopback).
    address: str | None = None
    #: ``--memory``: bytes the run may hold (None: half the machine's memory).
    memory: int | None = None


def build_plan(rules_path: str | Path, registry: Registry, options: RunOptions | None = None) -> Plan:
    """The validated plan of ``rules_path`` with the command line's ``options``; all problems at once."""
    options = options or RunOptions()
    rule_set = load_rule_set(rules_path)
    if options.contamination_action:
        for entry in rule_set.contamination:
            entry.action = options.contamination_action  # type: ignore[assignment]
            entry.kind_actions = {}  # "override every check's action" includes its kinds' actions
    problems = Problems(rule_set.source_path)
    rules = bind_rules(rule_set, registry, problems)
    stages = _stages(rule_set, registry, problems)
    splitter = _component(
        registry, "splitters", rule_set.split.splitter, rule_set.split.options, "split", problems
    )
    input_spec = options.input_spec or rule_set.input.path
    benchmarks = _benchmarks(rule_set, options, input_spec is None, problems)
    declared = [b.name for b in rule_set.benchmarks] + [parse_name(a) for a in options.benchmarks]
    checks = _checks(rule_set, registry, benchmarks, declared, problems)
    _gates_have_a_stage(rule_set, stages, problems)
    reporters = [
        _component(registry, "reporters", n, None, f"reports[{i}]", problems)
        for i, n in enumerate(rule_set.reports)
    ]
    columns = _columns(rule_set, options, problems)
    renderer_class = registry.find("renderers", rule_set.render.renderer)
    if renderer_class is None:
        problems.add("render.renderer", registry.unknown("renderers", rule_set.render.renderer))
    _train_and_eval_names(rule_set, stages, registry, problems)
    problems.raise_if_any()
    return Plan(
        rule_set=rule_set,
        rules=tuple(rules),
        stages=tuple(stages),
        splitter=splitter,
        checks=tuple(checks),
        reporters=tuple(reporters),
        benchmarks=benchmarks,
        input_spec=input_spec,
        columns=columns,
        strict_columns=frozenset(options.columns),
        renderer_class=renderer_class,
        memory=options.memory,
    )


def _train_and_eval_names(
    rule_set: RuleSet, stages: list[Any], registry: Registry, problems: Problems
) -> None:
    """``[train]`` and ``[eval]`` name components too: unknown ones are found now, with the rest."""
    provided = {name for stage in stages if stage is not None for name in stage.provides}
    if "adapters" in provided:
        train = rule_set.train
        if not train.model:
            problems.add("train.model", "a base model is required when the pipeline trains")
        if registry.find("train_backends", train.backend) is None:
            problems.add("train.backend", registry.unknown("train_backends", train.backend))
        if train.renderer and registry.find("renderers", train.renderer) is None:
            problems.add("train.renderer", registry.unknown("renderers", train.renderer))
    if "evaluations" in provided and registry.find("evaluators", rule_set.eval.evaluator) is None:
        problems.add("eval.evaluator", registry.unknown("evaluators", rule_set.eval.evaluator))


def _gates_have_a_stage(rule_set: RuleSet, stages: list[Any], problems: Problems) -> None:
    """Configured gates must run: a pipeline without a stage that provides matches skips them all."""
    if rule_set.contamination and stages and not any("matches" in s.provides for s in stages):
        problems.add(
            "pipeline",
            "contamination checks are configured but no stage runs them (add dq.gate after dq.split); "
            "a gate that never runs must not pass",
        )


def _component(
    registry: Registry, kind: str, name: str, options: dict[str, Any] | None, where: str, problems: Problems
) -> Any:
    """An instance of a registered component, its options validated (None when invalid)."""
    cls = registry.find(kind, name)
    if cls is None:
        problems.add(where, registry.unknown(kind, name))
        return None
    if options is None:
        return cls()
    try:
        return cls(cls.Options.model_validate(options))
    except ValidationError as exc:
        problems.extend(validation_lines(problems.origin, where, exc, lambda loc: cls.Options.model_fields))
        return None


def _stages(rule_set: RuleSet, registry: Registry, problems: Problems) -> list[Any]:
    """Stage instances in pipeline order; each stage's needs must be provided by an earlier one."""
    stages, provided = [], {"work_dir", "out_dir"}
    known = True  # after an unknown stage, what is provided is unknown: no "needs" errors then
    for i, name in enumerate(rule_set.pipeline):
        stage = _component(registry, "stages", name, None, f"pipeline[{i}]", problems)
        if stage is None:
            known = False
            continue
        missing = [n for n in stage.needs if n not in provided]
        if missing and known:
            problems.add(
                f"pipeline[{i}]",
                f"stage '{name}' needs {', '.join(missing)}, which no earlier stage provides "
                f"(pipeline: {', '.join(rule_set.pipeline)})",
            )
        provided.update(stage.provides)
        stages.append(stage)
    return stages


def _benchmarks(
    rule_set: RuleSet, options: RunOptions, demo: bool, problems: Problems
) -> dict[str, BenchmarkSpec]:
    """Benchmarks by name: the rule set's, replaced or extended by ``--benchmark``, each resolved."""
    if demo and not options.benchmarks:
        # The demo gates against its own offline benchmark; declared names are still checked.
        for i, declared in enumerate(rule_set.benchmarks):
            if not declared.path and not declared.hf and declared.name not in KNOWN:
                problems.add(f"benchmarks[{i}]", unknown_benchmark_message(declared.name))
        spec = demo_benchmark_spec()
        return {spec.name: spec}
    replaced: dict[str, BenchmarkSpec] = {}
    for arg in options.benchmarks:
        try:
            spec = resolve_benchmark(parse_benchmark_arg(arg))
        except DqError as exc:
            problems.lines.append(exc.message)
            continue
        if spec.name in replaced:  # two files called test.jsonl: one would silently vanish
            problems.lines.append(
                f"--benchmark {arg}: a second benchmark named '{spec.name}'; name each: --benchmark NAME=PATH"
            )
        replaced[spec.name] = spec
    specs: dict[str, BenchmarkSpec] = {}
    for i, declared in enumerate(rule_set.benchmarks):
        if declared.name in specs:
            problems.add(f"benchmarks[{i}].name", f"a second benchmark named '{declared.name}'")
        if declared.name in replaced:
            continue  # --benchmark NAME=... replaces the rule set's benchmark of that name
        try:
            specs[declared.name] = resolve_benchmark(declared)
        except DqError as exc:
            problems.add(f"benchmarks[{i}]", exc.message)
    for name, spec in {**specs, **replaced}.items():
        if spec.path and spec.path != DEMO_SOURCE and not Path(spec.path).is_file():
            problems.lines.append(f"{spec.path}: benchmark file not found (benchmark '{name}')")
    return {**specs, **replaced}


def _checks(
    rule_set: RuleSet,
    registry: Registry,
    benchmarks: dict[str, BenchmarkSpec],
    declared: list[str],
    problems: Problems,
) -> list[BoundCheck]:
    """Each check bound with its options; its ``benchmarks`` filter must name declared benchmarks.

    The demo gates against its own benchmark whatever the filter says (names are still checked).
    """
    checks = []
    if rule_set.contamination and not benchmarks and not rule_set.benchmarks and not problems.lines:
        problems.add(
            "contamination",
            "contamination checks are configured but there is no benchmark to compare against "
            "(a check that runs on nothing must not pass): declare [[benchmarks]] or pass --benchmark",
        )
    for i, entry in enumerate(rule_set.contamination):
        where = f"contamination[{i}]"
        check = _component(registry, "contamination_checks", entry.check, entry.options, where, problems)
        if check is None:
            continue
        demo = list(benchmarks) == [DEMO_BENCHMARK]
        known = sorted(set(declared)) if demo else list(benchmarks)
        named = list(getattr(check.options, "benchmarks", None) or [])
        for name in named:
            if name not in known:
                problems.add(
                    f"{where}.benchmarks",
                    f"unknown benchmark '{name}'{did_you_mean(name, known)}; "
                    f"benchmarks of this run: {', '.join(known) or 'none'}",
                )
        wanted = list(benchmarks) if demo or not named else [n for n in named if n in benchmarks]
        for kind in entry.kind_actions:
            if kind not in MATCH_KINDS:
                problems.add(
                    f"{where}.kind_actions.{kind}",
                    f"unknown match kind{did_you_mean(kind, MATCH_KINDS)}; kinds: {', '.join(MATCH_KINDS)}",
                )
        method = getattr(type(check), "method", entry.check)
        checks.append(
            BoundCheck(i, entry.check, entry.action, method, check, tuple(wanted), dict(entry.kind_actions))
        )
    return checks


def parse_name(arg: str) -> str:
    """The benchmark name a ``--benchmark`` argument gives (whatever else is wrong with it)."""
    try:
        return parse_benchmark_arg(arg).name
    except DqError:
        return arg.partition("=")[0]


def _columns(rule_set: RuleSet, options: RunOptions, problems: Problems) -> dict[str, str]:
    """The column map: the rule set's ``[input] columns`` updated by ``--column``; keys are dq fields."""
    for key in rule_set.input.columns:
        if key not in ROW_COLUMNS:
            problems.add(f"input.columns.{key}", _not_a_field(key))
    for key, name in options.columns.items():
        if key not in ROW_COLUMNS:
            problems.lines.append(f"--column {key}={name}: {_not_a_field(key)}")
    return {**rule_set.input.columns, **options.columns}


def _not_a_field(key: str) -> str:
    return f"'{key}' is not a dq field{did_you_mean(key, ROW_COLUMNS)}; fields: {', '.join(ROW_COLUMNS)}"
