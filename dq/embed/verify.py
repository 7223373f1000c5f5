"""The verification step of the semantic check: a rewrite of an item, or a template sibling?

Embeddings say two problems tell the same story; they do not say whether the numbers are the same.
A rewrite keeps the item's quantities (digits or number words, in any order) or its answer; a
template sibling (same story, other numbers) keeps neither. These helpers compare both.

A quantity is a value, however it is written: ``3``, ``three``, ``thrice``, ``triple`` are 3;
``1/4``, ``\\frac{1}{4}``, ``a quarter``, ``one fourth`` and ``0.25`` are 0.25 (a fraction is one
quantity, its value, not its two numbers); ``two dozen`` is 24, ``four decades`` 40,
``twenty-five`` 25, ``two and a half`` 2.5.
"""

from __future__ import annotations

import re
from collections import Counter
from fractions import Fraction

_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
#: One token of a (lower-case) text: a fraction a/b or \frac{a}{b} (not part of a date or path), a
#: numeral, or a word.
_TOKEN = re.compile(
    r"\\[dt]?frac\{(?P<fn>\d+)\}\{(?P<fd>\d+)\}"
    r"|(?<![\d.,/])(?P<sn>\d+)/(?P<sd>\d+)(?![\d/]|[.,]\d)"
    r"|(?P<num>\d+(?:[.,]\d+)*)"
    r"|(?P<word>[a-z]+)"
)
#: Number words an LLM rewrite may swap for digits (and back).
_CARDINALS = (
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen "
    "sixteen seventeen eighteen nineteen twenty"
).split()
_TENS = {"thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90}
# "one" is left out: "one robe", "one of them" read as an article far more often than as a quantity.
NUMBER_WORDS: dict[str, float] = {w: float(v) for v, w in enumerate(_CARDINALS) if w != "one"}
NUMBER_WORDS |= {w: float(v) for w, v in _TENS.items()}
#: Multiplicative words: "doubles" is 2, "thrice" 3, "half"/"halved" 0.5 (alone or after a count).
MULTIPLES: dict[str, Fraction] = {
    **dict.fromkeys(("twice", "double", "doubles", "doubled", "doubling"), Fraction(2)),
    **dict.fromkeys(("thrice", "triple", "triples", "tripled", "tripling", "treble"), Fraction(3)),
    **dict.fromkeys(("quadruple", "quadruples", "quadrupled"), Fraction(4)),
    **dict.fromkeys(("half", "halve", "halved"), Fraction(1, 2)),
}
#: Fraction words: "a third of", "two thirds", "one-fifth", "three quarters" (count / denominator).
#: The ordinals count only after a cardinal ("two fifths") or as "a fifth of": "a third friend",
#: "the fourth day" are no fractions.
DENOMINATORS: dict[str, int] = {"half": 2, "halves": 2, "quarter": 4, "quarters": 4}
_ORDINALS = ("third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth", "tenth")
for _d, _w in enumerate(_ORDINALS, start=3):
    DENOMINATORS[_w] = DENOMINATORS[_w + "s"] = _d
#: Words that multiply the count before them ("two dozen" 24, "four decades" 40 years); alone
#: ("a dozen", "hundred") they are their own value.
SCALES: dict[str, int] = {
    "dozen": 12,
    "hundred": 100,
    "thousand": 1000,
    "million": 1_000_000,
    "decade": 10,
    "decades": 10,
    "century": 100,
    "centuries": 100,
}
_ARTICLES = ("a", "an")


def _canonical_number(text: str) -> str:
    """``80,000`` -> ``80000``, ``1.50`` -> ``1.5``, ``3.0`` -> ``3``: one spelling per value."""
    text = text.replace(",", "")
    try:
        value = float(text)
    except ValueError:
        return text
    return _canonical_value(value)


def _canonical_value(value: float | Fraction) -> str:
    value = float(value)
    return str(int(value)) if value.is_integer() else repr(value)


def _count(token: tuple[str, str] | None) -> Fraction | None:
    """The count a token gives before a fraction or scale word: a cardinal, "one", a/an, digits."""
    if token is None:
        return None
    kind, text = token
    if kind == "num":
        try:
            return Fraction(text.replace(",", ""))
        except ValueError:
            return None
    if text == "one" or text in _ARTICLES:
        return Fraction(1)
    if text in NUMBER_WORDS:
        return Fraction(NUMBER_WORDS[text])
    return None


def _tokens(text: str) -> list[tuple[str, str]]:
    out = []
    for m in _TOKEN.finditer(text):
        for a, b in (("fn", "fd"), ("sn", "sd")):
            if m.group(a) is not None:
                den = int(m.group(b))
                if den:
                    out.append(("value", _canonical_value(Fraction(int(m.group(a)), den))))
                else:  # 1/0: two numbers
                    out += [("num", m.group(a)), ("num", m.group(b))]
                break
        else:
            kind = "num" if m.group("num") is not None else "word"
            out.append((kind, m.group(kind)))
    return out


def _fraction_at(tokens: list[tuple[str, str]], i: int) -> tuple[Fraction, int] | None:
    """A spelled fraction starting at ``tokens[i]`` ("a quarter", "two thirds", "a fifth of"), and its
    length in tokens."""
    if i + 1 >= len(tokens) or tokens[i][0] != "word" or tokens[i + 1][0] != "word":
        return None
    count, word = _count(tokens[i]), tokens[i + 1][1]
    if count is None or word not in DENOMINATORS or count.denominator != 1:
        return None
    ordinal = word.rstrip("s") in _ORDINALS
    if ordinal and tokens[i][1] in _ARTICLES:
        after = tokens[i + 2] if i + 2 < len(tokens) else None
        if after != ("word", "of"):
            return None
    if word.endswith("s") and count == 1:  # "a quarters": no
        return None
    return count / DENOMINATORS[word], 2


def quantities(text: str) -> Counter[str]:
    """The multiset of quantities of a (lower-case) text: numerals, fractions and number words.

    Digits are read as before (``80,000`` = ``80000``); what is spelled joins into one value:
    ``twenty-five`` 25, ``two dozen`` 24, ``four decades`` 40, ``a third of`` 1/3, ``two and a
    half`` 2.5, ``thrice`` 3; a fraction ``a/b`` or ``\\frac{a}{b}`` is its value.
    """
    tokens = _tokens(text)
    found: Counter[str] = Counter()
    i = 0
    while i < len(tokens):
        kind, word = tokens[i]
        if kind == "value":
            found[word] += 1
            i += 1
            continue
        frac = _fraction_at(tokens, i)
        if frac is not None:
            found[_canonical_value(frac[0])] += 1
            i += frac[1]
            continue
        value, used = _spelled_or_digits(tokens, i)
        if value is not None:
            found[value] += 1
        i += used
    return found


def _spelled_or_digits(tokens: list[tuple[str, str]], i: int) -> tuple[str | None, int]:
    """The quantity starting at ``tokens[i]`` (None for a word that is none) and its token count."""
    kind, word = tokens[i]
    nxt = tokens[i + 1] if i + 1 < len(tokens) else None
    if kind == "word" and word in MULTIPLES:
        return _canonical_value(MULTIPLES[word]), 1
    count, used = _count(tokens[i]), 1
    if count is None and kind == "word" and word in SCALES and not word.endswith("s"):
        count, used = Fraction(1), 0  # "dozen", "hundred" alone: their own value
    if count is None:
        return (None, 1) if kind == "word" else (_canonical_number(word), 1)
    if (word in _TENS or word == "twenty") and nxt is not None and nxt[0] == "word":  # twenty-five
        unit = nxt[1]
        if unit == "one" or (unit in NUMBER_WORDS and 0 < NUMBER_WORDS[unit] < 10):
            count += 1 if unit == "one" else int(NUMBER_WORDS[unit])
            used = 2
    scaled = False
    while i + used < len(tokens) and tokens[i + used][0] == "word" and tokens[i + used][1] in SCALES:
        count *= SCALES[tokens[i + used][1]]
        used, scaled = used + 1, True
    # "two and a half", "3 and a quarter"
    if i + used + 2 < len(tokens) and tokens[i + used] == ("word", "and"):
        frac = _fraction_at(tokens, i + used + 1)
        if frac is not None and frac[0] < 1:
            return _canonical_value(count + frac[0]), used + 1 + frac[1]
    if not scaled and used == 1:
        if kind == "num":
            return _canonical_number(word), 1
        if word == "one" or word in _ARTICLES:  # an article, or "one" alone: no quantity
            return None, 1
    return _canonical_value(count), used


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
