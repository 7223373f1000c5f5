"""Self-calibration: plant perturbed benchmark items into a copy of the data, measure recall.

For each perturbation kind, ``per_kind`` benchmark items are edited and added to the training
problems; every contamination check of the rule set then runs on the result. Recall is the share
of planted rows a check attributes to the right benchmark item; false positives are the clean
rows a check flags at all (on data believed clean, an upper bound on its false-alarm rate).
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable
from typing import Any

import polars as pl

from dq.api.run import Plan

FILLERS = ("Show your work.", "Explain each step.", "Give the final answer as a number.", "Read carefully.")


def _case_space_unicode(text: str, rng: random.Random) -> str:
    full_width = str.maketrans("0123456789", "０１２３４５６７８９")
    words = [w.upper() if rng.random() < 0.3 else w for w in text.split(" ")]
    return "  ".join(words).translate(full_width) + "\n"


def _numbers(text: str, rng: random.Random) -> str:
    return re.sub(r"\d+", lambda m: str(int(m.group()) + rng.randint(1, 9)), text)


def _word_swap(text: str, rng: random.Random) -> str:
    words = text.split(" ")
    for _ in range(2):
        if len(words) > 3:
            i = rng.randrange(len(words) - 1)
            words[i], words[i + 1] = words[i + 1], words[i]
    return " ".join(words)


def _clause_reorder(text: str, rng: random.Random) -> str:
    sentences = [s for s in re.split(r"(?<=[.?!])\s+", text.strip()) if s]
    if len(sentences) < 2:
        return _word_swap(text, rng)
    head, question = sentences[:-1], sentences[-1]
    rng.shuffle(head)
    return " ".join([question, *head]) if rng.random() < 0.5 else " ".join([*head, question])


def _added_sentence(text: str, rng: random.Random) -> str:
    return f"{text} {rng.choice(FILLERS)}" if rng.random() < 0.5 else f"{rng.choice(FILLERS)} {text}"


PERTURBATIONS: dict[str, Callable[[str, random.Random], str]] = {
    "verbatim": lambda t, r: t,
    "case_space_unicode": _case_space_unicode,
    "numbers_changed": _numbers,
    "word_swap": _word_swap,
    "clause_reorder": _clause_reorder,
    "added_sentence": _added_sentence,
}


def planted_rows(benchmarks: dict[str, pl.DataFrame], per_kind: int, seed: int) -> pl.DataFrame:
    """Perturbed copies: (problem, kind, benchmark, benchmark_index)."""
    rng = random.Random(seed)
    out: list[tuple[str, str, str, int]] = []
    for name, bench in benchmarks.items():
        questions = bench["question"].to_list()
        for kind, perturb in PERTURBATIONS.items():
            for index in rng.sample(range(len(questions)), min(per_kind, len(questions))):
                out.append((perturb(questions[index], rng), kind, name, index))
    return pl.DataFrame(out, schema=["problem", "kind", "benchmark", "benchmark_index"], orient="row")


def calibrate(
    plan: Plan,
    clean: pl.Series,
    benchmarks: dict[str, pl.DataFrame],
    per_kind: int = 100,
    seed: int = 0,
) -> dict[str, Any]:
    """Recall per (check, perturbation kind) and false positives on the clean problems."""
    planted = planted_rows(benchmarks, per_kind, seed)
    problems = pl.concat([clean.alias("problem"), planted["problem"]])
    rows = pl.DataFrame({"problem": problems}).with_row_index("pos")
    truth = planted.with_row_index("pos").with_columns(pl.col("pos") + clean.len())
    result: dict[str, Any] = {
        "clean_rows": clean.len(),
        "planted_rows": planted.height,
        "per_kind_requested": per_kind,
        # What was planted, per kind and benchmark (a benchmark smaller than per_kind gives fewer).
        "per_kind": {
            name: planted.filter(pl.col("benchmark") == name).height // len(PERTURBATIONS)
            for name in benchmarks
        },
        "checks": {},
    }
    for bound in plan.checks:
        options = bound.check.options
        matches = bound.check.find(rows, benchmarks)
        hits = matches.select("pos", "benchmark", "benchmark_index").unique()
        found = truth.join(hits, on=["pos", "benchmark", "benchmark_index"], how="semi")
        recall = {}
        for kind in PERTURBATIONS:
            total = truth.filter(pl.col("kind") == kind).height
            recall[kind] = round(found.filter(pl.col("kind") == kind).height / total, 4) if total else None
        false_rows = matches.filter(pl.col("pos") < clean.len())
        result["checks"][f"{bound.name}[{bound.index}]"] = {
            "options": options.model_dump(),
            "recall": recall,
            "clean_rows_flagged": false_rows["pos"].n_unique(),
            "clean_pairs_flagged": false_rows.height,
        }
    return result


def format_table(result: dict[str, Any]) -> str:
    kinds = list(PERTURBATIONS)
    lines = [
        f"planted {result['planted_rows']} rows ("
        + ", ".join(f"{n} per kind from {b}" for b, n in result["per_kind"].items())
        + ") "
        f"into {result['clean_rows']} clean problems",
        "",
    ]
    header = f"{'check':22s} " + " ".join(f"{k[:14]:>14s}" for k in kinds) + f" {'clean flagged':>14s}"
    lines += [header, "-" * len(header)]
    for name, r in result["checks"].items():
        cells = " ".join(f"{(r['recall'][k] or 0) * 100:13.1f}%" for k in kinds)
        lines.append(f"{name:22s} {cells} {r['clean_rows_flagged']:14d}")
    return "\n".join(lines)
