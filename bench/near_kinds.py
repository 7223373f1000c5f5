"""Recall per planted kind and check on GSM8K/MATH test copies; clean rows flagged on real train data.

    python bench/near_kinds.py [--data ../shared/data] [--rules rules/near.toml] [--per-kind N] [--seed 0]

Planted copies come from ``dq.contamination.perturb`` (the generators ``dq calibrate`` uses, one
seeded edit per item and kind, items a kind cannot edit skipped): up to N items per kind of GSM8K
test and of MATH test (default: every item). Every check of the rule set runs against GSM8K test
+ MATH test + MATH-500, next to the union of those checks and a plain lm-eval-style 13-gram
baseline (any shared word 13-gram). Clean: GSM8K train, MATH train and the OpenMathInstruct-2
sample. Prints markdown tables: recall on the right item, then clean rows flagged (any item).
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import polars as pl

from dq.contamination.calibrate import ANY, BASELINE, expected_kinds, plain_ngram_matches, score
from dq.contamination.perturb import PERTURBATIONS, planted_rows
from dq.pipeline.plan import RunOptions, build_plan
from dq.plugins import build_registry, make_plugin_manager

CLEAN = {
    "GSM8K train": ("gsm8k/train.jsonl", "question"),
    "MATH train": ("math/train.jsonl", "problem"),
    "OpenMath sample": ("openmathinstruct2/nemo_skills_sample.jsonl", "problem"),
}


def _bench(path: Path, field: str) -> pl.DataFrame:
    return pl.read_ndjson(path).select(pl.col(field).alias("question")).with_row_index("benchmark_index")


def plan_and_benchmarks(rules: Path, data: Path) -> tuple[object, dict[str, pl.DataFrame]]:
    """The rule set's plan (benchmarks from ``data``) and the three test sets, as ``dq run`` loads them."""
    os.environ["DQ_BENCHMARK_DIR"] = str(data)
    pm, infos, _ = make_plugin_manager()
    plan = build_plan(rules, build_registry(pm, infos), RunOptions(input_spec="x"))
    benchmarks = {
        "gsm8k": _bench(data / "gsm8k/test.jsonl", "question"),
        "math": _bench(data / "math/test.jsonl", "problem"),
        "math500": _bench(data / "math500/test.jsonl", "problem"),
    }
    return plan, benchmarks


def _matches(
    plan: object, rows: pl.DataFrame, benchmarks: dict[str, pl.DataFrame]
) -> dict[str, pl.DataFrame]:
    """Every check's matches on ``rows`` (with its wall time), the union, and the baseline."""
    out: dict[str, pl.DataFrame] = {}
    for bound in plan.checks:  # type: ignore[attr-defined]
        start = time.perf_counter()
        covers = {n: benchmarks[n] for n in (bound.benchmarks or benchmarks) if n in benchmarks}
        found = bound.check.find(rows, covers).select("pos", "benchmark", "benchmark_index", "kind", "score")
        found = found.with_columns(bound.action_of(found["kind"], found.height))
        out[f"{bound.name}[{bound.index}]"] = found
        print(f"  {bound.name}[{bound.index}]: {time.perf_counter() - start:.1f} s", flush=True)
    out[ANY] = pl.concat(list(out.values()))
    out[BASELINE] = plain_ngram_matches(rows, benchmarks).with_columns(
        score=pl.lit(None, pl.Float64), action=pl.lit("fail")
    )
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", type=Path, default=Path("../shared/data"))
    ap.add_argument("--rules", type=Path, default=Path("rules/near.toml"))
    ap.add_argument("--per-kind", type=int, default=10**9)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    plan, benchmarks = plan_and_benchmarks(args.rules, args.data)
    planted = planted_rows({k: benchmarks[k] for k in ("gsm8k", "math")}, args.per_kind, args.seed)
    clean = {name: pl.read_ndjson(args.data / path)[field] for name, (path, field) in CLEAN.items()}
    texts = pl.concat([*clean.values(), planted["problem"]]).alias("problem")
    n_clean = sum(s.len() for s in clean.values())
    rows = pl.DataFrame({"problem": texts}).with_row_index("pos")
    truth = planted.with_row_index("pos").with_columns(pl.col("pos") + n_clean, expected_kinds(planted))
    print(f"{planted.height} planted rows, {n_clean} clean rows; {args.rules}", flush=True)
    found = _matches(plan, rows, benchmarks)
    empty = pl.Series("problem", [], dtype=pl.String)
    checks = list(found)
    print("\n| benchmark | planted kind | n | " + " | ".join(f"`{c}`" for c in checks) + " |")
    print("|---" * (3 + len(checks)) + "|")
    scores = {
        c: score(m.filter(pl.col("pos") >= n_clean), truth, empty, benchmarks) for c, m in found.items()
    }
    counts = dict(((k, b), n) for k, b, n in planted.group_by("kind", "benchmark").len().iter_rows())
    for bench in ("gsm8k", "math"):
        for kind in PERTURBATIONS:
            cells = [scores[c]["recall_by_benchmark"].get(bench, {}).get(kind) for c in checks]
            text = " | ".join("-" if v is None else f"{v * 100:.1f} %" for v in cells)
            print(f"| {bench} | {kind} | {counts.get((kind, bench), 0)} | {text} |")
    start = 0
    for name, series in clean.items():
        part = pl.col("pos").is_between(start, start + series.len() - 1)
        cells = [m.filter(part)["pos"].n_unique() for m in found.values()]
        text = " | ".join(f"{n} ({n / series.len() * 100:.2f} %)" for n in cells)
        print(f"| clean | {name} flagged | {series.len()} | {text} |")
        # Flagged above counts every match; a gate fails only on matches whose action (per kind,
        # kind_actions) is fail or drop: warned matches are reported, not counted against the data.
        cells = [
            m.filter(part & pl.col("action").is_in(["fail", "drop"]))["pos"].n_unique()
            for m in found.values()
        ]
        text = " | ".join(f"{n} ({n / series.len() * 100:.2f} %)" for n in cells)
        print(f"| clean | {name} failing | {series.len()} | {text} |")
        start += series.len()


if __name__ == "__main__":
    main()
