"""The near-duplicate split at scale: does it pass its own leakage gate, and how close is val_ratio?

    python bench/bench_split.py --rows 1000000                   # OpenMath-shaped, from ../shared/data
    python bench/bench_split.py --rows 1000000 --corpus noisy    # word-edited clusters near the threshold

Builds the rows (``openmath_shaped``, sources gsm8k and math, as near.toml's source filter keeps
them; or ``noisy``: random word edits of base problems, ``--cluster-rows`` a cluster, copies
around the 0.7 threshold from each other, which fills large LSH buckets), splits them with near.toml's
``[split]`` (dq.grouped, near_duplicates, threshold 0.7), then runs the near-duplicate leakage
check (``near_overlap``) on train + val. Prints leakage matches, the val share per source, the
time of each step and the peak RSS.
"""

from __future__ import annotations

import argparse
import random
import resource
import time
from pathlib import Path

import polars as pl

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT.parent / "shared" / "data"


def noisy(n: int, cluster_rows: int = 500, seed: int = 0) -> pl.DataFrame:
    rng = random.Random(seed)
    vocab = [f"w{i}" for i in range(20_000)]
    bases = [[rng.choice(vocab) for _ in range(30)] for _ in range(max(1, n // cluster_rows))]
    problems, sources = [], []
    for _ in range(n):
        c = rng.randrange(len(bases))
        words = list(bases[c])
        for _ in range(rng.randint(0, 6)):
            words[rng.randrange(30)] = rng.choice(vocab)
        problems.append(" ".join(words))
        sources.append("gsm8k" if c % 2 else "math")
    return pl.DataFrame({"source": sources, "problem": problems})


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--corpus", choices=["openmath", "noisy"], default="openmath")
    parser.add_argument("--cluster-rows", type=int, default=500, help="noisy: rows per cluster")
    args = parser.parse_args()

    from dq.contamination.leakage import near_overlap
    from dq.split.grouped import GroupedOptions, GroupedSplitter
    from dq.testing.corpus import openmath_shaped
    from dq.text.vector import with_canonical

    start = time.perf_counter()
    if args.corpus == "openmath":
        rows = openmath_shaped(args.rows, DATA).rename({"problem_source": "source"})
        rows = rows.filter(pl.col("source").is_in(["gsm8k", "math"]))
    else:
        rows = noisy(args.rows, args.cluster_rows)
    rows = with_canonical(rows.with_columns(row_id=pl.int_range(pl.len()).cast(pl.String)))
    built = time.perf_counter()
    options = GroupedOptions(near_duplicates=True, near_threshold=0.7, val_ratio=0.1)
    result = GroupedSplitter(options).split(rows)
    split = time.perf_counter()
    train, val = rows[result.train], rows[result.val]
    gate = near_overlap(train, val, 0.7)
    gated = time.perf_counter()

    total = rows.group_by("source").len()
    got = val.group_by("source").len().join(total, on="source", suffix="_all", how="right").sort("source")
    shares = ", ".join(f"{s} {(v or 0) / n:.2%} ({v or 0}/{n})" for v, s, n in got.iter_rows())
    print(
        f"{args.corpus}: {rows.height:,} rows ({rows['canonical'].n_unique():,} distinct problems), "
        f"groups train {result.train_groups:,} / val {result.val_groups:,}\n"
        f"near-duplicate leakage matches (val rows): {gate['val_row_count']}\n"
        f"val share (target 10.00%): overall {val.height / rows.height:.2%}; {shares}\n"
        f"time: build {built - start:.1f} s, split {split - built:.1f} s, leakage check {gated - split:.1f} s; "
        f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:,.0f} MiB"
    )


if __name__ == "__main__":
    main()
