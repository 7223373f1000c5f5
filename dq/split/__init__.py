"""Train/val splitters: the study's grouped split (``dq.grouped``), registered as a plugin."""

from __future__ import annotations

from collections.abc import Callable

from dq.api.hookspecs import hookimpl


@hookimpl
def dq_register_splitters(register: Callable[[type], None]) -> None:
    from dq.split.grouped import GroupedSplitter

    register(GroupedSplitter)
