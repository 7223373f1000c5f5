"""A streamed ``dq run`` killed after a stage, then resumed: wall and peak RSS of both runs.

    python bench/bench_resume.py --rows 14000000 --rules near --kill-after dq.gate   # the note's figures
    python bench/bench_resume.py --rows 1000000 --rules strict --memory 1M           # quick

The first run is killed with SIGKILL (no cleanup runs) as soon as the checkpoint of
``--kill-after`` is in place; the second is the same command, which reuses the checkpoints.
Checkpoints go to a temp folder of their own (``DQ_CHECKPOINT_DIR``), so its sizes are printed
too. Peak RSS is dq's process plus its token-count workers, sampled every 0.2 s. Corpora as in
bench_bounded.py (cached in bench/_data/); needs ../shared/data.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench_bounded import DATA, ROOT, corpus, tree_rss


def run(cmd: list[str], env: dict[str, str], kill_when: str | None, runs: Path) -> tuple[float, float, int]:
    """Wall seconds, peak RSS (MiB, with descendants) and exit code; killed when ``kill_when`` appears."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    peak = 0
    while proc.poll() is None:
        peak = max(peak, tree_rss(proc.pid))
        if kill_when and any(p.is_dir() for p in runs.glob(f"*/{kill_when}")):
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            break
        time.sleep(0.2)
    if proc.returncode not in (0, 1, -signal.SIGKILL):
        assert proc.stderr is not None
        sys.exit(f"dq run failed ({proc.returncode}): {proc.stderr.read().decode()[-2000:]}")
    return time.perf_counter() - start, peak / 2**20, proc.returncode


def sizes(runs: Path) -> str:
    folders = sorted(p for p in runs.glob("*/*") if p.is_dir())
    return ", ".join(
        f"{p.name.split('-')[1]}{' rows' if p.suffix == '.rows' else ''} "
        f"{sum(f.stat().st_size for f in p.rglob('*') if f.is_file() and f.stat().st_nlink == 1) / 2**30:.2f} GiB"
        for p in folders
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--rules", default="strict")
    parser.add_argument("--memory", default="8G")
    parser.add_argument("--kill-after", default="dq.gate", help="kill once this stage is checkpointed")
    args = parser.parse_args()
    path = corpus(args.rows)
    bench = [f"--benchmark={n}={DATA / n / 'test.jsonl'}" for n in ("gsm8k", "math", "math500")]
    bench = bench[:1] if args.rules == "strict" else bench
    with tempfile.TemporaryDirectory(dir=ROOT / "bench" / "_data") as tmp:
        runs, out = Path(tmp) / "runs", Path(tmp) / "out"
        env = {**os.environ, "DQ_CHECKPOINT_DIR": str(runs)}
        cmd = [sys.executable, "-m", "dq", "run", "--rules", str(ROOT / "rules" / f"{args.rules}.toml"),
               "--input", str(path), *bench, "--memory", args.memory, "--out", str(out), "--quiet"]  # fmt: skip
        print(f"rows={args.rows:,}  rules={args.rules}.toml  --memory {args.memory}  cores={os.cpu_count()}")
        wall, peak, code = run(cmd, env, f"[0-9][0-9]-{args.kill_after}-*[0-9a-f]", runs)
        print(f"first run   killed={code == -signal.SIGKILL}  {wall:8.1f} s  peak RSS {peak:7,.0f} MiB")
        print(f"checkpoints (hard links to outputs not counted): {sizes(runs)}")
        wall, peak, code = run(cmd, env, None, runs)
        resumed = list(json.loads((out / "manifest.json").read_text()).get("resumed", {}))
        print(
            f"resumed run exit={code}  {wall:8.1f} s  peak RSS {peak:7,.0f} MiB  reused: {', '.join(resumed)}"
        )


if __name__ == "__main__":
    main()
