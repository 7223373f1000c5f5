"""LR selection (§6.10) and the throughput probe (§6.11) run end to end over a real dq output folder.

The backend is a deterministic stand-in whose validation NLL is lowest at 3e-4 (as the study's
was), so the test checks the protocol around it: the slice, the grid, the constant LR, the
validation cadence, the per-condition choice, the files written, and the probe's three shapes.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from pathlib import Path

import pytest

from dq.api.train import AdamParams, Datum, LoraTargets, StepResult, TrainBackend
from dq.pipeline.execute import run_pipeline
from dq.pipeline.plan import RunOptions
from dq.plugins import build_registry, make_plugin_manager
from dq.train import protocol as p
from dq.train.dataset import load_train_data
from dq.train.driver import SHAPES, RunConfig
from dq.train.lr_select import lr_select_config, run_lr_selection, run_probe
from tests.conftest import STRICT
from tests.plugins import recorder


class BowlBackend(TrainBackend):
    """Validation NLL = 0.3 + |log10(lr / 3e-4)|: lowest at 3e-4; records every step's LR."""

    name = "test.bowl"

    def start(self, base_model: str, rank: int, targets: LoraTargets, seed: int, options: dict) -> None:
        self.lrs: list[float] = []
        self.saved: dict[str, int] = {}

    def _score(self, datums: Sequence[Datum], nll: float) -> StepResult:
        weight = sum(sum(d.weights) for d in datums)
        return StepResult(weight * nll, weight, sum(d.token_count for d in datums))

    def forward_backward(self, datums: Sequence[Datum]) -> StepResult:
        return self._score(datums, 1.0)

    def forward(self, datums: Sequence[Datum]) -> StepResult:
        return self._score(datums, 0.3 + abs(math.log10(self.lrs[-1] / 3e-4)))

    def optim_step(self, adam: AdamParams) -> dict[str, float]:
        self.lrs.append(adam.learning_rate)
        return {}

    def save_state(self, name: str) -> str:
        self.saved[name] = len(self.lrs)
        return f"memory://{name}"

    def restore(self, path: str) -> None:
        pass

    def export_for_sampling(self, name: str) -> str:
        return f"memory://export-{name}"


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    out = tmp_path_factory.mktemp("lr") / "data"
    pm, infos, _ = make_plugin_manager(load_entrypoints=False, extra=[recorder])
    registry = build_registry(pm, infos)
    run_pipeline(pm, registry, STRICT, RunOptions(contamination_action="warn"), out_dir=out)
    renderer = registry.get("renderers", "recorder.bytes")()
    return load_train_data(out, renderer, train_limit=p.LR_SELECT_TRAIN_ROWS, val_limit=p.LR_SELECT_VAL_ROWS)


def test_lr_selection_runs_the_grid_with_constant_lr_and_chooses_by_validation_nll(
    data: object, tmp_path: Path
) -> None:
    backends: list[BowlBackend] = []

    def make() -> BowlBackend:
        backends.append(BowlBackend())
        return backends[-1]

    configs = [lr_select_config(c, lr, "toy") for c, lr, _ in p.lr_select_plan()]
    report = run_lr_selection(make, data, configs, tmp_path)  # type: ignore[arg-type]
    assert [r["run_id"] for r in report["runs"]] == [
        f"lr-select-001-{c}-lr-{label}" for c in p.CONDITIONS for label in ("1e-4", "3e-4", "1e-3")
    ]
    assert report["chosen_lr"] == {"attention_only": 3e-4, "all_layer": 3e-4}
    for backend, config in zip(backends, configs, strict=True):
        assert backend.lrs == [config.peak_lr] * 64  # 512 rows / 8, one epoch, constant LR
    metrics = (tmp_path / configs[0].run_id / "metrics.jsonl").read_text().splitlines()
    val_steps = [json.loads(m)["step"] for m in metrics if json.loads(m)["split"].endswith("_val")]
    assert val_steps == [32, 64]
    assert (tmp_path / "lr_selection.csv").read_text().count("\n") == 7  # header + 6 runs


def test_probe_times_every_request_shape_and_recommends_one(data: object, tmp_path: Path) -> None:
    base = RunConfig("probe", "toy", "attention_only", 7, constant_lr=True, epochs=1)
    summary = run_probe(BowlBackend, data, base, tmp_path / "probe", steps=4)  # type: ignore[arg-type]
    assert summary["status"] == "pass" and set(summary["shapes"]) == set(SHAPES)
    assert summary["recommended_request_shape"] in SHAPES
    rows = [json.loads(line) for line in (tmp_path / "probe/metrics.jsonl").read_text().splitlines()]
    assert {r["request_shape"] for r in rows} == set(SHAPES) and len(rows) == 4 * len(SHAPES)
