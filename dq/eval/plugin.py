"""Registers the built-in evaluators through the public ``dq_register_evaluators`` hook."""

from __future__ import annotations

from collections.abc import Callable

from dq.api.hookspecs import hookimpl


@hookimpl
def dq_register_evaluators(register: Callable[[type], None]) -> None:
    from dq.eval.evaluators import Gsm8kEvaluator, Math500Evaluator

    register(Gsm8kEvaluator)
    register(Math500Evaluator)
