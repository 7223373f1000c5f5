"""Review packs: seeded export of flagged and accepted rows; decisions make a new dataset version."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from dq.data.demo import PLANTED_EXACT
from dq.review.pack import row_key
from dq.text.normalize import canonical_problem
from tests.conftest import STRICT
from tests.helpers import dq

EPOCH = {"SOURCE_DATE_EPOCH": "1700000000"}


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
    assert manifest["parent"]["decisions_sha256"] == hashlib.sha256(decisions.read_bytes()).hexdigest()
    assert manifest["parent"]["dropped_rows"] >= 1 and manifest["parent"]["reinstated_rows"] == 1
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


@pytest.fixture(scope="module")
def failed_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo run whose gate fails on the four planted benchmark copies."""
    out = tmp_path_factory.mktemp("review-fail") / "out"
    assert dq("run", "--rules", STRICT, "--out", out, "--quiet", env=EPOCH).exit_code == 1
    return out


def _files(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()
    }


def _decide(path: Path, rows: list[dict], decision: str) -> Path:
    path.write_text("".join(json.dumps({"row_key": row_key(r), "decision": decision}) + "\n" for r in rows))
    return path


def _planted(run: Path) -> list[dict]:
    """The accepted rows that are the demo's planted exact benchmark copies."""
    matches = [
        json.loads(line) for line in (run / "reports/contamination_matches.jsonl").read_text().splitlines()
    ]
    assert {m["row_index"] for m in matches} == set(PLANTED_EXACT)
    ids = {m["row_id"] for m in matches}
    return [r for s in ("train", "val") for r in _jsonl(run / f"raw/{s}.jsonl") if r["row_id"] in ids]


def test_dropping_the_planted_copies_gives_a_full_passing_version(failed_run: Path, tmp_path: Path) -> None:
    planted = _planted(failed_run)
    assert len(planted) == 4
    decisions = _decide(tmp_path / "d.jsonl", planted, "drop")
    result = dq("review", "apply", failed_run, decisions, "--out", tmp_path / "v2", env=EPOCH)
    assert result.exit_code == 0, result.output
    parent = json.loads((failed_run / "manifest.json").read_text())
    manifest = json.loads((tmp_path / "v2/manifest.json").read_text())
    assert manifest["status"] == "pass"
    exact = next(g for g in manifest["gates"] if g["name"] == "dq.exact")
    assert exact["status"] == "pass" and exact["matches"] == 0
    assert manifest["rows"]["accepted"] == parent["rows"]["accepted"] - 4
    assert manifest["rows"]["rejected"] == parent["rows"]["rejected"] + 4
    assert manifest["reject_reasons"]["gsm8k:review_drop"] == 4
    rows = _jsonl(tmp_path / "v2/raw/train.jsonl") + _jsonl(tmp_path / "v2/raw/val.jsonl")
    assert len(rows) == manifest["rows"]["accepted"] == sum(manifest["accepted_source_counts"].values())
    rejected = _jsonl(tmp_path / "v2/rejected.jsonl")
    assert sorted(r["row_index"] for r in rejected if r["reason"] == "review_drop") == sorted(PLANTED_EXACT)
    for rel, digest in manifest["outputs"].items():  # every file of a run, reports included
        assert hashlib.sha256((tmp_path / "v2" / rel).read_bytes()).hexdigest() == digest, rel
    assert {f"reports/{n}" for n in ("contamination.json", "summary.md")} <= set(manifest["outputs"])
    report = json.loads((tmp_path / "v2/reports/contamination.json").read_text())
    assert report["status"] == "pass" and report["overlap_count"] == 0
    assert "| status | PASS |" in (tmp_path / "v2/reports/summary.md").read_text()
    assert (
        manifest["parent"]["manifest_sha256"]
        == hashlib.sha256((failed_run / "manifest.json").read_bytes()).hexdigest()
    )
    assert manifest["parent"]["decisions_sha256"] == hashlib.sha256(decisions.read_bytes()).hexdigest()
    before = _files(tmp_path / "v2")
    assert dq("report", tmp_path / "v2", "--quiet", env=EPOCH).exit_code == 0
    assert _files(tmp_path / "v2") == before  # a version is a run folder like any other

    # Reinstating one of those copies (now a rejected row of v2) makes the next version fail.
    keep = _decide(tmp_path / "k.jsonl", planted[:1], "keep")
    result = dq("review", "apply", tmp_path / "v2", keep, "--out", tmp_path / "v3", env=EPOCH)
    assert result.exit_code == 1, result.output
    v3 = json.loads((tmp_path / "v3/manifest.json").read_text())
    assert v3["status"] == "fail" and v3["rows"]["accepted"] == manifest["rows"]["accepted"] + 1
    assert next(g for g in v3["gates"] if g["name"] == "dq.exact")["matches"] == 1
    matches = [
        json.loads(line)
        for line in (tmp_path / "v3/reports/contamination_matches.jsonl").read_text().splitlines()
    ]
    assert [m["row_id"] for m in matches] == [planted[0]["row_id"]]
    assert planted[0]["row_id"] not in {r["row_id"] for r in _jsonl(tmp_path / "v3/rejected.jsonl")}
    verdicts = _jsonl(tmp_path / "v3/verdicts.jsonl")
    assert {"row_index": matches[0]["row_index"], "rule": "review_keep", "detail": ""} in verdicts


