"""Review packs: sample rows for people to read, then apply their keep/drop decisions.

A pack row is keyed by ``row_key`` (sha256 of source, problem, solution and answer; unlike
``row_id`` it tells two solutions of one problem apart). Applying decisions writes a new
dataset version whose manifest names its parent's manifest hash and the decisions file's hash.
"""

from __future__ import annotations

import hashlib
import json
import random
import shutil
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

import polars as pl

from dq.data.jsonl import write_json, write_lines
from dq.data.reader import iter_jsonl
from dq.errors import DqError
from dq.pipeline.manifest import run_timestamp

KEY_FIELDS = ("source", "problem", "generated_solution", "expected_answer")


def row_key(row: dict[str, Any]) -> str:
    payload = "\n".join(row[f] for f in KEY_FIELDS).encode("utf-8")
    return hashlib.sha256(payload).hexdigest()[:20]


def _read(path: Path) -> list[dict[str, Any]]:
    if not path.is_file():
        raise DqError(f"{path}: missing; is this a dq run folder?")
    if path.stat().st_size == 0:
        return []
    with path.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def _sample_accepted(rows: list[dict[str, Any]], per_source: int, rng: random.Random) -> list[dict[str, Any]]:
    """The study's manual-review sample: sorted sources, rng.sample each, then one shuffle."""
    by_source: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        by_source.setdefault(row["source"], []).append(row)
    picked = [
        r for s in sorted(by_source) for r in rng.sample(by_source[s], min(per_source, len(by_source[s])))
    ]
    rng.shuffle(picked)
    return picked


def _pack_row(row: dict[str, Any], kind: str) -> dict[str, Any]:
    return {
        "row_key": row_key(row),
        "kind": kind,
        "split": row.get("split", ""),
        "reason": row.get("reason", ""),
        "rules": row.get("rules", ""),
        "row_id": row["row_id"],
        **{f: row[f] for f in KEY_FIELDS},
    }


def export_pack(run_dir: Path, to_dir: Path, per_source: int, per_rule: int, seed: int) -> list[Path]:
    """Write review_pack.jsonl, review_pack.md and decisions_template.jsonl; return their paths."""
    rng = random.Random(seed)
    accepted = [dict(r, split=s) for s in ("train", "val") for r in _read(run_dir / f"raw/{s}.jsonl")]
    rejected = _read(run_dir / "rejected.jsonl")
    by_reason: dict[str, list[dict[str, Any]]] = {}
    for row in rejected:
        by_reason.setdefault(row["reason"], []).append(row)
    flagged = [
        r
        for reason in sorted(by_reason)
        for r in rng.sample(by_reason[reason], min(per_rule, len(by_reason[reason])))
    ]
    pack = [_pack_row(r, "flagged") for r in flagged] + [
        _pack_row(r, "accepted") for r in _sample_accepted(accepted, per_source, rng)
    ]
    to_dir.mkdir(parents=True, exist_ok=True)
    paths = [
        to_dir / "review_pack.jsonl",
        to_dir / "review_pack.md",
        to_dir / "decisions_template.jsonl",
    ]
    paths[0].write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in pack), encoding="utf-8")
    paths[1].write_text(_markdown(pack), encoding="utf-8")
    template = [
        {
            "row_key": r["row_key"],
            "decision": "drop" if r["kind"] == "flagged" else "keep",
            "note": "",
        }
        for r in pack
    ]
    paths[2].write_text("".join(json.dumps(t) + "\n" for t in template), encoding="utf-8")
    return paths


def _markdown(pack: list[dict[str, Any]]) -> str:
    from dq.text.normalize import last_boxed

    out = [
        "# dq review pack",
        "",
        f"{len(pack)} rows. Record a decision per `row_key` (keep/drop) in a",
        "JSONL file (start from decisions_template.jsonl), then run `dq review apply`.",
        "",
    ]
    for i, r in enumerate(pack, 1):
        label = (
            f"flagged: {r['reason']} ({r['rules']})" if r["kind"] == "flagged" else f"accepted ({r['split']})"
        )
        out += [
            f"## {i}. `{r['row_key']}` {r['source']}, {label}",
            "",
            "**Problem**",
            "",
            r["problem"],
            "",
            "**Solution (last 600 chars)**",
            "",
            "```",
            r["generated_solution"][-600:],
            "```",
            "",
            f"last box: `{last_boxed(r['generated_solution'])}` · expected: `{r['expected_answer']}`",
            "",
        ]
    return "\n".join(out)


def read_decisions(path: Path) -> dict[str, str]:
    """``row_key`` -> keep/drop from a JSONL decisions file; a bad line is one clear error."""
    decisions: dict[str, str] = {}
    for lineno, obj in iter_jsonl(path):
        if not isinstance(obj.get("row_key"), str):
            raise DqError(f"{path}:{lineno}: field 'row_key' must be a string")
        if obj.get("decision") not in ("keep", "drop"):
            raise DqError(
                f"{path}:{lineno}: field 'decision' must be 'keep' or 'drop', got {obj.get('decision')!r}"
            )
        decisions[obj["row_key"]] = obj["decision"]
    return decisions


