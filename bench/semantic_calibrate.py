"""Calibrate dq.semantic's ``first_pass`` on held-out OpenMath-shaped rows (docs/semantic.md's table).

    python bench/semantic_calibrate.py [--held 2500] [--threads 2] [--data ../shared/data]
    python bench/semantic_calibrate.py tier [--data ../shared/data]   # ~6 min, 2 threads

``tier``: the clean-row cost of the verified tier (docs/contamination.md, "The verified tier"):
every GSM8K train and MATH train row, full-model top 3 per benchmark group (GSM8K test; MATH test
+ MATH-500); per floor and minimum quantity count, the rows the tier adds to those at >= 0.85.

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


FLOORS = (0.7, 0.75, 0.78, 0.8, 0.82)


def tier(data: Path) -> None:
    """Rows each (floor, minimum) of the verified tier adds on clean GSM8K and MATH train."""
    import polars as pl

    from dq.contamination.semantic import SemanticCheck, top_cosines
    from dq.embed import verify
    from dq.embed.search import same_quantities
    from dq.text import vector

    check = SemanticCheck(SemanticCheck.Options.model_validate({}))
    bench = {n: vector.canonical_problem(b["question"]).to_list() for n, b in benchmarks(data).items()}
    groups = {"gsm8k": bench["gsm8k"], "math": bench["math"] + bench["math500"]}
    print("| clean set | min quantities | " + " | ".join(str(f) for f in FLOORS) + " |")
    print("|---|---|" + "---|" * len(FLOORS))
    for name, path, field in (
        ("GSM8K train", "gsm8k/train", "question"),
        ("MATH train", "math/train", "problem"),
    ):
        texts = vector.canonical_problem(pl.read_ndjson(data / f"{path}.jsonl")[field]).to_list()
        full = check.encoder().encode(texts)
        pairs = []  # (row, cosine, row quantities, item quantities) of every top-3 pair >= the lowest floor
        above = set()
        for g, items in groups.items():
            sims, idx = top_cosines(
                full,
                check._bench_vectors(g, items)
                if g == "gsm8k"
                else np.vstack([check._bench_vectors(n, bench[n]) for n in ("math", "math500")]),
                3,
            )
            above |= set(np.flatnonzero(sims[:, 0] >= 0.85).tolist())
            for r, c in zip(*np.nonzero((sims >= FLOORS[0]) & (sims < 0.85)), strict=True):
                pairs.append(
                    (r, sims[r, c], verify.quantities(texts[r]), verify.quantities(items[idx[r, c]]))
                )
        for m in (1, 2, 3):
            cells = [
                len({r for r, s, a, b in pairs if s >= f and same_quantities(a, b, m)} - above)
                for f in FLOORS
            ]
            print(f"| {name} ({len(texts):,}) | {m} | " + " | ".join(map(str, cells)) + " |", flush=True)


def main() -> None:
    import sys

    import torch

    if sys.argv[1:2] == ["tier"]:
        torch.set_num_threads(2)
        tier(
            Path(sys.argv[sys.argv.index("--data") + 1])
            if "--data" in sys.argv
            else ROOT.parent / "shared" / "data"
        )
        return

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
