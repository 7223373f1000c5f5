"""Split stage: hand the accepted rows to the rule set's splitter plugin."""

from __future__ import annotations

from dq.api.run import RunState, Stage
from dq.text.vector import with_canonical


class SplitStage(Stage):
    """Assign accepted rows to train/val with the configured splitter (default: dq.grouped)."""

    name = "dq.split"
    needs = ("accepted",)
    provides = ("split", "train", "val")

    def run(self, state: RunState) -> None:
        accepted = with_canonical(state.require("accepted"))
        state.accepted = accepted
        result = state.plan.splitter.split(accepted, state)
        state.split = result
        state.train = accepted[result.train]
        state.val = accepted[result.val]
        state.log(
            f"split: train {len(result.train)} rows / {result.train_groups} groups, "
            f"val {len(result.val)} rows / {result.val_groups} groups"
        )
