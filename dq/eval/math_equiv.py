"""Math-equivalence of two final answers (MATH / MATH-500), with sympy for the algebra.

Two answers are equal when, in this order:

1. their canonical strings are equal. Canonical: the GSM8K contract normalization, then
   ``\\dfrac``/``\\tfrac`` → ``\\frac``, ``\\frac12`` → ``\\frac{1}{2}``, ``\\sqrt2`` → ``\\sqrt{2}``;
   ``\\text{}``/``\\mathrm{}``/``\\mbox{}``/``\\textbf{}`` unwrapped; degrees (``^\\circ``), ``\\$``,
   ``\\%``, LaTeX spacing (``\\,`` ``\\!`` ``\\;``), all whitespace and a trailing ``.`` removed;
   a leading one-letter ``x=`` dropped; ``\\le``/``\\ge`` spelt ``\\leq``/``\\geq``.
2. both are lists or tuples with the same number of top-level, comma-separated parts: bracketed
   ones (``(1,2]``, ``\\left(3,\\frac{\\pi}{2}\\right)``) need the same brackets and equal parts
   in order; unbracketed lists (``1,-2``) are compared as multisets (solution sets).
3. both convert to sympy expressions (fractions, roots, powers, ``\\pi``, ``i``, trig and log
   functions, implicit products) and either both evaluate to numbers within a relative 1e-9, or
   ``simplify(a - b) == 0``.

Anything that does not convert (base subscripts ``52_8``, words, matrices) is equal only by step 1.
A wrong parse can only make two answers *unequal* unless both sides parse to the same value.
"""

from __future__ import annotations

import re
from typing import Any

from dq.eval.gsm8k_contract import normalize_answer

_WRAP = re.compile(r"\\(?:text|textbf|mathrm|mbox|textrm|operatorname)\s*\{([^{}]*)\}")
_SHORT_FRAC = re.compile(r"\\frac\s*(\d)\s*(\d)")
_SHORT_SQRT = re.compile(r"\\sqrt\s*(\d+|[a-zA-Z])")
_ASSIGN = re.compile(r"^[a-zA-Z]=(?!=)")
_PAIRS = {"(": ")", "[": "]", "\\{": "\\}"}
_FUNCS = ("sin", "cos", "tan", "cot", "sec", "csc", "log", "ln", "exp")
_MAX_LEN = 200
_NAMES = {"pi", "oo", "theta", *_FUNCS, "log"}


def canonical(answer: str) -> str:
    """The canonical string of step 1 (see the module docstring)."""
    text = normalize_answer(answer)
    for _ in range(3):
        text = _WRAP.sub(r"\1", text)
    text = _SHORT_FRAC.sub(r"\\frac{\1}{\2}", text)
    text = _SHORT_SQRT.sub(r"\\sqrt{\1}", text)
    for old, new in (("^\\circ", ""), ("^{\\circ}", ""), ("\\circ", ""), ("°", ""), ("\\$", "")):
        text = text.replace(old, new)
    text = text.replace("\\%", "").replace("%", "")
    text = re.sub(r"\\[,!;: ]", "", text)
    text = re.sub(r"\\le(?![a-z])", r"\\leq", re.sub(r"\\ge(?![a-z])", r"\\geq", text))
    text = "".join(text.split()).rstrip(".")
    return _ASSIGN.sub("", text)


def is_equiv(prediction: str | None, reference: str) -> bool:
    """Whether ``prediction`` is mathematically equal to ``reference`` (rules in the module docstring)."""
    if prediction is None:
        return False
    pred, ref = canonical(prediction), canonical(reference)
    if pred == ref:
        return True
    if max(len(pred), len(ref)) > _MAX_LEN:
        return False
    pred_parts, ref_parts = split_list(pred), split_list(ref)
    if pred_parts is not None or ref_parts is not None:
        return _lists_equal(pred_parts or ("", [pred]), ref_parts or ("", [ref]))
    return _sympy_equal(pred, ref)


def split_list(text: str) -> tuple[str, list[str]] | None:
    """``(brackets, parts)`` for a bracketed tuple/interval or a bare comma list, else None."""
    brackets = ""
    for left, right in (("(", ")"), ("(", "]"), ("[", "]"), ("[", ")"), ("\\{", "\\}")):
        if text.startswith(left) and text.endswith(right) and _balanced(text[len(left) : -len(right)]):
            brackets, text = left + right, text[len(left) : -len(right)]
            break
    parts = _top_level_split(text)
    if len(parts) < 2:
        return None
    return brackets, parts


def _balanced(text: str) -> bool:
    depth = 0
    for char in text:
        if char in "({[":
            depth += 1
        elif char in ")}]":
            depth -= 1
        if depth < 0:
            return False
    return depth == 0


