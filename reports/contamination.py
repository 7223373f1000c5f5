"""Contamination report: the study's report keys, with every benchmark and every curated row."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from typing import Any

import polars as pl

from dq.api.run import Reporter, RunState
from dq.pipeline.manifest import run_timestamp
from dq.text.normalize import CANONICAL_RULE, canonical_problem

MAX_EXAMPLES = 25
#: Matches turned into JSON lines at a time by ``contamination_matches.jsonl``.
MATCH_BATCH = 50_000
FAILURE_RULE = (
    "If benchmark overlap is greater than 0, rebuild without contaminated rows or change the "
    "benchmark anchor before comparison proceeds. If train/val overlap is greater than 0, "
    "rebuild the split before training."
)


def _hash(text: str) -> str:
    return hashlib.sha256(canonical_problem(text).encode("utf-8")).hexdigest()


def _match_ref(r: dict[str, Any]) -> dict[str, Any]:
    ref = {
        "row_id": r["row_id"],
        "source": r["source"],
        "problem_hash": _hash(r["problem"]),
        "split": r["split"],
        "row_index": r["row_index"],
        "method": r["method"],
        "check": r["check"],
        "action": r["action"],
        "score": r["score"],
    }
    for key in ("kind", "estimate", "verified", "similarity"):
        if r.get(key) is not None:
            ref[key] = r[key]
    if r.get("evidence"):
        ref["evidence"] = json.loads(r["evidence"])
    return ref


def _examples(matches: pl.DataFrame, questions: pl.DataFrame) -> list[dict[str, Any]]:
    """The first :data:`MAX_EXAMPLES` items (``matches`` sorted by item) with their matches."""
    first = matches["benchmark_index"].unique(maintain_order=True).head(MAX_EXAMPLES)
    examples = []
    shown = matches.filter(pl.col("benchmark_index").is_in(first.implode()))
    for (index,), group in shown.group_by(["benchmark_index"], maintain_order=True):
        refs = [_match_ref(r) for r in group.iter_rows(named=True)]
        question = questions["question"][int(index)]
        examples.append(
            {
                "benchmark_index": int(index),
                "benchmark_question_hash": _hash(question),
                "training_row_count": len({r["row_index"] for r in refs}),
                "methods": sorted({r["method"] for r in refs}),
                "training_matches": refs,
            }
        )
    return examples


def benchmark_section(state: RunState, name: str) -> dict[str, Any]:
    matches = state.matches if state.matches is not None and state.matches.height else None
    mine = (
        matches.filter(pl.col("benchmark") == name).sort("benchmark_index", "pos", maintain_order=True)
        if matches is not None
        else None
    )
    examples = _examples(mine, state.benchmarks[name]) if mine is not None and mine.height else []
    by_method = {}
    if mine is not None and mine.height:
        for (method,), group in mine.group_by(["method"], maintain_order=True):
            by_method[method] = {
                "pairs": group.height,
                "items": group["benchmark_index"].n_unique(),
                "rows": group["pos"].n_unique(),
                "kinds": dict(sorted(group["kind"].value_counts().rows())) if "kind" in group.columns else {},
            }
    pairs = mine.select("pos", "benchmark_index").n_unique() if mine is not None and mine.height else 0
    items = mine["benchmark_index"].n_unique() if mine is not None and mine.height else 0
    return {
        **state.benchmark_info[name],
        "overlap_count": pairs,
        "overlapping_question_record_count": items,
        "overlapping_question_ids_or_hashes": examples,
        "by_method": dict(sorted(by_method.items())),
    }


def build_report(state: RunState) -> dict[str, Any]:
    sections = {name: benchmark_section(state, name) for name in state.benchmarks}
    overlap = state.contamination_report.get("train_val_overlap", {})
    checks = [g for g in state.gates if g.name != "train_val_overlap"]
    leakage = next((g for g in state.gates if g.name == "train_val_overlap"), None)
    first = next(iter(sections.values()), {})
    train, val = state.require("train"), state.require("val")
    return {
        "created_at": run_timestamp(),
        "status": state.status,
        "benchmark": {k: first.get(k) for k in ("name", "source", "field", "rows")},
        "training_source_filter": {
            "source": "all",
            "compared_field": "problem",
            "splits": ["train", "val"],
        },
        "normalization_rule": CANONICAL_RULE,
        "inputs": {
            "train_path": "raw/train.jsonl",
            "val_path": "raw/val.jsonl",
            "train_rows": train.height,
            "val_rows": val.height,
            "train_gsm8k_rows_compared_to_benchmark": int((train["source"] == "gsm8k").sum()),
            "rows_compared_to_benchmarks": train.height + val.height,
        },
        "overlap_count": sum(s["overlap_count"] for s in sections.values()),
        "overlapping_question_ids_or_hashes": [
            {"benchmark": n, **e}
            for n, s in sections.items()
            for e in s["overlapping_question_ids_or_hashes"]
        ][:MAX_EXAMPLES],
        "overlapping_question_record_count": sum(
            s["overlapping_question_record_count"] for s in sections.values()
        ),
        "train_val_overlap": overlap,
        "pass_fail_outcome": {
            "benchmark_contamination": "fail" if any(g.status == "fail" for g in checks) else "pass",
            "train_val_overlap": leakage.status if leakage else "pass",
        },
        "failure_rule": FAILURE_RULE,
        "checks": [vars(g) for g in checks],
        "benchmarks": sections,
    }


class ContaminationJson(Reporter):
    """reports/contamination.json: the study's contamination/integrity report, all benchmarks."""

    name = "dq.contamination_json"
    filename = "contamination.json"

    def write(self, state: RunState) -> bytes:
        return json.dumps(build_report(state), indent=2, ensure_ascii=False).encode("utf-8")


