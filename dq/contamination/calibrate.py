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


_NUMBER = re.compile(r"\d+(?:\.\d+)?")
DISTRACTORS = (
    "Her neighbor keeps 14 goldfish.",
    "The shop opened 3 years ago.",
    "It was 72 degrees outside that day.",
    "There are 25 students in the class next door.",
)
SYNONYMS = {
    "buys": "purchases",
    "bought": "purchased",
    "has": "owns",
    "gets": "receives",
    "total": "sum",
    "how many": "what number of",
    "each": "every",
    "makes": "earns",
    "spends": "pays",
    "find": "determine",
    "what is": "compute",
    "number": "count",
    "many": "a lot of",
}


def _one_number(text: str, rng: random.Random, edit: Callable[[re.Match[str]], str]) -> str:
    spots = list(_NUMBER.finditer(text))
    if not spots:
        return text
    m = rng.choice(spots)
    return text[: m.start()] + edit(m) + text[m.end() :]


def _one_number_changed(text: str, rng: random.Random) -> str:
    return _one_number(text, rng, lambda m: str(int(float(m.group())) + rng.randint(1, 9)))


def _number_removed(text: str, rng: random.Random) -> str:
    return re.sub(r"  +", " ", _one_number(text, rng, lambda m: ""))


def _numbers_scaled(text: str, rng: random.Random) -> str:
    factor = rng.choice((2, 3, 10))
    return _NUMBER.sub(lambda m: m.group() if "." in m.group() else str(int(m.group()) * factor), text)


def _distractor_with_number(text: str, rng: random.Random) -> str:
    sentences = [s for s in re.split(r"(?<=[.?!])\s+", text.strip()) if s]
    sentences.insert(rng.randrange(len(sentences)) if sentences else 0, rng.choice(DISTRACTORS))
    return " ".join(sentences)


def _synonym_swap(text: str, rng: random.Random) -> str:
    for word, other in SYNONYMS.items():
        text = re.sub(rf"\b{word}\b", other, text, flags=re.IGNORECASE)
    return text


def _template_paraphrase(text: str, rng: random.Random) -> str:
    """Reordered clauses, swapped synonyms and a lead-in: the lexical edit of a rewrite."""
    return (
        f"{rng.choice(('Consider this.', 'Here is a problem.', 'Suppose the following.'))} "
        + _synonym_swap(_clause_reorder(text, rng), rng)
    )


#: What calibration cannot measure: planted edits are lexical; real LLM rewrites are not.
LIMITS = (
    "planted copies are rule-based edits; real LLM rewrites (same quantities and answer, new wording) "
    "are not planted and their recall is not measured here: see docs/contamination.md"
)

PERTURBATIONS: dict[str, Callable[[str, random.Random], str]] = {
    "verbatim": lambda t, r: t,
    "case_space_unicode": _case_space_unicode,
    "numbers_changed": _numbers,
    "word_swap": _word_swap,
    "clause_reorder": _clause_reorder,
    "added_sentence": _added_sentence,
    "one_number_changed": _one_number_changed,
    "number_removed": _number_removed,
    "numbers_scaled": _numbers_scaled,
    "distractor_with_number": _distractor_with_number,
    "synonym_swap": _synonym_swap,
    "template_paraphrase": _template_paraphrase,
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
        "limits": LIMITS,
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
        examples = [
            {
                "problem": str(clean[int(r["pos"])])[:300],
                "benchmark": r["benchmark"],
                "benchmark_index": int(r["benchmark_index"]),
                "kind": r.get("kind"),
                "score": r.get("score"),
            }
            for r in false_rows.unique("pos", keep="first", maintain_order=True).head(5).iter_rows(named=True)
        ]
        result["checks"][f"{bound.name}[{bound.index}]"] = {
            "options": options.model_dump(),
            "recall": recall,
            "clean_rows_flagged": false_rows["pos"].n_unique(),
            "clean_pairs_flagged": false_rows.height,
            "clean_examples": examples,
        }
    return result


def format_table(result: dict[str, Any]) -> str:
    """Recall per planted kind (rows) and check (columns), clean rows flagged with examples, limits."""
    checks = list(result["checks"])
    width = max([14, *(len(c) for c in checks)])
    lines = [
        f"planted {result['planted_rows']} rows ("
        + ", ".join(f"{n} per kind from {b}" for b, n in result["per_kind"].items())
        + f") into {result['clean_rows']} clean problems",
        "",
        f"{'planted kind':24s}" + "".join(f" {c:>{width}s}" for c in checks),
    ]
    lines.append("-" * len(lines[-1]))
    for kind in PERTURBATIONS:
        cells = "".join(
            f" {(result['checks'][c]['recall'][kind] or 0) * 100:>{width - 1}.1f}%" for c in checks
        )
        lines.append(f"{kind:24s}{cells}")
    flagged = "".join(f" {result['checks'][c]['clean_rows_flagged']:>{width}d}" for c in checks)
    lines += [f"{'clean rows flagged':24s}{flagged}", ""]
    for check in checks:
        for example in result["checks"][check]["clean_examples"][:3]:
            lines.append(
                f"  {check} flagged clean: {example['problem'][:90]!r} ~ "
                f"{example['benchmark']}[{example['benchmark_index']}] ({example['kind'] or 'match'})"
            )
    lines += ["", f"Not measured: {result['limits']}."]
    return "\n".join(lines)
