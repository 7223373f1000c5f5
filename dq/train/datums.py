"""Training datums from rendered token ids (SEED_CONTRACTS §6.2), and the renderer adapter.

A datum is the cookbook's one-token shift of a full render: ``input = tokens[:-1]``,
``targets = tokens[1:]``, ``weights = w[1:]`` where ``w`` is 0 on the prompt (system, user and
the generation header, empty think block included) and 1 on the answer, ``<|im_end|>`` and the
trailing newline. Pure Python: backends convert datums to their own types.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from dq.api.train import Datum

__all__ = ["Datum", "Rendered", "bind_renderer", "build_datum", "build_datums", "render_rows", "weight_sum"]


def build_datum(full_ids: Sequence[int], prompt_len: int) -> Datum:
    """The datum of one rendered row; raises ``ValueError`` when no answer token is left to train."""
    tokens = [int(t) for t in full_ids]
    if prompt_len < 1 or prompt_len >= len(tokens):
        raise ValueError(f"prompt_len {prompt_len} leaves no answer tokens in a {len(tokens)}-token render")
    weights = [0.0] * prompt_len + [1.0] * (len(tokens) - prompt_len)
    return Datum(input_tokens=tokens[:-1], target_tokens=tokens[1:], weights=weights[1:])


def build_datums(full_ids: Sequence[Sequence[int]], prompt_lens: Sequence[int]) -> list[Datum]:
    """:func:`build_datum` over a rendered batch."""
    if len(full_ids) != len(prompt_lens):
        raise ValueError(f"{len(full_ids)} renders but {len(prompt_lens)} prompt lengths")
    return [build_datum(ids, n) for ids, n in zip(full_ids, prompt_lens, strict=True)]


def check_prompt_prefix(full_ids: Sequence[int], prompt_ids: Sequence[int]) -> None:
    """Raise ``ValueError`` unless the prompt render is an exact prefix of the full render.

    The loss mask assumes it; the study never checked (§6.2).
    """
    if list(full_ids[: len(prompt_ids)]) != list(prompt_ids):
        raise ValueError("the prompt render is not a prefix of the full render: the loss mask would be wrong")


def weight_sum(weights: Any) -> float:
    """Sum of loss weights given as a list, a tensor/array (``.sum()``) or Tinker ``TensorData``.

    ``TensorData`` has ``.data`` (a list) but no ``.sum`` (MISTAKE-20260506-001); a torch tensor
    has both, so ``.sum`` is tried first.
    """
    summer = getattr(weights, "sum", None)
    if callable(summer):
        return float(summer())
    data = getattr(weights, "data", None)
    if data is not None and not callable(data):
        return float(sum(data))
    return float(sum(weights))


@dataclass(frozen=True)
class Rendered:
    """A rendered batch: full token ids and the prompt length of each row."""

    full_ids: list[list[int]]
    prompt_lens: list[int]


def bind_renderer(renderer_cls: type[Any], tokenizer_name: str, tokenizer: Any = None) -> Any:
    """An instance of a registered renderer class; with ``tokenizer``, it renders with that object.

    Training renders with the backend's tokenizer (the study took it from the training client);
    ``dq.local`` loads it offline with the model, so the renderer must not look it up by name.
    """
    if tokenizer is None:
        return renderer_cls(tokenizer_name)

    class Bound(renderer_cls):  # type: ignore[misc, valid-type]
        def load_tokenizer(self, name: str) -> Any:
            return tokenizer

    Bound.__name__ = Bound.__qualname__ = renderer_cls.__name__
    return Bound(tokenizer_name)


def render_rows(renderer: Any, rows: Sequence[dict[str, Any]]) -> Rendered:
    """Render chat rows (``{"messages": [...]}``) with any object that has ``render_batch``."""
    batch = renderer.render_batch([row["messages"] for row in rows])
    return Rendered([list(ids) for ids in batch.full_ids], list(batch.prompt_lens))
