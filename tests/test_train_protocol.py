"""The study's training protocol (SEED_CONTRACTS §6) against its logged values: no torch needed."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from types import SimpleNamespace

import pytest

from dq.train import protocol as p
from dq.train.datums import build_datum, build_datums, check_prompt_prefix, weight_sum

TRAIN_ROWS, VAL_ROWS = 25348, 2818
STEPS = 6338


def _head(seed_dir: Path) -> list[dict]:
    path = seed_dir / "main_001_attention_only_seed_0_metrics_head.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()]


def _summary(seed_dir: Path) -> dict:
    return json.loads((seed_dir / "main_001_attention_only_seed_0_summary.json").read_text())


def test_schedule_reproduces_logged_lr_exactly(shared_seed: Path) -> None:
    schedule = p.Schedule(peak_lr=3e-4, total_steps=p.total_steps(TRAIN_ROWS, 2))
    rows = _head(shared_seed)
    assert len(rows) == 6
    for row in rows:
        assert schedule.lr(row["step"]) == row["current_lr"] == row["learning_rate"]
    summary = _summary(shared_seed)
    assert schedule.warmup_steps == summary["learning_rate"]["warmup_steps"] == 190
    assert schedule.min_lr == summary["learning_rate"]["min_lr"]
    assert schedule.lr(STEPS) == 2.9999999999999997e-05


def test_schedule_shape() -> None:
    schedule = p.Schedule(peak_lr=3e-4, total_steps=STEPS)
    assert schedule.lr(190) == 3e-4
    assert schedule.lr(191) < 3e-4
    lrs = [schedule.lr(s) for s in range(190, STEPS + 1)]
    assert all(a >= b for a, b in zip(lrs, lrs[1:], strict=False))
    assert p.Schedule(peak_lr=1e-3, total_steps=64, constant=True).lr(1) == 1e-3
    # fewer total steps than warmup: warmup ramps and then holds at the peak
    assert p.Schedule(peak_lr=1.0, total_steps=10, warmup_fraction=2.0).lr(10) == 0.5


def test_batches_keep_file_order_and_last_partial_batch() -> None:
    per_epoch = p.steps_per_epoch(TRAIN_ROWS)
    assert per_epoch == 3169 and p.total_steps(TRAIN_ROWS, 2) == STEPS
    assert p.batch_bounds(1, TRAIN_ROWS) == (0, 8)
    start, end = p.batch_bounds(per_epoch, TRAIN_ROWS)
    assert (start, end, end - start) == (25344, 25348, 4)
    # epoch 2 repeats epoch 1's batches exactly (no reshuffle) and starts at row 0 again
    assert p.batch_bounds(per_epoch + 1, TRAIN_ROWS) == (0, 8)
    assert p.batch_bounds(STEPS, TRAIN_ROWS) == (25344, 25348)
    seen = [i for s in range(1, per_epoch + 1) for i in range(*p.batch_bounds(s, TRAIN_ROWS))]
    assert seen == list(range(TRAIN_ROWS))  # every row once, none repeated, no wrap-around
    assert p.epoch_of(per_epoch, TRAIN_ROWS) == 1 and p.epoch_of(per_epoch + 1, TRAIN_ROWS) == 2
    assert p.total_steps(TRAIN_ROWS, 2, max_steps=5) == 5
    with pytest.raises(ValueError):
        p.steps_per_epoch(0)


def test_validation_cadence_matches_study(shared_seed: Path) -> None:
    steps = p.validation_steps(STEPS, 3169, 2)
    assert steps == [1000, 2000, 3169, 4000, 5000, 6000, 6338]
    with (shared_seed / "fig_05_validation_nll_diagnostic.data.csv").open(newline="") as fh:
        logged = [int(r["step"]) for r in csv.DictReader(fh) if r["kind"] == "seed" and r["seed"] == "0"]
    assert logged[: len(steps)] == steps
    # the LR-selection runs validate every 32 steps and at the end, with no skip window
    assert p.validation_steps(64, 64, 1, every=32, skip_before_epoch_end=0) == [32, 64]
    # a step exactly 250 before an epoch end is skipped, 251 before is kept
    assert 750 not in p.validation_steps(1000, 1000, 1, every=750)
    assert 749 in p.validation_steps(1000, 1000, 1, every=749)
    # a capped run validates at its last step
    assert p.validation_steps(5, 3169, 2) == [5]


def test_token_identity_and_summary(shared_seed: Path) -> None:
    summary = _summary(shared_seed)
    passes = len(p.validation_steps(STEPS, 3169, 2))
    expected = p.expected_token_counts(8639063, TRAIN_ROWS, 2, 939401, VAL_ROWS, passes)
    assert passes == 7
    assert expected == summary["token_count"]
    assert p.datum_token_total([5, 7, 3]) == 12


def test_loss_sum_over_answer_tokens(shared_seed: Path) -> None:
    first = _head(shared_seed)[0]
    answer_tokens = first["backend_metrics"]["loss:sum"] / first["loss"]
    assert round(answer_tokens) == 1665 and abs(answer_tokens - 1665) < 1e-3


def test_token_weighted_mean_and_selection(shared_seed: Path) -> None:
    assert p.token_weighted_mean([(1.0, 10), (4.0, 30)]) == pytest.approx(3.25)
    with pytest.raises(ValueError):
        p.token_weighted_mean([])
    with (shared_seed / "fig_05_validation_nll_diagnostic.data.csv").open(newline="") as fh:
        rows = [(int(r["step"]), float(r["validation_mean_nll"])) for r in csv.DictReader(fh)]
    seed0 = rows[:7]
    assert p.select_best(seed0) == (3169, _summary(shared_seed)["primary_metric"]["value"])
    tied = [(1000, 0.5), (2000, 0.4), (3000, 0.4)]
    assert p.select_best(tied) == (3000, 0.4)
    assert p.select_best(tied, ties="earlier") == (2000, 0.4)
    with pytest.raises(ValueError):
        p.select_best(tied, ties="random")


def test_lr_selection_grid(shared_seed: Path) -> None:
    assert [p.lr_label(lr) for lr in p.LR_SELECT_GRID] == ["1e-4", "3e-4", "1e-3"]
    plan = p.lr_select_plan()
    assert len(plan) == 6
    assert plan[1] == ("attention_only", 3e-4, "lr-select-001-attention_only-lr-3e-4")
    assert p.steps_per_epoch(p.LR_SELECT_TRAIN_ROWS) == 64
    with (shared_seed / "fig_06_lr_selection.data.csv").open(newline="") as fh:
        table = list(csv.DictReader(fh))
    for condition in p.CONDITIONS:
        best = {float(r["lr"]): float(r["validation_mean_nll"]) for r in table if r["condition"] == condition}
        assert p.lr_label(p.choose_lr(best)) == "3e-4"
    assert p.choose_lr({1e-3: 0.3, 1e-4: 0.3}) == 1e-4
    assert p.main_run_id("all_layer", 2) == "main-001-all_layer-seed-2"


def test_datum_shift_and_mask() -> None:
    full = [10, 11, 12, 13, 14, 15]
    datum = build_datum(full, prompt_len=4)
    assert datum.input_tokens == [10, 11, 12, 13, 14]
    assert datum.target_tokens == [11, 12, 13, 14, 15]
    assert datum.weights == [0.0, 0.0, 0.0, 1.0, 1.0]  # targets 14 and 15: the answer tokens
    assert datum.token_count == 5 and datum.answer_tokens == 2 == len(full) - 4
    with pytest.raises(ValueError):
        build_datum(full, prompt_len=6)
    with pytest.raises(ValueError):
        build_datums([full], [2, 3])
    check_prompt_prefix(full, full[:4])
    with pytest.raises(ValueError):
        check_prompt_prefix(full, [10, 99])


def test_weight_sum_accepts_tensor_and_tensordata_forms() -> None:
    assert weight_sum([0.0, 1.0, 1.0]) == 2.0
    assert weight_sum(SimpleNamespace(data=[0.0, 1.0, 1.0, 1.0])) == 3.0  # TensorData: no .sum
    tinker = pytest.importorskip("tinker")
    td = tinker.types.TensorData(data=[0.0, 1.0, 1.0], dtype="float32", shape=[3])
    assert not hasattr(td, "sum") and weight_sum(td) == 2.0
    torch = pytest.importorskip("torch")
    assert weight_sum(torch.tensor([0.0, 1.0, 1.0, 1.0, 1.0])) == 4.0


# --- the driver over a scripted backend: run folders, selection, refusals (no torch) ---------------

from collections.abc import Sequence  # noqa: E402
from typing import Any  # noqa: E402

from dq.api.train import AdamParams, Datum, LoraTargets, StepResult, TrainBackend  # noqa: E402
from dq.errors import DqError  # noqa: E402
from dq.train.dataset import load_train_data  # noqa: E402
from dq.train.driver import RunConfig  # noqa: E402
from dq.train.run import train_run  # noqa: E402


class CharRenderer:
    """Code points as token ids; the prompt is everything before the assistant's content."""

    def render_batch(self, conversations: Sequence[list[dict[str, str]]]) -> SimpleNamespace:
        prompts = ["".join(m["content"] + "|" for m in c[:-1]) for c in conversations]
        full = [pr + c[-1]["content"] + "$" for pr, c in zip(prompts, conversations, strict=True)]
        return SimpleNamespace(
            full_ids=[[ord(ch) for ch in f] for f in full], prompt_lens=[len(pr) for pr in prompts]
        )

    def render_text(self, messages: list[dict[str, str]]) -> str:
        return "|".join(m["content"] for m in messages)


