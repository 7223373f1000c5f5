"""LSH candidates and their verification: band keys, joins, estimates, exact Jaccard, components.

Everything here works on :class:`dq.near.Docs`; the per-pair work (exact Jaccard of shingle
sets) is a numba merge of pre-sorted segments, so verifying a million candidates stays cheap.
"""

from __future__ import annotations

import math

import numba
import numpy as np
import polars as pl

from dq.contamination.shingles import MULTIPLIER, Docs, build_docs

#: Texts shingled at a time when only their signatures are kept (:func:`signatures_in_batches`).
SIGN_BATCH = 50_000


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
def _union(parent: np.ndarray, a: int, b: int) -> None:
    ra, rb = _root(parent, a), _root(parent, b)
    if ra != rb:
        parent[max(ra, rb)] = min(ra, rb)


@numba.njit(cache=True)
def _equal_slots(a: np.ndarray, b: np.ndarray) -> int:
    """Equal slots of two signatures (no early exit and an int32 sum: the loop vectorizes)."""
    same = np.int32(0)
    for p in range(a.size):
        same += np.int32(a[p] == b[p])
    return int(same)


@numba.njit(cache=True)
def _linked(
    local: np.ndarray, seen: np.ndarray, group: np.ndarray, head: int, nxt: np.ndarray, need: int
) -> bool:
    """Whether any doc of ``group`` has ``need`` equal slots with any doc of the cluster at ``head``.

    A pair that shares an earlier band's key (``seen``: the bucket's keys of the bands before
    this one) is skipped: that band compared it already, or put it in one component.
    """
    for g in group:
        q = head
        while q != -1:
            earlier = False
            for b in range(seen.shape[1]):
                if seen[g, b] == seen[q, b]:
                    earlier = True
                    break
            if not earlier and _equal_slots(local[g], local[q]) >= need:
                return True
            q = nxt[q]
    return False


@numba.njit(cache=True)
def _link_bucket(
    sig: np.ndarray, keys: np.ndarray, band: int, docs: np.ndarray, need: int, parent: np.ndarray
) -> None:
    """Union every pair of ``docs`` (one bucket of ``band``) with at least ``need`` equal slots.

    Exact, but pairs already in one component are never compared: the docs are first grouped by
    their current root; each group is then compared with the clusters formed so far, pair by pair
    only until one similar pair joins them (clusters stay pairwise unlinked, so only the new
    group's docs need comparing). A bucket of near-identical docs costs O(size); one of
    dissimilar docs costs a comparison per pair not already compared in an earlier band.
    """
    m = docs.size
    roots = np.empty(m, dtype=np.int64)
    for i in range(m):
        roots[i] = _root(parent, docs[i])
    if np.all(roots == roots[0]):
        return
    idx = np.argsort(roots, kind="mergesort")
    local = sig[docs]  # the bucket's signatures and earlier band keys, contiguous
    seen = np.ascontiguousarray(keys[docs, :band])
    head = np.empty(m, dtype=np.int64)  # the clusters so far: linked lists of bucket positions
    tail = np.empty(m, dtype=np.int64)
    nxt = np.full(m, -1, dtype=np.int64)
    count = 0
    g = 0
    while g < m:
        h = g + 1
        while h < m and roots[idx[h]] == roots[idx[g]]:
            h += 1
        for t in range(g, h - 1):
            nxt[idx[t]] = idx[t + 1]
        first, last = idx[g], idx[h - 1]
        c = 0
        while c < count:
            if _linked(local, seen, idx[g:h], head[c], nxt, need):
                _union(parent, docs[first], docs[head[c]])
                nxt[last] = head[c]
                last = tail[c]
                count -= 1
                head[c], tail[c] = head[count], tail[count]
            else:
                c += 1
        head[count], tail[count] = first, last
        count += 1
        g = h


@numba.njit(cache=True)
def _link_buckets(
    sig: np.ndarray, keys: np.ndarray, band: int, order: np.ndarray, need: int, parent: np.ndarray
) -> None:
    """Union every pair of docs that share ``band``'s key and at least ``need`` signature slots
    (``order`` sorts the docs by that key, so each bucket is one run of it)."""
    start = 0
    while start < order.size:
        end = start + 1
        while end < order.size and keys[order[end], band] == keys[order[start], band]:
            end += 1
        if end - start == 2:  # most buckets: one pair, no bookkeeping
            a, b = order[start], order[start + 1]
            if _root(parent, a) != _root(parent, b) and _equal_slots(sig[a], sig[b]) >= need:
                _union(parent, a, b)
        elif end - start > 2:
            _link_bucket(sig, keys, band, order[start:end], need, parent)
        start = end


def components(
    texts: pl.Series, threshold: float, n: int = 5, num_perm: int = 128, bands: int = 32
) -> np.ndarray:
    """Near-duplicate clusters of ``texts``: for each text, the index of its component's first text.

    Two documents are linked when they share an LSH band key and their estimated Jaccard
    (character n-grams, signature slots equal) reaches ``threshold``; components are the connected
    components of these links (union-find), labelled by their smallest index. Every such pair is
    linked, however large its bucket, so the partition is a function of the set of texts: it does
    not depend on their order or repetition, and on a subset of the texts it only splits
    components, never joins two (what lets a split by these components pass a leakage check
    that recomputes them on train + val).
    """
    sig = signatures_in_batches(texts, n, num_perm)
    keys = band_keys(sig, bands)
    parent = np.arange(texts.len(), dtype=np.int64)
    need = math.ceil(threshold * num_perm)  # equal slots: estimate >= threshold, in integers
    for band in range(bands):
        order = np.argsort(keys[:, band], kind="stable")
        _link_buckets(sig, keys, band, order, need, parent)
    return np.array([_root(parent, i) for i in range(texts.len())], dtype=np.int64)


def signatures_in_batches(texts: pl.Series, n: int, num_perm: int, batch: int | None = None) -> np.ndarray:
    """MinHash signatures of ``texts`` (character n-grams), the shingles of one batch at a time.

    A text's signature depends on that text alone, so batching changes no value; it bounds the
    shingle arrays (~2 KB a text) to one batch instead of every distinct problem of a run.
    """
    batch = batch or SIGN_BATCH
    parts = [
        build_docs(texts.slice(start, batch), n, char=True, num_perm=num_perm).sig
        for start in range(0, max(texts.len(), 1), batch)
    ]
    return np.concatenate(parts)  # type: ignore[arg-type]


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
