"""Near-duplicate checks with kinds as labels: recall on number edits of GSM8K test, clean rows flagged.

    python bench/near_kinds.py [--data ../shared/data]

Perturbations (one per GSM8K test item, seeded): remove one number (with its word), add a
distractor sentence that holds a number, scale every number by 3, change one number. Clean:
GSM8K train and MATH train problems, against GSM8K test + MATH test + MATH-500. Prints, per
check and setting, the share of perturbed items found on the right item and of clean rows flagged.
"""

from __future__ import annotations

import argparse
import random
import re
import time
from pathlib import Path

import polars as pl

from dq.contamination.exact import ExactCheck
from dq.contamination.near import MinHashCheck, NgramCheck, TemplateCheck

NUMBER = re.compile(r"\d+(?:\.\d+)?")
DISTRACTORS = (
    "Her neighbor has 14 cats.",
    "The store opened 3 years ago.",
    "It was 72 degrees outside that day.",
    "There are 25 students in the class next door.",
)


def remove_number(q: str, rng: random.Random) -> str:
    spots = list(NUMBER.finditer(q))
    if not spots:
        return q + " "
    m = rng.choice(spots)
    return (q[: m.start()] + q[m.end() :]).replace("  ", " ")


def add_distractor(q: str, rng: random.Random) -> str:
    sentences = q.split(". ")
    at = rng.randrange(len(sentences))
    sentences.insert(at, rng.choice(DISTRACTORS).rstrip("."))
    return ". ".join(sentences)


def scale_numbers(q: str, rng: random.Random) -> str:
    return NUMBER.sub(lambda m: str(int(float(m.group()) * 3)) if "." not in m.group() else m.group(), q)


def change_number(q: str, rng: random.Random) -> str:
    spots = list(NUMBER.finditer(q))
    if not spots:
        return q + " "
    m = rng.choice(spots)
    return q[: m.start()] + str(int(float(m.group())) + rng.randint(1, 9)) + q[m.end() :]


EDITS = {
    "remove_number": remove_number,
    "add_distractor": add_distractor,
    "scale_numbers": scale_numbers,
    "change_number": change_number,
}


def bench(frame: pl.DataFrame, field: str) -> pl.DataFrame:
    return frame.select(pl.col(field).alias("question")).with_row_index("benchmark_index")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", type=Path, default=Path("../shared/data"))
    args = ap.parse_args()
    gsm_test = bench(pl.read_ndjson(args.data / "gsm8k/test.jsonl"), "question")
    benchmarks = {
        "gsm8k": gsm_test,
        "math": bench(pl.read_ndjson(args.data / "math/test.jsonl"), "problem"),
        "math500": bench(pl.read_ndjson(args.data / "math500/test.jsonl"), "problem"),
    }
    rng = random.Random(7)
    perturbed = {k: [f(q, rng) for q in gsm_test["question"]] for k, f in EDITS.items()}
    clean = {
        "gsm8k_train": pl.read_ndjson(args.data / "gsm8k/train.jsonl")["question"].to_list(),
        "math_train": pl.read_ndjson(args.data / "math/train.jsonl")["problem"].to_list(),
    }
    checks = {
        "exact": ExactCheck(ExactCheck.Options()),
        "minhash@0.5": MinHashCheck(MinHashCheck.Options(threshold=0.5)),
        "minhash@0.6": MinHashCheck(MinHashCheck.Options(threshold=0.6)),
        "minhash@0.7": MinHashCheck(MinHashCheck.Options(threshold=0.7)),
        "ngram13@0.2": NgramCheck(NgramCheck.Options(min_share=0.2)),
        "ngram13@any": NgramCheck(NgramCheck.Options()),
        "template": TemplateCheck(TemplateCheck.Options()),
    }
    header = ["check"] + list(EDITS) + list(clean)
    print(" | ".join(f"{h:>15s}" for h in header))
    for name, check in checks.items():
        start = time.perf_counter()
        cells = []
        for rows_of in (perturbed, clean):
            for texts in rows_of.values():
                rows = pl.DataFrame({"problem": texts}).with_row_index("pos")
                found = check.find(rows, benchmarks)
                if rows_of is perturbed:
                    right = found.filter(
                        (pl.col("benchmark") == "gsm8k")
                        & (pl.col("benchmark_index") == pl.col("pos").cast(pl.Int64))
                    )
                    cells.append(right["pos"].n_unique() / len(texts))
                else:
                    cells.append(found["pos"].n_unique() / len(texts) if found.height else 0.0)
        print(
            " | ".join([f"{name:>15s}"] + [f"{c * 100:14.1f}%" for c in cells])
            + f"   ({time.perf_counter() - start:.0f} s)"
        )


if __name__ == "__main__":
    main()
