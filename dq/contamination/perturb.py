"""Planted edits of benchmark items: the perturbation kinds ``dq calibrate`` measures recall on.

Each generator takes an item's text and a seeded ``random.Random`` and returns the edited text,
or ``None`` when the edit cannot apply to that item (no number to remove, a single sentence to
reorder, no word with a synonym): such items are skipped, never planted unchanged, so the counts
reported are the counts planted. The edits are written for GSM8K/MATH text: numbers keep their
thousands separators and decimals, ``$``/``%`` travel with a removed number, LaTeX problems get
LaTeX distractors, and sentence splits respect GSM8K's double spaces.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable

import polars as pl

#: A quantity as written in GSM8K/MATH: 80,000 / 3.5 / 12 (the unit of every number edit);
#: exponents and subscripts ("x^2", "a_1") are not quantities and stay.
NUMBER = re.compile(r"(?<![\w.^_])\d{1,3}(?:,\d{3})+(?:\.\d+)?(?![\w])|(?<![\w.^_])\d+(?:\.\d+)?(?![\w])")
# A removed number takes its currency sign and percent with it ("$2 per egg" -> "per egg"); in
# LaTeX a number alone between dollars goes with both ("$5$"), so no unbalanced "$" is left.
_STORY_NUMBER = re.compile(rf"\$?(?:{NUMBER.pattern})%?")
_LATEX_NUMBER = re.compile(rf"\$(?:{NUMBER.pattern})(?:\\%)?\$|(?:{NUMBER.pattern})(?:\\%)?")
_LATEX = re.compile(r"\\|\$[^\d\s$.]")
_MATH_SPAN = re.compile(r"\$([^$]*[=+\-][^$]*[\w})])\$")
_SENTENCE = re.compile(r"(?<=[.?!])\s+(?=[A-Z$\\])")
FILLERS = ("Show your work.", "Explain each step.", "Give the final answer as a number.", "Read carefully.")
STORY_DISTRACTORS = (
    "Her neighbor keeps {n} goldfish in a tank.",
    "The shop down the street opened {n} years ago.",
    "It was {n} degrees outside that day.",
    "There are {n} students in the class next door.",
    "His cousin lives {n} miles away.",
    "The bus ride to town takes {n} minutes.",
)
MATH_DISTRACTORS = (
    "Note that ${n}$ is not needed here.",
    "A similar exercise used the value ${n}$.",
    "Recall that ${n} + 1 = {m}$.",
)
NUMBER_PHRASES = (" in {y}", " on day {n}", " for {n} weeks", " at {n} o'clock")
QUANTIFIERS = re.compile(r"\b(?:some|several|a few|a couple of)\b(?= [a-z])")
#: word or phrase -> synonym, applied on word boundaries, case kept ("How many" -> "What number of").
SYNONYMS = dict(
    pair.split("=")  # type: ignore[misc]
    for pair in (
        "buys=purchases|bought=purchased|gets=receives|got=received|makes=earns|spends=pays|"
        "each=every|total=sum|how many=what number of|how much=what amount|find=determine|"
        "compute=calculate|wants=would like|needs=requires|starts=begins|store=shop|friends=pals|"
        "every day=daily|large=big|small=little|fast=quick|house=home|money=cash|"
        "evaluate=compute|smallest=least|largest=greatest|probability=chance|"
        "positive integers=positive whole numbers"
    ).split("|")
)
LEAD_INS = ("Consider this problem.", "Here is a word problem.", "Suppose the following.", "Solve this.")
QUESTION_FORMS = (
    (re.compile(r"^How (many|much) "), r"Find out how \1 "),
    (re.compile(r"^What is "), "Determine "),
    (re.compile(r"^Find "), "Work out "),
)


def sentences(text: str) -> list[str]:
    """Sentences of a problem (GSM8K's double spaces collapse; LaTeX periods rarely split)."""
    return [s for s in _SENTENCE.split(text.strip()) if s]


def is_latex(text: str) -> bool:
    """A MATH-style problem (``$`` opens math, or a TeX command), not a GSM8K story with prices."""
    return _LATEX.search(text) is not None


def _cased(word: str) -> Callable[[re.Match[str]], str]:
    """A replacement that keeps the capital of the word it replaces."""
    return lambda m: word[:1].upper() + word[1:] if m.group()[:1].isupper() else word


def _shift(number: str, rng: random.Random) -> str:
    """Another value written like ``number`` (commas and decimals kept)."""
    value = float(number.replace(",", "")) + rng.randint(1, 9)
    return _written_like(value, number)


def _written_like(value: float, like: str) -> str:
    decimals = len(like.split(".")[1]) if "." in like else 0
    text = f"{value:,.{decimals}f}" if "," in like else f"{value:.{decimals}f}"
    return text


def _spots(text: str) -> list[re.Match[str]]:
    return list(NUMBER.finditer(text))


def _replace(text: str, m: re.Match[str], new: str) -> str:
    return text[: m.start()] + new + text[m.end() :]


def verbatim(text: str, rng: random.Random) -> str | None:
    """The item itself."""
    return text


def case_space_unicode(text: str, rng: random.Random) -> str | None:
    """Upper-cased words, doubled spaces, full-width digits: equal once canonical."""
    full_width = str.maketrans("0123456789", "０１２３４５６７８９")
    words = [w.upper() if rng.random() < 0.3 else w for w in text.split(" ")]
    return "  ".join(words).translate(full_width) + "\n"


def numbers_changed(text: str, rng: random.Random) -> str | None:
    """Every number shifted by 1-9 (a template sibling)."""
    return NUMBER.sub(lambda m: _shift(m.group(), rng), text) if _spots(text) else None


def one_number_changed(text: str, rng: random.Random) -> str | None:
    """One number shifted by 1-9."""
    spots = _spots(text)
    return _replace(text, m := rng.choice(spots), _shift(m.group(), rng)) if spots else None


def number_removed(text: str, rng: random.Random) -> str | None:
    """One number deleted with its ``$``/``%`` ("has 12 red cars" -> "has red cars")."""
    spots = list((_LATEX_NUMBER if is_latex(text) else _STORY_NUMBER).finditer(text))
    if not spots:
        return None
    m = rng.choice(spots)
    return re.sub(r"(?<=\S)  +(?=\S)", " ", _replace(text, m, "")).replace(" .", ".").strip()


def number_added(text: str, rng: random.Random) -> str | None:
    """One number more inside an existing sentence: a quantifier made a number, or a dated phrase."""
    quantifiers = list(QUANTIFIERS.finditer(text))
    if quantifiers:
        return _replace(text, rng.choice(quantifiers), str(rng.randint(2, 9)))
    spans = list(_MATH_SPAN.finditer(text)) if is_latex(text) else []
    if spans:  # a term more in a formula: "$x^2+x-6$" -> "$x^2+x-6+4$"
        m = rng.choice(spans)
        return text[: m.end(1)] + f"+{rng.randint(2, 9)}" + text[m.end(1) :]
    parts = sentences(text)
    premises = [i for i, s in enumerate(parts) if s[-1] == "." and "$" not in s]
    if not premises:
        return None
    i = rng.choice(premises)
    phrase = rng.choice(NUMBER_PHRASES).format(y=rng.randint(2001, 2023), n=rng.randint(2, 12))
    parts[i] = parts[i][:-1] + phrase + "."
    return " ".join(parts)


def numbers_scaled(text: str, rng: random.Random) -> str | None:
    """Every number multiplied by 2, 3 or 10 (the same story at another scale)."""
    if not _spots(text):
        return None
    factor = rng.choice((2, 3, 10))
    scaled = NUMBER.sub(lambda m: _written_like(float(m.group().replace(",", "")) * factor, m.group()), text)
    return scaled if scaled != text else None  # an item whose numbers are all 0


def numbers_swapped(text: str, rng: random.Random) -> str | None:
    """Two different numbers trade places ("(x+2)(3x-6)" -> "(x+3)(2x-6)")."""
    spots = _spots(text)
    pairs = [(a, b) for i, a in enumerate(spots) for b in spots[i + 1 :] if a.group() != b.group()]
    if not pairs:
        return None
    a, b = rng.choice(pairs)
    return text[: a.start()] + b.group() + text[a.end() : b.start()] + a.group() + text[b.end() :]


def distractor_with_number(text: str, rng: random.Random) -> str | None:
    """An irrelevant sentence holding a number, inserted before the question."""
    pool = MATH_DISTRACTORS if is_latex(text) else STORY_DISTRACTORS
    n = rng.randint(3, 95)
    sentence = rng.choice(pool).format(n=n, m=n + 1)
    parts = sentences(text)
    parts.insert(rng.randrange(max(1, len(parts))), sentence)  # before the last sentence: the question
    return " ".join(parts)


def clause_reorder(text: str, rng: random.Random) -> str | None:
    """Premise sentences shuffled (question kept last), or a leading "If A, B" turned to "B if A"."""
    parts = sentences(text)
    head, last = parts[:-1], parts[-1:]
    if len(head) >= 2:
        order = list(range(len(head)))
        while order == sorted(order):
            rng.shuffle(order)
        return " ".join([*(head[i] for i in order), *last])
    m = re.match(r"^(If|When) ([^,]{8,}), (.{8,}?)([?.])$", parts[-1]) if parts else None
    if m is None:
        return None
    clause = m.group(3)[:1].upper() + m.group(3)[1:]
    return " ".join([*head, f"{clause} {m.group(1).lower()} {m.group(2)}{m.group(4)}"])


def word_swap(text: str, rng: random.Random) -> str | None:
    """Two pairs of neighbouring words swapped (typo-level noise)."""
    words = text.split(" ")
    if len(words) < 4:
        return None
    for _ in range(2):
        i = rng.randrange(len(words) - 1)
        words[i], words[i + 1] = words[i + 1], words[i]
    swapped = " ".join(words)
    return swapped if swapped != text else None


def added_sentence(text: str, rng: random.Random) -> str | None:
    """An instruction without a number before or after the problem."""
    return f"{text} {rng.choice(FILLERS)}" if rng.random() < 0.5 else f"{rng.choice(FILLERS)} {text}"


def _synonyms(text: str, rng: random.Random, at_most: int) -> str | None:
    found = [w for w in SYNONYMS if re.search(rf"\b{w}\b", text, flags=re.IGNORECASE)]
    if not found:
        return None
    for word in rng.sample(found, min(at_most, len(found))):
        text = re.sub(rf"\b{word}\b", _cased(SYNONYMS[word]), text, flags=re.IGNORECASE)
    return text


def synonym_swap(text: str, rng: random.Random) -> str | None:
    """Up to three words or phrases replaced by synonyms ("bought" -> "purchased")."""
    return _synonyms(text, rng, 3)


def template_paraphrase(text: str, rng: random.Random) -> str | None:
    """Same story and numbers, other wording: lead-in, reordered clauses, synonyms, question form."""
    parts = sentences(clause_reorder(text, rng) or text)
    for pattern, replacement in QUESTION_FORMS:  # the first form that fits, once
        if pattern.match(parts[-1]):
            parts[-1] = pattern.sub(replacement, parts[-1], count=1)
            break
    text = " ".join(parts)
    return f"{rng.choice(LEAD_INS)} {_synonyms(text, rng, len(SYNONYMS)) or text}"


PLANTED_SCHEMA = {
    "problem": pl.String,
    "kind": pl.String,
    "benchmark": pl.String,
    "benchmark_index": pl.Int64,
    "source": pl.String,
}
Perturbation = Callable[[str, random.Random], str | None]

#: Every planted kind, in report order.
PERTURBATIONS: dict[str, Perturbation] = {
    "verbatim": verbatim,
    "case_space_unicode": case_space_unicode,
    "numbers_changed": numbers_changed,
    "one_number_changed": one_number_changed,
    "number_removed": number_removed,
    "number_added": number_added,
    "numbers_scaled": numbers_scaled,
    "numbers_swapped": numbers_swapped,
    "distractor_with_number": distractor_with_number,
    "added_sentence": added_sentence,
    "word_swap": word_swap,
    "clause_reorder": clause_reorder,
    "synonym_swap": synonym_swap,
    "template_paraphrase": template_paraphrase,
}


def perturb(kind: str, text: str, rng: random.Random) -> str | None:
    """One planted copy of ``text``, or ``None`` when ``kind`` cannot apply (or changes nothing)."""
    out = PERTURBATIONS[kind](text, rng)
    if out is None or (kind != "verbatim" and out == text):
        return None
    return out


def planted_rows(
    benchmarks: dict[str, pl.DataFrame], per_kind: int, seed: int, kinds: list[str] | None = None
) -> pl.DataFrame:
    """Perturbed copies: (problem, kind, benchmark, benchmark_index, source), ``per_kind`` at most each.

    The items of a benchmark are visited in one seeded order shared by every kind, so kinds are
    measured on the same items wherever they apply; an item a kind cannot edit is passed over for
    the next one, and a kind that applies to fewer items plants fewer rows.
    """
    rows: list[tuple[str, str, str, int, str]] = []
    for name, bench in benchmarks.items():
        questions = bench["question"].to_list()
        order = random.Random(f"{seed}/{name}").sample(range(len(questions)), len(questions))
        for kind in kinds or list(PERTURBATIONS):
            rng = random.Random(f"{seed}/{name}/{kind}")  # a kind's edits do not depend on the others
            planted = 0
            for index in order:
                if planted == per_kind:
                    break
                source = questions[index]
                edited = perturb(kind, source, rng) if source else None
                if edited is not None:
                    rows.append((edited, kind, name, index, source))
                    planted += 1
    return pl.DataFrame(rows, schema=PLANTED_SCHEMA, orient="row")
