"""What each contamination method finds on the real data in ../shared/data.

    python bench/real_findings.py            # prints the table in docs/contamination.md

Pairs: GSM8K train vs GSM8K test, MATH train vs MATH test, the OpenMathInstruct-2 sample vs GSM8K
test + MATH test + MATH-500. Methods: dq.exact, dq.minhash (char 5-grams, Jaccard >= 0.5 / 0.7 /
0.9), dq.ngram (13-grams, any / >= 20 % of the item), dq.template (numbers masked).
"""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl

from dq.contamination.exact import ExactCheck
from dq.contamination.near import MinHashCheck, NgramCheck, TemplateCheck

DATA = Path(__file__).resolve().parent.parent.parent / "shared" / "data"


def bench(path: str, field: str) -> pl.DataFrame:
    return (
        pl.read_ndjson(DATA / path).select(pl.col(field).alias("question")).with_row_index("benchmark_index")
    )


def rows(path: str, field: str) -> pl.DataFrame:
    return pl.read_ndjson(DATA / path).select(pl.col(field).alias("problem")).with_row_index("pos")


CHECKS = {
    "exact": ExactCheck(ExactCheck.Options()),
    "minhash>=0.5": MinHashCheck(MinHashCheck.Options(threshold=0.5)),
    "minhash>=0.7": MinHashCheck(MinHashCheck.Options(threshold=0.7)),
    "minhash>=0.9": MinHashCheck(MinHashCheck.Options(threshold=0.9)),
    "ngram13 any": NgramCheck(NgramCheck.Options()),
    "ngram13 >=20%": NgramCheck(NgramCheck.Options(min_share=0.2)),
    "template": TemplateCheck(TemplateCheck.Options()),
}


def main() -> None:
    pairs = {
        "GSM8K train vs GSM8K test": (
            rows("gsm8k/train.jsonl", "question"),
            {"gsm8k": bench("gsm8k/test.jsonl", "question")},
        ),
        "MATH train vs MATH test": (
            rows("math/train.jsonl", "problem"),
            {"math": bench("math/test.jsonl", "problem")},
        ),
        "OpenMath sample vs GSM8K/MATH/MATH-500 test": (
            rows("openmathinstruct2/nemo_skills_sample.jsonl", "problem"),
            {
                "gsm8k": bench("gsm8k/test.jsonl", "question"),
                "math": bench("math/test.jsonl", "problem"),
                "math500": bench("math500/test.jsonl", "problem"),
            },
        ),
    }
    print(f"| pair | {' | '.join(CHECKS)} |")
    print("|---|" + "---|" * len(CHECKS))
    examples = []
    for label, (train, benchmarks) in pairs.items():
        cells = []
        for name, check in CHECKS.items():
            found = check.find(train, benchmarks)
            kinds = found["kind"].value_counts().sort("kind").rows() if found.height else []
            kind_text = ", ".join(f"{k} {n}" for k, n in kinds if k != "verbatim" or name != "exact")
            cells.append(
                f"{found['pos'].n_unique()} rows / {found.select('benchmark', 'benchmark_index').n_unique()} items"
                + (f" ({kind_text})" if kind_text and name != "exact" else "")
            )
            if name == "minhash>=0.7" and found.height:
                for r in found.sort("verified", descending=True).head(3).iter_rows(named=True):
                    examples.append(
                        (
                            label,
                            r["verified"],
                            r["kind"],
                            train["problem"][r["pos"]],
                            benchmarks[r["benchmark"]]["question"][r["benchmark_index"]],
                        )
                    )
        print(f"| {label} | {' | '.join(cells)} |")
    print()
    for label, score, kind, a, b in examples:
        print(
            f"- {label}, Jaccard {score:.2f} ({kind}):\n  train: {json.dumps(a[:160])}\n  test:  {json.dumps(b[:160])}"
        )


if __name__ == "__main__":
    main()
