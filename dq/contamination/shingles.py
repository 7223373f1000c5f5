"""Near-duplicate machinery: tokens, shingles, MinHash signatures and LSH, vectorized.

Signatures are datasketch's: ``datasketch.MinHash(num_perm, seed, hashfunc=shingle_hash)``
(default "affine32" scheme: murmur3 fmix32 of the shingle hash, then ``a*h + b mod 2**32`` with
datasketch's own permutations) gives the same hash values; tests check it. What is faster is how
shingles are hashed (token hashes combined with numpy, never a Python call per shingle) and the
signature kernel (numba, one fused loop instead of a (shingles x permutations) array).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import cache

import numba
import numpy as np
import polars as pl

from dq.text import vector

TOKEN = r"[\p{L}\p{N}_]+"
NUMBER = r"\d+(?:[.,]\d+)*"
#: A number with the sign or operator right before it, as ``dq.template`` masks numbers: a copy whose
#: edit flipped the sign or operator next to a number ("2x - 3y = 8" -> "2x + 7y = 56", "= -2" ->
#: "= 280": 81 of the 298 Functional MATH copies the rule set missed) keeps its template.
SIGNED_NUMBER = r"(?:[-+]\s*)?" + NUMBER
MULTIPLIER = np.uint64(0x9E3779B97F4A7C15)  # odd 64-bit multiplier of the polynomial shingle hash


def token_hash_bytes(data: bytes) -> int:
    """Stable 64-bit hash (blake2b) of a byte string."""
    return int.from_bytes(hashlib.blake2b(data, digest_size=8).digest(), "little")


def token_hash(token: str) -> int:
    """Stable 64-bit hash of one token (blake2b), the unit every shingle hash is built from."""
    return token_hash_bytes(token.encode("utf-8"))


def combine(hashes: list[int]) -> int:
    """The shingle hash of a token sequence: sum of h_k * M**k modulo 2**64 (Python form)."""
    total, factor = 0, 1
    for h in hashes:
        total = (total + h * factor) % (1 << 64)
        factor = (factor * int(MULTIPLIER)) % (1 << 64)
    return total


def shingle_hash32(tokens: tuple[str, ...] | bytes) -> int:
    """32-bit shingle hash (top bits of :func:`combine`), usable as datasketch's ``hashfunc``.

    A word shingle is a tuple of tokens; a character shingle is the bytes of a UTF-8 n-gram.
    """
    if isinstance(tokens, bytes):
        return combine([token_hash_bytes(bytes([b])) for b in tokens]) >> 32
    return combine([token_hash(t) for t in tokens]) >> 32


def prepare(texts: pl.Series, mask_numbers: bool = False) -> pl.Series:
    """Canonical text (NFKC, lower, collapsed spaces); numbers become ``0`` when masked."""
    canon = vector.canonical_problem(texts)
    return canon.str.replace_all(NUMBER, "0") if mask_numbers else canon


@dataclass
class Tokens:
    """All documents' tokens, flat: hash per token, document offsets, token strings (lazily)."""

    codes: np.ndarray  # one per token: index into ``table``
    table: np.ndarray  # uint64 token hashes (distinct words, or the 256 bytes)
    offsets: np.ndarray  # int64, len = docs + 1
    lists: pl.Series  # list[str] per document

    @property
    def lengths(self) -> np.ndarray:
        return np.diff(self.offsets)


def tokenize(prepared: pl.Series, pattern: str = TOKEN) -> Tokens:
    """Tokens of each text (regex ``pattern``; words by default) with their stable hashes."""
    lists = prepared.str.extract_all(pattern).fill_null([])
    flat = lists.explode().drop_nulls()
    uniq = flat.unique(maintain_order=True)
    table = np.array([token_hash(t) for t in uniq], dtype=np.uint64)
    index = pl.DataFrame({"tok": uniq}).with_row_index("code")
    codes = pl.DataFrame({"tok": flat}).join(index, on="tok", how="left", maintain_order="left")["code"]
    lengths = lists.list.len().to_numpy().astype(np.int64)
    offsets = np.concatenate(([0], np.cumsum(lengths)))
    return Tokens(codes.to_numpy().astype(np.int64), table, offsets, lists)


@dataclass
class Shingles:
    """Shingle hashes (uint64), their document offsets and start token positions."""

    hashes: np.ndarray
    offsets: np.ndarray
    starts: np.ndarray  # token index (within the document) where each shingle starts


@numba.njit(cache=True)
def _shingle_kernel(
    codes: np.ndarray, table: np.ndarray, offsets: np.ndarray, n: int, powers: np.ndarray
) -> tuple:
    docs = offsets.size - 1
    counts = np.zeros(docs, dtype=np.int64)
    for d in range(docs):
        length = offsets[d + 1] - offsets[d]
        counts[d] = 0 if length == 0 else (1 if length < n else length - n + 1)
    out_offsets = np.zeros(docs + 1, dtype=np.int64)
    out_offsets[1:] = np.cumsum(counts)
    hashes = np.empty(out_offsets[-1], dtype=np.uint64)
    starts = np.empty(out_offsets[-1], dtype=np.int64)
    for d in range(docs):
        base, length, o = offsets[d], offsets[d + 1] - offsets[d], out_offsets[d]
        width = min(n, length)
        for s in range(counts[d]):
            total = np.uint64(0)
            for k in range(width):
                total += table[codes[base + s + k]] * powers[k]  # uint64 wraps, as in combine()
            hashes[o + s] = total
            starts[o + s] = s
    return hashes, out_offsets, starts


