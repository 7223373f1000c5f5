"""Run report section: contamination evidence, training row and benchmark item side by side."""

from __future__ import annotations

import json
from typing import Any

from dq_reports.html.page import esc, highlight, number_spans, section, shared_word_spans
from dq_reports.html.view import Pair, RunView

SCORES = ("score", "estimate", "verified", "similarity")


def _numbers(evidence: dict[str, Any], side: int) -> str:
    numbers = evidence.get("numbers")
    if isinstance(numbers, list) and len(numbers) == 2:
        return ", ".join(str(n) for n in numbers[side]) or "none"
    return ""


def _pair(pair: Pair) -> str:
    m = pair.match
    evidence = m.get("evidence") or {}
    scores = " · ".join(f"{k} <b>{float(m[k]):.3f}</b>" for k in SCORES if k in m)
    head = (
        f"<div class='kv'><b>{esc(m['benchmark'])}</b> item <b>{esc(m['benchmark_index'])}</b> · "
        f"method <b>{esc(m.get('method', ''))}</b> · kind <b>{esc(m.get('kind', 'n/a'))}</b> · "
        f"action <b>{esc(m.get('action', ''))}</b> · {scores}</div>"
    )
    item = pair.benchmark or ""
    spans_train = shared_word_spans(pair.training, item)
    spans_item = shared_word_spans(item, pair.training)
    if m.get("kind") in ("numbers_changed", "numbers_permuted", "numbers_added_or_removed"):
        spans_train += number_spans(pair.training)
        spans_item += number_spans(item)
    left = (
        f"<div><div class='kv'>training row {esc(m.get('row_index'))} ({esc(m.get('split'))}, "
        f"{esc(m.get('source'))})</div>{highlight(pair.training, spans_train)}"
        f"<div class='kv'>numbers: {esc(_numbers(evidence, 0))}</div></div>"
    )
    right_text = (
        highlight(item, spans_item)
        if pair.benchmark is not None
        else "<p class='note'>item text unavailable</p>"
    )
    right = (
        f"<div><div class='kv'>benchmark item {esc(m['benchmark_index'])}</div>{right_text}"
        f"<div class='kv'>numbers: {esc(_numbers(evidence, 1))}</div></div>"
    )
    extra = {k: v for k, v in evidence.items() if k != "numbers"}
    details = f"<div class='kv'>evidence {esc(json.dumps(extra, ensure_ascii=False))}</div>" if extra else ""
    return f"<div class='card pair-card'>{head}<div class='pair'>{left}{right}</div>{details}</div>"


def contamination_section(view: RunView) -> str:
    """Each shown match as a card: both texts with shared spans marked, method, kind, scores, numbers."""
    if not view.pairs:
        return section(
            "contamination", "Contamination evidence", "<p class='note'>No contamination match.</p>"
        )
    note = (
        f"<p>{view.pair_total} matches in all; the first {len(view.pairs)} are shown "
        "(reports/contamination_matches.jsonl has every one). Marked: word 4-grams the two texts share"
        " (and the numbers, for number-changed kinds).</p>"
    )
    return section("contamination", "Contamination evidence", note + "".join(_pair(p) for p in view.pairs))
