"""dq compare --out: the study's fig_01…fig_08 files, byte for byte where the study's CSVs are known."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from PIL import Image

from dq.compare.figures import BUILDERS, TABLES
from dq.compare.stats import mcnemar_exact
from dq_reports.html.compare import compare

STUDY = Path(__file__).parent / "data/study"
SEED = Path(__file__).resolve().parents[1] / "../shared/seed"
PROVENANCE_KEYS = {"command", "derived_data", "fig_name", "figure", "generated_at_utc", "git_commit",
                   "git_dirty", "inputs", "script", "source_of_truth_rule"}  # fmt: skip


def run(*args: str | Path) -> Result:
    return CliRunner().invoke(compare, [str(a) for a in args])


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("compare") / "report"
    result = run(STUDY, "--out", out)
    assert result.exit_code == 0, result.output
    return out


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.parametrize("name", list(BUILDERS))
def test_every_data_csv_is_the_studys_byte_for_byte(report: Path, name: str) -> None:
    golden = SEED / f"{name}.data.csv"
    if not golden.is_file():
        pytest.skip(
            f"{golden} absent: the study's golden figure CSVs live in ../shared/seed (absent in a fresh clone)"
        )
    ours = report / name / f"{name}.data.csv"
    assert b"\r\n" in ours.read_bytes()  # csv.DictWriter's CRLF, as the study's
    assert sha(ours) == sha(golden), ours.read_bytes()[:300]


def test_provenance_has_the_studys_keys_and_true_hashes(report: Path) -> None:
    for name in BUILDERS:
        folder = report / name
        prov = json.loads((folder / f"{name}.provenance.json").read_text(encoding="utf-8"))
        assert set(prov) == PROVENANCE_KEYS and prov["fig_name"] == name
        assert prov["source_of_truth_rule"].startswith("If this figure or table disagrees with retained")
        data = folder / f"{name}.data.csv"
        assert prov["derived_data"] == {"path": f"report/{name}/{data.name}", "sha256": sha(data),
                                        "bytes": data.stat().st_size}  # fmt: skip
        shown = report.parent / prov["figure"]["path"]
        assert shown.suffix == (".md" if name in TABLES else ".png") and prov["figure"]["sha256"] == sha(
            shown
        )
        assert prov["inputs"], name
        for item in prov["inputs"]:
            assert sha(Path(item["path"])) == item["sha256"]
        assert prov["git_dirty"] in (True, False, None)


def test_charts_and_tables_have_their_files(report: Path) -> None:
    for name in BUILDERS:
        files = {p.name for p in (report / name).iterdir()}
        common = {f"{name}.{ext}" for ext in ("data.csv", "md", "provenance.json")}
        charts = {f"{name}.{ext}" for ext in ("png", "grayscale.png", "pdf")}
        assert files == (common if name in TABLES else common | charts)
        if name not in TABLES:
            with Image.open(report / name / f"{name}.grayscale.png") as gray:
                assert gray.mode == "L"
    md = (report / "fig_01_primary_comparison_table" / "fig_01_primary_comparison_table.md").read_text()
    assert (
        md.startswith("### ")
        and "| attention_only | q_proj, k_proj, v_proj, o_proj | 29.4 | 3 | 0.9055 |" in md
    )
    assert "\n*Mean/min/max over seeds" in md and "not statistical confidence intervals.*" in md
    fig07 = (
        report / "fig_07_prediction_disagreement_table" / "fig_07_prediction_disagreement_table.md"
    ).read_text()
    assert fig07.count("correct, all_layer wrong") == 3 and fig07.count("correct, attention_only wrong") == 3


def test_verdict_paired_test_and_contract_warning(report: Path) -> None:
    data = json.loads((report / "report.json").read_text())
    v = data["verdict"]
    assert (v["verdict"], v["gap_pp"], v["best"]) == ("inconclusive", 0.455, "attention_only")
    m, bs = data["paired_test"]["mcnemar"], data["paired_test"]["bootstrap"]
    assert (m["first_only"], m["second_only"]) == (54 + 49 + 46, 47 + 43 + 41)
    assert m["p_value"] == pytest.approx(mcnemar_exact(149, 131)) and 0.05 < m["p_value"] < 1
    assert f"{bs['mean_difference'] * 100:.3f}" == "0.455"  # the paired mean equals the gap of the means
    assert bs["ci95"][0] < bs["mean_difference"] < bs["ci95"][1] and bs["ci95"][0] < 0
    assert "items are not independent across seeds" in data["paired_test"]["caveat"]
    (warning,) = data["contract_mismatches"]
    assert warning["key"] == "results_schema_sha256" and len(warning["values"]) == 2
    readme = (report / "README.md").read_text()
    assert readme.startswith(
        "# Study comparison\n\n> **WARNING: inputs were produced under different contracts"
    )
    assert "**Verdict: inconclusive**" in readme and "McNemar exact" in readme


def test_mcnemar_exact_known_values() -> None:
    assert mcnemar_exact(5, 5) == 1.0 and mcnemar_exact(0, 0) == 1.0
    assert mcnemar_exact(0, 10) == pytest.approx(2 / 1024) and mcnemar_exact(10, 0) == mcnemar_exact(0, 10)
    assert mcnemar_exact(1, 9) == pytest.approx(2 * 11 / 1024)


def test_threshold_decides_the_winner_and_json_carries_it() -> None:
    result = run(STUDY, "--json", "--threshold", "0.004")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["verdict"]["verdict"] == "winner: attention_only"
    assert data["paired_test"]["bootstrap"]["seed"] == json.loads(run(STUDY, "--json").output)[
        "paired_test"]["bootstrap"]["seed"]  # fmt: skip
    text = run(STUDY)
    assert text.output.startswith("WARNING: inputs were produced under different contracts")
    assert "verdict: inconclusive" in text.output


def test_refuses_an_existing_report_and_overwrites_deterministically(
    report: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    result = run(STUDY, "--out", report)
    assert result.exit_code == 2 and "already exists; pass --overwrite" in result.output
    assert len(result.output.strip().splitlines()) == 1
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1778198400")
    out = tmp_path / "r"
    evals = [p for p in STUDY.iterdir() if p.name.startswith(("checkpoint-", "baseline-"))]
    snapshots = []
    for _ in range(2):
        assert run(*evals, "--out", out, "--overwrite", "--no-pdf").exit_code == 0
        snapshots.append({str(p.relative_to(out)): p.read_bytes() for p in out.rglob("*") if p.is_file()})
    assert snapshots[0] == snapshots[1]  # PNGs, CSVs and provenance (fixed time) are deterministic
    assert [p.name for p in tmp_path.iterdir()] == ["r"]  # no temporary folder left behind
    data = json.loads((out / "report.json").read_text())
    assert set(data["skipped"]) == {"fig_02_cost_efficiency_table", "fig_05_validation_nll_diagnostic",
                                    "fig_06_lr_selection", "fig_08_throughput_probe"}  # fmt: skip
    assert "skipped `fig_08_throughput_probe`: no throughput-probe folders" in (out / "README.md").read_text()


def test_unequal_index_sets_are_one_line_exit_2_and_write_nothing(tmp_path: Path) -> None:
    for p in STUDY.iterdir():
        if p.name.startswith("checkpoint-"):
            shutil.copytree(p, tmp_path / "in" / p.name)
    victim = next((tmp_path / "in").glob("*-all-gsm8k-20260507-*")) / "predictions.jsonl"
    rows = victim.read_text().splitlines(keepends=True)
    victim.write_text("".join(rows[:-1]))
    result = run(tmp_path / "in", "--out", tmp_path / "out")
    assert result.exit_code == 2 and "different benchmark_index sets" in result.output
    assert "Traceback" not in result.output and len(result.output.strip().splitlines()) == 1
    assert not (tmp_path / "out").exists()


def test_predictions_that_disagree_with_their_summary_are_refused(tmp_path: Path) -> None:
    for p in STUDY.iterdir():
        if p.name.startswith("checkpoint-"):
            shutil.copytree(p, tmp_path / p.name)
    victim = next(tmp_path.glob("*-att-gsm8k-20260506-*")) / "predictions.jsonl"
    rows = [json.loads(line) for line in victim.read_text().splitlines()]
    flip = next(r for r in rows if not r["correct"])
    flip["correct"] = True
    victim.write_text("".join(json.dumps(r, sort_keys=True) + "\n" for r in rows))
    result = run(tmp_path, "--json")
    assert result.exit_code == 2 and "summary.json says 1193" in result.output
