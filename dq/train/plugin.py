"""Registers the built-in training backends through the public ``dq_register_train_backends`` hook."""

from __future__ import annotations

from collections.abc import Callable

from dq.api.hookspecs import hookimpl


@hookimpl
def dq_register_train_backends(register: Callable[[type], None]) -> None:
    """``dq.local`` (transformers + peft, offline) and ``dq.tinker`` (the Tinker service)."""
    from dq.train.local_backend import LocalBackend
    from dq.train.tinker_backend import TinkerBackend

    register(LocalBackend)
    register(TinkerBackend)
