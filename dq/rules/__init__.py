"""Built-in rules, registered through the public ``dq_register_rules`` hook like any plugin's."""

from __future__ import annotations

from collections.abc import Callable

from dq.api.hookspecs import hookimpl


@hookimpl
def dq_register_rules(register: Callable[[type], None]) -> None:
    from dq.rules.answer import BoxedMismatch, MissingBox
    from dq.rules.text import ColumnIn, Phrases, Regexes, SqlPredicate

    for rule in (ColumnIn, MissingBox, BoxedMismatch, Phrases, Regexes, SqlPredicate):
        register(rule)
