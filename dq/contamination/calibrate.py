"""Self-calibration: plant perturbed benchmark items into a copy of the data, measure recall.

For each perturbation kind (:mod:`dq.contamination.perturb`), up to ``per_kind`` items of each
benchmark are edited and added to the training problems; every contamination check of the rule
set then runs on the result, as does a plain lm-eval-style 13-gram baseline. Recall is the share
of planted rows a check attributes to the right benchmark item; the clean rows a check flags at
all bound its false-alarm rate on data believed clean. Planted edits are rule-based: how a check
fares on real LLM rewrites is not measured here (``LIMITS``).
"""

from __future__ import annotations

import re
from typing import Any

import polars as pl

from dq.api.run import Plan
from dq.contamination.near import _kind
from dq.contamination.perturb import PERTURBATIONS, planted_rows
from dq.contamination.shingles import numbers, prepare

#: What calibration cannot measure, printed with every result.
LIMITS = (
    "planted copies are rule-based edits (number edits, distractors, reordered clauses, synonym "
    "swaps, template paraphrases); real LLM rewrites (same quantities and answer, new wording) cannot "
    "be planted by rules, so their recall is not measured here and can be far lower than any figure "
    "above: measure them on real rewrites (docs/contamination.md)"
)
ANY = "any check"
BASELINE = "13-gram any (lm-eval)"
_WORD = re.compile(r"[^\w]+")


def expected_kinds(planted: pl.DataFrame) -> pl.Series:
    """The match kind a check should report for each planted row against its source item."""
    mine, theirs = prepare(planted["problem"]).to_list(), prepare(planted["source"]).to_list()
    return pl.Series(
        "expected_kind",
        [_kind(a, b, numbers(a), numbers(b)) for a, b in zip(mine, theirs, strict=True)],
        dtype=pl.String,
    )


def _grams(text: str, n: int) -> set[str]:
    words = _WORD.sub(" ", text.lower()).split()
    return {" ".join(words[i : i + n]) for i in range(len(words) - n + 1)}


def plain_ngram_matches(rows: pl.DataFrame, benchmarks: dict[str, pl.DataFrame], n: int = 13) -> pl.DataFrame:
    """The field's baseline (GPT-3 / lm-eval decontamination): any shared word ``n``-gram flags a pair.

    Text is lower-cased and split on non-word characters; no share, no number awareness. Returns
    (pos, benchmark, benchmark_index) for every pair sharing at least one ``n``-gram.
    """
    index: dict[str, list[tuple[str, int]]] = {}
    for name, bench in benchmarks.items():
        for item, text in zip(bench["benchmark_index"], bench["question"], strict=True):
            for gram in _grams(text or "", n):
                index.setdefault(gram, []).append((name, int(item)))
    found: set[tuple[int, str, int]] = set()
    for pos, text in zip(rows["pos"], rows["problem"], strict=True):
        for gram in _grams(text or "", n):
            found.update((int(pos), name, item) for name, item in index.get(gram, ()))
    schema = {"pos": pl.UInt32, "benchmark": pl.String, "benchmark_index": pl.Int64}
    return pl.DataFrame(sorted(found), schema=schema, orient="row").with_columns(kind=pl.lit(None, pl.String))


