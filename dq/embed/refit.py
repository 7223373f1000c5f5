"""Refit the static table by least squares so that averaged token vectors approximate sentence vectors.

    python -m dq.embed.refit [--lam 0.1] [--out dq/embed/minilm_static.npz]   (after python -m dq.embed.distill)

The distilled table (each token's contextual output, averaged) gives sentence vectors far from the
model's (mean 1 - cosine 0.29 on held-out OpenMath-shaped rows): averaging contextual outputs is not
the same as the contextual output of an average. This fits the table ``T`` directly: with ``A`` the
texts x tokens matrix of token shares (a text's row sums to 1) and ``Y`` the model's unit sentence
vectors of the distillation corpus, it solves ``min |A T - Y|^2 + lam |T - T0|^2`` (``T0``: the
distilled table, the prior for rare tokens) by conjugate gradients on the normal equations, one
column per output dimension at once. Held-out error drops to 0.18 and the first pass is compared
with the benchmark items' exact sentence vectors, uncentred.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from dq.embed.distill import write_vectors
from dq.embed.encode import cache_dir


def design(ids: Sequence[Sequence[int]], vocab: int) -> object:
    """Sparse texts x vocab matrix of token shares (each text's row sums to 1)."""
    import scipy.sparse as sp

    lengths = np.fromiter((len(i) for i in ids), dtype=np.int64, count=len(ids))
    rows = np.repeat(np.arange(len(ids)), lengths)
    cols = np.fromiter((t for i in ids for t in i), dtype=np.int64, count=int(lengths.sum()))
    weights = np.repeat(1.0 / np.maximum(lengths, 1), lengths)
    return sp.csr_matrix((weights, (rows, cols)), shape=(len(ids), vocab))


def fit_table(a: object, y: np.ndarray, prior: np.ndarray, lam: float, iters: int = 500) -> np.ndarray:
    """Ridge least squares toward ``prior`` by conjugate gradients (all output columns together)."""
    at = a.T.tocsr()  # type: ignore[attr-defined]

    def normal(x: np.ndarray) -> np.ndarray:
        return np.asarray(at @ (a @ x)) + lam * x  # type: ignore[operator]

    x = prior.astype(np.float64)
    r = np.asarray(at @ y) + lam * prior - normal(x)
    p, rs = r.copy(), (r * r).sum(0)
    for _ in range(iters):
        ap = normal(p)
        alpha = rs / np.maximum((p * ap).sum(0), 1e-30)
        x += alpha * p
        r -= alpha * ap
        rn = (r * r).sum(0)
        if float(np.sqrt(rn.max())) < 1e-7:
            break
        p, rs = r + (rn / np.maximum(rs, 1e-30)) * p, rn
    return x


def main() -> None:
    from dq.embed.minilm import SentenceEncoder

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=Path(__file__).with_name("minilm_static.npz"))
    ap.add_argument("--lam", type=float, default=0.1)
    ap.add_argument("--min-count", type=int, default=2)
    args = ap.parse_args()
    root = cache_dir()
    texts = json.loads((root / "distill_texts.json").read_text())
    sentences = np.load(root / "distill_sentences.npy").astype(np.float64)
    sums, counts = np.load(root / "distill_sums.npy"), np.load(root / "distill_counts.npy")
    encoder = SentenceEncoder()
    keep = np.flatnonzero(counts >= args.min_count)
    a = design(encoder.token_ids(texts), counts.size)[:, keep]  # type: ignore[index]
    table = fit_table(a, sentences, sums[keep] / counts[keep, None], args.lam)
    write_vectors(args.out, keep, table, counts.size, encoder.fingerprint)
    print(f"{args.out}: {keep.size} tokens, least squares (lam {args.lam}) over {len(texts)} texts")


if __name__ == "__main__":
    main()