def shingles(tokens: Tokens, n: int) -> Shingles:
    """Token n-gram shingles (hash = sum of h_k * M**k mod 2**64, as :func:`combine`).

    A document shorter than n tokens gives one shingle of all its tokens; an empty one, none.
    """
    powers = np.array([pow(int(MULTIPLIER), k, 1 << 64) for k in range(n)], dtype=np.uint64)
    hashes, offsets, starts = _shingle_kernel(tokens.codes, tokens.table, tokens.offsets, n, powers)
    return Shingles(hashes, offsets, starts)


@cache
def permutations(num_perm: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """datasketch's own (a, b) for the default affine32 scheme."""
    from datasketch import MinHash

    a, b = MinHash(num_perm=num_perm, seed=seed).permutations
    return a.astype(np.uint64), b.astype(np.uint64)


@numba.njit(cache=True, parallel=True)
def _signatures(hashes: np.ndarray, offsets: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    docs, perms = offsets.size - 1, a.size
    mask = np.uint64(0xFFFFFFFF)
    out = np.full((docs, perms), np.uint32(0xFFFFFFFF), dtype=np.uint32)
    for d in numba.prange(docs):
        for i in range(offsets[d], offsets[d + 1]):
            # murmur3 fmix32 (datasketch's _fmix), in uint64 with explicit 32-bit wrap-around
            hv = hashes[i] >> np.uint64(32)
            hv ^= hv >> np.uint64(16)
            hv = (hv * np.uint64(0x85EBCA6B)) & mask
            hv ^= hv >> np.uint64(13)
            hv = (hv * np.uint64(0xC2B2AE35)) & mask
            hv ^= hv >> np.uint64(16)
            for p in range(perms):
                v = np.uint32((a[p] * hv + b[p]) & mask)
                if v < out[d, p]:
                    out[d, p] = v
    return out


def signatures(sh: Shingles, num_perm: int = 128, seed: int = 1) -> np.ndarray:
    """(docs, num_perm) uint32 MinHash signatures, equal to datasketch's."""
    a, b = permutations(num_perm, seed)
    return _signatures(sh.hashes, sh.offsets, a, b)


@dataclass
class Docs:
    """Prepared documents: text, tokens, shingles and (optionally) MinHash signatures."""

    text: pl.Series
    tokens: Tokens
    shingles: Shingles
    sig: np.ndarray | None = None

    def shingle_set(self, doc: int) -> np.ndarray:
        return self.shingles.hashes[self.shingles.offsets[doc] : self.shingles.offsets[doc + 1]]

    def numbers_of(self, doc: int) -> list[str]:
        """The numbers of one document in text order (for number-aware match kinds), memoized."""
        cache = self.__dict__.setdefault("_numbers", {})
        if doc not in cache:
            cache[doc] = numbers(self.text[doc])
        return cache[doc]

    def span(self, doc: int, start: int, n: int) -> str:
        return " ".join(self.tokens.lists[doc][start : start + n].to_list())


@cache
def byte_table() -> np.ndarray:
    """The token hash of each single byte: character shingles are UTF-8 byte n-grams."""
    return np.array([token_hash_bytes(bytes([b])) for b in range(256)], dtype=np.uint64)


def byte_tokens(prepared: pl.Series) -> Tokens:
    """Every UTF-8 byte of every text as a token (straight from the Arrow buffers)."""
    from dq.data.jsonl import values_buffer

    data = np.frombuffer(values_buffer(prepared.to_arrow()), dtype=np.uint8)
    lengths = prepared.str.len_bytes().to_numpy().astype(np.int64)
    offsets = np.concatenate(([0], np.cumsum(lengths)))
    return Tokens(data, byte_table(), offsets, pl.Series([], dtype=pl.List(pl.String)))


def build_docs(
    texts: pl.Series,
    n: int,
    *,
    mask_numbers: bool = False,
    char: bool = False,
    num_perm: int = 0,
    seed: int = 1,
) -> Docs:
    """Prepare, tokenize (words, or UTF-8 bytes when ``char``), shingle and sign ``texts``."""
    prepared = prepare(texts, mask_numbers).fill_null("")
    tokens = byte_tokens(prepared) if char else tokenize(prepared)
    sh = shingles(tokens, n)
    sig = signatures(sh, num_perm, seed) if num_perm else None
    return Docs(prepared, tokens, sh, sig)


def unique_texts(texts: pl.Series) -> tuple[pl.Series, pl.Series]:
    """Distinct texts (first-seen order) and, for each, the positions that hold it."""
    grouped = (
        pl.DataFrame({"t": texts}).with_row_index("pos").group_by("t", maintain_order=True).agg(pl.col("pos"))
    )
    return grouped["t"], grouped["pos"]


def numbers(text: str) -> list[str]:
    """The numbers of a text in the order they appear (match kinds compare order and values)."""
    import re

    return re.findall(NUMBER, text)


def template_keys(canonical: pl.Series) -> pl.Series:
    """``dq.template``'s key of canonical texts (``prepare``): each number, and the sign before it, as ``0``."""
    return canonical.str.replace_all(SIGNED_NUMBER, "0")


def signed_numbers(text: str) -> list[str]:
    """The numbers of a text with the sign or operator before each (``- 3`` -> ``-3``), in order."""
    import re

    return [re.sub(r"\s+", "", n) for n in re.findall(SIGNED_NUMBER, text)]
