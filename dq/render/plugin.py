"""Registers the built-in renderers through the public ``dq_register_renderers`` hook."""

from __future__ import annotations

from collections.abc import Callable

from dq.api.hookspecs import hookimpl


@hookimpl
def dq_register_renderers(register: Callable[[type], None]) -> None:
    """``dq.qwen3_thinking_off`` (the study's contract, fast) and ``dq.chat_template`` (any template)."""
    from dq.render.renderers import ChatTemplateRenderer, Qwen3ThinkingOffRenderer

    register(Qwen3ThinkingOffRenderer)
    register(ChatTemplateRenderer)
