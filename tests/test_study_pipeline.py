"""One pipeline: curate → render → dq.train → dq.evaluate → comparison, on a tiny random Llama.

The demo corpus is curated with strict's rules, two LoRA conditions train for two steps on its
first rows, the base model and both exports answer three GSM8K-shaped items, and dq compare's
table lands in reports/. A failed gate refuses training (exit 1, curation outputs written).
The real SmolLM2 study (rules/study_smollm2.toml) runs only with DQ_SLOW_TESTS=1.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from dq.errors import DqError
from tests.helpers import dq, tiny_llama

torch = pytest.importorskip("torch")
pytest.importorskip("peft")
torch.set_num_threads(1)

ROOT = Path(__file__).resolve().parent.parent
STRICT = ROOT / "rules" / "strict.toml"
STUDY = ROOT / "rules" / "study_smollm2.toml"
PIPELINE = ["dq.load", "dq.curate", "dq.split", "dq.gate", "dq.render", "dq.train", "dq.evaluate", "dq.write"]
ITEMS = [("Tom has 2 apples and buys 3 more. How many apples?", "5"), ("What is 10 - 4?", "6")]


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 2-layer Llama (random weights, seed 0) with SmolLM2's tokenizer and chat template."""
    return tiny_llama(tmp_path_factory.mktemp("tiny-llama"), max_positions=2048)


@pytest.fixture(scope="module")
def gsm8k(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A GSM8K-shaped test file (question, answer with ####) of three items."""
    path = tmp_path_factory.mktemp("bench") / "test.jsonl"
    rows = [{"question": q, "answer": f"So the answer is {a}.\n#### {a}"} for q, a in ITEMS * 2]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows[:3]))
    return path


def study_rules(tmp: Path, model: Path, bench: Path, action: str, evals: str = "", **train: Any) -> Path:
    """strict.toml's rules with the study's pipeline and small [train]/[eval] sections appended.

    4 train rows make one partial batch a epoch: two epochs are two steps, validated at each end.
    """
    text = STRICT.read_text().replace(
        'action = "fail"             # fail | drop | warn', f'action = "{action}"'
    )
    settings = {"epochs": 2, "train_rows": 4, "val_rows": 2, "rank": 2, "micro_batch": 8, **train}
    lines = [f"pipeline = {json.dumps(PIPELINE)}", text, "[train]", f"model = {json.dumps(str(model))}"]
    lines += [f"{k} = {json.dumps(v)}" for k, v in settings.items()]
    lines += ["[eval]", f"data = {json.dumps(str(bench))}", "limit = 3", "max_new_tokens = 6", evals]
    # TOML top-level keys come before any table: the pipeline goes first, before strict's text.
    path = tmp / "study.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


def read(path: Path) -> Any:
    return json.loads(path.read_text())


def test_dq_run_trains_exports_evaluates_and_compares(tmp_path: Path, tiny_model: Path, gsm8k: Path) -> None:
    rules = study_rules(tmp_path, tiny_model, gsm8k, "drop")
    out = tmp_path / "out"
    result = dq("run", "--rules", rules, "--out", out, "--quiet")
    assert result.exit_code == 0, result.output
    runs = sorted(p.name for p in (out / "runs").iterdir())
    assert runs == ["main-001-all_layer-seed-0", "main-001-attention_only-seed-0"]
    summary = read(out / "runs" / runs[1] / "summary.json")
    export = summary["sampler_checkpoint"]["path"]
    # Recorded paths are relative to OUT and valid after the temp folder was renamed into place.
    assert export.startswith("runs/main-001-attention_only-seed-0/exports/export-")
    assert (out / export / "adapter_model.safetensors").is_file()
    run_manifest = read(out / "runs" / runs[1] / "manifest.json")
    assert run_manifest["dataset"]["train_rows"] == 4 and run_manifest["dataset"]["val_rows"] == 2
    assert run_manifest["training"]["total_optimizer_steps"] == 2
    assert run_manifest["training"]["lora_config"]["target_modules"] == [
        "k_proj",
        "o_proj",
        "q_proj",
        "v_proj",
    ]
    assert run_manifest["dataset"]["allow_failed_gate"] is False
    results = sorted(p.name for p in (out / "results").iterdir())
    assert len(results) == 3 and "base-gsm8k-first3" in results
    comparison = read(out / "reports" / "comparison.json")
    table = {row["condition"]: row for row in comparison["table"]}
    assert set(table) == {"baseline", "attention_only", "all_layer"}
    assert table["attention_only"]["seeds"] == 1 and table["baseline"]["delta_vs_baseline_pp"] in (0, None)
    best = {row["run_id"]: row for row in comparison["best_checkpoints"]}
    assert best[runs[1]]["step"] == summary["best_validation_step"]
    manifest = read(out / "manifest.json")
    assert f"{export}/adapter_model.safetensors" in manifest["outputs"]
    assert "reports/comparison.json" in manifest["outputs"]
    assert manifest["pipeline"] == PIPELINE


