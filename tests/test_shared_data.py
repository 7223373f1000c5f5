"""Real data (../shared/data): vectorized gate == Python reference, strict run == independent re-count."""

from __future__ import annotations

import json
import re
from pathlib import Path

import polars as pl
import pytest

from dq.testing.corpus import openmath_shaped
from dq.testing.reference import reference_gate, reference_split, strict_patterns
from dq.text import normalize as ref
from dq.text import vector
from tests.conftest import STRICT
from tests.helpers import dq

pytestmark = pytest.mark.shared


def all_texts(data_dir: Path) -> list[str]:
    """Every string field of every row of every file under ../shared/data."""
    texts = []
    for path in sorted(data_dir.rglob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            texts += [v for v in json.loads(line).values() if isinstance(v, str)]
    return texts


@pytest.fixture(scope="module")
def corpus(shared_data: Path) -> pl.Series:
    texts = all_texts(shared_data)
    # Also every text with its last box cut open, and upper-cased, to reach the harder paths.
    texts += [t[: t.rfind("}")] for t in texts if "\\boxed{" in t][:5000]
    texts += [t.upper() for t in texts[:3000]]
    return pl.Series("text", texts, dtype=pl.String)


def test_corpus_is_big_and_varied(corpus: pl.Series) -> None:
    assert corpus.len() > 50_000
    assert vector.non_ascii(corpus).sum() > 1000


def test_last_boxed_and_gate_normalize_agree_with_reference(corpus: pl.Series) -> None:
    texts = corpus.to_list()
    boxed = vector.last_boxed(corpus).to_list()
    assert boxed == [ref.last_boxed(t) for t in texts]
    normalized = vector.gate_normalize(corpus).to_list()
    assert normalized == [ref.gate_normalize(t) for t in texts]


def test_canonical_problem_agrees_with_reference(corpus: pl.Series) -> None:
    assert vector.canonical_problem(corpus).to_list() == [ref.canonical_problem(t) for t in corpus.to_list()]


def test_strict_phrases_and_regexes_agree_with_reference(corpus: pl.Series) -> None:
    phrases, patterns = strict_patterns()
    texts = corpus.to_list()
    got = vector.contains_phrases(corpus, phrases, lowercase=True).to_list()
    assert got == [any(p in t.lower() for p in phrases) for t in texts]
    compiled = [re.compile(p, re.IGNORECASE) for p in patterns]
    got = vector.regex_search(corpus, patterns, ignorecase=True).to_list()
    want = [any(c.search(t) for c in compiled) for t in texts]
    assert got == want
    assert sum(want) > 0  # the test data does exercise the residue patterns


@pytest.fixture(scope="module")
def openmath_run(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, pl.DataFrame]:
    rows = openmath_shaped(30_000, shared_data, seed=3)
    work = tmp_path_factory.mktemp("openmath")
    rows.write_ndjson(work / "input.jsonl")
    result = dq(
        "run",
        "--rules",
        STRICT,
        "--input",
        work / "input.jsonl",
        "--benchmark",
        f"gsm8k={shared_data / 'gsm8k/test.jsonl'}",
        "--out",
        work / "out",
    )
    assert result.exit_code == 0, result.output
    return work / "out", rows


def test_strict_run_reproduces_an_independent_recount(openmath_run: tuple[Path, pl.DataFrame]) -> None:
    out, rows = openmath_run
    kept, rejects, inputs = reference_gate(rows.iter_rows(named=True))
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["input_source_counts"] == dict(inputs)
    assert manifest["reject_reasons"] == {f"{s}:{r}": n for (s, r), n in rejects.items()}
    assert set(r for _, r in rejects) == {
        "missing_box",
        "boxed_mismatch",
        "suspicious_pattern",
        "problem_pattern",
    }


def test_strict_run_split_is_the_studys_split_byte_for_byte(openmath_run: tuple[Path, pl.DataFrame]) -> None:
    out, rows = openmath_run
    kept, _, _ = reference_gate(rows.iter_rows(named=True))
    train, val, train_groups, val_groups = reference_split(kept)
    for split, expected in (("train", train), ("val", val)):
        want = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in expected)
        assert (out / f"raw/{split}.jsonl").read_text(encoding="utf-8") == want, split
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["split_group_counts"] == {"train": train_groups, "val": val_groups}


