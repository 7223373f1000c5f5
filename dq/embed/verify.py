"""The verification step of the semantic check: a rewrite of an item, or a template sibling?

Embeddings say two problems tell the same story; they do not say whether the numbers are the same.
A rewrite keeps the item's quantities (digits or number words, in any order) or its answer; a
template sibling (same story, other numbers) keeps neither. These helpers compare both.
"""

from __future__ import annotations

import re
from collections import Counter

_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
_WORD = re.compile(r"[a-z]+")
#: Number words an LLM rewrite may swap for digits (and back).
_CARDINALS = (
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen "
    "sixteen seventeen eighteen nineteen twenty"
).split()
# "one" is left out: "one robe", "one of them" read as an article far more often than as a quantity.
NUMBER_WORDS: dict[str, float] = {w: float(v) for v, w in enumerate(_CARDINALS) if w != "one"}
NUMBER_WORDS |= {
    "thirty": 30,
    "forty": 40,
    "fifty": 50,
    "sixty": 60,
    "seventy": 70,
    "eighty": 80,
    "ninety": 90,
}
NUMBER_WORDS |= {"twice": 2, "double": 2, "triple": 3, "half": 0.5, "dozen": 12, "hundred": 100}


def _canonical_number(text: str) -> str:
    """``80,000`` -> ``80000``, ``1.50`` -> ``1.5``, ``3.0`` -> ``3``: one spelling per value."""
    text = text.replace(",", "")
    try:
        value = float(text)
    except ValueError:
        return text
    return str(int(value)) if value.is_integer() else repr(value)


def quantities(text: str) -> Counter[str]:
    """The multiset of quantities of a (lower-case) text: numerals and number words."""
    found = Counter(_canonical_number(m) for m in _NUMBER.findall(text))
    found.update(_canonical_number(str(NUMBER_WORDS[w])) for w in _WORD.findall(text) if w in NUMBER_WORDS)
    return found


def quantity_overlap(a: Counter[str], b: Counter[str]) -> float:
    """Shared quantities over the larger multiset: 1.0 when equal (or both have none)."""
    larger = max(sum(a.values()), sum(b.values()))
    return 1.0 if larger == 0 else sum((a & b).values()) / larger


def answer_key(answer: str | None) -> str | None:
    """A comparable answer: GSM8K's ``#### x`` tail, ``\\boxed{}``/``$``/spaces/commas stripped."""
    if answer is None:
        return None
    text = str(answer).split("####")[-1]
    text = re.sub(r"\\boxed\{(.*)\}", r"\1", text)
    text = re.sub(r"[\s$]", "", text).replace("\\!", "").rstrip(".")
    if not text:
        return None
    return _canonical_number(text) if re.fullmatch(r"-?[\d.,]+", text) else text


def char_jaccard(a: str, b: str, n: int = 5) -> float:
    """Jaccard of character n-gram sets: the lexical similarity reported next to the cosine."""
    sa = {a[i : i + n] for i in range(max(len(a) - n + 1, 1))}
    sb = {b[i : i + n] for i in range(max(len(b) - n + 1, 1))}
    return len(sa & sb) / len(sa | sb) if sa or sb else 1.0
