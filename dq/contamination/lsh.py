"""LSH candidates and their verification: band keys, joins, estimates, exact Jaccard, components.

Everything here works on :class:`dq.near.Docs`; the per-pair work (exact Jaccard of shingle
sets) is a numba merge of pre-sorted segments, so verifying a million candidates stays cheap.
"""

from __future__ import annotations

import numba
import numpy as np
import polars as pl

from dq.contamination.shingles import MULTIPLIER, Docs, build_docs


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


@numba.njit(cache=True)
def _root(parent: np.ndarray, i: int) -> int:
    while parent[i] != i:
        parent[i] = parent[parent[i]]
        i = parent[i]
    return i


@numba.njit(cache=True)
def _similar(sig: np.ndarray, a: int, b: int, threshold: float) -> bool:
    same = 0
    for p in range(sig.shape[1]):
        if sig[a, p] == sig[b, p]:
            same += 1
    return same >= threshold * sig.shape[1]


@numba.njit(cache=True)
def _union(parent: np.ndarray, a: int, b: int) -> None:
    ra, rb = _root(parent, a), _root(parent, b)
    if ra != rb:
        parent[max(ra, rb)] = min(ra, rb)


@numba.njit(cache=True)
def _link_buckets(
    sig: np.ndarray, keys: np.ndarray, order: np.ndarray, threshold: float, parent: np.ndarray, cap: int
) -> None:
    """Union every pair of docs that share this band's key and whose estimated Jaccard reaches
    ``threshold`` (pairs already in one component are skipped, so later bands cost little).
    Buckets larger than ``cap`` link each doc to the bucket's first doc, else its predecessor."""
    start = 0
    while start < order.size:
        end = start + 1
        while end < order.size and keys[order[end]] == keys[order[start]]:
            end += 1
        if end - start <= cap:
            for x in range(start, end):
                for y in range(x + 1, end):
                    a, b = order[x], order[y]
                    if _root(parent, a) != _root(parent, b) and _similar(sig, a, b, threshold):
                        _union(parent, a, b)
        else:
            for x in range(start + 1, end):
                if _similar(sig, order[x], order[start], threshold):
                    _union(parent, order[x], order[start])
                elif _similar(sig, order[x], order[x - 1], threshold):
                    _union(parent, order[x], order[x - 1])
        start = end


#: Buckets up to this size are linked pair by pair; larger ones by a linear approximation.
BUCKET_CAP = 256


def components(
    texts: pl.Series, threshold: float, n: int = 5, num_perm: int = 128, bands: int = 32
) -> np.ndarray:
    """Near-duplicate clusters of ``texts``: for each text, the index of its component's first text.

    Two documents are linked when they share an LSH band key and their estimated Jaccard
    (character n-grams) reaches ``threshold``; components are the connected components
    (union-find) labelled by their smallest index. The partition does not depend on the input
    order, except inside buckets of more than ``BUCKET_CAP`` documents, where each document is
    only compared with the bucket's first and its neighbour.
    """
    docs = build_docs(texts, n, char=True, num_perm=num_perm)
    keys = band_keys(docs.sig, bands)  # type: ignore[arg-type]
    parent = np.arange(texts.len(), dtype=np.int64)
    for band in range(bands):
        column = np.ascontiguousarray(keys[:, band])
        order = np.argsort(column, kind="stable")
        _link_buckets(docs.sig, column, order, threshold, parent, BUCKET_CAP)  # type: ignore[arg-type]
    return np.array([_root(parent, i) for i in range(texts.len())], dtype=np.int64)


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
