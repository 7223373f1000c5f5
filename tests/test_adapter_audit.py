"""dq audit adapter on real PEFT adapters: matching, wrong base, wrong rank, SmolLM2, Qwen3-8B."""

from __future__ import annotations

import json
import shutil
import struct
from pathlib import Path
from typing import Any

import click
import pytest
from click.testing import CliRunner

from dq.audit.commands import adapter, audit, dq_register_commands
from dq.audit.names import base_name_flags, quant_markers, size_tokens
from dq.audit.safetensors_header import read_header
from dq.errors import DqError

CONFIGS = Path(__file__).resolve().parent.parent / "dq" / "capacity" / "configs"
TINY: dict[str, Any] = {
    "hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2, "num_attention_heads": 4,
    "num_key_value_heads": 2, "head_dim": 16, "vocab_size": 256, "model_type": "qwen3",
}  # fmt: skip


def run(*args: str, env: dict[str, str] | None = None) -> tuple[int, str]:
    result = CliRunner().invoke(adapter, list(args), env=env)
    return result.exit_code, result.output


def audit_json(*args: str) -> tuple[int, dict[str, Any]]:
    code, out = run(*args, "--json")
    return code, json.loads(out)


def codes(report: dict[str, Any], level: str) -> set[str]:
    return {f["code"] for f in report["flags"] if f["level"] == level}


def write_base(folder: Path, **changes: Any) -> Path:
    folder.mkdir(parents=True)
    (folder / "config.json").write_text(json.dumps({**TINY, **changes}))
    return folder


def set_config(folder: Path, **changes: Any) -> None:
    path = folder / "adapter_config.json"
    path.write_text(json.dumps({**json.loads(path.read_text()), **changes}))


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A real PEFT adapter (r=4, all linear layers) trained-shape on tiny base A; bases A and B."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoConfig, AutoModelForCausalLM

    torch.set_num_threads(1)
    torch.manual_seed(0)
    root = tmp_path_factory.mktemp("tiny")
    base_a = write_base(root / "base-a")
    base_b = write_base(root / "base-b", hidden_size=96)
    cfg = dict(TINY)
    model = AutoModelForCausalLM.from_config(AutoConfig.for_model(cfg.pop("model_type"), **cfg))
    targets = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
    peft_model = get_peft_model(
        model, LoraConfig(r=4, lora_alpha=8, lora_dropout=0.05, target_modules=targets)
    )
    peft_model.peft_config["default"].base_model_name_or_path = str(base_a)
    peft_model.save_pretrained(str(root / "adapter"))
    return {"root": root, "a": base_a, "b": base_b, "adapter": root / "adapter"}


def copy_adapter(tiny: dict[str, Path], name: str) -> Path:
    return Path(shutil.copytree(tiny["adapter"], tiny["root"] / name))


def test_a_matching_adapter_passes(tiny: dict[str, Path]) -> None:
    code, report = audit_json(str(tiny["adapter"]))
    assert code == 0 and report["status"] == "pass" and not codes(report, "red")
    assert {"shapes_match", "size_matches", "base_named"} <= codes(report, "green")
    cfg = report["config"]
    assert (cfg["r"], cfg["lora_alpha"], cfg["scaling"], cfg["lora_dropout"]) == (4, 8, 2.0, 0.05)
    cov = report["tensors"]["coverage"]
    assert cov["attention"] == ["k_proj", "o_proj", "q_proj", "v_proj"] and len(cov["mlp"]) == 3
    # 2 layers × r=4 × [4×(64+64) − q/o … ]: q 64→64, k/v 64→32, o 64→64, gate/up 64→128, down 128→64.
    expected = 2 * 4 * ((64 + 64) * 2 + (64 + 32) * 2 + (64 + 128) * 3)
    assert report["size"]["expected_params"] == report["tensors"]["lora_params"] == expected
    assert report["size"]["tensor_bytes"] == expected * 4 and report["tensors"]["dtypes"] == ["F32"]


def test_an_adapter_whose_config_names_another_base_fails(tiny: dict[str, Path]) -> None:
    wrong = copy_adapter(tiny, "names-base-b")
    set_config(wrong, base_model_name_or_path=str(tiny["b"]))
    code, report = audit_json(str(wrong))
    assert code == 1 and "shape_mismatch" in codes(report, "red")
    message = next(f["message"] for f in report["flags"] if f["code"] == "shape_mismatch")
    assert "lora_A [4, 64] ≠ expected [4, 96]" in message
    code, out = run(str(tiny["adapter"]), "--base", str(tiny["b"]))
    assert code == 1 and "RED   base_mismatch" in out and "RED   shape_mismatch" in out


