"""Writes this fixture tree: result folders in the study's schema reproducing its real numbers.

Accuracies and disagreement counts are those of /work/shared/seed (fig_03, fig_07); validation
NLLs those of fig_05 and fig_06. predictions.jsonl rows are synthetic (which items are right is
made up) but give exactly the real per-seed accuracies and the fig_07 disagreement counts.
Run from the repository root: ``python tests/data/study/make_fixtures.py``.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

HERE = Path(__file__).parent
TOTAL = 1319
#: fig_07: seed -> (attention only, all-layer only, both correct, both wrong).
DISAGREE = {0: (54, 47, 1139, 79), 1: (49, 43, 1147, 80), 2: (46, 41, 1148, 84)}
FAILURES = {"attention_only": (5, 4, 4), "all_layer": (6, 6, 5)}  # totals 13 and 17 (fig_01)
TOKENS = {"attention_only": (359127, 359127, 359128), "all_layer": (356620, 356620, 356620)}
NLL = {  # fig_05: condition -> seed -> values at STEPS
    "attention_only": {
        0: (
            0.3468661579136847,
            0.3410821743602446,
            0.33616363178874076,
            0.3391218371592512,
            0.33782604786344844,
            0.3374170395478927,
            0.3364468510604867,
        ),
        1: (
            0.3467035731733388,
            0.3410341652366035,
            0.33621202263413363,
            0.3387062138585547,
            0.3379754202999871,
            0.33756054030574645,
            0.33667646609757407,
        ),
        2: (
            0.34653612333243416,
            0.34149399717505874,
            0.33651007850933906,
            0.3383288403931016,
            0.33744255415305063,
            0.33728229576529856,
            0.3366583420042444,
        ),
    },
    "all_layer": {
        0: (
            0.3459276755590434,
            0.342182684437154,
            0.33611938013674597,
            0.3456637918063231,
            0.34656007143092127,
            0.34717140110659017,
            0.3454597575300345,
        ),
        1: (
            0.34568629786299837,
            0.3417758140564665,
            0.33655583715915666,
            0.34549824556309505,
            0.34660669579029896,
            0.34675305253441124,
            0.3448380973199015,
        ),
        2: (
            0.34609265838650455,
            0.3419021125773252,
            0.33634131648081267,
            0.3461580484910246,
            0.34558767552526903,
            0.3468111376563113,
            0.34655864845661416,
        ),
    },
}
STEPS = (1000, 2000, 3169, 4000, 5000, 6000, 6338)
#: §6.9 / fig_02: the same token totals in every main run.
TRAIN_TOKENS = {"optimizer": 17227430, "total": 23783511, "train": 17227430, "validation": 6556081}
#: fig_01's adapter sizes. The study's run records do not hold them (its figure script did), so the
#: fixture records them as ``adapter_size_bytes``, the field dq reads before an exported adapter file.
ADAPTER_BYTES = {"attention_only": 29_400_000, "all_layer": 83_500_000}
#: The baseline's contracts are real; of the checkpoint evals' results_schema hash only the prefix
#: 5b92c949 is known (MISTAKE-20260507-001), so the rest is a stand-in of zeros.
CONTRACTS = {
    "eval_contract": "docs/freeze/eval_contract.md",
    "eval_contract_sha256": "1608a723824cba4d6d6818c5d5b963abb75008312f4595a9a3d62c5b0510fe61",
    "results_schema": "docs/freeze/results_schema.md",
    "results_schema_sha256": "5b92c949" + "0" * 56,
}
#: fig_08 / §6.11: seconds per optimizer step at batch 8.
PROBE = {
    "single_datum_calls": 20.22187466151081,
    "batched_datums": 5.201307859155349,
    "batched_datums_pipelined": 2.4104866901249693,
}
LR = {
    "attention_only": {"1e-4": 0.3786645046540731, "3e-4": 0.3632619345728878, "1e-3": 0.3644437038722405},
    "all_layer": {"1e-4": 0.3648794147648033, "3e-4": 0.3559855057286731, "1e-3": 0.37397296784836664},
}


def dump(path: Path, obj: object) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(obj, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def lines(path: Path, rows: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r, sort_keys=True) + "\n" for r in rows), encoding="utf-8")


def correctness(seed: int) -> dict[str, list[bool]]:
    att_only, all_only, both, neither = DISAGREE[seed]
    kinds = ["a"] * att_only + ["b"] * all_only + ["both"] * both + ["none"] * neither
    random.Random(seed).shuffle(kinds)
    return {
        "attention_only": [k in ("a", "both") for k in kinds],
        "all_layer": [k in ("b", "both") for k in kinds],
    }


def eval_run(cond: str, seed: int, right: list[bool]) -> None:
    short = {"attention_only": "att", "all_layer": "all"}[cond]
    run_id = f"checkpoint-36b8a78c-train-{seed + 1}-sampler-weights-export-main-001-{short}-gsm8k-2026050{seed + 6}-120000"
    folder = HERE / run_id
    failures = FAILURES[cond][seed]
    wrong = [i for i, ok in enumerate(right) if not ok]
    no_answer = set(wrong[:failures])
    rows = [
        {
            "benchmark_index": i,
            "correct": ok,
            "extracted_answer": None if i in no_answer else ("42" if ok else "41"),
        }
        for i, ok in enumerate(right)
    ]
    lines(folder / "predictions.jsonl", rows)
    correct = sum(right)
    path = f"tinker://36b8a78c-0000:train:{seed + 1}/sampler_weights/export-main-001-{cond}-seed-{seed}-step-3169"
    dump(
        folder / "summary.json",
        {
            "checkpoint": path,
            "contracts": CONTRACTS,
            "condition": cond,
            "seed": seed,
            "step": 3169,
            "run_id": run_id,
            "extraction_failures": failures,
            "primary_metric": {
                "correct": correct,
                "name": "gsm8k_accuracy",
                "total": TOTAL,
                "value": correct / TOTAL,
            },
            "token_count": {
                "generated": TOKENS[cond][seed] - 132306,
                "prompt": 132306,
                "total": TOKENS[cond][seed],
            },
            "dataset": {
                "config": "main",
                "examples": TOTAL,
                "name": "GSM8K",
                "source": "openai/gsm8k",
                "split": "test",
            },
        },
    )


def train_run(cond: str, seed: int) -> None:
    run_id = f"main-001-{cond}-seed-{seed}"
    rows = [
        {
            "checkpoint": f"tinker://0a1e:train:0/weights/{run_id}-step-{s}",
            "condition": cond,
            "cost": None,
            "eval_metric": {"name": "validation_mean_nll", "value": v},
            "loss": None,
            "run_id": run_id,
            "seed": seed,
            "split": "main_val",
            "step": s,
            "token_count": 936583,
        }
        for s, v in zip(STEPS, NLL[cond][seed], strict=True)
    ]
    lines(HERE / run_id / "metrics.jsonl", rows)
    best = min(zip(STEPS, NLL[cond][seed], strict=True), key=lambda sv: (sv[1], -sv[0]))
    dump(
        HERE / run_id / "summary.json",
        {
            "adapter_size_bytes": ADAPTER_BYTES[cond],
            "best_validation_step": best[0],
            "condition": cond,
            "seed": seed,
            "run_id": run_id,
            "status": "pass",
            "learning_rate": {"min_lr": 3e-05, "peak_lr": 0.0003, "warmup_steps": 190},
            "primary_metric": {"name": "validation_mean_nll", "value": best[1]},
            "token_count": TRAIN_TOKENS,
        },
    )


def lr_run(cond: str, label: str, nll: float) -> None:
    run_id = f"lr-select-001-{cond}-lr-{label}"
    rows = [
        {
            "condition": cond,
            "eval_metric": {"name": "validation_mean_nll", "value": v},
            "peak_lr": float(label),
            "run_id": run_id,
            "seed": 7,
            "split": "small_val",
            "step": s,
        }
        for s, v in ((32, nll + 0.01), (64, nll))
    ]
    lines(HERE / run_id / "metrics.jsonl", rows)
    dump(
        HERE / run_id / "summary.json",
        {
            "condition": cond,
            "seed": 7,
            "run_id": run_id,
            "learning_rate": {"peak_lr": float(label)},
            "primary_metric": {"name": "validation_mean_nll", "value": nll},
        },
    )


def probe_run() -> None:
    shapes = {k: {"status": "pass", "seconds_per_optimizer_step": v} for k, v in PROBE.items()}
    summary = {"run_id": "throughput-probe-001", "status": "pass", "shapes": shapes, "steps": 16}
    dump(
        HERE / "throughput-probe-001" / "summary.json",
        {**summary, "recommended_request_shape": min(PROBE, key=PROBE.__getitem__)},
    )


def main() -> None:
    base = json.loads((HERE.parents[2] / "../shared/seed/baseline_summary.json").read_text(encoding="utf-8"))
    dump(HERE / base["run_id"] / "summary.json", base)
    for seed in DISAGREE:
        for cond, right in correctness(seed).items():
            eval_run(cond, seed, right)
    for cond in NLL:
        for seed in NLL[cond]:
            train_run(cond, seed)
        for label, nll in LR[cond].items():
            lr_run(cond, label, nll)
    probe_run()


if __name__ == "__main__":
    main()
