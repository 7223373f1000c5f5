"""Nearest benchmark items: exact top-k cosine, and the quantity-gated first-pass candidates.

The semantic check reports a pair at full-model cosine >= ``threshold``, or at >= a lower
``verified_threshold`` when the row carries exactly the item's quantities (``dq.embed.verify``).
The static first pass must keep the rows of both tiers: rows whose static cosine clears
``first_pass`` (the plain tier), and rows with a lower static cosine (>= ``first_pass_verified``)
whose quantities equal those of one of their static nearest items. The quantity test is a regex
read of two short texts, far cheaper than the model, and clean rows near an item are mostly
template siblings with other numbers, so the second tier sends few rows to the model.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

import numpy as np

from dq.embed import verify


def top_cosines(
    vecs: np.ndarray, bench: np.ndarray, k: int, chunk: int = 8192
) -> tuple[np.ndarray, np.ndarray]:
    """Exact top-k cosine (unit vectors: dot product) of each row against every item, in chunks."""
    import torch

    right = torch.from_numpy(np.ascontiguousarray(bench, dtype=np.float32))
    sims, idx = [], []
    for start in range(0, vecs.shape[0], chunk):
        left = torch.from_numpy(np.ascontiguousarray(vecs[start : start + chunk], dtype=np.float32))
        top = torch.topk(left @ right.T, k, dim=1)
        sims.append(top.values.numpy())
        idx.append(top.indices.numpy())
    if not sims:
        return np.zeros((0, k), dtype=np.float32), np.zeros((0, k), dtype=np.int64)
    return np.vstack(sims), np.vstack(idx)


def same_quantities(a: Counter[str], b: Counter[str], min_count: int) -> bool:
    """Equal quantity multisets holding at least ``min_count`` quantities (a rewrite's signature).

    The minimum keeps out problems whose one or two small integers coincide by chance (MATH's
    "How many two-digit integers ... 7 ..." against another question about 7).
    """
    return a == b and sum(a.values()) >= min_count


def quantity_gated(
    texts: Sequence[str],
    sims: np.ndarray,
    idx: np.ndarray,
    item_quantities: Sequence[Counter[str]],
    equal: tuple[float, int],
    overlap: tuple[float, float],
) -> np.ndarray:
    """Rows (positions) whose quantities vouch for a static nearest item (top-k ``sims``/``idx``).

    ``equal = (floor, min_count)``: an item at static cosine >= floor holding exactly the row's
    quantities (the verified tier). ``overlap = (floor, share)``: an item at >= floor sharing at
    least ``share`` of the larger quantity multiset (a rewrite the threshold tier would label so).
    """
    out = []
    for r in np.flatnonzero(sims[:, 0] >= min(equal[0], overlap[0])):
        mine = verify.quantities(texts[int(r)])
        for s, j in zip(sims[r], idx[r], strict=True):
            theirs = item_quantities[int(j)]
            if (s >= equal[0] and same_quantities(mine, theirs, equal[1])) or (
                s >= overlap[0] and verify.quantity_overlap(mine, theirs) >= overlap[1]
            ):
                out.append(r)
                break
    return np.asarray(out, dtype=np.int64)


def route(
    sims: np.ndarray,
    idx: np.ndarray,
    coverage: np.ndarray,
    texts: Sequence[str] | None,
    item_quantities: Sequence[Counter[str]] | None,
    o: Any,
    tier: bool,
) -> np.ndarray:
    """The first pass's decision per row (bool): send it to the full model?

    ``o`` holds the semantic check's options (``first_pass``, ``min_coverage``, ...). Without
    ``texts`` and ``item_quantities`` only the static cosine decides.
    """
    # a poorly covered row's estimate misses tokens: it goes at a lower static cosine
    low = coverage < o.min_coverage
    keep = (sims[:, 0] >= o.first_pass) | (low & (sims[:, 0] >= o.low_coverage_first_pass))
    if texts is not None and item_quantities is not None:
        rest = np.flatnonzero(~keep)
        equal = o.first_pass_verified if tier else 2.0  # 2.0: no static cosine reaches it
        gated = quantity_gated(
            [texts[int(i)] for i in rest],
            sims[rest],
            idx[rest],
            item_quantities,
            (equal, o.verified_min_quantities),
            (o.first_pass_overlap, o.quantity_overlap),
        )
        keep[rest[gated]] = True
    return keep


def needs_fp32(
    sims: np.ndarray,
    idx: np.ndarray,
    texts: Sequence[str],
    item_quantities: Sequence[Counter[str]] | None,
    threshold: float,
    floor: float,
    min_count: int,
) -> np.ndarray:
    """Rows (bool) whose bf16 cosines (top ``sims``/``idx``, margin already subtracted from the
    floors) could still be reported by fp32: the model's exact vector is computed for these only.

    A row goes when its best item clears ``threshold``; below it, when an item at >= ``floor``
    holds exactly its quantities (the verified tier), or when even its last listed item is above
    ``floor``, so an unlisted one might hold them. Answers are not looked at: routing keeps a row
    that verification may still drop.
    """
    keep = sims[:, 0] >= threshold
    if floor >= threshold:  # the tier is off
        return keep
    if item_quantities is None:
        return keep | (sims[:, 0] >= floor)
    keep |= sims[:, -1] >= floor
    rest = np.flatnonzero(~keep & (sims[:, 0] >= floor))
    no_overlap_gate = (2.0, 1.0)  # no cosine reaches 2.0
    texts_rest = [texts[int(i)] for i in rest]
    gated = quantity_gated(
        texts_rest, sims[rest], idx[rest], item_quantities, (floor, min_count), no_overlap_gate
    )
    keep[rest[gated]] = True
    return keep