def apply_decisions(run_dir: Path, decisions_path: Path, out_dir: Path) -> str:
    """Drop accepted rows marked drop; reinstate rejected rows marked keep (into their group's split)."""
    from dq.data.rows import chat_line, raw_line
    from dq.text.normalize import canonical_problem

    if out_dir.exists():
        raise DqError(f"{out_dir}: output folder exists; choose a new folder for the new version")
    decisions = read_decisions(decisions_path)
    splits = {s: _read(run_dir / f"raw/{s}.jsonl") for s in ("train", "val")}
    rejected = _read(run_dir / "rejected.jsonl")
    known = {row_key(r) for rows in splits.values() for r in rows} | {row_key(r) for r in rejected}
    unknown = sorted(set(decisions) - known)
    if unknown:
        raise DqError(
            f"{decisions_path}: row_key '{unknown[0]}' is not in {run_dir} ({len(unknown)} unknown)"
        )
    dropped = {s: [r for r in rows if decisions.get(row_key(r)) == "drop"] for s, rows in splits.items()}
    kept = {s: [r for r in rows if decisions.get(row_key(r)) != "drop"] for s, rows in splits.items()}
    val_problems = {canonical_problem(r["problem"]) for r in kept["val"]}
    reinstated = [r for r in rejected if decisions.get(row_key(r)) == "keep"]
    for row in reinstated:  # keep the grouped split's promise: a problem stays on one side
        side = "val" if canonical_problem(row["problem"]) in val_problems else "train"
        kept[side].append({k: row[k] for k in ("row_id", *KEY_FIELDS)})
    remaining = [r for r in rejected if decisions.get(row_key(r)) != "keep"]
    remaining += [
        dict(r, reason="review_drop", rules="review_drop", row_index=-1)
        for rows in dropped.values()
        for r in rows
    ]
    parent_manifest = (run_dir / "manifest.json").read_bytes()
    render = json.loads((run_dir / "rendered/manifest.json").read_text(encoding="utf-8"))
    work = Path(
        tempfile.mkdtemp(
            prefix=f".{out_dir.name}.tmp-", dir=out_dir.parent if out_dir.parent.exists() else None
        )
    )
    try:
        outputs = _write_version(
            work, kept, remaining, render, raw_line(), chat_line(render["system_prompt"])
        )
        manifest = json.loads(parent_manifest)
        manifest.update(
            {
                "created_at": run_timestamp(),
                "split_source_counts": {
                    s: dict(Counter(r["source"] for r in rows)) for s, rows in kept.items()
                },
                "parent": {
                    "path": str(run_dir / "manifest.json"),
                    "manifest_sha256": hashlib.sha256(parent_manifest).hexdigest(),
                },
                "review": {
                    "decisions_path": str(decisions_path),
                    "decisions_sha256": hashlib.sha256(decisions_path.read_bytes()).hexdigest(),
                    "dropped_rows": sum(len(v) for v in dropped.values()),
                    "reinstated_rows": len(reinstated),
                },
                "outputs": dict(sorted(outputs.items())),
            }
        )
        write_json(manifest, work / "manifest.json")
        out_dir.parent.mkdir(parents=True, exist_ok=True)
        work.rename(out_dir)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return (
        f"{out_dir}: train {len(kept['train'])}, val {len(kept['val'])} rows; dropped "
        f"{manifest['review']['dropped_rows']}, reinstated {len(reinstated)}"
    )


def _write_version(
    work: Path,
    kept: dict[str, list[dict[str, Any]]],
    rejected: list[dict[str, Any]],
    render: dict[str, Any],
    raw: pl.Expr,
    chat: pl.Expr,
) -> dict[str, str]:
    from dq.data.rows import rejected_line

    outputs = {}
    schema = {"row_id": pl.String, **{f: pl.String for f in KEY_FIELDS}}
    for split, rows in kept.items():
        frame = pl.DataFrame(rows, schema=schema)
        outputs[f"raw/{split}.jsonl"] = write_lines(frame, raw, work / f"raw/{split}.jsonl")
        outputs[f"rendered/{split}.jsonl"] = write_lines(frame, chat, work / f"rendered/{split}.jsonl")
    render["splits"] = {s: {"rows": len(rows)} for s, rows in kept.items()}
    outputs["rendered/manifest.json"] = write_json(render, work / "rendered/manifest.json")
    rej_schema = {"row_index": pl.Int64, "reason": pl.String, "rules": pl.String, **schema}
    frame = pl.DataFrame([{k: r.get(k) for k in rej_schema} for r in rejected], schema=rej_schema)
    outputs["rejected.jsonl"] = write_lines(frame, rejected_line(), work / "rejected.jsonl")
    return outputs