def _share(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _recall(truth: pl.DataFrame, found: pl.DataFrame) -> dict[str, float | None]:
    totals = dict(truth.group_by("kind").len().iter_rows())
    hits = dict(found.group_by("kind").len().iter_rows())
    return {kind: _share(hits.get(kind, 0), totals.get(kind, 0)) for kind in PERTURBATIONS}


def _examples(clean: pl.Series, flagged: pl.DataFrame, benchmarks: dict[str, pl.DataFrame]) -> list[dict]:
    """A few clean rows a check flagged, each with its best match (highest score) as evidence."""
    if "score" in flagged.columns:
        flagged = flagged.sort("score", descending=True, nulls_last=True)
    examples = []
    for r in (
        flagged.unique("pos", keep="first", maintain_order=True).sort("pos").head(5).iter_rows(named=True)
    ):
        item = benchmarks[r["benchmark"]]["question"][int(r["benchmark_index"])]
        examples.append(
            {
                "problem": str(clean[int(r["pos"])])[:300],
                "benchmark": r["benchmark"],
                "benchmark_index": int(r["benchmark_index"]),
                "benchmark_problem": str(item)[:300],
                "kind": r.get("kind"),
                "score": r.get("score"),
            }
        )
    return examples


def score(
    matches: pl.DataFrame,
    truth: pl.DataFrame,
    clean: pl.Series,
    benchmarks: dict[str, pl.DataFrame],
    covers: tuple[str, ...] | None = None,
) -> dict[str, Any]:
    """Recall per planted kind (overall and per benchmark), kind-label agreement, clean rows flagged.

    ``covers`` names the benchmarks the check compares against: planted copies of other
    benchmarks are not counted against it.
    """
    if covers is not None:
        truth = truth.filter(pl.col("benchmark").is_in(list(covers)))
    hits = matches.select("pos", "benchmark", "benchmark_index", "kind").unique(maintain_order=True)
    right = truth.join(hits.rename({"kind": "found_kind"}), on=["pos", "benchmark", "benchmark_index"])
    found = right.unique("pos")
    agrees = right.filter(pl.col("found_kind") == pl.col("expected_kind")).unique("pos")
    flagged = matches.filter(pl.col("pos") < clean.len())
    n_flagged = flagged["pos"].n_unique()
    return {
        "recall": _recall(truth, found),
        "recall_by_benchmark": {
            name: _recall(
                truth.filter(pl.col("benchmark") == name), found.filter(pl.col("benchmark") == name)
            )
            for name in truth["benchmark"].unique(maintain_order=True)
        },
        # Of the planted rows found on the right item, the share labelled with the expected kind.
        "kind_label_agreement": _recall(found, agrees),
        "clean_rows_flagged": n_flagged,
        "clean_share_flagged": _share(n_flagged, clean.len()),
        "clean_pairs_flagged": flagged.height,
        "clean_examples": _examples(clean, flagged, benchmarks),
    }


def calibrate(
    plan: Plan,
    clean: pl.Series,
    benchmarks: dict[str, pl.DataFrame],
    per_kind: int = 100,
    seed: int = 0,
    baseline: bool = True,
) -> dict[str, Any]:
    """Recall per (check, planted kind), clean rows flagged per check, and what is not measured."""
    planted = planted_rows(benchmarks, per_kind, seed)
    rows = pl.DataFrame({"problem": pl.concat([clean.alias("problem"), planted["problem"]])}).with_row_index(
        "pos"
    )
    truth = planted.with_row_index("pos").with_columns(pl.col("pos") + clean.len(), expected_kinds(planted))
    counts = planted.group_by("kind", "benchmark").len()
    result: dict[str, Any] = {
        "clean_rows": clean.len(),
        "planted_rows": planted.height,
        "per_kind_requested": per_kind,
        # Items drawn per kind from each benchmark (fewer when the benchmark is smaller) ...
        "per_kind": {name: min(per_kind, bench.height) for name, bench in benchmarks.items()},
        # ... and the rows actually planted: a kind that cannot edit an item (no number) skips it.
        "planted": {kind: {b: n for k, b, n in counts.iter_rows() if k == kind} for kind in PERTURBATIONS},
        "checks": {},
        "limits": LIMITS,
    }
    found = []
    for bound in plan.checks:
        covers = tuple(bound.benchmarks) or tuple(benchmarks)
        matches = bound.check.find(rows, {name: benchmarks[name] for name in covers if name in benchmarks})
        found.append(matches.select("pos", "benchmark", "benchmark_index", "kind", "score"))
        entry = {"options": bound.check.options.model_dump(), "action": bound.action}
        result["checks"][f"{bound.name}[{bound.index}]"] = entry | score(
            matches, truth, clean, benchmarks, covers
        )
    if found:
        result["checks"][ANY] = score(pl.concat(found), truth, clean, benchmarks)
    if baseline:
        result["checks"][BASELINE] = score(plain_ngram_matches(rows, benchmarks), truth, clean, benchmarks)
    return result


def format_table(result: dict[str, Any]) -> str:
    """Recall per planted kind and check, one table per benchmark; clean rows flagged; limits."""
    checks = list(result["checks"])
    width = max([9, *(len(c) for c in checks)])
    planted = result["planted"]
    lines = [
        f"planted {result['planted_rows']} rows (up to {result['per_kind_requested']} per kind and "
        f"benchmark; n = rows actually planted) into {result['clean_rows']} clean problems",
    ]
    for bench in result["per_kind"]:
        header = f"{bench + ': planted kind':30s} {'n':>5s}" + "".join(f" {c:>{width}s}" for c in checks)
        lines += ["", header, "-" * len(header)]
        for kind in PERTURBATIONS:
            cells = ""
            for c in checks:
                value = result["checks"][c]["recall_by_benchmark"].get(bench, {}).get(kind)
                cells += f" {'-':>{width}s}" if value is None else f" {value * 100:>{width - 1}.1f}%"
            lines.append(f"{kind:30s} {planted[kind].get(bench, 0):5d}{cells}")
    clean = "".join(f" {result['checks'][c]['clean_rows_flagged']:>{width}d}" for c in checks)
    share = "".join(
        f" {(result['checks'][c]['clean_share_flagged'] or 0) * 100:>{width - 1}.2f}%" for c in checks
    )
    lines += ["", f"{'clean rows flagged':36s}{clean}", f"{'  share of clean rows':36s}{share}", ""]
    for check in checks:
        for ex in result["checks"][check]["clean_examples"][:2]:
            lines.append(
                f"  {check} flagged clean: {ex['problem'][:80]!r}\n"
                f"      best match {ex['benchmark']}[{ex['benchmark_index']}] ({ex['kind'] or 'match'}): "
                f"{ex['benchmark_problem'][:80]!r}"
            )
    lines += ["", f"Not measured: {result['limits']}."]
    return "\n".join(lines)
