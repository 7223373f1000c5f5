"""Benchmark: near-duplicate contamination of N OpenMath-shaped rows against GSM8K test + MATH
test + MATH-500 (6,819 items), dq's MinHash and n-gram checks vs datasketch built per row.

    python bench/bench_minhash.py --rows 1000000 [--unique] [--datasketch-rows 20000]

Each measurement runs in its own child process (peak RSS via os.wait4). ``--unique`` makes every
problem distinct (a variant id appended), so dq's de-duplication of repeated problems gets no help.
datasketch's loop (MinHash per row, char 5-grams, update_batch, MinHashLSH query, exact Jaccard
verification of candidates) runs on the first ``--datasketch-rows`` rows; its rows/s is reported.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT.parent / "shared" / "data"
CACHE = ROOT / "bench" / "_data"

DQ_CHECK = """
import json, sys, time
import polars as pl
from dq.data.benchmarks import load_benchmark
from dq.api.schema import BenchmarkSpec
from dq.contamination.near import MinHashCheck, NgramCheck
data = sys.argv[2]
bench = {n: load_benchmark(BenchmarkSpec(name=n, path=f"{data}/{p}"))[0]
         for n, p in (("gsm8k", "gsm8k/test.jsonl"), ("math", "math/test.jsonl"), ("math500", "math500/test.jsonl"))}
rows = pl.read_parquet(sys.argv[1], columns=["problem"]).with_row_index("pos")
check = MinHashCheck(MinHashCheck.Options()) if sys.argv[3] == "minhash" else NgramCheck(NgramCheck.Options())
t0 = time.perf_counter()
found = check.find(rows, bench)
t1 = time.perf_counter()
print(json.dumps({"seconds": t1 - t0, "matches": found.height, "rows_matched": found["pos"].n_unique()}))
"""

DATASKETCH = """
import json, sys, time
import polars as pl
from datasketch import MinHash, MinHashLSH
from dq.text.normalize import canonical_problem
n = int(sys.argv[3])
data = sys.argv[2]
items = []
for p, f in (("gsm8k/test.jsonl", "question"), ("math/test.jsonl", "problem"), ("math500/test.jsonl", "problem")):
    items += pl.read_ndjson(f"{data}/{p}")[f].to_list()
def grams(text):
    b = canonical_problem(text).encode()
    return {b[i:i + 5] for i in range(max(len(b) - 4, 1))}
def sign(g):
    m = MinHash(num_perm=128)
    m.update_batch(list(g))
    return m
lsh = MinHashLSH(threshold=0.5, num_perm=128)
bench_grams = [grams(t) for t in items]
for i, g in enumerate(bench_grams):
    lsh.insert(i, sign(g))
rows = pl.read_parquet(sys.argv[1], columns=["problem"]).head(n)["problem"].to_list()
t0 = time.perf_counter()
found = 0
for text in rows:
    g = grams(text)
    for key in lsh.query(sign(g)):
        b = bench_grams[key]
        if len(g & b) / len(g | b) >= 0.5:
            found += 1
t1 = time.perf_counter()
print(json.dumps({"seconds": t1 - t0, "rows": n, "matches": found}))
"""


def corpus(rows: int, unique: bool) -> Path:
    CACHE.mkdir(parents=True, exist_ok=True)
    path = CACHE / f"openmath_{rows}{'_unique' if unique else ''}.parquet"
    if not path.exists():
        import polars as pl

        from dq.testing.corpus import openmath_shaped

        frame = openmath_shaped(rows, DATA, seed=1)
        if unique:
            frame = frame.with_columns(
                pl.col("problem") + " (variant " + pl.int_range(pl.len()).cast(pl.String) + ")"
            )
        frame.write_parquet(path)
    return path


def measured(cmd: list[str]) -> tuple[float, dict]:
    """Run one child; return (its peak RSS in MiB, its JSON output)."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, text=True)
        _, status, usage = os.wait4(proc.pid, 0)
        out.seek(0)
        err.seek(0)
        if os.waitstatus_to_exitcode(status) != 0:
            sys.exit(f"{cmd[:3]} failed: {err.read()[-2000:]}")
        return usage.ru_maxrss / 1024, json.loads(out.read())


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--unique", action="store_true")
    parser.add_argument("--datasketch-rows", type=int, default=20_000)
    args = parser.parse_args()
    path = corpus(args.rows, args.unique)
    py = sys.executable
    table = []
    for method in ("minhash", "ngram"):
        start = time.perf_counter()
        rss, res = measured([py, "-c", DQ_CHECK, str(path), str(DATA), method])
        wall = time.perf_counter() - start
        table.append(
            (f"dq.{method} (check only; process incl. load {wall:.1f}s)", args.rows, res["seconds"], rss, res)
        )
    rss, res = measured([py, "-c", DATASKETCH, str(path), str(DATA), str(args.datasketch_rows)])
    table.append(("datasketch per-row MinHash + MinHashLSH + verify", res["rows"], res["seconds"], rss, res))
    print(
        f"rows={args.rows:,} unique={args.unique} benchmarks=GSM8K test + MATH test + MATH-500 (6,819 items)"
    )
    print(f"{'measurement':58s} {'rows':>10s} {'seconds':>8s} {'rows/s':>10s} {'peak RSS':>9s}  result")
    for label, rows, seconds, rss, res in table:
        print(f"{label:58s} {rows:10,d} {seconds:8.2f} {rows / seconds:10,.0f} {rss:7.0f}Mi  {res}")


if __name__ == "__main__":
    main()