def test_a_wrong_rank_in_the_config_fails(tiny: dict[str, Path]) -> None:
    wrong = copy_adapter(tiny, "rank-16")
    set_config(wrong, r=16)
    code, report = audit_json(str(wrong))
    assert code == 1 and {"rank_mismatch", "shape_mismatch"} <= codes(report, "red")
    assert report["config"]["scaling"] == 0.5


def test_rslora_scaling_and_target_coverage(tiny: dict[str, Path]) -> None:
    changed = copy_adapter(tiny, "rslora-q-only")
    set_config(changed, use_rslora=True, target_modules=["q_proj"])
    code, report = audit_json(str(changed))
    assert report["config"]["scaling"] == 4.0 and report["config"]["scaling_rule"].startswith("alpha/sqrt")
    message = next(f["message"] for f in report["flags"] if f["code"] == "shape_mismatch")
    assert code == 1 and "tensors for modules the config does not target" in message


def test_a_model_card_that_contradicts_the_config_fails(tiny: dict[str, Path]) -> None:
    card = copy_adapter(tiny, "card")
    readme = card / "README.md"
    assert readme.is_file()  # PEFT writes a model card
    text = readme.read_text()
    assert "base_model: ''" in text  # PEFT 0.21 leaves it empty for a model built from a config
    readme.write_text(text.replace("base_model: ''", f"base_model: {tiny['a']}"))
    code, report = audit_json(str(card))
    assert code == 0 and "README.md" in report["provenance"]["present"]
    readme.write_text(text.replace("base_model: ''", "base_model: Qwen/Qwen2.5-1.5B"))
    code, report = audit_json(str(card))
    assert code == 1 and "card_contradiction" in codes(report, "red")


def test_the_header_parser_reads_only_the_header(tiny: dict[str, Path], tmp_path: Path) -> None:
    from safetensors import safe_open

    path = tiny["adapter"] / "adapter_model.safetensors"
    header = read_header(path)
    with safe_open(str(path), "pt") as fh:
        assert {k: list(fh.get_slice(k).get_shape()) for k in fh.keys()} == {
            t.name: list(t.shape) for t in header.tensors
        }
    assert header.file_bytes == 8 + header.header_bytes + header.data_bytes
    cut = tmp_path / "adapter_model.safetensors"
    cut.write_bytes(path.read_bytes()[:-4])
    with pytest.raises(DqError, match="truncated"):
        read_header(cut)
    cut.write_bytes(struct.pack("<Q", 10**9) + b"{}")
    with pytest.raises(DqError, match="exceeds the file"):
        read_header(cut)


def meta_adapter(out: Path, config_file: str, base_name: str, targets: list[str], rank: int = 8) -> Path:
    """A PEFT adapter built on the meta device from a shipped config: real names, zero weights."""
    import torch
    from peft import LoraConfig, get_peft_model, get_peft_model_state_dict
    from safetensors.torch import save_file
    from transformers import AutoConfig, AutoModelForCausalLM

    cfg = json.loads((CONFIGS / config_file).read_text())
    with torch.device("meta"):
        model = AutoModelForCausalLM.from_config(AutoConfig.for_model(cfg.pop("model_type"), **cfg))
    peft_model = get_peft_model(model, LoraConfig(r=rank, lora_alpha=2 * rank, target_modules=targets))
    state = {k: torch.zeros(v.shape) for k, v in get_peft_model_state_dict(peft_model).items()}
    peft_model.peft_config["default"].base_model_name_or_path = base_name
    peft_model.peft_config["default"].save_pretrained(str(out))
    save_file(state, str(out / "adapter_model.safetensors"), metadata={"format": "pt"})
    return out


def test_a_smollm2_adapter_against_smollm2_and_against_qwen(tmp_path: Path) -> None:
    out = meta_adapter(
        tmp_path / "smollm2-135m-lora",
        "smollm2-135m.json",
        "HuggingFaceTB/SmolLM2-135M",
        ["q_proj", "v_proj"],
    )
    code, report = audit_json(str(out), "--base", "HuggingFaceTB/SmolLM2-135M")
    assert code == 0 and "shapes_match" in codes(report, "green")
    assert report["tensors"]["lora_params"] == 30 * 8 * ((576 + 576) + (576 + 192))
    code, report = audit_json(str(out), "--base", "Qwen/Qwen3-0.6B")
    assert code == 1 and {"base_mismatch", "shape_mismatch", "name_contradiction"} <= codes(report, "red")