def _top_level_split(text: str) -> list[str]:
    parts, depth, start = [], 0, 0
    for pos, char in enumerate(text):
        if char in "({[":
            depth += 1
        elif char in ")}]":
            depth -= 1
        elif char == "," and depth == 0:
            parts.append(text[start:pos])
            start = pos + 1
    parts.append(text[start:])
    return parts


def _lists_equal(pred: tuple[str, list[str]], ref: tuple[str, list[str]]) -> bool:
    (pred_brackets, pred_parts), (ref_brackets, ref_parts) = pred, ref
    if pred_brackets != ref_brackets or len(pred_parts) != len(ref_parts):
        return False
    if ref_brackets:
        return all(is_equiv(p, r) for p, r in zip(pred_parts, ref_parts, strict=True))
    remaining = list(pred_parts)
    for part in ref_parts:  # a bare list is a set of solutions: order does not matter
        match = next((i for i, p in enumerate(remaining) if is_equiv(p, part)), None)
        if match is None:
            return False
        remaining.pop(match)
    return True


def _sympy_equal(pred: str, ref: str) -> bool:
    if "=" in pred or "=" in ref:
        pred_sides, ref_sides = pred.split("="), ref.split("=")
        if len(pred_sides) != len(ref_sides) or len(pred_sides) == 1:
            return False
        return all(_sympy_equal(p, r) for p, r in zip(pred_sides, ref_sides, strict=True))
    a, b = to_sympy(pred), to_sympy(ref)
    if a is None or b is None:
        return False
    try:
        if not a.free_symbols and not b.free_symbols:
            va, vb = complex(a.evalf(30)), complex(b.evalf(30))
            return abs(va - vb) <= 1e-9 * max(1.0, abs(vb))
        import sympy

        return bool(sympy.simplify(a - b) == 0)
    except Exception:  # noqa: BLE001 - sympy raises many types on odd input; unequal then
        return False


def to_sympy(text: str) -> Any | None:
    """A sympy expression for a canonical LaTeX answer, or None when it does not convert."""
    from sympy.parsing.sympy_parser import (
        convert_xor,
        implicit_multiplication_application,
        parse_expr,
        standard_transformations,
    )

    try:
        source = latex_to_python(text)
    except ValueError:
        return None
    if not source or "_" in source or "\\" in source:
        return None
    if set(re.findall(r"[a-zA-Z]{2,}", source)) - _NAMES:
        return None  # a word: implicit multiplication would split it into a product of letters
    transformations = (*standard_transformations, implicit_multiplication_application, convert_xor)
    try:
        value = parse_expr(source, transformations=transformations, evaluate=True)
    except Exception:  # noqa: BLE001 - parse_expr raises SyntaxError, TokenError, TypeError...
        return None
    from sympy import Expr

    return value if isinstance(value, Expr) else None  # a tuple or relation is not one answer value


def latex_to_python(text: str) -> str:
    """Translate the simple LaTeX of final answers into a sympy-parsable string."""
    out: list[str] = []
    pos = 0
    while pos < len(text):
        pos = _translate_at(text, pos, out)
    return "".join(out)


def _translate_at(text: str, pos: int, out: list[str]) -> int:
    if text.startswith("\\frac", pos):
        num, pos = _group(text, pos + 5)
        den, pos = _group(text, pos)
        out.append(f"(({latex_to_python(num)})/({latex_to_python(den)}))")
        return pos
    if text.startswith("\\sqrt", pos):
        pos += 5
        index = "2"
        if pos < len(text) and text[pos] == "[":
            close = text.index("]", pos)
            index, pos = latex_to_python(text[pos + 1 : close]), close + 1
        body, pos = _group(text, pos)
        out.append(f"(({latex_to_python(body)})**(1/({index})))")
        return pos
    if text[pos] == "\\":
        match = re.match(r"\\([a-zA-Z]+)", text[pos:])
        if not match:
            raise ValueError(text)
        word = match.group(1)
        out.append(_command(word))
        return pos + len(match.group(0))
    char = text[pos]
    out.append({"{": "(", "}": ")", "^": "**", "i": "I"}.get(char, char))
    return pos + 1


def _command(word: str) -> str:
    table = {"pi": "pi", "cdot": "*", "times": "*", "div": "/", "infty": "oo", "theta": "theta"}
    if word in table:
        return f" {table[word]} "
    if word in _FUNCS:
        return f" {'log' if word == 'ln' else word} "
    raise ValueError(word)


def _group(text: str, pos: int) -> tuple[str, int]:
    """The ``{...}`` group (or single character) starting at ``pos``, and the position after it."""
    while pos < len(text) and text[pos] == " ":
        pos += 1
    if pos >= len(text):
        raise ValueError("missing group")
    if text[pos] != "{":
        return text[pos], pos + 1
    depth = 0
    for end in range(pos, len(text)):
        depth += 1 if text[end] == "{" else -1 if text[end] == "}" else 0
        if depth == 0:
            return text[pos + 1 : end], end + 1
    raise ValueError("unbalanced group")
