"""LSH candidates and their verification: band keys, joins, estimates, exact Jaccard, components.

Everything here works on :class:`dq.near.Docs`; the per-pair work (exact Jaccard of shingle
sets) is a numba merge of pre-sorted segments, so verifying a million candidates stays cheap.
"""

from __future__ import annotations

import numba
import numpy as np
import polars as pl

from dq.near import MULTIPLIER, Docs, build_docs


def band_keys(sig: np.ndarray, bands: int) -> np.ndarray:
    """(docs, bands) uint64 keys: each band's rows combined into one hash."""
    rows = sig.shape[1] // bands
    keys = np.zeros((sig.shape[0], bands), dtype=np.uint64)
    factor = np.uint64(1)
    with np.errstate(over="ignore"):
        for r in range(rows):
            keys += sig[:, r : rows * bands : rows].astype(np.uint64) * factor
            factor = factor * MULTIPLIER
    return keys


def lsh_candidates(left: np.ndarray, right: np.ndarray) -> pl.DataFrame:
    """Pairs (left, right) of documents sharing at least one band key."""
    bands = left.shape[1]

    def frame(keys: np.ndarray, side: str) -> pl.DataFrame:
        docs = np.repeat(np.arange(keys.shape[0], dtype=np.int64), bands)
        band = np.tile(np.arange(bands, dtype=np.int32), keys.shape[0])
        return pl.DataFrame({side: docs, "band": band, "key": keys.reshape(-1)})

    joined = frame(left, "left").join(frame(right, "right"), on=["band", "key"])
    return joined.select("left", "right").unique(maintain_order=True).sort("left", "right")


def jaccard(a: np.ndarray, b: np.ndarray) -> float:
    """Exact Jaccard of two shingle-hash sets."""
    sa, sb = set(a.tolist()), set(b.tolist())
    return len(sa & sb) / len(sa | sb) if sa or sb else 0.0


def estimates(left: np.ndarray, right: np.ndarray, pairs: pl.DataFrame) -> np.ndarray:
    """Estimated Jaccard (share of equal signature slots) for each (left, right) pair."""
    if pairs.height == 0:
        return np.zeros(0)
    lidx, ridx = pairs["left"].to_numpy(), pairs["right"].to_numpy()
    out = np.empty(lidx.size)
    for start in range(0, lidx.size, 100_000):  # bounded memory: 100k pairs x num_perm at a time
        stop = start + 100_000
        out[start:stop] = (left[lidx[start:stop]] == right[ridx[start:stop]]).mean(axis=1)
    return out


def components(
    texts: pl.Series, threshold: float, n: int = 5, num_perm: int = 128, bands: int = 32
) -> np.ndarray:
    """Near-duplicate clusters of ``texts``: for each text, the index of its component's first text.

    Edges are LSH candidate pairs whose estimated Jaccard reaches ``threshold``; components are
    connected components (union-find), labelled by their smallest index, so the result depends
    only on the input order.
    """
    docs = build_docs(texts, n, char=True, num_perm=num_perm)
    keys = band_keys(docs.sig, bands)  # type: ignore[arg-type]
    pairs = lsh_candidates(keys, keys).filter(pl.col("left") < pl.col("right"))
    keep = estimates(docs.sig, docs.sig, pairs) >= threshold  # type: ignore[arg-type]
    parent = np.arange(texts.len())

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for a, b in pairs.filter(pl.Series(keep)).iter_rows():
        ra, rb = root(a), root(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    return np.array([root(i) for i in range(texts.len())])


@numba.njit(cache=True, parallel=True)
def _sorted_segments(hashes: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    out = hashes.copy()
    for d in numba.prange(offsets.size - 1):
        out[offsets[d] : offsets[d + 1]] = np.sort(out[offsets[d] : offsets[d + 1]])
    return out


@numba.njit(cache=True, parallel=True)
def _pair_counts(
    lh: np.ndarray, loff: np.ndarray, rh: np.ndarray, roff: np.ndarray, left: np.ndarray, right: np.ndarray
) -> tuple:
    """Distinct shared, left and right shingle counts per pair (segments sorted ascending)."""
    inter = np.zeros(left.size, dtype=np.int64)
    nl = np.zeros(left.size, dtype=np.int64)
    nr = np.zeros(left.size, dtype=np.int64)
    for p in numba.prange(left.size):
        i, i_end = loff[left[p]], loff[left[p] + 1]
        j, j_end = roff[right[p]], roff[right[p] + 1]
        last_l, last_r, have_l, have_r = np.uint64(0), np.uint64(0), False, False
        while i < i_end or j < j_end:
            take_l = j >= j_end or (i < i_end and lh[i] <= rh[j])
            take_r = i >= i_end or (j < j_end and rh[j] <= lh[i])
            if take_l and take_r:  # equal values: one shared shingle
                v = lh[i]
                if not (have_l and v == last_l):
                    nl[p] += 1
                    nr[p] += 1
                    inter[p] += 1
                last_l, last_r, have_l, have_r = v, v, True, True
                i += 1
                j += 1
            elif take_l:
                if not (have_l and lh[i] == last_l):
                    nl[p] += 1
                last_l, have_l = lh[i], True
                i += 1
            else:
                if not (have_r and rh[j] == last_r):
                    nr[p] += 1
                last_r, have_r = rh[j], True
                j += 1
    return inter, nl, nr


def sorted_shingles(docs: Docs) -> np.ndarray:
    """The documents' shingle hashes, each document's segment sorted (computed once per Docs)."""
    if "_sorted" not in docs.__dict__:
        docs.__dict__["_sorted"] = _sorted_segments(docs.shingles.hashes, docs.shingles.offsets)
    return docs.__dict__["_sorted"]


def pair_jaccard(left: Docs, right: Docs, pairs: pl.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Exact Jaccard of the shingle sets of each (left, right) pair, and the shared counts."""
    if pairs.height == 0:
        return np.zeros(0), np.zeros(0)
    inter, nl, nr = _pair_counts(
        sorted_shingles(left),
        left.shingles.offsets,
        sorted_shingles(right),
        right.shingles.offsets,
        pairs["left"].to_numpy().astype(np.int64),
        pairs["right"].to_numpy().astype(np.int64),
    )
    union = nl + nr - inter
    return np.where(union > 0, inter / np.maximum(union, 1), 0.0), inter.astype(np.float64)
