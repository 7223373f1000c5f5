"""Review packs: seeded export of flagged and accepted rows; decisions make a new dataset version."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from dq.text.normalize import canonical_problem
from tests.conftest import STRICT
from tests.helpers import dq


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("review") / "out"
    dq("run", "--rules", STRICT, "--out", out, "--contamination-action", "drop")
    return out


def _jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_export_samples_per_rule_and_per_source(run_dir: Path, tmp_path: Path) -> None:
    result = dq("review", "export", run_dir, "--per-source", "5", "--per-rule", "2", "--to", tmp_path / "a")
    assert result.exit_code == 0, result.output
    pack = _jsonl(tmp_path / "a/review_pack.jsonl")
    flagged = [r for r in pack if r["kind"] == "flagged"]
    accepted = [r for r in pack if r["kind"] == "accepted"]
    assert sorted({r["reason"] for r in flagged}) == [
        "boxed_mismatch",
        "missing_box",
        "problem_pattern",
        "suspicious_pattern",
    ]
    assert len(flagged) == 8 and len(accepted) == 10
    assert sorted(r["source"] for r in accepted) == ["gsm8k"] * 5 + ["math"] * 5
    assert "last box:" in (tmp_path / "a/review_pack.md").read_text()
    dq("review", "export", run_dir, "--per-source", "5", "--per-rule", "2", "--to", tmp_path / "b")
    assert (tmp_path / "a/review_pack.jsonl").read_bytes() == (tmp_path / "b/review_pack.jsonl").read_bytes()


def test_apply_writes_a_new_version_naming_its_parent(run_dir: Path, tmp_path: Path) -> None:
    dq("review", "export", run_dir, "--per-source", "3", "--per-rule", "1", "--to", tmp_path / "pack")
    pack = _jsonl(tmp_path / "pack/review_pack.jsonl")
    drop = next(r for r in pack if r["kind"] == "accepted")
    keep = next(r for r in pack if r["kind"] == "flagged")
    decisions = tmp_path / "decisions.jsonl"
    decisions.write_text(
        json.dumps({"row_key": drop["row_key"], "decision": "drop"})
        + "\n"
        + json.dumps({"row_key": keep["row_key"], "decision": "keep"})
        + "\n"
    )
    result = dq("review", "apply", run_dir, decisions, "--out", tmp_path / "v2")
    assert result.exit_code == 0, result.output
    manifest = json.loads((tmp_path / "v2/manifest.json").read_text())
    assert (
        manifest["parent"]["manifest_sha256"]
        == hashlib.sha256((run_dir / "manifest.json").read_bytes()).hexdigest()
    )
    assert manifest["review"]["decisions_sha256"] == hashlib.sha256(decisions.read_bytes()).hexdigest()
    assert manifest["review"]["dropped_rows"] >= 1 and manifest["review"]["reinstated_rows"] == 1
    rows = _jsonl(tmp_path / "v2/raw/train.jsonl") + _jsonl(tmp_path / "v2/raw/val.jsonl")
    texts = [(r["problem"], r["generated_solution"]) for r in rows]
    assert (drop["problem"], drop["generated_solution"]) not in texts
    assert (keep["problem"], keep["generated_solution"]) in texts
    train = {canonical_problem(r["problem"]) for r in _jsonl(tmp_path / "v2/raw/train.jsonl")}
    val = {canonical_problem(r["problem"]) for r in _jsonl(tmp_path / "v2/raw/val.jsonl")}
    assert not train & val


def test_bad_decisions_are_one_clear_error(run_dir: Path, tmp_path: Path) -> None:
    bad = tmp_path / "d.jsonl"
    bad.write_text('{"row_key": "x", "decision": "keep"}\n{"row_key": "y", "decision": "maybe"}\n')
    result = dq("review", "apply", run_dir, bad, "--out", tmp_path / "v2")
    assert result.exit_code == 2 and "d.jsonl:2: field 'decision' must be 'keep' or 'drop'" in result.output
    unknown = tmp_path / "u.jsonl"
    unknown.write_text('{"row_key": "nope", "decision": "drop"}\n')
    result = dq("review", "apply", run_dir, unknown, "--out", tmp_path / "v3")
    assert result.exit_code == 2 and "row_key 'nope' is not in" in result.output
    assert not (tmp_path / "v2").exists() and not (tmp_path / "v3").exists()
