"""Vectorized (Polars) forms of the reference recipes in :mod:`dq.normalize`.

Each function takes a String Series and returns a Series with the same verdicts as the reference
function applied row by row. The fast path covers plain-ASCII rows (the vast majority of math
SFT data); rows the fast path cannot decide exactly (non-ASCII text, where Python's Unicode
lower/NFKC/``\\b`` and Rust's may differ, boxes nested deeper than two levels, or odd control
characters) are patched with the reference function, one Python call per such row only.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from functools import cache
from typing import Any

import polars as pl

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
    return rows.with_columns(canonical=canonical_problem(rows["problem"]))


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


def portable_regex(pattern: str) -> bool:
    """Whether Rust's regex gives Python ``re.search``'s verdict for this pattern on ASCII text.

    Python's ``$`` also matches before a final newline and Rust has no lookarounds or
    backreferences; such patterns run through Python ``re`` instead.
    """
    bare = re.sub(r"\\.", "", pattern)
    if "$" in bare or "(?=" in pattern or "(?!" in pattern or "(?<" in pattern.replace("(?P<", ""):
        return False
    if re.search(r"\\[1-9]|\\Z|\\g<", pattern):
        return False
    try:
        pl.select(pl.lit("").str.contains(pattern))
    except Exception:  # noqa: BLE001 - Polars raises ComputeError for syntax it lacks
        return False
    return True


def _fast_alternation(patterns: Sequence[str], ignorecase: bool) -> str:
    body = "|".join(f"(?:{p})" for p in patterns)
    # Fast rows are pure ASCII, where ASCII-mode classes (\\b, \\s, \\w) equal the Unicode
    # ones; Rust's ASCII word boundary is ~5x faster. Patterns that cannot compile in ASCII
    # mode (they could match non-UTF-8 bytes) keep Unicode mode.
    for flags in ("i-u" if ignorecase else "-u", "i" if ignorecase else ""):
        candidate = f"(?{flags}){body}" if flags else body
        try:
            pl.select(pl.lit("").str.contains(candidate))
            return candidate
        except Exception:  # noqa: BLE001 - Polars raises ComputeError on unsupported syntax
            continue
    raise ValueError(f"no portable form for {patterns!r}")


# Python's IGNORECASE pairs these with ASCII letters; Rust's simple case folding does not.
_TURKIC_I = ["\u0130", "\u0131"]


def python_superset(pattern: str) -> str | None:
    """A Rust (Unicode-mode) regex matching wherever Python ``re`` could match ``pattern``, or None.

    Used only as a prefilter on rows the fast path cannot decide: dropping ``\\b``/``\\B`` and
    widening ``\\s`` to Python's whitespace can only add matches. Patterns with other classes
    (where Python's and Rust's Unicode tables differ in both directions) get no prefilter.
    """
    if re.search(r"\\[wWdDSAZzGpPNuUx0-9]|\[|\(\?(?!:)", pattern):
        return None
    widened = re.sub(r"\\[bB]", "", pattern).replace("\\s", "[\\s\\x1c-\\x1f]")
    try:
        pl.select(pl.lit("").str.contains(widened))
    except Exception:  # noqa: BLE001
        return None
    return widened


def _reference_candidates(
    s: pl.Series, patterns: Sequence[str], ignorecase: bool, slow: pl.Series
) -> pl.Series:
    """Slow rows that could match: all of them, unless every pattern has a superset prefilter."""
    supersets = [python_superset(p) for p in patterns]
    if any(w is None for w in supersets) or not slow.any():
        return slow
    body = ("(?i)" if ignorecase else "") + "|".join(f"(?:{w})" for w in supersets)
    idx = slow.arg_true()
    subset = s.gather(idx)
    maybe = subset.str.contains(body)
    if ignorecase:
        maybe = maybe | subset.str.contains_any(_TURKIC_I)
    return pl.repeat(False, s.len(), dtype=pl.Boolean, eager=True).alias(s.name).scatter(idx, maybe)


def regex_search(
    s: pl.Series, patterns: Sequence[str], ignorecase: bool, slow: pl.Series | None = None
) -> pl.Series:
    """True where any pattern ``re.search``-es the text (flags: IGNORECASE or none)."""
    flags = re.IGNORECASE if ignorecase else 0
    compiled = [re.compile(p, flags) for p in patterns]
    portable = [p for p in patterns if portable_regex(p)]
    rest = [c for p, c in zip(patterns, compiled, strict=True) if p not in portable]
    if portable:
        fast = s.str.contains(_fast_alternation(portable, ignorecase))
    else:
        fast = pl.repeat(False, s.len(), dtype=pl.Boolean, eager=True).alias(s.name)
    slow = needs_reference(s) if slow is None else slow
    candidates = _reference_candidates(s, patterns, ignorecase, slow)
    hit = patch(fast & ~slow, candidates, s, lambda t: any(c.search(t) for c in compiled))
    if rest:
        hit = patch(hit, ~hit & ~slow, s, lambda t: any(c.search(t) for c in rest))
    return hit
