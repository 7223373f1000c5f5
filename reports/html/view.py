"""What the run report shows, gathered from a finished run state: counts in full, rows as samples.

Every list of rows here is capped (:data:`EXAMPLES_PER_RULE`, :data:`MAX_PAIRS`) and every text
is cut to a window when shown, so the page's size depends on the number of rules, sources and
benchmarks, not on the number of rows: a 1M-row run gives a page of the same order as a demo run.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from dq.api.run import RunState, value_counts

#: Rejected rows shown per rule (the first ones in input order, so the page is deterministic).
EXAMPLES_PER_RULE = 4
#: Contamination pairs shown side by side (the first by benchmark, item and row).
MAX_PAIRS = 30
BOXED_DETAIL = re.compile(r"boxed='(?P<boxed>.*)' expected='(?P<expected>.*)'\Z", re.DOTALL)


@dataclass
class Example:
    """One rejected row as the page shows it: the fields, the rule's detail and what to mark."""

    row_index: int
    source: str
    detail: str
    fields: dict[str, str]
    marks: dict[str, list[tuple[int, int]]]
    boxed: str | None = None
    expected: str | None = None


@dataclass
class Pair:
    """A contamination match: the training row and the benchmark item, with the match's numbers."""

    match: dict[str, Any]
    training: str
    benchmark: str | None


@dataclass
class RunView:
    """Everything the run report renders; built by :func:`from_state`."""

    title: str
    status: str
    input_path: str
    rows_in: int | None
    funnel: dict[str, dict[str, int]]
    rejects: dict[str, dict[str, int]]
    examples: dict[str, list[Example]]
    split: dict[str, dict[str, int]]
    val_target: float | None
    gates: list[dict[str, Any]]
    pairs: list[Pair]
    pair_total: int
    tokens: dict[str, Any] | None
    calibration: dict[str, Any] | None
    notes: list[str] = field(default_factory=list)


def _counts(frame: pl.DataFrame | None) -> Counter[str]:
    return Counter() if frame is None else Counter(value_counts(frame["source"]))


def funnel(state: RunState) -> dict[str, dict[str, int]]:
    """Rows per source at each step: considered (after skip rules), accepted, train, val."""
    steps = {
        "considered": _counts(state.considered),
        "accepted": _counts(state.accepted),
        "train": _counts(state.train),
        "val": _counts(state.val),
    }
    sources = sorted(steps["considered"] | steps["accepted"])
    return {s: {step: counts[s] for step, counts in steps.items()} for s in sources}


def rejects(state: RunState) -> dict[str, dict[str, int]]:
    """Rejected rows by reason (rule id), then source, rules in rule-set order."""
    rejected = state.rejected
    out: dict[str, dict[str, int]] = {}
    if rejected is None or not rejected.height:
        return out
    order = {b.reason: b.index for b in state.plan.rules}
    counts = rejected.group_by("reason", "source").len().sort("reason", "source")
    for reason, source, n in counts.iter_rows():
        out.setdefault(reason, {})[source] = int(n)
    return dict(sorted(out.items(), key=lambda kv: (order.get(kv[0], 1 << 30), kv[0])))


def _boxed_span(text: str) -> tuple[int, int] | None:
    """The last complete ``\\boxed{...}`` (brace-aware), where a reader looks for the answer."""
    start = text.rfind("\\boxed")
    while start >= 0:
        brace = text.find("{", start)
        depth = 0
        for i in range(brace, len(text)) if brace >= 0 else ():
            depth += {"{": 1, "}": -1}.get(text[i], 0)
            if depth == 0:
                return start, i + 1
        start = text.rfind("\\boxed", 0, start)
    return None


def _example(row: dict[str, Any], detail: str, params: Any) -> Example:
    """A rejected row with the spans its rule matched: phrases, regexes or the last box."""
    from dq_reports.html.page import phrase_spans, regex_spans

    fields = {k: str(row.get(k) or "") for k in ("problem", "generated_solution", "expected_answer")}
    keys = [k for k in detail.split(",") if k]
    column = getattr(params, "column", None)
    marks: dict[str, list[tuple[int, int]]] = {}
    ex = Example(int(row["row_index"]), str(row["source"]), detail, fields, marks)
    if column in fields and isinstance(getattr(params, "phrases", None), dict):
        phrases = [params.phrases[k] for k in keys if k in params.phrases] or list(params.phrases.values())
        marks[column] = phrase_spans(fields[column], phrases, bool(getattr(params, "lowercase", True)))
    elif column in fields and isinstance(getattr(params, "patterns", None), dict):
        patterns = [params.patterns[k] for k in keys if k in params.patterns] or list(
            params.patterns.values()
        )
        marks[column] = regex_spans(fields[column], patterns, bool(getattr(params, "ignorecase", False)))
    else:
        span = _boxed_span(fields["generated_solution"])
        marks["generated_solution"] = [span] if span else []
        found = BOXED_DETAIL.match(detail)
        ex.boxed = found["boxed"] if found else None
        ex.expected = found["expected"] if found else fields["expected_answer"]
    return ex


