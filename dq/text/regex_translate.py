"""Python regex patterns translated for Rust's linear-time engine: exact code point sets, anchors.

See :mod:`dq.text.linear_regex` for how the translation keeps Python's verdicts.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache, lru_cache
from re import _constants as sre  # type: ignore[attr-defined]
from re import _parser  # type: ignore[attr-defined]
from typing import Any

import numpy as np
import polars as pl

#: Rust class that matches nothing.
_NEVER = r"[^\x{0}-\x{10FFFF}]"
_FLAGS_OF_ITEMS = re.IGNORECASE | re.ASCII | re.DOTALL
_CATEGORY_TEXT = {
    sre.CATEGORY_DIGIT: r"\d",
    sre.CATEGORY_NOT_DIGIT: r"\D",
    sre.CATEGORY_SPACE: r"\s",
    sre.CATEGORY_NOT_SPACE: r"\S",
    sre.CATEGORY_WORD: r"\w",
    sre.CATEGORY_NOT_WORD: r"\W",
}

Ranges = np.ndarray  # shape (n, 2), inclusive code point ranges, sorted and disjoint


class UnsupportedRegex(ValueError):
    """A pattern the linear-time engine cannot run; the message is the reason, a phrase."""


# --- Code point sets, evaluated by Python re itself ------------------------------------------


@cache
def _all_chars() -> str:
    """Every code point but the surrogates (which Polars strings cannot hold), in order."""
    cps = np.concatenate([np.arange(0xD800), np.arange(0xE000, 0x110000)]).astype("<u4")
    return cps.tobytes().decode("utf-32-le")


def _position_to_cp(pos: np.ndarray) -> np.ndarray:
    return pos + np.where(pos >= 0xD800, 0x800, 0)


def _ranges_of(cps: np.ndarray) -> Ranges:
    """Sorted distinct code points as inclusive ranges."""
    if cps.size == 0:
        return np.zeros((0, 2), dtype=np.int64)
    cps = cps.astype(np.int64)
    breaks = np.flatnonzero(np.diff(cps) != 1)
    starts = np.concatenate([cps[:1], cps[breaks + 1]])
    ends = np.concatenate([cps[breaks], cps[-1:]])
    return np.stack([starts, ends], axis=1)


def _member(cps: np.ndarray, ranges: Ranges) -> np.ndarray:
    """Which of ``cps`` lie in ``ranges``."""
    if ranges.shape[0] == 0:
        return np.zeros(cps.shape, dtype=bool)
    idx = np.searchsorted(ranges[:, 0], cps, side="right") - 1
    return (idx >= 0) & (cps <= ranges[np.maximum(idx, 0), 1])


@cache
def _cased_chars() -> str:
    """Code points Python's IGNORECASE treats as cased (only these can match a cased literal)."""
    import _sre

    iscased = _sre.unicode_iscased
    return "".join(ch for ch in _all_chars() if iscased(ord(ch)))


@lru_cache(maxsize=4096)
def _item_set(text: str, flags: int, literal: int | None) -> Ranges:
    """The code points the one-character Python pattern ``text`` matches under ``flags``."""
    if literal is not None and not flags & re.IGNORECASE:
        return np.array([[literal, literal]], dtype=np.int64)
    if literal is not None:
        # Under IGNORECASE a cased literal matches only cased characters (Python compares simple
        # lower-case forms, which equal the character itself when it is uncased).
        hay = _cased_chars() + chr(literal)
        found = {ord(m.group()) for m in re.finditer(text, hay, flags)}
        return _ranges_of(np.array(sorted(found), dtype=np.int64))
    allc = _all_chars()
    hit = np.zeros(len(allc), dtype=bool)
    for m in re.finditer(f"(?:{text})+", allc, flags):
        hit[m.start() : m.end()] = True
    return _ranges_of(_position_to_cp(np.flatnonzero(hit)))


@cache
def _python_word(ascii_only: bool) -> Ranges:
    """Python's word characters, as ``\\b`` sees them (``\\w``: alphanumeric or ``_``)."""
    return _item_set(r"\w", re.ASCII if ascii_only else 0, None)


def _class(ranges: Ranges | Sequence[int]) -> str:
    """A Rust class for a code point set (ranges, or sorted distinct code points)."""
    r = _ranges_of(np.asarray(ranges, dtype=np.int64)) if not isinstance(ranges, np.ndarray) else ranges
    if r.shape[0] == 0:
        return _NEVER
    parts = [f"\\x{{{lo:X}}}" if lo == hi else f"\\x{{{lo:X}}}-\\x{{{hi:X}}}" for lo, hi in r.tolist()]
    return "[" + "".join(parts) + "]"


# --- Translation -----------------------------------------------------------------------------

# A translated pattern is a small tree of tuples:
#   ("item", key)          one character from the set _item_set(*key)
#   ("at", kind)           start, z, end (Python $), bol, eol (MULTILINE ^ $), b/B (u or a)
#   ("seq", nodes) ("alt", nodes) ("rep", lo, hi or None, node)
Node = tuple[Any, ...]


def _char(cp: int) -> str:
    return f"\\U{cp:08x}"


def _class_text(items: Sequence[tuple[Any, Any]]) -> str:
    neg, parts = "", []
    for op, av in items:
        if op is sre.NEGATE:
            neg = "^"
        elif op is sre.LITERAL:
            parts.append(_char(av))
        elif op is sre.RANGE:
            parts.append(_char(av[0]) + "-" + _char(av[1]))
        elif op is sre.CATEGORY and av in _CATEGORY_TEXT:
            parts.append(_CATEGORY_TEXT[av])
        else:
            raise UnsupportedRegex(f"uses the class item {op}")
    return "[" + neg + "".join(parts) + "]"


