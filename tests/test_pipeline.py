"""End-to-end runs of ``dq run --rules rules/strict.toml`` on the embedded demo corpus."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest

from dq.data.demo import demo_benchmark, demo_rows
from dq.text.normalize import canonical_problem
from tests.conftest import STRICT
from tests.helpers import dq

PLANTED_ROWS = {50, 450, 850, 1250}


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("demo") / "out"
    result = dq("run", "--rules", STRICT, "--out", out)
    assert result.exit_code == 1, result.output
    return out


def _jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_demo_gate_fails_and_report_names_the_planted_rows(demo_run: Path) -> None:
    report = json.loads((demo_run / "reports/contamination.json").read_text())
    assert report["status"] == "fail"
    assert report["pass_fail_outcome"] == {"benchmark_contamination": "fail", "train_val_overlap": "pass"}
    named = {
        m["row_index"] for e in report["overlapping_question_ids_or_hashes"] for m in e["training_matches"]
    }
    assert named == PLANTED_ROWS
    assert report["overlap_count"] == 4 and report["overlapping_question_record_count"] == 4
    assert {e["benchmark_index"] for e in report["overlapping_question_ids_or_hashes"]} == {3, 11, 19, 27}


def test_demo_planted_variants_really_differ_from_the_benchmark_text() -> None:
    bench = demo_benchmark()["question"].to_list()
    rows = demo_rows()
    planted = [rows["problem"][i] for i in sorted(PLANTED_ROWS)]
    assert planted[0] == bench[3]  # verbatim
    for text, index in zip(planted[1:], (11, 19, 27), strict=True):
        assert text != bench[index] and canonical_problem(text) == canonical_problem(bench[index])


def test_manifest_has_the_seed_keys_and_consistent_counts(demo_run: Path) -> None:
    manifest = json.loads((demo_run / "manifest.json").read_text())
    train, val = _jsonl(demo_run / "raw/train.jsonl"), _jsonl(demo_run / "raw/val.jsonl")
    assert manifest["status"] == "fail"
    assert sum(manifest["accepted_source_counts"].values()) == len(train) + len(val)
    considered = sum(manifest["input_source_counts"].values())
    assert considered == len(train) + len(val) + sum(manifest["reject_reasons"].values())
    assert "augmented_math" not in manifest["input_source_counts"]  # skipped: counted nowhere
    assert set(manifest["reject_reasons"]) >= {
        "gsm8k:missing_box",
        "math:boxed_mismatch",
        "gsm8k:problem_pattern",
    }
    for rel, digest in manifest["outputs"].items():
        import hashlib

        assert hashlib.sha256((demo_run / rel).read_bytes()).hexdigest() == digest, rel


def test_no_canonical_problem_crosses_train_and_val(demo_run: Path) -> None:
    train = {canonical_problem(r["problem"]) for r in _jsonl(demo_run / "raw/train.jsonl")}
    val = {canonical_problem(r["problem"]) for r in _jsonl(demo_run / "raw/val.jsonl")}
    assert train and val and not train & val


def test_rendered_rows_follow_raw_rows(demo_run: Path) -> None:
    for split in ("train", "val"):
        raw = _jsonl(demo_run / f"raw/{split}.jsonl")
        chat = _jsonl(demo_run / f"rendered/{split}.jsonl")
        assert [r["row_id"] for r in raw] == [c["row_id"] for c in chat]
        assert [c["messages"][1]["content"] for c in chat] == [r["problem"] for r in raw]
        assert chat[0]["messages"][0]["role"] == "system"


def test_drop_mode_removes_contaminated_rows_and_passes(tmp_path: Path) -> None:
    result = dq("run", "--rules", STRICT, "--out", tmp_path / "o", "--contamination-action", "drop")
    assert result.exit_code == 0, result.output
    manifest = json.loads((tmp_path / "o/manifest.json").read_text())
    assert manifest["contamination_dropped_rows"] == 4 and manifest["status"] == "pass"
    bench = {canonical_problem(q) for q in demo_benchmark()["question"]}
    kept = _jsonl(tmp_path / "o/raw/train.jsonl") + _jsonl(tmp_path / "o/raw/val.jsonl")
    assert not {canonical_problem(r["problem"]) for r in kept} & bench


def _tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_rerun_is_byte_identical(tmp_path: Path) -> None:
    env = {"SOURCE_DATE_EPOCH": "1767225600"}
    for name in ("a", "b"):
        assert dq("run", "--rules", STRICT, "--out", tmp_path / name, env=env).exit_code == 1
    assert _tree(tmp_path / "a") == _tree(tmp_path / "b")


def test_rerun_without_fixed_clock_differs_only_in_timestamps(tmp_path: Path) -> None:
    for name in ("a", "b"):
        dq("run", "--rules", STRICT, "--out", tmp_path / name)
    a, b = _tree(tmp_path / "a"), _tree(tmp_path / "b")
    for rel in a:
        if rel.endswith((".json",)):
            ja, jb = json.loads(a[rel]), json.loads(b[rel])
            ja.pop("created_at", None), jb.pop("created_at", None)
            if rel == "manifest.json":
                (
                    ja["outputs"].pop("reports/contamination.json"),
                    jb["outputs"].pop("reports/contamination.json"),
                )
            assert ja == jb, rel
        else:
            assert a[rel] == b[rel], rel


def test_existing_output_needs_overwrite(tmp_path: Path) -> None:
    out = tmp_path / "o"
    dq("run", "--rules", STRICT, "--out", out)
    again = dq("run", "--rules", STRICT, "--out", out)
    assert again.exit_code == 2 and "--overwrite" in again.output
    assert dq("run", "--rules", STRICT, "--out", out, "--overwrite").exit_code == 1
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_verdicts_record_every_rule_that_fired(demo_run: Path) -> None:
    verdicts = pl.read_ndjson(demo_run / "verdicts.jsonl")
    rejected = pl.read_ndjson(demo_run / "rejected.jsonl")
    first = rejected.select("row_index", "reason")
    joined = first.join(verdicts, on="row_index")
    assert (joined.group_by("row_index").agg((pl.col("rule") == pl.col("reason")).any())["rule"]).all()
    mismatch = verdicts.filter(pl.col("rule") == "boxed_mismatch")["detail"]
    assert mismatch.str.starts_with("boxed=").all()