def examples(state: RunState, per_rule: int = EXAMPLES_PER_RULE) -> dict[str, list[Example]]:
    """Up to ``per_rule`` rejected rows per reason (first in input order), with their spans."""
    rejected, verdicts = state.rejected, state.verdicts
    if rejected is None or not rejected.height:
        return {}
    firsts = rejected.sort("row_index").group_by("reason", maintain_order=True).head(per_rule)
    firsts = pl.concat(list(state.full_rows(firsts)))  # with their solutions, in a streamed run too
    details: dict[tuple[int, str], str] = {}
    if verdicts is not None and verdicts.height:
        wanted = verdicts.join(firsts.select("row_index"), on="row_index", how="semi")
        details = {
            (int(i), r): d or "" for i, r, d in wanted.select("row_index", "rule", "detail").iter_rows()
        }
    params = {b.reason: getattr(b.rule, "params", None) for b in state.plan.rules}
    out: dict[str, list[Example]] = {}
    for row in firsts.iter_rows(named=True):
        detail = details.get((int(row["row_index"]), row["reason"]), "")
        out.setdefault(row["reason"], []).append(_example(row, detail, params.get(row["reason"])))
    return out


def split_composition(state: RunState) -> dict[str, dict[str, int]]:
    """Rows and groups (distinct canonical problems) per source and side, as the splitter left them."""
    from dq.text.vector import with_canonical

    out: dict[str, dict[str, int]] = {}
    for side in ("train", "val"):
        frame = state.train if side == "train" else state.val
        if frame is None or not frame.height:
            continue
        per = (
            with_canonical(frame).group_by("source").agg(rows=pl.len(), groups=pl.col("canonical").n_unique())
        )
        for source, rows, groups in per.sort("source").iter_rows():
            entry = out.setdefault(
                source, {"train_rows": 0, "train_groups": 0, "val_rows": 0, "val_groups": 0}
            )
            entry[f"{side}_rows"], entry[f"{side}_groups"] = int(rows), int(groups)
    return dict(sorted(out.items()))


def pairs(state: RunState, limit: int = MAX_PAIRS) -> tuple[list[Pair], int]:
    """The first ``limit`` matches (by benchmark, item, method, row) with both texts, and the total."""
    matches = state.matches
    if matches is None or not matches.height:
        return [], 0
    keys = ["benchmark", "benchmark_index", "method", "row_index"]
    # Sort the keys only, then take the first rows whole: there can be millions of matches.
    first = matches.select(keys).with_row_index("_at").sort(keys, maintain_order=True).head(limit)["_at"]
    out = []
    for r in matches[first].iter_rows(named=True):
        questions = state.benchmarks.get(r["benchmark"])
        index = int(r["benchmark_index"])
        item = (
            str(questions["question"][index]) if questions is not None and index < questions.height else None
        )
        keep = ("benchmark", "benchmark_index", "method", "check", "action", "score", "split", "row_index",
                "row_id", "source", "kind", "estimate", "verified", "similarity")  # fmt: skip
        match = {k: r[k] for k in keep if r.get(k) is not None}
        if r.get("evidence"):
            match["evidence"] = json.loads(r["evidence"])
        out.append(Pair(match, str(r.get("problem") or ""), item))
    return out, matches.height


def _read_json(*paths: Path | None) -> dict[str, Any] | None:
    """The first of ``paths`` that holds a JSON object (reports written earlier in this run or before)."""
    for path in paths:
        if path is not None and path.is_file():
            try:
                data = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                continue
            if isinstance(data, dict):
                return data
    return None


def from_state(state: RunState) -> RunView:
    """The report's view of a finished run (``dq run``, or a folder reloaded by ``dq report``)."""
    here = [d for d in (state.work_dir, state.out_dir) if d is not None]
    tokens = getattr(state, "token_stats", None) or _read_json(*(d / "rendered/tokens.json" for d in here))
    calibration = _read_json(
        *(d / name for d in here for name in ("calibration.json", "reports/calibration.json"))
    )
    shown, total = pairs(state)
    rows_in = state.input_info.get("rows", state.rows.height if state.rows is not None else None)
    return RunView(
        title=f"dq run: {state.rule_set.name}",
        status=state.status,
        input_path=str(state.input_info.get("path", "")),
        rows_in=int(rows_in) if rows_in is not None else None,
        funnel=funnel(state),
        rejects=rejects(state),
        examples=examples(state),
        split=split_composition(state),
        val_target=getattr(state.plan.splitter.options, "val_ratio", None),
        gates=[vars(g) for g in state.gates],
        pairs=shown,
        pair_total=total,
        tokens=tokens,
        calibration=calibration,
    )
