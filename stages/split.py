"""Split stage: hand the accepted rows to the rule set's splitter plugin."""

from __future__ import annotations

from pydantic import ValidationError

from dq.components import Stage
from dq.errors import DqError
from dq.run import RunState
from dq.vector import with_canonical


class SplitStage(Stage):
    """Assign accepted rows to train/val with the configured splitter (default: dq.grouped)."""

    name = "split"

    def run(self, state: RunState) -> None:
        spec = state.rule_set.split
        splitter_cls = state.registry.get("splitters", spec.splitter)
        try:
            options = splitter_cls.Options.model_validate(spec.options)
        except ValidationError as exc:
            first = exc.errors()[0]
            loc = ".".join(str(p) for p in first["loc"])
            raise DqError(f"{state.rule_set.source_path}: split.{loc}: {first['msg']}") from None
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
