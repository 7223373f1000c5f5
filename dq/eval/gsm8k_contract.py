"""The study's GSM8K extraction and scoring, exactly as frozen (SEED_CONTRACTS §5.3, §5.4).

Strict on purpose: ``70,000``, ``\\$460`` and ``60\\%`` are wrong against ``70000``, ``460``, ``60``.
The lenient diagnostic lives in :mod:`dq.eval.lenient` and never replaces this score.

One decision beyond the frozen text: ``sNaN``. The study compared ``Decimal(np) == Decimal(nr)``
under the default context, where a signalling NaN raises ``InvalidOperation`` and would crash the
run. Here any NaN (quiet or signalling, either side) parses as numeric and scores **wrong**, with
the normalized strings recorded as usual; that is what the study's quiet-NaN rule ("NaN never
equals anything") already gives, so no row the study scored changes.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

#: Tolerates whitespace between ``\\boxed`` and ``{`` (unlike the curation gate's locator).
BOXED_LOCATOR = re.compile(r"\\boxed\s*\{")

_WRAPPERS = (("$", "$"), ("\\(", "\\)"), ("\\[", "\\]"))


def extract_boxed(text: str) -> str | None:
    """The payload of the last ``\\boxed{...}`` (brace-balanced, not stripped), else None.

    No fallback: when the last box is unbalanced the result is None even if an earlier box is
    complete.
    """
    last = None
    for match in BOXED_LOCATOR.finditer(text):
        last = match
    if last is None:
        return None
    open_at = last.end() - 1
    depth = 0
    for pos in range(open_at, len(text)):
        char = text[pos]
        if char == "{":
            depth += 1
        elif char == "}":
            depth -= 1
            if depth == 0:
                return text[open_at + 1 : pos]
    return None


def strip_math_wrappers(value: str) -> str:
    """Strip one layer of ``$..$``, ``\\(..\\)`` or ``\\[..\\]`` (the first pair that matches)."""
    value = value.strip()
    for left, right in _WRAPPERS:
        if value.startswith(left) and value.endswith(right):
            return value[len(left) : len(value) - len(right)].strip()
    return value


def normalize_answer(value: str) -> str:
    """Unwrap, drop ``\\left``/``\\right``, map ``\\tfrac``/``\\dfrac`` to ``\\frac``, collapse spaces."""
    text = strip_math_wrappers(value)
    text = text.replace("\\left", "").replace("\\right", "")
    text = text.replace("\\tfrac", "\\frac").replace("\\dfrac", "\\frac")
    return " ".join(text.split())


def as_decimal(value: str) -> Decimal | None:
    """``Decimal(value)``, or None when it does not parse (then the comparison is by string)."""
    try:
        return Decimal(value)
    except (InvalidOperation, ValueError):
        return None


def answers_match(prediction: str | None, reference: str) -> tuple[bool, str | None, str]:
    """``(correct, normalized_prediction, normalized_reference)`` under the frozen contract."""
    norm_ref = normalize_answer(reference)
    if prediction is None:
        return False, None, norm_ref
    norm_pred = normalize_answer(prediction)
    pred_num, ref_num = as_decimal(norm_pred), as_decimal(norm_ref)
    if pred_num is not None and ref_num is not None:
        if pred_num.is_nan() or ref_num.is_nan():
            return False, norm_pred, norm_ref  # sNaN would raise in __eq__; see the module docstring
        return pred_num == ref_num, norm_pred, norm_ref
    return norm_pred == norm_ref, norm_pred, norm_ref


def gsm8k_reference(answer: str) -> str:
    """The reference answer of a GSM8K row: the text after the last ``####``, stripped."""
    if "####" not in answer:
        raise ValueError("GSM8K answer has no '####' marker")
    return answer.rsplit("####", 1)[1].strip()
