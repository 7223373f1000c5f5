"""Distil a static token table from the full model: each token's contextual output, averaged.

    python -m dq.embed.distill [--data ../shared/data] [--out dq/embed/minilm_static.npz]

The model's sentence vector is the mean of its contextual token outputs, so a table holding, for
each token id, that token's output averaged over every occurrence in a corpus gives a sentence
vector (the mean of table rows) close to the model's. Corpus: the distinct canonical problems of
GSM8K test and MATH test (MATH-500 is inside it) and 1,500 seeded rows each of GSM8K and MATH train. Tokens seen fewer than ``--min-count`` times are left
out (the first pass ignores them and sends rows it covers badly to the full model). Vectors are
float16. The sentence embeddings computed on the way are cached for the benchmarks and the bench.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from dq.embed.encode import cache_dir, save_atomic, texts_key
from dq.embed.minilm import SentenceEncoder

CORPUS = (
    ("gsm8k/test", "question"),
    ("math/test", "problem"),
    ("gsm8k/train", "question"),
    ("math/train", "problem"),
)


def corpus_texts(data: Path, train_sample: int, seed: int = 0) -> list[str]:
    """Distinct canonical problems: every test item, ``train_sample`` seeded rows of each train split."""
    import random

    import polars as pl

    from dq.text.normalize import canonical_problem

    seen: dict[str, None] = {}
    for name, field in CORPUS:
        texts = pl.read_ndjson(data / f"{name}.jsonl")[field].to_list()
        if name.endswith("train"):
            texts = random.Random(seed).sample(texts, min(train_sample, len(texts)))
        for text in texts:
            seen.setdefault(canonical_problem(text), None)
    return list(seen)


def distill(encoder: SentenceEncoder, texts: Sequence[str], batch_size: int = 64) -> tuple[np.ndarray, ...]:
    """Token sums and counts of contextual outputs over ``texts``, and the texts' sentence vectors."""
    import torch

    from dq.embed.minilm import pool

    encoder._load()
    vocab, dim = int(encoder._model.config.vocab_size), int(encoder._model.config.hidden_size)
    sums = torch.zeros((vocab, dim), dtype=torch.float64)
    counts = torch.zeros(vocab, dtype=torch.float64)
    sentences = np.zeros((len(texts), dim), dtype=np.float32)
    for i, (which, batch, hidden, mask) in enumerate(encoder.hidden_batches(texts, batch_size)):
        sentences[which] = pool(hidden, mask)
        ids = torch.nn.utils.rnn.pad_sequence([torch.tensor(b) for b in batch], batch_first=True)
        keep = mask.bool().cpu()
        sums.index_add_(0, ids[keep], hidden.cpu()[keep].double())
        counts.index_add_(0, ids[keep], torch.ones(int(keep.sum()), dtype=torch.float64))
        if i % 20 == 0:
            print(f"{min((i + 1) * batch_size, len(texts))}/{len(texts)}", flush=True)
    return sums.numpy(), counts.numpy(), sentences


def write_table(path: Path, sums: np.ndarray, counts: np.ndarray, fingerprint: str, min_count: int) -> None:
    """Keep tokens seen ``min_count`` times or more, each the mean of its contextual outputs."""
    keep = np.flatnonzero(counts >= min_count)
    write_vectors(path, keep, sums[keep] / counts[keep, None], counts.size, fingerprint)


def write_vectors(
    path: Path, token_ids: np.ndarray, vectors: np.ndarray, vocab: int, fingerprint: str
) -> None:
    """The table file: token ids, float16 vectors, vocabulary size, model fingerprint; atomic write."""
    buf = io.BytesIO()
    np.savez_compressed(
        buf,
        token_ids=token_ids.astype(np.int32),
        vectors=vectors.astype(np.float16),
        vocab_size=np.int64(vocab),
        fingerprint=np.str_(fingerprint),
    )
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
    with os.fdopen(fd, "wb") as fh:
        fh.write(buf.getvalue())
    os.chmod(tmp, 0o644)  # mkstemp makes 0600; the table ships with the package
    os.replace(tmp, path)


def main() -> None:
    import torch

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=Path("../shared/data"))
    ap.add_argument("--out", type=Path, default=Path(__file__).with_name("minilm_static.npz"))
    ap.add_argument("--min-count", type=int, default=2)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--train-sample", type=int, default=1500, help="Rows of each train split.")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    encoder = SentenceEncoder(engine="torch")  # hidden states of every token need torch
    texts = corpus_texts(args.data, args.train_sample)
    sums, counts, sentences = distill(encoder, texts)
    save_atomic(cache_dir() / encoder.fingerprint / f"{texts_key(encoder.fingerprint, texts)}.npy", sentences)
    (cache_dir() / "distill_texts.json").write_text(json.dumps(texts))
    np.save(cache_dir() / "distill_sentences.npy", sentences)
    np.save(cache_dir() / "distill_sums.npy", sums.astype(np.float32))
    np.save(cache_dir() / "distill_counts.npy", counts)
    write_table(args.out, sums, counts, encoder.fingerprint, args.min_count)
    print(f"{args.out}: {int((counts >= args.min_count).sum())} tokens (refit: python -m dq.embed.refit)")


if __name__ == "__main__":
    main()
