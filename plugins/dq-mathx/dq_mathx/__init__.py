"""dq-mathx: an example dq plugin. The entry point ``mathx = "dq_mathx"`` finds this module."""

from __future__ import annotations

from collections.abc import Callable

from dq import hookimpl


@hookimpl
def dq_register_rules(register: Callable[[type], None]) -> None:
    from dq_mathx.rules import NumericAnswer  # lazy: dq lists rules without importing more

    register(NumericAnswer)
