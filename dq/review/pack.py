"""Review packs: sample rows for people to read, and read back their keep/drop decisions.

A pack row is keyed by ``row_key`` (sha256 of source, problem, solution and answer; unlike
``row_id`` it tells two solutions of one problem apart). Applying decisions writes a new
dataset version (:mod:`dq.review.version`).
"""

from __future__ import annotations

import hashlib
import json
import random
from pathlib import Path
from typing import Any

from dq.data.reader import iter_jsonl
from dq.errors import DqError

KEY_FIELDS = ("source", "problem", "generated_solution", "expected_answer")
#: The decisions file a pack starts reviewers with; a second export never overwrites an edited one.
DECISIONS = "decisions_template.jsonl"


def row_key(row: dict[str, Any]) -> str:
    payload = "\n".join(row[f] for f in KEY_FIELDS).encode("utf-8")
    return hashlib.sha256(payload).hexdigest()[:20]


def _read(path: Path) -> list[dict[str, Any]]:
    if not path.is_file():
        raise DqError(f"{path}: missing; is this a dq run folder?")
    return [obj for _, obj in iter_jsonl(path)]


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
    template = [
        {
            "row_key": r["row_key"],
            "decision": "drop" if r["kind"] == "flagged" else "keep",
            "note": "",
        }
        for r in pack
    ]
    texts = {
        "review_pack.jsonl": "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in pack),
        "review_pack.md": _markdown(pack),
        DECISIONS: "".join(json.dumps(t) + "\n" for t in template),
    }
    decisions = to_dir / DECISIONS
    if decisions.exists() and (
        not decisions.is_file() or decisions.read_bytes() != texts[DECISIONS].encode()
    ):
        raise DqError(
            f"{decisions}: exists and differs from this pack's template (a reviewer's decisions?); "
            "dq never overwrites it: move it away or export with --to ANOTHER_FOLDER"
        )
    paths = [to_dir / name for name in texts]
    try:
        to_dir.mkdir(parents=True, exist_ok=True)
        for path, text in zip(paths, texts.values(), strict=True):
            tmp = path.with_name(f".{path.name}.tmp")
            tmp.write_text(text, encoding="utf-8")
            tmp.replace(path)
    except OSError as exc:
        raise DqError(f"{to_dir}: cannot write the review pack: {exc.strerror or exc}") from None
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


def read_decisions(path: Path) -> dict[str, tuple[str, str, int]]:
    """``row_key`` -> (keep/drop, note, line) from a JSONL decisions file; a bad line is one clear error.

    A row_key decided twice takes its last line's decision.
    """
    decisions: dict[str, tuple[str, str, int]] = {}
    for lineno, obj in iter_jsonl(path):
        if not isinstance(obj.get("row_key"), str):
            raise DqError(f"{path}:{lineno}: field 'row_key' must be a string")
        if obj.get("decision") not in ("keep", "drop"):
            raise DqError(
                f"{path}:{lineno}: field 'decision' must be 'keep' or 'drop', got {obj.get('decision')!r}"
            )
        note = obj.get("note", "")
        if not isinstance(note, str):
            raise DqError(f"{path}:{lineno}: field 'note' must be a string, got {note!r:.40}")
        decisions[obj["row_key"]] = (obj["decision"], note, lineno)
    return decisions
