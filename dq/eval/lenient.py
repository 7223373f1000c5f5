"""A lenient diagnostic score for GSM8K: how much of the strict score is answer *format*.

It is reported beside the strict contract score, never in its place. On top of the contract's
normalization it removes, in this order:

- ``\\text{..}``, ``\\textbf{..}``, ``\\mathrm{..}``, ``\\mbox{..}`` wrappers (their content stays);
- currency: ``\\$``, ``$``, ``€``, ``£``, ``¥`` and a leading ``USD``;
- percent: ``\\%``, ``%`` and a trailing word ``percent``;
- thousands separators: ``,`` (and ``\\,``/``{,}``) between digit groups of three;
- a leading single-letter assignment such as ``x=``;
- trailing units: words after a number (``18 dollars``, ``5 cm``, ``3 hours``);
- LaTeX spacing (``\\,``, ``\\!``, ``\\;``, ``~``) and a trailing period.

Then it compares as the contract does (Decimal when both sides parse, else strings).
"""

from __future__ import annotations

import re

from dq.eval.gsm8k_contract import answers_match, normalize_answer

_TEXT_WRAP = re.compile(r"\\(?:text|textbf|mathrm|mbox|textrm)\s*\{([^{}]*)\}")
_THOUSANDS = re.compile(r"(?<=\d)(?:,|\\,|\{,\})(?=\d{3}(?!\d))")
_ASSIGN = re.compile(r"^[a-zA-Z]\s*=\s*")
_NUMBER_THEN_UNITS = re.compile(r"^([-+]?(?:\d+(?:\.\d*)?|\.\d+))\s*[a-zA-Z][a-zA-Z .²³/]*$")
_CURRENCY = ("\\$", "$", "€", "£", "¥")
_PERCENT = ("\\%", "%")


def lenient_normalize(value: str) -> str:
    """The contract normalization, then currency, percent, separators, units and ``\\text{}`` removed."""
    text = normalize_answer(value)
    for _ in range(3):  # nested wrappers, e.g. \text{\textbf{18}}
        text = _TEXT_WRAP.sub(r"\1", text)
    for mark in (*_CURRENCY, *_PERCENT):
        text = text.replace(mark, "")
    text = re.sub(r"^USD\s*", "", text)
    text = re.sub(r"\s*percent$", "", text)
    for _ in range(4):  # 1,234,567: each pass removes the separators a look-behind can see
        text = _THOUSANDS.sub("", text)
    text = _ASSIGN.sub("", text)
    text = re.sub(r"\\[,!;:]|~", " ", text).strip().rstrip(".").strip()
    units = _NUMBER_THEN_UNITS.match(text)
    if units:
        text = units.group(1)
    return " ".join(text.split())


def lenient_match(prediction: str | None, reference: str) -> bool:
    """Whether the prediction matches the reference after lenient normalization of both."""
    if prediction is None:
        return False
    correct, _, _ = answers_match(lenient_normalize(prediction), lenient_normalize(reference))
    return correct
