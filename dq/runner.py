"""``dq run`` without the CLI: load and check the rule set, then execute the pipeline."""

from __future__ import annotations

from pathlib import Path

import pluggy

from dq.components import validate_options
from dq.config import RuleSet, load_rule_set
from dq.engine import bind_rules
from dq.plugins import Registry
from dq.run import RunResult, RunState, execute


def check_config(rule_set: RuleSet, registry: Registry) -> None:
    """Every config error before any data is read: rules, params, stages, options, reporters."""
    bind_rules(rule_set, registry)
    origin = rule_set.source_path
    for name in rule_set.pipeline:
        registry.get("stages", name)
    validate_options(
        registry.get("splitters", rule_set.split.splitter), rule_set.split.options, f"{origin}: split"
    )
    for i, entry in enumerate(rule_set.contamination):
        check = registry.get("contamination_checks", entry.check)
        validate_options(check, entry.options, f"{origin}: contamination[{i}]")
    for name in rule_set.reports:
        registry.get("reporters", name)


def run_pipeline(
    pm: pluggy.PluginManager,
    registry: Registry,
    rules_path: Path,
    input_spec: str | None = None,
    out_dir: Path = Path("dq-out"),
    benchmarks: list[str] | None = None,
    columns: dict[str, str] | None = None,
    contamination_action: str | None = None,
    overwrite: bool = False,
    quiet: bool = True,
) -> tuple[RunResult, RunState]:
    """Run a rule set end to end; config errors surface before any data is read."""
    rule_set = load_rule_set(rules_path)
    if contamination_action:
        for entry in rule_set.contamination:
            entry.action = contamination_action  # type: ignore[assignment]
    check_config(rule_set, registry)
    state = RunState(
        rule_set=rule_set,
        registry=registry,
        pm=pm,
        input_spec=input_spec,
        out_dir=out_dir,
        benchmark_args=benchmarks or [],
        column_map=columns or {},
        quiet=quiet,
        overwrite=overwrite,
    )
    return execute(state), state
