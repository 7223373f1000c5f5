"""Count the four renders of every row in bounded chunks (ids are counted, never kept)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from dq.tokens.stats import SplitTokens

#: A column of strings: a list, or a Polars Series (sliced per chunk, never copied whole).
Column = Any

#: Rows counted per call: large enough for the Rust batch encoders, small enough that one chunk's
#: texts and transient ids never add up to much.
CHUNK_ROWS = 8192


def rows_of(column: Column, start: int, stop: int) -> list[str]:
    """``column[start:stop]`` as a list (a Polars Series or any sequence of strings)."""
    part = column[start:stop]
    return part.to_list() if hasattr(part, "to_list") else list(part)


def count_split(
    renderer: Any,
    system: str,
    prompts: Column,
    answers: Column,
    on_chunk: Callable[[int], None] | None = None,
) -> SplitTokens:
    """Full and prompt token counts of (system, user, assistant) rows, with and without the system turn.

    ``prompts`` and ``answers`` are columns (lists or Polars Series). The renderer raises
    :class:`~dq.api.render.RenderMismatch` naming the row when a prompt render is not a prefix of
    the full render; the chunk offset is added so the row number is the split's.
    """
    full_with: list[int] = []
    full_without: list[int] = []
    prompt_with: list[int] = []
    prompt_without: list[int] = []
    for start in range(0, len(prompts), CHUNK_ROWS):
        chunk_prompts = rows_of(prompts, start, start + CHUNK_ROWS)
        chunk_answers = rows_of(answers, start, start + CHUNK_ROWS)
        with_sys = _counts(renderer, system, chunk_prompts, chunk_answers, start)
        no_sys = _counts(renderer, None, chunk_prompts, chunk_answers, start)
        full_with += with_sys.full_lens
        prompt_with += with_sys.prompt_lens
        full_without += no_sys.full_lens
        prompt_without += no_sys.prompt_lens
        if on_chunk is not None:
            on_chunk(len(chunk_prompts))
    return SplitTokens(full_with, full_without, prompt_with, prompt_without)


def _counts(renderer: Any, system: str | None, prompts: list[str], answers: list[str], offset: int) -> Any:
    try:
        return renderer.token_counts_columns(system, prompts, answers)
    except Exception as exc:
        row = getattr(exc, "row", None)
        if isinstance(row, int):
            exc.row = row + offset  # type: ignore[attr-defined]
        raise
