"""Memory at scale: stream N million OpenMath-shaped problems through dq scan (MinHash check).

    python bench/bench_scale.py --millions 5

Builds a problem-only Parquet file of N x 1M distinct problems (the 1M-row bench corpus with a
copy id appended), then runs ``dq scan`` with the dq.minhash check (defaults) on it in a child process and prints
wall time, rows/s and peak RSS. Memory follows --batch-rows, not the file size.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / "bench" / "_data"


def build(millions: int) -> Path:
    import polars as pl
    import pyarrow.parquet as pq

    path = CACHE / f"problems_{millions}M.parquet"
    if path.exists():
        return path
    base = pl.read_parquet(CACHE / "openmath_1000000_unique.parquet", columns=["problem"])
    with pq.ParquetWriter(path, base.to_arrow().schema) as writer:
        for copy in range(millions):
            writer.write_table(
                base.with_columns(pl.col("problem") + f" [copy {copy}]").to_arrow(), row_group_size=250_000
            )
    return path


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--millions", type=int, default=5)
    parser.add_argument("--batch-rows", type=int, default=500_000)
    args = parser.parse_args()
    if not (CACHE / "openmath_1000000_unique.parquet").exists():
        sys.exit("run bench/bench_minhash.py --rows 1000000 --unique first (it builds the corpus)")
    path = build(args.millions)
    rules = CACHE / "scale_rules.toml"  # dq.minhash with its defaults, all match kinds
    rules.write_text(
        '[[benchmarks]]\nname = "gsm8k"\n[[benchmarks]]\nname = "math"\n[[benchmarks]]\nname = "math500"\n'
        '[[contamination]]\ncheck = "dq.minhash"\naction = "warn"\n'
    )
    out = CACHE / "scan_matches.jsonl"
    cmd = [
        sys.executable,
        "-m",
        "dq",
        "scan",
        "--rules",
        str(rules),
        "--input",
        str(path),
        "--batch-rows",
        str(args.batch_rows),
        "--out",
        str(out),
    ]
    env = {**os.environ, "DQ_BENCHMARK_DIR": str(ROOT.parent / "shared" / "data")}
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, env=env)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    rows = args.millions * 1_000_000
    matches = sum(1 for _ in out.open())
    print(
        f"dq scan (dq.minhash defaults): {rows:,} rows, {matches:,} matches in {wall:.1f} s = "
        f"{rows / wall:,.0f} rows/s, peak RSS {usage.ru_maxrss / 1024:,.0f} MiB, exit {os.waitstatus_to_exitcode(status)}"
    )


if __name__ == "__main__":
    main()
