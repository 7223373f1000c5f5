"""The embedded demo corpus: deterministic, OpenMath-shaped, with every trap the study hit.

It holds clean rows, answer variants of one problem (several solutions), missing and
mismatched boxes, "repaired" reasoning phrases, prompt-generation residue, rows of sources the
strict filter skips, and a few planted copies of a small demo benchmark (verbatim, case and
whitespace variants, and an NFKC variant with full-width digits).
"""

from __future__ import annotations

import random
import re

import polars as pl

NAMES = ("Maya", "Liam", "Aisha", "Diego", "Noor", "Kenji", "Olga", "Tariq", "Zoe", "Ravi")
ITEMS = ("apples", "marbles", "stickers", "books", "pencils", "cookies")

WORD_TEMPLATES = (
    (
        "{n} has {a} {item}. {n} buys {b} more and gives away {c}. How many {item} does {n} have now?",
        lambda a, b, c: a + b - c,
    ),
    (
        "A box holds {a} {item}. {n} fills {b} boxes and then finds {c} loose {item}. How many {item} "
        "are there in all?",
        lambda a, b, c: a * b + c,
    ),
    (
        "{n} reads {a} pages a day for {b} days, then {c} pages on the last day. How many pages did "
        "{n} read?",
        lambda a, b, c: a * b + c,
    ),
    (
        "{n} earns ${a} an hour and works {b} hours. After spending ${c}, how many dollars are left?",
        lambda a, b, c: a * b - c,
    ),
)


def _math_problem(k: int, a: int, b: int, c: int) -> tuple[str, str]:
    """(problem, answer) for one of three MATH-shaped templates."""
    if k % 3 == 0:
        return f"Solve for $x$: $ {a}x + {b} = {c} $.", f"\\frac{{{c - b}}}{{{a}}}"
    if k % 3 == 1:
        m, d = a * 37 + b, a + 40
        return f"What is the remainder when ${m}$ is divided by ${d}$?", str(m % d)
    return f"Compute $\\dbinom{{{a}}}{{2}} + {b}$.", str(a * (a - 1) // 2 + b)


SUSPICIOUS = (
    "Since she cannot spend more than she has, we set the value to 100.",
    "Strictly interpreting the question, the answer must be an integer.",
    "The question seems to be looking for a whole number.",
)
RESIDUE = ("A new problem: ", "Problem: ", "Here is a new problem: ")


def _word_row(rng: random.Random, k: int) -> tuple[str, str, str]:
    template, answer_fn = WORD_TEMPLATES[k % len(WORD_TEMPLATES)]
    a, b, c = rng.randint(3, 40), rng.randint(2, 12), rng.randint(1, 9)
    name, item = rng.choice(NAMES), rng.choice(ITEMS)
    problem = template.format(n=name, a=a, b=b, c=c, item=item)
    answer = str(answer_fn(a, b, c))
    solution = (
        f"Let's compute step by step.\nStart with {a} and use {b} and {c}.\n"
        f"So the total is {answer}.\nThus the answer is \\boxed{{{answer}}}."
    )
    return problem, solution, answer


def _math_row(rng: random.Random, k: int) -> tuple[str, str, str]:
    problem, answer = _math_problem(k, rng.randint(2, 9), rng.randint(1, 30), rng.randint(31, 90))
    solution = (
        f"We work carefully.\n\\[ \\text{{value}} = {answer} \\]\n"
        f"Therefore, the answer is $\\boxed{{{answer}}}$."
    )
    return problem, solution, answer


BENCH_TEMPLATES = (
    "{n} takes a train that leaves the station at {a} miles per hour and travels for {b} hours "
    "before stopping for {c} minutes. How many miles has the train traveled when it stops?",
    "{n} follows a recipe that needs {a} cups of flour for every {b} cakes and wants to bake {c} "
    "batches of cakes. How many cups of flour does the baker need in total?",
    "{n} saves {a} dollars every week for {b} weeks and then spends {c} dollars on a gift for a "
    "friend. How much money does {n} have left after buying the gift?",
    "In the garden of {n} there are {a} rows of tomato plants with {b} plants in each row. If {c} "
    "plants die during the summer, how many tomato plants are still growing in the garden?",
)


def demo_benchmark(n: int = 40, seed: int = 7) -> pl.DataFrame:
    """A small GSM8K-shaped benchmark (``benchmark_index``, ``question``), its own templates."""
    rng = random.Random(seed)
    # Template k % 4 with name k // 4: no two items share a template once numbers are masked.
    questions = [
        BENCH_TEMPLATES[k % len(BENCH_TEMPLATES)].format(
            n=NAMES[k // len(BENCH_TEMPLATES) % len(NAMES)],
            a=rng.randint(11, 90),
            b=rng.randint(2, 12),
            c=rng.randint(3, 40),
        )
        for k in range(n)
    ]
    return pl.DataFrame({"question": questions}).with_row_index("benchmark_index")


def _paraphrase(text: str) -> str:
    """A light edit: two words swapped, one word changed, a sentence added."""
    words = text.split(" ")
    words[2], words[3] = words[3], words[2]
    words[-4] = "really"
    return " ".join(words) + " Show every step of your work."


def _numbers_changed(text: str) -> str:
    return re.sub(r"\d+", lambda m: str(int(m.group()) + 7), text)


#: Input positions of the planted benchmark copies: exact variants first, then near ones.
PLANTED_EXACT = (50, 450, 850, 1250)
PLANTED_NEAR = (1650, 2050)


def _planted(bench: list[str]) -> list[tuple[str, str, str, str]]:
    full_width = str.maketrans("0123456789", "０１２３４５６７８９")
    variants = [
        bench[3],  # verbatim
        bench[11].upper(),  # case
        "  " + bench[19].replace(" ", "   ") + "\n",  # whitespace
        bench[27].translate(full_width),  # NFKC (full-width digits)
        _paraphrase(bench[5]),  # near-duplicate: MinHash
        _numbers_changed(bench[7]),  # a template copy: numbers changed
    ]
    return [
        ("gsm8k", q, f"The answer follows.\nSo the answer is \\boxed{{{i}}}.", str(i))
        for i, q in enumerate(variants)
    ]


def demo_rows(n: int = 2000, seed: int = 20260420) -> pl.DataFrame:
    """The demo corpus as a DataFrame with the four dq columns, in 'stream' order."""
    rng = random.Random(seed)
    rows: list[tuple[str, str, str, str]] = []
    for k in range(n):
        source = rng.choice(("gsm8k", "gsm8k", "math", "math", "augmented_math"))
        make = _word_row if source == "gsm8k" else _math_row
        problem, solution, answer = make(rng, k)
        roll = rng.random()
        if roll < 0.04:
            solution = solution.replace("\\boxed{", "\\boxed {")  # not a box for the study
        elif roll < 0.10:
            answer = str(int(answer) + 1) if answer.isdigit() else answer + "1"
        elif roll < 0.13:
            solution = rng.choice(SUSPICIOUS) + "\n" + solution
        elif roll < 0.15:
            problem = rng.choice(RESIDUE) + problem
        rows.append((source, problem, solution, answer))
        if rng.random() < 0.08:  # an answer variant: a second solution to the same problem
            rows.append((source, problem, solution.replace("step by step", "in two steps"), answer))
    for offset, planted in enumerate(_planted(list(demo_benchmark()["question"]))):
        rows.insert((PLANTED_EXACT + PLANTED_NEAR)[offset], planted)
    return pl.DataFrame(
        rows, schema=["source", "problem", "generated_solution", "expected_answer"], orient="row"
    )