class ContaminationMatches(Reporter):
    """reports/contamination_matches.jsonl: every (curated row, benchmark item) match found."""

    name = "dq.contamination_matches"
    filename = "contamination_matches.jsonl"

    def write(self, state: RunState) -> Iterator[bytes]:
        matches = state.matches
        if matches is None or not matches.height:
            return
        cols = [
            "benchmark",
            "benchmark_index",
            "method",
            "check",
            "action",
            "score",
            "split",
            "row_index",
            "row_id",
            "source",
        ]
        optional: list[str] = [
            c for c in ("kind", "estimate", "verified", "similarity", "evidence") if c in matches.columns
        ]
        keys = ["benchmark", "benchmark_index", "method", "pos"]
        ordered = matches.select(cols + optional + ["pos"]).sort(keys, maintain_order=True).drop("pos")
        # A batch of lines at a time: a streamed run can hold millions of matches.
        for batch in ordered.iter_slices(MATCH_BATCH):
            lines = []
            for r in batch.iter_rows(named=True):
                r = {k: v for k, v in r.items() if v is not None}
                if "evidence" in r:
                    r["evidence"] = json.loads(r["evidence"])
                lines.append(json.dumps(r, ensure_ascii=False) + "\n")
            yield "".join(lines).encode("utf-8")


class ContaminationMarkdown(Reporter):
    """reports/contamination.md: per benchmark item, the training rows that match it, for people."""

    name = "dq.contamination_md"
    filename = "contamination.md"

    def write(self, state: RunState) -> bytes:
        report = build_report(state)
        lines = [f"# Contamination report: {report['status'].upper()}", ""]
        lines += ["| check | action | status | matches |", "|---|---|---|---|"]
        lines += [
            f"| {c['name']} | {c['action']} | {c['status']} | {c['matches']} |" for c in report["checks"]
        ]
        overlap = report["train_val_overlap"]
        lines += [
            "",
            f"Train/val leakage: {report['pass_fail_outcome']['train_val_overlap']} "
            f"(row_id overlap {overlap.get('row_id_overlap_count', 0)}, "
            f"problem overlap {overlap.get('problem_text_overlap_count', 0)})",
            "",
        ]
        for name, section in report["benchmarks"].items():
            lines += [f"## {name} ({section['rows']} items, {section['source']})", ""]
            if not section["overlapping_question_ids_or_hashes"]:
                lines += ["No matches.", ""]
                continue
            questions = state.benchmarks[name]["question"]
            for item in section["overlapping_question_ids_or_hashes"]:
                index = item["benchmark_index"]
                lines += [
                    f"### item {index}: {item['training_row_count']} training rows ({', '.join(item['methods'])})",
                    "",
                    f"> {questions[index][:400]}",
                    "",
                    "| row | split | method | kind | score | evidence |",
                    "|---|---|---|---|---|---|",
                ]
                for m in item["training_matches"]:
                    evidence = json.dumps(m.get("evidence", {}), ensure_ascii=False).replace("|", "\\|")
                    lines.append(
                        f"| {m['row_index']} | {m['split']} | {m['method']} | {m.get('kind', '')} | "
                        f"{m['score']:.3f} | {evidence[:200]} |"
                    )
                lines.append("")
            if section["overlapping_question_record_count"] > len(
                section["overlapping_question_ids_or_hashes"]
            ):
                lines += ["... and more items: see contamination_matches.jsonl", ""]
        return ("\n".join(lines) + "\n").encode("utf-8")
