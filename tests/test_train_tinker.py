"""``dq.tinker`` up to the network boundary, with the SDK's own types (no service is contacted)."""

from __future__ import annotations

import json
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from dq.api.train import AdamParams, LoraTargets
from dq.errors import DqError
from dq.train.datums import build_datum, weight_sum

tinker = pytest.importorskip("tinker")
from dq.train.tinker_backend import (  # noqa: E402
    TinkerBackend,
    lora_switches,
    nll_sum,
    to_tinker_adam,
    to_tinker_datum,
)

SECRET = "tml-secret-value-must-not-leak"


def test_datum_conversion_uses_sdk_types() -> None:
    datum = build_datum([5, 6, 7, 8, 9], prompt_len=3)
    converted = to_tinker_datum(datum)
    assert isinstance(converted, tinker.types.Datum)
    assert converted.model_input.to_ints() == [5, 6, 7, 8]
    targets, weights = converted.loss_fn_inputs["target_tokens"], converted.loss_fn_inputs["weights"]
    assert isinstance(weights, tinker.types.TensorData)
    assert targets.data == [6, 7, 8, 9] and targets.dtype == "int64" and targets.shape == [4]
    assert weights.data == [0.0, 0.0, 1.0, 1.0] and weights.dtype == "float32"
    assert weight_sum(weights) == datum.answer_tokens == 2  # TensorData has no .sum (MISTAKE-20260506-001)


def test_adam_params_and_lora_switches() -> None:
    adam = to_tinker_adam(AdamParams(learning_rate=3e-4))
    assert isinstance(adam, tinker.types.AdamParams)
    assert (adam.learning_rate, adam.beta1, adam.beta2, adam.eps) == (3e-4, 0.9, 0.95, 1e-12)
    assert adam.weight_decay == 0.0 and adam.grad_clip_norm == 0.0
    assert lora_switches(LoraTargets.parse("attention_only")) == {
        "train_attn": True,
        "train_mlp": False,
        "train_unembed": False,
    }
    assert lora_switches(LoraTargets.parse("all_layer"))["train_mlp"] is True
    with pytest.raises(DqError, match="Tinker trains only whole attention"):
        lora_switches(LoraTargets.parse("q_proj,v_proj"))


def test_nll_sum_from_logprobs_tensordata() -> None:
    data = [to_tinker_datum(build_datum([1, 2, 3, 4], 2))]
    logprobs = tinker.types.TensorData(data=[-9.0, -0.5, -0.25], dtype="float32", shape=[3])
    output = SimpleNamespace(loss_fn_outputs=[{"logprobs": logprobs}], metrics={})
    assert nll_sum(output, data) == (0.75, 2.0)


def test_missing_key_is_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TINKER_API_KEY", raising=False)
    with pytest.raises(DqError, match="^TINKER_API_KEY is not set") as info:
        TinkerBackend().start("Qwen/Qwen3-8B", 8, LoraTargets.parse("attention_only"), 0, {})
    assert info.value.exit_code == 2 and "\n" not in info.value.format_message()


def test_unreachable_service_is_one_line_within_deadline(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TINKER_API_KEY", SECRET)
    start = time.perf_counter()
    with pytest.raises(DqError, match="Tinker service at http://127.0.0.1:9: no answer within 10 s") as info:
        TinkerBackend().connect("http://127.0.0.1:9")
    assert time.perf_counter() - start < 15
    assert SECRET not in info.value.format_message()


class FakeFuture:
    def __init__(self, log: list[str], label: str, value: Any) -> None:
        self.log, self.label, self.value = log, label, value

    def result(self) -> Any:
        self.log.append(f"await {self.label}")
        return self.value


class FakeClient:
    """Records the order of submissions and awaits; answers with SDK-shaped values."""

    def __init__(self) -> None:
        self.log: list[str] = []

    def _out(self, data: list[Any]) -> Any:
        outs = [
            {"logprobs": tinker.types.TensorData(data=[-1.0] * d.model_input.length, dtype="float32")}
            for d in data
        ]
        return SimpleNamespace(loss_fn_outputs=outs, metrics={"loss:sum": 1.0, "clock_cycle:unique": 7.0})

    def forward_backward(self, data: list[Any], loss_fn: str) -> FakeFuture:
        assert loss_fn == "cross_entropy" and all(isinstance(d, tinker.types.Datum) for d in data)
        self.log.append("submit fb")
        return FakeFuture(self.log, "fb", self._out(data))

    def forward(self, data: list[Any], loss_fn: str) -> FakeFuture:
        return FakeFuture(self.log, "fwd", self._out(data))

    def optim_step(self, adam: Any) -> FakeFuture:
        assert isinstance(adam, tinker.types.AdamParams)
        self.log.append("submit optim")
        return FakeFuture(self.log, "optim", SimpleNamespace(metrics=None))

    def save_state(self, name: str, ttl_seconds: int) -> FakeFuture:
        assert ttl_seconds == 604800
        return FakeFuture(self.log, "save", SimpleNamespace(path=f"tinker://0a1e:train:0/weights/{name}"))

    def load_state_with_optimizer(self, path: str) -> FakeFuture:
        self.log.append(f"load {path}")
        return FakeFuture(self.log, "load", None)

    def save_weights_for_sampler(self, name: str, ttl_seconds: int) -> FakeFuture:
        return FakeFuture(
            self.log, "export", SimpleNamespace(path=f"tinker://36b8:train:1/sampler_weights/{name}")
        )


def test_pipelined_step_submits_optim_before_awaiting() -> None:
    backend = TinkerBackend()
    backend.client = FakeClient()
    datums = [build_datum([1, 2, 3, 4, 5], 2), build_datum([1, 2, 3], 1)]
    result, optim = backend.train_step(datums, AdamParams(learning_rate=1e-4))
    assert backend.client.log[:3] == ["submit fb", "submit optim", "await fb"]
    assert result.weight == 5 and result.loss_sum == 5.0 and result.token_count == 6 and optim == {}
    assert result.metrics == {"loss:sum": 1.0, "clock_cycle:unique": 7.0}
    with pytest.raises(DqError, match="sampler_weights checkpoint cannot be restored"):
        backend.restore("tinker://36b8:train:1/sampler_weights/x")
    with pytest.raises(DqError, match="model_path must point to a sampler_weights checkpoint"):
        backend.sampling_client("tinker://0a1e:train:0/weights/main-001-attention_only-seed-0-step-3169")


def test_run_records_tinker_paths_and_never_the_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from dq.train.dataset import TrainData
    from dq.train.driver import RunConfig
    from dq.train.run import train_run

    monkeypatch.setenv("TINKER_API_KEY", SECRET)
    backend = TinkerBackend()
    backend.client = FakeClient()
    datums = [build_datum(list(range(1, 8 + i)), 3) for i in range(10)]
    data = TrainData(datums, datums[:3], [f"t{i}" for i in range(10)], ["v0", "v1", "v2"], {}, "render")
    config = RunConfig(run_id="r", base_model="Qwen/Qwen3-8B", condition="attention_only", seed=0, epochs=1)
    summary = train_run(backend, config, data, tmp_path / "run", started=True)
    assert summary["checkpoint"]["path"] == "tinker://0a1e:train:0/weights/r-step-2"
    assert summary["sampler_checkpoint"]["path"] == "tinker://36b8:train:1/sampler_weights/export-r-step-2"
    for file in (tmp_path / "run").iterdir():
        assert SECRET not in file.read_text()
    assert json.loads((tmp_path / "run" / "manifest.json").read_text())["backend"]["name"] == "dq.tinker"
