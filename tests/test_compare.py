"""dq compare: the study's result folders (tests/data/study) reproduce its figures' numbers."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from dq.compare.results import read_study, result_folders
from dq.compare.tables import disagreement
from dq.errors import DqError
from dq_reports.html.compare import compare, study_data

STUDY = Path(__file__).parent / "data/study"
SEED = Path(__file__).resolve().parents[1] / "../shared/seed"


def golden(name: str) -> list[dict[str, str]]:
    path = SEED / f"{name}.data.csv"
    if not path.is_file():
        pytest.skip(
            f"{path} absent: the study's golden figure CSVs live in ../shared/seed (absent in a fresh clone)"
        )
    with path.open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def test_json_table_matches_the_headline_numbers() -> None:
    result = CliRunner().invoke(compare, [str(STUDY), "--json"])
    assert result.exit_code == 0, result.output
    table = {r["condition"]: r for r in json.loads(result.output)["table"]}
    assert list(table) == ["baseline", "attention_only", "all_layer"]
    assert f"{table['baseline']['mean_accuracy']:.4f}" == "0.8453"
    assert f"{table['attention_only']['mean_accuracy']:.4f}" == "0.9055"
    assert f"{table['all_layer']['mean_accuracy']:.4f}" == "0.9009"
    assert (table["attention_only"]["extraction_failures"], table["all_layer"]["extraction_failures"]) == (
        13,
        17,
    )
    # Checkpoint ids come from each run's own summary, not from folder names.
    assert table["baseline"]["checkpoints"] == ["Qwen/Qwen3-8B"]
    assert all("export-main-001-attention_only-seed-" in c for c in table["attention_only"]["checkpoints"])


def test_json_table_equals_fig_01() -> None:
    rows = golden("fig_01_primary_comparison_table")
    table = {r["condition"]: r for r in study_data([STUDY])["table"]}
    for want in rows:
        got = table[want["condition"]]
        assert str(got["seeds"]) == want["seeds"]
        for key in ("mean_accuracy", "min_accuracy", "max_accuracy"):
            assert f"{got[key]:.4f}" == want[key]
        assert f"{got['delta_vs_baseline_pp']:+.3f}" == want["delta_vs_baseline_pp"]
        assert str(got["extraction_failures"]) == want["extraction_failures"]
        assert str(got["eval_tokens"]) == want["eval_tokens"]


def test_disagreement_equals_fig_07_and_fig_04() -> None:
    rows = golden("fig_04_paired_seed_slope")
    pair, got = disagreement(read_study(result_folders([STUDY])))
    assert pair == ("attention_only", "all_layer")
    assert [
        {"seed": str(r["seed"]), "attention_only_only": str(r["first_only"]), "all_layer_only": str(r["second_only"]),
         "both_correct": str(r["both_correct"]), "both_wrong": str(r["both_wrong"]),
         "disagreement_delta": str(r["delta"])}
        for r in got
    ] == rows  # fmt: skip


def test_nll_curves_and_lr_selection_equal_fig_05_and_fig_06() -> None:
    data = study_data([STUDY])
    means = {(c["condition"], s): v for c in data["nll_curves"] if c["seed"] is None
             for s, v in zip(c["steps"], c["values"], strict=True)}  # fmt: skip
    for row in golden("fig_05_validation_nll_diagnostic"):
        if row["kind"] == "mean":
            assert means[(row["condition"], int(row["step"]))] == pytest.approx(
                float(row["validation_mean_nll"]), abs=1e-15
            )
    assert {b["step"] for b in data["best_checkpoints"]} == {3169}
    lr = {(p["condition"], f"{p['lr']:.0e}".replace("-0", "-")): p["nll"] for p in data["lr_selection"]}
    for row in golden("fig_06_lr_selection"):
        assert lr[(row["condition"], row["lr"])] == float(row["validation_mean_nll"])


def test_html_page_has_the_study_sections(tmp_path: Path) -> None:
    out = tmp_path / "study.html"
    result = CliRunner().invoke(compare, [str(STUDY), "--html", str(out)])
    assert result.exit_code == 0, result.output
    html = out.read_text(encoding="utf-8")
    for anchor in ("verdict", "accuracy", "disagreement", "nll", "lr"):
        assert f'<section id="{anchor}">' in html
    assert "N=3 seeds per condition; intervals show min/max range across seeds" in html
    for colour in ("#1f77b4", "#ff7f0e", "#666666"):
        assert colour in html
    assert "+6.015" in html and "+5.560" in html and "<script" not in html
    assert "Verdict: inconclusive" in html and "results_schema_sha256</code> differs" in html


def test_condition_and_seed_come_from_the_summary_not_the_folder_name(tmp_path: Path) -> None:
    src = next(p for p in STUDY.iterdir() if "main-001-att-" in p.name)
    dst = tmp_path / "main-001-all_layer-seed-9"  # a misleading name
    shutil.copytree(src, dst)
    (run,) = read_study([dst]).evals
    assert (
        run.condition == "attention_only"
        and run.seed == json.loads((src / "summary.json").read_text())["seed"]
    )


def test_mismatched_prediction_sets_are_refused(tmp_path: Path) -> None:
    for p in STUDY.iterdir():
        if p.is_dir() and p.name.startswith("checkpoint-"):
            shutil.copytree(p, tmp_path / p.name)
    victim = next(p for p in tmp_path.iterdir() if "-att-" in p.name) / "predictions.jsonl"
    victim.write_text("".join(victim.read_text().splitlines(keepends=True)[:-1]))
    with pytest.raises(DqError, match="different benchmark_index sets"):
        disagreement(read_study(result_folders([tmp_path])))


def test_a_folder_outside_the_schema_is_one_line_exit_2(tmp_path: Path) -> None:
    (tmp_path / "summary.json").write_text('{"primary_metric": {"name": "bleu"}}')
    result = CliRunner().invoke(compare, [str(tmp_path)])
    assert (
        result.exit_code == 2
        and "neither gsm8k_accuracy" in result.output
        and "Traceback" not in result.output
    )
    empty = tmp_path / "empty"
    empty.mkdir()
    result = CliRunner().invoke(compare, [str(empty)])
    assert result.exit_code == 2 and "no summary.json" in result.output