def _at_kind(av: Any, flags: int) -> str:
    multiline = bool(flags & re.MULTILINE)
    word = "u" if flags & re.UNICODE else "a"
    kinds = {
        sre.AT_BEGINNING: "bol" if multiline else "start",
        sre.AT_BEGINNING_STRING: "start",
        sre.AT_END: "eol" if multiline else "end",
        sre.AT_END_STRING: "z",
        sre.AT_BOUNDARY: "b" + word,
        sre.AT_NON_BOUNDARY: "B" + word,
    }
    if av not in kinds:
        raise UnsupportedRegex(f"uses the anchor {av}")
    return kinds[av]


def _translate(items: Any, flags: int) -> Node:
    seq: list[Node] = []
    for op, av in items:
        if op is sre.LITERAL:
            seq.append(("item", (_char(av), flags & _FLAGS_OF_ITEMS, av)))
        elif op is sre.NOT_LITERAL:
            seq.append(("item", ("[^" + _char(av) + "]", flags & _FLAGS_OF_ITEMS, None)))
        elif op is sre.IN:
            seq.append(("item", (_class_text(av), flags & _FLAGS_OF_ITEMS, None)))
        elif op is sre.ANY:
            seq.append(("item", (".", flags & _FLAGS_OF_ITEMS, None)))
        elif op is sre.AT:
            seq.append(("at", _at_kind(av, flags)))
        elif op is sre.BRANCH:
            seq.append(("alt", tuple(_translate(branch, flags) for branch in av[1])))
        elif op is sre.SUBPATTERN:
            _group, add, remove, sub = av
            if add & (re.ASCII | re.UNICODE):
                # CPython matches a leading class of such a group by the pattern's own flags
                # (its search prefix), not the group's: no exact form to translate to.
                raise UnsupportedRegex("uses a scoped (?a:...) or (?u:...) group")
            seq.append(_translate(sub, (flags | add) & ~remove))
        elif op in (sre.MAX_REPEAT, sre.MIN_REPEAT):
            lo, hi, sub = av
            seq.append(("rep", lo, None if hi == sre.MAXREPEAT else hi, _translate(sub, flags)))
        elif op is sre.POSSESSIVE_REPEAT:
            raise UnsupportedRegex("uses a possessive quantifier")
        elif op is sre.ATOMIC_GROUP:
            raise UnsupportedRegex("uses an atomic group")
        elif op is sre.GROUPREF:
            raise UnsupportedRegex("uses a backreference")
        elif op is sre.GROUPREF_EXISTS:
            raise UnsupportedRegex("uses a conditional group")
        elif op in (sre.ASSERT, sre.ASSERT_NOT):
            raise UnsupportedRegex("uses a lookahead" if av[0] >= 0 else "uses a lookbehind")
        else:
            raise UnsupportedRegex(f"uses {op}")
    return ("seq", tuple(seq))


def _walk(node: Node) -> list[Node]:
    out = [node]
    if node[0] in ("seq", "alt"):
        for child in node[1]:
            out += _walk(child)
    elif node[0] == "rep":
        out += _walk(node[3])
    return out


def _render(node: Node, item: Callable[[Any], str], at: Callable[[str], str]) -> str:
    kind = node[0]
    if kind == "item":
        return item(node[1])
    if kind == "at":
        return at(node[1])
    if kind == "seq":
        return "".join(_render(n, item, at) for n in node[1])
    if kind == "alt":
        return "(?:" + "|".join(_render(n, item, at) for n in node[1]) + ")"
    lo, hi, sub = node[1], node[2], node[3]
    quant = f"{{{lo},}}" if hi is None else f"{{{lo},{hi}}}"
    return "(?:" + _render(sub, item, at) + ")" + quant


_AT_RUST = {
    "start": r"\A",
    "z": r"\z",
    "end": "(?m:$)",  # exact on rows whose only newline, if any, is the last character
    "bol": "(?m:^)",
    "eol": "(?m:$)",
    "bu": r"\b",  # exact on ASCII rows
    "ba": r"\b",
    "Bu": r"\B",
    "Ba": r"\B",
}


@dataclass(frozen=True)
class _Parsed:
    tree: Node
    anchors: frozenset[str]


@lru_cache(maxsize=1024)
def _parse(pattern: str, flags: int) -> _Parsed:
    try:
        parsed = _parser.parse(pattern, flags)
    except re.error as exc:
        raise UnsupportedRegex(f"is not a valid regex: {exc}") from None
    tree = _translate(parsed, parsed.state.flags)
    anchors = frozenset(n[1] for n in _walk(tree) if n[0] == "at")
    if "end" in anchors and {"bol", "eol"} & anchors:
        raise UnsupportedRegex("mixes $ without MULTILINE and MULTILINE anchors")
    return _Parsed(tree, anchors)


def _compatible(a: frozenset[str], b: frozenset[str]) -> bool:
    both = a | b
    mixed_words = bool({"bu", "Bu"} & both and {"ba", "Ba"} & both)
    mixed_ends = "end" in both and bool({"bol", "eol"} & both)
    return not (mixed_words or mixed_ends)


def _rust_error(pattern: str) -> str | None:
    try:
        pl.select(pl.lit("").str.contains(pattern))
    except Exception as exc:  # noqa: BLE001 - Polars raises ComputeError for what Rust refuses
        return str(exc).splitlines()[0]
    return None
