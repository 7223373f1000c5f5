"""Reference (pure-Python) recipes from the original study, verbatim.

These are the contracts of SEED_CONTRACTS.md §1.2, §1.4, §1.5 and §1.8. The vectorized engine in
:mod:`dq.vector` must agree with them on every row; the test suite checks that on real data and on
hypothesis-generated text. The gate normalizer and the canonical-problem normalizer are separate
functions on purpose: they answer different questions and differ in whitespace handling.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata

BOX_OPEN = "\\boxed{"
_WHITESPACE_RUN = re.compile(r"\s+")


def last_boxed(text: str) -> str | None:
    """Content of the last literal ``\\boxed{`` with braces balanced, stripped; None if absent or open.

    Only the last ``\\boxed{`` counts: an unterminated last box gives None even when an earlier
    box is complete, and ``\\boxed {x}`` (with a space) is not a box.
    """
    idx = text.rfind(BOX_OPEN)
    if idx == -1:
        return None
    depth = 1
    out: list[str] = []
    for ch in text[idx + len(BOX_OPEN) :]:
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
            if depth == 0:
                return "".join(out).strip()
        out.append(ch)
    return None


def gate_normalize(text: str) -> str:
    """The curation gate's answer normalizer: drop ALL whitespace, ``\\left``/``\\right``, tfrac→frac."""
    text = _WHITESPACE_RUN.sub("", text)
    return text.replace("\\left", "").replace("\\right", "").replace("\\tfrac", "\\frac").strip()


def canonical_problem(text: str) -> str:
    """Canonical problem text for grouping and contamination: NFKC, lower, strip, collapse spaces."""
    return " ".join(unicodedata.normalize("NFKC", text).lower().strip().split())


CANONICAL_RULE = (
    "Unicode NFKC, lowercase, strip leading/trailing whitespace, collapse repeated internal "
    "whitespace, preserve punctuation and numeric literals"
)


def row_id(source: str, problem: str, expected_answer: str) -> str:
    """20-hex row id over the raw strings; not unique (answer variants share it)."""
    payload = f"{source}\n{problem}\n{expected_answer}".encode()
    return hashlib.sha256(payload).hexdigest()[:20]


def problem_hash(text: str) -> str:
    """Full sha256 of the canonical problem, as in the contamination report."""
    return hashlib.sha256(canonical_problem(text).encode("utf-8")).hexdigest()


def python_whitespace() -> str:
    """Every character Python's ``str.isspace`` (and so ``re``'s ``\\s`` and ``str.split``) accepts."""
    return "".join(chr(c) for c in range(0x3100) if chr(c).isspace())
