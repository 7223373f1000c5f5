"""datatrove's MinHash pipeline on the same rows and parameters as bench_minhash.py (for comparison).

    pip install datatrove regex xxhash tokenizers nltk   # in a separate venv: datatrove pins its own deps
    python bench/bench_datatrove.py --rows 1000000

Index mode, the closest datatrove has to "query a benchmark": signatures of the benchmark items,
an index built from them, signatures of the training rows, then buckets matched against the index.
5-grams, 32 buckets x 4 hashes (= dq's 128 permutations in 32 bands), 2 tasks (2 cores). datatrove
shingles words (its own tokenizer), dq defaults to characters; time is what is compared here.
datatrove reports which training rows hit the index but not which benchmark item they matched.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT.parent / "shared" / "data"
CACHE = ROOT / "bench" / "_data"


def main() -> None:
    from datatrove.executor import LocalPipelineExecutor
    from datatrove.pipeline.dedup.minhash import (
        MinhashBuildIndex,
        MinhashConfig,
        MinhashDedupBuckets,
        MinhashDedupSignature,
    )
    from datatrove.pipeline.readers import JsonlReader, ParquetReader
    from datatrove.utils.hashing import HashConfig

    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--unique", action="store_true")
    args = parser.parse_args()
    train = CACHE / f"openmath_{args.rows}{'_unique' if args.unique else ''}.parquet"
    config = MinhashConfig(
        n_grams=5, num_buckets=32, hashes_per_bucket=4, hash_config=HashConfig(precision=32, hash_fc="sha1")
    )
    with tempfile.TemporaryDirectory() as tmp:
        bench_dir = Path(tmp) / "bench"
        bench_dir.mkdir()
        with (bench_dir / "items.jsonl").open("w") as fh:
            for rel, field in (
                ("gsm8k/test.jsonl", "question"),
                ("math/test.jsonl", "problem"),
                ("math500/test.jsonl", "problem"),
            ):
                for i, line in enumerate((DATA / rel).open()):
                    fh.write(json.dumps({"text": json.loads(line)[field], "id": f"{rel}:{i}"}) + "\n")
        timings = {}
        start = time.perf_counter()
        LocalPipelineExecutor(
            pipeline=[JsonlReader(str(bench_dir)), MinhashDedupSignature(f"{tmp}/bsig", config=config)],
            tasks=1,
            logging_dir=f"{tmp}/logs1",
        ).run()
        LocalPipelineExecutor(
            pipeline=[MinhashBuildIndex(f"{tmp}/bsig", f"{tmp}/index", index_name="bench", config=config)],
            tasks=config.num_buckets,
            workers=2,
            logging_dir=f"{tmp}/logs2",
        ).run()
        timings["index"] = time.perf_counter() - start
        start = time.perf_counter()
        train_dir = Path(tmp) / "train"
        train_dir.mkdir()
        (train_dir / train.name).symlink_to(train)
        LocalPipelineExecutor(
            pipeline=[
                ParquetReader(str(train_dir), text_key="problem"),
                MinhashDedupSignature(f"{tmp}/tsig", config=config),
            ],
            tasks=2,
            workers=2,
            logging_dir=f"{tmp}/logs3",
        ).run()
        timings["signatures"] = time.perf_counter() - start
        start = time.perf_counter()
        LocalPipelineExecutor(
            pipeline=[
                MinhashDedupBuckets(
                    f"{tmp}/tsig",
                    f"{tmp}/buckets",
                    index_folder=f"{tmp}/index",
                    config=config,
                    only_dedup_in_index=True,
                )
            ],
            tasks=config.num_buckets,
            workers=2,
            logging_dir=f"{tmp}/logs4",
        ).run()
        timings["buckets"] = time.perf_counter() - start
        total = timings["signatures"] + timings["buckets"]
        print(
            f"datatrove minhash (index mode): {args.rows:,} rows, signatures {timings['signatures']:.1f} s, "
            f"buckets vs index {timings['buckets']:.1f} s, total {total:.1f} s = {args.rows / total:,.0f} rows/s "
            f"(benchmark index {timings['index']:.1f} s)"
        )


if __name__ == "__main__":
    main()
