"""dq: data quality and benchmark contamination for LLM fine-tuning datasets.

The public API for plugin authors: the hook markers, the rule base classes and the other
component bases. Importing dq has no side effects; the plugin manager is built by
:func:`dq.plugins.make_plugin_manager`.
"""

from dq.components import ContaminationCheck, Reporter, SplitResult, Splitter, Stage
from dq.hookspecs import hookimpl, hookspec
from dq.rule import RowRule, RuleContext, RuleParams

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