def test_a_qwen3_8b_attention_adapter_has_the_study_size(tmp_path: Path) -> None:
    out = meta_adapter(
        tmp_path / "qwen3-8b-attn", "qwen3-8b.json", "Qwen/Qwen3-8B", ["q_proj", "k_proj", "v_proj", "o_proj"]
    )
    code, report = audit_json(str(out))
    assert code == 0 and report["size"]["expected_fp32_bytes"] == report["size"]["tensor_bytes"] == 30_670_848
    # The file adds the safetensors header; 30.8 MB (= the study's 29.4 MiB) within 1%.
    assert report["size"]["file_bytes"] / 1e6 == pytest.approx(30.8, rel=0.01)


def test_names_quantization_and_size_tokens() -> None:
    assert quant_markers("Qwen/Qwen3-8B-AWQ") == ["awq"] and quant_markers("Qwen/Qwen3-8B") == []
    assert quant_markers("unsloth/Qwen3-8B-bnb-4bit") == ["4bit", "bnb"]
    assert size_tokens("Qwen/Qwen2.5-1.5B-Instruct") == {1.5} and size_tokens("SmolLM2-135M") == {0.135}
    flags = base_name_flags("Qwen/Qwen3-8B-GPTQ-Int4", "Qwen/Qwen3-8B", "acme/qwen3-8b-math")
    assert [f[1] for f in flags] == ["base_mismatch"] and "quantization differs" in flags[0][2]
    flags = base_name_flags("Qwen/Qwen2.5-1.5B", None, "acme/qwen-4b-lora")
    assert ("red", "name_contradiction") == flags[-1][:2]
    assert base_name_flags("/models/Qwen/Qwen3-8B", "Qwen/Qwen3-8B", "x")[0][1] == "base_named"


def test_bad_input_and_offline_hub_id_exit_2(tmp_path: Path) -> None:
    code, out = run(str(tmp_path / "missing"), env={"HF_HUB_OFFLINE": "1"})
    assert code == 2 and "not an adapter folder" in out
    code, out = run("acme/qwen3-8b-lora", env={"HF_HUB_OFFLINE": "1"})
    assert code == 2 and out.count("\n") == 1 and "HF_HUB_OFFLINE is set" in out
    code, out = run(str(tmp_path))
    assert code == 2 and "adapter_config.json: not found" in out


def test_the_hook_adds_audit_adapter_and_joins_an_existing_group() -> None:
    group = click.Group()
    dq_register_commands(cli=group)
    assert group.commands["audit"] is audit and "adapter" in audit.commands
    other = click.Group()
    existing = click.Group("audit")
    other.add_command(existing)
    dq_register_commands(cli=other)
    assert other.commands["audit"] is existing and "adapter" in existing.commands


def test_dq_own_exported_adapter_passes_on_its_base_and_fails_on_another(tmp_path: Path) -> None:
    """Train two steps through dq.local and the driver, export, audit the export (issue 12)."""
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM

    from dq.train.dataset import TrainData
    from dq.train.datums import build_datums
    from dq.train.driver import RunConfig, start_backend
    from dq.train.local_backend import LocalBackend
    from dq.train.run import train_run

    torch.set_num_threads(1)
    torch.manual_seed(0)
    base = write_base(tmp_path / "base-a")
    other = write_base(tmp_path / "base-b", hidden_size=96)
    cfg = dict(TINY)
    model = AutoModelForCausalLM.from_config(AutoConfig.for_model(cfg.pop("model_type"), **cfg))
    model.save_pretrained(base)
    ids = [[(7 * row + 3 * i) % 250 + 1 for i in range(12)] for row in range(6)]
    datums = build_datums(ids, [5] * len(ids))
    data = TrainData(datums[:4], datums[4:], [None] * 4, [None] * 2, {}, "")
    config = RunConfig("audit-own", str(base), "all_layer", 0, peak_lr=1e-3, epochs=2, rank=4)
    backend, run_dir = LocalBackend(), tmp_path / "run"
    start_backend(backend, config, run_dir, {"model_and_tokenizer": (model, None)})
    summary = train_run(backend, config, data, run_dir, started=True)
    export = Path(summary["sampler_checkpoint"]["path"])
    assert export.parent == run_dir / "exports" and summary["best_validation_step"] in (1, 2)
    code, report = audit_json(str(export))
    assert code == 0 and report["status"] == "pass" and not codes(report, "red"), report["flags"]
    assert {"shapes_match", "size_matches", "base_named"} <= codes(report, "green")
    assert (report["config"]["r"], report["config"]["lora_alpha"], report["config"]["lora_dropout"]) == (
        4,
        32,
        0.0,
    )
    assert (
        len(report["tensors"]["coverage"]["attention"]) == 4
        and len(report["tensors"]["coverage"]["mlp"]) == 3
    )
    code, report = audit_json(str(export), "--base", str(other))
    assert code == 1 and {"base_mismatch", "shape_mismatch"} <= codes(report, "red")
