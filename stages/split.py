"""Split stage: hand the accepted rows to the rule set's splitter plugin."""

from __future__ import annotations

from dq.components import Stage, validate_options
from dq.run import RunState
from dq.vector import with_canonical


class SplitStage(Stage):
    """Assign accepted rows to train/val with the configured splitter (default: dq.grouped)."""

    name = "split"

    def run(self, state: RunState) -> None:
        spec = state.rule_set.split
        splitter_cls = state.registry.get("splitters", spec.splitter)
        options = validate_options(splitter_cls, spec.options, f"{state.rule_set.source_path}: split")
        accepted = with_canonical(state.require("accepted"))
        state.accepted = accepted
        result = splitter_cls(options).split(accepted, state)
        state.split = result
        state.train = accepted[result.train]
        state.val = accepted[result.val]
        state.log(
            f"split: train {len(result.train)} rows / {result.train_groups} groups, "
            f"val {len(result.val)} rows / {result.val_groups} groups"
        )