def test_a_version_without_decisions_is_its_parent(failed_run: Path, tmp_path: Path) -> None:
    empty = tmp_path / "none.jsonl"
    empty.write_text("")
    result = dq("review", "apply", failed_run, empty, "--out", tmp_path / "v", env=EPOCH)
    assert result.exit_code == 1, result.output  # the parent's gate verdict, recomputed
    parent, version = _files(failed_run), _files(tmp_path / "v")
    different = {k for k in parent.keys() | version.keys() if parent.get(k) != version.get(k)}
    assert different == {".dq-output", "manifest.json"}
    manifest, original = (json.loads(f["manifest.json"]) for f in (version, parent))
    assert {k for k in manifest if manifest[k] != original[k]} == {"parent"}


def test_apply_refuses_bad_outputs_and_writes_nothing(failed_run: Path, tmp_path: Path) -> None:
    empty = tmp_path / "none.jsonl"
    empty.write_text("")
    before = _files(failed_run)
    result = dq("review", "apply", failed_run, empty, "--out", failed_run)
    assert result.exit_code == 2 and "holds an input" in result.output
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken/x.txt").write_text("mine")
    result = dq("review", "apply", failed_run, empty, "--out", tmp_path / "taken")
    assert result.exit_code == 2 and "pass --overwrite" in result.output
    assert _files(failed_run) == before and (tmp_path / "taken/x.txt").read_text() == "mine"


def test_export_never_overwrites_edited_decisions(run_dir: Path, tmp_path: Path) -> None:
    args = ("review", "export", run_dir, "--per-source", "2", "--per-rule", "1", "--to", tmp_path / "p")
    assert dq(*args).exit_code == 0
    assert dq(*args).exit_code == 0  # an unedited template is the same file: exporting again is fine
    decisions = tmp_path / "p/decisions_template.jsonl"
    edited = decisions.read_text().replace('"keep"', '"drop"', 1)
    decisions.write_text(edited)
    result = dq(*args)
    assert result.exit_code == 2 and len(result.output.strip().splitlines()) == 1
    assert "decisions_template.jsonl: exists and differs" in result.output
    assert decisions.read_text() == edited


@pytest.mark.parametrize("option", ["--per-source", "--per-rule"])
def test_export_rejects_negative_sample_sizes(run_dir: Path, tmp_path: Path, option: str) -> None:
    result = dq("review", "export", run_dir, option, "-1", "--to", tmp_path / "p")
    assert result.exit_code == 2 and "-1 is not in the range x>=0" in result.output
    assert "Traceback" not in result.output and not (tmp_path / "p").exists()