def test_a_failed_gate_refuses_training_unless_allowed(
    tmp_path: Path, tiny_model: Path, gsm8k: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from dq.cli.runtime import runtime
    from dq.pipeline.execute import run_pipeline

    rt = runtime()
    rules = study_rules(tmp_path, tiny_model, gsm8k, "fail")
    refused, _ = run_pipeline(rt.pm, rt.registry, rules, out_dir=tmp_path / "a", quiet=False)
    assert refused.exit_code == 1
    assert (
        "train: refused, gate failed (dq.exact); set [train] allow_failed_gate = true"
        in capsys.readouterr().err
    )
    assert not (tmp_path / "a" / "runs").exists() and not (tmp_path / "a" / "results").exists()
    assert (tmp_path / "a" / "raw" / "train.jsonl").is_file()  # curation outputs are still written
    rules = study_rules(
        tmp_path, tiny_model, gsm8k, "fail", "base = false", allow_failed_gate=True, conditions=["all_layer"]
    )
    allowed = dq("run", "--rules", rules, "--out", tmp_path / "b", "--quiet")
    assert allowed.exit_code == 1, allowed.output  # the gate still fails the run
    run_manifest = read(tmp_path / "b" / "runs" / "main-001-all_layer-seed-0" / "manifest.json")
    assert run_manifest["dataset"]["allow_failed_gate"] is True
    assert run_manifest["dataset"]["failed_gates"] == ["dq.exact"]
    assert [p.name for p in (tmp_path / "b" / "results").iterdir()] == [
        "export-main-001-all_layer-seed-0-step-2-gsm8k-first3"
    ]


def test_train_needs_a_model(tmp_path: Path, gsm8k: Path) -> None:
    rules = study_rules(tmp_path, Path("x"), gsm8k, "drop")
    rules.write_text(rules.read_text().replace('model = "x"', 'model = ""'))
    result = dq("run", "--rules", rules, "--out", tmp_path / "out")
    assert result.exit_code == 2 and "train.model: a base model is required" in result.output
    assert not (tmp_path / "out").exists()  # found by the plan, before any data is read


@pytest.mark.skipif(os.environ.get("DQ_SLOW_TESTS") != "1", reason="real SmolLM2 study: set DQ_SLOW_TESTS=1")
def test_the_smollm2_study_rule_set_runs_offline(tmp_path: Path, shared_data: Path) -> None:
    env = {"DQ_BENCHMARK_DIR": str(shared_data), "DQ_TORCH_THREADS": "1"}
    result = dq("run", "--rules", STUDY, "--out", tmp_path / "study", "--quiet", env=env)
    assert result.exit_code == 0, result.output
    comparison = read(tmp_path / "study" / "reports" / "comparison.json")
    assert {row["condition"] for row in comparison["table"]} >= {"attention_only", "all_layer"}


def test_train_and_eval_sections_do_nothing_by_default_and_threads_are_an_option(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from dq.api.schema import RuleSet
    from dq_stages.train import set_threads

    rules = RuleSet()
    assert "dq.train" not in rules.pipeline and "dq.evaluate" not in rules.pipeline
    assert (rules.train.model, rules.train.allow_failed_gate, rules.eval.limit) == ("", False, None)
    monkeypatch.delenv("DQ_TORCH_THREADS", raising=False)
    assert set_threads(None) is None
    assert set_threads(1) == 1 and torch.get_num_threads() == 1
    monkeypatch.setenv("DQ_TORCH_THREADS", "1")
    assert set_threads(2) == 1 and torch.get_num_threads() == 1  # the environment wins
    monkeypatch.setenv("DQ_TORCH_THREADS", "two")
    with pytest.raises(DqError, match="DQ_TORCH_THREADS='two'"):
        set_threads(2)
