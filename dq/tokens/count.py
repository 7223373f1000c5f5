"""Count the four renders of every row in bounded chunks (ids are counted, never kept)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from itertools import islice
from typing import Any

from dq.tokens.stats import SplitTokens

Conversation = list[dict[str, str]]

#: Rows rendered per call: large enough for the Rust batch encoder, small enough that the ids of
#: one chunk (about 1.5 MB of ints per 1,000 rows) never add up to much.
CHUNK_ROWS = 4096


def _chunks(conversations: Iterable[Conversation], size: int) -> Iterator[list[Conversation]]:
    it = iter(conversations)
    while chunk := list(islice(it, size)):
        yield chunk


def without_system(conversation: Conversation) -> Conversation:
    """The same conversation with its system messages dropped (the template adds no default one)."""
    return [m for m in conversation if m.get("role") != "system"]


def count_split(
    renderer: Any,
    conversations: Iterable[Conversation],
    on_chunk: Callable[[int], None] | None = None,
) -> SplitTokens:
    """Full and prompt token counts per row, with and without the system prompt.

    ``renderer.token_counts`` raises :class:`~dq.api.render.RenderMismatch` naming the row when a
    prompt render is not a prefix of the full render; the chunk offset is added so the row number
    is the split's.
    """
    full_with: list[int] = []
    full_without: list[int] = []
    prompt_with: list[int] = []
    prompt_without: list[int] = []
    for chunk in _chunks(conversations, CHUNK_ROWS):
        offset = len(full_with)
        with_sys = _counts(renderer, chunk, offset)
        no_sys = _counts(renderer, [without_system(c) for c in chunk], offset)
        full_with += with_sys.full_lens
        prompt_with += with_sys.prompt_lens
        full_without += no_sys.full_lens
        prompt_without += no_sys.prompt_lens
        if on_chunk is not None:
            on_chunk(len(chunk))
    return SplitTokens(full_with, full_without, prompt_with, prompt_without)


def _counts(renderer: Any, chunk: Sequence[Conversation], offset: int) -> Any:
    try:
        return renderer.token_counts(chunk)
    except Exception as exc:
        row = getattr(exc, "row", None)
        if isinstance(row, int):
            exc.row = row + offset  # type: ignore[attr-defined]
        raise
