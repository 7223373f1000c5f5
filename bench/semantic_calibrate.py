"""Calibrate dq.semantic's ``first_pass`` on held-out OpenMath-shaped rows (docs/semantic.md's table).

    python bench/semantic_calibrate.py [--held 2500] [--threads 2] [--data ../shared/data]

Held-out rows: distinct canonical problems of ``openmath_shaped(6000, seed=11)`` whose
number-masked text is not in the table's fit corpus (``python -m dq.embed.distill``'s). Each is
embedded by the full model; per cutoff, the share of rows the first pass sends to the model and
the share of full-model matches (best cosine >= 0.85 over GSM8K test + MATH test + MATH-500) kept.
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

import numpy as np
from bench_semantic import benchmarks  # the same benchmark frames as the speed bench

ROOT = Path(__file__).resolve().parent.parent
CUTOFFS = (0.6, 0.62, 0.64, 0.65, 0.66, 0.68, 0.7, 0.72, 0.75, 0.8)


def main() -> None:
    import torch

    from dq.contamination.semantic import SemanticCheck
    from dq.embed.encode import cache_dir
    from dq.testing.corpus import openmath_shaped
    from dq.text import vector

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--held", type=int, default=2500)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)

    def mask(text: str) -> str:
        return re.sub(r"\d+", "#", text)

    fit = {mask(t) for t in json.loads((cache_dir() / "distill_texts.json").read_text())}
    rows = openmath_shaped(6000, args.data, seed=11)["problem"]
    held = [t for t in vector.canonical_problem(rows).unique(maintain_order=True) if mask(t) not in fit]
    held = held[: args.held]
    check = SemanticCheck(SemanticCheck.Options.model_validate({}))
    items = [
        check._bench_vectors(n, vector.canonical_problem(b["question"]).to_list())
        for n, b in benchmarks(args.data).items()
    ]
    bench = np.vstack(items)
    ids = check.encoder().token_ids(held)
    full = (check.encoder().encode_ids(ids) @ bench.T).max(1)
    table = check.table()
    vecs, coverage = table.encode(ids)
    estimate = (vecs @ bench.T).max(1)
    positive = full >= 0.85
    print(f"{len(held)} held-out rows, {int(positive.sum())} with a full-model match >= 0.85")
    print("| first_pass | sent | matches kept |\n|---|---|---|")
    for cut in CUTOFFS:
        sent = (estimate >= cut) | (coverage < check.options.min_coverage)
        print(f"| {cut:.2f} | {sent.mean() * 100:.1f} % | {sent[positive].mean() * 100:.1f} % |")


if __name__ == "__main__":
    main()
