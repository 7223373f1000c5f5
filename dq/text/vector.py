"""Vectorized (Polars) forms of the reference recipes in :mod:`dq.normalize`.

Each function takes a String Series and returns a Series with the same verdicts as the reference
function applied row by row. The fast path covers plain-ASCII rows (the vast majority of math
SFT data); rows the fast path cannot decide exactly (non-ASCII text, where Python's Unicode
lower/NFKC/``\\b`` and Rust's may differ, boxes nested deeper than two levels, or odd control
characters) are patched with the reference function, one Python call per such row only.
Regexes are the exception: user patterns never run on Python ``re`` row by row (it can
backtrack for minutes on one row); :func:`regex_search` uses :mod:`dq.text.linear_regex`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from functools import cache
from typing import Any

import polars as pl

from dq.text import linear_regex
from dq.text import normalize as ref

_BOX = ref.BOX_OPEN
# Box content with at most two levels of nested braces, up to the box's closing brace.
_DEPTH2_BOX = r"^((?:[^{}]|\{(?:[^{}]|\{[^{}]*\})*\})*)\}"
# Control characters on which Python's ``\s``/``isspace`` and Rust's ``\s`` disagree or that the
# ASCII fast path does not model.
_ODD_CONTROL = r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]"


@cache
def _python_ws_class() -> str:
    return "[" + "".join(re.escape(c) for c in ref.python_whitespace()) + "]"


def non_ascii(s: pl.Series) -> pl.Series:
    """True where the text has any non-ASCII character (cheap: byte length vs char length)."""
    return s.str.len_bytes() != s.str.len_chars()


def needs_reference(s: pl.Series) -> pl.Series:
    """Rows the ASCII fast path cannot decide exactly for regexes and canonical text."""
    return non_ascii(s) | s.str.contains(_ODD_CONTROL)


def patch(result: pl.Series, mask: pl.Series, source: pl.Series, fn: Callable[[str], Any]) -> pl.Series:
    """Replace ``result`` where ``mask`` holds by ``fn`` applied to ``source`` (reference path)."""
    idx = mask.fill_null(False).arg_true()
    if idx.len() == 0:
        return result
    values = [fn(text) for text in source.gather(idx).to_list()]
    return result.scatter(idx, pl.Series(values, dtype=result.dtype))


def _after_first_box(s: pl.Series) -> pl.Series:
    # str.find gives a byte offset and str.slice counts characters: equal on ASCII rows only,
    # which is all this is called on.
    pos = s.str.find(_BOX, literal=True)
    return pl.select(pl.lit(s).str.slice(pos + len(_BOX))).to_series().alias(s.name)


def last_boxed(s: pl.Series) -> pl.Series:
    """Vectorized :func:`dq.normalize.last_boxed`; null where the reference returns None."""
    has_box = s.str.contains(_BOX, literal=True)
    fast = has_box & ~non_ascii(s)
    tail = _after_first_box(s.zip_with(fast, pl.Series([None], dtype=pl.String)))
    more = tail.str.contains(_BOX, literal=True).fill_null(False)
    while more.any():  # rows with several boxes: step to the next box until the last one
        idx = more.arg_true()
        tail = tail.scatter(idx, _after_first_box(tail.gather(idx)))
        more = tail.str.contains(_BOX, literal=True).fill_null(False)
    content = tail.str.extract(_DEPTH2_BOX, 1).str.strip_chars(ref.python_whitespace())
    unresolved = has_box & (~fast | content.is_null())
    return patch(content, unresolved, s, ref.last_boxed).alias("boxed")


def gate_normalize(s: pl.Series) -> pl.Series:
    """Vectorized :func:`dq.normalize.gate_normalize` (exact for all Unicode: explicit classes)."""
    return (
        s.str.replace_all(_python_ws_class() + "+", "")
        .str.replace_all("\\left", "", literal=True)
        .str.replace_all("\\right", "", literal=True)
        .str.replace_all("\\tfrac", "\\frac", literal=True)
    )


def _collapse_ascii_whitespace(s: pl.Series) -> pl.Series:
    # One regex replace over every row costs seconds per million; most rows need no change, so
    # map \t\n\r to spaces and halve runs of spaces only on the rows that have them.
    s = s.str.replace_many(["\t", "\n", "\r"], [" ", " ", " "])
    more = s.str.contains("  ", literal=True)
    while more.any():
        idx = more.arg_true()
        s = s.scatter(idx, s.gather(idx).str.replace_all("  ", " ", literal=True))
        more = s.str.contains("  ", literal=True)
    edge = s.str.starts_with(" ") | s.str.ends_with(" ")
    idx = edge.arg_true()
    return s.scatter(idx, s.gather(idx).str.strip_chars(" ")) if idx.len() else s


def canonical_problem(s: pl.Series, slow: pl.Series | None = None) -> pl.Series:
    """Vectorized :func:`dq.normalize.canonical_problem`; NFKC/lower via Python on non-ASCII rows."""
    slow = needs_reference(s) if slow is None else slow
    fast_form = _collapse_ascii_whitespace(s.str.to_lowercase())
    return patch(fast_form, slow, s, ref.canonical_problem).alias("canonical")


def with_canonical(rows: pl.DataFrame) -> pl.DataFrame:
    """``rows`` with a ``canonical`` column (the canonical problem), computed once and carried."""
    if "canonical" in rows.columns:
        return rows
    problems = rows["problem"]
    distinct = problems.unique()
    if distinct.len() * 2 > problems.len():
        return rows.with_columns(canonical=canonical_problem(problems))
    # Several rows per problem (solutions sampled per problem): each problem canonicalized once.
    table = distinct.to_frame("problem").with_columns(canonical=canonical_problem(distinct))
    return rows.join(table, on="problem", how="left", maintain_order="left")


# Non-ASCII characters whose Python lower() contains ASCII letters (U+0130, U+212A): the only
# way Python's lower() can create an ASCII match that ASCII case-insensitive search misses.
_LOWERS_TO_ASCII = ["\u0130", "\u212a"]


def contains_phrases(s: pl.Series, phrases: Sequence[str], lowercase: bool) -> pl.Series:
    """True where any phrase occurs (in ``text.lower()`` when ``lowercase``), Aho-Corasick."""
    if not phrases:
        return pl.repeat(False, s.len(), dtype=pl.Boolean, eager=True).alias(s.name)
    if not lowercase:
        return s.str.contains_any(list(phrases))
    fast = s.str.contains_any(list(phrases), ascii_case_insensitive=True)
    if all(p.isascii() for p in phrases):
        slow = s.str.contains_any(_LOWERS_TO_ASCII)
    else:
        slow = non_ascii(s)
    return patch(fast, slow, s, lambda t: any(p in t.lower() for p in phrases))


def regex_search(s: pl.Series, patterns: Sequence[str], ignorecase: bool) -> pl.Series:
    """True where any pattern ``re.search``-es the text (flags: IGNORECASE or none).

    Patterns run on :mod:`dq.text.linear_regex` (Rust's regex, linear time, Python's verdicts
    exactly). Patterns it cannot run (backreferences, lookaround: ``linear_problem``) fall back
    to Python ``re`` on every row, which can backtrack for minutes: callers with user patterns
    reject those first or run them under a deadline (``linear_regex.python_search``), as the
    ``dq.regexes`` rule does.
    """
    linear = [p for p in patterns if linear_regex.linear_problem(p, ignorecase) is None]
    hit = linear_regex.search(s, linear, ignorecase)
    rest = [p for p in patterns if p not in linear]
    if rest:
        compiled = [re.compile(p, re.IGNORECASE if ignorecase else 0) for p in rest]
        hit = patch(hit, ~hit, s, lambda t: any(c.search(t) for c in compiled))
    return hit
