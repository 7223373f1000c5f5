"""dq: data quality and benchmark contamination for LLM fine-tuning datasets.

The public API for plugin authors is :mod:`dq.api` (hook markers, component base classes, the
data they exchange); the most used names are re-exported here. Importing dq has no side effects:
the plugin manager is built by :func:`dq.plugins.make_plugin_manager`.
"""

from dq.api import (
    ContaminationCheck,
    Reporter,
    RowRule,
    RuleContext,
    RuleParams,
    SplitResult,
    Splitter,
    Stage,
    hookimpl,
    hookspec,
)

__all__ = [
    "ContaminationCheck",
    "Reporter",
    "RowRule",
    "RuleContext",
    "RuleParams",
    "SplitResult",
    "Splitter",
    "Stage",
    "hookimpl",
    "hookspec",
]
