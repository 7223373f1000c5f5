"""The plugin contract: hook markers and specs, component base classes, and the data they exchange.

Nothing here imports dq's engine (``dq.pipeline``, ``dq.data``, ``dq.cli``...): a plugin written
against this package works whatever the engine does inside. ``tests/test_architecture.py``
checks it on every run.
"""

from dq.api.documented import Documented
from dq.api.hookspecs import hookimpl, hookspec
from dq.api.rule import RowRule, RuleContext, RuleParams
from dq.api.run import (
    BoundCheck,
    BoundRule,
    ContaminationCheck,
    GateVerdict,
    Options,
    Plan,
    Reporter,
    RunResult,
    RunState,
    SplitResult,
    Splitter,
    Stage,
)

__all__ = [
    "BoundCheck",
    "BoundRule",
    "ContaminationCheck",
    "Documented",
    "GateVerdict",
    "Options",
    "Plan",
    "Reporter",
    "RowRule",
    "RuleContext",
    "RuleParams",
    "RunResult",
    "RunState",
    "SplitResult",
    "Splitter",
    "Stage",
    "hookimpl",
    "hookspec",
]
