"""Embedding caches and the fast first pass: a static token table fitted to the full model.

Benchmark embeddings are computed once and cached under ``${DQ_CACHE_DIR:-~/.cache/dq}/embed``,
keyed by the model's fingerprint and a sha256 of the texts. The static encoder maps each token id
to a vector (least squares, so that the mean of a text's token vectors approximates the model's
sentence vector; ``dq.embed.refit``); a text's vector is that mean, L2-normalised: about 100x
cheaper than the model.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from dq.errors import DqError

#: The shipped table (``python -m dq.embed.distill``, then ``python -m dq.embed.refit``) and its sha256.
STATIC_TABLE = Path(__file__).with_name("minilm_static.npz")
STATIC_SHA256 = "a797092b9240bd51bcaef3354e72f3eaaa8186be97613242a757ec9086d30047"


def cache_dir() -> Path:
    """``$DQ_CACHE_DIR/embed`` (default ``~/.cache/dq/embed``)."""
    root = os.environ.get("DQ_CACHE_DIR") or str(Path.home() / ".cache" / "dq")
    return Path(root).expanduser() / "embed"


def texts_key(fingerprint: str, texts: Sequence[str]) -> str:
    """Cache key of a model and an ordered list of texts."""
    digest = hashlib.sha256(fingerprint.encode())
    for text in texts:
        digest.update(text.encode("utf-8"))
        digest.update(b"\0")
    return digest.hexdigest()[:32]


def save_atomic(path: Path, array: np.ndarray) -> None:
    """Write ``array`` as .npy through a temporary file and a rename (no torn cache files)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            np.save(fh, array)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def cached_encode(encoder: Any, texts: Sequence[str]) -> np.ndarray:
    """``encoder.encode(texts)``, read from / written to the embedding cache."""
    path = cache_dir() / encoder.fingerprint / f"{texts_key(encoder.fingerprint, texts)}.npy"
    if path.is_file():
        found = np.load(path)
        if found.shape[0] == len(texts):
            return np.asarray(found, dtype=np.float32)
    vectors = encoder.encode(texts)
    try:
        save_atomic(path, vectors)
    except OSError:
        pass  # a read-only cache only costs time
    return vectors


@dataclass(frozen=True)
class StaticTable:
    """Token vectors fitted to a model: ``rows[token_id]`` indexes ``vectors`` (-1: no vector)."""

    rows: np.ndarray  # int32, vocab size
    vectors: np.ndarray  # float32, kept tokens x dim
    fingerprint: str  # the model the table was distilled from

    def encode(self, ids: Sequence[Sequence[int]]) -> tuple[np.ndarray, np.ndarray]:
        """Unit vectors (mean of known tokens' vectors) and the share of tokens with a vector."""
        import torch

        lengths = np.fromiter((len(i) for i in ids), dtype=np.int64, count=len(ids))
        flat = self.rows[np.fromiter((t for i in ids for t in i), dtype=np.int64, count=int(lengths.sum()))]
        known = flat >= 0
        per_doc = np.repeat(np.arange(len(ids)), lengths)
        coverage = np.bincount(per_doc[known], minlength=len(ids)) / np.maximum(lengths, 1)
        kept_lengths = np.bincount(per_doc[known], minlength=len(ids))
        offsets = np.concatenate([[0], np.cumsum(kept_lengths)[:-1]])
        table = torch.from_numpy(self.vectors)
        vec = torch.nn.functional.embedding_bag(
            torch.from_numpy(flat[known]), table, torch.from_numpy(offsets), mode="sum"
        )
        vec = torch.nn.functional.normalize(vec, dim=-1)
        return vec.numpy(), coverage


def file_sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def load_static_table(path: Path = STATIC_TABLE, sha256: str | None = None) -> StaticTable:
    """The static table, its bytes checked against ``sha256`` (the shipped table's by default)."""
    expected = STATIC_SHA256 if sha256 is None else sha256
    if not path.is_file():
        raise DqError(f"{path}: distilled table missing; build it with python -m dq.embed.distill")
    if expected and file_sha256(path) != expected:
        raise DqError(
            f"{path}: sha256 differs from the shipped table's; rebuild with python -m dq.embed.distill"
        )
    with np.load(path) as data:
        token_ids, vectors = data["token_ids"], data["vectors"].astype(np.float32)
        vocab, fingerprint = int(data["vocab_size"]), str(data["fingerprint"])
    rows = np.full(vocab, -1, dtype=np.int64)
    rows[token_ids] = np.arange(token_ids.size)
    return StaticTable(rows=rows, vectors=vectors, fingerprint=fingerprint)
