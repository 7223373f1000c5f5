"""Python ``re.search`` verdicts from a linear-time engine: Rust's regex, as Polars runs it.

Python ``re`` backtracks: ``(a+)+$`` over thirty ``a`` and a ``!`` takes minutes. Rust's regex
decides in time linear in the text, but its semantics differ from Python's in detail (``\\w``,
``\\s``, case folding, ``\\b``, ``$``). This module keeps Python's verdicts exactly:

* A pattern is parsed by Python's own parser. Every single-character item (a literal, under
  IGNORECASE too, a class, ``\\w``/``\\d``/``\\s``, ``.``) is evaluated once by Python ``re`` on
  every code point, and Rust receives that exact set as an explicit class. Sequence,
  alternation and repetition mean the same in both engines, and whether a match exists does
  not depend on backtracking order, so Rust's verdict is Python's.
* ``\\b``/``\\B`` use Rust's word characters, which differ from Python's outside ASCII
  (combining marks, ``²``, ``‿``...). Non-ASCII rows are first filtered by the pattern without
  ``\\b``/``\\B`` (which can only match more); the few left are rewritten, vectorized, to
  stand-ins: one per set of characters no item of the pattern tells apart, chosen so that
  Rust's word-ness is Python's. The rewritten row matches exactly when the original does.
* ``$`` without MULTILINE (end of text, or before a final newline) runs as Rust's multi-line
  ``$``, which is the same on rows with no newline before the last character and can only
  match more on the others; those of them that match are rewritten so that only a final
  newline is one, and decided again.
* Python's ``\\B`` never matches in the empty string; empty rows get that verdict.

Rust receives only these patterns, so every verdict takes time linear in the text.

Backreferences, lookaround, conditional groups, atomic groups and possessive quantifiers are not
regular: :func:`linear_problem` names them and :func:`search` refuses them.
:func:`python_search` runs such patterns with Python ``re`` under a deadline, in a child
process that is killed when the deadline passes.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np
import polars as pl
import pyarrow as pa

from dq.text.python_regex import PythonTimeout, python_search
from dq.text.regex_translate import (
    _AT_RUST,
    _NEVER,
    Node,
    UnsupportedRegex,
    _class,
    _compatible,
    _item_set,
    _member,
    _parse,
    _Parsed,
    _python_word,
    _render,
    _rust_error,
    _walk,
)

__all__ = ["UnsupportedRegex", "linear_problem", "search", "python_search", "PythonTimeout"]

# --- Programs: a group of patterns run as one Rust alternation --------------------------------

# Stand-ins for rewritten rows: Rust word characters and Rust non-word characters, ASCII first
# (fast), then CJK ideographs and private-use characters. Newline is kept apart.
_ASCII_WORD = [c for c in range(128) if chr(c).isalnum() or c == ord("_")]
_WORD_POOL = np.array(_ASCII_WORD + list(range(0x4E00, 0xA000)) + list(range(0x20000, 0x2A6E0)))
_NONWORD_POOL = np.array(
    [c for c in range(128) if c not in _ASCII_WORD and c != 10]
    + list(range(0xE000, 0xF900))
    + list(range(0xF0000, 0xFFFFE))
)


@dataclass(frozen=True)
class _Program:
    tree: Node
    anchors: frozenset[str]
    items: tuple[Any, ...]  # distinct item keys
    direct: str  # Rust pattern on the original text: exact on ASCII rows but for ``$``
    superset: str | None  # the same without \b/\B: a prefilter for non-ASCII rows
    empty_verdict: bool | None  # the verdict on "" when Rust's would differ (\B)

    @property
    def word(self) -> str | None:
        kinds = {k[1] for k in self.anchors if k[0] in "bB"}
        return kinds.pop() if kinds else None

    def run(self, s: pl.Series) -> pl.Series:
        """Python's verdicts: Rust on the text where that is exact, else on rewritten rows.

        The direct pattern is exact except for ``\\b``/``\\B`` on non-ASCII rows (Rust's word
        characters are not Python's) and for ``$`` on rows with a newline before the end, where
        Rust's multi-line ``$`` can only match more. Those rows, when a prefilter that can only
        match more says they might match, are decided on rewritten text.
        """
        rewrite = pl.repeat(False, s.len(), dtype=pl.Boolean, eager=True)
        wide = rewrite
        if self.superset is not None:
            wide = (s.str.len_bytes() != s.str.len_chars()).fill_null(False)
        if self.superset is not None and wide.any():
            narrow = (~wide).arg_true()
            hit = rewrite.scatter(narrow, s.gather(narrow).str.contains(self.direct))
            idx = wide.arg_true()
            rewrite = rewrite.scatter(idx, s.gather(idx).str.contains(self.superset))
        else:
            hit = s.str.contains(self.direct)
        if "end" in self.anchors:
            maybe = hit.fill_null(False)
            idx = maybe.arg_true()
            inner = s.gather(idx).str.contains(r"\n(?s:.)")
            rewrite = rewrite.scatter(idx, rewrite.gather(idx) | inner)
        if rewrite.any():
            idx = rewrite.arg_true()
            hit = hit.scatter(idx, self._rewritten(s.gather(idx)))
        if self.empty_verdict is not None:
            empty = (s.str.len_bytes() == 0).fill_null(False)
            if empty.any():
                hit = hit.scatter(empty.arg_true(), self.empty_verdict)
        if s.null_count():
            hit = pl.select(pl.when(s.is_not_null()).then(hit)).to_series()
        return hit.alias(s.name)

    def _rewritten(self, texts: pl.Series) -> pl.Series:
        """Verdicts on rows rewritten to stand-ins on which Rust's ``\\b`` and ``$`` are Python's.

        Characters that every item of the pattern treats alike and that are alike for ``\\b``
        (Python's word-ness) and ``^``/``$`` (newline or not) form one cell; each cell gets one
        stand-in whose Rust word-ness is the cell's Python word-ness, and every item becomes the
        class of its cells' stand-ins. Matching is unchanged: items see the same cells, and
        ``\\b`` and ``$`` see the same word-ness and newlines. With Python's ``$`` only a final
        newline stays a newline, so Rust's multi-line ``$`` holds where Python's ``$`` does.
        """
        if texts.len() == 0:
            return pl.Series(texts.name, [], dtype=pl.Boolean)
        rows = texts.to_list()
        lengths = np.fromiter(map(len, rows), dtype=np.int64, count=len(rows))
        cps = np.frombuffer("".join(rows).encode("utf-32-le"), dtype="<u4").astype(np.int64)
        seen = np.zeros(0x110000, dtype=bool)
        seen[cps] = True
        present = np.flatnonzero(seen)
        word = self.word
        is_word = _member(present, _python_word(word == "a")) if word else np.zeros(present.shape, bool)
        columns = [_member(present, _item_set(*key)) for key in self.items] + [is_word, present == 10]
        signature = np.stack(columns, axis=1)
        cells, cell_of = np.unique(signature, axis=0, return_inverse=True)
        end_mode = "end" in self.anchors
        stand_in = np.zeros(len(cells), dtype=np.int64)
        n_word = n_other = 0
        for c, (cell_is_word, cell_is_newline) in enumerate(cells[:, -2:].tolist()):
            if cell_is_newline and not end_mode:
                stand_in[c] = 10
            elif cell_is_word:
                stand_in[c], n_word = _WORD_POOL[n_word], n_word + 1
            else:
                stand_in[c], n_other = _NONWORD_POOL[n_other], n_other + 1
        table = np.zeros(0x110000, dtype=np.int32)
        table[present] = stand_in[cell_of.reshape(-1)]
        mapped = table[cps]
        if end_mode:  # only a final newline stays a newline
            last = (np.cumsum(lengths) - 1)[lengths > 0]
            mapped[last[cps[last] == 10]] = 10
        classes = {}
        for j, key in enumerate(self.items):
            chosen = set(stand_in[cells[:, j]].tolist())
            if end_mode and cells[:, j][cells[:, -1]].any():
                chosen.add(10)  # a final newline
            classes[key] = _class(sorted(chosen))
        pattern = _render(self.tree, classes.__getitem__, _AT_RUST.__getitem__)
        return _series_of(mapped, lengths).str.contains(pattern)


def _series_of(cps: np.ndarray, lengths: np.ndarray) -> pl.Series:
    """Strings of ``lengths`` characters from the code points ``cps``."""
    offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    if cps.size == 0 or cps.max() < 128:
        data = cps.astype(np.uint8).tobytes()
        arr = pa.LargeStringArray.from_buffers(len(lengths), pa.py_buffer(offsets), pa.py_buffer(data))
        return pl.Series(arr)
    text = cps.astype("<u4").tobytes().decode("utf-32-le")
    return pl.Series([text[a:b] for a, b in zip(offsets[:-1], offsets[1:], strict=True)], dtype=pl.String)


def _program(parsed: Sequence[_Parsed]) -> _Program:
    tree: Node = ("alt", tuple(p.tree for p in parsed)) if len(parsed) > 1 else parsed[0].tree
    anchors = frozenset().union(*(p.anchors for p in parsed))
    items = tuple(dict.fromkeys(n[1] for n in _walk(tree) if n[0] == "item"))

    def item(key: Any) -> str:
        return _class(_item_set(*key))

    direct = _render(tree, item, _AT_RUST.__getitem__)
    superset = empty_verdict = None
    if {"bu", "Bu", "ba", "Ba"} & anchors:
        superset = _render(tree, item, {**_AT_RUST, "bu": "", "Bu": "", "ba": "", "Ba": ""}.__getitem__)
    if {"Bu", "Ba"} & anchors:
        on_empty = _render(tree, item, {**_AT_RUST, "Bu": _NEVER, "Ba": _NEVER}.__getitem__)
        empty_verdict = bool(pl.select(pl.lit("").str.contains(on_empty)).item())
    return _Program(tree, anchors, items, direct, superset, empty_verdict)


@lru_cache(maxsize=256)
def _programs(patterns: tuple[str, ...], ignorecase: bool) -> tuple[_Program, ...]:
    """The patterns grouped into as few compatible Rust programs as possible."""
    flags = re.IGNORECASE if ignorecase else 0
    groups: list[list[_Parsed]] = []
    for pattern in patterns:
        parsed = _parse(pattern, flags)
        for group in groups:
            if _compatible(parsed.anchors, frozenset().union(*(p.anchors for p in group))):
                group.append(parsed)
                break
        else:
            groups.append([parsed])
    programs = []
    for group in groups:
        program = _program(group)
        if _rust_error(program.direct) is None:
            programs.append(program)
            continue
        for parsed in group:  # too large together: one at a time
            program = _program([parsed])
            error = _rust_error(program.direct)
            if error is not None:
                raise UnsupportedRegex(f"is too large once compiled ({error})")
            programs.append(program)
    return tuple(programs)


@lru_cache(maxsize=1024)
def linear_problem(pattern: str, ignorecase: bool) -> str | None:
    """Why ``pattern`` cannot run on the linear-time engine (a phrase), or None when it can."""
    try:
        _programs((pattern,), ignorecase)
    except UnsupportedRegex as exc:
        return str(exc)
    return None


def search(s: pl.Series, patterns: Sequence[str], ignorecase: bool) -> pl.Series:
    """True where any pattern ``re.search``-es the text (IGNORECASE or no flags), in linear time.

    Raises :class:`UnsupportedRegex` for a pattern :func:`linear_problem` reports.
    """
    hit = pl.repeat(False, s.len(), dtype=pl.Boolean, eager=True)
    for program in _programs(tuple(patterns), ignorecase):
        hit = hit | program.run(s)
    return hit.alias(s.name)