class ScriptedBackend(TrainBackend):
    """Loss falls with each optimizer step; state paths carry a random-looking id (never rebuildable)."""

    name = "test.scripted"

    def __init__(self, nll_by_step: dict[int, float] | None = None, fail_at: int | None = None) -> None:
        self.steps, self.nll_by_step, self.fail_at = 0, nll_by_step or {}, fail_at
        self.calls: list[tuple[str, Any]] = []

    def start(
        self, base_model: str, rank: int, targets: LoraTargets, seed: int, options: dict[str, Any]
    ) -> None:
        self.calls.append(("start", (base_model, rank, targets.condition, seed)))

    def forward_backward(self, datums: Sequence[Datum]) -> StepResult:
        if self.fail_at == self.steps + 1:
            raise RuntimeError("backend went away")
        w = sum(d.answer_tokens for d in datums)
        return StepResult(
            2.0 * w / (1 + self.steps), w, sum(d.token_count for d in datums), {"loss:sum": 1.0}
        )

    def optim_step(self, adam: AdamParams) -> dict[str, float]:
        self.steps += 1
        self.calls.append(("optim", adam.learning_rate))
        return {}

    def forward(self, datums: Sequence[Datum]) -> StepResult:
        w = sum(d.answer_tokens for d in datums)
        nll = self.nll_by_step.get(self.steps, 1.0 / (1 + self.steps))
        return StepResult(nll * w, w, sum(d.token_count for d in datums), {"loss:sum": nll * w})

    def save_state(self, name: str) -> str:
        return f"scripted://{hash((name, id(self))) & 0xFFFF:04x}/weights/{name}"

    def restore(self, path: str) -> None:
        self.calls.append(("restore", path))
        self.steps = int(path.rsplit("-", 1)[-1]) if path.rsplit("-", 1)[-1].isdigit() else self.steps

    def export_for_sampling(self, name: str) -> str:
        self.calls.append(("export", name))
        return f"scripted://x/sampler_weights/{name}"


