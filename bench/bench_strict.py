"""Benchmark: the strict gate and the full strict run on N OpenMath-shaped rows.

    python bench/bench_strict.py --rows 1000000            # needs ../shared/data

Each measurement runs in its own child process, so its peak RSS is its own (os.wait4):
  * the full run: ``dq run --rules rules/strict.toml`` (load Parquet, gate, split, exact
    contamination and leakage gates, render, write, hash);
  * the gate alone: dq's engine over the loaded table (the Parquet load timed apart);
  * the same gate as plain per-row Python (dq.reference: the study's loop), same rows.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT.parent / "shared" / "data"
CACHE = ROOT / "bench" / "_data"

GATE_ONLY = """
import json, sys, time
import polars as pl
from dq.pipeline.curation import apply_rules
from dq.pipeline.plan import RunOptions, build_plan
from dq.plugins import build_registry, make_plugin_manager
t0 = time.perf_counter()
rows = pl.read_parquet(sys.argv[1]).rename({"problem_source": "source"}).with_row_index("row_index")
t1 = time.perf_counter()
pm, infos, _ = make_plugin_manager(load_entrypoints=False)
plan = build_plan(sys.argv[2], build_registry(pm, infos), RunOptions(input_spec=sys.argv[1]))
result = apply_rules(rows, plan.rules, plan.skip_rules)
t2 = time.perf_counter()
print(json.dumps({"load_s": t1 - t0, "gate_s": t2 - t1, "accepted": result.accepted.height}))
"""

PYTHON_GATE = """
import json, sys, time
import polars as pl
from dq.testing.reference import reference_gate
rows = pl.read_parquet(sys.argv[1])
t0 = time.perf_counter()
kept, rejects, inputs = reference_gate(rows.iter_rows(named=True))
t1 = time.perf_counter()
print(json.dumps({"gate_s": t1 - t0, "accepted": sum(len(v) for v in kept.values())}))
"""


def corpus(rows: int) -> Path:
    CACHE.mkdir(parents=True, exist_ok=True)
    path = CACHE / f"openmath_{rows}.parquet"
    if not path.exists():
        from dq.testing.corpus import openmath_shaped

        openmath_shaped(rows, DATA, seed=1).write_parquet(path)
    return path


def measured(cmd: list[str]) -> tuple[float, float, str]:
    """Run one child; return (wall seconds, its peak RSS in MiB, its stdout)."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, text=True)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        code = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        if code not in (0, 1):
            sys.exit(f"{' '.join(cmd[:5])} failed ({code}): {err.read()[-2000:]}")
        return wall, usage.ru_maxrss / 1024, out.read()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--skip-python", action="store_true", help="skip the per-row Python gate")
    args = parser.parse_args()
    path = corpus(args.rows)
    import polars as pl

    frame = pl.read_parquet(path)
    text_mb = (
        sum(frame[c].str.len_bytes().sum() for c in ("problem", "generated_solution", "expected_answer"))
        / 1e6
    )
    del frame
    py = sys.executable
    table: list[tuple[str, float, float]] = []
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [
            py,
            "-m",
            "dq",
            "run",
            "--rules",
            str(ROOT / "rules/strict.toml"),
            "--input",
            str(path),
            "--benchmark",
            f"gsm8k={DATA / 'gsm8k/test.jsonl'}",
            "--out",
            f"{tmp}/out",
            "--quiet",
        ]
        wall, rss, _ = measured(cmd)
        table.append(("dq run, full strict pipeline", wall, rss))
        wall, rss, _ = measured([*cmd[:-2], f"{tmp}/out2", "--quiet", "--no-checkpoints"])
        table.append(("  the same, --no-checkpoints", wall, rss))
    wall, rss, out = measured([py, "-c", GATE_ONLY, str(path), str(ROOT / "rules/strict.toml")])
    info = json.loads(out)
    table.append(("  of which: Parquet load (gate child)", info["load_s"], rss))
    table.append(("dq gate alone (vectorized)", info["gate_s"], rss))
    if not args.skip_python:
        wall, rss, out = measured([py, "-c", PYTHON_GATE, str(path)])
        pyres = json.loads(out)
        assert pyres["accepted"] == info["accepted"], (pyres, info)  # same verdicts
        table.append(("per-row Python gate (the study's loop)", pyres["gate_s"], rss))
    print(
        f"rows={args.rows:,}  text={text_mb:,.0f} MB  accepted={info['accepted']:,}  cores={os.cpu_count()}"
    )
    print(f"{'measurement':42s} {'seconds':>8s} {'rows/s':>11s} {'MB/s':>7s} {'peak RSS':>9s}")
    for label, seconds, rss in table:
        print(
            f"{label:42s} {seconds:8.2f} {args.rows / seconds:11,.0f} {text_mb / seconds:7.1f} {rss:7.0f}Mi"
        )


if __name__ == "__main__":
    main()
