"""OpenMath-shaped corpora built from real GSM8K/MATH text (for tests and benchmarks).

Rows have OpenMathInstruct-2's fields (``problem``, ``generated_solution``, ``expected_answer``,
``problem_source``). Most rows pass the strict gate, as in real data; a few percent carry each
trap: a wrong label, a spaced ``\\boxed {``, a "repair" phrase, prompt residue, or an augmented
source the filter skips. Numbers in problems are varied so groups are realistic (many problems,
several solutions each).
"""

from __future__ import annotations

import json
import random
import re
from pathlib import Path

import polars as pl

from dq.text.normalize import last_boxed

_CALC = re.compile(r"<<[^>]*>>")
_NUMBER = re.compile(r"\b\d+\b")
PHRASES = (
    "we must be an integer here, so",
    "Strictly interpreting the statement,",
    "She cannot spend more than she has.",
)
RESIDUE = ("Problem: ", "Here is a new problem: ", "Write another problem inspired by this one. ")


def base_rows(data_dir: Path) -> list[tuple[str, str, str, str]]:
    """(source, problem, solution, answer) from GSM8K train and MATH train."""
    rows = []
    with (data_dir / "gsm8k/train.jsonl").open(encoding="utf-8") as fh:
        for line in fh:
            d = json.loads(line)
            body, _, answer = d["answer"].rpartition("####")
            answer = answer.strip()
            solution = _CALC.sub("", body).strip() + f"\nThe answer is $\\boxed{{{answer}}}$."
            rows.append(("gsm8k", d["question"], solution, answer))
    with (data_dir / "math/train.jsonl").open(encoding="utf-8") as fh:
        for line in fh:
            d = json.loads(line)
            answer = last_boxed(d["solution"])
            if answer is not None:
                rows.append(("math", d["problem"], d["solution"], answer))
    return rows


def _vary(problem: str, rng: random.Random) -> str:
    numbers = _NUMBER.findall(problem)
    if not numbers:
        return problem
    target = rng.choice(numbers)
    return problem.replace(target, str(int(target) + rng.randint(1, 9)), 1)


def openmath_shaped(n: int, data_dir: Path, seed: int = 0, trap_rate: float = 0.02) -> pl.DataFrame:
    """``n`` OpenMath-shaped rows; each trap kind hits about ``trap_rate`` of the rows."""
    rng = random.Random(seed)
    base = base_rows(data_dir)
    out: dict[str, list[str]] = {
        "problem": [],
        "generated_solution": [],
        "expected_answer": [],
        "problem_source": [],
    }
    for _ in range(n):
        source, problem, solution, answer = rng.choice(base)
        if rng.random() < 0.5:
            problem = _vary(problem, rng)
        roll = rng.random() / trap_rate
        if roll < 1:
            answer = answer + "1"
        elif roll < 2:
            solution = solution.replace("\\boxed{", "\\boxed {")
        elif roll < 3:
            solution = rng.choice(PHRASES) + " " + solution
        elif roll < 4:
            problem = rng.choice(RESIDUE) + problem
        elif roll < 5:
            source = "augmented_" + source
        out["problem"].append(problem)
        out["generated_solution"].append(solution)
        out["expected_answer"].append(answer)
        out["problem_source"].append(source)
    return pl.DataFrame(out)