def dq_output(tmp_path: Path, train_rows: int = 20, val_rows: int = 5, gate: str = "pass") -> Path:
    out = tmp_path / "dq-out"
    (out / "rendered").mkdir(parents=True)
    manifest = {"status": gate, "gates": [{"name": "dq.exact", "status": gate, "matches": 0}]}
    (out / "manifest.json").write_text(json.dumps(manifest))
    for split, n in (("train", train_rows), ("val", val_rows)):
        rows = [
            {
                "row_id": f"{split}{i}",
                "messages": [
                    {"role": "user", "content": f"q{i}"},
                    {"role": "assistant", "content": "a" * (1 + i % 3)},
                ],
            }
            for i in range(n)
        ]
        (out / "rendered" / f"{split}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return out


def small_config(**kw: Any) -> RunConfig:
    base: dict[str, Any] = dict(
        run_id="t-run", base_model="m", condition="attention_only", seed=0, peak_lr=1e-3, epochs=2
    )
    base.update(validate_every=2, skip_before_epoch_end=1, renderer_name="test.chars")
    base.update(kw)
    return RunConfig(**base)


def test_driver_writes_study_schema_and_selects_from_records(shared_seed: Path, tmp_path: Path) -> None:
    data = load_train_data(dq_output(tmp_path), CharRenderer())
    backend = ScriptedBackend(nll_by_step={3: 0.1, 4: 0.3, 6: 0.1})  # exact tie: later step wins
    summary = train_run(backend, small_config(), data, tmp_path / "run")
    rows = [json.loads(x) for x in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    study_keys = set(_head(shared_seed)[0])
    assert all(set(r) == study_keys for r in rows)
    assert [r["step"] for r in rows if r["split"] == "main_val"] == [
        3,
        4,
        6,
    ]  # 2 skipped: 1 before the epoch end
    assert summary["best_validation_step"] == 6
    val6 = next(r for r in rows if r["split"] == "main_val" and r["step"] == 6)
    assert (
        summary["checkpoint"]["path"] == val6["checkpoint"]
        and ("restore", val6["checkpoint"]) in backend.calls
    )
    assert ("export", "export-t-run-step-6") in backend.calls
    train_tokens = 2 * sum(d.token_count for d in data.train)
    assert summary["token_count"]["train"] == summary["token_count"]["optimizer"] == train_tokens
    assert summary["token_count"]["validation"] == 3 * sum(d.token_count for d in data.val)
    lines = (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()
    assert lines[0] == json.dumps(json.loads(lines[0]), sort_keys=True)
    manifest = json.loads((tmp_path / "run" / "manifest.json").read_text())
    assert manifest["status"] == "pass" and manifest["training"]["final_epoch_batch_size"] == 4
    assert manifest["dataset"]["train_row_ids"][:2] == ["train0", "train1"]
    assert len(manifest["dataset"]["raw_manifest_sha256"]) == 64
    assert manifest["validation"]["validation_steps"] == [3, 4, 6]
    assert (tmp_path / "run" / "sample_render.txt").read_text() == "q0|a\n"
    lrs = [lr for kind, lr in backend.calls if kind == "optim"]
    assert lrs == [p.Schedule(1e-3, 6).lr(s) for s in range(1, 7)]


def test_refusals_failure_record_and_resume(tmp_path: Path) -> None:
    with pytest.raises(DqError, match="failed its gate \\(dq.exact\\).*--allow-failed-gate"):
        load_train_data(dq_output(tmp_path / "a", gate="fail"), CharRenderer())
    data = load_train_data(dq_output(tmp_path / "b", gate="fail"), CharRenderer(), allow_failed_gate=True)
    assert data.info["allow_failed_gate"] is True and data.info["failed_gates"] == ["dq.exact"]
    run = tmp_path / "run"
    with pytest.raises(RuntimeError, match="went away"):
        train_run(ScriptedBackend(fail_at=5), small_config(), data, run)
    failure = json.loads((run / "failure.json").read_text())
    assert failure["status"] == "fail" and failure["error_type"] == "RuntimeError"
    assert json.loads((run / "manifest.json").read_text())["status"] == "fail"
    with pytest.raises(DqError, match="--overwrite"):
        train_run(ScriptedBackend(), small_config(), data, run)
    backend = ScriptedBackend()
    summary = train_run(backend, small_config(), data, run, resume=True)
    assert backend.calls[1][0] == "restore" and backend.calls[1][1].endswith("t-run-step-4")
    steps = [json.loads(x)["step"] for x in (run / "metrics.jsonl").read_text().splitlines()]
    assert steps == sorted(steps) and steps.count(5) == 2  # train + optim of step 5 once, not twice
    assert summary["status"] == "pass"
    assert json.loads((run / "manifest.json").read_text())["dataset"]["allow_failed_gate"] is True


# --- the CLI over a registry built with this package's plugins -------------------------------------


def cli_registry(monkeypatch: pytest.MonkeyPatch, *extra: Any) -> None:
    import dq.plugins
    import dq.train.commands

    # built-ins must come through DEFAULT_PLUGINS (only they may use the dq. namespace)
    missing = tuple(m for m in ("dq.train.plugin", "dq.render.plugin") if m not in dq.plugins.DEFAULT_PLUGINS)
    monkeypatch.setattr(dq.plugins, "DEFAULT_PLUGINS", dq.plugins.DEFAULT_PLUGINS + missing)
    pm, infos, _ = dq.plugins.make_plugin_manager(load_entrypoints=False, extra=list(extra))
    registry = dq.plugins.build_registry(pm, infos)
    monkeypatch.setattr(dq.train.commands, "registry", lambda: registry)


def test_cli_refuses_failed_gate_unknown_backend_and_missing_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from click.testing import CliRunner

    from dq.train.commands import train

    cli_registry(monkeypatch)
    monkeypatch.delenv("TINKER_API_KEY", raising=False)
    runner = CliRunner()
    good, bad = dq_output(tmp_path / "good"), dq_output(tmp_path / "bad", gate="fail")
    run_dir = ["--model", "Qwen/Qwen3-8B", "--run-dir", str(tmp_path / "r")]
    result = runner.invoke(train, [str(good), *run_dir, "--backend", "dq.tinker"])
    assert result.exit_code == 2 and result.output.strip().splitlines() == [
        "Error: TINKER_API_KEY is not set: export it to train with --backend dq.tinker"
    ]
    result = runner.invoke(train, [str(good), *run_dir, "--backend", "dq.tinkr"])
    assert result.exit_code == 2 and "did you mean 'dq.tinker'" in result.output
    result = runner.invoke(train, [str(bad), *run_dir, "--backend", "dq.local"])
    assert result.exit_code == 2 and "failed its gate (dq.exact)" in result.output
    (tmp_path / "r" / "manifest.json").write_text("{}")
    result = runner.invoke(train, [str(good), *run_dir, "--backend", "dq.local"])
    assert result.exit_code == 2 and "--overwrite" in result.output and "Traceback" not in result.output
