"""Qwen3's BPE through tiktoken: the same ranks, regex and NFC as the Rust tokenizer, about 5x faster.

The offline Qwen3 tokenizer (:mod:`dq.render.qwen3_tokenizer`) is built from ``qwen.tiktoken``'s
ranks with Qwen2's pre-tokenizer regex and NFC; tiktoken runs the same byte-level BPE on the same
ranks and regex, so on text that holds no added-token markup (``<|im_end|>``, ``<think>``...) the
ids are the same. Measured here: 3.3M tokens/s per core against 0.25M for ``encode_batch_fast``, identical
ids on 3,000 OpenMath-shaped solutions; ``tests/test_render_tokenizer.py`` compares the renderer's
ids with ``apply_chat_template`` on every row of ../shared/data with this encoder in place.
Text that holds markup goes to the Rust tokenizer, which matches added tokens inside content.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from typing import Any

from dq.render.qwen3_tokenizer import PRETOKENIZE_REGEX, added_tokens, load_ranks, ranks_file


class Ids(list[int]):
    """Token ids with the ``.ids`` attribute of a Rust ``Encoding`` (the renderer reads both)."""

    @property
    def ids(self) -> list[int]:
        return self


@functools.cache
def markup() -> re.Pattern[str]:
    """Any added token's text: content holding one is encoded by the Rust tokenizer instead."""
    names = sorted((t["content"] for t in added_tokens()), key=len, reverse=True)
    return re.compile("|".join(re.escape(n) for n in names))


@functools.cache
def encoding() -> Any | None:
    """The tiktoken encoding of Qwen3's ranks; None when tiktoken is not installed."""
    try:
        import tiktoken
    except ImportError:
        return None
    return tiktoken.Encoding(
        "dq-qwen3", pat_str=PRETOKENIZE_REGEX, mergeable_ranks=load_ranks(ranks_file()), special_tokens={}
    )


def encode_plain(texts: list[str]) -> list[Ids] | None:
    """Ids of texts without markup (NFC first, as the Rust normalizer does); None without tiktoken."""
    enc = encoding()
    if enc is None:
        return None
    normalized = [unicodedata.normalize("NFC", text) for text in texts]
    # A plain loop: encode_ordinary_batch's thread per text is slower here (2.0M vs 3.3M tokens/s).
    return [Ids(enc.encode_ordinary(text)) for text in normalized]