def test_planted_gsm8k_test_copies_fail_the_gate(shared_data: Path, tmp_path: Path) -> None:
    rows = openmath_shaped(3000, shared_data, seed=5)
    bench = [json.loads(line)["question"] for line in (shared_data / "gsm8k/test.jsonl").open()]
    variants = [
        bench[10],
        bench[20].upper(),
        "  " + bench[30].replace(" ", " \n ") + " ",
        bench[40].replace("1", "１").replace("2", "２"),
        bench[50].replace("a", "ａ"),
    ]
    planted = pl.DataFrame(
        {
            "problem": variants,
            "generated_solution": ["so \\boxed{1}"] * 5,
            "expected_answer": ["1"] * 5,
            "problem_source": ["math"] * 5,
        }
    )
    pl.concat([rows.head(1000), planted, rows.tail(2000)]).write_parquet(tmp_path / "in.parquet")
    result = dq(
        "run",
        "--rules",
        STRICT,
        "--input",
        tmp_path / "in.parquet",
        "--benchmark",
        f"gsm8k={shared_data / 'gsm8k/test.jsonl'}",
        "--out",
        tmp_path / "out",
    )
    assert result.exit_code == 1, result.output
    report = json.loads((tmp_path / "out/reports/contamination.json").read_text())
    named = {
        m["row_index"] for e in report["overlapping_question_ids_or_hashes"] for m in e["training_matches"]
    }
    assert named == {1000, 1001, 1002, 1003, 1004}
    assert {e["benchmark_index"] for e in report["overlapping_question_ids_or_hashes"]} == {
        10,
        20,
        30,
        40,
        50,
    }


def test_math_train_and_test_share_exactly_one_problem(shared_data: Path, tmp_path: Path) -> None:
    train = [json.loads(line) for line in (shared_data / "math/train.jsonl").open()]
    rows = pl.DataFrame(
        {
            "problem": [r["problem"] for r in train],
            "generated_solution": [r["solution"] for r in train],
            "expected_answer": [ref.last_boxed(r["solution"]) or "" for r in train],
            "problem_source": ["math"] * len(train),
        }
    )
    rows.write_parquet(tmp_path / "math_train.parquet")
    result = dq(
        "run",
        "--rules",
        STRICT,
        "--input",
        tmp_path / "math_train.parquet",
        "--benchmark",
        f"gsm8k={shared_data / 'gsm8k/test.jsonl'}",
        "--benchmark",
        f"math={shared_data / 'math/test.jsonl'}#problem",
        "--out",
        tmp_path / "out",
        "--contamination-action",
        "warn",
    )
    assert result.exit_code == 0, result.output
    report = json.loads((tmp_path / "out/reports/contamination.json").read_text())
    assert report["benchmarks"]["math"]["overlapping_question_record_count"] == 1


def test_seed_golden_rows_and_manifest_keys(shared_seed: Path, tmp_path: Path) -> None:
    seed_manifest = json.loads((shared_seed / "raw_dataset_manifest.json").read_text())
    out = tmp_path / "o"
    dq("run", "--rules", STRICT, "--out", out)
    manifest = json.loads((out / "manifest.json").read_text())
    assert set(seed_manifest) <= set(manifest)
    seed_report = json.loads((shared_seed / "contamination_check_report.json").read_text())
    report = json.loads((out / "reports/contamination.json").read_text())
    assert set(seed_report) <= set(report)
    assert set(seed_report["train_val_overlap"]) == set(report["train_val_overlap"])
    for line in (shared_seed / "raw_val_head3.jsonl").read_text().splitlines():
        row = json.loads(line)
        assert ref.row_id(row["source"], row["problem"], row["expected_answer"]) == row["row_id"]
